#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_preflight
short_description: Check a source folder for what breaks a Cloud Run build or deploy, before any upload
version_added: 0.1.0
description:
  - Checks the folder of a containerised service and reports findings with the file, the line, what is wrong and how
    to fix it. Fails when there is an error; warnings are reported.
  - "CRLF line endings in shell scripts, entrypoint scripts, the Dockerfile and C(.env) files (in a container they
    fail as C(/bin/bash^M: bad interpreter)). O(fix=true) rewrites them with LF."
  - "Every C(COPY)/C(ADD) source against the build context after C(.dockerignore), with Docker's message
    (C(COPY failed: file not found in build context or excluded by .dockerignore)) and the Dockerfile line."
  - The port - C(EXPOSE), a port hard-coded in C(CMD) that ignores E(PORT), and E(PORT) in an env file - against
    the container port the service uses.
  - C(.env) files - syntax errors with line numbers, reserved names, and keys required by O(required_env) or by the
    keys of O(env_example).
  - A Dockerfile C(HEALTHCHECK), which Cloud Run ignores.
  - A C(.env) file that a build would upload and C(COPY . .) would put in the image (a warning; C(.env.example) and
    the like are left alone).
  - The settings a deploy will send (O(service)), with the rules of M(nadle.cloudrun.cloudrun_service), so a bad value
    fails before anything is uploaded or built.
  - No request is made to any API, unless O(compare=true), and then only after every check passed.
  - With O(compare=true), once every check passed, it reads the live service and says whether a deploy of O(service)
    (and of the source, with O(image_repository)) has anything to do (RV(settled)), with one read of the service and
    one of each secret. A settled service gets one health check (O(health)), whose first request, sent without a
    token, also shows whether anyone may call it; without O(health) the invoker policy is read instead.
    This is how the M(nadle.cloudrun.cloudrun_deploy) role makes a run with nothing to do one module run per service.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._gcp.action_group
requirements:
  - dockerfile-parse >= 2.0
  - docker >= 7.0
  - pathspec >= 0.12
  - python-dotenv >= 1.0
attributes:
  check_mode:
    description: Reports what O(fix) would rewrite without rewriting it. O(compare) only reads, in check mode too.
    support: full
  diff_mode:
    description: Nothing to diff; the findings name every file O(fix) rewrites.
    support: none
  idempotent:
    description: After O(fix) has rewritten the files, a second run changes nothing.
    support: full
