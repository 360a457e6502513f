# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: whether a deploy has anything to do (cloudrun_preflight's compare).

One read of the service and one of each secret answer "is everything as asked?". When it is, one
health request to the service shows that it serves, and the same request, sent without a token
first, shows whether anyone may call it: the invoker policy is read only when no health check is
asked for. Imported by cloudrun_preflight only when it compares, so its other checks load no client.
"""

from __future__ import annotations

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._health import ARGUMENT_SPEC as HEALTH_SPEC
from ansible_collections.nadle.cloudrun.plugins.module_utils._health import wait_healthy
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import service_result
from ansible_collections.nadle.cloudrun.plugins.module_utils._invoker import access_options
from ansible_collections.nadle.cloudrun.plugins.module_utils._service import invoker_matches, read_changes
from ansible_collections.nadle.cloudrun.plugins.module_utils._traffic import traffic_from_api

HEALTH_OPTIONS = dict({k: v for k, v in HEALTH_SPEC.items() if k != "url"}, path=dict(type="str", default="/"))


def health_problems(health):
    """(http_healthcheck's options for the health check, problems): checked before any request."""
    validated = ArgumentSpecValidator(HEALTH_OPTIONS).validate(dict(health))
    params = validated.validated_parameters
    problems = [f"health: {'unsupported option ' if isinstance(e, UnsupportedError) else ''}{e.msg}"
                for e in validated.errors]
    if not problems and not params["path"].startswith("/"):
        problems.append(f"health: path '{params['path']}' must start with / (for example /health).")
    return params, problems


def read_settled(module, params, secrets, health=None):
    """cloudrun_preflight's compare: {settled, changes, secrets_changed, service, traffic, health}.

    ``params`` and ``secrets`` are cloudrun_service's options as checked; ``health`` the options of
    a health check of the service when it is settled (None: none, and the invoker policy is read).
    """
    found = read_changes(module, params, secrets, invoker=health is None)
    current, checked = found.pop("current"), None
    if found["settled"] and health is not None:
        if not current.get("uri"):
            raise CloudRunError(f"Service '{params['name']}' has no URL to check.")
        try:
            checked = wait_healthy(module, dict({k: v for k, v in health.items() if k != "path"},
                                                url=current["uri"].rstrip("/") + health["path"]))
        except CloudRunError as exc:
            raise CloudRunError(f"Service '{params['name']}' already runs what was asked, so nothing was built or "
                                f"deployed, but it is not healthy: {exc.msg}", **exc.details) from exc
        # Asked without a token first (id_token auto or never): whether that was let in is whether
        # anyone may call the service. With id_token always it cannot tell, and the policy is read.
        public = None if health["id_token"] == "always" else not checked["used_id_token"]
        if not invoker_matches(module, params, public):
            found.update(settled=False, changes=access_options(params))
    return dict(found, service=service_result(current) if current else None,
                traffic=traffic_from_api((current or {}).get("traffic")), health=checked)
