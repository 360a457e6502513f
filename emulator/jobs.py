"""Cloud Run Admin API v2 jobs: jobs, executions and tasks, with tasks that run to completion.

Written from the v2 protos (``google.cloud.run_v2.types`` job.py, execution.py, task.py,
task_template.py, execution_template.py, condition.py) and what users report of real runs:

- A job write answers a pending operation like a service write; a job has no revisions and runs
  nothing until it is run.
- ``:run`` answers a pending operation whose metadata is the new Execution; the operation is done
  when the execution is (``operation.result()`` waits for the execution: apache/airflow
  CloudRunExecuteJobOperator). A failed execution ends the operation with an error; a cancelled
  one ends it without one (apache/airflow issue 57791, pull request 67050).
- Execution IDs are the job's name and five letters, task IDs the execution's and ``-task<N>``
  ("Task migrate-vnttt-task0 failed with message: The container exited with an error.",
  googlecodelabs/feedback issue 1369, from ``gcloud run jobs execute --wait``).
- Defaults from the proto comments: task_count 1, max_retries 3 ("Number of retries allowed per
  Task, before marking this Task failed"), timeout 600 s per attempt, the project's default
  compute service account; parallelism 0 means "the maximum possible".
- A task's container gets CLOUD_RUN_JOB, CLOUD_RUN_EXECUTION, CLOUD_RUN_TASK_INDEX,
  CLOUD_RUN_TASK_ATTEMPT and CLOUD_RUN_TASK_COUNT (Cloud Run container contract, jobs).
- Its lines go to Cloud Logging as ``cloud_run_job`` entries labelled with the execution, the task
  index and the attempt; a non-zero exit adds Cloud Run's own line "Container called exit(N).".
"""

import copy
import datetime
import json
import random
import re
import string
import threading
import time
import uuid

from google.cloud import run_v2

from emulator import validation
from emulator.errors import GRPC_CODES, ApiError, RevisionFailure, invalid, not_found, or_not_found
from emulator.iam import project_number
from emulator.wire import listing, parse, render

JOB_TYPE = "type.googleapis.com/google.cloud.run.v2.Job"
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"
SUCCEEDED, FAILED = "CONDITION_SUCCEEDED", "CONDITION_FAILED"
JOB_OUTPUT_ONLY = {
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "observedGeneration", "terminalCondition", "conditions", "executionCount",
    "latestCreatedExecution", "reconciling", "satisfiesPzs", "etag",
}
JOB_ENV = ("CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT",
           "CLOUD_RUN_TASK_COUNT")
MAX_RETRIES = 10  # gcloud run jobs deploy --max-retries: 0 to 10
MAX_TIMEOUT = 7 * 24 * 3600  # a task attempt may run up to 168 hours
CONTAINER_ERROR = "The container exited with an error."


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def short(name):
    return name.rsplit("/", 1)[-1]


def _condition(kind, state, message=None, **extra):
    condition = {"type": kind, "state": state, "lastTransitionTime": now()}
    if message:
        condition["message"] = message
    condition.update(extra)
    return condition


def check_job(job_id, spec, create):
    """(field, message) violations of a Job, in the API's words where they are known."""
    violations = []
    if create:
        violations += [("job_id", m.replace("Service name", "Job name").replace("service_id", "job_id"))
                       for _f, m in validation.check_service_id(job_id)]
    execution = spec.get("template") or {}
    task = execution.get("template") or {}
    if not task.get("containers"):
        violations.append(("job.template.template.containers", "A job needs one container."))
    if execution.get("taskCount", 1) < 1:
        violations.append(("job.template.task_count", "task_count must be at least 1."))
    if execution.get("parallelism", 0) < 0:
        violations.append(("job.template.parallelism", "parallelism must not be negative."))
    retries = task.get("maxRetries", 3)
    if not 0 <= retries <= MAX_RETRIES:
        violations.append(("job.template.template.max_retries",
                           f"max_retries must be between 0 and {MAX_RETRIES}, got {retries}."))
    seconds = validation.duration_seconds(task.get("timeout", "")) if task.get("timeout") else None
    if seconds is not None and not 0 < seconds <= MAX_TIMEOUT:
        violations.append(("job.template.template.timeout", f"timeout must be between 1s and {MAX_TIMEOUT}s."))
    for index, container in enumerate(task.get("containers") or []):
        violations += validation.check_env(container, f"job.template.template.containers[{index}]", JOB_ENV)
    return violations


