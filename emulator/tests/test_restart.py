"""An emulator killed mid-work (issue 26): no process of its apps is left, and a build it was running still ends."""

import io
import os
import signal
import tarfile
import time
import uuid

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, storage
from google.cloud.devtools import cloudbuild_v1

from conftest import APPS, ECHO_IMAGE, PARENT, echo_service
from emulator.testing import EmulatorProcess, processes_where, still_there

PROJECT = "projects/demo-project"


def kwargs_for(endpoint):
    return {"credentials": AnonymousCredentials(), "client_options": ClientOptions(api_endpoint=endpoint)}


def processes_with(marker):
    """PIDs of the processes whose environment holds ``marker``."""
    def holds(pid):
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker.encode() in handle.read()
    return processes_where(holds)


def test_no_app_process_outlives_a_killed_emulator_not_even_a_child_of_the_command(tmp_path):
    marker = f"NADLE_TEST_MARKER={uuid.uuid4()}"
    with EmulatorProcess(images={ECHO_IMAGE: os.path.join(APPS, "echo")}, state_dir=str(tmp_path)) as emulator:
        services = run_v2.ServicesClient(transport="rest", **kwargs_for(emulator.endpoint))
        key, value = marker.split("=", 1)
        service = echo_service(env={key: value})
        # Not exec'd: the server is a child of the shell, as with `uv run` or a shell-form CMD.
        service.template.containers[0].command = ["sh", "-c", "python app.py; echo done"]
        services.create_service(parent=PARENT, service=service, service_id="orphans").result(timeout=60)
        assert len(processes_with(marker)) >= 2  # the shell and the server (under the emulator's supervisor)
        emulator.stop(signal.SIGKILL)
    assert not still_there(lambda: processes_with(marker)), "processes left after the emulator was killed"


def upload_echo_source(endpoint, bucket_name):
    gcs = storage.Client(project="demo-project", credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=endpoint))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for name in ("Dockerfile", "app.py"):
            archive.add(os.path.join(APPS, "echo", name), arcname=name)
    gcs.create_bucket(bucket_name).blob("src.tgz").upload_from_string(raw.getvalue())


def test_a_build_running_when_the_emulator_is_killed_ends_after_its_restart(tmp_path):
    state = str(tmp_path / "state")
    image = "europe-west1-docker.pkg.dev/demo-project/apps/restarted:v1"
    with EmulatorProcess(state_dir=state) as first:
        upload_echo_source(first.endpoint, "restart-test")
        first.admin("faults", {"build_ms": 60000})  # still WORKING when it is killed
        builds = cloudbuild_v1.CloudBuildClient(transport="rest", **kwargs_for(first.endpoint))
        build = {"source": {"storage_source": {"bucket": "restart-test", "object_": "src.tgz"}},
                 "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", image, "."]}],
                 "images": [image]}
        started = builds.create_build(request={"parent": f"{PROJECT}/locations/global", "build": build})
        name = f"{PROJECT}/locations/global/builds/{started.metadata.build.id}"
        time.sleep(0.5)
        assert builds.get_build(name=name).status == cloudbuild_v1.Build.Status.WORKING
        first.stop(signal.SIGKILL)
    with EmulatorProcess(state_dir=state) as second:
        builds = cloudbuild_v1.CloudBuildClient(transport="rest", **kwargs_for(second.endpoint))
        deadline = time.monotonic() + 30
        ended = (cloudbuild_v1.Build.Status.SUCCESS, cloudbuild_v1.Build.Status.FAILURE)
        while builds.get_build(name=name).status not in ended:
            assert time.monotonic() < deadline, "the build never ended"
            time.sleep(0.3)
        finished = builds.get_build(name=name)
        assert finished.status == cloudbuild_v1.Build.Status.SUCCESS, finished.status_detail
        assert [i.name for i in finished.results.images] == [image]
