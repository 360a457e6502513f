# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: read, compare, act for a Cloud Run service.

``ensure_present`` and ``ensure_absent`` return the module result; ``describe_services``
is the read side shared with cloudrun_service_info.
"""

from __future__ import annotations

import json

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import ensure_secrets, for_validation
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import (
    RESOURCE_OPTIONS, TEMPLATE_OPTIONS, env_from_api, ingress_container, request_body, short,
    snake_keys, tag_on_latest, traffic_with_new_revision,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import missing_required
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import Differences, desired_state, observed_state
from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import check_options
from ansible_collections.nadle.cloudrun.plugins.module_utils._cpu_memory import problems as resource_problems

try:
    from google.cloud import run_v2
except ImportError:  # reported by CloudRunModule
    pass

INVOKER = "roles/run.invoker"
ALL_USERS = "allUsers"
SUCCEEDED = "CONDITION_SUCCEEDED"
IAM_ATTEMPTS = 3
WRITE_ATTEMPTS = 3
LOG_WAIT = 10.0  # seconds a failure waits for a failed revision's first log lines


def to_dict(message):
    """An API message as the API's own JSON (camelCase, enum names, defaults left out)."""
    return json.loads(type(message).to_json(message, use_integers_for_enums=False,
                                            always_print_fields_with_no_presence=False))


def _ready(conditions, kind="Ready"):
    return any(c.get("type") == kind and c.get("state") == SUCCEEDED for c in conditions or [])


def service_result(service):
    """The documented ``service`` result: snake_case, short revision names, no server noise."""
    if not service:
        return None
    terminal = service.get("terminalCondition") or {}
    return {
        "name": short(service.get("name")),
        "resource_name": service.get("name"),
        "uid": service.get("uid"),
        "uri": service.get("uri"),
        "urls": service.get("urls", []),
        "generation": int(service.get("generation", 0)),
        "observed_generation": int(service.get("observedGeneration", 0)),
        "etag": service.get("etag"),
        "create_time": service.get("createTime"),
        "update_time": service.get("updateTime"),
        "creator": service.get("creator"),
        "last_modifier": service.get("lastModifier"),
        "ready": terminal.get("state") == SUCCEEDED,
        "reconciling": bool(service.get("reconciling")),
        "latest_ready_revision": short(service.get("latestReadyRevision")),
        "latest_created_revision": short(service.get("latestCreatedRevision")),
        "terminal_condition": snake_keys(terminal),
        "conditions": snake_keys(service.get("conditions", [])),
        "traffic": snake_keys(service.get("traffic", [])),
        "traffic_statuses": snake_keys(service.get("trafficStatuses", [])),
        "ingress": service.get("ingress"),
        "description": service.get("description", ""),
        "labels": service.get("labels", {}),
        "annotations": service.get("annotations", {}),
        "template": snake_keys(service.get("template", {})),
    }


def revision_result(revision, traffic=None):
    """One revision: name, created, ready, image; with ``traffic``, its percent and tags."""
    container = ingress_container(revision) or {}
    result = {
        "name": short(revision.get("name")),
        "resource_name": revision.get("name"),
        "create_time": revision.get("createTime"),
        "ready": _ready(revision.get("conditions")),
        "image": container.get("image"),
        "conditions": snake_keys(revision.get("conditions", [])),
        "log_uri": revision.get("logUri"),
    }
    if traffic is not None:
        result["percent"], result["tags"] = traffic.get(result["name"], (0, []))
    return result


def traffic_by_revision(service):
    """{revision short name: (percent, [tags])} from what the service actually serves."""
    shares = {}
    for status in service.get("trafficStatuses", []):
        revision = status.get("revision") or (short(service.get("latestReadyRevision"))
                                              if status.get("type", "").endswith("LATEST") else None)
        if not revision:
            continue
        percent, tags = shares.get(revision, (0, []))
        shares[revision] = (percent + status.get("percent", 0), tags + ([status["tag"]] if status.get("tag") else []))
    return shares


def require_service(crm, hint=""):
    """(services client, full name, service dict) of ``name``, which must exist; ``hint`` says what to do if not."""
    services = crm.client("services")
    full_name = f"{crm.parent}/services/{crm.params['name']}"
    found = api.get_service(services, name=full_name)
    if found is None:
        raise CloudRunError(f"Service '{crm.params['name']}' does not exist ({full_name}).{hint}")
    return services, full_name, to_dict(found)


