"""Cloud Run v2 jobs through the official client: defaults, runs to completion, retries, overrides, logs, cancel."""

import json
import os
import signal
import time
import urllib.request

import pytest
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from conftest import APPS, ECHO_IMAGE, PARENT
from emulator.testing import EmulatorProcess

# A task's command: python, printing its index and attempt, then exiting as the test says.
SCRIPT = ("import os, sys; i = os.environ['CLOUD_RUN_TASK_INDEX']; a = os.environ['CLOUD_RUN_TASK_ATTEMPT']; "
          "print(f'task {i} attempt {a} of {os.environ[\"CLOUD_RUN_TASK_COUNT\"]} in {os.environ[\"CLOUD_RUN_EXECUTION\"]}"
          " greeting={os.environ.get(\"GREETING\")}', flush=True); {exit}")


@pytest.fixture(name="clients")
def jobs_clients(emulator):
    kwargs = {"credentials": AnonymousCredentials(), "transport": "rest",
              "client_options": ClientOptions(api_endpoint=emulator.endpoint)}
    return run_v2.JobsClient(**kwargs), run_v2.ExecutionsClient(**kwargs), run_v2.TasksClient(**kwargs)


def make_job(jobs, job_id, exit="sys.exit(0)", **template):
    job = run_v2.Job(template=run_v2.ExecutionTemplate(
        task_count=template.pop("task_count", 1),
        template=run_v2.TaskTemplate(containers=[run_v2.Container(
            image=ECHO_IMAGE, command=["python", "-c", SCRIPT.replace("{exit}", exit)],
            env=[run_v2.EnvVar(name="GREETING", value="hello")])], **template)))
    return jobs.create_job(parent=PARENT, job=job, job_id=job_id).result(timeout=30)


