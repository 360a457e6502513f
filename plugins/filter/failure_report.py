# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: failure_report
short_description: The message of a failed cloudrun_deploy run
version_added: 0.2.0
description:
  - Builds the message the M(nadle.cloudrun.cloudrun_deploy) role fails with, from the results its tasks registered.
    The reason comes first, then what the run changed (a build, a revision, traffic), what serves now, and the log
    lines of the newest revision that the reason does not already hold.
  - Texts are used as the modules returned them, secret values already masked.
author:
  - nadle engineers (@nadle)
options:
  _input:
    description:
      - The run, with the keys C(service), C(task), C(reason), C(built), C(deployed), C(candidate_tag),
        C(traffic_moved), C(rollback_on_failure), C(rolled_back), C(after) and C(api_gave_up) (results of
        M(nadle.cloudrun.cloudbuild_submit), M(nadle.cloudrun.cloudrun_service), M(nadle.cloudrun.cloudrun_traffic)
        and M(nadle.cloudrun.cloudrun_service_info)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Fail with what happened
  ansible.builtin.fail:
    msg: "{{ {'service': 'backend', 'task': ansible_failed_task.name, 'reason': ansible_failed_result.msg}
             | nadle.cloudrun.failure_report }}"
"""

RETURN = r"""
_value:
  description: The message, one line per fact.
  type: str
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._report import failure_report


class FilterModule:
    def filters(self):
        return {"failure_report": failure_report}
