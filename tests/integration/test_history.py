"""Rollback goes to what really served (issue 17): deploy A (live), B (rejected by its check), C (live), rollback.

Cloud Run records which revisions were created, not which a deploy verified: the newest ready
revision before C is B, whose candidate check failed. The role records each revision it verified
and promoted in the service's history (the nadle.cloudrun/good-revisions annotation), and
playbooks/rollback.yml goes back to the one recorded before the newest: A.
"""

from __future__ import annotations

import pytest

from test_deploy_playbook import HOST_VARS, PARENT, SERVICE, recap, repository_copy, serving
from emulator.testing import request_json


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "history")


def history(repo):
    return (repo.service().get("annotations") or {}).get("nadle.cloudrun/good-revisions", "").split(",")


def test_a_rejected_candidate_is_never_the_rollback_target(repo):
    assert repo.playbook("deploy").returncode == 0
    a = next(iter(serving(repo.service())))
    assert history(repo) == [a]

    # B: its candidate check fails (the health JSON it must show is not what the app says).
    repo.edit(HOST_VARS, "cloudrun_deploy_memory: 512Mi", "cloudrun_deploy_memory: 1Gi")
    rejected = repo.playbook("deploy", "-e", '{"cloudrun_deploy_health_json": {"status": "never"}}',
                             "-e", "cloudrun_deploy_health_deadline=3")
    assert rejected.returncode != 0
    b = repo.revisions()[0]["name"].rsplit("/", 1)[-1]
    assert list(serving(repo.service())) == [a] and b != a
    assert history(repo) == [a]

    # C: live.
    repo.edit(HOST_VARS, "cloudrun_deploy_memory: 1Gi", "cloudrun_deploy_memory: 768Mi")
    assert repo.playbook("deploy").returncode == 0
    c = next(iter(serving(repo.service())))
    assert c not in (a, b)
    assert history(repo) == [c, a]
    revisions = len(repo.revisions())

    result = repo.playbook("rollback")
    assert result.returncode == 0, result.output[-6000:]
    assert list(serving(repo.service())) == [a], result.stdout[-3000:]
    assert len(repo.revisions()) == revisions  # the history write made no revision
    again = repo.playbook("rollback")
    assert again.returncode == 0 and recap(again)["changed"] == 0


def test_with_one_revision_recorded_the_rollback_goes_to_it_and_not_to_a_rejected_one(repo):
    """Issue 26, "failed, fixed, redeployed": the history holds only the fixed revision C; the newest ready
    revision before it is B, which its check rejected, and the rollback went there (a service answering 500)."""
    revisions = {r["name"].rsplit("/", 1)[-1]: r for r in repo.revisions()}
    c = sorted(revisions)[-1]
    service = repo.service()
    service["annotations"] = dict(service.get("annotations") or {}, **{"nadle.cloudrun/good-revisions": c})
    request_json(f"{repo.api}/v2/{PARENT}/services/{SERVICE}", service, method="PATCH")
    result = repo.playbook("rollback")
    assert result.returncode == 0, result.output[-6000:]
    assert list(serving(repo.service())) == [c], result.stdout[-3000:]
    assert f"no revision was verified good before {c}" in result.output


def test_a_service_without_history_falls_back_and_says_so(repo):
    service = repo.service()
    service["annotations"] = {k: v for k, v in (service.get("annotations") or {}).items()
                              if k != "nadle.cloudrun/good-revisions"}
    request_json(f"{repo.api}/v2/{PARENT}/services/{SERVICE}", service, method="PATCH")
    result = repo.playbook("rollback")
    assert result.returncode == 0, result.output[-6000:]
    assert "has no history of revisions verified good" in result.output
