"""The emulator through the official google.cloud.run_v2 clients (REST, anonymous, http endpoint)."""

import json
import os
import shutil
import signal
import time
import urllib.error
import urllib.request

import pytest
import requests
from google.api_core import exceptions
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2, policy_pb2

from conftest import ECHO_IMAGE, PARENT, echo_service
from emulator.testing import EmulatorProcess

# The project owner's ID token, as the emulator takes it (emulator/identity.py): it may invoke every service.
OWNER = "Bearer emulator-id-token"

ECHO_DIR = os.path.join(os.path.dirname(__file__), "apps", "echo")


def fetch(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def create(services, service_id, service=None):
    return services.create_service(parent=PARENT, service=service or echo_service(),
                                   service_id=service_id).result(timeout=60)


def make_public(services, name):
    policy = services.get_iam_policy(request={"resource": name})
    policy.bindings.append(policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"]))
    services.set_iam_policy(request={"resource": name, "policy": policy})


def test_create_becomes_ready_with_server_defaults(services, revisions, service_id):
    created = create(services, service_id)
    got = services.get_service(name=created.name)
    assert got.name == f"{PARENT}/services/{service_id}"
    assert got.generation == 1 and got.observed_generation == 1
    assert got.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert got.uid and got.etag and got.create_time and got.creator
    revision = got.latest_ready_revision.rsplit("/", 1)[-1]
    assert revision.startswith(f"{service_id}-00001-") and len(revision) == len(service_id) + 10
    assert got.latest_created_revision == got.latest_ready_revision
    template = got.template
    assert template.timeout.seconds == 300
    assert template.max_instance_request_concurrency == 80
    assert template.service_account.endswith("-compute@developer.gserviceaccount.com")
    assert template.scaling.max_instance_count == 100
    container = template.containers[0]
    assert dict(container.resources.limits) == {"cpu": "1000m", "memory": "512Mi"}
    assert container.resources.cpu_idle
    # Real GETs report neither unless they were set (wire contract section 6).
    assert not container.resources.startup_cpu_boost and "startupCpuBoost" not in json.dumps(
        run_v2.Service.to_dict(got))
    assert not template.execution_environment
    assert container.ports[0].container_port == 8080 and container.ports[0].name == "http1"
    assert container.startup_probe.tcp_socket.port == 8080
    assert got.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_ALL
    assert got.launch_stage == 4  # google.api.LaunchStage.GA
    assert got.traffic[0].type_ == run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
    assert got.traffic_statuses[0].percent == 100
    assert got.uri.startswith("http://127.0.0.1:")
    listed = list(revisions.list_revisions(parent=got.name))
    assert [r.name for r in listed] == [got.latest_ready_revision]
    assert listed[0].conditions[0].state == run_v2.Condition.State.CONDITION_SUCCEEDED
    # The revision really runs: the URL answers from it, with the image's ENV and the contract's K_* vars.
    status, body = fetch(got.uri, {"Authorization": OWNER})
    assert status == 200
    assert body["revision"] == revision and body["service"] == service_id
    assert body["greeting"] == "hello from the image" and body["configuration"] == service_id


def test_env_change_makes_second_revision(services, service_id):
    first = create(services, service_id, echo_service({"APP_COLOR": "blue"}))
    changed = echo_service({"APP_COLOR": "green"})
    changed.name = first.name
    second = services.update_service(service=changed).result(timeout=60)
    assert second.generation == 2
    assert second.latest_ready_revision.rsplit("/", 1)[-1].startswith(f"{service_id}-00002-")
    status, body = fetch(second.uri, {"Authorization": OWNER})
    assert status == 200 and body["app_env"] == {"APP_COLOR": "green"}


def test_same_spec_again_changes_nothing(services, revisions, service_id):
    first = create(services, service_id, echo_service({"APP_COLOR": "blue"}))
    again = echo_service({"APP_COLOR": "blue"})
    again.name = first.name
    result = services.update_service(service=again).result(timeout=60)
    assert result.generation == first.generation == 1
    assert result.latest_created_revision == first.latest_created_revision
    assert result.etag == first.etag
    assert len(list(revisions.list_revisions(parent=first.name))) == 1
    # A get -> update round trip that echoes every output-only field also changes nothing.
    fetched = services.get_service(name=first.name)
    assert services.update_service(service=fetched).result(timeout=60).generation == 1


def test_reserved_port_env_is_rejected(services, service_id):
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=echo_service({"PORT": "8000"}), service_id=service_id)
    assert "The following reserved env names were provided: PORT" in err.value.message
    assert "containers[0].env" in err.value.message
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=f"{PARENT}/services/{service_id}")