def logs(emulator, job_id, execution_id):
    body = {"resourceNames": ["projects/demo-project"], "pageSize": 100,
            "filter": f'resource.type="cloud_run_job" AND resource.labels.job_name="{job_id}" AND '
                      f'labels."run.googleapis.com/execution_name"="{execution_id}"'}
    request = urllib.request.Request(f"{emulator.endpoint}/v2/entries:list", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return [e["textPayload"] for e in json.loads(answer.read()).get("entries", [])]


def test_a_job_has_the_documented_defaults_and_runs_its_tasks_to_success(clients, emulator):
    jobs, executions, tasks = clients
    job = make_job(jobs, "defaults", task_count=2)
    assert job.template.task_count == 2 and job.template.template.max_retries == 3
    assert job.template.template.timeout.seconds == 600
    assert job.template.template.service_account.endswith("-compute@developer.gserviceaccount.com")
    assert job.template.template.containers[0].resources.limits == {"cpu": "1000m", "memory": "512Mi"}
    assert job.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED

    operation = jobs.run_job(name=job.name)
    assert operation.metadata.name.startswith(job.name + "/executions/defaults-")  # the execution, while it runs
    execution = operation.result(timeout=60)
    assert (execution.task_count, execution.succeeded_count, execution.failed_count) == (2, 2, 0)
    completed = [c for c in execution.conditions if c.type_ == "Completed"][0]
    assert completed.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert executions.get_execution(name=execution.name).completion_time
    listed = list(tasks.list_tasks(parent=execution.name))
    execution_id = execution.name.rsplit("/", 1)[-1]
    assert [t.name.rsplit("/", 1)[-1] for t in listed] == [f"{execution_id}-task0", f"{execution_id}-task1"]
    assert all(t.last_attempt_result.exit_code == 0 and t.retried == 0 for t in listed)
    lines = logs(emulator, "defaults", execution_id)
    assert f"task 0 attempt 0 of 2 in {execution_id} greeting=hello" in lines
    assert f"task 1 attempt 0 of 2 in {execution_id} greeting=hello" in lines
    job = jobs.get_job(name=job.name)
    assert job.execution_count == 1 and job.latest_created_execution.name == execution.name
    assert job.latest_created_execution.completion_status.name == "EXECUTION_SUCCEEDED"


def test_a_task_that_exits_3_is_retried_then_fails_the_execution_with_its_exit_code(clients, emulator):
    jobs, executions, tasks = clients
    job = make_job(jobs, "exits", exit="sys.exit(3)", max_retries=1)
    operation = jobs.run_job(name=job.name)
    with pytest.raises(exceptions.GoogleAPICallError) as caught:
        operation.result(timeout=60)
    execution_id = operation.metadata.name.rsplit("/", 1)[-1]
    assert f"Task {execution_id}-task0 failed with message: The container exited with an error." in str(caught.value)
    execution = executions.get_execution(name=operation.metadata.name)
    assert (execution.failed_count, execution.succeeded_count, execution.retried_count) == (1, 0, 1)
    completed = [c for c in execution.conditions if c.type_ == "Completed"][0]
    assert completed.state == run_v2.Condition.State.CONDITION_FAILED
    assert completed.execution_reason == run_v2.Condition.ExecutionReason.NON_ZERO_EXIT_CODE
    task = list(tasks.list_tasks(parent=execution.name))[0]
    assert task.last_attempt_result.exit_code == 3 and task.retried == 1
    lines = logs(emulator, "exits", execution_id)
    assert lines.count("Container called exit(3).") == 2  # both attempts
    assert f"task 0 attempt 1 of 1 in {execution_id} greeting=hello" in lines


def test_a_task_that_fails_once_succeeds_on_its_second_attempt(clients):
    jobs, _executions, tasks = clients
    job = make_job(jobs, "flaky", exit="sys.exit(1 if a == '0' else 0)")
    execution = jobs.run_job(name=job.name).result(timeout=60)
    assert (execution.succeeded_count, execution.failed_count, execution.retried_count) == (1, 0, 1)
    assert list(tasks.list_tasks(parent=execution.name))[0].retried == 1


def test_overrides_replace_args_and_task_count_and_merge_env(clients, emulator):
    jobs, _executions, _tasks = clients
    job = make_job(jobs, "overridden")
    overrides = run_v2.RunJobRequest.Overrides(
        task_count=3, container_overrides=[run_v2.RunJobRequest.Overrides.ContainerOverride(
            env=[run_v2.EnvVar(name="GREETING", value="override")])])
    execution = jobs.run_job(request={"name": job.name, "overrides": overrides}).result(timeout=60)
    assert (execution.task_count, execution.succeeded_count) == (3, 3)
    lines = logs(emulator, "overridden", execution.name.rsplit("/", 1)[-1])
    assert sum("greeting=override" in line for line in lines) == 3
    assert jobs.get_job(name=job.name).template.task_count == 1  # the job itself is unchanged


def test_a_cancelled_execution_ends_its_operation_without_an_error(clients):
    jobs, executions, _tasks = clients
    job = make_job(jobs, "cancelled", exit="import time; time.sleep(60)")
    operation = jobs.run_job(name=job.name)
    time.sleep(1.0)
    executions.cancel_execution(name=operation.metadata.name).result(timeout=30)
    execution = operation.result(timeout=30)
    assert execution.cancelled_count == 1 and execution.failed_count == 0


def test_job_rules_and_a_delete(clients):
    jobs, _executions, _tasks = clients
    with pytest.raises(exceptions.BadRequest, match="max_retries must be between 0 and 10"):
        make_job(jobs, "too-many", max_retries=11)
    with pytest.raises(exceptions.BadRequest, match="reserved env names were provided: CLOUD_RUN_JOB"):
        jobs.create_job(parent=PARENT, job_id="reserved", job=run_v2.Job(template=run_v2.ExecutionTemplate(
            template=run_v2.TaskTemplate(containers=[run_v2.Container(
                image=ECHO_IMAGE, env=[run_v2.EnvVar(name="CLOUD_RUN_JOB", value="x")])]))))
    job = make_job(jobs, "deleted")
    with pytest.raises(exceptions.Conflict, match="already exists"):
        make_job(jobs, "deleted")
    jobs.delete_job(name=job.name).result(timeout=30)
    with pytest.raises(exceptions.NotFound):
        jobs.get_job(name=job.name)


def test_an_execution_running_when_the_emulator_stops_finishes_after_its_restart(tmp_path):
    state = str(tmp_path / "state")
    with EmulatorProcess(images={ECHO_IMAGE: os.path.join(APPS, "echo")}, state_dir=state) as first:
        kwargs = {"credentials": AnonymousCredentials(), "transport": "rest",
                  "client_options": ClientOptions(api_endpoint=first.endpoint)}
        job = make_job(run_v2.JobsClient(**kwargs), "interrupted", exit="import time; time.sleep(2)")
        operation = run_v2.JobsClient(**kwargs).run_job(name=job.name)
        time.sleep(0.5)
        first.stop(signal.SIGKILL)
    with EmulatorProcess(images={ECHO_IMAGE: os.path.join(APPS, "echo")}, state_dir=state) as second:
        kwargs["client_options"] = ClientOptions(api_endpoint=second.endpoint)
        executions = run_v2.ExecutionsClient(**kwargs)
        deadline = time.monotonic() + 30
        while not executions.get_execution(name=operation.metadata.name).completion_time:
            assert time.monotonic() < deadline, "the execution never finished"
            time.sleep(0.3)
        assert executions.get_execution(name=operation.metadata.name).succeeded_count == 1
