# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: tell the action plugin what a module is waiting for (plugin_utils/_progress.py).

When NADLE_CLOUDRUN_PROGRESS names a file (the action plugin sets it when the module runs on the
controller), each event is a JSON line appended to it, printed by the plugin while the module runs.
Without it, nothing happens. Best effort: a write that fails is ignored.
"""

from __future__ import annotations

import json
import os

ENV = "NADLE_CLOUDRUN_PROGRESS"


def note(text):
    path = os.environ.get(ENV)
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"text": text}) + "\n")
    except OSError:
        pass
