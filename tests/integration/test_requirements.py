"""Each module in a virtualenv that holds only what its documentation's ``requirements`` list (issue 12).

A user installs what ansible-doc says; the module must then run, and with one of those missing it
must fail with Ansible's missing_required_lib message, never an ImportError. The virtualenvs are real
(``python -m venv``, no system site-packages) and get exactly the listed distributions and what they
depend on, linked file by file from this repository's .venv (so no download, and the same versions).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from emulator.testing import ROOT
from test_targets import IMAGE, emulator, run_playbook  # noqa: F401  pylint: disable=unused-import

MODULES = ["cloudbuild_submit", "cloudrun_env", "cloudrun_preflight", "cloudrun_service", "cloudrun_service_info",
           "cloudrun_traffic", "http_healthcheck", "project_apis"]
# (module, a documented requirement left out): the module must say so with missing_required_lib.
WITHOUT = [("cloudrun_traffic", "google-cloud-run"), ("cloudrun_preflight", "docker"),
           ("project_apis", "google-cloud-service-usage"), ("cloudbuild_submit", "google-cloud-artifact-registry")]


def documented_requirements():
    """{module: [pip names]} from ansible-doc, with the doc fragments' requirements merged in."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    answer = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "--json", "-t", "module"]
                            + [f"nadle.cloudrun.{m}" for m in MODULES], cwd=ROOT, env=env, capture_output=True,
                            text=True, check=True)
    docs = json.loads(answer.stdout)
    return {m: [re.split(r"[ <>=(]", r.strip())[0] for r in docs[f"nadle.cloudrun.{m}"]["doc"].get("requirements", [])]
            for m in MODULES}


def closure(names):
    """The installed distributions ``names`` need: themselves and their dependencies, recursively."""
    seen, todo = {}, list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen.values()


def make_venv(path, names):
    """A virtualenv at ``path`` holding exactly ``names`` (pip names) and their dependencies."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = path / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for dist in closure(names):
        for entry in dist.files or []:
            source = os.path.realpath(dist.locate_file(entry))
            if "__pycache__" in entry.parts or entry.parts[0] == ".." or not os.path.isfile(source):
                continue
            target = site / entry
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.symlink_to(source)
    return str(path / "bin" / "python")


PLAYS = {  # every module in MODULES
    "project_apis": "nadle.cloudrun.project_apis: {apis: [run.googleapis.com]}",
    "http_healthcheck": "nadle.cloudrun.http_healthcheck: {url: '{{ emulator_url }}/_emulator/health', "
                        "id_token: never}",
    "cloudrun_service": "nadle.cloudrun.cloudrun_service: {name: req-svc, image: '{{ image_v1 }}'}",
    "cloudrun_env": "nadle.cloudrun.cloudrun_env: {name: req-svc, env: {ONE: '1'}}",
    "cloudrun_traffic": "nadle.cloudrun.cloudrun_traffic: {name: req-svc}",
    "cloudrun_service_info": "nadle.cloudrun.cloudrun_service_info: {name: req-svc}",
    "cloudrun_preflight": "nadle.cloudrun.cloudrun_preflight: {path: '{{ echo_app_dir }}', compare: true, "
                          "service: {name: req-svc, image: '{{ image_v1 }}', env: {ONE: '1'}}}",
    "cloudbuild_submit": "nadle.cloudrun.cloudbuild_submit: {path: '{{ echo_app_dir }}', "
                         "image: europe-west1-docker.pkg.dev/integration/apps/req-built}",
}


def play(name, python, task, missing=None):
    """One play: ``task`` run by ``python``; with ``missing``, it must fail with missing_required_lib's words."""
    text = f"""
- name: {name}
  hosts: localhost
  gather_facts: false
  vars: {{ansible_python_interpreter: {python}}}
  module_defaults:
    group/nadle.cloudrun.gcp: {{project: integration, region: europe-west1}}
  tasks:
    - name: {name}
      {task}
"""
    if missing:
        text += f"""      register: answer
      ignore_errors: true
    - name: It names the library, as missing_required_lib does
      ansible.builtin.assert:
        that:
          - answer is failed
          - "'Failed to import the required Python library ({missing})' in answer.msg"
          - "'Traceback' not in answer.msg"
        fail_msg: "{{{{ answer | to_json }}}}"
"""
    return text


@pytest.fixture(scope="module")
def requirements():
    return documented_requirements()


def test_every_module_documents_what_it_imports(requirements):
    assert set(requirements["cloudrun_traffic"]) == {"google-auth", "google-api-core", "requests", "google-cloud-run",
                                                     "proto-plus"}
    assert {"docker", "dockerfile-parse", "pathspec", "python-dotenv"} <= set(requirements["cloudrun_preflight"])
    assert "google-cloud-run" not in requirements["http_healthcheck"]


def test_each_module_runs_with_only_its_documented_requirements_and_names_a_missing_one(
        requirements, emulator, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    plays = []
    for module in PLAYS:  # in the order they build on each other: the service first
        python = make_venv(tmp_path / module, requirements[module])
        plays.append(play(f"{module} with only its documented requirements", python, PLAYS[module]))
    for module, left_out in WITHOUT:
        python = make_venv(tmp_path / f"{module}-without", [r for r in requirements[module] if r != left_out])
        plays.append(play(f"{module} without {left_out}", python, PLAYS[module], missing=left_out))
    playbook = tmp_path / "requirements.yml"
    playbook.write_text("---" + "".join(plays), encoding="utf-8")
    result = run_playbook(playbook, emulator)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
    assert "failed=0" in result.stdout and "Traceback" not in result.stdout
