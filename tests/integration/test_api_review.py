"""The rest of the API review (shared/reference/real-api-findings.md), with real ansible-playbook against
the emulator: writes that are not retried blindly, a build's status, logs that arrive late, a 12 MiB
build context, and check mode with a secret still to be written."""

from __future__ import annotations

import json
import os
import shutil

from emulator.testing import request_json
from test_cloud_run_semantics import (  # noqa: F401  pylint: disable=unused-import
    clean_faults, deploy_task, play, revisions, service,
)
from test_targets import ECHO_APP, IMAGE, emulator  # noqa: F401  pylint: disable=unused-import

BUILD_REPO = "europe-west1-docker.pkg.dev/integration/apps/review"


def versions(emu, secret):
    found = request_json(f"{emu.endpoint}/v1/projects/integration/secrets/{secret}/versions")
    return found.get("versions", [])


def build_task(path, **options):
    body = {"path": str(path), "image": BUILD_REPO}
    body.update(options)
    return ("    - nadle.cloudrun.cloudbuild_submit: %s\n      register: out\n"
            "    - ansible.builtin.debug: {msg: \"IMAGE={{ out.image_digest }}\"}\n") % json.dumps(body)


def source(tmp_path, name, extra=b""):
    folder = tmp_path / name
    shutil.copytree(ECHO_APP, folder)
    if extra:
        (folder / "data.bin").write_bytes(extra)
    return folder


def test_a_create_whose_answer_is_lost_is_one_service_reported_as_created(emulator, tmp_path):  # noqa: F811
    name = "review-lost-create"
    emulator.admin("faults", {"commit_then_fail": 1, "methods": ["CreateService"]})
    result = play(tmp_path, deploy_task(name), emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert "changed: [localhost]" in result.stdout
    made = revisions(emulator, name)
    assert len(made) == 1 and f"REVISION={made[0]}" in result.stdout
    assert service(emulator, name)["terminalCondition"]["state"] == "CONDITION_SUCCEEDED"


def test_an_update_whose_answer_is_lost_makes_one_revision(emulator, tmp_path):  # noqa: F811
    name = "review-lost-update"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    emulator.admin("faults", {"commit_then_fail": 1, "methods": ["UpdateService"]})
    result = play(tmp_path, deploy_task(name, env={"APP_N": "2"}), emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert "changed: [localhost]" in result.stdout
    made = revisions(emulator, name)
    assert len(made) == 2 and f"REVISION={made[0]}" in result.stdout


def test_a_secret_version_whose_answer_is_lost_is_written_once(emulator, tmp_path):  # noqa: F811
    name = "review-lost-version"
    emulator.admin("faults", {"commit_then_fail": 1, "methods": ["AddSecretVersion"]})
    result = play(tmp_path, deploy_task(name, secrets={"APP_TOKEN": "t0ken-value"}), emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert len(versions(emulator, f"{name}_APP_TOKEN")) == 1


def test_a_build_whose_answer_is_lost_runs_once(emulator, tmp_path):  # noqa: F811
    folder = source(tmp_path, "lost-build", b"lost build\n")
    emulator.admin("faults", {"commit_then_fail": 1, "methods": ["CreateBuild"]})
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, build_task(folder), emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert emulator.admin("requests")["by_rpc"]["CreateBuild"] == 1  # listed again, not started again
    listed = request_json(f"{emulator.endpoint}/v1/projects/integration/locations/global/builds")["builds"]
    tag = [t for t in listed[0]["tags"] if t.startswith("src-")][0]
    assert sum(tag in b.get("tags", []) for b in listed) == 1


def test_a_build_counts_only_when_its_status_is_success(emulator, tmp_path):  # noqa: F811
    folder = source(tmp_path, "cancelled-build", b"cancelled build\n")
    emulator.admin("faults", {"build_status": "CANCELLED"})
    result = play(tmp_path, build_task(folder), emulator)
    assert result.returncode != 0
    assert "failed (CANCELLED)" in result.stdout, result.stdout[-3000:]
    assert "Last lines of the build log:" in result.stdout


def test_a_twelve_mib_context_builds_and_deploys(emulator, tmp_path):  # noqa: F811
    folder = source(tmp_path, "big-context", os.urandom(12 * 2**20))  # incompressible: over 8 MiB gzipped
    emulator.admin("requests", method="DELETE")
    built = play(tmp_path, build_task(folder), emulator)
    assert built.returncode == 0, built.output[-4000:]
    assert emulator.admin("requests")["by_rpc"].get("UploadObjectChunk", 0) >= 1  # the resumable protocol
    image = built.stdout.split("IMAGE=", 1)[1].split('"', 1)[0]
    deployed = play(tmp_path, deploy_task("review-big", image=image), emulator)
    assert deployed.returncode == 0, deployed.output[-4000:]


def test_log_lines_that_arrive_late_are_waited_for(emulator, tmp_path):  # noqa: F811
    name = "review-log-lag"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    emulator.admin("faults", {"log_lag_ms": 4000})
    result = play(tmp_path, deploy_task(name, env={"REQUIRED_ENV": "LOGLAG_ONLY_VAR"}), emulator)
    assert result.returncode != 0
    # The API's message only links to the logs; the app's own lines come from Cloud Logging, late.
    assert "Last log lines of" in result.stdout and "loglag_only_var" in result.stdout, result.stdout[-3000:]


def test_check_mode_with_a_secret_still_to_write_asks_the_server_with_a_valid_version(emulator, tmp_path):  # noqa
    name = "review-check-secret"
    assert play(tmp_path, deploy_task(name, secrets={"APP_TOKEN": "first"}), emulator).returncode == 0
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, deploy_task(name, secrets={"APP_TOKEN": "second"}), emulator, "--check", "--diff")
    assert result.returncode == 0, result.output[-4000:]
    assert "changed: [localhost]" in result.stdout and "(new version)" in result.stdout
    counted = emulator.admin("requests")
    assert counted["writes"] == 0 and counted["by_rpc"].get("UpdateService") == 1  # the validateOnly request
    assert len(versions(emulator, f"{name}_APP_TOKEN")) == 1
