"""Bad inputs, one row per category of the drill's 144 (issue 26), through every module and the role.

Each row runs a module as a play would, against the emulator; the play then asserts that the task failed
with a message naming the option and what is allowed, that no write reached the emulator (its request
counter, reset before the row), and that no traceback came out. One play for the modules, so the table
costs one ansible-playbook run; the role's rows go through playbooks/deploy.yml on a repository copy.
"""

from __future__ import annotations

import json

import pytest

from test_deploy_playbook import recap, repository_copy
from test_targets import IMAGE, emulator, run_playbook  # noqa: F401  pylint: disable=unused-import

# (module, its options, a regular expression its message must match). Files named here are made by the test.
ROWS = [
    ("cloudrun_service", {"name": "bad-env", "image": f"{IMAGE}:v1", "env": {"1BAD": "x"}},
     "'1BAD' is not a valid variable name: letters, digits"),
    ("cloudrun_service", {"name": "bad-env", "image": f"{IMAGE}:v1", "env": {"KÉY": "x"}},
     "'KÉY' is not a valid variable name"),
    ("cloudrun_service", {"name": "bad-sa", "image": f"{IMAGE}:v1", "service_account": "not-an-email"},
     "service_account: 'not-an-email' is not a service account's email"),
    ("cloudrun_service", {"name": "bad-region", "image": f"{IMAGE}:v1", "region": "europe-west99",
                          "secrets": {"TOKEN": "orphan-secret-value"}},
     "region: 'europe-west99' is not a Cloud Run region of project integration"),
    ("cloudrun_service", {"name": "bad-project", "image": f"{IMAGE}:v1", "project": "My Project!"},
     "project: 'My Project!' is not a project ID"),
    ("cloudrun_service", {"name": "no-image-yet", "secrets": {"TOKEN": "orphan-secret-value"}},
     "image is required to create service 'no-image-yet'.*Nothing was written"),
    ("cloudrun_service", {"name": "dup-env", "image": f"{IMAGE}:v1", "env_files": ["{dup_env}"]},
     "'A' is set again \\(first at .*:1\\); give each key once"),
    ("cloudrun_service", {"name": "bin-env", "image": f"{IMAGE}:v1", "env_files": ["{binary_env}"]},
     "it is not UTF-8 text"),
    ("cloudrun_service", {"name": "bad-wait", "image": f"{IMAGE}:v1", "wait_timeout": -1},
     "wait_timeout: -1 must be more than 0 seconds"),
    ("cloudrun_env", {"name": "bad-env", "env": {"9LIVES": "x"}}, "'9LIVES' is not a valid variable name"),
    ("cloudrun_traffic", {"name": "table-service", "traffic": [{"revision": "LATEST", "percent": 110},
                                                               {"revision": "LATEST", "percent": -10}]},
     "traffic\\[0\\]: percent 110 must be 0 to 100"),
    ("cloudrun_traffic", {"name": "table-service", "promote": "candidate", "expect_percent": 120},
     "expect_percent must be 0 to 100"),
    ("cloudbuild_submit", {"path": "{source}", "image": "europe-west1-docker.pkg.dev/integration/apps/x",
                           "build_timeout": -1}, "build_timeout: -1 must be more than 0 seconds"),
    ("cloudrun_job", {"name": "bad-job", "image": f"{IMAGE}:v1", "max_retries": 11},
     "max_retries: 11 is out of range; use 0 to 10"),
    ("cloudrun_job", {"name": "missing-image", "image": "europe-west1-docker.pkg.dev/integration/apps/nothing:v9"},
     "is not in its registry, so job 'missing-image' was neither created nor run"),
    ("cloudrun_preflight", {"path": "{source}", "port": 0}, "port: 0 is not a TCP port"),
    ("cloudrun_preflight", {"path": "{fromm}"}, "unknown instruction: FROMM"),
    ("http_healthcheck", {"url": "http://127.0.0.1:9/health", "method": "FETCH"},
     "method: 'FETCH' is not an HTTP method"),
    ("http_healthcheck", {"url": "http://127.0.0.1:9/health", "json_contains": '{"status": "ok"}'},
     "json_contains: give the JSON as a mapping"),
    ("http_healthcheck", {"url": "http://127.0.0.1:9/health", "deadline": -1}, "deadline: -1 must be more than 0"),
]
ROW = """
    - name: Reset the request counter ({index})
      ansible.builtin.uri: {{url: "{api}/_emulator/requests", method: DELETE}}
    - name: "Row {index}: {module}"
      nadle.cloudrun.{module}: {options}
      register: row
      ignore_errors: true
    - name: Requests of row {index}
      ansible.builtin.uri: {{url: "{api}/_emulator/requests", return_content: true}}
      register: counted
    - name: "Row {index} was refused, naming the option, with no write"
      vars:
        says: {says}
      ansible.builtin.assert:
        that:
          - row is failed
          - row.msg is search(says)
          - counted.json.writes == 0
          - row.exception is not defined or 'Traceback' not in row.msg
        fail_msg: "row {index}: {{{{ row.msg | default('') }}}} / writes: {{{{ counted.json.by_rpc }}}}"
"""


