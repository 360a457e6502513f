# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: each Cloud Run API call as a small function.

Every call retries transient errors (429, 500, 502, 503, 504, and a connection that was
refused or reset) with google.api_core's exponential backoff with full jitter, capped per
sleep and by an overall deadline, and translates any API error into one CloudRunError
carrying the API's own message and status (``api_status``, ``api_reason``).
"Not found" is an answer (None), not an error, where the caller asks for that.
"""

from __future__ import annotations

import functools
import json
import re
import time
from urllib.parse import urlsplit

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import google_registry, split_image

# Only what every call needs is imported here (google-auth, requests, api_core: some 0.3 s). The
# clients and their message types (google-cloud-run alone is 0.5 s) are imported by the functions
# that use them, so a module that never writes a service or waits for an operation does not load them.
try:
    import google.auth.exceptions
    import requests
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry
except ImportError:  # reported by CloudRunModule
    pass
# pylint: disable=import-outside-toplevel

# The REST transport puts "GET https://...?%24alt=json...: " before the API's message.
REQUEST_PREFIX = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) \S+: ")
TRANSIENT = ("TooManyRequests", "InternalServerError", "BadGateway", "ServiceUnavailable", "GatewayTimeout")
_RAISE = object()


IAM_POLICY_VERSION = 3  # asked for and written: version 1 shows conditional bindings under renamed roles
WAIT_CHUNK = 20  # seconds the server may hold one operations:wait call
# Seconds one request may take before it is given up: a server that accepted a connection and never
# answers must not hold a module for ever (the clients' own default is no timeout for most calls).
REQUEST_TIMEOUT = 60


def transient(exc):
    """Retry only what can succeed on a second try: throttling, server-side failures, and a connection
    that was refused, reset or dropped (a network blip). A read timeout is not among them: the
    server may have acted on the request."""
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    if isinstance(exc, google.auth.exceptions.TransportError):
        return True  # the token endpoint could not be reached: the API request itself was not sent yet
    return type(exc).__name__ in TRANSIENT and isinstance(exc, gexc.GoogleAPICallError)


def status_name(exc):
    """The API's status name (``ABORTED``, ``ALREADY_EXISTS``, ...) of an HTTP error, when it gave one."""
    try:
        return exc.response.json()["error"]["status"]
    except (AttributeError, ValueError, KeyError, TypeError):
        return None


def error_details(exc):
    """The facts of an API error a caller acts on: HTTP status, status name, and for a call to an API the
    project has not enabled (403 with ErrorInfo reason SERVICE_DISABLED) that API's name."""
    details = {"api_status": exc.code, "api_reason": status_name(exc)}
    if getattr(exc, "reason", None) == "SERVICE_DISABLED":
        details["disabled_api"] = (getattr(exc, "metadata", None) or {}).get("service")
    return details


def conflict(error):
    """Whether a CloudRunError is a concurrent change (409 ABORTED, an etag that no longer matches):
    the cure is to read again, plan again and write again (AIP-154)."""
    return error.details.get("api_status") == 409 and error.details.get("api_reason") == "ABORTED"


class _Unfinished(Exception):
    """Raised to google.api_core's Retry by poll() while the value read is not final yet."""

    def __init__(self, value):
        super().__init__("not finished yet")
        self.value = value


def poll(read, finished, timeout, initial=1.0, maximum=5.0):
    """``read()`` until ``finished(value)``, for at most ``timeout`` seconds (one read when it is 0).

    The waiting is google.api_core's Retry: exponential backoff with jitter and a deadline.
    Returns (the last value read, whether it is finished).
    """
    def attempt():
        value = read()
        if not finished(value):
            raise _Unfinished(value)
        return value

    retry = gretry.Retry(predicate=gretry.if_exception_type(_Unfinished), initial=initial, maximum=maximum,
                         multiplier=2.0, timeout=timeout)
    try:
        return retry(attempt)(), True
    except gexc.RetryError as exc:
        return exc.cause.value, False


def backoff(attempt):
    """Seconds to sleep before attempt ``attempt`` + 1 of a read-plan-write loop: 0.5, 1, 2."""
    time.sleep(0.5 * 2 ** attempt)


def api_retry(deadline=120.0):
    """Backoff 1 s, 2 s, 4 s ... (jittered, at most 16 s a sleep), giving up after ``deadline`` seconds."""
    return gretry.Retry(predicate=transient, initial=1.0, maximum=16.0, multiplier=2.0, timeout=deadline)


