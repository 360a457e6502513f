#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_job
short_description: Create, update, delete and run a Cloud Run job, idempotently
version_added: 0.1.0
description:
  - Describe a Cloud Run job (a container run to completion, such as a database migration) in YAML; the module makes
    the job match, in one write. Only the options you set are managed and compared; values Cloud Run fills in itself
    (one task, three retries, C(600s), cpu C(1000m), memory C(512Mi), the default service account) are never drift.
  - O(execute=true) starts an execution after the job is as asked, waits for it (O(wait), O(wait_timeout)), and
    fails with the failed task's exit code and its last log lines when a task fails after its retries. A run always
    reports changed; the definition alone reports changed only when it changed.
  - The env entry is the one of M(nadle.cloudrun.cloudrun_service) (O(env), O(env_files), O(secrets),
    O(secret_keys), O(required)); O(secret_owner) makes the job read the secrets of a service.
author:
  - nadle engineers (@nadle)
extends_documentation_fragment:
  - nadle.cloudrun._gcp
  - nadle.cloudrun._env
  - nadle.cloudrun._gcp.attributes
  - nadle.cloudrun._gcp.action_group
requirements:
  - google-cloud-run >= 0.10.9
  - proto-plus >= 1.24
options:
  name:
    description:
      - The job name (job ID). Lowercase letters, digits and C(-), starting with a letter, at most 63 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the job; V(absent) deletes it (a job with a running execution is refused by
        Cloud Run).
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - The container image. Required to create a job.
    type: str
  command:
    description:
      - Replaces the image's C(ENTRYPOINT).
    type: list
    elements: str
  args:
    description:
      - Replaces the image's C(CMD).
    type: list
    elements: str
  env:
    description:
      - "Environment variables, compared whole: strings, or Secret Manager references C({secret: NAME, version: N})."
      - E(CLOUD_RUN_JOB), E(CLOUD_RUN_EXECUTION), E(CLOUD_RUN_TASK_INDEX), E(CLOUD_RUN_TASK_ATTEMPT) and
        E(CLOUD_RUN_TASK_COUNT) are set by Cloud Run in every task and refused here.
    type: dict
  secret_owner:
    description:
      - The name whose secrets hold the values of O(secrets) and O(secret_keys) (C(OWNER_KEY)); the job's own name
        when not set. Give the service's name to use the same secrets as the service, as the role does for the jobs it
        runs before traffic moves.
    type: str
  cpu:
    description:
      - CPU limit of each task, as for a service (V(1), V(2), V(4), V(8), or V(0.08) to V(1)).
    type: str
  memory:
    description:
      - Memory limit of each task, for example V(512Mi) or V(2Gi).
    type: str
  task_count:
    description:
      - How many tasks one execution runs. Each gets E(CLOUD_RUN_TASK_INDEX).
    type: int
  parallelism:
    description:
      - How many tasks run at once; V(0) runs as many as possible. At most O(task_count).
    type: int
  max_retries:
    description:
      - How many times a failed task is tried again before it fails the execution, V(0) to V(10).
    type: int
  task_timeout:
    description:
      - How long one attempt of a task may run, in seconds or with a unit (V(600), V(30m), V(2h)); up to 168 hours.
    type: str
  service_account:
    description:
      - The service account the tasks run as; the project's default compute account when not set.
    type: str
  vpc_access:
    description:
      - VPC access of the tasks, as for a service (a connector, or Direct VPC egress with network and subnetwork).
    type: dict
    suboptions:
      connector:
        description: A Serverless VPC Access connector.
        type: str
      network:
        description: The VPC network for Direct VPC egress.
        type: str
      subnetwork:
        description: The subnetwork for Direct VPC egress.
        type: str
      network_tags:
        description: Network tags for Direct VPC egress.
        type: list
        elements: str
      egress:
        description: Which traffic goes through the VPC.
        type: str
        choices: [all-traffic, private-ranges-only]
  labels:
    description:
      - Labels of the job, compared whole with the labels you set (system labels are kept).
    type: dict
  execute:
    description:
      - Start an execution once the job is as asked. In check mode nothing runs; the task reports changed.
    type: bool
    default: false
  overrides:
    description:
      - What this execution changes, leaving the job as it is. Needs O(execute=true).
    type: dict
    suboptions:
      args:
        description: Arguments that replace the container's for this run; an empty list clears them.
        type: list
        elements: str
      env:
        description: Plain variables merged into the container's env for this run.
        type: dict
      task_count:
        description: How many tasks this run has.
        type: int
      task_timeout:
        description: How long each attempt of this run may take.
        type: str
  wait:
    description:
      - Wait for writes and for the execution to end. With V(false), O(execute) returns once the execution started.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the execution. When it is reached the task fails, naming the execution, which goes on.
    type: int
    default: 600
  log_in_message:
    description:
      - Put the failed task's last log lines in the failure message. With V(false) they are returned in C(log_lines).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: A migration job, from the image the service runs, with the service's secrets
  nadle.cloudrun.cloudrun_job:
    name: backend-migrate
    project: xai-community
    region: asia-northeast3
    image: asia-northeast3-docker.pkg.dev/xai-community/backend/api:v42
    command: [python, migrate.py]
    env_files: [files/.env.prod]
    secret_keys: [MONGODB_URL]
    secret_owner: xai-community-backend
    max_retries: 1
    task_timeout: 10m