# --------------------------------------------------------------------- IAM
def _has_public_invoker(policy):
    return any(b.role == INVOKER and ALL_USERS in b.members and not b.condition.expression for b in policy.bindings)


def _set_public_invoker(policy, public):
    """Add or remove only allUsers in roles/run.invoker; every other binding and member stays."""
    if public:
        for binding in policy.bindings:
            if binding.role == INVOKER and not binding.condition.expression:
                binding.members.append(ALL_USERS)
                return
        policy.bindings.append(api.new_binding(INVOKER, [ALL_USERS]))
        return
    for binding in list(policy.bindings):
        if binding.role == INVOKER and ALL_USERS in binding.members:
            binding.members.remove(ALL_USERS)
            if not binding.members:
                policy.bindings.remove(binding)


def ensure_invoker(services, name, public, check_mode):
    """Make the allUsers invoker binding match ``public``: read, modify, write with the policy etag.

    A concurrent change (409 ABORTED) restarts the read-modify-write, at most 3 times.
    Returns (changed, was_public).
    """
    for attempt in range(IAM_ATTEMPTS):
        policy = api.get_iam_policy(services, resource=name)
        was_public = _has_public_invoker(policy)
        if was_public == public:
            return False, was_public
        if check_mode:
            return True, was_public
        _set_public_invoker(policy, public)
        try:
            api.set_iam_policy(services, resource=name, policy=policy)
            return True, was_public
        except CloudRunError as exc:
            if exc.details.get("api_status") != 409 or attempt == IAM_ATTEMPTS - 1:
                raise
            api.backoff(attempt)
    raise CloudRunError(f"Could not update the IAM policy of {name}.")  # not reached


# ----------------------------------------------------------------- present
def _check_suffix_reuse(desired, changes, observed, name):
    template_changes = [o for o in changes if o in TEMPLATE_OPTIONS]
    suffix = desired.get("revision_suffix")
    if suffix and template_changes and "revision_suffix" not in changes and observed.get("revision_suffix") == suffix:
        raise CloudRunError(
            f"revision_suffix '{suffix}' is already the name of revision {name}-{suffix}, but "
            f"{', '.join(template_changes)} changed, which needs a new revision. Give a new revision_suffix, "
            "or leave it out to let Cloud Run name the revision.")


def _revision_logs(crm, service_id, revision_id, limit=30, wait=0.0):
    """A revision's last log lines; a person needs them more than a link. Best effort.

    Logs reach Cloud Logging seconds after a container wrote them, so with ``wait`` an empty answer
    is asked again, with backoff, for up to that many seconds. The query is bounded by the
    revision's createTime. Returns (lines, a note when there are none).
    """
    revision = api.get_revision(crm.client("revisions"),
                                name=f"{crm.parent}/services/{service_id}/revisions/{revision_id}")
    since = revision.create_time.isoformat().replace("+00:00", "Z") if revision and revision.create_time else None
    try:
        lines, _found = api.poll(lambda: api.read_revision_logs(crm.session(), crm.logging_endpoint, crm.project,
                                                                service_id, revision_id, limit=limit, since=since),
                                 bool, wait, initial=1.0, maximum=2.0)
    except CloudRunError as exc:  # the deploy error matters more than this one
        return [], f"({exc.msg})"
    if lines:
        return lines, None
    where = f": {revision.log_uri}" if revision and revision.log_uri else ""
    return [], (f"(No log lines of {revision_id} have reached Cloud Logging yet; they can lag by some seconds. "
                f"See the logs{where})")


