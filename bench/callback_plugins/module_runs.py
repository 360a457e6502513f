# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bench/noop.py's counter: the module runs of each host, written as JSON to $NADLE_MODULE_RUNS."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: module_runs
type: aggregate
short_description: Count module runs per host for bench/noop.py
description:
  - Writes {host, module runs} as JSON to the file named by E(NADLE_MODULE_RUNS) when the play ends.
"""

CONTROLLER_ONLY = {"set_fact", "debug", "assert", "fail", "pause", "meta", "include_tasks", "import_tasks",
                   "include_role", "validate_argument_spec"}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_runs"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.runs = {}

    def _count(self, result):
        if result._task.action.rsplit(".", 1)[-1] not in CONTROLLER_ONLY:  # pylint: disable=protected-access
            host = result._host.get_name()  # pylint: disable=protected-access
            self.runs[host] = self.runs.get(host, 0) + 1

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["NADLE_MODULE_RUNS"], "w", encoding="utf-8") as handle:
            json.dump(self.runs, handle)
