"""Auth options, endpoints and the libraries a module needs: real google-auth credentials, built offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from google.auth.credentials import AnonymousCredentials

from ansible_collections.nadle.cloudrun.plugins.module_utils import _base
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError


def _key_info():
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"type": "service_account", "project_id": "from-key", "private_key_id": "1", "private_key": pem,
            "client_email": "deployer@from-key.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"}


@pytest.fixture(name="no_emulator")
def fixture_no_emulator(monkeypatch):
    monkeypatch.delenv(_base.EMULATOR_ENV, raising=False)


@pytest.mark.parametrize("option, env, expected", [
    ("http://127.0.0.1:9000/", None, "http://127.0.0.1:9000"),
    (None, "127.0.0.1:9000", "http://127.0.0.1:9000"),
    (None, "http://localhost:9000", "http://localhost:9000"),
    ("europe-west1-run.googleapis.com", "127.0.0.1:9000", None),  # a real endpoint wins over the variable
    (None, None, None),
])
def test_emulator_endpoint(monkeypatch, option, env, expected):
    monkeypatch.delenv(_base.EMULATOR_ENV, raising=False)
    if env:
        monkeypatch.setenv(_base.EMULATOR_ENV, env)
    assert _base.emulator_endpoint(option) == expected


def test_emulator_gets_anonymous_credentials(monkeypatch):
    monkeypatch.setenv(_base.EMULATOR_ENV, "127.0.0.1:9000")
    credentials, project = _base.build_credentials({"auth_kind": "serviceaccount"})
    assert isinstance(credentials, AnonymousCredentials) and project is None


def test_service_account_contents_and_file(no_emulator, tmp_path):  # pylint: disable=unused-argument
    info = _key_info()
    credentials, project = _base.build_credentials({"auth_kind": "serviceaccount",
                                                    "service_account_contents": json.dumps(info)})
    assert credentials.service_account_email == info["client_email"] and project == "from-key"
    assert credentials.scopes == _base.DEFAULT_SCOPES
    path = tmp_path / "key.json"
    path.write_text(json.dumps(info))
    credentials, _project = _base.build_credentials({"auth_kind": "serviceaccount", "service_account_file": str(path),
                                                     "scopes": ["https://www.googleapis.com/auth/run"]})
    assert credentials.scopes == ["https://www.googleapis.com/auth/run"]


def test_impersonation_wraps_the_credentials(no_emulator):  # pylint: disable=unused-argument
    credentials, _project = _base.build_credentials({
        "auth_kind": "serviceaccount", "service_account_contents": json.dumps(_key_info()),
        "impersonate_service_account": "runner@p.iam.gserviceaccount.com"})
    assert credentials.service_account_email == "runner@p.iam.gserviceaccount.com"


def test_access_token(no_emulator):  # pylint: disable=unused-argument
    credentials, _project = _base.build_credentials({"auth_kind": "accesstoken", "access_token": "ya29.x"})
    assert credentials.token == "ya29.x"


@pytest.mark.parametrize("params, message", [
    ({"auth_kind": "serviceaccount"}, "auth_kind=serviceaccount needs service_account_file or service_account_contents"),
    ({"auth_kind": "accesstoken"}, "auth_kind=accesstoken needs access_token"),
    ({"auth_kind": "serviceaccount", "service_account_file": "/nonexistent/key.json"},
     "Cannot load the service account key for auth_kind=serviceaccount"),
])
def test_missing_auth_input_is_named(no_emulator, params, message):  # pylint: disable=unused-argument
    with pytest.raises(CloudRunError) as err:
        _base.build_credentials(params)
    assert message in err.value.msg


def test_no_application_default_credentials_says_what_to_do(no_emulator, monkeypatch, tmp_path):  # noqa
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud login here
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # and no metadata server
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    with pytest.raises(CloudRunError) as err:
        _base.build_credentials({"auth_kind": "application"})
    assert "gcloud auth application-default login" in err.value.msg


@pytest.mark.parametrize("api_endpoint, kind, expected", [
    # A regional Cloud Run endpoint is Cloud Run's alone: Secret Manager, Cloud Build and Storage keep Google's.
    ("https://europe-west1-run.googleapis.com", "services", "https://europe-west1-run.googleapis.com"),
    ("https://europe-west1-run.googleapis.com", "revisions", "https://europe-west1-run.googleapis.com"),
    ("https://europe-west1-run.googleapis.com", "secrets", None),
    ("https://europe-west1-run.googleapis.com", "builds", None),
    ("https://europe-west1-run.googleapis.com", "storage", None),
    # An emulator stands for every API.
    ("http://127.0.0.1:9000", "secrets", "http://127.0.0.1:9000"),
    (None, "builds", None),
])
def test_an_api_endpoint_applies_to_cloud_run_only(no_emulator, api_endpoint, kind, expected):  # noqa
    assert _base.client_endpoint(kind, api_endpoint) == expected


def test_id_tokens_come_from_the_modules_service_account(no_emulator):  # pylint: disable=unused-argument
    """auth_kind=serviceaccount (an AWX credential) mints the ID token, not whatever ADC finds."""
    params = {"auth_kind": "serviceaccount", "service_account_contents": json.dumps(_key_info())}
    credentials, _project = _base.build_credentials(params)
    minted = _base.id_token_credentials(params, credentials, "https://backend-abc-uc.a.run.app")
    assert type(minted).__name__ == "IDTokenCredentials"
    assert minted.service_account_email == "deployer@from-key.iam.gserviceaccount.com"
    assert minted._target_audience == "https://backend-abc-uc.a.run.app"  # pylint: disable=protected-access


def test_id_tokens_through_impersonation(no_emulator):  # pylint: disable=unused-argument
    params = {"auth_kind": "serviceaccount", "service_account_contents": json.dumps(_key_info()),
              "impersonate_service_account": "runner@p.iam.gserviceaccount.com"}
    credentials, _project = _base.build_credentials(params)
    minted = _base.id_token_credentials(params, credentials, "https://x.run.app")
    assert type(minted).__module__ == "google.auth.impersonated_credentials"
    assert minted._target_audience == "https://x.run.app"  # pylint: disable=protected-access


def test_an_access_token_cannot_mint_an_id_token_and_says_so(no_emulator):  # pylint: disable=unused-argument
    params = {"auth_kind": "accesstoken", "access_token": "ya29.x"}
    with pytest.raises(CloudRunError) as err:
        _base.id_token_credentials(params, None, "https://x.run.app")
    assert "auth_kind=accesstoken cannot mint a Google ID token" in err.value.msg


def test_application_default_credentials_use_google_auths_own_lookup(no_emulator):  # noqa
    assert _base.id_token_credentials({"auth_kind": "application"}, None, "https://x.run.app") is None


def test_awxs_google_credential_in_the_environment_builds_the_key_credentials(no_emulator, monkeypatch, tmp_path):  # noqa
    """Issue 12: AWX sets GCP_AUTH_KIND and GCP_SERVICE_ACCOUNT_FILE; options not passed fall back to them."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # pylint: disable=import-outside-toplevel
    from google.oauth2 import service_account  # pylint: disable=import-outside-toplevel
    key = tmp_path / "awx-key.json"
    key.write_text(json.dumps(_key_info()))
    monkeypatch.setenv("GCP_AUTH_KIND", "serviceaccount")
    monkeypatch.setenv("GCP_SERVICE_ACCOUNT_FILE", str(key))
    # What the role passes when the inventory sets no auth variable: project and region only.
    params = ArgumentSpecValidator(_base.gcp_argument_spec()).validate(
        {"project": "p", "region": "europe-west1"}).validated_parameters
    credentials, _project = _base.build_credentials(params)
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == "deployer@from-key.iam.gserviceaccount.com"


