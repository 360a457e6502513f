"""The HTTP front end: Google's REST paths for Cloud Run v2, plus /_emulator/ admin endpoints."""

import collections
import http.server
import json
import re
import socketserver
import threading
import traceback
import urllib.parse

from emulator import images
from emulator.errors import ApiError

P = r"(?P<parent>projects/[^/]+/locations/[^/]+)"
S = P + r"/services/(?P<service>[^/:]+)"
ROUTES = [
    # (HTTP method, path regex, RPC name, writes, handler attribute)
    ("GET", rf"^/v2/{P}/services$", "ListServices", False, "list_services"),
    ("POST", rf"^/v2/{P}/services$", "CreateService", True, "create_service"),
    ("GET", rf"^/v2/{S}$", "GetService", False, "get_service"),
    ("PATCH", rf"^/v2/{S}$", "UpdateService", True, "update_service"),
    ("DELETE", rf"^/v2/{S}$", "DeleteService", True, "delete_service"),
    ("GET", rf"^/v2/{S}:getIamPolicy$", "GetIamPolicy", False, "get_iam_policy"),
    ("POST", rf"^/v2/{S}:setIamPolicy$", "SetIamPolicy", True, "set_iam_policy"),
    ("POST", rf"^/v2/{S}:testIamPermissions$", "TestIamPermissions", False, "test_iam_permissions"),
    ("GET", rf"^/v2/{S}/revisions$", "ListRevisions", False, "list_revisions"),
    ("GET", rf"^/v2/{S}/revisions/(?P<revision>[^/:]+)$", "GetRevision", False, "get_revision"),
    ("DELETE", rf"^/v2/{S}/revisions/(?P<revision>[^/:]+)$", "DeleteRevision", True, "delete_revision"),
    ("GET", rf"^/v2/{P}/operations$", "ListOperations", False, "list_operations"),
    ("GET", rf"^/v2/{P}/operations/(?P<operation>[^/:]+)$", "GetOperation", False, "get_operation"),
    ("POST", rf"^/v2/{P}/operations/(?P<operation>[^/:]+):wait$", "WaitOperation", False, "wait_operation"),
    ("DELETE", rf"^/v2/{P}/operations/(?P<operation>[^/:]+)$", "DeleteOperation", True, "delete_operation"),
]
ROUTES.append(("POST", r"^/v2/entries:list$", "ListLogEntries", False, "list_log_entries"))
COMPILED = [(m, re.compile(p), rpc, w, h) for m, p, rpc, w, h in ROUTES]


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

    def __init__(self, cloudrun, faults, store):
        self.cloudrun = cloudrun
        self.faults = faults
        self.store = store
        self.counter = RequestCounter()

    def handle(self, method, raw_path, body):
        """Returns (HTTP status, JSON-able body)."""
        parsed = urllib.parse.urlsplit(raw_path)
        path = urllib.parse.unquote(parsed.path)
        # The client appends "$alt=json;enum-encoding=int" to every RPC.
        query = urllib.parse.parse_qs(parsed.query.replace(";", "&"), keep_blank_values=True)
        int_enums = query.get("enum-encoding", [""])[0] == "int"
        if path.startswith("/_emulator/"):
            return self.admin(method, path, query, body)
        for route_method, regex, rpc, writes, handler in COMPILED:
            match = regex.match(path)
            if match and route_method == method:
                dry_run = query.get("validateOnly", ["false"])[0] == "true"
                self.counter.add(method, rpc, writes and not dry_run)
                self.faults.before_request(method, rpc)
                return 200, self.call(handler, match.groupdict(), query, body, int_enums)
        raise ApiError(404, f"The requested URL {parsed.path} was not found on this server.", "NOT_FOUND")

    def call(self, handler, groups, query, body, int_enums):  # pylint: disable=too-many-return-statements
        parent = groups.get("parent")
        service = f"{parent}/services/{groups['service']}" if groups.get("service") else None
        run = self.cloudrun
        if handler == "list_log_entries":
            return run.list_log_entries(body)
        if handler == "list_services":
            return run.list_services(parent, query, int_enums)
        if handler == "create_service":
            return run.create_service(parent, query, body)
        if handler == "get_service":
            return run.get_service(service, int_enums)
        if handler == "update_service":
            return run.update_service(service, query, body)
        if handler == "delete_service":
            return run.delete_service(service, query)
        if handler in ("get_iam_policy",):
            return run.get_iam_policy(service)
        if handler in ("set_iam_policy", "test_iam_permissions"):
            return getattr(run, handler)(service, body)
        if handler == "list_revisions":
            return run.list_revisions(service, query, int_enums)
        if handler in ("get_revision", "delete_revision"):
            name = f"{service}/revisions/{groups['revision']}"
            return run.get_revision(name, int_enums) if handler == "get_revision" else run.delete_revision(name)
        if handler == "list_operations":
            return run.list_operations(parent, query)
        operation = f"{parent}/operations/{groups['operation']}"
        if handler == "wait_operation":
            return run.wait_operation(operation, body)
        if handler == "delete_operation":
            return run.delete_operation(operation)
        return run.get_operation(operation)

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
        if path.startswith("/_emulator/logs/"):
            revision = path[len("/_emulator/logs/"):]
            return 200, {"revision": revision, "lines": self.cloudrun.log_lines(revision)}
        raise ApiError(404, f"No emulator endpoint {path}.", "NOT_FOUND")


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(host, port, api, verbose=False):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            try:
                status, payload = api.handle(self.command, self.path, body)
            except ApiError as exc:
                status, payload = exc.http_status, exc.body()
            except Exception:  # pylint: disable=broad-except
                traceback.print_exc()
                status, payload = 500, ApiError(500, "Internal error encountered.").body()
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            if verbose:
                super().log_message(format, *args)

    return _Server((host, port), Handler)
