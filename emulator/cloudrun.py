"""Cloud Run Admin API v2: services, revisions, operations and IAM, with revisions that run.

State is kept as camelCase JSON dicts exactly as ``google.cloud.run_v2`` serialises them
(string enums, no default values); every body in and out goes through the official types.
"""

import copy
import datetime
import json
import os
import random
import re
import string
import threading
import time
import uuid

from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2
from google.protobuf import json_format

from emulator import images, validation
from emulator.identity import Identity, may_invoke
from emulator.jobs import Jobs
from emulator.iam import Policies, project_number
from emulator.secretmanager import numbered, secret_name
from emulator.errors import GRPC_CODES, ApiError, ContainerProblem, RevisionFailure, invalid, not_found, or_not_found
from emulator.proxy import forward
from emulator.runtime import expand
from emulator.wire import listing, parse, parse_pb, render

SERVICE_TYPE = "type.googleapis.com/google.cloud.run.v2.Service"
REVISION_TYPE = "type.googleapis.com/google.cloud.run.v2.Revision"
LATEST = validation.LATEST
REVISION = validation.REVISION
SUCCEEDED = "CONDITION_SUCCEEDED"
FAILED = "CONDITION_FAILED"
RECONCILING = "CONDITION_RECONCILING"
INVOKER = "roles/run.invoker"
CREATOR = "emulator@nadle-cloudrun.local"

# Fields of a Service the server owns; ignored on input, as the real API does.
SERVICE_OUTPUT_ONLY = {
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "urls", "observedGeneration", "terminalCondition", "conditions", "latestReadyRevision",
    "latestCreatedRevision", "trafficStatuses", "uri", "satisfiesPzs", "threatDetectionEnabled",
    "reconciling", "etag",
}
REVISION_FIELDS = {f.json_name for f in run_v2.Revision.pb().DESCRIPTOR.fields}

NOT_LISTENING = (
    "Revision '{revision}' is not ready and cannot serve traffic. The user-provided container failed to "
    "start and listen on the port defined provided by the PORT={port} environment variable within the "
    "allocated timeout. This can happen when the container port is misconfigured or if the timeout is too "
    "short. The health check timeout can be extended. Logs for this revision might contain more "
    "information.\n\nLogs URL: {log_uri}"
)


def _parse_time(text):
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def short(name):
    return name.rsplit("/", 1)[-1]


def stale_etag(etag, service_id):
    # AIP-154: "If a user sends back an etag which does not match the current etag value, the service
    # must send an ABORTED error response" (HTTP 409; google.aip.dev pull requests 705 and 837).
    return ApiError(409, f"The etag '{etag}' does not match the current etag of service '{service_id}'. "
                         "Read the service again and retry.", "ABORTED")


def concurrent_change(service_id):
    return ApiError(409, f"Conflict for resource '{service_id}': the service was modified concurrently. "
                         "Read it again and retry.", "ABORTED")


def default_startup_probe(port):
    return {"tcpSocket": {"port": port}, "timeoutSeconds": 240, "periodSeconds": 240, "failureThreshold": 1}


def _condition(kind, state, message=None, **extra):
    condition = {"type": kind, "state": state, "lastTransitionTime": now()}
    if message:
        condition["message"] = message
    condition.update(extra)
    return condition


