"""The HTTP front end: Google's REST paths for Cloud Run v2, plus /_emulator/ admin endpoints."""

import collections
import http.server
import ipaddress
import json
import re
import socket
import socketserver
import threading
import traceback
import urllib.parse

from emulator import images
from emulator.errors import ApiError
from emulator.wire import Raw

P = r"(?P<parent>projects/[^/]+/locations/[^/]+)"
S = P + r"/services/(?P<service>[^/:]+)"
J = P + r"/jobs/(?P<job>[^/:]+)"
E = J + r"/executions/(?P<execution>[^/:]+)"
SECRET = r"(?P<secret>projects/[^/]+/secrets/[^/:]+)"
VERSION = SECRET + r"/versions/(?P<version>[^/:]+)"


BUILDS = r"(?P<parent>projects/[^/]+/locations/[^/]+)"
PROJECT = r"projects/(?P<project>[^/:]+)"
PROJECT_IN_PATH = re.compile(r"/projects/([^/:]+)")
LOCATION_IN_PATH = re.compile(r"/projects/[^/:]+/locations/([^/:]+)")
# Cloud Run's regions, services and jobs alike (cloud.google.com/run/docs/locations, tier 1 then tier 2).
RUN_REGIONS = (
    "asia-east1", "asia-northeast1", "asia-northeast2", "europe-north1", "europe-southwest1", "europe-west1",
    "europe-west4", "europe-west8", "europe-west9", "me-west1", "us-central1", "us-east1", "us-east4", "us-east5",
    "us-south1", "us-west1",
    "africa-south1", "asia-east2", "asia-northeast3", "asia-southeast1", "asia-southeast2", "asia-south1",
    "asia-south2", "australia-southeast1", "australia-southeast2", "europe-central2", "europe-west10",
    "europe-west12", "europe-west2", "europe-west3", "europe-west6", "me-central1", "me-central2",
    "northamerica-northeast1", "northamerica-northeast2", "southamerica-east1", "southamerica-west1", "us-west2",
    "us-west3", "us-west4",
)