def error_message(action, exc):
    """One line a person can act on, with the API's message and any field violations."""
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        text = (f"{cause.code} {REQUEST_PREFIX.sub('', cause.message)}"
                if isinstance(cause, gexc.GoogleAPICallError) else str(cause))
        return f"Failed to {action}: the API kept failing with a transient error until the retry deadline: {text}"
    if isinstance(exc, gexc.GoogleAPICallError):
        text = REQUEST_PREFIX.sub("", exc.message or "")
        message = f"Failed to {action}: {exc.code} {text}" if exc.code else f"Failed to {action}: {text}"
        violations = []
        for detail in exc.details or []:
            if isinstance(detail, dict):
                violations += [f"{v.get('field')}: {v.get('description')}" for v in detail.get("fieldViolations", [])]
        extra = [v for v in violations if v.split(": ", 1)[-1] not in message]
        return message + ("".join(f"\n- {v}" for v in extra) if extra else "")
    return f"Failed to {action}: cannot reach the API: {exc}"


def api_call(action, not_found=_RAISE):
    """Decorate an API function: retry transient errors, translate the rest into CloudRunError.

    ``action`` is formatted with the call's keyword arguments ("get service {name}").
    """
    def decorator(func):
        @functools.wraps(func)
        def wrapper(client, **kwargs):
            what = action.format(**kwargs)
            try:
                return func(client, **kwargs)
            except gexc.NotFound as exc:
                if not_found is not _RAISE:
                    return not_found
                raise CloudRunError(error_message(what, exc), **error_details(exc)) from exc
            except gexc.GoogleAPICallError as exc:
                raise CloudRunError(error_message(what, exc), **error_details(exc)) from exc
            except gexc.RetryError as exc:
                # api_gave_up: the retry deadline passed; a caller need not ask again at once (the role's
                # rescue skips its reads, so a total outage is reported after one deadline, not two).
                raise CloudRunError(error_message(what, exc), api_gave_up=True) from exc
            except requests.RequestException as exc:
                raise CloudRunError(error_message(what, exc), unreachable=True, api_gave_up=True) from exc
            except google.auth.exceptions.RefreshError as exc:
                raise CloudRunError(
                    f"Failed to {what}: the Google credentials could not be refreshed ({exc}). A user's login "
                    "(gcloud auth application-default login) may have expired: log in again; a service account "
                    "key may be disabled or deleted; a workload identity federation configuration may name a "
                    "pool, provider or account that does not allow this. Nothing was sent.") from exc
            except google.auth.exceptions.TransportError as exc:
                # Never sent, so not a lost answer: no unreachable=True (lost_answer would read it so).
                raise CloudRunError(f"Failed to {what}: the token endpoint could not be reached to refresh the Google "
                                    f"credentials ({exc}); nothing was sent.", api_gave_up=True) from exc
        return wrapper
    return decorator


def lost_answer(error):
    """Whether a failed write may still have been carried out: a server error or a dropped connection.

    Used around calls that are not retried blindly because a second try is not harmless.
    """
    return error.details.get("api_status") in (500, 502, 503, 504) or bool(error.details.get("unreachable"))


# ------------------------------------------------- the one place types change
def to_dict(message):
    """An API message as the API's own JSON (camelCase, enum names, defaults left out): the form the
    collection works in. A dict is that JSON already (a ``_rest`` read)."""
    if isinstance(message, dict):
        return message
    return json.loads(type(message).to_json(message, use_integers_for_enums=False,
                                            always_print_fields_with_no_presence=False))


def service_type():
    """The client's Service message class (what a service operation's result is parsed into)."""
    from google.cloud import run_v2
    return run_v2.Service


def service_message(service):
    """A Service in the API's JSON form as the client's message (the form requests are sent in)."""
    return service_type().from_json(json.dumps(service))