class CloudRun:  # pylint: disable=too-many-public-methods
    """The Cloud Run v2 API over the store, the revision runtime and the URL proxy."""

    def __init__(self, store, runtime, faults, options):
        self.store = store
        self.runtime = runtime
        self.faults = faults
        self.startup_timeout = options.get("startup_timeout", 30.0)
        self.sync_wait = options.get("sync_wait", 0.0)
        self.proxy = None  # set by attach_proxy
        self.secrets = options.get("secrets")
        self.fresh_project = options.get("fresh", lambda: False)
        self._rr = {}  # service name -> {revision: current weight}, smooth weighted round robin
        self._rr_lock = threading.Lock()
        self._start_locks = {}
        self._op_events = {}
        self.policies = Policies(store, faults)
        self.jobs = Jobs(self)
        self.identity = Identity(store, self._api_base)

    def attach_proxy(self, proxy):
        self.proxy = proxy

    # ----------------------------------------------------------------- helpers
    def _service(self, name):
        return or_not_found(self.store.services.get(name), f'service "{name}" not found')

    def _new_etag(self):
        return '"' + uuid.uuid4().hex[:16] + '"'

    def _defaults(self, spec, project):
        """The values Cloud Run fills in on write (wire contract section 6)."""
        spec = copy.deepcopy(spec)
        spec.setdefault("launchStage", "GA")
        spec.setdefault("ingress", "INGRESS_TRAFFIC_ALL")
        if not spec.get("traffic"):
            spec["traffic"] = [{"type": LATEST, "percent": 100}]
        template = spec.setdefault("template", {})
        containers = template.get("containers") or []
        cpu = None
        for index, container in enumerate(containers):
            resources = container.get("resources")
            if resources is None:
                # Real recorded GETs show cpuIdle filled in, startupCpuBoost absent unless set
                # (shared/reference/cloud-run-wire-contract.md section 6).
                resources = container["resources"] = {"cpuIdle": True}
            limits = resources.setdefault("limits", {})
            limits.setdefault("cpu", "1000m")
            limits.setdefault("memory", "512Mi")
            ingress_container = container.get("ports") or (index == 0 and not any(
                c.get("ports") for c in containers))
            if ingress_container:
                cpu = validation.parse_cpu(limits["cpu"])
                ports = container.setdefault("ports", [{}])
                ports[0].setdefault("name", "http1")
                ports[0].setdefault("containerPort", 8080)
                container.setdefault("startupProbe", default_startup_probe(ports[0]["containerPort"]))
        template.setdefault("timeout", "300s")
        template.setdefault("serviceAccount", f"{project_number(project)}-compute@developer.gserviceaccount.com")
        # No executionEnvironment: "Cloud Run selects the execution environment based on the features
        # used" (Cloud Run docs, execution environments); the GET reports none unless one was set.
        if not template.get("maxInstanceRequestConcurrency"):
            template["maxInstanceRequestConcurrency"] = 1 if cpu is not None and cpu < 1 else 80
        template.setdefault("scaling", {}).setdefault("maxInstanceCount", 100)
        return spec

    def _ingress_container(self, template):
        containers = template.get("containers") or []
        for container in containers:
            if container.get("ports"):
                return container
        return containers[0] if containers else {}

    # ------------------------------------------------------------- operations
    @staticmethod
    def _typed(data, type_url):
        """A resource as an operation carries it: through the official type (so false and empty
        fields are left out, as proto3 JSON does), with its ``@type``."""
        message_cls = getattr(run_v2, type_url.rsplit(".", 1)[-1])  # Service, Revision, Job or Execution
        return dict(render(message_cls, {k: v for k, v in data.items() if not k.startswith("_")}),
                    **{"@type": type_url})

    def _new_operation(self, parent, metadata, metadata_type=SERVICE_TYPE):
        name = f"{parent}/operations/{uuid.uuid4()}"
        operation = {"name": name, "metadata": self._typed(metadata, metadata_type),
                     "_holds": self.faults.pending_polls()}
        self.store.operations[name] = operation
        self._op_events[name] = threading.Event()
        return operation

    def _finish_operation(self, name, response=None, error=None, response_type=SERVICE_TYPE, state=None):
        """Mark an operation done; its metadata becomes the final state, as on Google (wire contract 6)."""
        with self.store.lock:
            operation = self.store.operations.get(name)
            if operation is None:
                return
            operation["done"] = True
            operation["_doneAt"] = time.time()  # for GET /_emulator/operations: when a waiter could know
            final = response if error is None else state
            if final is not None:
                operation["metadata"] = self._typed(final, operation["metadata"]["@type"])
            if error is not None:
                operation["error"] = error
            else:
                operation["response"] = self._typed(response, response_type)
            self.store.save()
        event = self._op_events.pop(name, None)
        if event is not None:
            event.set()

    def _wait_operation(self, name, timeout):
        event = self._op_events.get(name)
        if event is not None:
            event.wait(timeout)

    def operation_view(self, name, poll=True):
        with self.store.lock:
            operation = self.store.operations.get(name)
            if operation is None:
                raise not_found(f'operation "{name}" not found')
            if poll and operation.get("_holds", 0) > 0:
                operation["_holds"] -= 1
                return {"name": name, "metadata": operation["metadata"]}
            if operation.get("_holds", 0) > 0:
                return {"name": name, "metadata": operation["metadata"]}
            return {k: v for k, v in operation.items() if not k.startswith("_")}

    def get_operation(self, name):
        return self.operation_view(name)

    def wait_operation(self, name, body):
        request = json.loads(body or b"{}")
        seconds = validation.duration_seconds(request.get("timeout", "")) or 30.0
        self.operation_view(name, poll=False)
        self._wait_operation(name, min(seconds, 600.0))
        return self.operation_view(name)

    def list_operations(self, parent, query):
        with self.store.lock:
            names = sorted(n for n in self.store.operations if n.startswith(parent + "/operations/"))
        return {"operations": [self.operation_view(n, poll=False) for n in names]}

    def delete_operation(self, name):
        with self.store.lock:
            if self.store.operations.pop(name, None) is None:
                raise not_found(f'operation "{name}" not found')
            self.store.save()
        return {}

    def finished_operation(self, parent, resource, type_url=SERVICE_TYPE):
        """An operation done at once with ``resource`` as its result (validateOnly, a cancel): its view."""
        operation = self._new_operation(parent, resource, type_url)
        self._finish_operation(operation["name"], resource, response_type=type_url)
        return self.operation_view(operation["name"], poll=False)

    def write_done(self, parent, resource, type_url):
        """A write with nothing to run (a job's create, update or delete), answered as every write is: pending
        first (``_answer``), done with ``resource``."""
        operation = self._new_operation(parent, resource, type_url)
        pending = self._pending(operation)
        self._finish_operation(operation["name"], resource, response_type=type_url)
        return self._answer(operation, pending)

    @staticmethod
    def _pending(operation):
        """The operation as a write first answers it: name and metadata, no ``done``."""
        return {"name": operation["name"], "metadata": copy.deepcopy(operation["metadata"])}

    def _answer(self, operation, pending):
        """A write's first answer: the pending operation taken when it was made.

        Google answered 13 of 13 recorded creates, updates and deletes this way, and the client
        polled (shared/reference/cloud-run-wire-contract.md section 6). ``--sync-wait`` > 0 is a
        fast path for local loops only: it holds the request until the rollout is done.
        """
        if self.sync_wait > 0 and operation.get("_holds", 0) == 0:
            self._wait_operation(operation["name"], self.sync_wait)
            return self.operation_view(operation["name"], poll=False)
        return pending

    @staticmethod
    def _pending_metadata(service, created):
        """A Service as a pending write's metadata shows it: before the controller acts on it.

        Real pending creates have ``terminalCondition {state: CONDITION_PENDING}`` without a type and
        no ``latestCreatedRevision``, ``uri`` or ``ingress``; pending updates still show the old
        ``latestCreatedRevision`` (recorded traffic, wire contract section 6).
        """
        view = copy.deepcopy(service)
        if created:
            for key in ("latestCreatedRevision", "latestReadyRevision", "uri", "urls", "ingress", "conditions",
                        "trafficStatuses", "observedGeneration"):
                view.pop(key, None)
            view["terminalCondition"] = {"state": "CONDITION_PENDING"}
        return view

    # --------------------------------------------------------------- services
    def view_service(self, service, int_enums=False):
        return render(run_v2.Service, service, int_enums)

    def get_service(self, name, int_enums=False):
        with self.store.lock:
            return self.view_service(self._service(name), int_enums)

    def list_services(self, parent, query, int_enums=False):
        with self.store.lock:
            names = sorted(n for n in self.store.services if n.startswith(parent + "/services/"))
            return listing("services", names, lambda n: self.view_service(self.store.services[n], int_enums), query)

    def create_service(self, parent, query, body):
        service_id = query.get("serviceId", [""])[0]
        validate_only = query.get("validateOnly", ["false"])[0] == "true"
        spec = parse(body, run_v2.Service, "service")
        return self._write(parent, service_id, spec, "CreateServiceRequest", create=True,
                           validate_only=validate_only)

    def update_service(self, name, query, body):
        parent, service_id = name.rsplit("/services/", 1)
        spec = parse(body, run_v2.Service, "service")
        mask = [f for f in query.get("updateMask", [""])[0].split(",") if f]
        allow_missing = query.get("allowMissing", ["false"])[0] == "true"
        validate_only = query.get("validateOnly", ["false"])[0] == "true"
        with self.store.lock:
            current = self.store.services.get(name)
            if current is None and not allow_missing:
                raise not_found(f'service "{name}" not found')
            if current is not None and self.faults.take_second_writer():
                # Someone else's write lands between this client's read and its write.
                current.setdefault("labels", {})["written-by"] = "another-writer"
                current.update({"generation": str(int(current["generation"]) + 1), "etag": self._new_etag(),
                                "updateTime": now()})
                self.store.save()
            if current is not None and spec.get("etag") and spec["etag"] != current.get("etag"):
                raise stale_etag(spec["etag"], service_id)
            if current is not None and mask:
                spec = self._masked(current, spec, mask)
        return self._write(parent, service_id, spec, "UpdateServiceRequest", create=current is None,
                           validate_only=validate_only)

    @staticmethod
    def _masked(current, spec, mask):
        merged = {k: copy.deepcopy(v) for k, v in current.items() if k not in SERVICE_OUTPUT_ONLY}
        for path in mask:
            keys = [json_format._SnakeToCamelCase(p) for p in path.split(".")]  # pylint: disable=protected-access
            src, dst = spec, merged
            for key in keys[:-1]:
                src = src.get(key, {})
                dst = dst.setdefault(key, {})
            if keys[-1] in src:
                dst[keys[-1]] = copy.deepcopy(src[keys[-1]])
            else:
                dst.pop(keys[-1], None)
        return merged

    def _write(self, parent, service_id, spec, request_name, create, validate_only):
        spec = {k: v for k, v in spec.items() if k not in SERVICE_OUTPUT_ONLY}
        violations = validation.check_service_id(service_id) if create else []
        violations += validation.check_service(spec, service_id)
        if violations:
            raise invalid(violations, request_name)
        project = parent.split("/")[1]
        name = f"{parent}/services/{service_id}"
        desired = self._defaults(spec, project)
        with self.store.lock:
            current = self.store.services.get(name)
            if create and current is not None:
                raise ApiError(409, f"Resource '{service_id}' already exists.", "ALREADY_EXISTS")
            self._check_traffic_refs(name, desired)
            if not validate_only and self.faults.take_etag_conflict():
                raise concurrent_change(service_id)
            if validate_only:
                return self.finished_operation(parent, dict(current or {}, **desired, name=name))
            changed, service, new_revision = self._apply(name, current, desired)
            operation = self._new_operation(parent, self._pending_metadata(service, created=current is None))
            pending = self._pending(operation)
            self.store.save()
        if not changed:
            self._finish_operation(operation["name"], copy.deepcopy(service))
        elif new_revision is not None:
            threading.Thread(target=self._rollout, args=(name, new_revision, operation["name"]),
                             name=f"rollout-{short(new_revision)}", daemon=True).start()
        else:
            self._settle(name, operation["name"])
        return self._answer(operation, pending)

    def _check_traffic_refs(self, name, desired):
        pinned = desired["template"].get("revision")
        for index, target in enumerate(desired.get("traffic", [])):
            revision = target.get("revision")
            if target.get("type") == REVISION and revision and revision != pinned \
                    and f"{name}/revisions/{revision}" not in self.store.revisions:
                raise invalid([(f"service.traffic[{index}].revision", f"Revision '{revision}' does not exist.")],
                              "UpdateServiceRequest")

    def _apply(self, name, current, desired):
        """Store the desired spec; a changed template makes a new revision.

        ``template.revision`` is part of the template: clearing a name the service holds is a change
        and makes a new, server-named revision (terraform-provider-google issue 13410: "will deploy a
        new revision just to remove the 'revision' field"); naming an existing revision with another
        template is 409 (google-cloud-python issues 11870 and 14259). Nothing is stored before those
        checks pass. Returns (changed, service, new revision name or None).
        """
        stamp = now()
        if current is not None:
            spec_now = {k: v for k, v in current.items() if k not in SERVICE_OUTPUT_ONLY}
            if spec_now == desired:
                return False, current, None  # nothing to change: no new generation, no new revision
        generation = int((current or {}).get("generation", "0")) + 1
        template_changed = current is None or current.get("template", {}) != desired["template"]
        revision_name = reused = None
        if template_changed:
            revision_id = desired["template"].get("revision") or "{}-{:05d}-{}".format(
                short(name), generation, "".join(random.choices(string.ascii_lowercase + string.digits, k=3)))
            revision_name = f"{name}/revisions/{revision_id}"
            existing = self.store.revisions.get(revision_name)
            if existing is not None and existing["_template"] != desired["template"]:
                raise ApiError(409, f"Revision named '{revision_id}' with different configuration already "
                                    "exists.", "ALREADY_EXISTS")
            reused = existing is not None
        if current is None:
            service = {"name": name, "uid": str(uuid.uuid4()), "createTime": stamp, "creator": CREATOR}
            self.store.services[name] = service
        else:
            service = current
            for key in [k for k in service if k not in SERVICE_OUTPUT_ONLY]:
                del service[key]
        service.update(copy.deepcopy(desired))
        service.update({"generation": str(generation), "updateTime": stamp, "lastModifier": CREATOR,
                        "etag": self._new_etag(), "reconciling": True})
        self._ensure_urls(name)
        if not template_changed:
            return True, service, None
        if reused:  # the same name and template again: that revision is the latest again, nothing new runs
            service["latestCreatedRevision"] = revision_name
            return True, service, None
        self.store.revisions[revision_name] = self._new_revision(service, revision_name, desired["template"])
        service["terminalCondition"] = _condition("Ready", RECONCILING, "Deploying revision.")
        return True, service, revision_name

    def _new_revision(self, service, revision_name, template):
        revision = {k: copy.deepcopy(v) for k, v in template.items() if k in REVISION_FIELDS}
        revision.update({
            "name": revision_name, "uid": str(uuid.uuid4()), "generation": "1",
            "service": short(service["name"]), "createTime": now(), "updateTime": now(),
            "launchStage": service.get("launchStage", "GA"), "creator": CREATOR,
            "logUri": f"{self._api_base()}/_emulator/logs/{revision_name}", "etag": self._new_etag(),
            "reconciling": True, "observedGeneration": "1",
            "conditions": [_condition("Ready", RECONCILING, "Deploying revision.")],
            "_template": copy.deepcopy(template),
        })
        return revision

    def _api_base(self):
        return getattr(self, "api_base", "http://127.0.0.1")

    # ---------------------------------------------------------------- rollout
    def _rollout(self, service_name, revision_name, operation_name):
        # The controller, not the write, makes the revision the latest: a GET right after the write
        # still shows the previous latestCreatedRevision, as on Google.
        started = time.monotonic()
        with self.store.lock:
            service = self.store.services.get(service_name)
            if service is not None:
                service["latestCreatedRevision"] = revision_name
                self.store.save()
        try:
            process = self._launch(revision_name)
        except RevisionFailure as failure:
            self._mark_revision(revision_name, failure)
        else:
            self.runtime.adopt(process)
            self._mark_revision(revision_name, None)
        # A real rollout takes seconds to minutes; the rollout_ms fault makes one take that long here.
        rest = started + self.faults.setting("rollout_ms") / 1000.0 - time.monotonic()
        if rest > 0:
            time.sleep(rest)
        self._settle(service_name, operation_name)

    def _mark_revision(self, revision_name, failure):
        with self.store.lock:
            revision = self.store.revisions.get(revision_name)
            if revision is None:
                return
            revision["reconciling"] = False
            revision["updateTime"] = now()
            if failure is None:
                revision["conditions"] = [
                    _condition("Ready", SUCCEEDED), _condition("ContainerHealthy", SUCCEEDED),
                    _condition("ResourcesAvailable", SUCCEEDED)]
            else:
                revision["conditions"] = [
                    _condition("Ready", FAILED, str(failure), revisionReason=failure.reason),
                    _condition("ContainerHealthy", FAILED, str(failure), revisionReason=failure.reason)]
            self.store.save()

    @staticmethod
    def revision_ready(revision):
        ready = [c for c in revision.get("conditions", []) if c.get("type") == "Ready"]
        return bool(ready) and ready[0].get("state") == SUCCEEDED

    @staticmethod
    def revision_failure(revision):
        for condition in revision.get("conditions", []):
            if condition.get("type") == "Ready" and condition.get("state") == FAILED:
                return condition.get("message", "")
        return None

    def _secret_access_denied(self, container, revision_id, project, account):
        """In a fresh project (or with the secret_iam fault), a revision whose service account may not read a
        secret it references does not start, with Cloud Run's message for each such secret (as users
        report it: terraform-google-modules/terraform-docs-samples#168)."""
        if not (self.faults.setting("secret_iam") or self.fresh_project()) or self.secrets is None:
            return
        denied = []
        for index, item in enumerate(container.get("env") or []):
            ref = (item.get("valueSource") or {}).get("secretKeyRef")
            if ref and not self.secrets.readable_by(project, ref.get("secret", ""), f"serviceAccount:{account}"):
                name = numbered(secret_name(project, ref.get("secret", "")))
                denied.append(
                    f"spec.template.spec.containers[0].env[{index}].value_from.secret_key_ref.name: Permission denied "
                    f"on secret: {name}/versions/{ref.get('version') or 'latest'} for Revision service account "
                    f"{account}. The service account used must be granted the 'Secret Manager Secret Accessor' role "
                    "(roles/secretmanager.secretAccessor) at the secret, project or higher level.")
        if denied:
            raise RevisionFailure(f"Revision '{revision_id}' is not ready and cannot serve traffic. " + "\n".join(denied),
                                  reason="REVISION_REASON_UNDEFINED")

    def _resolve_env(self, container, revision_id, project):
        env = {}
        for item in container.get("env") or []:
            if "valueSource" in item:
                ref = item["valueSource"].get("secretKeyRef", {})
                value = self.resolve_secret(ref, project)
                if value is None:
                    raise RevisionFailure(
                        f"Revision '{revision_id}' is not ready and cannot serve traffic. "
                        f"spec.template.spec.containers[0].env.valueFrom.secretKeyRef: Secret "
                        f"'{ref.get('secret')}' version '{ref.get('version', 'latest')}' for {item['name']} was "
                        "not found or cannot be accessed.", reason="REVISION_REASON_UNDEFINED")
                env[item["name"]] = value
            else:
                env[item["name"]] = item.get("value", "")
        return env

    def container_process(self, container, label, project, account, contract_env, ref=None):
        """(image entry, argv, cwd, env) of a container of a revision or a job's task, from its image (``ref``, else
        the container's image): the image's ENV and environment, the container's env and secrets read as
        ``account``, the runtime contract's ``contract_env``, then ``command`` and ``args`` with ``$(VAR)``
        expanded. ContainerProblem when the image is not there or says nothing to run; RevisionFailure (naming
        ``label``) for a secret it cannot read."""
        image = container.get("image", "")
        entry = images.resolve(self.store, ref or image)
        if entry is None:
            raise ContainerProblem(f"Image '{image}' not found.", reason="REVISION_REASON_UNDEFINED")
        try:
            config = images.ImageConfig(entry["dir"])
        except (OSError, ValueError) as exc:
            raise ContainerProblem(f"Image '{image}' cannot be read: {exc}") from exc
        env = images.process_env(entry, config)
        env.update(self.container_env(container, label, project, account))
        env.update(contract_env)
        argv = [expand(part, env) for part in config.argv(container.get("command"), container.get("args"))]
        if not argv:
            raise ContainerProblem("The image has no ENTRYPOINT or CMD and the container sets no command.")
        workdir = container.get("workingDir")
        cwd = config.host_path(workdir) if workdir else entry["dir"]
        return entry, argv, cwd if os.path.isdir(cwd) else entry["dir"], env

    def container_env(self, container, label, project, account):
        """The env a container gets from its spec, secrets read as ``account``; RevisionFailure (naming
        ``label``) when a secret is missing or the account may not read it."""
        self._secret_access_denied(container, label, project, account)
        return self._resolve_env(container, label, project)

    def resolve_secret(self, ref, project):
        """A secretKeyRef's value from the emulated Secret Manager, or None when it is missing."""
        if self.secrets is None:
            return None
        return self.secrets.resolve(project, ref.get("secret", ""), ref.get("version") or "latest")

    def _startup_timeout(self, container):
        """A startup probe the user set decides the deadline; Cloud Run's 240 s default does not."""
        probe = container.get("startupProbe") or {}
        port = (container.get("ports") or [{}])[0].get("containerPort", 8080)
        if not probe or probe == default_startup_probe(port):
            return self.startup_timeout
        return (probe.get("initialDelaySeconds", 0)
                + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))

    def _launch(self, revision_name):
        """Start the revision's process and wait until it listens; raise RevisionFailure otherwise."""
        with self.store.lock:
            revision = copy.deepcopy(self.store.revisions[revision_name])
        template = revision["_template"]
        revision_id = short(revision_name)
        service_id = short(revision_name.split("/revisions/")[0])
        container = self._ingress_container(template)
        image = container.get("image", "")
        # A tag is resolved to its digest when the revision is made, and the revision keeps that digest
        # ("If you deploy from a container image tag, it will be resolved to a digest and the revision
        # ...", cloud.google.com/artifact-registry/docs/integrate-cloud-run): a tag moved later, or a
        # scale from zero, never changes what a revision runs.
        pinned = revision.get("_imageDigest")
        try:
            entry, argv, cwd, env = self.container_process(
                container, revision_id, revision_name.split("/")[1], template.get("serviceAccount", ""),
                {"K_SERVICE": service_id, "K_REVISION": revision_id, "K_CONFIGURATION": service_id},
                ref=f"{images.split_ref(image)[0]}@{pinned}" if pinned else image)
        except ContainerProblem as problem:
            raise RevisionFailure(f"Revision '{revision_id}' is not ready and cannot serve traffic. {problem}",
                                  reason=problem.reason) from problem
        if not pinned:
            with self.store.lock:
                if revision_name in self.store.revisions:
                    self.store.revisions[revision_name]["_imageDigest"] = entry["digest"]
        container_port = container.get("ports", [{}])[0].get("containerPort", 8080)
        try:
            process = self.runtime.start(revision_name, argv, cwd, env)
        except OSError as exc:
            raise RevisionFailure(f"Revision '{revision_id}' is not ready and cannot serve traffic. "
                                  f"The container command {argv[0]!r} could not be started: {exc}") from exc
        if process.wait_ready(self._startup_timeout(container)):
            return process
        process.stop()
        process.log_tail()  # waits for the last lines to reach the revision's log
        # Cloud Run's message links to the logs; it does not carry the container's lines, which are
        # read from Cloud Logging (entries:list), as a client of the real API must.
        raise RevisionFailure(NOT_LISTENING.format(revision=revision_id, port=container_port,
                                                   log_uri=revision["logUri"]))

    def _settle(self, service_name, operation_name):
        """Route traffic to ready revisions, write the conditions and finish the operation."""
        stop = []
        with self.store.lock:
            service = self.store.services.get(service_name)
            if service is None:
                self._finish_operation(operation_name, error={"code": GRPC_CODES["NOT_FOUND"],
                                                              "message": f"Service {service_name} was deleted."})
                return
            latest = self.store.revisions.get(service.get("latestCreatedRevision", ""))
            failure = self.revision_failure(latest) if latest else None
            if latest is not None and failure is None and self.revision_ready(latest):
                service["latestReadyRevision"] = latest["name"]
            routes, route_error = self._resolve_routes(service)
            if failure is None and route_error:
                failure = route_error
            if failure is None:
                self.store.urls[service_name].update(routes)
                self._refresh_tag_urls(service_name)
            service["trafficStatuses"] = self._traffic_statuses(service_name)
            service["observedGeneration"] = service["generation"]
            service["reconciling"] = False
            if failure is None:
                service["terminalCondition"] = _condition("Ready", SUCCEEDED)
                service["conditions"] = [_condition("RoutesReady", SUCCEEDED),
                                         _condition("ConfigurationsReady", SUCCEEDED)]
            else:
                service["terminalCondition"] = _condition("Ready", FAILED, failure, reason="REVISION_FAILED")
                service["conditions"] = [_condition("RoutesReady", FAILED, failure),
                                         _condition("ConfigurationsReady", FAILED, failure)]
            serving = self.serving_revisions(service_name)
            stop = [n for n in self.runtime.names() if n.startswith(service_name + "/revisions/")
                    and n not in serving]
            self.store.save()
            snapshot = copy.deepcopy(service)
        for name in stop:
            self.runtime.stop(name)
        if failure is None:
            self._finish_operation(operation_name, snapshot)
        else:
            # Google reports a revision that did not start as an operation error with code 13
            # (INTERNAL), "Error code 13" in users' reports (shared/reference/real-api-findings.md).
            self._finish_operation(operation_name, error={"code": GRPC_CODES["INTERNAL"], "message": failure},
                                   state=snapshot)

    def _resolve_routes(self, service):
        """The split and the tag map the spec asks for, or an error if a target is not ready."""
        split, tags = [], {}
        for target in service.get("traffic", []):
            if target.get("type") == LATEST:
                revision_name = service.get("latestReadyRevision")
                if not revision_name:
                    return None, "No revision is ready to serve the LATEST traffic target."
            else:
                revision_name = f"{service['name']}/revisions/{target['revision']}"
                revision = self.store.revisions.get(revision_name)
                if revision is None or not self.revision_ready(revision):
                    return None, (f"Revision '{target['revision']}' is not ready and cannot serve traffic.")
            if target.get("percent"):
                split.append([revision_name, target["percent"]])
            if target.get("tag"):
                tags[target["tag"]] = revision_name
        return {"split": split, "tag_revisions": tags, "traffic": copy.deepcopy(service.get("traffic", []))}, None

    def _traffic_statuses(self, service_name):
        urls = self.store.urls[service_name]
        statuses = []
        for target in urls.get("traffic", []):
            status = {k: target[k] for k in ("type", "revision", "percent", "tag") if target.get(k)}
            if target.get("tag"):
                status["uri"] = self._url(urls["tag_ports"][target["tag"]])
            statuses.append(status)
        return statuses

    def serving_revisions(self, service_name):
        urls = self.store.urls.get(service_name, {})
        return {r for r, p in urls.get("split", []) if p} | set(urls.get("tag_revisions", {}).values())

    # -------------------------------------------------------------------- URLs
    def _url(self, port):
        return f"http://{self.proxy.host}:{port}"

    def _ensure_urls(self, service_name):
        urls = self.store.urls.setdefault(
            service_name, {"port": 0, "tag_ports": {}, "split": [], "tag_revisions": {}, "traffic": []})
        urls["port"] = self.proxy.open(("service", service_name), urls.get("port", 0))
        service = self.store.services[service_name]
        service["uri"] = self._url(urls["port"])
        service["urls"] = [service["uri"]]

    def _refresh_tag_urls(self, service_name):
        urls = self.store.urls[service_name]
        wanted = set(urls["tag_revisions"])
        for tag in list(urls["tag_ports"]):
            if tag not in wanted:
                self.proxy.close(("tag", service_name, tag))
                del urls["tag_ports"][tag]
        for tag in wanted:
            urls["tag_ports"][tag] = self.proxy.open(("tag", service_name, tag), urls["tag_ports"].get(tag, 0))

    def resume(self):
        """After a restart with --state-dir: finish what was under way when the emulator stopped.

        A revision that was starting is started again (it becomes ready or fails, as on a controller
        that picks its work up again), and each pending operation is finished by that rollout, so
        nothing stays RECONCILING forever.
        """
        with self.store.lock:
            pending = {}
            for name, operation in self.store.operations.items():
                # A service's writes; a job's runs are resumed by Jobs.resume.
                if not operation.get("done") and operation["metadata"].get("@type") == SERVICE_TYPE:
                    service = operation["metadata"].get("name", "")
                    pending.setdefault(service, []).append(name)
            gone = [(names, self.store.operations[names[0]]["metadata"]) for service, names in pending.items()
                    if service not in self.store.services]  # deletes: the service is gone already
            work = []
            for service_name, service in self.store.services.items():
                if not service.get("reconciling"):
                    continue
                revision = self.store.revisions.get(service.get("latestCreatedRevision") or "")
                if revision is None:  # the write was stored, its rollout had not made the revision the latest
                    starting = [n for n, r in self.store.revisions.items()
                                if n.startswith(service_name + "/revisions/") and r.get("reconciling")]
                    revision = self.store.revisions.get(max(starting)) if starting else None
                operations = pending.get(service_name) or [None]
                work.append((service_name, revision["name"] if revision and revision.get("reconciling") else None,
                             operations))
        for names, metadata in gone:
            for name in names:
                self._finish_operation(name, dict({k: v for k, v in metadata.items() if k != "@type"},
                                                  reconciling=False))
        for service_name, revision_name, operations in work:
            threading.Thread(target=self._resume_one, args=(service_name, revision_name, operations),
                             name=f"resume-{short(service_name)}", daemon=True).start()

    def _resume_one(self, service_name, revision_name, operations):
        if revision_name is not None:
            self._rollout(service_name, revision_name, operations[-1])
        else:
            self._settle(service_name, operations[-1])
        for name in operations[:-1]:  # older writes of the same service end with the same final state
            self._settle(service_name, name)

    def restore_urls(self):
        """After a restart with --state-dir: listen again on every stored URL."""
        with self.store.lock:
            for service_name in list(self.store.services):
                if service_name in self.store.urls:
                    self._ensure_urls(service_name)
                    self._refresh_tag_urls(service_name)
                    self.store.services[service_name]["trafficStatuses"] = self._traffic_statuses(service_name)
            self.store.save()

    def _pick(self, service_name, split):
        """Smooth weighted round robin: a 90/10 split gives exactly 9 of every 10 requests to the first."""
        with self._rr_lock:
            weights = self._rr.setdefault(service_name, {})
            total = sum(percent for _revision, percent in split)
            best = None
            for revision_name, percent in split:
                weights[revision_name] = weights.get(revision_name, 0) + percent
                if best is None or weights[revision_name] > weights[best]:
                    best = revision_name
            weights[best] -= total
            return best

    def _invokers(self, service_name):
        """The members of the service's unconditional run.invoker bindings, or None when it is public."""
        service = self.store.services.get(service_name, {})
        if service.get("invokerIamDisabled"):
            return None
        members = [m for b in self.store.policies.get(service_name, {}).get("bindings", [])
                   if b.get("role") == INVOKER and not b.get("condition") for m in b.get("members", [])]
        return None if "allUsers" in members else members

    def _audiences(self, urls):
        """The URLs an ID token for this service may be for: its own and its tags'."""
        return [self._url(urls["port"])] + [self._url(port) for port in urls.get("tag_ports", {}).values()]

    def route(self, key, request):
        """Serve one request to a service or tag URL; returns (status, headers, body)."""
        service_name = key[1]
        with self.store.lock:
            urls = copy.deepcopy(self.store.urls.get(service_name))
            invokers = self._invokers(service_name)
        if urls is None:
            return 404, [("Content-Type", "text/plain")], b"Not Found\n"
        authorization = request.headers.get("Authorization") or request.headers.get("authorization") or ""
        if invokers is not None:
            caller, why = self.identity.caller(authorization, self._audiences(urls))
            if caller is None and authorization:
                return 401, [("Content-Type", "text/html; charset=UTF-8")], (
                    b"<html><head><title>401 Unauthorized</title></head><body><h1>Error: Unauthorized</h1>"
                    b"<h2>Your client does not have permission to the requested URL <code>" + request.path.encode()
                    + b"</code>.</h2><!-- " + why.encode() + b" --></body></html>\n")
            if caller is None or not may_invoke(caller, invokers):
                return 403, [("Content-Type", "text/html; charset=UTF-8")], (
                    b"<html><head><title>403 Forbidden</title></head><body><h1>Error: Forbidden</h1>"
                    b"<h2>Your client does not have permission to get URL <code>" + request.path.encode()
                    + b"</code> from this server.</h2></body></html>\n")
        if key[0] == "tag":
            revision_name = urls["tag_revisions"].get(key[2])
        else:
            split = [s for s in urls["split"] if s[1]]
            revision_name = self._pick(service_name, split) if split else None
        if revision_name is None:
            return 503, [("Content-Type", "text/plain")], b"Service Unavailable: no revision is serving.\n"
        process = self.runtime.get(revision_name)
        if process is None:
            process = self._cold_start(revision_name)
            if process is None:
                return 503, [("Content-Type", "text/plain")], b"Service Unavailable: the revision did not start.\n"
        try:
            return forward(process.port, request)
        except OSError as exc:
            return 502, [("Content-Type", "text/plain")], f"Bad Gateway: {exc}\n".encode()

    def _cold_start(self, revision_name):
        with self._rr_lock:
            lock = self._start_locks.setdefault(revision_name, threading.Lock())
        with lock:
            process = self.runtime.get(revision_name)
            if process is not None:
                return process
            try:
                process = self._launch(revision_name)
            except RevisionFailure:
                return None
            self.runtime.adopt(process)
            return process

    # --------------------------------------------------------------- deletion
    def delete_service(self, name, query):
        with self.store.lock:
            service = self._service(name)
            etag = query.get("etag", [""])[0]
            if etag and etag != service.get("etag"):
                raise stale_etag(etag, short(name))
            if self.faults.take_etag_conflict():
                raise concurrent_change(short(name))
            parent = name.rsplit("/services/", 1)[0]
            service = self.store.services.pop(name)
            # A delete is a change of its own: a new generation, deleteTime, and expireTime 30 days on
            # (wire contract section 6, from recorded traffic); it answers pending like every write.
            expire = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
            service.update({"deleteTime": now(), "expireTime": expire.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                            "generation": str(int(service.get("generation", "0")) + 1), "reconciling": True})
            revisions = [r for r in self.store.revisions if r.startswith(name + "/revisions/")]
            for revision_name in revisions:
                del self.store.revisions[revision_name]
            self.store.policies.pop(name, None)
            urls = self.store.urls.pop(name, {})
            operation = self._new_operation(parent, service)
            pending = self._pending(operation)
            self.store.save()

        def finish():
            for revision_name in revisions:
                self.runtime.stop(revision_name)
            self.proxy.close(("service", name))
            for tag in urls.get("tag_ports", {}):
                self.proxy.close(("tag", name, tag))
            self._finish_operation(operation["name"], dict(service, reconciling=False))
        threading.Thread(target=finish, name=f"delete-{short(name)}", daemon=True).start()
        return self._answer(operation, pending)

    # -------------------------------------------------------------- revisions
    def view_revision(self, revision, int_enums=False):
        return render(run_v2.Revision, {k: v for k, v in revision.items() if not k.startswith("_")}, int_enums)

    def list_revisions(self, service_name, query, int_enums=False):
        with self.store.lock:
            self._service(service_name)
            names = [n for n in self.store.revisions if n.startswith(service_name + "/revisions/")]
            names.sort(key=lambda n: self.store.revisions[n]["createTime"], reverse=True)
            return listing("revisions", names, lambda n: self.view_revision(self.store.revisions[n], int_enums), query)

    def get_revision(self, name, int_enums=False):
        with self.store.lock:
            revision = self.store.revisions.get(name)
            if revision is None:
                raise not_found(f'revision "{name}" not found')
            return self.view_revision(revision, int_enums)

    def delete_revision(self, name):
        service_name = name.split("/revisions/")[0]
        with self.store.lock:
            revision = self.store.revisions.get(name)
            if revision is None:
                raise not_found(f'revision "{name}" not found')
            service = self.store.services.get(service_name, {})
            if name in self.serving_revisions(service_name) or name == service.get("latestCreatedRevision"):
                raise ApiError(400, f"Revision '{short(name)}' is serving traffic or is the latest revision of "
                                    "its service and cannot be deleted.", "FAILED_PRECONDITION")
            del self.store.revisions[name]
            parent = name.split("/services/")[0]
            view = {k: v for k, v in revision.items() if not k.startswith("_")}
            operation = self._new_operation(parent, view, REVISION_TYPE)
            pending = self._pending(operation)
            self.store.save()
        self.runtime.stop(name)
        self._finish_operation(operation["name"], view, response_type=REVISION_TYPE)
        return self._answer(operation, pending)

    # -------------------------------------------------------------------- IAM
    def get_iam_policy(self, resource, query=None):
        return self.policies.get(resource, query, exists=self._service)

    def set_iam_policy(self, resource, body):
        return self.policies.set(resource, body, exists=self._service)

    def test_iam_permissions(self, resource, body):
        request = parse_pb(body, iam_policy_pb2.TestIamPermissionsRequest(), "testIamPermissions")
        with self.store.lock:
            self._service(resource)
        # The emulator has one anonymous caller, allowed everything.
        return {"permissions": list(request.permissions)} if request.permissions else {}

    def list_log_entries(self, body):
        """Cloud Logging ``entries:list`` for revision logs: the filter must name a revision.

        Answers ``{"entries": [...]}`` with ``textPayload`` lines, newest first when ordered by
        ``timestamp desc``, as the Logging API does for a Cloud Run revision's stdout and stderr.
        """
        request = json.loads(body or b"{}")
        if "cloud_run_job" in request.get("filter", ""):
            return self.jobs.log_entries(request, (request.get("resourceNames") or ["projects/-"])[0])
        match = re.search(r'resource\.labels\.revision_name\s*=\s*"([^"]+)"', request.get("filter", ""))
        if not match:
            raise ApiError(400, "The emulator answers entries:list only for a filter on "
                                'resource.labels.revision_name="...".')
        revision_id = match.group(1)
        with self.store.lock:
            names = [n for n in self.store.revisions if short(n) == revision_id]
        since = re.search(r'timestamp\s*>=\s*"([^"]+)"', request.get("filter", ""))
        lag = datetime.timedelta(milliseconds=self.faults.setting("log_lag_ms"))
        arrived = datetime.datetime.now(datetime.timezone.utc) - lag  # logs reach Cloud Logging late
        kept = []
        for stamp, line in (self.runtime.log_entries(names[0]) if names else []):
            written = _parse_time(stamp)
            if written and (written > arrived or (since and written < _parse_time(since.group(1)))):
                continue
            kept.append((stamp, line))
        project = (request.get("resourceNames") or ["projects/-"])[0]
        entries = [{"logName": f"{project}/logs/run.googleapis.com%2Fstdout", "textPayload": line,
                    "timestamp": stamp or now(),
                    "resource": {"type": "cloud_run_revision",
                                 "labels": {"revision_name": revision_id,
                                            "service_name": revision_id.rsplit("-", 2)[0]}},
                    "insertId": f"{index:08d}"} for index, (stamp, line) in enumerate(kept[-1000:])]
        if "desc" in request.get("orderBy", ""):
            entries.reverse()
        size = int(request.get("pageSize") or 50)
        return {"entries": entries[:size]} if entries else {}

    def log_lines(self, revision_name):
        process = self.runtime.processes.get(revision_name)
        if process is not None:
            return process.log_tail(200)
        return [line for _stamp, line in self.runtime.log_entries(revision_name)][-200:]