def _routes(run, secrets, builds, storage, project, headers):
    """(HTTP method, path regex, RPC name, can write, handler(groups, query, body, int_enums), the API it is of)."""
    def service(g):
        return f"{g['parent']}/services/{g['service']}"

    def revision(g):
        return f"{service(g)}/revisions/{g['revision']}"

    def operation(g):
        return f"{g['parent']}/operations/{g['operation']}"

    def job(g):
        return f"{g['parent']}/jobs/{g['job']}"

    def execution(g):
        return f"{job(g)}/executions/{g['execution']}"

    def version(g):
        return f"{g['secret']}/versions/{g['version']}"

    run_rows = [
        ("GET", rf"^/v2/{P}/services$", "ListServices", False, lambda g, q, b, i: run.list_services(g["parent"], q, i)),
        ("POST", rf"^/v2/{P}/services$", "CreateService", True, lambda g, q, b, i: run.create_service(g["parent"], q, b)),
        ("GET", rf"^/v2/{S}$", "GetService", False, lambda g, q, b, i: run.get_service(service(g), i)),
        ("PATCH", rf"^/v2/{S}$", "UpdateService", True, lambda g, q, b, i: run.update_service(service(g), q, b)),
        ("DELETE", rf"^/v2/{S}$", "DeleteService", True, lambda g, q, b, i: run.delete_service(service(g), q)),
        ("GET", rf"^/v2/{S}:getIamPolicy$", "GetIamPolicy", False, lambda g, q, b, i: run.get_iam_policy(service(g), q)),
        ("POST", rf"^/v2/{S}:setIamPolicy$", "SetIamPolicy", True,
         lambda g, q, b, i: run.set_iam_policy(service(g), b)),
        ("POST", rf"^/v2/{S}:testIamPermissions$", "TestIamPermissions", False,
         lambda g, q, b, i: run.test_iam_permissions(service(g), b)),
        ("GET", rf"^/v2/{S}/revisions$", "ListRevisions", False,
         lambda g, q, b, i: run.list_revisions(service(g), q, i)),
        ("GET", rf"^/v2/{S}/revisions/(?P<revision>[^/:]+)$", "GetRevision", False,
         lambda g, q, b, i: run.get_revision(revision(g), i)),
        ("DELETE", rf"^/v2/{S}/revisions/(?P<revision>[^/:]+)$", "DeleteRevision", True,
         lambda g, q, b, i: run.delete_revision(revision(g))),
        # Jobs, their executions and tasks (emulator/jobs.py).
        ("GET", rf"^/v2/{P}/jobs$", "ListJobs", False, lambda g, q, b, i: run.jobs.list_jobs(g["parent"], q, i)),
        ("POST", rf"^/v2/{P}/jobs$", "CreateJob", True, lambda g, q, b, i: run.jobs.create_job(g["parent"], q, b)),
        ("GET", rf"^/v2/{J}$", "GetJob", False, lambda g, q, b, i: run.jobs.get_job(job(g), i)),
        ("PATCH", rf"^/v2/{J}$", "UpdateJob", True, lambda g, q, b, i: run.jobs.update_job(job(g), q, b)),
        ("DELETE", rf"^/v2/{J}$", "DeleteJob", True, lambda g, q, b, i: run.jobs.delete_job(job(g), q)),
        ("POST", rf"^/v2/{J}:run$", "RunJob", True, lambda g, q, b, i: run.jobs.run_job(job(g), b)),
        ("GET", rf"^/v2/{J}/executions$", "ListExecutions", False,
         lambda g, q, b, i: run.jobs.list_executions(job(g), q, i)),
        ("GET", rf"^/v2/{E}$", "GetExecution", False, lambda g, q, b, i: run.jobs.get_execution(execution(g), i)),
        ("POST", rf"^/v2/{E}:cancel$", "CancelExecution", True,
         lambda g, q, b, i: run.jobs.cancel_execution(execution(g))),
        ("GET", rf"^/v2/{E}/tasks$", "ListTasks", False, lambda g, q, b, i: run.jobs.list_tasks(execution(g), q, i)),
        ("GET", rf"^/v2/{E}/tasks/(?P<task>[^/:]+)$", "GetTask", False,
         lambda g, q, b, i: run.jobs.get_task(f"{execution(g)}/tasks/{g['task']}", i)),
        ("GET", rf"^/v2/{P}/operations$", "ListOperations", False,
         lambda g, q, b, i: run.list_operations(g["parent"], q)),
        ("GET", rf"^/v2/{P}/operations/(?P<operation>[^/:]+)$", "GetOperation", False,
         lambda g, q, b, i: run.get_operation(operation(g))),
        ("POST", rf"^/v2/{P}/operations/(?P<operation>[^/:]+):wait$", "WaitOperation", False,
         lambda g, q, b, i: run.wait_operation(operation(g), b)),
        ("DELETE", rf"^/v2/{P}/operations/(?P<operation>[^/:]+)$", "DeleteOperation", True,
         lambda g, q, b, i: run.delete_operation(operation(g))),
    ]
    # Cloud Logging: the revision logs a failed rollout reports.
    logging_rows = [
        ("POST", r"^/v2/entries:list$", "ListLogEntries", False, lambda g, q, b, i: run.list_log_entries(b)),
    ]
    # Secret Manager v1.
    secret_rows = [
        ("POST", r"^/v1/projects/(?P<project>[^/]+)/secrets$", "CreateSecret", True,
         lambda g, q, b, i: secrets.create_secret(g["project"], q, b)),
        ("GET", rf"^/v1/{SECRET}$", "GetSecret", False, lambda g, q, b, i: secrets.get_secret(g["secret"])),
        ("GET", rf"^/v1/{SECRET}:getIamPolicy$", "GetSecretIamPolicy", False,
         lambda g, q, b, i: secrets.get_iam_policy(g["secret"], q)),
        ("POST", rf"^/v1/{SECRET}:setIamPolicy$", "SetSecretIamPolicy", True,
         lambda g, q, b, i: secrets.set_iam_policy(g["secret"], b)),
        ("POST", rf"^/v1/{SECRET}:addVersion$", "AddSecretVersion", True,
         lambda g, q, b, i: secrets.add_version(g["secret"], b)),
        ("GET", rf"^/v1/{SECRET}/versions$", "ListSecretVersions", False,
         lambda g, q, b, i: secrets.list_versions(g["secret"], q)),
        ("GET", rf"^/v1/{VERSION}$", "GetSecretVersion", False, lambda g, q, b, i: secrets.get_version(version(g))),
        ("GET", rf"^/v1/{VERSION}:access$", "AccessSecretVersion", False,
         lambda g, q, b, i: secrets.access_version(version(g))),
        ("POST", rf"^/v1/{VERSION}:disable$", "DisableSecretVersion", True,
         lambda g, q, b, i: secrets.set_state(version(g), "DISABLED")),
        ("POST", rf"^/v1/{VERSION}:enable$", "EnableSecretVersion", True,
         lambda g, q, b, i: secrets.set_state(version(g), "ENABLED")),
    ]
    # Cloud Build v1 (regional, and global as location "global").
    build_rows = [
        ("POST", rf"^/v1/{BUILDS}/builds$", "CreateBuild", True, lambda g, q, b, i: builds.create_build(g["parent"], b)),
        ("POST", r"^/v1/projects/(?P<project>[^/]+)/builds$", "CreateBuild", True,
         lambda g, q, b, i: builds.create_build(f"projects/{g['project']}/locations/global", b)),
        ("GET", rf"^/v1/{BUILDS}/builds$", "ListBuilds", False,
         lambda g, q, b, i: builds.list_builds(g["parent"], q)),
        ("GET", rf"^/v1/{BUILDS}/builds/(?P<build>[^/:]+)$", "GetBuild", False,
         lambda g, q, b, i: builds.get_build(f"{g['parent']}/builds/{g['build']}")),
        ("GET", r"^/v1/projects/(?P<project>[^/]+)/builds/(?P<build>[^/:]+)$", "GetBuild", False,
         lambda g, q, b, i: builds.get_build(f"projects/{g['project']}/locations/global/builds/{g['build']}")),
    ]
    # Cloud Storage JSON API: what a source upload and a log read need.
    storage_rows = [
        ("GET", r"^/storage/v1/b$", "ListBuckets", False, lambda g, q, b, i: storage.list_buckets(q)),
        ("GET", r"^/storage/v1/b/(?P<bucket>[^/]+)$", "GetBucket", False,
         lambda g, q, b, i: storage.get_bucket(g["bucket"])),
        ("POST", r"^/storage/v1/b$", "CreateBucket", True, lambda g, q, b, i: storage.create_bucket(q, b)),
        ("POST", r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$", "UploadObject", True,
         lambda g, q, b, i: storage.upload(g["bucket"], q, b, headers())),
        ("PUT", r"^/upload/storage/v1/b/(?P<bucket>[^/]+)/o$", "UploadObjectChunk", True,
         lambda g, q, b, i: storage.upload_chunk(g["bucket"], q, b, headers())),
        ("GET", r"^/download/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$", "DownloadObject", False,
         lambda g, q, b, i: storage.download(g["bucket"], g["object"], headers())),
        ("GET", r"^/storage/v1/b/(?P<bucket>[^/]+)/o/(?P<object>.+)$", "GetObject", False,
         lambda g, q, b, i: (storage.download(g["bucket"], g["object"], headers()) if q.get("alt") == ["media"]
                             else storage.get_object(g["bucket"], g["object"]))),
    ]
    # Service Usage v1: which APIs a project has on; never itself disabled.
    usage_rows = [
        ("GET", rf"^/v1/{PROJECT}/services/(?P<api>[^/:]+)$", "GetApi", False,
         lambda g, q, b, i: project.get_service(g["project"], g["api"])),
        ("GET", rf"^/v1/{PROJECT}/services:batchGet$", "BatchGetApis", False,
         lambda g, q, b, i: project.batch_get(g["project"], q)),
        ("GET", rf"^/v1/{PROJECT}/services$", "ListApis", False,
         lambda g, q, b, i: project.list_services(g["project"], q)),
        ("POST", rf"^/v1/{PROJECT}/services:batchEnable$", "BatchEnableApis", True,
         lambda g, q, b, i: project.batch_enable(g["project"], b)),
        ("POST", rf"^/v1/{PROJECT}/services/(?P<api>[^/:]+):enable$", "EnableApi", True,
         lambda g, q, b, i: project.enable(g["project"], g["api"])),
        ("GET", r"^/v1/(?P<operation>operations/[^/]+)$", "GetApiOperation", False,
         lambda g, q, b, i: project.get_operation(g["operation"])),
    ]
    # Artifact Registry v1: the repository a pushed image goes to.
    registry_rows = [
        ("GET", rf"^/v1/{BUILDS}/repositories/(?P<repository>[^/:]+)$", "GetRepository", False,
         lambda g, q, b, i: project.get_repository(f"{g['parent']}/repositories/{g['repository']}")),
        ("POST", rf"^/v1/{BUILDS}/repositories$", "CreateRepository", True,
         lambda g, q, b, i: project.create_repository(g["parent"], q, b)),
    ]
    # One path for the operations of Cloud Build and Artifact Registry (one host here, two on Google).
    shared_rows = [
        ("GET", rf"^/v1/{BUILDS}/operations/(?P<operation>[^/:]+)$", "GetOperationV1", False,
         lambda g, q, b, i: (project.get_operation(f"{g['parent']}/operations/{g['operation']}")
                             if project.has_operation(f"{g['parent']}/operations/{g['operation']}")
                             else builds.operation_view(f"{g['parent']}/operations/{g['operation']}"))),
    ]
    # IAM: service account keys, and the OAuth 2.0 token endpoint their key files name (emulator/identity.py).
    identity_rows = [
        ("POST", rf"^/v1/{PROJECT}/serviceAccounts/(?P<account>[^/:]+)/keys$", "CreateServiceAccountKey", True,
         lambda g, q, b, i: run.identity.create_key(g["project"], g["account"])),
    ]
    token_rows = [("POST", r"^/token$", "Token", False, lambda g, q, b, i: run.identity.token(b))]
    # Cloud Run Admin API v1 projects.locations.list: where Cloud Run runs (v2 has no such method).
    run_rows.append(("GET", rf"^/v1/{PROJECT}/locations$", "ListLocations", False,
                     lambda g, q, b, i: {"locations": [{"name": f"projects/{g['project']}/locations/{region}",
                                                        "locationId": region} for region in RUN_REGIONS]}))
    groups = (("run.googleapis.com", run_rows), ("iam.googleapis.com", identity_rows), (None, token_rows), ("logging.googleapis.com", logging_rows),
              ("secretmanager.googleapis.com", secret_rows), ("cloudbuild.googleapis.com", build_rows),
              ("storage.googleapis.com", storage_rows), (None, usage_rows),
              ("artifactregistry.googleapis.com", registry_rows), (None, shared_rows))
    return [(m, re.compile(p), rpc, w, h, api) for api, rows in groups for m, p, rpc, w, h in rows]


MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<reference>[^/]+)$")


def registry_manifest(store, method, path):
    """Docker registry v2 ``HEAD|GET /v2/<host>/<repo>/manifests/<tag|digest>`` for registered images.

    One emulator stands for every registry, so the registry host is the first part of the path.
    """
    match = MANIFEST.match(path)
    if not match or method not in ("GET", "HEAD"):
        return None
    reference = match.group("reference")
    ref = f"{match.group('repo')}@{reference}" if ":" in reference else f"{match.group('repo')}:{reference}"
    entry = images.resolve(store, ref)
    if entry is None:
        unknown = {"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": reference}}
        return Raw(404, {"errors": [unknown]})
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}
    return Raw(200, manifest, [("Docker-Content-Digest", entry["digest"]),
                               ("Content-Type", manifest["mediaType"])])


class RequestCounter:
    """API requests seen, by HTTP method and by RPC: how tests prove that a re-run wrote nothing.

    ``writes`` counts requests that can change state; validateOnly requests are not among them.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.by_method = collections.Counter()
        self.by_rpc = collections.Counter()
        self.writes = 0

    def add(self, method, rpc, writes):
        with self.lock:
            self.by_method[method] += 1
            self.by_rpc[rpc] += 1
            self.writes += 1 if writes else 0

    def snapshot(self):
        with self.lock:
            return {"total": sum(self.by_method.values()), "writes": self.writes,
                    "by_method": dict(self.by_method), "by_rpc": dict(self.by_rpc)}

    def reset(self):
        with self.lock:
            self.by_method.clear()
            self.by_rpc.clear()
            self.writes = 0


class Api:
    """Dispatches one request to the Cloud Run layer and shapes the answer."""

    def __init__(self, cloudrun, secrets, builds, storage, faults, store, project):
        self.cloudrun = cloudrun
        self.faults = faults
        self.store = store
        self.project = project
        self.counter = RequestCounter()
        self.request = threading.local()  # the headers of the request this thread serves
        self.routes = _routes(cloudrun, secrets, builds, storage, project,
                              lambda: getattr(self.request, "headers", {}))

    def handle(self, method, raw_path, body, headers=None):
        """Returns (HTTP status, JSON-able body or Raw)."""
        self.request.headers = {k.lower(): v for k, v in (headers or {}).items()}
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        # The client appends "$alt=json;enum-encoding=int" to every RPC.
        query = urllib.parse.parse_qs(parsed.query.replace(";", "&"), keep_blank_values=True)
        int_enums = query.get("enum-encoding", [""])[0] == "int"
        if path.startswith("/_emulator/"):
            return self.admin(method, path, query, body)
        manifest = registry_manifest(self.store, method, path)
        if manifest is not None:
            self.counter.add(method, "RegistryManifest", False)
            return manifest.status, manifest
        for route_method, regex, rpc, writes, handler, api in self.routes:
            match = regex.match(path)
            if match and route_method == method:
                dry_run = query.get("validateOnly", ["false"])[0] == "true"
                self.counter.add(method, rpc, writes and not dry_run)
                in_project = PROJECT_IN_PATH.search(path)
                if in_project:
                    self.project.require(in_project.group(1), api)
                location = LOCATION_IN_PATH.search(path)
                if api == "run.googleapis.com" and location and location.group(1) not in RUN_REGIONS:
                    # Not in Cloud Run's locations: Google's exact words here are not recorded; a 404, as for a
                    # parent that does not exist, is what a client can tell.
                    raise ApiError(404, f"Location {location.group(1)} is not found or access is unauthorized.",
                                   "NOT_FOUND")
                self.faults.before_request(method, rpc)
                answer = handler(match.groupdict(), query, body, int_enums)
                if writes and not dry_run:
                    self.faults.after_write(method, rpc)
                return (answer.status, answer) if isinstance(answer, Raw) else (200, answer)
        raise ApiError(404, f"The requested URL {parsed.path} was not found on this server.", "NOT_FOUND")

    def admin(self, method, path, query, body):  # pylint: disable=too-many-return-statements
        """Test and demo helpers; never part of a Google API."""
        request = json.loads(body or b"{}")
        if path == "/_emulator/health":
            return 200, {"status": "ok"}
        if path == "/_emulator/faults":
            if method == "POST":
                return 200, self.faults.configure(request)
            if method == "DELETE":
                self.faults.reset()
            return 200, self.faults.current()
        if path == "/_emulator/requests":
            if method == "DELETE":
                self.counter.reset()
            return 200, self.counter.snapshot()
        if path == "/_emulator/images":
            if method == "POST":
                try:
                    return 200, images.register(self.store, request["ref"], request["dir"], request.get("digest"))
                except (KeyError, ValueError) as exc:
                    raise ApiError(400, f"Cannot register image: {exc}") from exc
            with self.store.lock:
                return 200, {"images": list(self.store.images.values())}
        if path == "/_emulator/project":
            if method == "POST":
                return 200, self.project.set_fresh(bool(request.get("fresh")))
            return 200, self.project.describe()
        if path == "/_emulator/operations":
            with self.store.lock:
                return 200, {"operations": [{"name": name, "done": bool(op.get("done")), "doneAt": op.get("_doneAt")}
                                            for name, op in sorted(self.store.operations.items())]}
        if path.startswith("/_emulator/logs/"):
            revision = path[len("/_emulator/logs/"):]
            return 200, {"revision": revision, "lines": self.cloudrun.log_lines(revision)}
        raise ApiError(404, f"No emulator endpoint {path}.", "NOT_FOUND")


# What a web page can send to another origin without asking first (a CORS "simple" request): these body
# types, with an Origin header. No Google client sends either, so the emulator refuses both; and a Host that
# is not an address or localhost (a DNS rebinding page). It answers no CORS preflight, so nothing else passes.
SIMPLE_BODY_TYPES = ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")


def browser_problem(headers, body, path):
    """Why a request looks like a web page's, or None. Checked on every API and admin request."""
    if headers.get("Origin"):
        return f"Requests from web pages (Origin: {headers['Origin']}) are refused by the emulator."
    host = (headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host and host != "localhost":
            return f"Host {host!r} is not this machine's address; the emulator answers 127.0.0.1 and localhost."
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    # OAuth 2.0's token endpoint takes a form body (RFC 6749, 4.1.3), as Google's does: it answers only a
    # signed assertion, so a page gains nothing there.
    if body and content_type in SIMPLE_BODY_TYPES and path != "/token":
        return f"A {content_type} body is what a web page's form sends; the APIs take JSON or uploads."
    return None


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host, port, api, verbose=False):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            if api.faults.in_outage() and not self.path.startswith("/_emulator/"):
                # A dropped connection, as in a network blip: the client sees it reset, with no answer.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                refused = browser_problem(self.headers, body, urllib.parse.urlsplit(self.path).path)
                if refused:
                    raise ApiError(403, refused, "PERMISSION_DENIED")
                status, payload = api.handle(self.command, self.path, body, dict(self.headers.items()))
            except ApiError as exc:
                status, payload = exc.http_status, exc.body()
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()
                status, payload = 500, ApiError(500, "Internal error encountered.").body()
            headers = [("Content-Type", "application/json; charset=UTF-8")]
            if isinstance(payload, Raw):
                if isinstance(payload.payload, bytes):
                    headers = [("Content-Type", "application/octet-stream")]
                headers = payload.headers or headers
                payload = payload.payload
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            if verbose:
                super().log_message(format, *args)

    return _Server((host, port), Handler)