class Jobs:
    """Jobs, executions and tasks over the CloudRun layer's store, operations, images and secrets."""

    def __init__(self, run):
        self.run = run
        self.store = run.store
        self._cancel = {}  # execution name -> threading.Event

    # ------------------------------------------------------------------ jobs
    def _job(self, name):
        return or_not_found(self.store.jobs.get(name), f'job "{name}" not found')

    def _defaults(self, spec, project):
        spec = copy.deepcopy(spec)
        spec.setdefault("launchStage", "GA")
        execution = spec.setdefault("template", {})
        execution.setdefault("taskCount", 1)
        task = execution.setdefault("template", {})
        task.setdefault("maxRetries", 3)
        task.setdefault("timeout", "600s")
        task.setdefault("serviceAccount", f"{project_number(project)}-compute@developer.gserviceaccount.com")
        for container in task.get("containers") or []:
            limits = container.setdefault("resources", {}).setdefault("limits", {})
            limits.setdefault("cpu", "1000m")
            limits.setdefault("memory", "512Mi")
        return spec

    def view_job(self, job, int_enums=False):
        return render(run_v2.Job, {k: v for k, v in job.items() if not k.startswith("_")}, int_enums)

    def get_job(self, name, int_enums=False):
        with self.store.lock:
            return self.view_job(self._job(name), int_enums)

    def list_jobs(self, parent, query, int_enums=False):
        with self.store.lock:
            names = sorted(n for n in self.store.jobs if n.startswith(parent + "/jobs/"))
            return listing("jobs", names, lambda n: self.view_job(self.store.jobs[n], int_enums), query)

    def create_job(self, parent, query, body):
        spec = parse(body, run_v2.Job, "job")
        job_id, validate_only = query.get("jobId", [""])[0], query.get("validateOnly", ["false"])[0] == "true"
        if not validate_only and self.run.faults.take_second_writer():
            # Another deploy creates the same job between this client's read and its create (two services
            # that share a migration job): this create then finds it made, 409 ALREADY_EXISTS.
            labels = dict(spec.get("labels") or {}, **{"written-by": "another-writer"})
            self._write(parent, job_id, dict(spec, labels=labels), create=True, validate_only=False)
        return self._write(parent, job_id, spec, create=True, validate_only=validate_only)

    def update_job(self, name, query, body):
        parent, job_id = name.rsplit("/jobs/", 1)
        spec = parse(body, run_v2.Job, "job")
        with self.store.lock:
            current = self.store.jobs.get(name)
            if current is None and query.get("allowMissing", ["false"])[0] != "true":
                raise not_found(f'job "{name}" not found')
            if current is not None and spec.get("etag") and spec["etag"] != current.get("etag"):
                raise ApiError(409, f"The etag '{spec['etag']}' does not match the current etag of job '{job_id}'. "
                                    "Read the job again and retry.", "ABORTED")
        return self._write(parent, job_id, spec, create=current is None,
                           validate_only=query.get("validateOnly", ["false"])[0] == "true")

    def _write(self, parent, job_id, spec, create, validate_only):
        spec = {k: v for k, v in spec.items() if k not in JOB_OUTPUT_ONLY}
        violations = check_job(job_id, spec, create)
        if violations:
            raise invalid(violations, "CreateJobRequest" if create else "UpdateJobRequest")
        name = f"{parent}/jobs/{job_id}"
        desired = self._defaults(spec, parent.split("/")[1])
        with self.store.lock:
            current = self.store.jobs.get(name)
            if create and current is not None:
                raise ApiError(409, f"Resource '{job_id}' already exists.", "ALREADY_EXISTS")
            if validate_only:
                return self.run.finished_operation(parent, dict(current or {}, **desired, name=name), JOB_TYPE)
            job = current
            if job is None:
                job = self.store.jobs[name] = {"name": name, "uid": str(uuid.uuid4()), "createTime": now(),
                                               "creator": self.run_creator(), "generation": "0",
                                               "executionCount": 0}
            if {k: v for k, v in job.items() if k not in JOB_OUTPUT_ONLY} != desired:  # no change, no generation
                for key in [k for k in job if k not in JOB_OUTPUT_ONLY]:
                    del job[key]
                job.update(copy.deepcopy(desired))
                job.update({"generation": str(int(job["generation"]) + 1), "updateTime": now(),
                            "lastModifier": self.run_creator(), "etag": self.run._new_etag()})  # pylint: disable=protected-access
            job.update({"observedGeneration": job["generation"], "reconciling": False,
                        "terminalCondition": _condition("Ready", SUCCEEDED)})
            self.store.save()
            snapshot = copy.deepcopy(job)
        return self.run.write_done(parent, snapshot, JOB_TYPE)

    @staticmethod
    def run_creator():
        return "emulator@nadle-cloudrun.local"

    def delete_job(self, name, query):
        with self.store.lock:
            job = self._job(name)
            etag = query.get("etag", [""])[0]
            if etag and etag != job.get("etag"):
                raise ApiError(409, f"The etag '{etag}' does not match the current etag of job '{short(name)}'.",
                               "ABORTED")
            running = [n for n, e in self.store.executions.items()
                       if n.startswith(name + "/executions/") and not e.get("completionTime")]
            if running:
                raise ApiError(400, f"Job '{short(name)}' has running executions ({', '.join(map(short, running))}); "
                                    "cancel them first.", "FAILED_PRECONDITION")
            del self.store.jobs[name]
            for execution in [n for n in self.store.executions if n.startswith(name + "/executions/")]:
                del self.store.executions[execution]
            for task in [n for n in self.store.tasks if n.startswith(name + "/executions/")]:
                del self.store.tasks[task]
            job = dict(job, deleteTime=now(), reconciling=False)
            self.store.save()
        return self.run.write_done(name.rsplit("/jobs/", 1)[0], job, JOB_TYPE)

    # ------------------------------------------------------------ executions
    def run_job(self, name, body):
        request = json.loads(body or b"{}")
        overrides = request.get("overrides") or {}
        with self.store.lock:
            job = self._job(name)
            if request.get("etag") and request["etag"] != job.get("etag"):
                raise ApiError(409, f"The etag '{request['etag']}' does not match the current etag of job "
                                    f"'{short(name)}'.", "ABORTED")
            execution_template = copy.deepcopy(job["template"])
            task = execution_template["template"]
            problems = self._apply_overrides(execution_template, overrides)
            if problems:
                raise invalid(problems, "RunJobRequest")
            execution_id = "{}-{}".format(short(name), "".join(random.choices(string.ascii_lowercase, k=5)))
            execution_name = f"{name}/executions/{execution_id}"
            stamp = now()
            task_count = execution_template.get("taskCount", 1)
            execution = {
                "name": execution_name, "uid": str(uuid.uuid4()), "creator": self.run_creator(), "generation": "1",
                "createTime": stamp, "updateTime": stamp, "launchStage": job.get("launchStage", "GA"),
                "job": short(name), "parallelism": execution_template.get("parallelism") or task_count,
                "taskCount": task_count, "template": task, "reconciling": True, "observedGeneration": "1",
                "labels": dict(execution_template.get("labels") or {}),
                "logUri": f"{self.run._api_base()}/_emulator/logs/{execution_name}",  # pylint: disable=protected-access
                "etag": self.run._new_etag(),  # pylint: disable=protected-access
                "conditions": [_condition("Completed", "CONDITION_PENDING"),
                               _condition("ResourcesAvailable", "CONDITION_PENDING")],
            }
            if request.get("validateOnly"):
                return self.run.finished_operation(name.rsplit("/jobs/", 1)[0], execution, EXECUTION_TYPE)
            self.store.executions[execution_name] = execution
            job["executionCount"] = int(job.get("executionCount", 0)) + 1
            job["latestCreatedExecution"] = {"name": execution_name, "createTime": stamp,
                                             "completionStatus": "EXECUTION_RUNNING"}
            for index in range(task_count):
                task_name = f"{execution_name}/tasks/{execution_id}-task{index}"
                self.store.tasks[task_name] = dict(
                    copy.deepcopy(task), name=task_name, uid=str(uuid.uuid4()), generation="1", createTime=stamp,
                    job=short(name), execution=execution_id, index=index, retried=0, reconciling=True,
                    observedGeneration="1", etag=self.run._new_etag(),  # pylint: disable=protected-access
                    logUri=execution["logUri"], conditions=[_condition("Completed", "CONDITION_PENDING")])
            operation = self.run._new_operation(name.rsplit("/jobs/", 1)[0], execution, EXECUTION_TYPE)  # pylint: disable=protected-access
            pending = self.run._pending(operation)  # pylint: disable=protected-access
            self._cancel[execution_name] = threading.Event()
            self.store.save()
        threading.Thread(target=self._execute, args=(execution_name, operation["name"]),
                         name=f"execution-{execution_id}", daemon=True).start()
        return self.run._answer(operation, pending)  # pylint: disable=protected-access

    def resume(self):
        """After a restart with --state-dir: executions that were running start their unfinished tasks again
        (a task's attempt was lost with the emulator's processes, as a task's container is lost with its
        instance and retried), so a run's operation still ends."""
        with self.store.lock:
            running = [n for n, e in self.store.executions.items() if not e.get("completionTime")]
            operations = {n: o["name"] for o in self.store.operations.values() if not o.get("done")
                          for n in [o["metadata"].get("name", "")] if n in running}
            for name in running:
                self._cancel[name] = threading.Event()
                for task in self.store.tasks.values():
                    if task["name"].startswith(name + "/tasks/") and not task.get("completionTime") \
                            and task.get("startTime"):
                        task.pop("startTime")  # not running now: counted again when it starts
                self.store.executions[name]["runningCount"] = 0
            self.store.save()
        for name in running:
            threading.Thread(target=self._execute, args=(name, operations.get(name)),
                             name=f"resume-{short(name)}", daemon=True).start()

    @staticmethod
    def _apply_overrides(execution_template, overrides):
        """RunJobRequest.Overrides: args replace, env merges, task_count and timeout replace."""
        problems = []
        containers = execution_template["template"].get("containers") or []
        for index, override in enumerate(overrides.get("containerOverrides") or []):
            matches = [c for c in containers if c.get("name", "") == override.get("name", "")] \
                if override.get("name") else containers[:1]
            if not matches:
                problems.append((f"overrides.container_overrides[{index}].name",
                                 f"Container '{override['name']}' is not in the job."))
                continue
            container = matches[0]
            if override.get("clearArgs"):
                container.pop("args", None)
            elif override.get("args"):
                container["args"] = list(override["args"])
            if override.get("env"):
                env = {item["name"]: item for item in container.get("env") or []}
                for item in override["env"]:
                    if item.get("name") in JOB_ENV:
                        problems.append((f"overrides.container_overrides[{index}].env",
                                         f"The following reserved env names were provided: {item['name']}."))
                    env[item["name"]] = item
                container["env"] = list(env.values())
        if overrides.get("taskCount"):
            execution_template["taskCount"] = overrides["taskCount"]
            execution_template["parallelism"] = min(execution_template.get("parallelism") or 0,
                                                    overrides["taskCount"]) or 0
        if overrides.get("timeout"):
            execution_template["template"]["timeout"] = overrides["timeout"]
        return problems

    def _execute(self, execution_name, operation_name):
        """Run every task (at most ``parallelism`` at once), each attempt after a failed one, then finish."""
        with self.store.lock:
            execution = copy.deepcopy(self.store.executions[execution_name])
            tasks = sorted((n for n in self.store.tasks if n.startswith(execution_name + "/tasks/")
                            and not self.store.tasks[n].get("completionTime")),  # all, unless resumed
                           key=lambda n: self.store.tasks[n]["index"])
            live = self.store.executions[execution_name]
            live.setdefault("startTime", now())
            live["conditions"] = [_condition("ResourcesAvailable", SUCCEEDED), _condition("Started", SUCCEEDED),
                                  _condition("Completed", "CONDITION_PENDING")]
            self.store.save()
        cancel = self._cancel.get(execution_name) or threading.Event()
        slots = threading.Semaphore(max(1, execution["parallelism"]))
        threads = []
        for task_name in tasks:
            thread = threading.Thread(target=self._run_task, args=(task_name, execution, slots, cancel), daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        self._complete(execution_name, operation_name, cancel.is_set())

    def _run_task(self, task_name, execution, slots, cancel):
        with slots:
            with self.store.lock:
                task = copy.deepcopy(self.store.tasks[task_name])
            attempts = task.get("maxRetries", 3) + 1
            for attempt in range(attempts):
                if cancel.is_set():
                    self._task_done(task_name, attempt, None, cancelled=True)
                    return
                self._update_task(task_name, attempt)
                code, message = self._attempt(task, execution, attempt, cancel)
                if code == 0 or cancel.is_set() or attempt == attempts - 1:
                    self._task_done(task_name, attempt, (code, message), cancelled=cancel.is_set())
                    return
                with self.store.lock:
                    self.store.executions[execution["name"]]["retriedCount"] = \
                        self.store.executions[execution["name"]].get("retriedCount", 0) + 1

    def _attempt(self, task, execution, attempt, cancel):
        """One attempt of a task as a local process: (exit code, failure message or None)."""
        execution_id = short(execution["name"])
        container = (task.get("containers") or [{}])[0]
        log_name = f"{task['name']}/attempts/{attempt}"
        contract = {"CLOUD_RUN_JOB": task["job"], "CLOUD_RUN_EXECUTION": execution_id,
                    "CLOUD_RUN_TASK_INDEX": str(task["index"]), "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
                    "CLOUD_RUN_TASK_COUNT": str(execution["taskCount"])}
        try:
            _entry, argv, cwd, env = self.run.container_process(container, task["name"], task["name"].split("/")[1],
                                                                task.get("serviceAccount", ""), contract)
        except RevisionFailure as exc:  # a ContainerProblem, or a secret it cannot read
            self.run.runtime.write_log(log_name, str(exc))
            return -1, str(exc)
        try:
            process = self.run.runtime.start(log_name, argv, cwd, env, port=False)
        except OSError as exc:
            message = f"The container command {argv[0]!r} could not be started: {exc}"
            self.run.runtime.write_log(log_name, message)
            return -1, message
        deadline = time.monotonic() + (validation.duration_seconds(task.get("timeout", "")) or 600)
        while process.alive() and time.monotonic() < deadline and not cancel.is_set():
            time.sleep(0.05)
        if process.alive():
            process.stop()
            process.log_tail()
            if cancel.is_set():
                return -1, "The execution was cancelled."
            message = "The task has been cancelled because it reached its timeout."
            self.run.runtime.write_log(log_name, message)
            return -1, message
        code = process.proc.wait()
        process.log_tail()  # every line written reaches the log before the attempt is reported
        if code != 0:
            self.run.runtime.write_log(log_name, f"Container called exit({code}).")
            return code, CONTAINER_ERROR
        return 0, None

    def _update_task(self, task_name, attempt):
        """An attempt starts: the task shows it, and the execution counts the task as running once."""
        with self.store.lock:
            task = self.store.tasks.get(task_name)
            if task is None:
                return
            task.update(startTime=now(), updateTime=now(), retried=attempt)
            execution = self.store.executions.get(task_name.split("/tasks/")[0])
            if attempt == 0 and execution is not None:
                execution["runningCount"] = execution.get("runningCount", 0) + 1
            self.store.save()

    def _task_done(self, task_name, attempt, outcome, cancelled):
        with self.store.lock:
            task = self.store.tasks.get(task_name)
            if task is None:
                return
            stamp = now()
            task.update(reconciling=False, completionTime=stamp, updateTime=stamp, retried=attempt)
            if cancelled:
                task["conditions"] = [_condition("Completed", FAILED, "The task was cancelled.",
                                                 executionReason="CANCELLED")]
                state = "cancelled"
            elif outcome[0] == 0:
                task["lastAttemptResult"] = {"status": {}, "exitCode": 0}
                task["conditions"] = [_condition("Completed", SUCCEEDED)]
                state = "succeeded"
            else:
                code, message = outcome
                task["lastAttemptResult"] = {"status": {"code": GRPC_CODES["UNKNOWN"], "message": message}}
                if code > 0:
                    task["lastAttemptResult"]["exitCode"] = code
                task["conditions"] = [_condition("Completed", FAILED, message,
                                                 executionReason="NON_ZERO_EXIT_CODE" if code > 0 else None)]
                task["conditions"][0] = {k: v for k, v in task["conditions"][0].items() if v is not None}
                state = "failed"
            execution = self.store.executions.get(task_name.split("/tasks/")[0])
            if execution is not None:
                key = {"succeeded": "succeededCount", "failed": "failedCount", "cancelled": "cancelledCount"}[state]
                execution[key] = execution.get(key, 0) + 1
                if task.get("startTime"):
                    execution["runningCount"] = max(0, execution.get("runningCount", 0) - 1)
            self.store.save()

    def _complete(self, execution_name, operation_name, cancelled):
        with self.store.lock:
            execution = self.store.executions.get(execution_name)
            if execution is None:
                return
            stamp = now()
            started = datetime.datetime.fromisoformat(execution["startTime"].replace("Z", "+00:00"))
            took = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
            failed = sorted((n for n in self.store.tasks if n.startswith(execution_name + "/tasks/")
                             and self.store.tasks[n].get("lastAttemptResult", {}).get("status", {}).get("code")),
                            key=lambda n: self.store.tasks[n]["index"])
            error = None
            if cancelled:
                completed = _condition("Completed", FAILED, "The execution was cancelled.", executionReason="CANCELLED")
                status = "EXECUTION_CANCELLED"
            elif failed:
                task = self.store.tasks[failed[0]]
                message = f"Task {short(failed[0])} failed with message: " + \
                          task["lastAttemptResult"]["status"]["message"]
                completed = _condition("Completed", FAILED, message, executionReason="NON_ZERO_EXIT_CODE")
                status = "EXECUTION_FAILED"
                # The error's code is not in any recorded run; clients go by the message and the execution.
                error = {"code": GRPC_CODES["FAILED_PRECONDITION"], "message": message}
            else:
                completed = _condition("Completed", SUCCEEDED, f"Execution completed successfully in {took:.0f}s.")
                status = "EXECUTION_SUCCEEDED"
            execution.update(completionTime=stamp, updateTime=stamp, reconciling=False,
                             conditions=[completed, _condition("ResourcesAvailable", SUCCEEDED),
                                         _condition("Started", SUCCEEDED)])
            job = self.store.jobs.get(execution_name.split("/executions/")[0])
            if job is not None and (job.get("latestCreatedExecution") or {}).get("name") == execution_name:
                job["latestCreatedExecution"].update(completionTime=stamp, completionStatus=status)
            self.store.save()
            snapshot = copy.deepcopy(execution)
        self._cancel.pop(execution_name, None)
        if operation_name is None:
            return
        if error is None:
            self.run._finish_operation(operation_name, snapshot, response_type=EXECUTION_TYPE)  # pylint: disable=protected-access
        else:
            self.run._finish_operation(operation_name, error=error, state=snapshot)  # pylint: disable=protected-access

    def view_execution(self, execution, int_enums=False):
        return render(run_v2.Execution, execution, int_enums)

    def get_execution(self, name, int_enums=False):
        with self.store.lock:
            return self.view_execution(or_not_found(self.store.executions.get(name),
                                                    f'execution "{name}" not found'), int_enums)

    def list_executions(self, job_name, query, int_enums=False):
        with self.store.lock:
            self._job(job_name)
            names = sorted((n for n in self.store.executions if n.startswith(job_name + "/executions/")),
                           key=lambda n: self.store.executions[n]["createTime"], reverse=True)
            return listing("executions", names, lambda n: self.view_execution(self.store.executions[n], int_enums),
                           query)

    def cancel_execution(self, name):
        with self.store.lock:
            execution = or_not_found(self.store.executions.get(name), f'execution "{name}" not found')
            snapshot = copy.deepcopy(execution)
            event = self._cancel.get(name)
        if event is not None:
            event.set()
        return self.run.finished_operation(name.split("/jobs/")[0], snapshot, EXECUTION_TYPE)

    def get_task(self, name, int_enums=False):
        with self.store.lock:
            return render(run_v2.Task, or_not_found(self.store.tasks.get(name), f'task "{name}" not found'),
                          int_enums)

    def list_tasks(self, execution_name, query, int_enums=False):
        with self.store.lock:
            or_not_found(self.store.executions.get(execution_name), f'execution "{execution_name}" not found')
            names = sorted((n for n in self.store.tasks if n.startswith(execution_name + "/tasks/")),
                           key=lambda n: self.store.tasks[n]["index"])
            return listing("tasks", names, lambda n: render(run_v2.Task, self.store.tasks[n], int_enums), query)

    # --------------------------------------------------------------- logging
    def log_entries(self, request, project):
        """``entries:list`` for ``resource.type="cloud_run_job"``: by job, execution, task index."""
        text = request.get("filter", "")
        job = re.search(r'resource\.labels\.job_name\s*=\s*"([^"]+)"', text)
        if not job:
            raise ApiError(400, 'The emulator answers cloud_run_job entries:list only for a filter on '
                                'resource.labels.job_name="...".')
        execution = re.search(r'labels\."run\.googleapis\.com/execution_name"\s*=\s*"([^"]+)"', text)
        index = re.search(r'labels\."run\.googleapis\.com/task_index"\s*=\s*"?(\d+)"?', text)
        with self.store.lock:
            tasks = sorted(((n, t) for n, t in self.store.tasks.items() if t.get("job") == job.group(1)
                            and (not execution or t.get("execution") == execution.group(1))
                            and (not index or t.get("index") == int(index.group(1)))),
                           key=lambda item: (item[1]["createTime"], item[1]["index"]))
        entries = []
        for task_name, task in tasks:
            for attempt in range(int(task.get("retried", 0)) + 1):
                for stamp, line in self.run.runtime.log_entries(f"{task_name}/attempts/{attempt}"):
                    entries.append({
                        "logName": f"{project}/logs/run.googleapis.com%2Fstdout", "textPayload": line,
                        "timestamp": stamp or now(),
                        "resource": {"type": "cloud_run_job", "labels": {
                            "job_name": task["job"], "location": task_name.split("/")[3],
                            "project_id": task_name.split("/")[1]}},
                        "labels": {"run.googleapis.com/execution_name": task["execution"],
                                   "run.googleapis.com/task_index": str(task["index"]),
                                   "run.googleapis.com/task_attempt": str(attempt)}})
        entries.sort(key=lambda e: e["timestamp"])
        for number, entry in enumerate(entries):
            entry["insertId"] = f"{number:08d}"
        if "desc" in request.get("orderBy", ""):
            entries.reverse()
        size = int(request.get("pageSize") or 50)
        return {"entries": entries[:size]} if entries else {}