@pytest.mark.parametrize("template, expected", [
    ({"resources": {"limits": {"cpu": "1.5"}}}, "Invalid value specified for cpu: '1.5'"),
    ({"resources": {"limits": {"memory": "512MB"}}}, "Invalid value specified for container memory: '512MB'"),
    ({"resources": {"limits": {"memory": "8Gi"}}}, "For 1.0 CPU, memory must be between 128Mi and 4Gi"),
    ({"image": "Not A Valid/Image"}, "must be a container image path"),
    ({"ports": [{"container_port": 70000}]}, "Invalid port 70000"),
])
def test_container_rules(services, service_id, template, expected):
    container = dict({"image": ECHO_IMAGE}, **template)
    service = run_v2.Service(template=run_v2.RevisionTemplate(containers=[run_v2.Container(**container)]))
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=service, service_id=service_id)
    assert expected in err.value.message


@pytest.mark.parametrize("template, expected", [
    ({"max_instance_request_concurrency": 1001}, "must be between 1 and 1000"),
    ({"timeout": {"seconds": 4000}}, "maximum allowed time is one hour"),
    ({"max_instance_request_concurrency": 10, "containers": [
        {"image": ECHO_IMAGE, "resources": {"limits": {"cpu": "0.5"}}}]},
     "Total cpu < 1 is not supported with concurrency > 1"),
])
def test_template_rules(services, service_id, template, expected):
    template = dict({"containers": [{"image": ECHO_IMAGE}]}, **template)
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=run_v2.Service(template=template), service_id=service_id)
    assert expected in err.value.message


def test_service_name_and_traffic_rules(services):
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=echo_service(), service_id="bad_name")
    assert "Service name must use only lowercase letters" in err.value.message
    service = echo_service()
    service.traffic = [run_v2.TrafficTarget(type_=1, percent=50)]
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=service, service_id="traffic-sum")
    assert "Traffic targets sum to 50, want 100" in err.value.message
    service.traffic = [run_v2.TrafficTarget(type_=1, percent=100, tag="a-very-long-tag-name-for-this")]
    with pytest.raises(exceptions.BadRequest) as err:
        services.create_service(parent=PARENT, service=service, service_id="a-long-service-name-here")
    assert "cannot exceed 46 characters" in err.value.message


