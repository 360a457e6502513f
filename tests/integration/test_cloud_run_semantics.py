"""The modules against the emulator's real Cloud Run semantics: pending operations, revision names,
etags and concurrent writers, connection loss, IAM without allUsers, and the CPU/memory rules.

Each test runs real ansible-playbook with an inline play, and reads the emulator's request counter
to show what was (not) written.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request

import pytest

from emulator.testing import request_json
from test_targets import IMAGE, PLAY, emulator, run_playbook  # noqa: F401  pylint: disable=unused-import

PARENT = "projects/integration/locations/europe-west1"


def play(tmp_path, tasks, emu, *options):
    """Run ``tasks`` (YAML, indented for a task list); returns the CompletedProcess with ``.output``."""
    path = tmp_path / f"play-{time.monotonic_ns()}.yml"
    path.write_text(PLAY % {"tasks": tasks}, encoding="utf-8")
    result = run_playbook(path, emu, options)
    result.output = result.stdout + result.stderr
    return result


def service(emu, name):
    return request_json(f"{emu.endpoint}/v2/{PARENT}/services/{name}")


def revisions(emu, name):
    """Revision names, newest first."""
    return [r["name"].rsplit("/", 1)[-1] for r in
            request_json(f"{emu.endpoint}/v2/{PARENT}/services/{name}/revisions").get("revisions", [])]


def deploy_task(name, **options):
    body = {"name": name, "image": f"{IMAGE}:v1"}
    body.update(options)
    return ("    - nadle.cloudrun.cloudrun_service: %s\n      register: out\n"
            "    - ansible.builtin.debug: {msg: \"REVISION={{ out.revision.name | default('none') }}\"}\n"
            ) % json.dumps(body)


@pytest.fixture(autouse=True)
def clean_faults(emulator):  # noqa: F811
    emulator.admin("faults", method="DELETE")
    yield
    emulator.admin("faults", method="DELETE")


def test_wait_false_returns_the_name_of_the_revision_it_made(emulator, tmp_path):  # noqa: F811
    name = "sem-nowait"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    result = play(tmp_path, deploy_task(name, env={"APP_N": "2"}, wait=False), emulator)
    assert result.returncode == 0, result.output[-4000:]
    made = re.search(r"REVISION=([a-z0-9-]+)", result.stdout).group(1)
    assert re.match(rf"^{name}-00002-[a-z]{{3}}$", made)
    deadline = time.monotonic() + 30
    while service(emulator, name).get("latestReadyRevision", "").rsplit("/", 1)[-1] != made:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert revisions(emulator, name)[0] == made


def test_a_concurrent_change_is_read_again_and_kept_not_overwritten(emulator, tmp_path):  # noqa: F811
    name = "sem-race"
    assert play(tmp_path, deploy_task(name, labels={"team": "api"}), emulator).returncode == 0
    # The emulator's conflict fault (409 ABORTED on the next write): read, plan and write again.
    emulator.admin("faults", {"etag_conflict": True})
    first = play(tmp_path, deploy_task(name, labels={"team": "web"}), emulator)
    assert first.returncode == 0, first.output[-4000:]
    assert service(emulator, name)["labels"]["team"] == "web"
    # A real second writer between this task's read and its write: its label survives ours.
    emulator.admin("faults", {"second_writer": True})
    emulator.admin("requests", method="DELETE")
    second = play(tmp_path, deploy_task(name, env={"APP_N": "3"}), emulator)
    assert second.returncode == 0, second.output[-4000:]
    got = service(emulator, name)
    assert got["labels"]["written-by"] == "another-writer" and got["labels"]["team"] == "web"
    assert got["template"]["containers"][0]["env"] == [{"name": "APP_N", "value": "3"}]
    counted = emulator.admin("requests")["by_rpc"]
    assert counted["UpdateService"] == 2 and counted["GetService"] >= 2  # refused once, planned again
    assert len(revisions(emulator, name)) == 2  # one new revision, not two
    assert play(tmp_path, deploy_task(name, env={"APP_N": "3"}), emulator).stdout.count("changed=0") == 1


def test_a_two_second_connection_outage_during_a_deploy_is_survived(emulator, tmp_path):  # noqa: F811
    name = "sem-outage"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    emulator.admin("requests", method="DELETE")
    path = tmp_path / "outage.yml"
    path.write_text(PLAY % {"tasks": deploy_task(name, env={"APP_N": "slow"})}, encoding="utf-8")
    emulator.admin("faults", {"latency_ms": 300})  # time to cut the line after the write went out
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=run_playbook(path, emulator)))
    runner.start()
    deadline = time.monotonic() + 60
    while not emulator.admin("requests")["by_rpc"].get("UpdateService"):
        assert time.monotonic() < deadline, "the write never came"
        time.sleep(0.05)
    emulator.admin("faults", {"latency_ms": 0, "outage_ms": 2000})
    runner.join(timeout=300)
    result = outcome["result"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    got = service(emulator, name)
    assert got["template"]["containers"][0]["env"] == [{"name": "APP_N", "value": "slow"}]
    assert got["terminalCondition"]["state"] == "CONDITION_SUCCEEDED"


def test_invoker_iam_disabled_is_public_without_an_iam_write(emulator, tmp_path):  # noqa: F811
    name = "sem-noiam"
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, deploy_task(name, invoker_iam_disabled=True, allow_unauthenticated=True), emulator)
    assert result.returncode == 0, result.output[-4000:]
    counted = emulator.admin("requests")["by_rpc"]
    assert "SetIamPolicy" not in counted and "GetIamPolicy" not in counted
    with urllib.request.urlopen(service(emulator, name)["uri"], timeout=20) as response:  # no Authorization
        assert response.status == 200
    again = play(tmp_path, deploy_task(name, invoker_iam_disabled=True, allow_unauthenticated=True), emulator)
    assert "changed=0" in again.stdout


def test_domain_restricted_sharing_names_invoker_iam_disabled(emulator, tmp_path):  # noqa: F811
    name = "sem-drs"
    emulator.admin("faults", {"drs": True})
    result = play(tmp_path, deploy_task(name, allow_unauthenticated=True), emulator)
    assert result.returncode != 0
    assert "do not belong to a permitted customer" in result.stdout
    assert "Set invoker_iam_disabled: true" in result.stdout
    assert f"Service '{name}' was updated" in result.stdout  # what was done, and what was not
    assert "allow_unauthenticated was not applied" in result.stdout
    fixed = play(tmp_path, deploy_task(name, invoker_iam_disabled=True, allow_unauthenticated=True), emulator)
    assert fixed.returncode == 0, fixed.output[-4000:]


@pytest.mark.parametrize("options, names", [
    ({"cpu": "0.5", "memory": "2Gi", "concurrency": 1}, ["cpu 0.5", "memory 2Gi"]),
    ({"cpu": "4", "memory": "1Gi"}, ["cpu 4", "memory 1Gi"]),
    ({"cpu": "0.5", "memory": "512Mi", "concurrency": 1, "cpu_idle": False}, ["cpu 0.5", "cpu_idle false"]),
    ({"memory": "256Mi", "execution_environment": "gen2"}, ["memory 256Mi", "execution_environment gen2"]),
])
def test_cpu_memory_rules_refused_before_any_request(emulator, tmp_path, options, names):  # noqa: F811
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, deploy_task("sem-limits", **options), emulator)
    assert result.returncode != 0
    for text in names:
        assert text in result.stdout, result.stdout[-3000:]
    assert emulator.admin("requests")["total"] == 0


def test_cpu_rules_with_the_services_own_value_are_refused_before_any_write(emulator, tmp_path):  # noqa: F811
    name = "sem-limits-merged"
    assert play(tmp_path, deploy_task(name, concurrency=80), emulator).returncode == 0
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, deploy_task(name, cpu="0.5"), emulator)
    assert result.returncode != 0
    assert "concurrency 80 (the service's value)" in result.stdout, result.stdout[-3000:]
    assert emulator.admin("requests")["writes"] == 0
