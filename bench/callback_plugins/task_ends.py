# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench/noop.py's clock: when each loop item's result reached the controller, as JSON to $NADLE_TASK_ENDS."""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: task_ends
type: aggregate
short_description: Record when each loop item of a task returned, for bench/noop.py
description:
  - Writes the epoch time of each loop item's result, in order, as JSON to the file named by E(NADLE_TASK_ENDS).
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_ends"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.ends = []

    def v2_runner_item_on_ok(self, result):
        self.ends.append(time.time())

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["NADLE_TASK_ENDS"], "w", encoding="utf-8") as handle:
            json.dump(self.ends, handle)