def _failure(crm, services, full_name, error, created):
    """A rollout that failed: say what was changed, what serves now, and what was not done."""
    service_id = crm.params["name"]
    after = api.get_service(services, name=full_name)
    state = to_dict(after) if after else {}
    failed = short(state.get("latestCreatedRevision")) or "the new revision"
    serving = ", ".join(f"{rev} ({pct}%)" for rev, (pct, _tags) in traffic_by_revision(state).items() if pct)
    log_lines, log_problem = _revision_logs(crm, service_id, failed, wait=LOG_WAIT)
    lines = [f"Service '{service_id}': revision '{failed}' did not become ready, so it serves no traffic.",
             error.msg]
    unseen = [line for line in log_lines if line not in error.msg]
    if unseen:
        lines.append(f"Last log lines of {failed}:\n" + "\n".join(unseen))
    elif log_problem:
        lines.append(log_problem)
    if created:
        lines.append("The service was created but has no ready revision yet, so it serves nothing.")
    else:
        lines.append(f"The service spec was updated (generation {state.get('generation', '?')}); traffic still "
                     f"goes to {serving or 'no revision'}.")
    if crm.params.get("allow_unauthenticated") is not None:
        lines.append("allow_unauthenticated was not applied.")
    return CloudRunError("\n".join(lines), changed=True, service=service_result(state),
                         failed_revision=failed, log_lines=log_lines)


def wait_for_rollout(crm, services, operation, current, new_revision=None):
    """Wait for a write (when ``wait``); returns (service dict, the new revision's result or None).

    ``new_revision`` is the name the write gave the revision it makes. The module names every
    revision it makes, so it can say which one even with ``wait: false``, when Cloud Run has not
    made it yet (a GET right after a write still shows the previous ``latestCreatedRevision``).
    """
    service_id = crm.params["name"]
    full_name = f"{crm.parent}/services/{service_id}"
    if crm.params["wait"]:
        try:
            final = to_dict(api.wait(operation, crm.params["wait_timeout"], f"deploy service {service_id}",
                                     client=services, result_type=run_v2.Service))
        except CloudRunError as exc:
            raise _failure(crm, services, full_name, exc, created=current is None) from exc
    else:
        final = to_dict(api.get_service(services, name=full_name))
    if not new_revision:
        return final, None
    found = api.get_revision(crm.client("revisions"), name=f"{full_name}/revisions/{new_revision}")
    # Not made yet when wait is false: what is known is its name.
    return final, revision_result(to_dict(found) if found else {"name": f"{full_name}/revisions/{new_revision}"})


def _with_secret_refs(desired, current, refs):
    """Put Secret Manager references into the desired env.

    With ``env`` set the env is compared whole; without it, the secret keys are merged into the
    service's current env.
    """
    if not refs:
        return
    if "env" not in desired:
        container = ingress_container((current or {}).get("template") or {}) or {}
        desired["env"] = env_from_api(container.get("env"))
    desired["env"].update(refs)


def _check_resources(spec, desired, current, service_id):
    """Cloud Run's CPU and memory rules on the template this write would leave, before it is sent.

    The options alone were checked before any request; this catches the rules broken together
    with a value the service already has (cpu 0.5 set now, concurrency 80 from before).
    """
    written = observed_state(spec, service_id)  # the request, read back through the option table
    has_resources = bool((ingress_container(spec.get("template") or {}) or {}).get("resources"))
    settings = {o: written[o] for o in RESOURCE_OPTIONS}
    settings.update(cpu=written["cpu"] or "1", memory=written["memory"] or "512Mi",
                    # Sent without cpuIdle, resources mean CPU always allocated (ResourceRequirements.cpu_idle);
                    # without resources at all, Cloud Run's default (request-based) applies.
                    cpu_idle=written["cpu_idle"] if has_resources else None)
    source = "the service's value" if current else "Cloud Run's default"
    problems = resource_problems(settings, {o: source for o in settings if o not in desired})
    if problems:
        raise CloudRunError(f"Invalid options for service '{service_id}' (nothing was written):\n- "
                            + "\n- ".join(problems))


def failed_latest(service):
    """(name, Cloud Run's message) of the service's newest revision when it failed to start, else None."""
    created, ready = service.get("latestCreatedRevision"), service.get("latestReadyRevision")
    terminal = service.get("terminalCondition") or {}
    if created and created != ready and terminal.get("state") == "CONDITION_FAILED" and not service.get("reconciling"):
        return short(created), terminal.get("message", "")
    return None