def test_unknown_field_is_a_400(emulator):
    body = json.dumps({"template": {"containers": [{"image": ECHO_IMAGE}]}, "bogusField": 1}).encode()
    request = urllib.request.Request(f"{emulator.endpoint}/v2/{PARENT}/services?serviceId=unknown-field",
                                     data=body, method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    assert err.value.code == 400
    assert "bogusField" in json.loads(err.value.read())["error"]["message"]


def test_enums_as_strings_and_integers(emulator, services, service_id):
    body = json.dumps({"ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY", "template": {"containers": [{"image": ECHO_IMAGE}]},
                       "traffic": [{"type": 1, "percent": 100}]}).encode()
    request = urllib.request.Request(f"{emulator.endpoint}/v2/{PARENT}/services?serviceId={service_id}",
                                     data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        operation = json.loads(response.read())
    operation = wait_done(emulator, operation)
    assert operation["response"]["@type"] == "type.googleapis.com/google.cloud.run.v2.Service"
    got = services.get_service(name=f"{PARENT}/services/{service_id}")
    assert got.ingress == run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_ONLY


def test_unregistered_image_fails_the_revision(services, service_id):
    image = "europe-west1-docker.pkg.dev/demo-project/apps/nobody-built-this:v9"
    with pytest.raises(exceptions.InternalServerError) as err:
        create(services, service_id, echo_service(image=image))
    assert f"Image '{image}' not found." in err.value.message


def test_crashing_app_fails_with_its_log_and_old_revision_keeps_serving(emulator, services, service_id):
    good = create(services, service_id,
                  echo_service({"REQUIRED_ENV": "MONGODB_URL", "MONGODB_URL": "mongodb://db"}))
    make_public(services, good.name)
    broken = echo_service({"REQUIRED_ENV": "MONGODB_URL"})
    broken.name = good.name
    with pytest.raises(exceptions.InternalServerError) as err:
        services.update_service(service=broken).result(timeout=60)
    message = err.value.message
    assert "failed to start and listen on the port defined provided by the PORT=8080" in message
    assert "Logs URL: " in message
    # As on Cloud Run, the container's own lines are in Cloud Logging, not in the API's message.
    assert "mongodb_url" not in message
    failed = services.get_service(name=good.name).latest_created_revision.rsplit("/", 1)[-1]
    _status, logs = call(emulator, "POST", "/v2/entries:list", {
        "resourceNames": [f"projects/{PARENT.split('/')[1]}"], "orderBy": "timestamp desc",
        "filter": f'resource.type="cloud_run_revision" AND resource.labels.revision_name="{failed}"'})
    lines = [e["textPayload"] for e in logs["entries"]]
    assert any("mongodb_url" in line for line in lines) and any("Field required" in line for line in lines)
    assert all(e["timestamp"] for e in logs["entries"])
    after = services.get_service(name=good.name)
    assert after.latest_created_revision.rsplit("/", 1)[-1].startswith(f"{service_id}-00002-")
    assert after.latest_ready_revision == good.latest_ready_revision
    assert after.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    status, body = fetch(good.uri)
    assert status == 200 and body["revision"] == good.latest_ready_revision.rsplit("/", 1)[-1]


def _two_revisions(services, service_id):
    first = create(services, service_id, echo_service({"APP_N": "1"}))
    second = echo_service({"APP_N": "2"})
    second.name = first.name
    second = services.update_service(service=second).result(timeout=60)
    make_public(services, first.name)
    return first.latest_ready_revision.rsplit("/", 1)[-1], second


def test_fifty_fifty_split_over_real_http(services, service_id):
    rev1, service = _two_revisions(services, service_id)
    rev2 = service.latest_ready_revision.rsplit("/", 1)[-1]
    service.traffic = [run_v2.TrafficTarget(type_=2, revision=rev1, percent=50),
                       run_v2.TrafficTarget(type_=2, revision=rev2, percent=50)]
    service = services.update_service(service=service).result(timeout=60)
    assert service.latest_created_revision.rsplit("/", 1)[-1] == rev2  # traffic only: no new revision
    seen = {rev1: 0, rev2: 0}
    for _request in range(100):
        status, body = fetch(service.uri)
        assert status == 200
        seen[body["revision"]] += 1
    assert 40 <= seen[rev1] <= 60 and seen[rev1] + seen[rev2] == 100, seen


def test_tag_url_reaches_its_revision(services, service_id):
    rev1, service = _two_revisions(services, service_id)
    service.traffic = [run_v2.TrafficTarget(type_=1, percent=100),
                       run_v2.TrafficTarget(type_=2, revision=rev1, percent=0, tag="old")]
    service = services.update_service(service=service).result(timeout=60)
    tagged = [s for s in service.traffic_statuses if s.tag == "old"]
    assert tagged and tagged[0].uri.startswith("http://127.0.0.1:") and tagged[0].uri != service.uri
    status, body = fetch(tagged[0].uri + "/some/path?x=1")
    assert status == 200 and body["revision"] == rev1 and body["path"] == "/some/path?x=1"
    status, body = fetch(service.uri)
    assert body["revision"] == service.latest_ready_revision.rsplit("/", 1)[-1]


def test_all_users_binding_switches_403_and_200(services, service_id):
    service = create(services, service_id)
    status, body = fetch(service.uri)
    assert status == 403 and "Forbidden" in body
    assert fetch(service.uri, {"Authorization": OWNER})[0] == 200
    make_public(services, service.name)
    assert fetch(service.uri)[0] == 200
    policy = services.get_iam_policy(request={"resource": service.name})
    others = [b for b in policy.bindings if b.role != "roles/run.invoker"]
    del policy.bindings[:]
    policy.bindings.extend(others)
    services.set_iam_policy(request={"resource": service.name, "policy": policy})
    assert fetch(service.uri)[0] == 403
    # A stale etag is refused, as IAM does.
    stale = policy_pb2.Policy(etag=b"stale123", bindings=[])
    with pytest.raises(exceptions.Conflict):
        services.set_iam_policy(request={"resource": service.name, "policy": stale})
    allowed = services.test_iam_permissions(request=iam_policy_pb2.TestIamPermissionsRequest(
        resource=service.name, permissions=["run.services.get"]))
    assert list(allowed.permissions) == ["run.services.get"]


def test_fault_error_status_on_chosen_method(emulator, services, service_id):
    service = create(services, service_id)
    emulator.admin("faults", {"error_count": 1, "error_status": 500, "methods": ["GetService"]})
    try:
        with pytest.raises(exceptions.InternalServerError):
            services.get_service(name=service.name, retry=None)
        assert services.get_service(name=service.name, retry=None).name == service.name
        emulator.admin("faults", {"error_rate": 1.0, "error_status": 429, "methods": ["ListServices"]})
        with pytest.raises(exceptions.TooManyRequests):
            list(services.list_services(parent=PARENT, retry=None))
        assert services.get_service(name=service.name, retry=None).name == service.name
    finally:
        emulator.admin("faults", method="DELETE")


def test_fault_latency(emulator, services, service_id):
    service = create(services, service_id)
    emulator.admin("faults", {"latency_ms": 400})
    try:
        started = time.monotonic()
        services.get_service(name=service.name)
        assert time.monotonic() - started >= 0.4
    finally:
        emulator.admin("faults", method="DELETE")


def test_fault_pending_operation(emulator, services, service_id):
    emulator.admin("faults", {"pending_polls": 2})
    emulator.admin("requests", method="DELETE")
    try:
        operation = services.create_service(parent=PARENT, service=echo_service(), service_id=service_id)
        assert not operation.done(retry=None)  # the first poll is held back too
        result = operation.result(timeout=60)
        assert result.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
        assert emulator.admin("requests")["by_rpc"]["GetOperation"] >= 3
    finally:
        emulator.admin("faults", method="DELETE")


def test_fault_etag_conflict_on_next_write(emulator, services, service_id):
    service = create(services, service_id)
    emulator.admin("faults", {"etag_conflict": True})
    try:
        update = echo_service({"APP_X": "1"})
        update.name = service.name
        with pytest.raises(exceptions.Conflict) as err:
            services.update_service(service=update)
        assert "modified concurrently" in err.value.message
        assert services.update_service(service=update).result(timeout=60).generation == 2
    finally:
        emulator.admin("faults", method="DELETE")


def test_delete_with_stale_etag_is_refused(services, service_id):
    service = create(services, service_id)
    with pytest.raises(exceptions.Conflict) as err:  # ABORTED, as AIP-154 asks of an etag mismatch
        services.delete_service(request={"name": service.name, "etag": '"not-the-etag"'})
    assert "does not match the current etag" in err.value.message
    deleted = services.delete_service(request={"name": service.name, "etag": service.etag}).result(timeout=30)
    assert deleted.name == service.name
    # A delete is a new generation, with deleteTime and expireTime 30 days on.
    assert deleted.generation == service.generation + 1
    assert deleted.delete_time and deleted.expire_time
    assert 29 <= (deleted.expire_time - deleted.delete_time).days <= 30
    with pytest.raises(exceptions.NotFound) as err:
        services.get_service(name=service.name)
    assert f'service "{service.name}" not found' in err.value.message


def test_revisions_get_and_delete(services, revisions, service_id):
    rev1, service = _two_revisions(services, service_id)
    old = f"{service.name}/revisions/{rev1}"
    assert revisions.get_revision(name=old).service == service_id
    with pytest.raises(exceptions.BadRequest):
        revisions.delete_revision(name=service.latest_ready_revision)
    revisions.delete_revision(name=old).result(timeout=30)
    with pytest.raises(exceptions.NotFound):
        revisions.get_revision(name=old)


def test_list_services_pages(services):
    ids = [f"page-{i}" for i in range(3)]
    try:
        for service_id in ids:
            create(services, service_id)
        pager = services.list_services(request={"parent": PARENT, "page_size": 2})
        names = [s.name.rsplit("/", 1)[-1] for s in pager]
        assert set(ids) <= set(names)
    finally:
        for service_id in ids:
            services.delete_service(name=f"{PARENT}/services/{service_id}").result(timeout=30)


def test_state_survives_restart_and_no_process_is_left(tmp_path):
    from conftest import clients_for  # pylint: disable=import-outside-toplevel
    state = str(tmp_path / "state")
    with EmulatorProcess(images={ECHO_IMAGE: ECHO_DIR}, state_dir=state) as emu:
        services = clients_for(emu.endpoint)[0]
        service = create(services, "survivor")
        status, body = fetch(service.uri, {"Authorization": OWNER})
        first_pid = body["pid"]
    assert not _alive(first_pid), "a revision process outlived the emulator"
    with EmulatorProcess(state_dir=state) as emu:
        services = clients_for(emu.endpoint)[0]
        again = services.get_service(name=service.name)
        assert again.uid == service.uid and again.generation == 1
        status, body = fetch(again.uri, {"Authorization": OWNER})  # a cold start from the stored image
        assert status == 200 and body["revision"] == again.latest_ready_revision.rsplit("/", 1)[-1]
        second_pid = body["pid"]
        emu.stop(signal.SIGKILL)  # even a crash leaves nothing behind
    deadline = time.monotonic() + 5
    while _alive(second_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(second_pid), "a revision process outlived a killed emulator"


def test_a_revision_keeps_the_digest_its_tag_had_when_it_was_made(tmp_path):
    """A tag is resolved once, when the revision is made (cloud.google.com/artifact-registry/docs/
    integrate-cloud-run): moved to another image later, it does not change what a cold start runs."""
    from conftest import clients_for  # pylint: disable=import-outside-toplevel
    moved = tmp_path / "moved"
    shutil.copytree(ECHO_DIR, moved)
    dockerfile = moved / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("hello from the image", "hello from the moved tag"))
    state = str(tmp_path / "state")
    with EmulatorProcess(images={ECHO_IMAGE: ECHO_DIR}, state_dir=state) as emu:
        service = create(clients_for(emu.endpoint)[0], "pinned")
        assert fetch(service.uri, {"Authorization": OWNER})[1]["greeting"] == "hello from the image"
        emu.admin("images", {"ref": ECHO_IMAGE, "dir": str(moved)})  # the tag now names another image
    with EmulatorProcess(state_dir=state) as emu:
        again = clients_for(emu.endpoint)[0].get_service(name=service.name)
        status, body = fetch(again.uri, {"Authorization": OWNER})
        assert status == 200 and body["greeting"] == "hello from the image"  # a cold start, the same digest


def test_a_rollout_under_way_when_the_emulator_was_killed_is_resumed(tmp_path):
    from conftest import clients_for  # pylint: disable=import-outside-toplevel
    state = str(tmp_path / "state")
    with EmulatorProcess(images={ECHO_IMAGE: ECHO_DIR}, state_dir=state) as emu:
        services = clients_for(emu.endpoint)[0]
        service = create(services, "resumed")
        slow = echo_service({"APP_START_DELAY": "3"})
        slow.name = service.name
        operation = services.update_service(service=slow)  # pending: the revision takes 3 s to listen
        time.sleep(0.5)
        emu.stop(signal.SIGKILL)
    with EmulatorProcess(state_dir=state) as emu:
        services = clients_for(emu.endpoint)[0]
        _status, finished = call(emu, "GET", f"/v2/{operation.operation.name}")
        deadline = time.monotonic() + 60
        while not finished.get("done"):
            assert time.monotonic() < deadline, finished
            time.sleep(0.3)
            _status, finished = call(emu, "GET", f"/v2/{operation.operation.name}")
        got = services.get_service(name=service.name)
        assert not got.reconciling and got.generation == 2
        assert got.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
        assert got.latest_ready_revision == got.latest_created_revision != service.latest_ready_revision


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return handle.read().split()[2] != "Z"


# --------------------------------------------------------- real Cloud Run semantics (raw HTTP)
def call(emulator, method, path, body=None):
    """One raw API request, as the REST client sends it; (HTTP status, JSON answer)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.endpoint}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_done(emulator, operation, timeout=60):
    deadline = time.monotonic() + timeout
    while not operation.get("done"):
        assert time.monotonic() < deadline, operation
        time.sleep(0.1)
        operation = call(emulator, "GET", f"/v2/{operation['name']}")[1]
    return operation


def test_every_write_first_answers_a_pending_operation_in_the_real_shapes(emulator, service_id):
    name = f"{PARENT}/services/{service_id}"
    template = {"containers": [{"image": ECHO_IMAGE, "env": [{"name": "APP_N", "value": "1"}]}]}
    status, created = call(emulator, "POST", f"/v2/{PARENT}/services?serviceId={service_id}", {"template": template})
    assert status == 200 and "done" not in created and "response" not in created
    pending = created["metadata"]
    assert pending["@type"] == "type.googleapis.com/google.cloud.run.v2.Service"
    assert pending["terminalCondition"] == {"state": "CONDITION_PENDING"}  # no type yet
    for absent in ("latestCreatedRevision", "uri", "ingress"):
        assert absent not in pending
    assert "reconciling" not in json.dumps(wait_done(emulator, created))  # proto3 JSON leaves false out
    first = wait_done(emulator, created)["metadata"]
    assert first["latestCreatedRevision"] == first["latestReadyRevision"]  # refreshed to the final state
    assert first["terminalCondition"]["type"] == "Ready"

    template["containers"][0]["env"][0]["value"] = "2"
    status, updated = call(emulator, "PATCH", f"/v2/{name}", {"template": template})
    assert status == 200 and "done" not in updated
    assert updated["metadata"]["latestCreatedRevision"] == first["latestCreatedRevision"]  # still the old one
    assert updated["metadata"]["generation"] == "2"
    final = wait_done(emulator, updated)
    assert final["response"]["latestCreatedRevision"] != first["latestCreatedRevision"]
    assert final["metadata"]["latestCreatedRevision"] == final["response"]["latestCreatedRevision"]

    status, deleted = call(emulator, "DELETE", f"/v2/{name}")
    assert status == 200 and "done" not in deleted
    gone = wait_done(emulator, deleted)["response"]
    assert gone["generation"] == "3" and gone["deleteTime"] and gone["expireTime"]


def test_revision_name_is_part_of_the_template(services, revisions, service_id):
    """terraform-provider-google 13410 and google-cloud-python 11870 / 14259, as the emulator plays them."""
    custom = f"{service_id}-custom"
    service = create(services, service_id, echo_service({"APP_N": "1"}, revision=custom))
    assert service.latest_created_revision.endswith(f"/revisions/{custom}")
    assert service.template.revision == custom

    # The same template, the revision name echoed as read, and a traffic change: no new revision.
    service.traffic = [run_v2.TrafficTarget(type_=2, revision=custom, percent=100)]
    moved = services.update_service(service=service).result(timeout=60)
    assert moved.latest_created_revision == service.latest_created_revision
    assert moved.generation == service.generation + 1

    # The same template with the name cleared: a change, so a new, server-named revision.
    cleared = run_v2.Service(moved)
    cleared.template.revision = ""
    cleared.traffic = [run_v2.TrafficTarget(type_=1, percent=100)]
    after = services.update_service(service=cleared).result(timeout=60)
    assert after.latest_created_revision.rsplit("/", 1)[-1].startswith(f"{service_id}-00003-")
    assert len(list(revisions.list_revisions(parent=service.name))) == 2

    # A template that differs, under the existing name: 409, and nothing is stored.
    clash = echo_service({"APP_N": "2"}, revision=custom)
    clash.name = service.name
    with pytest.raises(exceptions.Conflict) as err:
        services.update_service(service=clash)
    assert f"Revision named '{custom}' with different configuration already exists." in err.value.message
    assert services.get_service(name=service.name).generation == after.generation


def test_an_update_with_a_stale_etag_is_aborted(services, service_id):
    service = create(services, service_id)
    update = echo_service({"APP_X": "1"})
    update.name, update.etag = service.name, service.etag
    other = echo_service({"APP_X": "other writer"})
    other.name = service.name
    services.update_service(service=other).result(timeout=60)  # a second writer in between
    with pytest.raises(exceptions.Conflict) as err:
        services.update_service(service=update)
    assert "does not match the current etag" in err.value.message


def test_fault_outage_drops_connections_for_a_while(emulator, services, service_id):
    service = create(services, service_id)
    emulator.admin("faults", {"outage_ms": 700})
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            services.get_service(name=service.name, retry=None)
        time.sleep(0.8)
        assert services.get_service(name=service.name, retry=None).name == service.name
    finally:
        emulator.admin("faults", method="DELETE")


def test_iam_policy_versions_and_domain_restricted_sharing(emulator, services, service_id):
    service = create(services, service_id)
    conditional = policy_pb2.Binding(role="roles/run.invoker", members=["user:a@example.com"])
    conditional.condition.expression = 'request.time < timestamp("2030-01-01T00:00:00Z")'
    policy = policy_pb2.Policy(version=3, bindings=[conditional])
    services.set_iam_policy(request={"resource": service.name, "policy": policy})
    old_view = services.get_iam_policy(request={"resource": service.name})
    assert old_view.version == 1 and old_view.bindings[0].role.startswith("roles/run.invoker_withcond_")
    with pytest.raises(exceptions.BadRequest):  # writing back what version 1 showed loses the condition
        services.set_iam_policy(request={"resource": service.name, "policy": old_view})
    current = services.get_iam_policy(request={"resource": service.name, "options": {"requested_policy_version": 3}})
    assert current.version == 3 and current.bindings[0].condition.expression
    emulator.admin("faults", {"drs": True})
    try:
        current.bindings.append(policy_pb2.Binding(role="roles/run.invoker", members=["allUsers"]))
        with pytest.raises(exceptions.BadRequest) as err:
            services.set_iam_policy(request={"resource": service.name, "policy": current})
        assert "do not belong to a permitted customer" in err.value.message
    finally:
        emulator.admin("faults", method="DELETE")
