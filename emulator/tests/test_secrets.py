"""Secret Manager v1 through the official client, and revisions that read secrets when they start."""

import json
import urllib.request

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, secretmanager_v1

from conftest import ECHO_IMAGE, PARENT
from emulator.iam import project_number

# The project owner's ID token, as the emulator takes it (emulator/identity.py): it may invoke every service.
OWNER = "Bearer emulator-id-token"

PROJECT = "projects/demo-project"


@pytest.fixture(name="secrets")
def secrets_client(emulator):
    return secretmanager_v1.SecretManagerServiceClient(
        credentials=AnonymousCredentials(), transport="rest",
        client_options=ClientOptions(api_endpoint=emulator.endpoint))


def test_secret_versions_and_access(secrets):
    secret = secrets.create_secret(parent=PROJECT, secret_id="db-password",
                                   secret={"replication": {"automatic": {}}})
    # Answers name the project by number, as Google's do; requests may use either (python-docs-samples#7212).
    assert secret.name == f"projects/{project_number('demo-project')}/secrets/db-password"
    assert secrets.get_secret(name=f"{PROJECT}/secrets/db-password").name == secret.name
    with pytest.raises(exceptions.Conflict):
        secrets.create_secret(parent=PROJECT, secret_id="db-password", secret={})
    with pytest.raises(exceptions.NotFound):
        secrets.access_secret_version(name=f"{secret.name}/versions/latest")
    first = secrets.add_secret_version(parent=secret.name, payload={"data": b"one"})
    second = secrets.add_secret_version(parent=secret.name, payload={"data": b"two"})
    assert first.name.endswith("/versions/1") and second.name.endswith("/versions/2")
    assert secrets.access_secret_version(name=f"{secret.name}/versions/latest").payload.data == b"two"
    assert secrets.access_secret_version(name=first.name).payload.data == b"one"
    assert [v.name for v in secrets.list_secret_versions(parent=secret.name)] == [second.name, first.name]
    with pytest.raises(exceptions.NotFound):
        secrets.get_secret(name=f"{PROJECT}/secrets/nothing-here")


def _service_with_secret(secret, version="latest"):
    env = [run_v2.EnvVar(name="APP_TOKEN", value_source=run_v2.EnvVarSource(
        secret_key_ref=run_v2.SecretKeySelector(secret=secret, version=version)))]
    return run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(image=ECHO_IMAGE, env=env)]))


def test_revision_reads_its_secret_when_it_starts(secrets, services, service_id):
    secret = secrets.create_secret(parent=PROJECT, secret_id=f"{service_id}-token", secret={})
    secrets.add_secret_version(parent=secret.name, payload={"data": b"s3cret-value"})
    created = services.create_service(parent=PARENT, service=_service_with_secret(f"{service_id}-token"),
                                      service_id=service_id).result(timeout=60)
    request = urllib.request.Request(created.uri, headers={"Authorization": OWNER})
    with urllib.request.urlopen(request, timeout=20) as response:
        assert json.loads(response.read())["app_env"] == {"APP_TOKEN": "s3cret-value"}
    assert created.template.containers[0].env[0].value == ""  # the spec holds only the reference


def test_missing_secret_fails_the_revision(services, service_id):
    with pytest.raises(exceptions.InternalServerError) as err:
        services.create_service(parent=PARENT, service=_service_with_secret("never-created"),
                                service_id=service_id).result(timeout=60)
    assert "Secret 'never-created' version 'latest' for APP_TOKEN was not found" in err.value.message


def test_a_fresh_project_lets_a_revision_read_only_the_secrets_its_account_was_granted(
        emulator, secrets, services, service_id):
    """The secret_iam fault: Cloud Run's message per secret (terraform-docs-samples#168), until the grant."""
    secret = secrets.create_secret(parent=PROJECT, secret_id=f"{service_id}-fresh", secret={})
    secrets.add_secret_version(parent=secret.name, payload={"data": b"fresh-value"})
    account = f"{project_number('demo-project')}-compute@developer.gserviceaccount.com"
    emulator.admin("faults", {"secret_iam": True})
    try:
        with pytest.raises(exceptions.GoogleAPICallError) as err:
            services.create_service(parent=PARENT, service_id=service_id,
                                    service=_service_with_secret(f"{service_id}-fresh")).result(timeout=60)
        assert (f"Permission denied on secret: {secret.name}/versions/latest for Revision service account "
                f"{account}. The service account used must be granted the 'Secret Manager Secret Accessor' role "
                "(roles/secretmanager.secretAccessor) at the secret, project or higher level.") in str(err.value)
        policy = secrets.get_iam_policy(request={"resource": secret.name})
        policy.bindings.add(role="roles/secretmanager.secretAccessor", members=[f"serviceAccount:{account}"])
        secrets.set_iam_policy(request={"resource": secret.name, "policy": policy})
        service = services.get_service(name=f"{PARENT}/services/{service_id}")
        service.template.revision = ""
        service.template.labels["try"] = "two"
        ready = services.update_service(service=service).result(timeout=60)
        assert ready.latest_ready_revision == ready.latest_created_revision
    finally:
        emulator.admin("faults", method="DELETE")