@api_call("get service {name}", not_found=None)
def get_service(client, name):
    return client.get_service(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("list services in {parent}")
def list_services(client, parent):
    return list(client.list_services(parent=parent, retry=api_retry(), timeout=REQUEST_TIMEOUT))


@api_call("create service {service_id}")
def create_service(client, parent, service_id, service, validate_only=False):
    """``service`` in the API's JSON form."""
    return client.create_service(request={"parent": parent, "service_id": service_id,
                                          "service": service_message(service), "validate_only": validate_only},
                                 retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("update service {name}")
def update_service(client, name, service, validate_only=False):
    """``service`` in the API's JSON form; it is sent under ``name`` and left as it was."""
    return client.update_service(request={"service": service_message(dict(service, name=name)),
                                          "validate_only": validate_only}, retry=api_retry(), timeout=REQUEST_TIMEOUT)


def _delete_request(name, etag):
    """A Delete request: the resource, and its etag when known (the delete is refused if it changed)."""
    return {"name": name, "etag": etag} if etag else {"name": name}


@api_call("delete service {name}")
def delete_service(client, name, etag=None):
    return client.delete_service(request=_delete_request(name, etag), retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("list revisions of {parent}")
def list_revisions(client, parent):
    return list(client.list_revisions(parent=parent, retry=api_retry(), timeout=REQUEST_TIMEOUT))


@api_call("get revision {name}", not_found=None)
def get_revision(client, name):
    return client.get_revision(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("read the IAM policy of {resource}")
def get_iam_policy(client, resource):
    # Version 3, or conditional bindings come back as "ROLE_withcond_HASH" without their condition
    # and cannot be written back safely (cloud.google.com/iam/docs/policies#versions).
    return client.get_iam_policy(request={"resource": resource,
                                          "options": {"requested_policy_version": IAM_POLICY_VERSION}},
                                 retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("write the IAM policy of {resource}")
def set_iam_policy(client, resource, policy):
    policy.version = IAM_POLICY_VERSION
    return client.set_iam_policy(request={"resource": resource, "policy": policy}, retry=api_retry(), timeout=REQUEST_TIMEOUT)


def new_binding(role, members):
    from google.iam.v1 import policy_pb2
    return policy_pb2.Binding(role=role, members=members)


def _blocking(operation, client, result_type):
    """The same operation, refreshed with ``operations:wait`` instead of a GET.

    Every Cloud Run write answers with a pending operation (13 of 13 in recorded traffic). The
    server holds a wait call until the operation is done, or up to WAIT_CHUNK seconds, so a rollout
    is noticed when it ends rather than at the next poll of a backoff schedule.
    """
    from google.api_core import operation as goperation
    from google.protobuf import duration_pb2
    name = operation.operation.name

    def refresh(retry=None):
        request = {"name": name, "timeout": duration_pb2.Duration(seconds=WAIT_CHUNK)}
        return client.wait_operation(request=request, retry=retry or api_retry(), timeout=WAIT_CHUNK + 30)

    return goperation.Operation(operation.operation, refresh, lambda: None, result_type,
                                metadata_type=result_type)


def wait(operation, timeout, action, client=None, result_type=None):
    """Wait for a long-running operation for at most ``timeout`` seconds.

    With ``client`` (a Cloud Run client) and ``result_type``, through ``operations:wait``; else by
    polling with backoff. Returns the result; a failed operation raises CloudRunError with the API's
    message (for a revision that did not start: Cloud Run's condition message).
    """
    from google.api_core.future import polling as gpolling
    if client is not None:
        operation = _blocking(operation, client, result_type)
    polling = gpolling.DEFAULT_POLLING.with_delay(initial=0.2, maximum=5.0, multiplier=1.5).with_timeout(timeout)
    try:
        return operation.result(timeout=timeout, retry=api_retry(), polling=polling)
    except gexc.GoogleAPICallError as exc:
        raise CloudRunError(error_message(action, exc), api_status=exc.code) from exc
    except (gexc.RetryError, requests.RequestException) as exc:
        raise CloudRunError(error_message(action, exc)) from exc
    except TimeoutError as exc:
        raise CloudRunError(f"Timed out after {timeout} seconds waiting to {action}; the operation "
                            f"{operation.operation.name} is still running on the server.") from exc


def fields_unknown_to_client(raw):
    """None when this google-cloud-run knows every field and enum value of ``raw`` (a Service's JSON as
    the API sent it), else the parser's words on the first one it does not know."""
    from google.cloud import run_v2
    from google.protobuf import json_format
    try:
        json_format.Parse(raw, run_v2.Service.pb()(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        return str(exc)
    return None


def check_client_knows(session, endpoint, name, timeout=30):
    """Refuse to write over fields the installed client would drop.

    The REST transport parses answers with ``ignore_unknown_fields=True``, and the write is a full
    replace, so a field newer than the installed google-cloud-run would be reset by any write
    (shared/reference/real-api-findings.md). This reads the service's raw JSON once, before a write.
    """
    try:
        response = session.get(f"{endpoint}/v2/{name}", timeout=timeout)
    except (requests.RequestException, google.auth.exceptions.TransportError):
        return  # the client's own read just succeeded; a blip here is not a reason to stop
    if response.status_code != 200:
        return
    problem = fields_unknown_to_client(response.text)
    if problem:
        from google.cloud.run_v2 import gapic_version
        raise CloudRunError(
            f"Nothing was written: {name} has a field that google-cloud-run {gapic_version.__version__} does not "
            f"know, and a write would reset it ({problem}). Upgrade the client on the controller: "
            "pip install --upgrade google-cloud-run.")


def read_revision_logs(session, endpoint, project, service_id, revision_id, limit=30, timeout=10, since=None):
    """The last ``limit`` log lines of a revision from Cloud Logging (entries:list), oldest first.

    Cloud Run's own condition message only links to the logs; these are the lines a person
    needs to see why a container did not start. google-cloud-logging is not a dependency for
    this one read, so it is a plain REST call signed by google-auth. ``since`` (the revision's
    createTime) bounds the query, as Cloud Logging asks of every entries:list.
    """
    query = (f'resource.type="cloud_run_revision" AND resource.labels.service_name="{service_id}" '
             f'AND resource.labels.revision_name="{revision_id}"')
    if since:
        query += f' AND timestamp>="{since}"'
    return _log_lines(session, endpoint, project, query, limit, timeout, f"revision {revision_id}")


# ------------------------------------------------------------------- jobs
def job_type():
    from google.cloud import run_v2
    return run_v2.Job


def execution_type():
    from google.cloud import run_v2
    return run_v2.Execution


@api_call("get job {name}", not_found=None)
def get_job(client, name):
    return client.get_job(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("create job {job_id}")
def create_job(client, parent, job_id, job, validate_only=False):
    """``job`` in the API's JSON form."""
    return client.create_job(request={"parent": parent, "job_id": job_id, "job": job_type().from_json(json.dumps(job)),
                                      "validate_only": validate_only}, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("update job {name}")
def update_job(client, name, job, validate_only=False):
    message = job_type().from_json(json.dumps(dict(job, name=name)))
    return client.update_job(request={"job": message, "validate_only": validate_only}, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("delete job {name}")
def delete_job(client, name, etag=None):
    return client.delete_job(request=_delete_request(name, etag), retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("run job {name}")
def run_job(client, name, overrides=None):
    # Not retried: a run whose answer was lost may have started an execution, and a second one would run
    # the work twice.
    request = {"name": name}
    if overrides:
        request["overrides"] = overrides
    return client.run_job(request=request, timeout=REQUEST_TIMEOUT)


@api_call("get execution {name}", not_found=None)
def get_execution(client, name):
    return client.get_execution(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("list the tasks of {parent}")
def list_tasks(client, parent):
    return list(client.list_tasks(parent=parent, retry=api_retry(), timeout=REQUEST_TIMEOUT))


def read_job_logs(session, endpoint, project, job_id, execution_id, task_index=None, limit=30, timeout=10,
                  since=None):
    """The last ``limit`` log lines of a job's execution (of one task with ``task_index``), oldest first.

    Cloud Logging labels a job's entries with the execution and the task index
    (``labels."run.googleapis.com/execution_name"``, ``labels."run.googleapis.com/task_index"``). ``since``
    (the execution's start, RFC 3339) bounds the search, which otherwise spans Logging's default window.
    """
    query = (f'resource.type="cloud_run_job" AND resource.labels.job_name="{job_id}" AND '
             f'labels."run.googleapis.com/execution_name"="{execution_id}"')
    if task_index is not None:
        query += f' AND labels."run.googleapis.com/task_index"="{task_index}"'
    if since:
        query += f' AND timestamp>="{since}"'
    return _log_lines(session, endpoint, project, query, limit, timeout, f"execution {execution_id}")


def _log_lines(session, endpoint, project, query, limit, timeout, what):
    body = {"resourceNames": [f"projects/{project}"], "filter": query, "orderBy": "timestamp desc", "pageSize": limit}
    try:
        response = session.post(f"{endpoint}/v2/entries:list", json=body, timeout=timeout)
        response.raise_for_status()
        entries = response.json().get("entries", [])
    except (requests.RequestException, ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        raise CloudRunError(f"Failed to read the logs of {what}: {exc}") from exc
    lines = []
    for entry in reversed(entries):
        payload = entry.get("jsonPayload") or {}
        text = entry.get("textPayload") or payload.get("message")
        if text:
            lines.append(text.rstrip("\n"))
    return lines


# ------------------------------------------------------------ Secret Manager
@api_call("get secret {name}", not_found=None)
def get_secret(client, name):
    return client.get_secret(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("create secret {secret_id}")
def create_secret(client, parent, secret_id, labels=None):
    secret = {"replication": {"automatic": {}}, "labels": labels or {}}
    return client.create_secret(request={"parent": parent, "secret_id": secret_id, "secret": secret},
                                retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("read secret version {name}", not_found=None)
def access_version(client, name):
    return client.access_secret_version(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


def access_latest_version(client, name):
    return access_version(client, name=f"{name}/versions/latest")


@api_call("add a version to secret {name}")
def add_secret_version(client, name, data):
    # Not retried here: a 503 after the server committed would make a second version. The caller
    # reads the latest version before it tries again (_secrets.add_version).
    return client.add_secret_version(request={"parent": name, "payload": {"data": data}}, retry=None)


# ------------------------------------------------------------- Cloud Storage
# google-cloud-storage retries transient errors itself (its DEFAULT_RETRY); these translate the rest.
@api_call("read the source bucket {name}", not_found=None)
def get_bucket(client, name):
    return client.get_bucket(name)


@api_call("create the source bucket {name}")
def create_bucket(client, name, location):
    return client.create_bucket(name, location=location)


@api_call("list the buckets of project {project}")
def owns_bucket(client, project, name):
    """Whether bucket ``name`` is among ``project``'s own buckets."""
    return any(bucket.name == name for bucket in client.list_buckets(project=project, prefix=name))


@api_call("upload the source to gs://{bucket}")
def upload_object(client, bucket, name, data, content_type):
    """Upload; returns the object's generation."""
    blob = client.bucket(bucket).blob(name)
    blob.upload_from_string(data, content_type=content_type)
    return blob.generation


@api_call("read gs://{bucket}/{name}", not_found=None)
def download_text(client, bucket, name):
    return client.bucket(bucket).blob(name).download_as_text()


# --------------------------------------------------------------- Cloud Build
@api_call("start the build of {image}")
def create_build(client, parent, build, image):  # pylint: disable=unused-argument
    # Not retried here: a 503 after Cloud Build accepted it would start a second build. The caller
    # looks for a build of the same source tag before it tries again (_build.start_build).
    return client.create_build(request={"parent": parent, "build": build}, retry=None)


@api_call("read build {name}")
def get_build(client, name):
    return client.get_build(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("list the builds tagged {tag}")
def list_builds(client, parent, tag):
    return list(client.list_builds(request={"parent": parent, "filter": f'tags="{tag}"'}, retry=api_retry(), timeout=REQUEST_TIMEOUT))


# ------------------------------------------------------------- Service Usage
@api_call("read which APIs are enabled in {parent}")
def get_api_states(client, parent, names):
    """{API name: ENABLED or DISABLED} for ``names`` (30 at most, one request)."""
    response = client.batch_get_services(
        request={"parent": parent, "names": [f"{parent}/services/{name}" for name in names]}, retry=api_retry(), timeout=REQUEST_TIMEOUT)
    return {service.name.rsplit("/", 1)[-1]: service.state.name for service in response.services}


@api_call("enable {names} in {parent}")
def enable_apis(client, parent, names):
    # Enabling an enabled API changes nothing, so a retry after a lost answer is harmless.
    return client.batch_enable_services(request={"parent": parent, "service_ids": names}, retry=api_retry(), timeout=REQUEST_TIMEOUT)


# --------------------------------------------------------- Artifact Registry
@api_call("read the Artifact Registry repository {name}", not_found=None)
def get_repository(client, name):
    return client.get_repository(name=name, retry=api_retry(), timeout=REQUEST_TIMEOUT)


@api_call("create the Artifact Registry repository {repository_id} in {parent}")
def create_repository(client, parent, repository_id, labels=None):
    # Not retried blindly: after a lost answer the caller reads the repository first (409 means made).
    repository = {"format_": "DOCKER", "labels": labels or {}}
    return client.create_repository(request={"parent": parent, "repository_id": repository_id,
                                             "repository": repository}, retry=None)


# ------------------------------------------------------------------ registry
MANIFEST_TYPES = ", ".join((
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
))


def _challenge(header):
    """The parameters of a ``WWW-Authenticate: Bearer realm="...",service="...",scope="..."`` challenge."""
    scheme, _sep, rest = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return {}
    return dict(re.findall(r'(\w+)="([^"]*)"', rest))


def _local(host):
    """Docker's own rule: a registry on this machine may be plain http."""
    name = urlsplit(f"//{host}").hostname or ""
    return name == "localhost" or name.startswith("127.")


def _anonymous_token(challenge, timeout):
    """A registry's anonymous pull token from its token service (the Docker registry token flow), or None.

    Nothing of the deployer's is sent: no Google token, no credentials, only what the challenge named.
    """
    realm = challenge.get("realm", "")
    parts = urlsplit(realm)
    if parts.scheme != "https" and not (parts.scheme == "http" and _local(parts.netloc)):
        return None  # a realm that is not https could hand a token to anyone on the way
    params = {k: v for k, v in challenge.items() if k in ("service", "scope")}
    try:
        with requests.Session() as anonymous:
            answer = anonymous.get(realm, params=params, timeout=timeout)
        if answer.status_code != 200:
            return None
        body = answer.json()
    except (requests.RequestException, ValueError):
        return None
    return body.get("token") or body.get("access_token")


def run_regions(session, endpoint, project, timeout=30):
    """Cloud Run's regions for ``project`` (Admin API v1 ``projects.locations.list``; v2 has no such method), or
    None when they cannot be read: a best-effort check, never a reason to fail by itself."""
    try:
        response = session.get(f"{endpoint}/v1/projects/{project}/locations", params={"pageSize": 1000},
                               timeout=timeout)
        if response.status_code != 200:
            return None
        return {location.get("locationId") for location in response.json().get("locations", [])}
    except (requests.RequestException, ValueError, google.auth.exceptions.GoogleAuthError):
        return None


def refuse_unknown_region(module):
    """Before a create of a service or a job: a region Cloud Run does not have, whose API answers "not found"
    there as for a missing resource, refused with the regions it has."""
    regions = run_regions(module.session(), module.run_endpoint, module.project)
    if regions and module.region not in regions:
        raise CloudRunError(f"region: '{module.region}' is not a Cloud Run region of project {module.project} (it "
                            f"has {len(regions)}, such as {', '.join(sorted(regions)[:4])}). Nothing was written.")


def image_digest(session, image, emulator=None, timeout=30):
    """The ``sha256:`` digest ``image`` points at now (registry v2 manifest HEAD), or None if it does not exist.

    ``session`` signs requests with the deployer's Google token, and is used only for Google's
    registries (Artifact Registry, gcr.io) and the emulator, which stands for every registry. Any
    other registry (Docker Hub, a GHCR, a registry on localhost) is asked without credentials and
    gets, when it challenges, its own anonymous token from its own token service.
    """
    host, repo, tag, digest = split_image(image)
    if digest:
        return digest
    signed = bool(emulator) or google_registry(host)
    if emulator:
        url = f"{emulator}/v2/{host}/{repo}/manifests/{tag or 'latest'}"
    else:
        url = f"{'http' if _local(host) else 'https'}://{host}/v2/{repo}/manifests/{tag or 'latest'}"
    headers = {"Accept": MANIFEST_TYPES}
    client = session if signed else requests.Session()
    try:
        response = client.head(url, headers=headers, timeout=timeout)
        if response.status_code == 401 and not signed:
            token = _anonymous_token(_challenge(response.headers.get("WWW-Authenticate")), timeout)
            if token:
                response = client.head(url, headers=dict(headers, Authorization=f"Bearer {token}"), timeout=timeout)
    except (requests.RequestException, google.auth.exceptions.GoogleAuthError) as exc:
        raise CloudRunError(f"Failed to look up image {image} in its registry: {exc}") from exc
    finally:
        if not signed:
            client.close()
    if response.status_code == 404:
        return None
    if response.status_code != 200 or not response.headers.get("Docker-Content-Digest"):
        raise CloudRunError(f"Failed to look up image {image} in its registry: HTTP {response.status_code} from {url}")
    return response.headers["Docker-Content-Digest"]
