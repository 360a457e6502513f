"""The emulator killed in the middle of a deploy (issue 26): no process of its apps is left, and the next
deploy converges in one run, whether the kill came during a build or during a rollout.

Before: a build running at the kill stayed WORKING for ever (the next deploy waited on it), and the apps'
own children (``uv run`` starts Python) kept serving on their ports after the emulator was gone.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from emulator.testing import processes_where, request_json, still_there
from test_deploy_playbook import HOST_VARS, SERVICE, health, repository_copy, serving

MAIN = os.path.join("examples", "xai-community-backend", "main.py")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "killed")


def app_processes(repo):
    """PIDs of processes running in the emulator's state folder (its apps, their supervisors and children)."""
    state = os.path.realpath(os.path.join(repo.path, ".emulator")) + os.sep
    return processes_where(lambda pid: (os.path.realpath(f"/proc/{pid}/cwd") + os.sep).startswith(state))


def kill_emulator_when(repo, moment, process):
    """SIGKILL the emulator once ``moment()`` holds, then stop the deploy, as a person would."""
    deadline = time.monotonic() + 120
    while not moment():
        assert process.poll() is None and time.monotonic() < deadline, "the moment never came"
        time.sleep(0.2)
    with open(os.path.join(repo.path, ".emulator", "emulator.pid"), encoding="utf-8") as handle:
        os.kill(int(handle.read().strip()), signal.SIGKILL)
    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=60)
    except Exception:  # pylint: disable=broad-except
        process.kill()
        process.communicate()


def test_killed_during_a_build(repo):
    assert repo.playbook("deploy").returncode == 0
    assert app_processes(repo), "the service's app should be running"
    with open(os.path.join(repo.path, MAIN), "a", encoding="utf-8") as handle:
        handle.write("\n# a new release, so the next deploy builds\n")
    repo.fault({"build_ms": 30000})
    process = repo.start_playbook("deploy")
    builds = f"{repo.api}/v1/projects/xai-community-local/locations/global/builds"

    def building():
        try:
            return any(b.get("status") == "WORKING" for b in request_json(builds).get("builds", []))
        except OSError:
            return False
    kill_emulator_when(repo, building, process)
    assert not still_there(lambda: app_processes(repo)), "app processes outlived the emulator"
    result = repo.playbook("deploy")  # the build resumes after the restart and ends; the deploy goes live
    assert result.returncode == 0, result.output[-6000:]
    service = repo.service()
    assert health(service["uri"])["status"] == "healthy"
    assert list(serving(service).values()) == [100]


def test_killed_during_a_rollout(repo):
    revisions = len(repo.revisions())
    repo.edit(HOST_VARS, "cloudrun_deploy_memory: 512Mi", "cloudrun_deploy_memory: 640Mi")
    repo.fault({"rollout_ms": 20000})
    process = repo.start_playbook("deploy")

    def rolling_out():
        try:
            return len(repo.revisions()) > revisions
        except OSError:
            return False
    kill_emulator_when(repo, rolling_out, process)
    assert not still_there(lambda: app_processes(repo)), "app processes outlived the emulator"
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    service = repo.service()
    assert list(serving(service).values()) == [100]
    latest = service["latestReadyRevision"].rsplit("/", 1)[-1]
    memory = request_json(f"{repo.api}/v2/{service['name']}/revisions/{latest}")["containers"][0]["resources"]
    assert memory["limits"]["memory"] == "640Mi" and SERVICE in latest
