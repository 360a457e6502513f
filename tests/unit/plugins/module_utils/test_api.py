"""The API boundary (module_utils/_api.py): retry policy, error wording, conflicts, with the real api_core types."""

from __future__ import annotations

import http.server
import json
import threading

import google.auth.exceptions
import pytest
import requests
from google.api_core import exceptions

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError


@pytest.mark.parametrize("exc, retried", [
    (exceptions.TooManyRequests("slow down"), True),
    (exceptions.ServiceUnavailable("down"), True),
    (exceptions.InternalServerError("oops"), True),
    (exceptions.BadGateway("gw"), True),
    (exceptions.GatewayTimeout("late"), True),
    (exceptions.BadRequest("no"), False),
    (exceptions.NotFound("gone"), False),
    (exceptions.Conflict("race"), False),
    (exceptions.PermissionDenied("who"), False),
    (ValueError("not an API error"), False),
    # A network blip: refused, reset or dropped connections are retried like a 503 ...
    (requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected(...))"), True),
    (requests.exceptions.ConnectTimeout("connect timed out"), True),
    # ... but not a read timeout: the server may have acted on the request.
    (requests.exceptions.ReadTimeout("read timed out"), False),
    # Issue 27: the token endpoint unreachable while refreshing: the request was not sent yet.
    (google.auth.exceptions.TransportError("token endpoint: connection reset"), True),
    (google.auth.exceptions.RefreshError("invalid_grant: Token has been expired or revoked."), False),
])
def test_only_transient_errors_are_retried(exc, retried):
    assert _api.transient(exc) is retried


def test_retry_backs_off_with_a_cap_and_gives_up_at_the_deadline(monkeypatch):
    sleeps = []
    clock = [0.0]

    def fake_sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr("time.sleep", fake_sleep)
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    calls = []

    def always_unavailable():
        calls.append(1)
        raise exceptions.ServiceUnavailable("The service is currently unavailable.")

    with pytest.raises(exceptions.RetryError):
        _api.api_retry(deadline=60)(always_unavailable)()
    assert len(calls) > 3 and max(sleeps) <= 16.0 and sum(sleeps) <= 60.0


SENT = {"template": {"containers": [{"image": "img"}]}}


def test_api_call_turns_errors_into_one_message_and_not_found_into_none():
    class Client:
        def get_service(self, name, retry, timeout):
            raise exceptions.NotFound(f'service "{name}" not found')

        def update_service(self, request, retry, timeout):
            raise exceptions.BadRequest(
                "Violation in UpdateServiceRequest.service.template.timeout: maximum allowed time is one hour.",
                details=[{"fieldViolations": [{"field": "service.template.scaling", "description": "too big"}]}])

    assert _api.get_service(Client(), name="projects/p/locations/r/services/s") is None
    with pytest.raises(CloudRunError) as err:
        _api.update_service(Client(), name="projects/p/locations/r/services/s", service=SENT)
    assert err.value.msg.startswith("Failed to update service projects/p/locations/r/services/s: 400 Violation")
    assert "maximum allowed time is one hour." in err.value.msg
    assert "- service.template.scaling: too big" in err.value.msg
    assert err.value.details["api_status"] == 400
    assert SENT == {"template": {"containers": [{"image": "img"}]}}  # sent under the name, not changed


class _Response:
    def __init__(self, status):
        self.status = status

    def json(self):
        return {"error": {"code": 409, "status": self.status, "message": "m"}}


@pytest.mark.parametrize("status, raced", [("ABORTED", True), ("ALREADY_EXISTS", False)])
def test_a_conflict_is_an_aborted_409_not_an_existing_revision_name(status, raced):
    """AIP-154: an etag that no longer matches is ABORTED; "Revision named ... already exists" is not a race."""
    class Client:
        def update_service(self, request, retry, timeout):
            raise exceptions.Conflict("conflict", response=_Response(status))

    with pytest.raises(CloudRunError) as err:
        _api.update_service(Client(), name="projects/p/locations/r/services/s", service={"template": {"containers": []}})
    assert err.value.details["api_reason"] == status
    assert _api.conflict(err.value) is raced


NEWER_SERVICE = json.dumps({
    "name": "projects/p/locations/r/services/s", "etag": '"e"',
    "template": {"containers": [{"image": "gcr.io/p/i"}], "aFieldFromNextYear": {"enabled": True}},
})