def _plan(crm, current, desired):
    """What to write, or nothing: {differences, changes, spec (the request body), new_revision}."""
    params = crm.params
    service_id = params["name"]
    if current is None and "image" not in desired:
        raise CloudRunError(f"image is required to create service '{service_id}': "
                            f"{crm.parent}/services/{service_id} does not exist.")
    observed = observed_state(current, service_id) if current is not None else None
    differences = Differences(desired, observed)
    changes = list(differences.names)
    if observed is not None:
        _check_suffix_reuse(desired, changes, observed, service_id)
    tag, no_traffic = params.get("tag"), params.get("no_traffic")
    # The newest revision failed and nothing changed since: the cause was elsewhere (a secret or a
    # database made later), so a rerun tries again with a new revision instead of doing nothing.
    retried = failed_latest(current) if current is not None and not differences.makes_revision else None
    makes_revision = current is None or differences.makes_revision or retried is not None
    if retried:
        changes.append("revision")
    if tag and current is not None and not makes_revision and not tag_on_latest(current, tag):
        changes.append("tag")
    plan = {"differences": differences, "observed": observed, "changes": changes, "spec": None,
            "new_revision": None, "retried": retried}
    if not changes:
        return plan
    spec = request_body(current, desired, service_id, makes_revision)
    if makes_revision:
        _check_resources(spec, desired, current, service_id)
        plan["new_revision"] = spec["template"]["revision"]
    if (tag or no_traffic) and (makes_revision or "tag" in changes):
        # The write names the new revision, so its traffic target can point at it.
        target = plan["new_revision"] or short(current.get("latestCreatedRevision"))
        spec["traffic"] = traffic_with_new_revision(current, target, tag, no_traffic and makes_revision)
    plan["spec"] = spec
    return plan


def _write(crm, services, current, plan):
    """Send the planned write (validateOnly in check mode); returns (service dict, revision result)."""
    full_name = f"{crm.parent}/services/{crm.params['name']}"
    body = run_v2.Service.from_json(json.dumps(plan["spec"]))
    if crm.check_mode:
        # validateOnly gives the server's verdict on the request, and writes nothing.
        checked = run_v2.Service.from_json(json.dumps(for_validation(plan["spec"])))
        if current is None:
            api.create_service(services, parent=crm.parent, service_id=crm.params["name"], service=checked,
                               validate_only=True)
        else:
            api.update_service(services, name=full_name, service=checked, validate_only=True)
        return dict(current or {"name": full_name}, **to_dict(body)), None
    if current is None:
        operation = api.create_service(services, parent=crm.parent, service_id=crm.params["name"], service=body)
    else:
        operation = api.update_service(services, name=full_name, service=body)
    return wait_for_rollout(crm, services, operation, current, plan["new_revision"])


def _landed(current, sent):
    """Whether ``current`` holds the write planned as ``sent``: the revision name that write gave."""
    name = (sent or {}).get("new_revision")
    return bool(name) and (current or {}).get("template", {}).get("revision") == name


def read_plan_write(crm, full_name, plan_for, write, first_read=None, adopt=None):
    """Read the service, ``plan_for(current)``, ``write(current, plan)``; again if someone changed it meanwhile.

    A plan is a dict whose ``spec`` is the request body, or None when there is nothing to write.

    Every write carries the etag of its read, so a change made between the read and the write is
    refused (409 ABORTED), never overwritten: read again, plan again, at most WRITE_ATTEMPTS times
    with backoff. A create that finds the service made meanwhile (409) is planned again as an update.
    ``first_read`` is a read the caller already made, used for the first attempt.
    A write is not idempotent: one whose answer was lost (a 503 after the server committed it) and
    that the client retried answers 409. If the read after it shows the revision name that write
    gave, the write landed: ``adopt(current, plan)`` gives what ``write`` would have returned.
    Returns (current as last read, plan, what ``write`` returned, or None when nothing was written).
    """
    services = crm.client("services")
    sent = None
    for attempt in range(WRITE_ATTEMPTS):
        if attempt == 0 and first_read is not None:
            current = first_read
        else:
            found = api.get_service(services, name=full_name)
            current = to_dict(found) if found else None
        plan = plan_for(current)
        if plan["spec"] is None:
            if adopt is not None and _landed(current, sent):
                return current, sent, adopt(current, sent)
            return current, plan, None
        if current is not None:
            api.check_client_knows(crm.session(), crm.run_endpoint, full_name)
        try:
            return current, plan, write(current, plan)
        except CloudRunError as exc:
            raced = api.conflict(exc) or (current is None and exc.details.get("api_status") == 409)
            sent = plan
            if not raced or attempt == WRITE_ATTEMPTS - 1:
                if raced:
                    exc.msg += (f"\nThe service kept changing while this task ran ({WRITE_ATTEMPTS} attempts, "
                                "each planned from a fresh read); nothing of this task was written.")
                raise
            api.backoff(attempt)
    raise CloudRunError(f"Could not update {full_name}.")  # not reached


