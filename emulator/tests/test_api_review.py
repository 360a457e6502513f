"""What real Google APIs do that a client must handle (shared/reference/real-api-findings.md), as the
emulator plays it: resumable uploads, versions/latest, secret version references, writes that fail
after they were carried out, a build's status, and logs that arrive late."""

import hashlib
import io
import os
import tarfile
import time

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, secretmanager_v1, storage
from google.cloud.devtools import cloudbuild_v1

from conftest import ECHO_IMAGE, PARENT, echo_service
from test_services import call, create

PROJECT = "projects/demo-project"


def client(cls, emulator):
    return cls(credentials=AnonymousCredentials(), transport="rest",
               client_options=ClientOptions(api_endpoint=emulator.endpoint))


@pytest.fixture(autouse=True)
def no_faults(emulator):
    emulator.admin("faults", method="DELETE")
    yield
    emulator.admin("faults", method="DELETE")


def test_a_12_mib_upload_goes_through_the_resumable_protocol(emulator):
    gcs = storage.Client(project="demo-project", credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=emulator.endpoint))
    bucket = gcs.create_bucket("resumable-test")
    data = os.urandom(12 * 2**20)
    emulator.admin("requests", method="DELETE")
    bucket.blob("big.bin").upload_from_string(data, content_type="application/octet-stream")
    assert emulator.admin("requests")["by_rpc"].get("UploadObjectChunk", 0) >= 1  # not a multipart upload
    assert hashlib.sha256(bucket.blob("big.bin").download_as_bytes()).digest() == hashlib.sha256(data).digest()
    small = bucket.blob("chunked.bin")
    small.chunk_size = 256 * 1024  # several PUTs, each answered 308 until the last
    small.upload_from_string(data[:600 * 1024], content_type="application/octet-stream")
    again = bucket.blob("chunked.bin")
    again.chunk_size = 256 * 1024  # and downloaded in ranges, each answered 206 with Content-Range
    assert hashlib.sha256(again.download_as_bytes()).digest() == hashlib.sha256(data[:600 * 1024]).digest()


def test_latest_is_the_newest_version_and_a_disabled_one_is_refused(emulator):
    secrets = client(secretmanager_v1.SecretManagerServiceClient, emulator)
    name = secrets.create_secret(parent=PROJECT, secret_id="latest-rule", secret={"replication": {"automatic": {}}}).name
    secrets.add_secret_version(request={"parent": name, "payload": {"data": b"one"}})
    second = secrets.add_secret_version(request={"parent": name, "payload": {"data": b"two"}})
    assert secrets.access_secret_version(name=f"{name}/versions/latest").payload.data == b"two"
    secrets.disable_secret_version(name=second.name)
    with pytest.raises(exceptions.BadRequest) as err:  # not version 1: "latest" names the newest one
        secrets.access_secret_version(name=f"{name}/versions/latest")
    assert "is in DISABLED state" in err.value.message
    assert secrets.access_secret_version(name=f"{name}/versions/1").payload.data == b"one"


def test_a_secret_reference_needs_a_real_version(services, service_id):
    ref = run_v2.EnvVar(name="TOKEN", value_source=run_v2.EnvVarSource(
        secret_key_ref=run_v2.SecretKeySelector(secret="s", version="(new version)")))
    container = run_v2.Container(image=ECHO_IMAGE, env=[ref])
    service = run_v2.Service(template=run_v2.RevisionTemplate(containers=[container]))
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(request={"parent": PARENT, "service": service, "service_id": service_id,
                                         "validate_only": True})
    assert "is not 'latest', a version number or a version alias" in err.value.message


def test_commit_then_fail_carries_the_write_out_and_answers_503(emulator, services, service_id):
    emulator.admin("faults", {"commit_then_fail": 1, "methods": ["CreateService"]})
    with pytest.raises(exceptions.ServiceUnavailable):
        services.create_service(parent=PARENT, service=echo_service(), service_id=service_id, retry=None)
    with pytest.raises(exceptions.Conflict):  # a blind retry finds its own service
        services.create_service(parent=PARENT, service=echo_service(), service_id=service_id, retry=None)
    assert services.get_service(name=f"{PARENT}/services/{service_id}").generation == 1


