"""A failed deploy says each thing once (issue 18): under 6 KB at default verbosity, each log line printed once.

ansible-core 2.19 prints a failed task's message twice (its error summary, then the result), so the
role catches the failure of its build and deploy steps (failed_when: false) and shows their error,
with the log lines, once in a report (a debug task), then fails with one short line.
"""

from __future__ import annotations

import pytest

from test_deploy_playbook import repository_copy

LINES = [f"startup check {n:02d} of 30: refusing to start on purpose" for n in range(1, 31)]


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "failing")


def test_a_revision_that_prints_30_lines_and_exits_fails_the_deploy_in_under_6_kb(repo):
    first = repo.playbook("deploy")
    assert first.returncode == 0, first.output[-6000:]
    crash = "import sys\n" + "".join(f"print({line!r}, flush=True)\n" for line in LINES) + "sys.exit(3)\n"
    repo.edit("examples/xai-community-backend/main.py", '"""XAI Community', crash + '"""XAI Community')
    # The budget is the revision failure's; the migration job before traffic would add its own task lines
    # (about 560 bytes: its include, its run, the check of its result).
    result = repo.playbook("deploy", "-e", '{"cloudrun_deploy_jobs_before_traffic": []}')
    assert result.returncode != 0
    # Measured with the checkout's path as "<checkout>": where pytest puts its copy (under xdist, a deeper
    # folder) is not output the role chose, and it appears in each "included:" and "Origin:" line.
    size = len(result.output.replace(repo.path, "<checkout>").encode())
    assert size < 6 * 1024, f"{size} bytes:\n{result.output}"
    for line in LINES:
        assert result.output.count(line) == 1, (line, result.output)
    assert "No traffic was moved." in result.output
    assert "failed; the report above says why." in result.output
    assert result.output.count("is not ready and cannot serve traffic") == 1
