# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cloudrun_job module, with progress lines while it waits (plugin_utils/_progress.py)."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.plugin_utils._progress import ProgressAction


class ActionModule(ProgressAction):
    pass
