# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_service's arguments, their spec and every rule known before any request.

Used by the module and by cloudrun_preflight, so the role refuses bad settings before it builds
anything. Imports no Google library: preflight calls no API.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.nadle.cloudrun.plugins.module_utils._env import ENTRY_SPEC, missing_required, read_entry
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import argument_spec as option_specs
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import service_problems


# IAM principal identifiers (cloud.google.com/iam/docs/principal-identifiers).
MEMBER_RE = re.compile(r"^(allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet):\S+)$")


def invoker_problems(params):
    """Problems with invokers and invokers_mode, before any request."""
    problems = []
    for member in params.get("invokers") or []:
        if member == "allUsers":
            problems.append("invokers: allUsers makes the service public; use allow_unauthenticated: true instead.")
        elif not MEMBER_RE.match(member):
            problems.append(f"invokers: '{member}' is not an IAM principal; write serviceAccount:EMAIL, user:EMAIL, "
                            "group:EMAIL, domain:DOMAIN or allAuthenticatedUsers.")
    if params.get("invokers_mode") == "authoritative" and params.get("invokers") is None:
        problems.append("invokers_mode: authoritative needs invokers (an empty list removes every invoker).")
    return problems


def argument_spec():
    """cloudrun_service's options: the managed ones (``_options``), the env entry (``_env``) and the rest."""
    return dict(
        option_specs(), **copy.deepcopy(ENTRY_SPEC),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        tag=dict(type="str"),
        no_traffic=dict(type="bool", default=False),
        allow_unauthenticated=dict(type="bool"),
        invokers=dict(type="list", elements="str"),
        invokers_mode=dict(type="str", default="add", choices=["add", "authoritative"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=600),
        log_in_message=dict(type="bool", default=True),
    )


def check_options(params, name=str):
    """Every rule known before any request: (params with ``env`` from every source, secret values, problems).

    Also used by cloudrun_preflight, so the role refuses bad settings before it builds anything;
    ``name`` gives what it calls an option in messages that name several.
    """
    plain, secrets, _origins, problems = read_entry(params)
    if plain is not None:
        params = dict(params, env=plain)
    problems = service_problems(params) + invoker_problems(params) + problems
    if params.get("invoker_iam_disabled") and params.get("allow_unauthenticated") is False:
        problems.append("invoker_iam_disabled: true makes the service public, and allow_unauthenticated: false "
                        "asks for it not to be; set one of them.")
    if plain is not None:  # the env is given whole; else the service's own keys count (see _plan)
        problems.append(missing_required(params.get("required"), set(plain) | set(secrets), name))
    return params, secrets, [p for p in problems if p]
