"""A deploy that can be rerun, raced and read safely: module-level checks against the emulator."""

from __future__ import annotations

import json
import re

from test_cloud_run_semantics import (  # noqa: F401  pylint: disable=unused-import
    clean_faults, deploy_task, play, revisions, service,
)
from test_targets import emulator  # noqa: F401  pylint: disable=unused-import


def task(module, **options):
    return ("    - nadle.cloudrun.%s: %s\n      register: out\n"
            "    - ansible.builtin.debug: {msg: \"RESULT={{ out | to_json }}\"}\n") % (module, json.dumps(options))


def result_of(output):
    """The registered result the play printed (the debug line's JSON, as the default callback quotes it)."""
    quoted = re.search(r'"msg": "RESULT=(.*)"\n', output).group(1)
    return json.loads(json.loads(f'"{quoted}"'))


def test_a_failed_revision_is_tried_again_on_an_unchanged_rerun(emulator, tmp_path):  # noqa: F811
    name = "recover-rerun"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    broken = deploy_task(name, env={"REQUIRED_ENV": "APP_DB"})
    first = play(tmp_path, broken, emulator)
    assert first.returncode != 0 and "is not ready and cannot serve traffic" in first.stdout
    made = revisions(emulator, name)
    again = play(tmp_path, broken, emulator)  # nothing changed in the options: the cause was elsewhere
    assert again.returncode != 0 and "is not ready and cannot serve traffic" in again.stdout
    assert len(revisions(emulator, name)) == len(made) + 1  # a new revision, not the old failure again
    assert f"Revision {made[0]} failed before" in again.output and "tries again as" in again.output
    fixed = play(tmp_path, deploy_task(name, env={"REQUIRED_ENV": "APP_DB", "APP_DB": "mongodb://db"}), emulator)
    assert fixed.returncode == 0, fixed.output[-4000:]
    emulator.admin("requests", method="DELETE")
    rerun = play(tmp_path, deploy_task(name, env={"REQUIRED_ENV": "APP_DB", "APP_DB": "mongodb://db"}), emulator)
    assert "changed=0" in rerun.stdout and emulator.admin("requests")["writes"] == 0


def test_reading_the_traffic_never_writes(emulator, tmp_path):  # noqa: F811
    name = "recover-read"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    failing = deploy_task(name, env={"REQUIRED_ENV": "APP_DB"}, tag="candidate", no_traffic=True)
    assert play(tmp_path, failing, emulator).returncode != 0  # a tag on a revision that failed
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, task("cloudrun_traffic", name=name), emulator)
    assert result.returncode == 0, result.output[-4000:]
    assert "changed=0" in result.stdout and emulator.admin("requests")["writes"] == 0


def test_promote_refuses_a_tag_another_deploy_moved(emulator, tmp_path):  # noqa: F811
    name = "recover-race"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    mine = play(tmp_path, deploy_task(name, env={"APP_RUN": "a"}, tag="candidate", no_traffic=True), emulator)
    my_revision = re.search(r"REVISION=([a-z0-9-]+)", mine.stdout).group(1)
    theirs = play(tmp_path, deploy_task(name, env={"APP_RUN": "b"}, tag="candidate", no_traffic=True), emulator)
    their_revision = re.search(r"REVISION=([a-z0-9-]+)", theirs.stdout).group(1)
    emulator.admin("requests", method="DELETE")
    result = play(tmp_path, task("cloudrun_traffic", name=name, promote="candidate", revision=my_revision), emulator)
    assert result.returncode != 0
    assert f"now names revision {their_revision}" in result.stdout and my_revision in result.stdout
    assert emulator.admin("requests")["writes"] == 0


def test_cloudrun_env_masks_secret_values_only(emulator, tmp_path):  # noqa: F811
    name = "recover-env-mask"
    assert play(tmp_path, deploy_task(name), emulator).returncode == 0
    env = {"APP_DEBUG": "1", "APP_LEVEL": "2", "APP_REGION": "europe-west1"}
    result = play(tmp_path, task("cloudrun_env", name=name, env=env), emulator)
    assert result.returncode == 0, result.output[-4000:]
    got = result_of(result.stdout)
    assert got["service"]["uri"] == service(emulator, name)["uri"]  # not "http://1********7.0.0.1:..."
    assert got["service"]["traffic"][0]["percent"] == 100
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" not in result.stdout
