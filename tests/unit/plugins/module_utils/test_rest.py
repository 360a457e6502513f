"""The REST reads of cloudrun_preflight's compare (module_utils/_rest.py), against a local HTTP server."""

from __future__ import annotations

import base64
import http.server
import json
import threading

import requests

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api
from ansible_collections.nadle.cloudrun.plugins.module_utils._rest import Reader

SERVICE = "projects/p/locations/europe-west1/services/api"


def _serve(answers):
    """A server that answers each path from ``answers`` ({path: [(status, body), ...]}, one per request)."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass

        def do_GET(self):  # pylint: disable=invalid-name
            missing = [(404, {"error": {"code": 404, "message": "nope", "status": "NOT_FOUND"}})]
            queue = answers.get(self.path.split("?")[0]) or missing
            status, body = queue.pop(0) if len(queue) > 1 else queue[0]
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def test_reads_answer_as_the_clients_do_and_errors_translate_as_theirs():
    secret = "projects/p/secrets/api_TOKEN"
    server, endpoint = _serve({
        f"/v2/{SERVICE}": [(503, {"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}),
                           (200, {"name": SERVICE, "generation": "3"})],
        f"/v2/{SERVICE}:getIamPolicy": [(200, {"etag": "QUJD", "bindings": [
            {"role": "roles/run.invoker", "members": ["allUsers"]}]})],
        f"/v1/{secret}/versions/latest:access": [(200, {"name": "projects/123/secrets/api_TOKEN/versions/4",
                                                        "payload": {"data": base64.b64encode(b"s3cret").decode()}})],
        f"/v1/{secret}": [(200, {"name": secret, "labels": {"cloud-run-service": "api"}})],
    })
    try:
        with requests.Session() as session:
            services, secrets = Reader("services", session, endpoint), Reader("secrets", session, endpoint)
            # A 503 is retried with api_core's backoff, then the Service is the API's JSON.
            assert _api.to_dict(_api.get_service(services, name=SERVICE)) == {"name": SERVICE, "generation": "3"}
            assert _api.get_service(services, name=SERVICE + "-gone") is None  # 404 is an answer
            policy = _api.get_iam_policy(services, resource=SERVICE)
            assert [(b.role, list(b.members)) for b in policy.bindings] == [("roles/run.invoker", ["allUsers"])]
            latest = _api.access_latest_version(secrets, name=secrets.secret_path("p", "api_TOKEN"))
            assert latest.payload.data == b"s3cret" and latest.name.endswith("/versions/4")
            assert _api.get_secret(secrets, name=secret).labels == {"cloud-run-service": "api"}
    finally:
        server.shutdown()
        server.server_close()