def test_a_field_the_client_does_not_know_is_found():
    assert _api.fields_unknown_to_client(json.dumps({"name": "x", "template": {"containers": []}})) is None
    problem = _api.fields_unknown_to_client(NEWER_SERVICE)
    assert "aFieldFromNextYear" in problem


def test_a_write_over_a_field_the_client_does_not_know_is_refused():
    """The REST transport drops unknown fields on read; a full-replace write would reset them."""
    class Session:  # the raw read, at the edge
        def get(self, url, timeout):
            assert url == "http://127.0.0.1:9/v2/projects/p/locations/r/services/s" and timeout
            return type("Response", (), {"status_code": 200, "text": NEWER_SERVICE})()

    with pytest.raises(CloudRunError) as err:
        _api.check_client_knows(Session(), "http://127.0.0.1:9", "projects/p/locations/r/services/s")
    assert "aFieldFromNextYear" in err.value.msg and "pip install --upgrade google-cloud-run" in err.value.msg
    assert err.value.msg.startswith("Nothing was written")


@pytest.mark.parametrize("details, lost", [
    ({"api_status": 503}, True), ({"api_status": 500}, True), ({"unreachable": True}, True),
    ({"api_status": 409}, False), ({"api_status": 400}, False), ({}, False),
])
def test_which_failed_writes_may_have_landed(details, lost):
    assert _api.lost_answer(CloudRunError("x", **details)) is lost


class FakeRegistry:
    """A registry on 127.0.0.1 that wants its own anonymous token, as Docker Hub does; records every request."""

    DIGEST = "sha256:" + "ab" * 32

    def __init__(self):
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

            def _answer(self, status, headers=(), body=b""):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):  # the token service
                seen.append((self.command, self.path, self.headers.get("Authorization")))
                self._answer(200, [("Content-Type", "application/json")], json.dumps({"token": "anon-pull"}).encode())

            def do_HEAD(self):  # the manifest
                seen.append((self.command, self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer anon-pull":
                    realm = f"http://127.0.0.1:{self.server.server_port}/token"
                    challenge = f'Bearer realm="{realm}",service="fake",scope="repository:team/app:pull"'
                    return self._answer(401, [("WWW-Authenticate", challenge)])
                if self.path.endswith("/missing"):
                    return self._answer(404)
                return self._answer(200, [("Docker-Content-Digest", FakeRegistry.DIGEST)])

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_registry_that_is_not_googles_never_sees_the_google_token():
    """Issue 12: the deployer's OAuth token goes only to Google's registries; others get their own anonymous token."""
    from google.auth.transport.requests import AuthorizedSession  # pylint: disable=import-outside-toplevel
    from google.oauth2.credentials import Credentials  # pylint: disable=import-outside-toplevel
    registry = FakeRegistry()
    try:
        signed = AuthorizedSession(Credentials(token="google-oauth-token"))  # what module.session() gives
        assert _api.image_digest(signed, f"{registry.host}/team/app:v1") == FakeRegistry.DIGEST
        assert _api.image_digest(signed, f"{registry.host}/team/app:missing") is None
    finally:
        registry.close()
    assert registry.seen[:3] == [
        ("HEAD", "/v2/team/app/manifests/v1", None),
        ("GET", "/token?service=fake&scope=repository%3Ateam%2Fapp%3Apull", None),
        ("HEAD", "/v2/team/app/manifests/v1", "Bearer anon-pull"),
    ]
    assert not [s for s in registry.seen if "google-oauth-token" in (s[2] or "")]


@pytest.mark.parametrize("exc, says", [
    (google.auth.exceptions.RefreshError("invalid_grant: Token has been expired or revoked."),
     "the Google credentials could not be refreshed (invalid_grant: Token has been expired or revoked.). A user's "
     "login (gcloud auth application-default login) may have expired"),
    (google.auth.exceptions.TransportError("connection reset"),
     "the token endpoint could not be reached to refresh the Google credentials (connection reset); nothing was sent"),
])
def test_credential_failures_are_messages_not_tracebacks_and_never_a_lost_answer(exc, says):
    """Issue 27: a refresh error or a blip at the token endpoint escaped api_call as a raw MODULE FAILURE."""
    @_api.api_call("get service {name}")
    def call(_client, name):
        raise exc
    with pytest.raises(CloudRunError) as err:
        call(None, name="svc")
    assert err.value.msg.startswith("Failed to get service svc: ") and says in err.value.msg
    assert not _api.lost_answer(err.value)
