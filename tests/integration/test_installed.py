"""The collection as a user gets it (issue 18): the built tarball, installed with ansible-galaxy into an empty path.

No repository files are used after the install: no ansible.cfg, no .collections link, no emulator
code in the collection. A play with FQCNs and module_defaults, and the collection's own deploy
playbook run by its FQCN (``ansible-playbook nadle.cloudrun.deploy``, as docs/ci.md does), go
against the emulator.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from emulator.testing import ROOT
from test_targets import IMAGE, emulator  # noqa: F401  pylint: disable=unused-import

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(collections path, environment for ansible commands that see only it)."""
    where = tmp_path_factory.mktemp("installed")
    built = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--force", "--output-path",
                            str(where), ROOT], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next(p for p in os.listdir(where) if p.endswith(".tar.gz"))
    path = where / "collections"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ANSIBLE_") and k not in ("PYTHONPATH", "CLOUDRUN_EMULATOR_HOST")}
    (where / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")  # an empty one: not the repository's
    env.update(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_CONFIG=str(where / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    install = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(path),
                              str(where / tarball)], capture_output=True, text=True, check=False, env=env, cwd=where)
    assert install.returncode == 0, install.stdout + install.stderr
    root = path / "ansible_collections" / "nadle" / "cloudrun"
    assert (root / "MANIFEST.json").is_file() and not (root / "emulator").exists() and not (root / "tests").exists()
    return where, env


def test_a_play_with_fqcns_and_module_defaults_runs_from_the_installed_collection(installed, emulator):  # noqa: F811
    where, env = installed
    playbook = where / "play.yml"
    playbook.write_text(f"""
- hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/nadle.cloudrun.gcp: {{project: installed, region: europe-west1, api_endpoint: "{emulator.endpoint}"}}
  tasks:
    - name: A service from the installed collection
      nadle.cloudrun.cloudrun_service:
        name: from-galaxy
        image: {IMAGE}:v1
        allow_unauthenticated: true
      register: made
    - name: It answers
      nadle.cloudrun.http_healthcheck:
        url: "{{{{ made.service.uri }}}}/"
        id_token: never
    - name: Read it back
      nadle.cloudrun.cloudrun_service_info:
        name: from-galaxy
      register: found
    - name: What was made is what is read
      ansible.builtin.assert:
        that: found.services[0].uri == made.service.uri
""", encoding="utf-8")
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook)], cwd=where, env=env,
                            capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_deploy_playbook_runs_by_its_fqcn(installed, emulator):  # noqa: F811
    where, env = installed
    inventory = where / "inventory.yml"
    inventory.write_text(f"""
prod:
  hosts:
    galaxy-deployed:
  vars:
    ansible_connection: local
    cloudrun_deploy_project: installed
    cloudrun_deploy_region: europe-west1
    cloudrun_deploy_api_endpoint: "{emulator.endpoint}"
    cloudrun_deploy_image: {IMAGE}:v1
    cloudrun_deploy_allow_unauthenticated: true
    cloudrun_deploy_health_path: /
    cloudrun_deploy_health_json: null
""", encoding="utf-8")
    for run in range(2):
        result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "nadle.cloudrun.deploy", "-i", str(inventory)],
                                cwd=where, env=env, capture_output=True, text=True, check=False, timeout=300)
        assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
        assert ("changed=0" in result.stdout) == (run == 1), result.stdout[-3000:]
