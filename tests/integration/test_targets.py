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


def run_target(target, emulator, tmp_path):
    playbook = tmp_path / "run.yml"
    playbook.write_text(f"- hosts: localhost\n  gather_facts: false\n  roles:\n    - {target}\n", encoding="utf-8")
    return run_playbook(playbook, emulator)


def run_playbook(playbook, emulator, options=()):
    """ansible-playbook against the emulator, as a user would run it; returns the CompletedProcess."""
    env = dict(os.environ,
               CLOUDRUN_EMULATOR_HOST=emulator.host,
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_ROLES_PATH=TARGETS_DIR,
               ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
            "-e", f"emulator_url={emulator.endpoint}", "-e", f"image_v1={IMAGE}:v1", "-e", f"image_v2={IMAGE}:v2",
            "-e", f"echo_app_dir={ECHO_APP}", "-e", f"repo_root={ROOT}", *options]
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.parametrize("target", TARGETS)
def test_target(target, emulator, tmp_path):
    result = run_target(target, emulator, tmp_path)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]


# A play against the emulator's integration project; its tasks go in where PLAY_TASKS stands.
PLAY_TASKS = "%(tasks)s"
PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/nadle.cloudrun.gcp: {project: integration, region: europe-west1}
  tasks:
""" + PLAY_TASKS
SECRET_PLAY = PLAY.replace(PLAY_TASKS, """    - name: Secrets through cloudrun_service
      nadle.cloudrun.cloudrun_service:
        name: vvv-secrets
        image: %(image)s
        env: {APP_PLAIN: visible}
        secrets: {APP_TOKEN: %(service_secret)s}
    - name: Secrets through cloudrun_env, from a value and from a .env file
      nadle.cloudrun.cloudrun_env:
        name: vvv-secrets
        env_files: [%(env_file)s]
        secret_keys: [DB_PASSWORD]
        secrets: {APP_TOKEN: %(env_secret)s}
    - name: Again, nothing to change
      nadle.cloudrun.cloudrun_env:
        name: vvv-secrets
        env_files: [%(env_file)s]
        secret_keys: [DB_PASSWORD]
        secrets: {APP_TOKEN: %(env_secret)s}
    - name: Read it back
      nadle.cloudrun.cloudrun_service_info:
        name: vvv-secrets
    - name: Clean up
      nadle.cloudrun.cloudrun_service:
        name: vvv-secrets
        state: absent
""")


def test_no_secret_value_in_vvv_output(emulator, tmp_path):
    values = {"service_secret": "svc-s3cret-4e1d9", "env_secret": "env-s3cret-77b0c", "file_secret": "file-s3cret-a21f"}
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"DB_PASSWORD={values['file_secret']}\r\nDB_USER=app\r\n", encoding="utf-8")
    playbook = tmp_path / "secrets.yml"
    playbook.write_text(SECRET_PLAY % dict(values, image=f"{IMAGE}:v1", env_file=env_file), encoding="utf-8")
    result = run_playbook(playbook, emulator, ["-vvv", "--diff"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert "ESTABLISH LOCAL CONNECTION" in output and '"module_args"' in output  # really -vvv
    for name, value in values.items():
        assert value not in output, f"{name} appears in the -vvv output"
