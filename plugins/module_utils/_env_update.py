# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_env's write, the env of an existing service changed in one revision.

The env itself (sources, secrets, rules) is the shared entry in ``_env``; this file merges it into
the service's env (``mode``, ``remove``), pins the serving image and writes once.
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import key_changes, missing_required, read_entry
from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import default_account, ensure_secrets
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import service_result
from ansible_collections.nadle.cloudrun.plugins.module_utils._rollout import read_plan_write, require_service, wait_for_rollout
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import env_from_api, ingress_container, request_body


def desired_env(params, current_env, entry=None):
    """The env the service should have (secret keys still as plain text) and the secret values.

    ``entry`` is read_entry(params) when the caller has it. Raises CloudRunError listing every problem before
    anything is written.
    """
    plain, secrets, origins, problems = entry or read_entry(params)
    problems = list(problems)
    plain = plain or {}
    desired = dict(current_env) if params.get("mode", "merge") == "merge" else {}
    desired.update(plain)
    desired.update(secrets)
    for key in params.get("remove") or []:
        if key in plain or key in secrets:
            problems.append(f"remove: {key} is also set (from {origins[key]}); set it or remove it, not both.")
        desired.pop(key, None)
    problems.append(missing_required(params.get("required"), desired))
    problems = [p for p in problems if p]
    if problems:
        raise CloudRunError("Nothing was written. The env for service "
                            f"'{params['name']}' has problems:\n- " + "\n- ".join(problems))
    return desired, secrets


def _pinned_image(module, image):
    """The serving image by digest, so an env-only change never picks up a moved tag (as gcloud does)."""
    if not image or "@" in image:
        return image
    digest = api.image_digest(module.session(), image, emulator=module.emulator)
    if digest is None:
        raise CloudRunError(f"The service's image {image} is no longer in its registry, so cloudrun_env cannot "
                            "pin it by digest. Deploy an existing image with cloudrun_service first.")
    return f"{image.rsplit(':', 1)[0] if ':' in image.rsplit('/', 1)[-1] else image}@{digest}"


def _planner(module, full_name, desired):
    """plan_for for read_plan_write: the key changes against the service as read, and the body to send."""
    def plan_for(service):
        if service is None:
            raise CloudRunError(f"Service '{module.params['name']}' was deleted while this task ran ({full_name}).")
        serving = ingress_container(service.get("template") or {}) or {}
        now = env_from_api(serving.get("env"))
        changes = key_changes(now, desired)
        body = None
        if any(changes.values()) and not module.check_mode:
            image = _pinned_image(module, serving.get("image"))
            body = request_body(service, {"env": desired, "image": image}, module.params["name"], makes_revision=True)
        return {"env": now, "changes": changes, "spec": body}
    return plan_for


def ensure_env(module):
    params = module.params
    entry = read_entry(params)
    if entry[3]:  # names, values and files are known wrong before the service is read
        raise CloudRunError(f"Nothing was requested. The env for service '{params['name']}' has problems:\n- "
                            + "\n- ".join(entry[3]))
    services, full_name, current = require_service(
        module, " cloudrun_env changes the env of an existing service: create it with nadle.cloudrun.cloudrun_service first.")
    container = ingress_container(current.get("template") or {}) or {}
    desired, secret_values = desired_env(params, env_from_api(container.get("env")), entry)
    module.hide(secret_values.values())
    running = (current.get("template") or {}).get("serviceAccount")
    written, refs, granted = ensure_secrets(
        module.client("secrets"), module.project, params["name"], secret_values, params["secret_version"] == "pinned",
        module.check_mode, (lambda number: running or default_account(number)) if params["grant_secret_access"] else None)
    desired.update(refs)

    def write(service, planned):
        operation = api.update_service(services, name=full_name, service=planned["spec"])
        return wait_for_rollout(module, services, operation, service, planned["spec"]["template"]["revision"])

    service, planned, rolled_out = read_plan_write(module, full_name, _planner(module, full_name, desired), write, current)
    changed = any(planned["changes"].values())
    final, revision = rolled_out if rolled_out else (service, None)
    result = {"changed": changed or bool(written or granted), "env_keys": sorted(desired),
              "changed_keys": planned["changes"], "secrets_written": written, "secrets_granted": granted,
              "revision": revision, "service": service_result(final)}
    if module.diff_mode and changed:
        result["diff"] = {"before": {"env": planned["env"]}, "after": {"env": desired}}
    return result
