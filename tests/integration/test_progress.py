"""Signs of life during a long build and a long rollout (issue 18): a line with the elapsed time while they run.

The emulator's build_ms and rollout_ms faults make a build and a rollout take 14 seconds each, past the
first line the plugins print after 10 seconds (plugin_utils/_progress.py FIRST). The
action plugins print, on stderr, what the module waits for as soon as it knows (the build's log
URL, the revision being rolled out) and then the elapsed time every so often.
"""

from __future__ import annotations

import re

import pytest

from emulator.testing import admin
from test_deploy_playbook import repository_copy

SLOW_MS = 14000


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    # Its emulator started first, so that the faults are on before the first run's first request.
    yield from repository_copy(tmp_path_factory, "slow", "--timeout", "30")


def test_a_slow_build_and_a_slow_rollout_each_say_they_are_alive(repo):
    admin(repo.api, "faults", {"build_ms": SLOW_MS, "rollout_ms": SLOW_MS})
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    build = re.findall(r"\[(?:cloudrun_deploy : )?Build the image\] [\w-]+: (.*)", result.stderr)
    assert any(re.match(r"build \S+ of \S+ started; its log: https://console\.cloud\.google\.com/cloud-build/", line)
               for line in build), result.stderr
    assert any(re.match(r"still running, \d+s elapsed$", line) for line in build), result.stderr
    rollout = re.findall(r"\[(?:cloudrun_deploy : )?Deploy a revision with no traffic, tagged candidate\] [\w-]+: (.*)",
                         result.stderr)
    assert any(line.startswith("rolling out revision xai-community-backend-0000") for line in rollout), result.stderr
    assert any(re.match(r"still running, \d+s elapsed$", line) for line in rollout), result.stderr