- name: Run it now and wait for it
  nadle.cloudrun.cloudrun_job:
    name: backend-migrate
    project: xai-community
    region: asia-northeast3
    execute: true
  register: migration

- name: A backfill in 10 shards, 3 at a time, with this run's own arguments
  nadle.cloudrun.cloudrun_job:
    name: backfill
    project: xai-community
    region: asia-northeast3
    image: asia-northeast3-docker.pkg.dev/xai-community/backend/api:v42
    command: [python, backfill.py]
    task_count: 10
    parallelism: 3
    execute: true
    overrides:
      args: [--since, "2026-11-01"]
      env:
        DRY_RUN: "false"

- name: Remove the job
  nadle.cloudrun.cloudrun_job:
    name: backfill
    project: xai-community
    region: asia-northeast3
    state: absent
"""

RETURN = r"""
job:
  description: The job after the task; null when it is absent.
  returned: always
  type: dict
  contains:
    name:
      description: The job name.
      type: str
    execution_count:
      description: How many executions the job has had.
      type: int
    latest_execution:
      description: The newest execution's name.
      type: str
    template:
      description: The execution template, snake_case.
      type: dict
  sample: {name: backend-migrate, execution_count: 3, latest_execution: backend-migrate-x7kqp}
changed_options:
  description: The options that differed (V(state) is not listed; a new job shows every option set).
  returned: always
  type: list
  elements: str
execution:
  description: The execution this task ran (null without O(execute), or in check mode).
  returned: always
  type: dict
  contains:
    name:
      description: The execution name.
      type: str
    status:
      description: V(SUCCEEDED), V(FAILED), V(CANCELLED), or V(RUNNING) when not waited for.
      type: str
    task_count:
      description: Tasks in the execution.
      type: int
    succeeded_count:
      description: Tasks that succeeded.
      type: int
    failed_count:
      description: Tasks that failed after their retries.
      type: int
    retried_count:
      description: Attempts that were tried again.
      type: int
    exit_code:
      description: The failed task's exit code, on failure.
      type: int
    log_uri:
      description: Where the execution's logs are.
      type: str
  sample: {name: backend-migrate-x7kqp, status: SUCCEEDED, task_count: 1, succeeded_count: 1, failed_count: 0}
secrets_written:
  description: Keys whose secret got (or in check mode would get) a new version.
  returned: always
  type: list
  elements: str
log_lines:
  description: The failed task's last log lines, when O(log_in_message=false).
  returned: on failure
  type: list
  elements: str
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._job import ensure_job, job_argument_spec


def main():
    CloudRunModule(job_argument_spec(), libraries=("google-cloud-run", "google-cloud-secret-manager"),
                   supports_check_mode=True).run(ensure_job)


if __name__ == "__main__":
    main()
