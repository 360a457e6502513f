"""A private service checks its caller's ID token: keys from IAM, tokens from the token endpoint, google-auth's flow."""

import base64
import json
import urllib.error
import urllib.request

import google.auth.transport.requests
from google.iam.v1 import policy_pb2
from google.oauth2 import service_account

from conftest import echo_service

PROJECT = "demo-project"


def key_file(emulator, account, tmp_path):
    """A key of ``account`` as IAM's keys.create answers it, written to a file as a person would save it."""
    request = urllib.request.Request(
        f"{emulator.endpoint}/v1/projects/{PROJECT}/serviceAccounts/{account}/keys",
        json.dumps({"privateKeyType": "TYPE_GOOGLE_CREDENTIALS_FILE"}).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        created = json.loads(answer.read())
    assert created["name"].startswith(f"projects/{PROJECT}/serviceAccounts/{account}/keys/")
    path = tmp_path / f"{account.split('@')[0]}.json"
    path.write_bytes(base64.b64decode(created["privateKeyData"]))
    return str(path)


def id_token(path, audience):
    credentials = service_account.IDTokenCredentials.from_service_account_file(path, target_audience=audience)
    credentials.refresh(google.auth.transport.requests.Request())
    return credentials.token


def status(url, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_only_an_invoker_s_id_token_for_the_service_s_url_gets_through(emulator, services, service_id, tmp_path):
    service = services.create_service(parent=f"projects/{PROJECT}/locations/europe-west1", service=echo_service(),
                                      service_id=service_id).result(timeout=60)
    invoker, other = "caller@demo-project.iam.gserviceaccount.com", "other@demo-project.iam.gserviceaccount.com"
    policy = policy_pb2.Policy(bindings=[policy_pb2.Binding(role="roles/run.invoker",
                                                            members=[f"serviceAccount:{invoker}"])])
    services.set_iam_policy(request={"resource": service.name, "policy": policy})
    allowed, refused = key_file(emulator, invoker, tmp_path), key_file(emulator, other, tmp_path)

    assert status(service.uri, id_token(allowed, service.uri)) == 200
    assert status(service.uri, id_token(refused, service.uri)) == 403  # a valid token, not an invoker
    assert status(service.uri) == 403  # no token
    assert status(service.uri, id_token(allowed, "https://elsewhere.example")) == 401  # for another audience
    assert status(service.uri, "not-a-jwt") == 401
    assert status(service.uri, "emulator-id-token") == 200  # the project owner


def test_the_token_endpoint_refuses_an_assertion_from_an_unknown_key(emulator, tmp_path):
    path = key_file(emulator, "real@demo-project.iam.gserviceaccount.com", tmp_path)
    info = json.loads(open(path, encoding="utf-8").read())
    info["private_key_id"] = "not-a-key-of-this-emulator"
    credentials = service_account.IDTokenCredentials.from_service_account_info(info, target_audience="http://x")
    try:
        credentials.refresh(google.auth.transport.requests.Request())
    except google.auth.exceptions.RefreshError as exc:
        assert "the key that signed it is unknown" in str(exc)
    else:
        raise AssertionError("an unknown key got a token")