def test_build_status_fault_and_list_builds_by_tag(emulator):
    gcs = storage.Client(project="demo-project", credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=emulator.endpoint))
    bucket = gcs.create_bucket("build-status-test")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name in ("Dockerfile", "app.py"):
            archive.add(os.path.join(os.path.dirname(__file__), "apps", "echo", name), arcname=name)
    bucket.blob("src.tgz").upload_from_string(raw.getvalue())
    builds = client(cloudbuild_v1.CloudBuildClient, emulator)
    emulator.admin("faults", {"build_status": "CANCELLED"})
    build = {"source": {"storage_source": {"bucket": "build-status-test", "object_": "src.tgz"}},
             "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", "x/y:z", "."]}],
             "tags": ["src-abc"]}
    finished = builds.create_build(request={"parent": f"{PROJECT}/locations/global", "build": build}).result(60)
    assert finished.status == cloudbuild_v1.Build.Status.CANCELLED  # the operation itself carried no error
    listed = builds.list_builds(request={"parent": f"{PROJECT}/locations/global", "filter": 'tags="src-abc"'})
    assert [b.id for b in listed] == [finished.id]
    assert not list(builds.list_builds(request={"parent": f"{PROJECT}/locations/global",
                                                "filter": 'tags="src-other"'}))


def test_a_build_with_its_own_account_needs_a_place_for_its_log(emulator):
    """shared/reference/real-api-findings.md: serviceAccount needs logsBucket, or CLOUD_LOGGING_ONLY / NONE."""
    builds = client(cloudbuild_v1.CloudBuildClient, emulator)
    build = {"source": {"storage_source": {"bucket": "build-status-test", "object_": "src.tgz"}},
             "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", "x/y:z", "."]}],
             "service_account": f"{PROJECT}/serviceAccounts/builder@demo-project.iam.gserviceaccount.com"}
    with pytest.raises(exceptions.BadRequest) as err:
        builds.create_build(request={"parent": f"{PROJECT}/locations/global", "build": build})
    assert "if 'build.service_account' is specified, the build must either" in err.value.message
    build["options"] = {"logging": "CLOUD_LOGGING_ONLY"}
    finished = builds.create_build(request={"parent": f"{PROJECT}/locations/global", "build": build}).result(60)
    assert not finished.logs_bucket and finished.log_url.startswith("https://console.cloud.google.com/cloud-build/")


def test_log_entries_have_timestamps_honour_a_lower_bound_and_can_lag(emulator, services, service_id):
    create(services, service_id)
    revision = services.get_service(name=f"{PARENT}/services/{service_id}").latest_ready_revision.rsplit("/", 1)[-1]
    query = f'resource.type="cloud_run_revision" AND resource.labels.revision_name="{revision}"'

    def entries(extra=""):
        body = {"resourceNames": ["projects/demo-project"], "filter": query + extra, "orderBy": "timestamp asc"}
        return call(emulator, "POST", "/v2/entries:list", body)[1].get("entries", [])

    every = entries()
    assert every and all(e["timestamp"] for e in every)
    assert entries(' AND timestamp>="2999-01-01T00:00:00Z"') == []
    assert len(entries(f' AND timestamp>="{every[0]["timestamp"]}"')) == len(every)
    emulator.admin("faults", {"log_lag_ms": 60000})
    assert entries() == []  # written, but not in Cloud Logging yet
    emulator.admin("faults", {"log_lag_ms": 0})
    time.sleep(0.01)
    assert len(entries()) == len(every)


def test_a_web_page_cannot_drive_the_emulator(emulator):
    """Issue 26: a foreign page's plain-text POST created a bucket, built and deployed; now nothing a browser
    sends without a CORS preflight gets through (an Origin header, a form or text body, a foreign Host)."""
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    url = f"{emulator.endpoint}/storage/v1/b?project=demo-project"
    attempts = [
        ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, b'{"name": "from-a-page"}'),
        ({"Origin": "http://evil.example", "Content-Type": "application/json"}, b'{"name": "from-a-page"}'),
        ({"Content-Type": "text/plain"}, b'{"name": "from-a-page"}'),
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"name=from-a-page"),
        ({"Host": "evil.example:8123", "Content-Type": "application/json"}, b'{"name": "from-a-page"}'),
    ]
    for headers, body in attempts:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers, method="POST"), timeout=10)
        assert refused.value.code == 403, headers
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(f"{emulator.endpoint}/_emulator/faults", data=b"{}",
                                                      headers={"Origin": "http://evil.example"}), timeout=10)
    assert refused.value.code == 403
    gcs = storage.Client(project="demo-project", credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=emulator.endpoint))
    assert "from-a-page" not in [b.name for b in gcs.list_buckets()]
    assert gcs.create_bucket("from-a-client").name == "from-a-client"  # a real client still gets through