def _adopt(crm, services, plan):
    """Wait for a write that landed although its answer was lost, as ``wait_for_rollout`` would."""
    service_id = crm.params["name"]
    full_name = f"{crm.parent}/services/{service_id}"

    def read():
        found = api.get_service(services, name=full_name)
        return to_dict(found) if found else {}

    def is_settled(service):
        return not service.get("reconciling") and service.get("observedGeneration") == service.get("generation")

    service, settled = api.poll(read, is_settled, crm.params["wait_timeout"] if crm.params["wait"] else 0,
                                initial=0.5, maximum=5.0)
    if crm.params["wait"] and not settled:
        raise CloudRunError(f"Timed out after {crm.params['wait_timeout']} seconds waiting for service "
                            f"{service_id}, whose write landed although its answer was lost.", changed=True)
    terminal = service.get("terminalCondition") or {}
    if settled and terminal.get("state") == "CONDITION_FAILED":
        raise _failure(crm, services, full_name, CloudRunError(terminal.get("message", "")),
                       created=plan["observed"] is None)
    found = api.get_revision(crm.client("revisions"), name=f"{full_name}/revisions/{plan['new_revision']}")
    return service, (revision_result(to_dict(found)) if found else None)


def _iam_failure(exc, service_id, changes, final):
    """The invoker binding failed after the service write: say what was done and what was not."""
    lines = [exc.msg]
    if "permitted customer" in exc.msg:
        lines.append("Your organisation's Domain Restricted Sharing policy refuses allUsers in IAM policies. "
                     "Set invoker_iam_disabled: true to make the service public without an IAM binding (Cloud "
                     "Run's supported way under that policy), or leave allow_unauthenticated unset.")
    done = [c for c in changes if c != "allow_unauthenticated"]
    lines.append(f"Service '{service_id}' was updated ({', '.join(done)}); allow_unauthenticated was not applied."
                 if done else f"Service '{service_id}' was not changed; allow_unauthenticated was not applied.")
    return CloudRunError("\n".join(lines), changed=bool(done), service=service_result(final), **exc.details)


def _planner(crm, params, refs):
    """plan_for for read_plan_write: the desired state (with secret references) against each read."""
    warned = []

    def plan_for(current):
        desired = desired_state(params)
        _with_secret_refs(desired, current, refs)
        env = desired["env"] if "env" in desired else env_from_api(
            (ingress_container((current or {}).get("template") or {}) or {}).get("env"))
        missing = missing_required(params.get("required"), env)
        if missing:
            raise CloudRunError(f"Invalid options for service '{params['name']}' (the service was not changed):\n- "
                                + missing)
        plan = _plan(crm, current, desired)
        if plan["retried"] and plan["new_revision"] and not warned:
            failed, why = plan["retried"]
            warned.append(failed)
            crm.warn(f"Revision {failed} failed before ({(why.splitlines() or [''])[0]}); nothing in the "
                     f"options changed, so this run tries again as {plan['new_revision']}.")
        return plan
    return plan_for


def _ensure_public(crm, services, current, plan, final):
    """Apply allow_unauthenticated after the service write; adds it to the plan's changes and diff."""
    public = crm.params["allow_unauthenticated"]
    if public is None or (public and crm.params.get("invoker_iam_disabled")):
        return
    try:
        if current is None and crm.check_mode:
            iam_changed, was_public = public, False  # a new service starts with no invoker binding
        else:
            iam_changed, was_public = ensure_invoker(services, f"{crm.parent}/services/{crm.params['name']}",
                                                     public, crm.check_mode)
    except CloudRunError as exc:
        raise _iam_failure(exc, crm.params["name"], plan["changes"], final) from exc
    if iam_changed:
        plan["changes"].append("allow_unauthenticated")
        plan["diff"]["before"]["allow_unauthenticated"] = was_public
        plan["diff"]["after"]["allow_unauthenticated"] = public