def test_every_module_refuses_bad_inputs_before_any_write(emulator, tmp_path):  # noqa: F811  pylint: disable=redefined-outer-name
    files = {"dup_env": tmp_path / "dup.env", "binary_env": tmp_path / "binary.env", "source": tmp_path / "src",
             "fromm": tmp_path / "fromm"}
    files["dup_env"].write_text("A=1\nB=2\nA=3\n")
    files["binary_env"].write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    for folder, dockerfile in (("source", "FROM python:3.11-slim\nCMD [\"python\"]\n"), ("fromm", "FROMM python\n")):
        files[folder].mkdir()
        (files[folder] / "Dockerfile").write_text(dockerfile)
    tasks = []
    for index, (module, options, says) in enumerate(ROWS):
        options = json.loads(json.dumps(options).replace("{dup_env}", str(files["dup_env"]))
                             .replace("{binary_env}", str(files["binary_env"])).replace("{source}", str(files["source"]))
                             .replace("{fromm}", str(files["fromm"])))
        tasks.append(ROW.format(index=index, module=module, options=json.dumps(options), api=emulator.endpoint,
                                says=json.dumps(says)))
    playbook = tmp_path / "bad.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  module_defaults:\n"
                        "    group/nadle.cloudrun.gcp: {project: integration, region: europe-west1}\n  tasks:"
                        f"\n    - name: A service for the traffic rows\n      nadle.cloudrun.cloudrun_service:"
                        f" {{name: table-service, image: '{IMAGE}:v1'}}\n"
                        + "".join(tasks)
                        + "\n    - name: Clean up\n      nadle.cloudrun.cloudrun_service: {name: table-service, state: absent}\n",
                        encoding="utf-8")
    result = run_playbook(playbook, emulator)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:]
    assert output.count("All assertions passed") == len(ROWS), output[-8000:]
    assert "orphan-secret-value" not in output and "Traceback" not in output


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "bad-role-inputs")


@pytest.mark.parametrize("extra, says", [
    ({"cloudrun_deploy_jobs_before_traffic": [{"command": ["python", "migrate.py"]}]},
     "cloudrun_deploy_jobs_before_traffic[0]: missing required arguments: name"),
    ({"cloudrun_deploy_jobs_before_traffic": [{"name": "migrate", "max_retries": 11}]},
     "cloudrun_deploy_jobs_before_traffic[0] (migrate): max_retries: 11 is out of range"),
    ({"cloudrun_deploy_health_deadline": -1}, "cloudrun_deploy_health_deadline and cloudrun_deploy_wait_timeout"),
    ({"cloudrun_deploy_runtime_service_account": "not-an-email"}, "cloudrun_deploy_runtime_service_account"),
])
def test_the_role_refuses_bad_inputs_before_the_upload(repo, extra, says):
    repo.ensure_emulator()
    repo.reset_requests()
    result = repo.playbook("deploy", "-e", json.dumps(extra))
    assert result.returncode != 0 and recap(result)["failed"] == 1, result.output[-6000:]
    assert says in result.output, result.output[-6000:]
    counted = repo.requests()
    assert counted["writes"] == 0 and "CreateBuild" not in counted["by_rpc"], counted
    assert "Traceback" not in result.output
