#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudrun_service
short_description: Create, update and delete a Cloud Run service, idempotently
version_added: 0.1.0
description:
  - Describe a Cloud Run service in YAML; the module makes the service match, in one write.
  - Only the options you set are managed and compared. An option you leave out is never changed, and values
    Cloud Run fills in itself (cpu C(1000m), concurrency 80, timeout C(300s), the startup probe, ...) are never
    seen as drift.
  - Cloud Run's CPU and memory rules (memory per vCPU, and below 1 vCPU concurrency 1, O(cpu_idle=true) and gen1)
    are checked before any request, naming the options involved; combinations with a value the service already has
    are checked after the read, before any write. An option you set is compared whole, so removing one key from O(env) is a change.
  - A change to the revision template (image, env, resources, scaling, probes, ...) makes exactly one new revision;
    a second run with the same options makes no request that writes.
  - A new service gets 100% of its traffic on its latest revision. On an existing service this module leaves
    traffic alone (see M(nadle.cloudrun.cloudrun_traffic)), except for O(tag) and O(no_traffic).
  - A revision that does not become ready fails the task with Cloud Run's message, the container's last log lines,
    and which revision still serves.
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
      - The service name (service ID). Lowercase letters, digits and C(-), starting with a letter, at most 49 characters.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the service; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  image:
    description:
      - The container image, for example C(europe-west1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG) or an image by digest.
      - Required to create a service.
    type: str
  port:
    description:
      - The port the container listens on. Cloud Run sets E(PORT) to it; do not put E(PORT) in O(env).
    type: int
  command:
    description:
      - Replaces the image's C(ENTRYPOINT). C($(VAR)) is expanded from the container's env.
    type: list
    elements: str
  args:
    description:
      - Replaces the image's C(CMD).
    type: list
    elements: str
  env:
    description:
      - "Environment variables, compared whole. A value is a string (numbers and booleans are turned into strings,
        C(true)/C(false) for booleans), or a Secret Manager reference C({secret: NAME, version: latest})."
      - E(PORT), E(K_SERVICE), E(K_REVISION) and E(K_CONFIGURATION) are set by Cloud Run and refused here.
      - With O(env_files), the files' values and these together are the env (these win); the keys of O(secret_keys)
        and O(secrets) are added as Secret Manager references. Without either, O(secrets) keys are merged into the
        service's current env.
      - Plain values show in diffs and results like any other option; keep secrets in Secret Manager.
    type: dict
  cpu:
    description:
      - CPU limit per instance, V(0.08) to V(1) in steps of 0.001 (or millicpu such as V(500m)), or V(1), V(2), V(4),
        V(6), V(8).
    type: str
  memory:
    description:
      - Memory limit per instance, for example V(512Mi) or V(2Gi) (128Mi to 32Gi; more memory needs more CPU).
    type: str
  cpu_idle:
    description:
      - V(true) allocates CPU only during requests (request-based billing); V(false) keeps it always allocated.
      - When not set, the service keeps what it has (a new service gets V(true), Cloud Run's default).
    type: bool
  startup_cpu_boost:
    description:
      - Give the container more CPU while it starts. When not set, the service keeps what it has.
    type: bool
  concurrency:
    description:
      - Requests one instance serves at once, 1 to 1000.
    type: int
  min_instances:
    description:
      - Instances kept warm.
    type: int
  max_instances:
    description:
      - Most instances the revision scales to.
    type: int
  timeout:
    description:
      - Request timeout, 1 to 3600 seconds, as seconds (V(300)) or a duration (V(300s), V(5m)).
    type: str
  service_account:
    description:
      - The email of the service account the revision runs as.
    type: str
  ingress:
    description:
      - Where requests may come from.
    type: str
    choices: [all, internal, internal-and-cloud-load-balancing, none]
  vpc_access:
    description:
      - Send traffic into a VPC, for example to reach Memorystore for Redis. Give O(vpc_access.connector) or
        O(vpc_access.network) (Direct VPC egress). Only the keys you set are compared.
    type: dict
    suboptions:
      connector:
        description: A Serverless VPC Access connector, C(projects/P/locations/R/connectors/NAME).
        type: str
      network:
        description: The VPC network, for Direct VPC egress.
        type: str
      subnetwork:
        description: The subnetwork, for Direct VPC egress.
        type: str
      network_tags:
        description: Network tags, for Direct VPC egress.
        type: list
        elements: str
      egress:
        description: Which outbound traffic goes through the VPC.
        type: str
        choices: [all-traffic, private-ranges-only]
  labels:
    description:
      - Service labels, compared whole (labels that Google's tools add are kept and ignored).
    type: dict
  annotations:
    description:
      - Service annotations, compared whole (annotations in Google's namespaces are kept and ignored).
    type: dict
  execution_environment:
    description:
      - The execution environment.
    type: str
    choices: [gen1, gen2]
  startup_probe:
    description:
      - The startup probe. Only the keys you set are compared; Cloud Run fills in the rest.
    type: dict
    suboptions: &probe
      initial_delay_seconds:
        description: Seconds before the first probe.
        type: int
      timeout_seconds:
        description: Seconds a probe may take.
        type: int
      period_seconds:
        description: Seconds between probes.
        type: int
      failure_threshold:
        description: Failed probes in a row before the container counts as failed.
        type: int
      http_get:
        description: Probe with an HTTP GET.
        type: dict
        suboptions:
          path:
            description: The path to request.
            type: str
          port:
            description: The port, if not the container port.
            type: int
      tcp_socket:
        description: Probe with a TCP connection.
        type: dict
        suboptions:
          port:
            description: The port, if not the container port.
            type: int
      grpc:
        description: Probe with the gRPC health checking protocol.
        type: dict
        suboptions:
          port:
            description: The port, if not the container port.
            type: int
          service:
            description: The gRPC service name.
            type: str
  liveness_probe:
    description:
      - The liveness probe. Only the keys you set are compared.
    type: dict
    suboptions: *probe
  revision_suffix:
    description:
      - Name the new revision C(NAME-SUFFIX) instead of letting Cloud Run name it.
      - A suffix names one revision; a template change with the same suffix is refused before any API call.
    type: str
  tag:
    description:
      - A traffic tag for the service's newest revision, for example V(candidate). The tag gives the revision a URL of
        its own (see RV(service.traffic_statuses)) before or without any traffic; it moves to each new revision.
    type: str
  no_traffic:
    description:
      - Deploy a new revision without sending it traffic. The share V(LATEST) had stays on the revision that serves
        it now, by name. Check the new revision on its O(tag) URL, then move traffic with
        M(nadle.cloudrun.cloudrun_traffic).
      - A new service gets 100% of its traffic all the same; there is no older revision to keep it.
      - The new revision is named as Cloud Run names revisions, C(NAME-00004-xyz) (the service's next generation and
        three letters of the template's hash), unless O(revision_suffix) names it.
    type: bool
    default: false
  description:
    description:
      - A description of the service, at most 512 characters.
    type: str
  allow_unauthenticated:
    description:
      - V(true) lets anyone invoke the service (binds C(allUsers) to C(roles/run.invoker)); V(false) removes that
        binding. Every other IAM binding is kept, conditional ones included (the policy is read and written at
        version 3). When not set, IAM is not touched.
      - With O(invoker_iam_disabled=true) the service is public without any IAM binding, and V(true) makes no IAM
        request.
      - In an organisation with Domain Restricted Sharing, Cloud Run refuses C(allUsers); use
        O(invoker_iam_disabled) there.
    type: bool
  invokers:
    description:
      - Principals that may call the private service (C(roles/run.invoker)), for service-to-service calls with an ID
        token, for example C(serviceAccount:frontend@PROJECT.iam.gserviceaccount.com), C(user:EMAIL),
        C(group:EMAIL), C(domain:DOMAIN) or C(allAuthenticatedUsers). C(allUsers) is refused; use
        O(allow_unauthenticated).
      - Applied with O(allow_unauthenticated) in one read and, when anything differs, one write of the policy, with
        its etag. When not set, invokers are not touched.
    type: list
    elements: str
  invokers_mode:
    description:
      - V(add) grants O(invokers) and keeps the other invokers; V(authoritative) makes O(invokers) the only ones
        (C(allUsers) stays as O(allow_unauthenticated) says). Bindings of other roles, and conditional ones, are
        always kept.
    type: str
    choices: [add, authoritative]
    default: add
  service_min_instances:
    description:
      - Instances kept warm for the whole service, across its revisions (the Service's C(scaling.minInstanceCount)),
        where O(min_instances) is per revision. A change here makes no new revision.
    type: int
    version_added: 0.1.0
  invoker_iam_disabled:
    description:
      - V(true) turns off Cloud Run's invoker IAM check for this service (the Service field
        C(invokerIamDisabled)), so anyone can call it without an IAM binding. This is Cloud Run's supported way to a
        public service where an organisation policy (Domain Restricted Sharing) refuses C(allUsers).
      - V(false) turns the check back on. A change here makes no new revision.
    type: bool
    version_added: 0.1.0
  wait:
    description:
      - Wait until the new revision is ready (or has failed) before returning.
    type: bool
    default: true
  wait_timeout:
    description:
      - How many seconds to wait for a rollout or deletion.
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Deploy the backend (project, region and auth set once for the play)
  module_defaults:
    group/nadle.cloudrun.gcp:
      project: xai-community
      region: asia-northeast3
  block:
    - name: Service with its image and env in one revision
      nadle.cloudrun.cloudrun_service:
        name: xai-community-backend
        image: asia-northeast3-docker.pkg.dev/xai-community/apps/backend:3f9c2a1
        port: 8080
        cpu: "1"
        memory: 512Mi
        concurrency: 100
        max_instances: 10
        timeout: 300s
        env:
          ENVIRONMENT: production
          ALLOWED_ORIGINS: https://xai-community.vercel.app
          SENTRY_DSN:  # a secret that already exists in Secret Manager
            secret: sentry-dsn
            version: latest
        secrets:  # from Ansible Vault; stored in Secret Manager, referenced by the revision
          MONGODB_URL: "{{ vault_mongodb_url }}"
          SECRET_KEY: "{{ vault_secret_key }}"
        allow_unauthenticated: true
      register: deployed

    - name: Show the URL and the new revision (null when nothing changed)
      ansible.builtin.debug:
        msg: "{{ deployed.service.uri }} {{ deployed.revision.name | default('no new revision') }}"

- name: A private backend that only the frontend's service account may call
  nadle.cloudrun.cloudrun_service:
    name: backend
    project: xai-community
    region: asia-northeast3
    allow_unauthenticated: false
    invokers:
      - serviceAccount:frontend@xai-community.iam.gserviceaccount.com
    invokers_mode: authoritative

- name: Reach Memorystore through a VPC connector, private ingress only
  nadle.cloudrun.cloudrun_service:
    name: worker
    project: xai-community
    region: asia-northeast3
    ingress: internal
    vpc_access:
      connector: projects/xai-community/locations/asia-northeast3/connectors/redis
      egress: private-ranges-only

- name: Delete a service
  nadle.cloudrun.cloudrun_service:
    name: old-preview
    project: xai-community
    region: asia-northeast3
    state: absent
"""

RETURN = r"""
service:
  description:
    - The service after the change (the predicted service in check mode); null when absent.
    - When the task failed, only C(name), C(uri), C(ready), C(latest_ready_revision), C(latest_created_revision) and
      C(traffic_statuses), since a failed task's result is printed whole; M(nadle.cloudrun.cloudrun_service_info) reads
      the rest.
  returned: always
  type: dict
  contains:
    name:
      description: The service name.
      type: str
      sample: xai-community-backend
    resource_name:
      description: The full resource name.
      type: str
      sample: projects/xai-community/locations/asia-northeast3/services/xai-community-backend
    uri:
      description: The main URL of the service.
      type: str
      sample: https://xai-community-backend-798170408536.asia-northeast3.run.app
    urls:
      description: All URLs of the service.
      type: list
      elements: str
    generation:
      description: Increases with every change of the service spec.
      type: int
      sample: 3
    observed_generation:
      description: The generation the service has finished rolling out.
      type: int
      sample: 3
    uid:
      description: The service's unique ID.
      type: str
    etag:
      description: The service's current etag.
      type: str
    create_time:
      description: When the service was created.
      type: str
    update_time:
      description: When the service was last changed.
      type: str
    creator:
      description: Who created the service.
      type: str
    last_modifier:
      description: Who last changed the service.
      type: str
    ready:
      description: Whether the service's Ready condition succeeded.
      type: bool
    reconciling:
      description: Whether a rollout is still in progress.
      type: bool
    latest_ready_revision:
      description: The newest revision that became ready.
      type: str
      sample: xai-community-backend-00003-kqp
    latest_created_revision:
      description: The newest revision, ready or not.
      type: str
      sample: xai-community-backend-00003-kqp
    terminal_condition:
      description: The service's Ready condition.
      type: dict
    conditions:
      description: The service's other conditions (RoutesReady, ConfigurationsReady).
      type: list
      elements: dict
    traffic:
      description: The traffic split the service asks for.
      type: list
      elements: dict
    traffic_statuses:
      description: The traffic split the service serves, with the URL of every tag.
      type: list
      elements: dict
      sample: [{type: TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST, percent: 100}]
    ingress:
      description: The ingress setting.
      type: str
      sample: INGRESS_TRAFFIC_ALL
    description:
      description: The service description.
      type: str
    labels:
      description: The service labels.
      type: dict
    annotations:
      description: The service annotations.
      type: dict
    template:
      description: The revision template, with the values Cloud Run filled in.
      type: dict
revision:
  description: The revision this task created; null when it created none.
  returned: always
  type: dict
  contains:
    name:
      description: The revision name.
      type: str
      sample: xai-community-backend-00004-zxv
    resource_name:
      description: The full resource name.
      type: str
    create_time:
      description: When the revision was created.
      type: str
    ready:
      description: Whether the revision is ready.
      type: bool
    image:
      description: The image of the revision's serving container.
      type: str
    conditions:
      description: The revision's conditions.
      type: list
      elements: dict
    log_uri:
      description: Where the revision's logs can be read.
      type: str
secrets_written:
  description: The keys of O(secrets) and O(secret_keys) whose secret got (or in check mode would get) a new version.
  returned: always
  type: list
  elements: str
  sample: [SECRET_KEY]
secrets_granted:
  description:
    - The keys whose secret gave (or in check mode would give) the revision's service account
      C(roles/secretmanager.secretAccessor) in this task (O(grant_secret_access)).
  returned: always
  type: list
  elements: str
traffic:
  description:
    - The service's traffic targets after the task, as M(nadle.cloudrun.cloudrun_traffic) returns and takes them, so a
      play can put the split back later without reading it again.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{revision: xai-community-backend-00003-kqp, percent: 100, tag: null}]
serves_latest:
  description:
    - Whether the newest revision is ready and serves 100% of the traffic, so a rollout has nothing left to do.
  returned: when O(state=present)
  type: bool
retried_revision:
  description:
    - The newest revision, which had failed to start, when nothing in the options changed and this task tried again
      with a new revision (the cause was outside the options, such as a secret or a database made later).
  returned: when O(state=present)
  type: str
changed_options:
  description: The options that were (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
  sample: [memory, env]
failed_revision:
  description: The revision that did not become ready.
  returned: when a rollout failed
  type: str
log_lines:
  description:
    - The last log lines of the revision that did not become ready, from Cloud Logging, oldest first, that its
      message does not hold; empty unless O(log_in_message=false).
  returned: when a rollout failed
  type: list
  elements: str
  sample: ["pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings", "mongodb_url",
           "  Field required [type=missing, input_value={}, input_type=dict]"]
"""

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule
from ansible_collections.nadle.cloudrun.plugins.module_utils._service import ensure_service
from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import argument_spec


def main():
    # The options are declared in module_utils/_service_args.py (the managed ones in _options.py, the env entry in _env.py).
    CloudRunModule(argument_spec(), libraries=("google-cloud-run", "google-cloud-secret-manager"),
                   supports_check_mode=True).run(ensure_service)


if __name__ == "__main__":
    main()
