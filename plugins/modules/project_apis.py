#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: project_apis
short_description: Check that the Google APIs a deploy calls are enabled in a project, and enable them
version_added: 0.1.0
description:
  - Reads the state of each API in O(apis) with the Service Usage API (one request for up to 30), and enables the
    ones that are off (one request for up to 20), waiting with a deadline until they are on.
  - A new project has only Google's default APIs on (Cloud Logging and Cloud Storage among them). Until Cloud Run,
    Cloud Build, Artifact Registry and Secret Manager are enabled, every call to them fails with
    C(SERVICE_DISABLED); this module says so once, for all of them, before anything is written.
  - With O(enable=false) nothing is enabled, and the task fails listing every API that is off and the
    C(gcloud services enable) command that turns them on.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.attributes
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-service-usage >= 1.10
options:
  apis:
    description:
      - The APIs, by service name, for example V(run.googleapis.com) or V(secretmanager.googleapis.com).
    type: list
    elements: str
    required: true
  enable:
    description:
      - Enable the APIs that are off. Needs C(serviceusage.services.enable) (C(roles/serviceusage.serviceUsageAdmin)).
      - With V(false), only read, and fail when one is off. Reading needs C(serviceusage.services.get)
        (C(roles/serviceusage.serviceUsageViewer)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the APIs to be enabled.
    type: int
    default: 300
notes:
  - O(region) is not used.
  - An API enabled a moment ago keeps answering C(SERVICE_DISABLED) for a while, although Service Usage says it is
    on (in Google's own words, wait a few minutes for the action to propagate to our systems and retry). After
    enabling, the task asks each API it enabled (Cloud Run, Cloud Build, Secret Manager, Artifact Registry) with a
    read until it answers, within O(wait_timeout), and fails naming the ones still off after that.
seealso:
  - name: Services enabled by default
    description: The APIs a new project has on.
    link: https://cloud.google.com/service-usage/docs/enabled-service
"""

EXAMPLES = r"""
- name: Enable what a source deploy with secrets calls
  nadle.cloudrun.project_apis:
    project: xai-community
    apis:
      - run.googleapis.com
      - cloudbuild.googleapis.com
      - artifactregistry.googleapis.com
      - secretmanager.googleapis.com

- name: Only check, and fail listing what is off
  nadle.cloudrun.project_apis:
    project: xai-community
    apis: [run.googleapis.com]
    enable: false
"""

RETURN = r"""
apis:
  description: The state of each API, C(ENABLED) or C(DISABLED), after the task.
  returned: always
  type: dict
  sample: {"run.googleapis.com": "ENABLED", "secretmanager.googleapis.com": "ENABLED"}
enabled:
  description: The APIs this task enabled (in check mode, would enable).
  returned: always
  type: list
  elements: str
disabled:
  description: The APIs that are still off.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._apis import ensure_apis
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule


def main():
    argument_spec = dict(apis=dict(type="list", elements="str", required=True),
                         enable=dict(type="bool", default=True),
                         wait_timeout=dict(type="int", default=300))
    CloudRunModule(argument_spec, libraries=("google-cloud-service-usage",),
                   supports_check_mode=True).run(ensure_apis)


if __name__ == "__main__":
    main()
