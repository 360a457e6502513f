# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_service's arguments, their spec and every rule known before any request.

Used by the module and by cloudrun_preflight, so the role refuses bad settings before it builds
anything. Imports no Google library: preflight calls no API.
"""

from __future__ import annotations

import copy

from ansible_collections.nadle.cloudrun.plugins.module_utils._env import ENTRY_SPEC, missing_required, read_entry
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import argument_spec as option_specs
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import service_problems


def argument_spec():
    """cloudrun_service's options: the managed ones (``_options``), the env entry (``_env``) and the rest."""
    return dict(
        option_specs(), **copy.deepcopy(ENTRY_SPEC),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        tag=dict(type="str"),
        no_traffic=dict(type="bool", default=False),
        allow_unauthenticated=dict(type="bool"),
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
    problems = service_problems(params) + problems
    if params.get("invoker_iam_disabled") and params.get("allow_unauthenticated") is False:
        problems.append("invoker_iam_disabled: true makes the service public, and allow_unauthenticated: false "
                        "asks for it not to be; set one of them.")
    if plain is not None:  # the env is given whole; else the service's own keys count (see _plan)
        problems.append(missing_required(params.get("required"), set(plain) | set(secrets), name))
    return params, secrets, [p for p in problems if p]