def test_machineaccount_is_the_metadata_servers_account(no_emulator):  # pylint: disable=unused-argument
    from google.auth import compute_engine  # pylint: disable=import-outside-toplevel
    credentials, _project = _base.build_credentials({"auth_kind": "machineaccount",
                                                     "service_account_email": "runner@p.iam.gserviceaccount.com"})
    assert isinstance(credentials, compute_engine.Credentials)
    assert credentials.service_account_email == "runner@p.iam.gserviceaccount.com"
    assert _base.id_token_credentials({"auth_kind": "machineaccount"}, credentials, "https://x.run.app") is None


def test_a_missing_library_is_named_as_pip_names_it_without_importing_what_is_there():
    assert _base.missing_library(("google-auth", "requests")) is None
    _base.LIBRARIES["not-installed-here"] = "google.cloud.not_installed_here"
    try:
        assert _base.missing_library(("requests", "not-installed-here")) == "not-installed-here"
    finally:
        del _base.LIBRARIES["not-installed-here"]


@pytest.mark.parametrize("module, loaded, not_loaded", [
    # Issue 15: a module loads only the clients it calls (python -X importtime: google-cloud-run is 0.5 s).
    ("cloudrun_preflight", [], ["google.auth", "google.api_core", "google.cloud.run_v2"]),
    ("http_healthcheck", ["requests"], ["google.cloud.run_v2", "google.cloud.secretmanager_v1"]),
    ("cloudbuild_submit", ["google.cloud.devtools.cloudbuild_v1"], ["google.cloud.run_v2"]),
])
def test_a_module_imports_only_what_it_uses(module, loaded, not_loaded):
    code = (f"import sys, ansible_collections.nadle.cloudrun.plugins.modules.{module}; "
            f"print(sorted(m for m in {loaded + not_loaded!r} if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout
    assert found.strip() == repr(sorted(loaded))


MASKED_PEM = "-----BEGIN CANARY KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB\n-----END CANARY KEY-----"
MASKED_TOKEN = "tok_live_4f9c2a7e1b8d3c6f0a5e9b2d7c4f1a8e"
# A module whose handler learns its secrets as it runs (as cloudrun_service does when it reads the env files),
# then says them in the shapes apps print them: a prefix cut short, a repr, a PEM line.
HANDLER_MODULE = f'''
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunModule, CloudRunError
pem, token = {MASKED_PEM!r}, {MASKED_TOKEN!r}
def handler(module):
    module.hide([pem, token])
    said = "input_value='" + token[:17] + "...' " + repr(pem) + " line " + pem.splitlines()[1][:20]
    module.warn("warned: " + said)
    if module.params["fail"]:
        raise CloudRunError("failed: " + said, log_lines=[said])
    return {{"changed": False, "msg": said, "diff": {{"after": said}}}}
CloudRunModule({{"fail": {{"type": "bool", "default": False}}}}, api=False).run(handler)
'''


@pytest.mark.parametrize("fail", [False, True])
def test_secrets_the_handler_registers_are_masked_in_part_in_what_leaves(fail):
    """Issue 26: masking was decided before the handler registered its secrets, so only whole values were hidden."""
    found = subprocess.run([sys.executable, "-c", HANDLER_MODULE], capture_output=True, text=True,
                           input=json.dumps({"ANSIBLE_MODULE_ARGS": {"fail": fail}}), check=False,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    result = json.loads(found.stdout)
    assert result.get("failed", False) is fail and "warned: " in json.dumps(result["warnings"]), result
    for secret in [MASKED_TOKEN] + MASKED_PEM.splitlines():
        runs = [secret[i:i + 8] for i in range(len(secret) - 7)]
        assert not [run for run in runs if run in found.stdout], found.stdout