options:
  path:
    description:
      - The source folder (the Docker build context). Without it only O(service) is checked.
    type: path
  dockerfile:
    description: The Dockerfile, relative to O(path).
    type: str
    default: Dockerfile
  port:
    description: The container port the service will use (the port option of M(nadle.cloudrun.cloudrun_service)).
    type: int
    default: 8080
  env_files:
    description: C(.env) files to check, relative to O(path) or absolute.
    type: list
    elements: path
    default: []
  required_env:
    description: Keys the env files must have together.
    type: list
    elements: str
    default: []
  env_example:
    description: A file, relative to O(path), whose keys the env files must have too (when it exists).
    type: str
    default: .env.example
  fix:
    description: Rewrite files with CRLF line endings with LF; reports C(changed).
    type: bool
    default: false
  fail_on_warnings:
    description: Fail on warnings too.
    type: bool
    default: false
  service:
    description:
      - The options a M(nadle.cloudrun.cloudrun_service) task of this deploy will get, checked with that module's own
        argument spec and rules (names, CPU and memory, instances, env names, O(env_files) syntax, required keys),
        without any request. A C(region) key is checked as a region name too. Each problem is an error finding with rule C(service-option).
      - When set, the keys that O(env_example) and O(required_env) ask for are looked for in the whole env it gives
        (C(env), C(env_files), C(secrets)), not in O(env_files) alone.
      - Its C(secrets) and the values of C(secret_keys) are masked in every message.
    type: dict
  service_names:
    description:
      - "What to call the options of O(service) in messages, for example C({cpu: app_cpu}) when a play's variable
        C(app_cpu) sets it. An option that is not a key is called by its own name."
    type: dict
    default: {}
  jobs:
    description:
      - Options of M(nadle.cloudrun.cloudrun_job) tasks the deploy will run (each with a C(name)), checked with that
        module's own argument spec and rules, without any request, so a bad one fails before the upload and the build.
      - The M(nadle.cloudrun.cloudrun_deploy) role passes C(cloudrun_deploy_jobs_before_traffic).
    type: list
    elements: dict
    default: []
  jobs_name:
    description: What to call O(jobs) in messages, for example C(cloudrun_deploy_jobs_before_traffic).
    type: str
    default: jobs
  source_checks:
    description:
      - Check the files of O(path). With V(false), O(path) is only hashed for O(image_repository).
    type: bool
    default: true
  image_repository:
    description:
      - The repository a build of O(path) goes to, without a tag, as M(nadle.cloudrun.cloudbuild_submit) takes it.
        With O(path), RV(image) is the image a build of this source gets (tagged with the hash of what a build
        uploads), and O(compare) compares the service with it when O(service) has no C(image).
      - A deploy by this tag runs the digest it points to when the revision is made, since Cloud Run resolves a tag
        to a digest for each revision; the tag names the source, so an unchanged source is seen without a registry
        request.
    type: str
  compare:
    description:
      - Read the live service and say whether M(nadle.cloudrun.cloudrun_service) with O(service) (a tag on the newest
        revision, as the role deploys) would change nothing, and whether that revision serves all the traffic
        (RV(settled)). Reads only. Needs the auth options and google-cloud-run and google-cloud-secret-manager.
    type: bool
    default: false
  health:
    description:
      - When the service is settled, check it as M(nadle.cloudrun.http_healthcheck) would, once, at its URL and
        C(path) (default C(/)). Takes the options of that module, except C(url). Unhealthy fails the task.
      - With C(id_token) V(auto) (the default) the first request goes without a token, so it shows whether anyone may
        call the service, and that decides O(service)'s C(allow_unauthenticated) without reading the IAM policy.
    type: dict
"""

EXAMPLES = r"""
- name: Check the backend before building it
  nadle.cloudrun.cloudrun_preflight:
    path: "{{ playbook_dir }}/../backend"
    port: 8080
    env_files: [.env.prod]
    required_env: [MONGODB_URL, SECRET_KEY]

- name: Repair CRLF line endings (a Windows checkout) and check again
  nadle.cloudrun.cloudrun_preflight:
    path: ./backend
    fix: true

- name: Check the settings a deploy will send, before building anything
  nadle.cloudrun.cloudrun_preflight:
    service:
      name: backend
      cpu: "0.5"
      memory: 1Gi
      env_files: [files/.env.prod]
      secret_keys: [MONGODB_URL]
      required: [MONGODB_URL]

- name: Is there anything to deploy? (one read of the service, one per secret, one health request)
  nadle.cloudrun.cloudrun_preflight:
    path: ./backend
    image_repository: europe-west1-docker.pkg.dev/my-project/apps/backend
    service:
      name: backend
      region: europe-west1
      allow_unauthenticated: true
    compare: true
    health:
      path: /health
  register: plan
"""

RETURN = r"""
findings:
  description: What was found, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    severity:
      description: C(error), C(warning), or C(fixed) for a file this run rewrote.
      type: str
    file:
      description: The file, relative to O(path); null for a finding about O(service).
      type: str
    line:
      description: The line, when one applies.
      type: int
    rule:
      description: C(crlf), C(copy-source), C(port-expose), C(port-hardcoded), C(healthcheck), C(env-syntax),
        C(env-reserved), C(env-required), C(env-file), C(env-uploaded), C(dockerfile) or C(service-option).
      type: str
    message:
      description: What is wrong.
      type: str
    fix:
      description: How to fix it.
      type: str
  sample:
    - severity: error
      file: Dockerfile
      line: 14
      rule: copy-source
      message: "COPY failed: file not found in build context or excluded by .dockerignore: stat .env.prod: file does
        not exist (it is not in the folder)."
      fix: "Do not bake .env files into the image: set the variables with nadle.cloudrun.cloudrun_env."
