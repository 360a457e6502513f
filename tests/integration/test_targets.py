"""Run every integration target with real ansible-playbook against a real emulator."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from emulator.testing import ROOT, EmulatorProcess

TARGETS_DIR = os.path.join(ROOT, "tests", "integration", "targets")
TARGETS = sorted(t for t in os.listdir(TARGETS_DIR) if not t.startswith("setup_"))
ECHO_APP = os.path.join(ROOT, "emulator", "tests", "apps", "echo")
IMAGE = "europe-west1-docker.pkg.dev/integration/apps/echo"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    v2 = tmp_path_factory.mktemp("echo-v2")
    shutil.copy(os.path.join(ECHO_APP, "app.py"), v2)
    with open(os.path.join(ECHO_APP, "Dockerfile"), encoding="utf-8") as handle:
        dockerfile = handle.read().replace("hello from the image", "hello from v2")
    (v2 / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    images = {f"{IMAGE}:v1": ECHO_APP, f"{IMAGE}:v2": str(v2)}
    with EmulatorProcess(images=images, startup_timeout=8) as emu:
        yield emu


def run_target(target, emulator, tmp_path, verbosity=0):
    playbook = tmp_path / "run.yml"
    playbook.write_text(f"- hosts: localhost\n  gather_facts: false\n  roles:\n    - {target}\n", encoding="utf-8")
    env = dict(os.environ,
               CLOUDRUN_EMULATOR_HOST=emulator.host,
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_ROLES_PATH=TARGETS_DIR,
               ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
            "-e", f"emulator_url={emulator.endpoint}", "-e", f"image_v1={IMAGE}:v1", "-e", f"image_v2={IMAGE}:v2"]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, emulator, tmp_path):
    result = run_target(target, emulator, tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
