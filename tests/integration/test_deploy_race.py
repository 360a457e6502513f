"""Two deploys of one service at once (playbooks/deploy.yml, inventories/local, on a copy of the repo):
the one that loses the candidate tag fails, names the other's revision, and does not undo its traffic."""

from __future__ import annotations

# repo is module-scoped: this file gets a copy of the repository and an emulator of its own.
from emulator.testing import request_json
from test_deploy_playbook import health, repo, serving  # noqa: F401  pylint: disable=unused-import


def test_a_deploy_that_lost_the_tag_fails_and_leaves_the_other_deploys_traffic(repo):  # noqa: F811
    assert repo.playbook("deploy").returncode == 0
    first = repo.start_half_rollout("768Mi", pause=45)
    try:
        # A second deploy of the same service, while the first one waits between its steps.
        second = repo.playbook("deploy", "-e", "cloudrun_deploy_memory=1Gi", "-e", "cloudrun_deploy_step_pause=0",
                               "-e", '{"cloudrun_deploy_traffic_steps": [100]}')
        assert second.returncode == 0, second.output[-6000:]
        theirs = [r["name"].rsplit("/", 1)[-1] for r in repo.revisions()
                  if r["containers"][0]["resources"]["limits"]["memory"] == "1Gi"][0]
        output = first.communicate(timeout=300)[0]
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode != 0, output[-6000:]
    assert f"now names revision {theirs}" in output, output[-6000:]
    assert "Traffic was left as it is" in output, output[-6000:]
    assert serving(repo.service()) == {theirs: 100}  # the second deploy's change was not undone
    assert health(repo.service()["uri"])["status"] == "healthy"


def test_a_rollback_made_during_a_rollout_stays_and_the_rollout_fails_naming_it(repo):  # noqa: F811
    """Issue 26: the rollout's next step promoted its revision again, silently undoing the rollback."""
    first = repo.start_half_rollout("640Mi", pause=20)
    try:
        rolled = repo.playbook("rollback")
        assert rolled.returncode == 0, rolled.output[-6000:]
        after_rollback = serving(repo.service())
        output = first.communicate(timeout=300)[0]
    finally:
        if first.poll() is None:
            first.kill()
    assert list(after_rollback.values()) == [100]
    assert first.returncode != 0, output[-6000:]
    assert "Someone else moved the traffic since" in output, output[-6000:]
    assert serving(repo.service()) == after_rollback  # the rollback stayed


def test_a_failed_rollout_puts_back_its_traffic_without_taking_the_tag_from_the_other_deploy(repo):  # noqa: F811
    """Issue 26: the failed run's restore moved the candidate tag back to its own revision, so the other deploy,
    whose candidate it was, failed too."""
    first = repo.start_half_rollout("704Mi", pause=8)
    try:
        # Another deploy makes its candidate, as cloudrun_service does: a new revision, the tag moved to it.
        service = repo.service()
        theirs = f"{service['name'].rsplit('/', 1)[-1]}-other-deploy"
        service["template"]["revision"] = theirs
        service["template"]["containers"][0]["resources"]["limits"]["memory"] = "832Mi"
        service["traffic"] = [dict(t, tag=None) if t.get("tag") == "candidate" else t for t in service["traffic"]]
        service["traffic"].append({"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": theirs,
                                   "tag": "candidate"})
        request_json(f"{repo.api}/v2/{service['name']}", service, method="PATCH")
        output = first.communicate(timeout=300)[0]
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode != 0 and f"now names revision {theirs}" in output, output[-6000:]
    tags = {t["tag"]: t.get("revision") for t in repo.service()["traffic"] if t.get("tag")}
    assert tags.get("candidate") == theirs, repo.service()["traffic"]  # still the other deploy's candidate
    assert list(serving(repo.service()).values()) == [100]  # this run's 50% was put back