error_count:
  description: How many errors.
  returned: always
  type: int
warning_count:
  description: How many warnings (C(warnings) is Ansible's own result key).
  returned: always
  type: int
fixed_files:
  description: The files O(fix) rewrote (in check mode, would rewrite).
  returned: always
  type: list
  elements: str
image:
  description: The image a build of O(path) gets, when O(image_repository) is set; else null.
  returned: always
  type: str
  sample: europe-west1-docker.pkg.dev/my-project/apps/backend:src-3f2a9c0d1e4b5a6c7d8e
source_hash:
  description: The sha256 of what a build of O(path) uploads, when O(image_repository) is set; else null.
  returned: always
  type: str
settled:
  description: Whether the live service is already as O(service) asks, serves it with all its traffic, and (with
    O(health)) is healthy, so a deploy has nothing to do.
  returned: when O(compare=true)
  type: bool
changes:
  description:
    - What differs, when not settled. Option names, or C(state) (no such service), C(revision) (its newest revision
      failed), C(tag) (the tag is not on the newest revision), C(traffic) (the newest revision does not serve 100%).
  returned: when O(compare=true)
  type: list
  elements: str
disabled_apis:
  description:
    - The API whose read answered that the project has not enabled it (C(SERVICE_DISABLED)); the service is then
      not settled (C(state)). M(nadle.cloudrun.project_apis) checks and enables every API a deploy calls.
  returned: when O(compare=true) and an API the compare reads is not enabled
  type: list
  elements: str
  sample: [run.googleapis.com]
secrets_changed:
  description: The secret keys whose value differs from the latest version in Secret Manager.
  returned: when O(compare=true)
  type: list
  elements: str
service:
  description: The service as read, in the form M(nadle.cloudrun.cloudrun_service) returns it; null when it does not
    exist.
  returned: when O(compare=true)
  type: dict
traffic:
  description: The service's traffic targets as read, as M(nadle.cloudrun.cloudrun_traffic) takes them.
  returned: when O(compare=true)
  type: list
  elements: dict
health:
  description: The health check's result (as M(nadle.cloudrun.http_healthcheck) returns it), when one was made.
  returned: when O(compare=true)
  type: dict
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils import _preflight
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule


def main():
    module = CloudRunModule(
        dict(
            path=dict(type="path"),
            dockerfile=dict(type="str", default="Dockerfile"),
            port=dict(type="int", default=8080),
            env_files=dict(type="list", elements="path", default=[]),
            required_env=dict(type="list", elements="str", default=[]),
            env_example=dict(type="str", default=".env.example"),
            fix=dict(type="bool", default=False),
            fail_on_warnings=dict(type="bool", default=False),
            # Checked with cloudrun_service's own spec in _preflight.check_service: as suboptions here they
            # would need their documentation twice. Its secret values are masked there.
            service=dict(type="dict"),
            service_names=dict(type="dict", default={}),
            # Checked with cloudrun_job's own spec in _preflight.check_jobs, as service is with cloudrun_service's.
            jobs=dict(type="list", elements="dict", default=[]),
            jobs_name=dict(type="str", default="jobs"),
            source_checks=dict(type="bool", default=True),
            image_repository=dict(type="str"),
            compare=dict(type="bool", default=False),
            # http_healthcheck's options (checked with its spec in _settled.health_problems), and path.
            health=dict(type="dict"),
        ),
        # The auth options are for compare; the Google libraries are needed (and loaded) only then.
        libraries=None, supports_check_mode=True, required_one_of=[("path", "service")],
    )
    if module.params["path"]:
        module.require(("dockerfile-parse", "docker", "pathspec", "python-dotenv"))
    elif module.params["env_files"] or (module.params["service"] or {}).get("env_files"):
        module.require(("python-dotenv",))
    module.run(_preflight.preflight)


if __name__ == "__main__":
    main()
