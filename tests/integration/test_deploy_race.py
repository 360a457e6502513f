"""Two deploys of one service at once (playbooks/deploy.yml, inventories/local, on a copy of the repo):
the one that loses the candidate tag fails, names the other's revision, and does not undo its traffic."""

from __future__ import annotations

# repo is module-scoped: this file gets a copy of the repository and an emulator of its own.
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
