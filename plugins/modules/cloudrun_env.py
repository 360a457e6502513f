#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_env
short_description: Set the environment of an existing Cloud Run service, secrets in Secret Manager
version_added: 0.1.0
description:
  - Changes only the env of an existing Cloud Run service, in one new revision. Nothing else of the service changes;
    the image is pinned to the digest the service runs now, so a tag that moved is never picked up by an env change.
  - Values come from O(env), from C(.env) files (O(env_files), read as C(.env) files, never as YAML) and from
    O(secrets). Values of O(secrets) and O(secret_keys) go to Secret Manager and are referenced from the env.
  - O(required) keys are checked on the final env before anything is written, and every missing key is listed.
  - E(PORT), E(K_SERVICE), E(K_REVISION) and E(K_CONFIGURATION) are refused with the reason, naming the file and
    line they came from.
  - The result and the diff name the keys that changed; plain values show as in M(nadle.cloudrun.cloudrun_service), secret values never.
  - A key that switches between a plain value and a secret changes in the same single write.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._env
  - nadle.cloudrun._env.rollout
  - nadle.cloudrun._gcp.attributes
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-run >= 0.10.9
  - proto-plus >= 1.24
options:
  name:
    description:
      - The service to change. It must exist.
    type: str
    required: true
  env:
    description:
      - "Variables to set, C(KEY: value). Values win over O(env_files). Numbers and booleans become strings."
      - Values listed in O(secret_keys) go to Secret Manager; put a secret there, or in O(secrets), not in O(env) alone.
    type: dict
  remove:
    description:
      - Keys to remove from the env.
    type: list
    elements: str
  mode:
    description:
      - V(merge) keeps the service's other variables; V(replace) makes the env exactly what this task gives.
    type: str
    choices: [merge, replace]
    default: merge
  wait:
    description:
      - Wait until the new revision is ready (or has failed) before returning.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for the rollout.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Settings from .env.prod, database URL and key in Secret Manager
  nadle.cloudrun.cloudrun_env:
    name: xai-community-backend
    project: xai-community
    region: asia-northeast3
    env_files:
      - files/.env.prod
    secret_keys: [MONGODB_URL, SECRET_KEY]
    required: [MONGODB_URL, SECRET_KEY, ALLOWED_ORIGINS]

- name: Exactly these variables, nothing else
  nadle.cloudrun.cloudrun_env:
    name: worker
    project: xai-community
    region: asia-northeast3
    mode: replace
    env:
      ENVIRONMENT: staging
    secrets:
      REDIS_PASSWORD: "{{ vault_redis_password }}"

- name: Drop a flag
  nadle.cloudrun.cloudrun_env:
    name: worker
    project: xai-community
    region: asia-northeast3
    remove: [DEBUG]
"""

RETURN = r"""
env_keys:
  description: Every key of the final env (values are never returned).
  returned: always
  type: list
  elements: str
  sample: [ALLOWED_ORIGINS, ENVIRONMENT, MONGODB_URL, SECRET_KEY]
changed_keys:
  description: The keys that were (or in check mode would be) added, removed or changed.
  returned: always
  type: dict
  contains:
    added:
      description: Keys the env did not have.
      type: list
      elements: str
    removed:
      description: Keys taken out.
      type: list
      elements: str
    changed:
      description: Keys whose value or secret reference changed.
      type: list
      elements: str
  sample: {added: [SECRET_KEY], removed: [DEBUG], changed: []}
secrets_written:
  description: Keys whose secret got (or in check mode would get) a new version.
  returned: always
  type: list
  elements: str
secrets_granted:
  description:
    - The keys whose secret gave (or in check mode would give) the revision's service account
      C(roles/secretmanager.secretAccessor) in this task (O(grant_secret_access)).
  returned: always
  type: list
  elements: str
service:
  description:
    - The service after the change, as returned by M(nadle.cloudrun.cloudrun_service).
  returned: always
  type: dict
revision:
  description: The revision this task created; null when it created none.
  returned: always
  type: dict
"""

import copy

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import ENTRY_SPEC
from ansible_collections.nadle.cloudrun.plugins.module_utils._env_update import ensure_env


def main():
    argument_spec = dict(
        copy.deepcopy(ENTRY_SPEC),
        name=dict(type="str", required=True),
        # Not no_log: Ansible would mask every substring equal to any value in the whole result (a value
        # "1" turned the service URI into "http://1********..."); the secret values are masked instead.
        env=dict(type="dict", no_log=False),
        remove=dict(type="list", elements="str"),
        mode=dict(type="str", default="merge", choices=["merge", "replace"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        log_in_message=dict(type="bool", default=True),
    )
    CloudRunModule(argument_spec, libraries=("google-cloud-run", "google-cloud-secret-manager"),
                   supports_check_mode=True).run(ensure_env)


if __name__ == "__main__":
    main()
