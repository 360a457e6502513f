# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: a service's environment from dicts, .env files and Secret Manager.

Shared by cloudrun_env (env only, on an existing service) and cloudrun_service (its
``secrets`` option). Secret values go to Secret Manager and are referenced; they never
appear in a result or a diff.
"""

from __future__ import annotations

import json

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._dotenv import DotenvError, read_env_files
from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import ensure_secrets
from ansible_collections.nadle.cloudrun.plugins.module_utils._service import (
    read_plan_write, require_service, service_result, wait_for_rollout,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import (
    check_env, env_from_api, env_value, ingress_container, request_body,
)

try:
    from google.cloud import run_v2
except ImportError:  # reported by CloudRunModule
    pass

REDACTED = "VALUE_REDACTED"
CHANGED = "VALUE_REDACTED (changed)"


def redact(env):
    """Env for output: Secret Manager references as they are, every plain value hidden."""
    return {k: (v if isinstance(v, dict) else REDACTED) for k, v in env.items()}


def key_changes(before, after):
    return {
        "added": sorted(k for k in after if k not in before),
        "removed": sorted(k for k in before if k not in after),
        "changed": sorted(k for k in after if k in before and after[k] != before[k]),
    }


def redacted_diff(before, after):
    """A diff that names the keys that changed and shows no value."""
    changes = key_changes(before, after)
    shown_before = {k: (before[k] if isinstance(before[k], dict) else REDACTED)
                    for k in changes["removed"] + changes["changed"]}
    shown_after = {k: (after[k] if isinstance(after[k], dict) else REDACTED) for k in changes["added"]}
    shown_after.update({k: (after[k] if isinstance(after[k], dict) else CHANGED) for k in changes["changed"]})
    return {"before": {"env": shown_before}, "after": {"env": shown_after}}


def redact_service(result):
    """A ``service`` result with every plain env value of its template hidden."""
    for container in ((result or {}).get("template") or {}).get("containers", []):
        for item in container.get("env", []):
            if "value" in item:
                item["value"] = REDACTED
    return result


def _sources(params):
    """Plain values from env_files then env (env wins), with where each key came from."""
    try:
        values, origins = read_env_files(params.get("env_files"), interpolate=params.get("interpolate", False))
    except DotenvError as exc:
        raise CloudRunError(str(exc)) from exc
    for key, value in (params.get("env") or {}).items():
        values[key] = env_value(value)
        origins[key] = "env"
    return values, origins


def desired_env(params, current_env):
    """The env the service should have (secret keys still as plain text) and the secret values.

    Raises CloudRunError listing every problem before anything is written.
    """
    plain, origins = _sources(params)
    secrets = {k: env_value(v) for k, v in (params.get("secrets") or {}).items()}
    origins.update({k: "secrets" for k in secrets})
    problems = []
    for key in params.get("secret_keys") or []:
        if key in plain:
            secrets[key] = plain.pop(key)
        else:
            problems.append(f"secret_keys: {key} is not in env or env_files, so it has no value to store.")
    problems += check_env(dict(plain, **secrets), origins)
    desired = dict(current_env) if params.get("mode", "merge") == "merge" else {}
    desired.update(plain)
    desired.update(secrets)
    for key in params.get("remove") or []:
        if key in plain or key in secrets:
            problems.append(f"remove: {key} is also set (from {origins[key]}); set it or remove it, not both.")
        desired.pop(key, None)
    missing = [k for k in params.get("required") or [] if k not in desired]
    if missing:
        problems.append(f"required: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing from the "
                        f"final env. Set {'it' if len(missing) == 1 else 'them'} in env, env_files or secrets.")
    if problems:
        raise CloudRunError("Nothing was written. The env for service "
                            f"'{params['name']}' has problems:\n- " + "\n- ".join(problems))
    return desired, secrets


def _pinned_image(crm, image):
    """The serving image by digest, so an env-only change never picks up a moved tag (as gcloud does)."""
    if not image or "@" in image:
        return image
    digest = api.image_digest(crm.session(), image, emulator=crm.emulator)
    if digest is None:
        raise CloudRunError(f"The service's image {image} is no longer in its registry, so cloudrun_env cannot "
                            "pin it by digest. Deploy an existing image with cloudrun_service first.")
    return f"{image.rsplit(':', 1)[0] if ':' in image.rsplit('/', 1)[-1] else image}@{digest}"


def ensure_env(crm):
    params = crm.params
    service_id = params["name"]
    services, full_name, current = require_service(
        crm, " cloudrun_env changes the env of an existing service: create it with nadle.cloudrun.cloudrun_service first.")
    container = ingress_container(current.get("template") or {}) or {}
    current_env = env_from_api(container.get("env"))
    desired, secret_values = desired_env(params, current_env)
    # The values that go to Secret Manager, wherever they came from (env, .env files, secrets), are
    # masked in everything this module prints, the invocation included; plain values are redacted
    # in the result and the diff, not masked as substrings.
    crm.module.no_log_values.update(v for v in secret_values.values() if v)
    written, refs = ensure_secrets(crm.client("secrets"), crm.project, service_id, secret_values,
                                   params["secret_version"] == "pinned", crm.check_mode)
    desired.update(refs)

    def plan_for(service):
        if service is None:
            raise CloudRunError(f"Service '{service_id}' was deleted while this task ran ({full_name}).")
        serving = ingress_container(service.get("template") or {}) or {}
        now = env_from_api(serving.get("env"))
        changes = key_changes(now, desired)
        body = None
        if any(changes.values()) and not crm.check_mode:
            image = _pinned_image(crm, serving.get("image"))
            body = request_body(service, {"env": desired, "image": image}, service_id, makes_revision=True)
        return {"env": now, "changes": changes, "spec": body}

    def write(service, planned):
        operation = api.update_service(services, name=full_name,
                                       service=run_v2.Service.from_json(json.dumps(planned["spec"])))
        return wait_for_rollout(crm, services, operation, service, planned["spec"]["template"]["revision"])

    service, planned, rolled_out = read_plan_write(crm, full_name, plan_for, write, current)
    current_env, changes = planned["env"], planned["changes"]
    changed = any(changes.values())
    final, revision = rolled_out if rolled_out else (service, None)
    result = {"changed": changed or bool(written), "env_keys": sorted(desired), "changed_keys": changes,
              "secrets_written": written, "revision": revision, "service": redact_service(service_result(final))}
    if crm.diff_mode and changed:
        result["diff"] = redacted_diff(current_env, desired)
    return result