def ensure_present(crm):
    params, secrets, problems = check_options(crm.params)
    service_id = params["name"]
    if problems:
        raise CloudRunError(f"Invalid options for service '{service_id}':\n- " + "\n- ".join(problems))
    crm.hide(secrets.values())
    services = crm.client("services")
    secrets_written, refs = ensure_secrets(crm.client("secrets"), crm.project, service_id, secrets,
                                           params["secret_version"] == "pinned", crm.check_mode) if secrets else ([], {})
    current, plan, written = read_plan_write(crm, f"{crm.parent}/services/{service_id}",
                                             _planner(crm, params, refs),
                                             lambda current, plan: _write(crm, services, current, plan),
                                             adopt=lambda current, plan: _adopt(crm, services, plan))
    final, revision = written if written else (current, None)
    plan["diff"] = plan["differences"].diff()
    if "tag" in plan["changes"] or (params.get("tag") and plan["changes"]):
        plan["diff"]["after"]["tag"] = params["tag"]
    _ensure_public(crm, services, current, plan, final)
    result = {"changed": bool(plan["changes"] or secrets_written), "service": service_result(final),
              "revision": revision, "changed_options": plan["changes"], "secrets_written": secrets_written}
    if crm.diff_mode and plan["changes"]:
        result["diff"] = plan["diff"]
    return result


# ------------------------------------------------------------------ absent
def ensure_absent(crm):
    service_id = crm.params["name"]
    services = crm.client("services")
    full_name = f"{crm.parent}/services/{service_id}"
    current_message = api.get_service(services, name=full_name)
    if current_message is None:
        return {"changed": False, "service": None, "revision": None, "changed_options": []}
    current = to_dict(current_message)
    if not crm.check_mode:
        operation = api.delete_service(services, name=full_name, etag=current.get("etag"))
        if crm.params["wait"]:
            api.wait(operation, crm.params["wait_timeout"], f"delete service {service_id}", client=services,
                     result_type=run_v2.Service)
    result = {"changed": True, "service": None, "revision": None, "changed_options": ["state"]}
    if crm.diff_mode:
        result["diff"] = {"before": {"state": "present", "uri": current.get("uri")}, "after": {"state": "absent"}}
    return result


def ensure_service(crm):
    return ensure_absent(crm) if crm.params["state"] == "absent" else ensure_present(crm)


# -------------------------------------------------------------------- info
def _hide_referenced_secrets(crm, revision):
    """Mask the values of the secrets ``revision``'s env references; False when one cannot be read."""
    for container in revision.get("containers") or []:
        for item in container.get("env") or []:
            ref = (item.get("valueSource") or {}).get("secretKeyRef")
            if not ref:
                continue
            secret = ref["secret"] if "/" in ref["secret"] else f"projects/{crm.project}/secrets/{ref['secret']}"
            try:
                found = api.access_version(crm.client("secrets"), name=f"{secret}/versions/{ref.get('version', 'latest')}")
            except CloudRunError:
                return False
            if found is not None:
                crm.hide([found.payload.data.decode("utf-8", "replace")])
    return True


def _latest_logs(crm, result, raw_revisions):
    """Log lines of the service's latest created revision into its result, secrets masked with mask_secrets."""
    for revision in result["revisions"]:
        if revision["name"] != result["latest_created_revision"]:
            continue
        if crm.params.get("mask_secrets") and not _hide_referenced_secrets(crm, raw_revisions[revision["name"]]):
            revision["log"] = ["(log lines withheld: a secret this revision uses could not be read to mask it)"]
            continue
        revision["log"], _problem = _revision_logs(crm, result["name"], revision["name"], crm.params["log_lines"])


def describe_services(crm):
    """One service (``name``) or every service in the region, each with its revisions."""
    services = crm.client("services")
    revisions = crm.client("revisions")
    if crm.params.get("name"):
        found = api.get_service(services, name=f"{crm.parent}/services/{crm.params['name']}")
        found = [found] if found else []
    else:
        found = api.list_services(services, parent=crm.parent)
    described = []
    for message in found:
        service = to_dict(message)
        shares = traffic_by_revision(service)
        result = service_result(service)
        raw = {short(r["name"]): r for r in map(to_dict, api.list_revisions(revisions, parent=service["name"]))}
        result["revisions"] = [revision_result(r, shares) for r in raw.values()]
        if crm.params.get("log_lines"):
            _latest_logs(crm, result, raw)
        described.append(result)
    return {"changed": False, "services": described}
