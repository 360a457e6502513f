"""A migration job before traffic (issue 17): playbooks/deploy.yml with inventories/local's migration job.

The local inventory runs examples/xai-community-backend/migrate.py as the Cloud Run job
xai-community-backend-migrate with each new image, before the new revision is made. A failing
migration stops the deploy with nothing deployed and no traffic moved, and the report names the
job, its exit code and its log lines; fixed, the next run goes live.
"""

from __future__ import annotations

import os

import pytest

from emulator.testing import request_json
from test_deploy_playbook import HOST_VARS, PARENT, health, recap, repository_copy, serving

JOB = f"{PARENT}/jobs/xai-community-backend-migrate"
MAIN = os.path.join("examples", "xai-community-backend", "main.py")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "jobs")


def executions(repo):
    return request_json(f"{repo.api}/v2/{JOB}/executions").get("executions", [])


def job_logs(repo, execution):
    body = {"resourceNames": ["projects/xai-community-local"],
            "filter": 'resource.type="cloud_run_job" AND resource.labels.job_name="xai-community-backend-migrate" '
                      f'AND labels."run.googleapis.com/execution_name"="{execution["name"].rsplit("/", 1)[-1]}"'}
    return [e["textPayload"] for e in request_json(f"{repo.api}/v2/entries:list", body).get("entries", [])]


def new_release(repo, number):
    """A source change, so the next deploy builds a new image (the migration runs with new images only)."""
    with open(os.path.join(repo.path, MAIN), "a", encoding="utf-8") as handle:
        handle.write(f"\n# release {number}\n")


def test_the_first_deploy_runs_the_migration_before_the_service_and_a_rerun_runs_nothing(repo):
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    ran = executions(repo)
    assert len(ran) == 1 and ran[0]["succeededCount"] == 1
    assert "Index users.email (unique): would be created if missing." in job_logs(repo, ran[0])
    job = request_json(f"{repo.api}/v2/{JOB}")
    image = job["template"]["template"]["containers"][0]["image"]
    assert image == repo.service()["template"]["containers"][0]["image"]  # the image the revision runs
    # The job reads the service's own secrets, not copies of them.
    env = {e["name"]: e for e in job["template"]["template"]["containers"][0]["env"]}
    assert env["MONGODB_URL"]["valueSource"]["secretKeyRef"]["secret"] == "xai-community-backend_MONGODB_URL"
    assert ran[0]["createTime"] < repo.revisions()[0]["createTime"]

    again = repo.playbook("deploy")
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.output[-4000:]
    assert len(executions(repo)) == 1


def test_a_failing_migration_moves_no_traffic_and_names_the_job_then_the_fix_goes_live(repo):
    before = repo.service()
    revisions = len(repo.revisions())
    repo.edit(HOST_VARS, "MONGODB_URL: mongodb://127.0.0.1", "MONGODB_URL: mysql://127.0.0.1")
    new_release(repo, 2)
    failed = repo.playbook("deploy")
    assert failed.returncode != 0
    report = failed.stdout[failed.stdout.index("TASK [nadle.cloudrun.cloudrun_deploy : Report]"):]
    assert 'failed at \\"Run job xai-community-backend-migrate\\"' in report, report
    assert "Job xai-community-backend-migrate failed: execution xai-community-backend-migrate-" in report
    assert "Exit code 3." in report
    assert "MONGODB_URL must be a mongodb:// or mongodb+srv:// URL; this one starts with mysql." in report
    assert "No traffic was moved." in report
    assert failed.output.count("MONGODB_URL must be a mongodb://") == 1  # once, in the report
    assert "mysql://127.0.0.1" not in failed.output  # a secret's value, masked even where the app would print it
    assert len(repo.revisions()) == revisions  # no revision was made
    assert serving(repo.service()) == serving(before)

    repo.edit(HOST_VARS, "MONGODB_URL: mysql://127.0.0.1", "MONGODB_URL: mongodb://127.0.0.1")
    fixed = repo.playbook("deploy")
    assert fixed.returncode == 0, fixed.output[-6000:]
    assert executions(repo)[0]["succeededCount"] == 1
    service = repo.service()
    assert len(repo.revisions()) == revisions + 1
    assert list(serving(service)) == [repo.revisions()[0]["name"].rsplit("/", 1)[-1]]
    assert health(service["uri"])["status"] == "healthy"


def test_a_migration_whose_run_answer_was_lost_counts_as_run_and_the_rerun_runs_nothing(repo):
    """Issue 26: Cloud Run started the execution and the answer was lost (a 503 after the commit): reported as
    failed, and the rerun ran the migration a second time."""
    ran = len(executions(repo))
    new_release(repo, 3)
    repo.fault({"commit_then_fail": 1, "error_status": 503, "methods": ["RunJob"]})
    try:
        result = repo.playbook("deploy")
    finally:
        repo.fault(None)
    assert result.returncode == 0, result.output[-6000:]
    assert len(executions(repo)) == ran + 1 and executions(repo)[0]["succeededCount"] == 1
    again = repo.playbook("deploy")
    assert again.returncode == 0 and recap(again)["changed"] == 0, again.output[-4000:]
    assert len(executions(repo)) == ran + 1  # not run again
