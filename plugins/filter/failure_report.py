# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: failure_report
short_description: The report of a failed cloudrun_deploy run
version_added: 0.1.0
description:
  - Builds the report the M(nadle.cloudrun.cloudrun_deploy) role shows when a deploy fails, from the results its
    tasks registered, with each thing once. The failed step's error (unless its task printed it already), the last
    log lines of the newest revision not printed yet, what the run changed (a build, a revision, traffic) and what
    serves now.
  - Texts are used as the modules returned them, secret values already masked.
author:
  - nadle engineers (@nadle)
options:
  _input:
    description:
      - The run, with the keys C(service), C(task), C(failed) (the failed step's result), C(printed) (whether its
        task printed its error already), C(built), C(deployed),
        C(candidate_tag), C(traffic_moved), C(rollback_on_failure), C(rolled_back), C(after) and C(api_gave_up)
        (results of M(nadle.cloudrun.cloudbuild_submit), M(nadle.cloudrun.cloudrun_service),
        M(nadle.cloudrun.cloudrun_traffic) and M(nadle.cloudrun.cloudrun_service_info)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Say what happened, once
  ansible.builtin.debug:
    msg: "{{ {'service': 'backend', 'task': ansible_failed_task.name, 'failed': ansible_failed_result}
             | nadle.cloudrun.failure_report }}"
"""

RETURN = r"""
_value:
  description: The report, one line per item.
  type: list
  elements: str
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._report import failure_report


class FilterModule:
    def filters(self):
        return {"failure_report": failure_report}
