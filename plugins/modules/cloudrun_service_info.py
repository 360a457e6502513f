#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_service_info
short_description: Read Cloud Run services with their revisions
version_added: 0.1.0
description:
  - Read one Cloud Run service, or every service in a region, with its conditions, URLs, traffic and revisions.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.info_attributes
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-run >= 0.10.9
  - proto-plus >= 1.24
  - google-cloud-secret-manager >= 2.16
options:
  name:
    description:
      - The service to read. When not set, every service in the region is read.
    type: str
  log_lines:
    description:
      - Also read the last this many log lines of each service's latest created revision from Cloud Logging, into
        RV(services[].revisions[].log) of that revision. V(0) reads none.
      - For a play that failed after a deploy and wants to say why; reading logs needs C(logging.logEntries.list).
    type: int
    default: 0
  mask_secrets:
    description:
      - Before log lines are read, read the values of the Secret Manager secrets the revision's env references and
        mask them in the log lines (any run of 8 or more of their characters), as the deploying modules do. An app
        can print its settings when it fails to start.
      - Needs C(secretmanager.versions.access) on those secrets. When one cannot be read, the log lines are withheld.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read one service
  nadle.cloudrun.cloudrun_service_info:
    name: xai-community-backend
    project: xai-community
    region: asia-northeast3
  register: found

- name: Which revision serves what
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.percent }}% ready={{ item.ready }}"
  loop: "{{ found.services[0].revisions }}"
  when: found.services | length > 0

- name: Why did the newest revision fail?
  nadle.cloudrun.cloudrun_service_info:
    name: xai-community-backend
    log_lines: 20
  register: found_with_logs

- name: Every service in the region
  nadle.cloudrun.cloudrun_service_info:
    project: xai-community
    region: asia-northeast3
  register: all_services
"""

RETURN = r"""
services:
  description:
    - The services found; empty when O(name) does not exist.
    - Each has the keys of the C(service) result of M(nadle.cloudrun.cloudrun_service), plus C(revisions).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The service name.
      type: str
    uri:
      description: The main URL of the service.
      type: str
    ready:
      description: Whether the service's Ready condition succeeded.
      type: bool
    latest_ready_revision:
      description: The newest revision that became ready.
      type: str
    traffic_statuses:
      description: The traffic split the service serves, with the URL of every tag.
      type: list
      elements: dict
    revisions:
      description: The service's revisions, newest first.
      type: list
      elements: dict
      contains:
        name:
          description: The revision name.
          type: str
          sample: xai-community-backend-00003-kqp
        create_time:
          description: When the revision was created.
          type: str
        ready:
          description: Whether the revision is ready.
          type: bool
        image:
          description: The image of the revision's serving container.
          type: str
        percent:
          description: The share of the service's traffic this revision serves.
          type: int
          sample: 100
        tags:
          description: The traffic tags that point at this revision.
          type: list
          elements: str
        conditions:
          description: The revision's conditions.
          type: list
          elements: dict
        log_uri:
          description: Where the revision's logs can be read.
          type: str
        log:
          description:
            - The revision's last log lines, oldest first; empty when they could not be read.
            - Only on the latest created revision, and only with O(log_lines).
          type: list
          elements: str
          returned: when O(log_lines) is set
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import read_services


def main():
    argument_spec = dict(name=dict(type="str"), log_lines=dict(type="int", default=0),
                         mask_secrets=dict(type="bool", default=False))
    CloudRunModule(argument_spec, libraries=("google-cloud-run", "google-cloud-secret-manager"),
                   supports_check_mode=True).run(read_services)


if __name__ == "__main__":
    main()
