"""The collection on another ansible-core: run by ``make compat`` with .venv-2.16 and .venv-2.18 (issue 18).

What differs between ansible-core versions is ansible-core: its argument validation, templating,
role argument specs, module_defaults and action groups, check mode. So a role deploy of the example
app through playbooks/deploy.yml with inventories/local, its rerun, and a check-mode run with a
change, each with that version's ansible-playbook (the interpreter running these tests).
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
# pylint: disable-next=wrong-import-position
from test_deploy_playbook import HOST_VARS, SERVICE, Repo, health, recap  # noqa: E402

import ansible  # noqa: E402  pylint: disable=wrong-import-order


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    copy = Repo(tmp_path_factory.mktemp("compat"))
    yield copy
    copy.stop()


def test_this_is_the_ansible_core_under_test():
    wanted = os.environ.get("NADLE_COMPAT_ANSIBLE")
    assert wanted is None or ansible.__version__.startswith(wanted + "."), ansible.__version__


def test_the_role_deploys_the_example_and_it_answers(repo):
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert health(repo.service()["uri"]) == {"status": "healthy", "service": SERVICE}


def test_the_rerun_changes_nothing_and_writes_nothing(repo):
    repo.reset_requests()
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] == 0, result.stdout[-6000:]
    assert repo.requests()["writes"] == 0


def test_check_mode_predicts_a_change_and_writes_nothing(repo):
    repo.edit(HOST_VARS, "cloudrun_deploy_memory: 512Mi", "cloudrun_deploy_memory: 1Gi")
    repo.reset_requests()
    result = repo.playbook("deploy", "--check", "--diff")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] >= 1
    assert '"memory": "1Gi"' in result.stdout or "1Gi" in result.stdout
    assert repo.requests()["writes"] == 0
