# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_job, a Cloud Run job declared like a service, and its executions.

The job's options live in one table (``OPTIONS``, the ``_options.Option`` rows a service uses,
placed in the Job's own objects: the job, its execution template, its task template, the
container); plan, write and diff work from it as cloudrun_service's do. A run (``execute``) starts
an execution, waits for its operation (done when the execution is, google.cloud.run_v2 RunJob),
and a failure carries the failed task's exit code and its last log lines.
"""

from __future__ import annotations

import copy

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils import _cpu_memory
from ansible_collections.nadle.cloudrun.plugins.module_utils._api import to_dict
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import ENTRY_SPEC, missing_required, read_entry
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import (
    BY_NAME, Differences, Option, _get_path, _set, api_duration_seconds, argument_spec, desired_state, option_problems,
    parse_timeout, snake_keys,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._progress import note
from ansible_collections.nadle.cloudrun.plugins.module_utils._rollout import read_plan_write, waiting_out_grants
from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import default_account, ensure_secrets, for_validation
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import SERVICE_ID_RE, check_env, short

JOB, EXECUTION, TASK, CONTAINER = "job", "execution", "task", "container"
JOB_ID_MAX = 63
MAX_RETRIES = 10  # gcloud run jobs deploy --max-retries: 0 to 10
MAX_TASK_TIMEOUT = 7 * 24 * 3600  # a task attempt may run up to 168 hours
JOB_ENV = ("CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_ATTEMPT",
           "CLOUD_RUN_TASK_COUNT")
# Fields the API owns (google.cloud.run_v2 types/job.py: "Output only"); never sent back, but the etag.
JOB_OUTPUT_ONLY = (
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "observedGeneration", "terminalCondition", "conditions", "executionCount",
    "latestCreatedExecution", "reconciling", "satisfiesPzs", "etag",
)
LOG_LINES = 30


def _check_retries(value, _params):
    return [] if 0 <= value <= MAX_RETRIES else [f"max_retries: {value} is out of range; use 0 to {MAX_RETRIES}."]


def _check_task_timeout(value, _params):
    seconds = parse_timeout(value)
    if seconds is not None and 1 <= seconds <= MAX_TASK_TIMEOUT:
        return []
    return [f"task_timeout: '{value}' is not allowed; use 1 second to 168 hours (for example 600, 600s, 30m or 2h), "
            "the longest a task attempt may run."]


def _at_least(option, low):
    def check(value, _params):
        return [] if value >= low else [f"{option}: {value} must be at least {low}."]
    return check


def _service_option(name, where):
    """A cloudrun_service option row, placed where a job keeps the same field."""
    row = copy.copy(BY_NAME[name])
    row.where = where
    return row


# One row per option, as cloudrun_service's table: the service's own rows where the field is the same.
OPTIONS = (
    _service_option("image", CONTAINER), _service_option("command", CONTAINER), _service_option("args", CONTAINER),
    _service_option("cpu", CONTAINER), _service_option("memory", CONTAINER), _service_option("env", CONTAINER),
    Option("task_count", dict(type="int"), EXECUTION, _get_path("taskCount", default=1), _set("taskCount"),
           check=_at_least("task_count", 1)),
    Option("parallelism", dict(type="int"), EXECUTION, _get_path("parallelism", default=0), _set("parallelism"),
           check=_at_least("parallelism", 0)),
    # max_retries is optional in TaskTemplate (a oneof): 0 is sent and shown, not dropped as a default.
    Option("max_retries", dict(type="int"), TASK, _get_path("maxRetries"), _set("maxRetries"),
           check=_check_retries),
    Option("task_timeout", dict(type="str"), TASK, lambda t: api_duration_seconds(t.get("timeout")),
           lambda t, v, _n: t.__setitem__("timeout", f"{v}s"), normalise=parse_timeout, check=_check_task_timeout),
    _service_option("service_account", TASK), _service_option("vpc_access", TASK),
    _service_option("labels", JOB),
)


def job_argument_spec():
    return dict(
        argument_spec(OPTIONS), **copy.deepcopy(ENTRY_SPEC),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        secret_owner=dict(type="str", no_log=False),
        execute=dict(type="bool", default=False),
        overrides=dict(type="dict", options=dict(
            args=dict(type="list", elements="str"), env=dict(type="dict"), task_count=dict(type="int"),
            task_timeout=dict(type="str"))),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        log_in_message=dict(type="bool", default=True),
    )


def job_problems(params):
    """Every rule known before any request, one message each."""
    name = params.get("name") or ""
    problems = []
    if not SERVICE_ID_RE.match(name) or len(name) > JOB_ID_MAX:  # a job ID follows a service ID's rule
        problems.append(f"name: '{name}' is not a valid job name. Use lowercase letters, digits and '-', starting "
                        f"with a letter and not ending with '-', at most {JOB_ID_MAX} characters.")
    problems += option_problems(params, OPTIONS)
    problems += _cpu_memory.problems({"cpu": params.get("cpu"), "memory": params.get("memory"), "concurrency": None,
                                      "cpu_idle": None, "execution_environment": None})
    if params.get("parallelism") and params.get("task_count") and params["parallelism"] > params["task_count"]:
        problems.append(f"parallelism ({params['parallelism']}) is greater than task_count ({params['task_count']}).")
    for key in sorted(set(params.get("env") or {}) | set(params.get("secrets") or {})):
        if key in JOB_ENV:
            problems.append(f"env: {key} is reserved; Cloud Run sets it in every task.")
    overrides = params.get("overrides") or {}
    if overrides and not params.get("execute"):
        problems.append("overrides: apply to a run; set execute: true as well.")
    if overrides.get("task_count") is not None and overrides["task_count"] < 1:
        problems.append(f"overrides.task_count: {overrides['task_count']} must be at least 1.")
    if overrides.get("task_timeout") is not None:
        problems += [p.replace("task_timeout", "overrides.task_timeout", 1)
                     for p in _check_task_timeout(overrides["task_timeout"], params)]
    for key, value in (overrides.get("env") or {}).items():
        if isinstance(value, (dict, list)) or value is None:
            problems.append(f"overrides.env: {key} must be a plain value (a run's env cannot reference a secret).")
        elif key in JOB_ENV:
            problems.append(f"overrides.env: {key} is reserved; Cloud Run sets it in every task.")
    return problems


def check_options(params):
    """(params with ``env`` from every source, secret values, problems)."""
    plain, secrets, _origins, problems = read_entry(params)
    if plain is not None:
        params = dict(params, env=plain)
    problems = job_problems(params) + problems
    if plain is not None:
        problems += check_env(plain)
        problems.append(missing_required(params.get("required"), set(plain) | set(secrets)))
    return params, secrets, [p for p in problems if p]


# ------------------------------------------------------------------ the job
def _objects(job):
    execution = job.setdefault("template", {})
    task = execution.setdefault("template", {})
    containers = task.setdefault("containers", [])
    if not containers:
        containers.append({})
    return {JOB: job, EXECUTION: execution, TASK: task, CONTAINER: containers[0]}


def observed_state(job):
    objects = _objects(copy.deepcopy(job))
    return {o.name: o.read(objects[o.where]) for o in OPTIONS}


def writable(job):
    spec = {k: copy.deepcopy(v) for k, v in (job or {}).items() if k not in JOB_OUTPUT_ONLY}
    if (job or {}).get("etag"):
        spec["etag"] = job["etag"]
    return spec


def build_job(current, desired):
    """The Job JSON to send: the current spec (or nothing) with every desired option applied."""
    spec = writable(current)
    objects = _objects(spec)
    for option in OPTIONS:
        if option.name in desired:
            option.write(objects[option.where], desired[option.name], None)
    return spec


def job_result(job):
    """The job as a result: snake_case, with its latest execution."""
    if not job:
        return None
    latest = job.get("latestCreatedExecution") or {}
    return {"name": short(job.get("name")), "uid": job.get("uid"), "generation": job.get("generation"),
            "execution_count": int(job.get("executionCount") or 0),
            "latest_execution": short(latest.get("name")), "latest_execution_status": latest.get("completionStatus"),
            "template": snake_keys(job.get("template") or {}), "labels": job.get("labels") or {}}


def execution_result(execution, exit_code=None):
    completed = next((c for c in execution.get("conditions") or [] if c.get("type") == "Completed"), {})
    status = {"CONDITION_SUCCEEDED": "SUCCEEDED", "CONDITION_FAILED": "FAILED"}.get(completed.get("state"), "RUNNING")
    if completed.get("executionReason") == "CANCELLED":
        status = "CANCELLED"
    result = {"name": short(execution.get("name")), "status": status, "message": completed.get("message"),
              "task_count": int(execution.get("taskCount") or 0)}
    result.update(snake_keys({field: int(execution.get(field) or 0) for field in (
        "succeededCount", "failedCount", "cancelledCount", "retriedCount", "runningCount")}))
    result.update(log_uri=execution.get("logUri"), start_time=execution.get("startTime"),
                  completion_time=execution.get("completionTime"))
    if exit_code is not None:
        result["exit_code"] = exit_code
    return result


def _secret_refs(module, params, secrets):
    """Secret Manager references for the secret values, written under ``secret_owner`` (else the job's name)."""
    if not secrets:
        return [], {}, []
    owner = params.get("secret_owner") or params["name"]

    def account(number):
        return params.get("service_account") or default_account(number)
    return ensure_secrets(module.client("secrets"), module.project, owner, secrets,
                          params["secret_version"] == "pinned", module.check_mode,
                          account if params["grant_secret_access"] else None)


def _wait_write(module, jobs, operation, action):
    if operation is not None and module.params["wait"]:
        api.wait(operation, module.params["wait_timeout"], action, client=jobs, result_type=api.job_type())


def _read_job(jobs, path):
    found = api.get_job(jobs, name=path)
    return to_dict(found) if found is not None else None


def plan_job(params, current, refs):
    """What to write for the job as read: {spec (None: nothing), changes, differences}. No request."""
    desired = desired_state(params, OPTIONS)
    if refs:
        if "env" not in desired:
            desired["env"] = observed_state(current)["env"] if current else {}
        desired["env"] = dict(desired["env"], **refs)
    differences = Differences(desired, observed_state(current) if current else None, OPTIONS)
    changes = list(differences.names) if current is not None else ["state"] + list(differences.names)
    return {"spec": build_job(current, desired) if changes else None, "changes": changes,
            "differences": differences}


def _writer(module, jobs, path, job_id):
    """write() for read_plan_write: create or update the job as planned (validateOnly in check mode), and wait."""
    def write(current, plan):
        spec = plan["spec"]
        if module.check_mode:  # a secret version still to be written is "latest" to Cloud Run's validateOnly
            spec["template"]["template"] = for_validation({"template": spec["template"]["template"]})["template"]
        if current is None:
            operation = api.create_job(jobs, parent=module.parent, job_id=job_id, job=spec,
                                       validate_only=module.check_mode)
        else:
            operation = api.update_job(jobs, name=path, job=spec, validate_only=module.check_mode)
        if module.check_mode:
            return current
        _wait_write(module, jobs, operation, f"{'create' if current is None else 'update'} job {job_id}")
        return _read_job(jobs, path)
    return write


def _refuse_before_writing(module, params, first, path):
    """What would make the job fail after it is written, found with reads only: no image for a new job, a region
    Cloud Run does not have, an image that is not in its registry (Cloud Run takes the job; each run fails)."""
    job_id = params["name"]
    if first is None and not params.get("image"):
        raise CloudRunError(f"image is required to create job '{job_id}': {path} does not exist.")
    if first is None:
        api.refuse_unknown_region(module)
    if params.get("image") and params["image"] != (observed_state(first)["image"] if first else None) and \
            not api.image_digest(module.session(), params["image"], emulator=module.emulator):
        raise CloudRunError(f"image: {params['image']} is not in its registry, so job '{job_id}' was neither "
                            f"{'updated' if first else 'created'} nor run. Nothing was written.")


def ensure_present(module):
    params, secrets, problems = check_options(module.params)
    job_id = params["name"]
    if problems:
        raise CloudRunError(f"Invalid options for job '{job_id}' (nothing was written):\n- " + "\n- ".join(problems))
    module.hide(secrets.values())
    jobs = module.client("jobs")
    path = module.job_path()
    first = _read_job(jobs, path)
    _refuse_before_writing(module, params, first, path)
    written, refs, granted = _secret_refs(module, params, secrets)
    # Deploys of several services may share a job (one migration): a create that finds it made meanwhile,
    # or an update whose etag another write outdated, is read and planned again (read_plan_write).
    current, plan, final = read_plan_write(module, path, lambda found: plan_job(params, found, refs),
                                           _writer(module, jobs, path, job_id), first_read=first,
                                           read=lambda: _read_job(jobs, path))
    changes, differences = plan["changes"], plan["differences"]
    final = current if final is None else final
    result = {"changed": bool(changes or written or granted), "changed_options": [c for c in changes if c != "state"],
              "secrets_written": written, "secrets_granted": granted, "job": job_result(final), "execution": None}
    if module.diff_mode and changes:
        diff = differences.diff()
        if current is None:
            diff["before"], diff["after"]["state"] = {"state": "absent"}, "present"
        result["diff"] = diff
    if params["execute"]:
        result["changed"] = True
        if not module.check_mode:
            result["execution"] = _run_waiting_out_grants(module, jobs, path, params, final, granted)
            result["job"] = job_result(to_dict(api.get_job(jobs, name=path)))  # its execution count and latest
    return result


def _run_waiting_out_grants(module, jobs, path, params, job, granted):
    """execute(), tried again while its tasks are denied a secret access this run granted (on a new project a
    migration may run before the grant is in effect). ``job`` as written serves the first run; a run tried
    again reads the job anew for its newest execution."""
    job_now = [job]

    def run_once():
        now = job_now.pop() if job_now else _read_job(jobs, path)
        return execute(module, jobs, path, params, ((now or {}).get("latestCreatedExecution") or {}).get("name"))
    return waiting_out_grants(module, run_once, granted, "the job's tasks")


def _overrides(params):
    overrides = params.get("overrides") or {}
    request = {}
    container = {}
    if overrides.get("args") is not None:
        container["args"] = list(overrides["args"])
        if not overrides["args"]:
            container["clear_args"] = True
    if overrides.get("env"):
        container["env"] = [{"name": k, "value": api_text(v)} for k, v in overrides["env"].items()]
    if container:
        request["container_overrides"] = [container]
    if overrides.get("task_count") is not None:
        request["task_count"] = overrides["task_count"]
    if overrides.get("task_timeout") is not None:
        request["timeout"] = {"seconds": parse_timeout(overrides["task_timeout"])}
    return request


def api_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _started_meanwhile(module, path, before, error):
    """The execution a RunJob whose answer was lost (``error``) started, read from the job: a newest execution
    other than ``before``, the one the job had. None when it started none (then it ran nothing)."""
    if not api.lost_answer(error):
        return None
    job = _read_job(module.client("jobs"), path) or {}
    newest = (job.get("latestCreatedExecution") or {}).get("name")
    if not newest or newest == before:
        return None
    found = api.get_execution(module.client("executions"), name=newest)
    return to_dict(found) if found is not None else {"name": newest}


def _await_execution(module, path, params, started):
    """Poll an execution this task has no operation for (its RunJob answer was lost) until it ends."""
    execution, done = api.poll(
        lambda: to_dict(api.get_execution(module.client("executions"), name=started["name"]) or started),
        lambda found: bool(found.get("completionTime")), params["wait_timeout"], initial=1.0, maximum=5.0)
    if not done:
        raise CloudRunError(f"Execution {short(started['name'])} of job {params['name']} did not finish within "
                            f"{params['wait_timeout']} seconds; it is still running.", changed=True,
                            execution=execution_result(execution))
    return execution


def execute(module, jobs, path, params, before=None):
    """Run the job once and, with ``wait``, until its execution ends; a failed one raises with its log lines.

    ``before`` is the job's newest execution before this run: when the answer to RunJob is lost (a server
    error or a dropped connection after Cloud Run started it), an execution newer than it is this run's,
    followed and reported as run; none means nothing ran, and the error says so. RunJob is never sent twice.
    """
    job_id = params["name"]
    try:
        operation = api.run_job(jobs, name=path, overrides=_overrides(params))
    except CloudRunError as exc:
        started = _started_meanwhile(module, path, before, exc)
        if started is None:
            raise CloudRunError(exc.msg + f"\nJob {job_id} was not run: no new execution of it exists.",
                                **exc.details) from exc
        note(f"the answer to the run of job {job_id} was lost, but it started execution {short(started['name'])}")
        operation = None
    else:
        started = to_dict(operation.metadata) if operation.metadata is not None else {}
    execution_id = short(started.get("name")) or "?"
    note(f"execution {execution_id} of job {job_id} started; logs: {started.get('logUri', '')}")
    if not params["wait"]:
        return execution_result(started)
    try:
        finished = to_dict(api.wait(operation, params["wait_timeout"], f"run job {job_id}", client=jobs,
                                    result_type=api.execution_type())) if operation is not None \
            else _await_execution(module, path, params, started)
    except CloudRunError as exc:
        if "Timed out" in exc.msg:
            raise CloudRunError(f"Execution {execution_id} of job {job_id} did not finish within {params['wait_timeout']} "
                                f"seconds; it is still running. Follow it at {started.get('logUri', '')} or raise "
                                "wait_timeout.", changed=True, execution=execution_result(started)) from exc
        raise _failed(module, job_id, path, execution_id, exc) from exc
    execution = finished
    result = execution_result(execution)
    if result["failed_count"] or result["status"] in ("FAILED", "CANCELLED"):
        raise _failed(module, job_id, path, execution_id, CloudRunError(result["message"] or result["status"]))
    return result


def _failed(module, job_id, path, execution_id, error):
    """The error of a failed execution: the failed task, its exit code, its last log lines."""
    execution_name = f"{path}/executions/{execution_id}"
    found = api.get_execution(module.client("executions"), name=execution_name)
    execution = to_dict(found) if found is not None else {"name": execution_name}
    tasks = [to_dict(t) for t in api.list_tasks(module.client("tasks"), parent=execution_name)]
    failed = [t for t in tasks if (t.get("lastAttemptResult") or {}).get("status", {}).get("code")]
    task = failed[0] if failed else {}
    exit_code = (task.get("lastAttemptResult") or {}).get("exitCode")
    lines = []
    try:
        # A task's index 0 is left out of its JSON (proto3 omits defaults): a failed task without one is task 0.
        lines = api.read_job_logs(module.session(), module.logging_endpoint, module.project, job_id, execution_id,
                                  task.get("index", 0) if task else None, limit=LOG_LINES,
                                  since=execution.get("startTime") or execution.get("createTime"))
    except CloudRunError as exc:
        lines = [f"(the logs could not be read: {exc.msg})"]
    # The execution's own words ("Task E-task0 failed with message: ..."), else the operation's error.
    what = execution_result(execution)["message"] or (error.msg or "the execution failed").splitlines()[0]
    message = f"Job {job_id} failed: execution {execution_id}: {what}"
    if exit_code is not None:
        message += f" Exit code {exit_code}"
        if task.get("retried"):
            message += f" after {int(task['retried']) + 1} attempts"
        message += "."
    details = {"changed": True, "execution": execution_result(execution, exit_code)}
    if lines and module.params["log_in_message"]:
        message += f"\nLast {len(lines)} log lines of task {task.get('index', 0)}:\n" + "\n".join(lines)
    elif lines:
        details["log_lines"] = lines
    return CloudRunError(message, **details)


def ensure_absent(module):
    jobs = module.client("jobs")
    path = module.job_path()
    found = api.get_job(jobs, name=path)
    if found is None:
        return {"changed": False, "job": None, "execution": None, "changed_options": []}
    if not module.check_mode:
        operation = api.delete_job(jobs, name=path, etag=to_dict(found).get("etag"))
        _wait_write(module, jobs, operation, f"delete job {module.params['name']}")
    result = {"changed": True, "job": None, "execution": None, "changed_options": ["state"]}
    if module.diff_mode:
        result["diff"] = {"before": {"state": "present"}, "after": {"state": "absent"}}
    return result


def ensure_job(module):
    if module.params["state"] == "absent":
        if module.params["execute"]:
            raise CloudRunError("execute: true needs state: present; a job being deleted cannot run.")
        return ensure_absent(module)
    return ensure_present(module)
