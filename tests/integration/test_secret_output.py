"""Canary secrets never reach the output of playbooks/deploy.yml (issue 26), whatever prints them.

The example app gets a canary token and a canary PEM as secrets (cloudrun_deploy_secrets) and says
them the ways apps do: whole in its start-up lines, cut short and as a repr in a start-up crash, and in
the body of a failing health answer; a job before traffic prints them too. Every run's whole output
(stdout and stderr, at default verbosity, -v, and -vvv with --diff) must hold no run of 8 characters
of either canary.
"""

from __future__ import annotations

import os

import pytest

from test_deploy_playbook import HOST_VARS, repository_copy

TOKEN = "tok_live_4f9c2a7e1b8d3c6f0a5e9b2d7c4f1a8e"
PEM = "-----BEGIN CANARY KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB\n-----END CANARY KEY-----"
MAIN = os.path.join("examples", "xai-community-backend", "main.py")
# CANARY_MODE: ok (healthy), crash (the start fails, saying the secrets), unhealthy (the health answer shows them).
CANARY_APP = '''
import os as _os

from fastapi.responses import JSONResponse as _JSONResponse

_TOKEN, _PEM = _os.environ.get("CANARY_TOKEN", ""), _os.environ.get("CANARY_PEM", "")
print("canary token", _TOKEN, "canary pem", _PEM, flush=True)
if _os.environ.get("CANARY_MODE") == "crash":
    raise RuntimeError(f"cannot start: input_value='{_TOKEN[:17]}...' key {_PEM!r}")


@app.get("/canary")
def canary():
    if _os.environ.get("CANARY_MODE") == "unhealthy":
        return _JSONResponse({"error": f"token {_TOKEN[:20]}... rejected", "key": repr(_PEM)}, status_code=500)
    return {"status": "healthy", "service": SERVICE}
'''
CANARY_JOB = ('  - name: canary-print\n    command: [sh, -c, \'echo "token $CANARY_TOKEN"; echo "pem $CANARY_PEM"\']\n'
              '    max_retries: 0\n')


def leaked(output):
    """How many characters of the canaries appear in runs of 8 or more."""
    hidden = [False] * len(output)
    for secret in [TOKEN] + PEM.splitlines():
        for start in range(len(secret) - 7):
            at = output.find(secret[start:start + 8])
            while at >= 0:
                hidden[at:at + 8] = [True] * 8
                at = output.find(secret[start:start + 8], at + 1)
    return sum(hidden)


def add_canaries(copy):
    """The canary app, secrets, health path and job in a repository copy (bench/drill.py uses it too); a deploy
    picks the app's behaviour with ``-e canary_mode=ok|unhealthy|crash``."""
    with open(os.path.join(copy.path, MAIN), "a", encoding="utf-8") as handle:
        handle.write(CANARY_APP)
    copy.edit(HOST_VARS, "cloudrun_deploy_secret_keys:",
              'cloudrun_deploy_secrets:\n  CANARY_TOKEN: "%s"\n  CANARY_PEM: "%s"\ncloudrun_deploy_secret_keys:'
              % (TOKEN, PEM.replace("\n", "\\n")))
    copy.edit(HOST_VARS, "  ENVIRONMENT: local\n",
              "  ENVIRONMENT: local\n  CANARY_MODE: \"{{ canary_mode | default('ok') }}\"\n")
    copy.edit(HOST_VARS, "cloudrun_deploy_health_json:", "cloudrun_deploy_health_path: /canary\n"
              "cloudrun_deploy_health_deadline: 4\ncloudrun_deploy_health_json:")
    copy.edit(HOST_VARS, "cloudrun_deploy_jobs_before_traffic:\n", "cloudrun_deploy_jobs_before_traffic:\n"
              + CANARY_JOB)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    for copy in repository_copy(tmp_path_factory, "canaries"):
        add_canaries(copy)
        yield copy


@pytest.mark.parametrize("mode, options, says", [
    ("ok", ["-vvv", "--diff"], "canary-print"),  # the first deploy: the job prints them, the diff shows the env
    ("unhealthy", [], "status 500"),
    ("unhealthy", ["-vvv", "--diff"], "status 500"),
    ("crash", ["-v"], "cannot start"),
    ("crash", ["-vvv", "--diff"], "cannot start"),
])
def test_no_run_of_a_canary_secret_reaches_the_output(repo, mode, options, says):
    result = repo.playbook("deploy", "-e", f"canary_mode={mode}", *options)
    assert (result.returncode == 0) is (mode == "ok"), result.output[-6000:]
    assert says in result.output, result.output[-6000:]  # the run met what prints the secrets
    assert leaked(result.output) == 0, result.output
