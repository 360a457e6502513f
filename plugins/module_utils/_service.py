# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_service's present and absent, planned from the option table and written once.

``ensure_present`` reads, plans (``_options`` and ``_spec``), writes through ``_rollout`` and sets
the public invoker (``_invoker``); ``ensure_absent`` deletes. Both return the module result.
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._api import to_dict
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._cpu_memory import problems as resource_problems
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import missing_required
from ansible_collections.nadle.cloudrun.plugins.module_utils._invoker import (
    access_options, ensure_invokers, ensure_public, managed_access,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import Differences, desired_state, observed_state
from ansible_collections.nadle.cloudrun.plugins.module_utils._rest import service_path
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import revision_result, service_result
from ansible_collections.nadle.cloudrun.plugins.module_utils._rollout import (
    failed_latest, failure, read_plan_write, wait_for_rollout, waiting_out_grants,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import default_account, ensure_secrets, for_validation
from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import check_options
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import (
    RESOURCE_OPTIONS, TEMPLATE_OPTIONS, env_from_api, ingress_container, request_body, short,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._traffic import (
    serves_latest, tag_on_latest, traffic_from_api, traffic_with_new_revision,
)


# ----------------------------------------------------------------- present
def _check_suffix_reuse(desired, changes, observed, name):
    template_changes = [o for o in changes if o in TEMPLATE_OPTIONS]
    suffix = desired.get("revision_suffix")
    if suffix and template_changes and "revision_suffix" not in changes and observed.get("revision_suffix") == suffix:
        raise CloudRunError(
            f"revision_suffix '{suffix}' is already the name of revision {name}-{suffix}, but "
            f"{', '.join(template_changes)} changed, which needs a new revision. Give a new revision_suffix, "
            "or leave it out to let Cloud Run name the revision.")


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


def _plan(params, path, current, desired):
    """What to write, or nothing: {differences, changes, spec (the request body), new_revision}.

    ``params`` are cloudrun_service's options (checked), ``path`` the service's full name.
    """
    service_id = params["name"]
    if current is None and "image" not in desired:
        raise CloudRunError(f"image is required to create service '{service_id}': {path} does not exist.")
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


def _write(module, services, current, plan):
    """Send the planned write (validateOnly in check mode); returns (service dict, revision result)."""
    full_name = module.service_path()
    body = plan["spec"]
    if module.check_mode:
        # validateOnly gives the server's verdict on the request, and writes nothing.
        checked = for_validation(body)
        if current is None:
            api.create_service(services, parent=module.parent, service_id=module.params["name"], service=checked,
                               validate_only=True)
        else:
            api.update_service(services, name=full_name, service=checked, validate_only=True)
        # What the write would leave, in the API's JSON form as the client gives it back.
        return dict(current or {"name": full_name}, **to_dict(api.service_message(body))), None
    if current is None:
        operation = api.create_service(services, parent=module.parent, service_id=module.params["name"], service=body)
    else:
        operation = api.update_service(services, name=full_name, service=body)
    return wait_for_rollout(module, services, operation, current, plan["new_revision"])


def _adopt(module, services, plan):
    """Wait for a write that landed although its answer was lost, as ``wait_for_rollout`` would."""
    service_id = module.params["name"]
    full_name = module.service_path()

    def read():
        found = api.get_service(services, name=full_name)
        return to_dict(found) if found else {}

    def is_settled(service):
        return not service.get("reconciling") and service.get("observedGeneration") == service.get("generation")

    service, settled = api.poll(read, is_settled, module.params["wait_timeout"] if module.params["wait"] else 0,
                                initial=0.5, maximum=5.0)
    if module.params["wait"] and not settled:
        raise CloudRunError(f"Timed out after {module.params['wait_timeout']} seconds waiting for service "
                            f"{service_id}, whose write landed although its answer was lost.", changed=True)
    terminal = service.get("terminalCondition") or {}
    if settled and terminal.get("state") == "CONDITION_FAILED":
        raise failure(module, services, full_name, CloudRunError(terminal.get("message", "")),
                      created=plan["observed"] is None)
    found = api.get_revision(module.client("revisions"), name=module.revision_path(plan["new_revision"]))
    return service, (revision_result(to_dict(found)) if found else None)


def _runtime_account(module, params):
    """grant_to for ensure_secrets: the service_account option, else the account the service runs as now
    (one read, made only when a secret is written), else the project's default compute account."""
    seen = {}

    def account(number):
        if params.get("service_account"):
            return params["service_account"]
        if "running" not in seen:
            found = api.get_service(module.client("services"), name=module.service_path())
            seen["running"] = ((to_dict(found) if found else {}).get("template") or {}).get("serviceAccount")
        return seen["running"] or default_account(number)
    return account


def _planner(module, params, refs):
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
        plan = _plan(params, module.service_path(), current, desired)
        if plan["retried"] and plan["new_revision"] and not warned:
            failed, why = plan["retried"]
            warned.append(failed)
            module.warn(f"Revision {failed} failed before ({(why.splitlines() or [''])[0]}); nothing in the "
                        f"options changed, so this run tries again as {plan['new_revision']}.")
        return plan
    return plan_for


def _read_before_writing(module, services, params):
    """The service as it is, or None; for a create, before any secret is written, what would refuse it: no image,
    or a region Cloud Run does not have (its API answers "not found" there, as for a service that does not exist)."""
    found = api.get_service(services, name=module.service_path())
    if found is not None:
        return to_dict(found)
    if not params.get("image"):
        raise CloudRunError(f"image is required to create service '{params['name']}': {module.service_path()} does "
                            "not exist. Nothing was written.")
    api.refuse_unknown_region(module)
    return None


def ensure_present(module):
    params, secrets, problems = check_options(module.params)
    service_id = params["name"]
    if problems:
        raise CloudRunError(f"Invalid options for service '{service_id}':\n- " + "\n- ".join(problems))
    module.hide(secrets.values())
    services = module.client("services")
    first = _read_before_writing(module, services, params)
    secrets_written, refs, granted = ensure_secrets(
        module.client("secrets"), module.project, service_id, secrets, params["secret_version"] == "pinned",
        module.check_mode, _runtime_account(module, params) if params["grant_secret_access"] else None,
    ) if secrets else ([], {}, [])
    # On a new project the revision may start before the secret access granted just now is in effect.
    first_reads = [first]  # the read above serves the first attempt only
    current, plan, written = waiting_out_grants(module, lambda: read_plan_write(
        module, module.service_path(), _planner(module, params, refs),
        lambda current, plan: _write(module, services, current, plan),
        first_read=first_reads.pop() if first_reads else None,
        adopt=lambda current, plan: _adopt(module, services, plan)), granted, "Cloud Run")
    final, revision = written if written else (current, None)
    plan["diff"] = plan["differences"].diff()
    if "tag" in plan["changes"] or (params.get("tag") and plan["changes"]):
        plan["diff"]["after"]["tag"] = params["tag"]
    ensure_public(module, services, current, plan, final)
    result = {"changed": bool(plan["changes"] or secrets_written or granted), "service": service_result(final),
              "revision": revision, "secrets_written": secrets_written, "secrets_granted": granted,
              # Options only: a failed revision tried again changes none (retried_revision says it).
              "changed_options": [c for c in plan["changes"] if c != "revision"],
              "retried_revision": plan["retried"][0] if plan["retried"] and plan["new_revision"] else None,
              "traffic": traffic_from_api((final or {}).get("traffic")), "serves_latest": serves_latest(final)}
    if module.diff_mode and plan["changes"]:
        result["diff"] = plan["diff"]
    return result


# ------------------------------------------------- compare (reads only)
def invoker_matches(module, params, public_seen=None):
    """Whether allow_unauthenticated and invokers hold: allow_unauthenticated alone from ``public_seen``
    (whether a request without a token was let in), else from the IAM policy (one read). True when
    neither is managed."""
    public, invokers, mode = managed_access(params)
    if public is None and invokers is None:
        return True
    if public_seen is not None and invokers is None:
        return public_seen == public
    path = service_path(module.project, module.region, params["name"])
    changed, _before, _after = ensure_invokers(module.reader("services"), path, public, invokers, mode,
                                               check_mode=True)
    return not changed


def read_changes(module, params, secrets, invoker=True):
    """Whether cloudrun_service with ``params`` (checked) and ``secrets`` would change nothing, as the
    role runs it (a tag on the newest revision) and whether that revision serves all the traffic.

    Reads only, over REST (``_rest``: no client library to load): the service, the latest version
    of each secret, and (with ``invoker``) the invoker policy, when all else is settled. Returns {settled, changes,
    secrets_changed, current}; ``changes`` names each difference (options, ``revision`` for a failed
    newest revision, ``tag``, ``traffic``, ``state`` when the service does not exist).
    """
    service_id = params["name"]
    path = service_path(module.project, module.region, service_id)
    found = api.get_service(module.reader("services"), name=path)
    if found is None:
        return {"settled": False, "changes": ["state"], "secrets_changed": sorted(secrets), "current": None}
    current = to_dict(found)
    written, refs, _granted = ensure_secrets(module.reader("secrets"), module.project, service_id, secrets,
                                             params["secret_version"] == "pinned", True) if secrets else ([], {}, [])
    desired = desired_state(params)
    _with_secret_refs(desired, current, refs)
    changes = list(_plan(params, path, current, desired)["changes"])
    if not serves_latest(current):
        changes.append("traffic")
    if invoker and not changes and not written and not invoker_matches(module, params):
        changes += access_options(params)
    return {"settled": not (changes or written), "changes": changes, "secrets_changed": written,
            "current": current}


# ------------------------------------------------------------------ absent
def ensure_absent(module):
    service_id = module.params["name"]
    services = module.client("services")
    full_name = module.service_path()
    current_message = api.get_service(services, name=full_name)
    if current_message is None:
        return {"changed": False, "service": None, "revision": None, "changed_options": []}
    current = to_dict(current_message)
    if not module.check_mode:
        operation = api.delete_service(services, name=full_name, etag=current.get("etag"))
        if module.params["wait"]:
            api.wait(operation, module.params["wait_timeout"], f"delete service {service_id}", client=services,
                     result_type=api.service_type())
    result = {"changed": True, "service": None, "revision": None, "changed_options": ["state"]}
    if module.diff_mode:
        result["diff"] = {"before": {"state": "present", "uri": current.get("uri")}, "after": {"state": "absent"}}
    return result


def ensure_service(module):
    return ensure_absent(module) if module.params["state"] == "absent" else ensure_present(module)


# -------------------------------------------------------------------- info
