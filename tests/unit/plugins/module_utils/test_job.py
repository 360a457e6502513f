"""cloudrun_job's pure logic (module_utils/_job.py): its rules, its body, its comparison, a run's overrides."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils._job import (
    OPTIONS, _overrides, build_job, execution_result, job_problems, observed_state,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import Differences, desired_state

# A job as the API answers it, with the server's defaults filled in.
JOB = {"name": "projects/p/locations/r/jobs/migrate", "etag": '"e1"', "generation": "1",
       "template": {"taskCount": 1, "template": {
           "containers": [{"image": "repo/app:v1", "command": ["python", "migrate.py"],
                           "env": [{"name": "MODE", "value": "apply"}],
                           "resources": {"limits": {"cpu": "1000m", "memory": "512Mi"}}}],
           "maxRetries": 3, "timeout": "600s", "serviceAccount": "1-compute@developer.gserviceaccount.com"}}}


def test_every_rule_is_named_at_once():
    problems = job_problems({"name": "Migrate_", "max_retries": 11, "task_count": 2, "parallelism": 3,
                             "task_timeout": "9d", "env": {"CLOUD_RUN_EXECUTION": "x"},
                             "overrides": {"env": {"DB": {"secret": "s"}}, "task_count": 0}})
    text = "\n".join(problems)
    for part in ("name: 'Migrate_' is not a valid job name", "max_retries: 11 is out of range; use 0 to 10",
                 "task_timeout: '9d' is not allowed", "parallelism (3) is greater than task_count (2)",
                 "env: CLOUD_RUN_EXECUTION is reserved", "overrides: apply to a run; set execute: true as well.",
                 "overrides.task_count: 0 must be at least 1.", "overrides.env: DB must be a plain value"):
        assert part in text, text


def test_server_defaults_are_not_drift_and_one_change_is_one_difference():
    params = {"image": "repo/app:v1", "command": ["python", "migrate.py"], "env": {"MODE": "apply"},
              "cpu": "1", "task_timeout": "10m", "max_retries": 3}
    same = Differences(desired_state(params, OPTIONS), observed_state(JOB), OPTIONS)
    assert same.names == []  # 10m is the 600s the API shows, cpu 1 its 1000m
    params["task_timeout"] = "11m"
    assert Differences(desired_state(params, OPTIONS), observed_state(JOB), OPTIONS).names == ["task_timeout"]
    params["task_timeout"] = "600"
    params["max_retries"] = 0  # 0 is a value (TaskTemplate.max_retries is optional), not a default
    assert Differences(desired_state(params, OPTIONS), observed_state(JOB), OPTIONS).names == ["max_retries"]


def test_the_body_keeps_what_is_not_managed_and_echoes_the_etag():
    body = build_job(JOB, {"task_count": 4, "max_retries": 0, "env": {"MODE": "dry-run"}})
    assert body["etag"] == '"e1"' and "name" not in body and "generation" not in body
    assert body["template"]["taskCount"] == 4 and body["template"]["template"]["maxRetries"] == 0
    assert body["template"]["template"]["containers"][0]["image"] == "repo/app:v1"
    assert body["template"]["template"]["containers"][0]["env"] == [{"name": "MODE", "value": "dry-run"}]
    new = build_job(None, {"image": "repo/app:v2", "task_timeout": 90})
    assert new == {"template": {"template": {"containers": [{"image": "repo/app:v2"}], "timeout": "90s"}}}


def test_overrides_become_the_run_request():
    assert _overrides({"overrides": {"args": [], "env": {"DRY": True}, "task_count": 3, "task_timeout": "2m"}}) == {
        "container_overrides": [{"args": [], "clear_args": True, "env": [{"name": "DRY", "value": "true"}]}],
        "task_count": 3, "timeout": {"seconds": 120}}
    assert _overrides({"overrides": None}) == {}


def test_an_execution_result_says_how_it_ended():
    execution = {"name": "projects/p/locations/r/jobs/m/executions/m-abcde", "taskCount": 2, "succeededCount": 1,
                 "failedCount": 1, "retriedCount": 3,
                 "conditions": [{"type": "Completed", "state": "CONDITION_FAILED", "message": "Task m-abcde-task1 failed",
                                 "executionReason": "NON_ZERO_EXIT_CODE"}]}
    result = execution_result(execution, exit_code=3)
    assert (result["name"], result["status"], result["failed_count"], result["exit_code"]) == ("m-abcde", "FAILED", 1, 3)
    execution["conditions"][0]["executionReason"] = "CANCELLED"
    assert execution_result(execution)["status"] == "CANCELLED"
    assert execution_result({"name": "x", "conditions": []})["status"] == "RUNNING"
