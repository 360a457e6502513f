# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the one env entry of cloudrun_service and cloudrun_env.

Where values come from (``env_files`` in order, then ``env``, which wins), which go to Secret
Manager (``secrets``, and the keys listed in ``secret_keys``), and the rules on names and values,
checked before any request. One output policy for both modules: plain values show like any other
setting; secret values never show, only their Secret Manager references, and are masked in every
message (``CloudRunModule.hide``).
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils._dotenv import DotenvError, read_env_files
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import check_env, env_value

# The options of the entry besides ``env`` itself, whose meaning differs (cloudrun_service compares
# it whole; cloudrun_env merges it). Their documentation is the ``nadle.cloudrun._env`` fragment.
ENTRY_SPEC = dict(
    env_files=dict(type="list", elements="path"),
    interpolate=dict(type="bool", default=False),
    secrets=dict(type="dict", no_log=True),
    secret_keys=dict(type="list", elements="str", no_log=False),
    secret_version=dict(type="str", default="pinned", choices=["pinned", "latest"]),
    required=dict(type="list", elements="str"),
    grant_secret_access=dict(type="bool", default=True),
)


def read_entry(params):
    """The env a task gives: (plain values or None when neither env nor env_files is set, secret values,
    where each key came from, problems). Nothing is raised: the caller lists every problem at once."""
    try:
        plain, origins = read_env_files(params.get("env_files"), interpolate=params.get("interpolate", False))
    except DotenvError as exc:
        return None, {}, {}, [str(exc)]
    for key, value in (params.get("env") or {}).items():
        # A Secret Manager reference stays a dict; a list or null stays as given, for check_env to refuse.
        plain[key] = value if isinstance(value, (dict, list, tuple)) or value is None else env_value(value)
        origins[key] = "env"
    secrets = {k: env_value(v) for k, v in (params.get("secrets") or {}).items()}
    problems = []
    both = sorted(set(plain) & set(secrets))
    if both:
        problems.append(f"secrets: {', '.join(both)} {'is' if len(both) == 1 else 'are'} also in env or env_files; "
                        "give each key in one of them.")
    origins.update({k: "secrets" for k in secrets})
    # A listed key that is not given is not set at all (``required`` is how a key is demanded), so one
    # inventory can list its secret keys and leave a value out where it is not needed.
    for key in params.get("secret_keys") or []:
        if key in plain:
            secrets[key] = plain.pop(key)
    problems += check_env(plain, origins) + check_env(secrets, origins)
    given = params.get("env") is not None or bool(params.get("env_files"))
    return (plain if given else None), secrets, origins, problems


def missing_required(required, keys, name=str):
    """The problem when keys listed in ``required`` are not among ``keys``, else None.

    ``name`` gives what the caller calls an option (cloudrun_preflight: the role's variables).
    """
    missing = [k for k in required or [] if k not in keys]
    if not missing:
        return None
    return (f"{name('required')}: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} in {name('required')} "
            f"but in none of {name('env')}, {name('env_files')} or {name('secrets')}. Nothing was deployed: a "
            "revision started without them would crash (a revision started without its env).")


def key_changes(before, after):
    return {
        "added": sorted(k for k in after if k not in before),
        "removed": sorted(k for k in before if k not in after),
        "changed": sorted(k for k in after if k in before and after[k] != before[k]),
    }
