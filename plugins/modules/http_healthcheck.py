#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: http_healthcheck
short_description: Wait until a URL answers as expected, with backoff and a deadline
version_added: 0.1.0
description:
  - Requests O(url) until the answer is healthy (the status is one of O(status_codes), the JSON body contains
    O(json_contains), the body matches O(body_regex)) or O(deadline) seconds have passed.
  - Waits between attempts with exponential backoff and full jitter, from O(initial_delay) up to O(max_delay)
    seconds; every request has its own O(request_timeout).
  - For a private Cloud Run service it sends a Google ID token for the URL's audience (O(id_token)).
  - Read-only; it runs the same in check mode and never reports a change.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.info_attributes
  - nadle.cloudrun._gcp.action_group
options:
  url:
    description: The URL to check, for example a service's C(/health).
    type: str
    required: true
  method:
    description: The HTTP method.
    type: str
    default: GET
  headers:
    description: Request headers.
    type: dict
  body:
    description: A request body.
    type: str
  status_codes:
    description: The statuses that count as healthy.
    type: list
    elements: int
    default: [200]
  json_contains:
    description:
      - "A JSON value the body must contain, for example C({status: healthy}). Objects match when every key given
        matches (recursively); lists item by item."
    type: raw
  body_regex:
    description: A regular expression the body must match.
    type: str
  deadline:
    description: Seconds before giving up, from the first request.
    type: int
    default: 120
  request_timeout:
    description: Seconds one request may take.
    type: int
    default: 10
  initial_delay:
    description: The longest first pause between attempts, in seconds; it doubles up to O(max_delay).
    type: float
    default: 1.0
  max_delay:
    description: The longest pause between attempts, in seconds.
    type: float
    default: 10.0
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  follow_redirects:
    description: Follow redirects.
    type: bool
    default: true
  id_token:
    description:
      - V(auto) asks without a token first and, on a 401 or 403, gets a Google ID token and asks again.
      - V(always) sends an ID token from the first request; V(never) sends none.
      - ID tokens come from the same auth options as every other module of the collection
        (O(auth_kind=serviceaccount) with its key, O(impersonate_service_account), or application default
        credentials, that is a key file or the metadata server). O(auth_kind=accesstoken) cannot mint one, and says so.
        Against the emulator any bearer token is accepted.
    type: str
    choices: [auto, always, never]
    default: auto
  audience:
    description: The ID token's audience. Defaults to the URL's scheme and host.
    type: str
  mask_env:
    description:
      - The env of the service checked, as M(nadle.cloudrun.cloudrun_service) takes it. Its secret values (O(mask_env.secrets),
        and the keys of O(mask_env.env) and O(mask_env.env_files) listed in O(mask_env.secret_keys)) are masked in the
        body, the messages and the result, whole or in part, as the other modules mask them.
      - A failing answer often shows what the app read (a debug page with a database URL, a token in an error).
    type: dict
    suboptions:
      env:
        description: Plain values and the secret ones named in O(mask_env.secret_keys).
        type: dict
      env_files:
        description: C(.env) files, read as M(nadle.cloudrun.cloudrun_service) reads them.
        type: list
        elements: path
      secrets:
        description: Secret values by key.
        type: dict
      secret_keys:
        description: Keys of O(mask_env.env) and O(mask_env.env_files) whose values are secret.
        type: list
        elements: str
"""

EXAMPLES = r"""
- name: The new revision answers on its tag URL before it gets traffic
  nadle.cloudrun.http_healthcheck:
    url: "{{ deployed.service.traffic_statuses | selectattr('tag', 'defined') | selectattr('tag', 'eq', 'candidate')
      | map(attribute='uri') | first }}/health"
    json_contains:
      status: healthy
    deadline: 60

- name: A private service, with a Google ID token
  nadle.cloudrun.http_healthcheck:
    url: https://internal-api-abc123-du.a.run.app/health
    id_token: always
"""

RETURN = r"""
url:
  description: The URL checked.
  returned: always
  type: str
status:
  description: The last HTTP status; null when no answer came.
  returned: always
  type: int
  sample: 200
json:
  description: The last body as JSON, when it was JSON.
  returned: always
  type: raw
  sample: {status: healthy, service: xai-community-backend}
body:
  description: The last body, cut at 2000 characters.
  returned: always
  type: str
attempts:
  description: How many requests were made.
  returned: always
  type: int
  sample: 3
elapsed:
  description: Seconds from the first request to the answer.
  returned: always
  type: float
last_error:
  description: What was wrong with the last answer; null when healthy.
  returned: always
  type: str
used_id_token:
  description: Whether a Google ID token was sent.
  returned: always
  type: bool
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._health import ARGUMENT_SPEC, wait_healthy


def main():
    CloudRunModule(ARGUMENT_SPEC, supports_check_mode=True).run(wait_healthy)


if __name__ == "__main__":
    main()
