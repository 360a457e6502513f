"""The emulator runs real apps (issue 16): Google's Flask + gunicorn sample, with packages of its own.

A copy of inventories/local pointed at another source folder, as the README tells a user to try
their own service: tests/integration/apps/flask-hello, written as Cloud Run's Python sample is
(requirements.txt, legacy ``ENV KEY value``, ``WORKDIR $APP_HOME``, a shell-form
``CMD exec gunicorn --bind :$PORT``). Neither Flask nor gunicorn is in this repository's .venv:
the emulator runs the Dockerfile's ``RUN pip install`` into the image's own environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import urllib.request

import pytest

from emulator.testing import request_json
from test_deploy_playbook import repository_copy

APP = os.path.join("tests", "integration", "apps", "flask-hello")
PARENT = "projects/xai-community-local/locations/asia-northeast3"
HOST_VARS = f"""---
cloudrun_deploy_source: "{{{{ inventory_dir }}}}/../../{APP}"
cloudrun_deploy_image_repository: asia-northeast3-docker.pkg.dev/xai-community-local/apps/flask-hello
cloudrun_deploy_allow_unauthenticated: true
cloudrun_deploy_health_json: {{status: ok}}
cloudrun_deploy_env:
  NAME: Cloud Run
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    for copy in repository_copy(tmp_path_factory, "apps"):  # one copy; its emulator stops when the loop ends
        # The README's way: a copy of inventories/local, its one host the user's service.
        flask = os.path.join(copy.path, "inventories", "flask")
        shutil.copytree(os.path.join(copy.path, "inventories", "local"), flask)
        shutil.rmtree(os.path.join(flask, "host_vars"))
        os.makedirs(os.path.join(flask, "host_vars"))
        with open(os.path.join(flask, "hosts.yml"), "w", encoding="utf-8") as handle:
            handle.write("---\nlocal:\n  hosts:\n    flask-hello:\n")
        with open(os.path.join(flask, "host_vars", "flask-hello.yml"), "w", encoding="utf-8") as handle:
            handle.write(HOST_VARS)
        yield copy


def deploy(repo):
    return repo.playbook("deploy", inventory="inventories/flask")


def service(repo):
    return request_json(f"{repo.api}/v2/{PARENT}/services/flask-hello")


def answer(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def build_logs(repo):
    """The text of each build's log, oldest first, from the logs bucket as Cloud Build writes it."""
    # The role builds in Cloud Build's global region (cloudbuild_submit build_region).
    builds = request_json(f"{repo.api}/v1/projects/xai-community-local/locations/global/builds").get("builds", [])
    texts = []
    for build in sorted(builds, key=lambda b: b["createTime"]):
        bucket = build["logsBucket"][len("gs://"):]
        with urllib.request.urlopen(f"{repo.api}/download/storage/v1/b/{bucket}/o/log-{build['id']}.txt?alt=media",
                                    timeout=10) as response:
            texts.append(response.read().decode())
    return texts


def test_the_flask_sample_deploys_with_its_own_packages(repo):
    assert importlib.util.find_spec("flask") is None and importlib.util.find_spec("gunicorn") is None
    result = deploy(repo)
    assert result.returncode == 0, result.output[-6000:]
    body = answer(service(repo)["uri"] + "/")
    assert body["message"] == "Hello Cloud Run!" and body["server"].startswith("gunicorn/")
    log = build_logs(repo)[-1]
    assert "RUN pip install --no-cache-dir -r requirements.txt" in log
    assert "Python 3.11 for python:3.11-slim" in log


def test_a_second_build_of_the_same_dependencies_reuses_their_environment(repo):
    path = os.path.join(repo.path, APP, "main.py")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n# a code change, the same requirements\n")
    result = deploy(repo)
    assert result.returncode == 0, result.output[-6000:]
    assert "Python dependencies: reusing environment" in build_logs(repo)[-1]


def test_editing_the_source_does_not_change_what_a_built_image_runs(repo):
    path = os.path.join(repo.path, APP, "main.py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source.replace("Hello {", "Edited {"))
    # The revision starts again from its image (the emulator restarted on its state: a cold start).
    repo.stop()
    repo.ensure_emulator()
    assert answer(service(repo)["uri"] + "/")["message"] == "Hello Cloud Run!"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(source)


def test_a_requirement_that_does_not_exist_fails_the_build_with_pip_s_message(repo):
    with open(os.path.join(repo.path, APP, "requirements.txt"), "a", encoding="utf-8") as handle:
        handle.write("nadle-no-such-package-7f3a==1.0\n")
    result = deploy(repo)
    assert result.returncode != 0
    assert "No matching distribution found for nadle-no-such-package-7f3a==1.0" in result.output, result.output[-6000:]
    assert "returned a non-zero code: 1" in result.output
