"""The first deploy on a new project (issue 12): playbooks/deploy.yml against an emulator started as one.

A fresh project has only Google's default APIs on, no Artifact Registry repository, and a revision
reads a secret only with secretAccessor on it. The tests run in file order on one copy of the repo.
"""

from __future__ import annotations

import os

import pytest

from emulator.iam import project_number
from emulator.testing import admin, request_json
from test_deploy_playbook import HOST_VARS, SERVICE, health, recap, repository_copy

PROJECT = "xai-community-local"
OFF = ["artifactregistry.googleapis.com", "cloudbuild.googleapis.com", "run.googleapis.com",
       "secretmanager.googleapis.com"]
REPOSITORY = f"projects/{PROJECT}/locations/asia-northeast3/repositories/apps"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "fresh", "--fresh-project")


def test_without_enabling_the_run_fails_before_any_write_listing_the_apis_that_are_off(fresh):
    assert admin(fresh.api, "project")["fresh"] is True
    fresh.reset_requests()
    result = fresh.playbook("deploy")
    assert result.returncode != 0
    counted = fresh.requests()
    assert counted["writes"] == 0, counted
    message = result.output[result.output.index("these APIs are not enabled"):]
    for api in OFF:
        assert f"- {api}" in message
    assert "logging.googleapis.com" not in message.split("Enable them")[0]  # on by default in a new project
    assert f"gcloud services enable {' '.join(OFF)} --project {PROJECT}" in message
    assert "cloudrun_deploy_enable_apis: true" in message
    # Preflight's read met SERVICE_DISABLED and said "not settled"; the API check spoke for all of them.
    assert counted["by_rpc"].get("BatchGetApis") == 1, counted


def test_a_deployer_who_may_not_read_the_apis_is_told_how_to_skip_the_check(fresh):
    """Issue 27: a least-privilege deployer without serviceusage.services.get stopped at the API check on every
    changed deploy, and the message did not say cloudrun_deploy_check_apis: false."""
    fresh.fault({"error_count": 1, "error_status": 403, "methods": ["BatchGetApis"]})
    fresh.reset_requests()
    try:
        result = fresh.playbook("deploy")
    finally:
        fresh.fault(None)
    assert result.returncode != 0
    assert "needs serviceusage.services.get (roles/serviceusage.serviceUsageViewer)" in result.output
    assert "cloudrun_deploy_check_apis: false" in result.output, result.output[-4000:]
    assert fresh.requests()["writes"] == 0


def test_with_enable_apis_and_create_repository_one_run_deploys_with_its_secrets(fresh):
    with open(os.path.join(fresh.path, HOST_VARS), "a", encoding="utf-8") as handle:
        handle.write("\ncloudrun_deploy_enable_apis: true\ncloudrun_deploy_create_repository: true\n")
    # Issue 27: an API enabled a moment ago answers SERVICE_DISABLED for a while, and a secret access granted a
    # moment ago is not in effect yet; the run waits out what it enabled and granted (without the waits, the
    # build's first call failed with 403, and the migration job with "Permission denied on secret").
    fresh.fault({"api_enable_delay_ms": 6000, "iam_delay_ms": 5000})
    try:
        result = fresh.playbook("deploy")
    finally:
        fresh.fault(None)
    assert result.returncode == 0, result.output[-6000:]
    project = admin(fresh.api, "project")
    assert project["enabled"][project_number(PROJECT)] == OFF
    assert project["repositories"] == [REPOSITORY]
    service = fresh.service()
    assert health(service["uri"]) == {"status": "healthy", "service": SERVICE}
    # The secrets the role wrote are readable by the account the revision runs as (the project's
    # default compute account): the emulator enforces it in a fresh project, and shows the binding.
    account = f"serviceAccount:{project_number(PROJECT)}-compute@developer.gserviceaccount.com"
    refs = [e["valueSource"]["secretKeyRef"]["secret"] for e in service["template"]["containers"][0]["env"]
            if "valueSource" in e]
    assert len(refs) == 2
    for secret in refs:
        policy = request_json(f"{fresh.api}/v1/projects/{PROJECT}/secrets/{secret}:getIamPolicy")
        assert {"role": "roles/secretmanager.secretAccessor", "members": [account]} in policy["bindings"]


def test_the_second_run_changes_nothing_and_writes_nothing(fresh):
    fresh.reset_requests()
    result = fresh.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] == 0, result.stdout[-6000:]
    counted = fresh.requests()
    assert counted["writes"] == 0, counted
    assert "BatchGetApis" not in counted["by_rpc"]  # its reads found the APIs on: no API check


def test_a_push_to_a_repository_that_does_not_exist_fails_the_build_before_the_upload(fresh):
    fresh.edit(HOST_VARS, "/apps/xai-community-backend", "/other/xai-community-backend")
    fresh.edit(HOST_VARS, "cloudrun_deploy_create_repository: true", "cloudrun_deploy_create_repository: false")
    fresh.reset_requests()
    result = fresh.playbook("deploy")
    assert result.returncode != 0
    assert "the Artifact Registry repository other does not exist in asia-northeast3 of project " \
           f"{PROJECT}" in result.output
    assert "gcloud artifacts repositories create other --repository-format=docker --location=asia-northeast3 " \
           f"--project={PROJECT}" in result.output
    counted = fresh.requests()
    assert counted["writes"] == 0, counted
    assert "UploadObject" not in counted["by_rpc"]
