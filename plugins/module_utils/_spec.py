# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: a cloudrun_service write: its rules across options, its body, its revision name.

Each option's own behaviour is declared once in ``_options.OPTIONS``; this file holds what spans
options and what a write needs around them:

- ``service_problems(params)``: every rule known before any API call (each option's own, and those across
  options: cpu and memory, instances, the tag); the env entry's rules are ``_env``'s.
- ``writable(service)``, ``build_service``, ``request_body``: the request, never echoing
  output-only fields, always carrying the etag and the revision name as read.
- ``named_revision``: the name a write gives the revision it makes.

Services are plain dicts in the API's JSON form (camelCase, enum names), as produced by
``run_v2.Service.to_json``. These rules are written independently of the emulator's, on
purpose: the emulator is the oracle the module is tested against.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _cpu_memory
from ansible_collections.nadle.cloudrun.plugins.module_utils._options import (  # noqa: F401  pylint: disable=unused-import
    EGRESS, EXECUTION_ENVIRONMENTS, IMAGE_RE, INGRESS, MANAGED_OPTIONS, TEMPLATE_OPTIONS, apply, env_from_api,
    env_to_api, env_value, ingress_container, option_problems, snake_keys,
)

RESERVED_ENV = {
    "PORT": "Cloud Run sets PORT from the container port: use the port option (for example port: 8000) "
            "instead of PORT in env.",
    "K_SERVICE": "Cloud Run sets K_SERVICE to the service name.",
    "K_REVISION": "Cloud Run sets K_REVISION to the revision name.",
    "K_CONFIGURATION": "Cloud Run sets K_CONFIGURATION to the configuration name.",
}
# Fields the API owns (proto comments, wire contract section 6); never sent back, but the etag.
SERVICE_OUTPUT_ONLY = (
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "urls", "observedGeneration", "terminalCondition", "conditions", "latestReadyRevision",
    "latestCreatedRevision", "trafficStatuses", "uri", "satisfiesPzs", "threatDetectionEnabled",
    "reconciling", "etag",
)
SERVICE_ID_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TAG_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TAG_AND_NAME_MAX = 46  # a tag URL's host label holds "TAG---SERVICE"
RESOURCE_OPTIONS = ("cpu", "memory", "concurrency", "cpu_idle", "execution_environment")


def short(name):
    """The last part of a resource name (``projects/.../revisions/svc-00001-abc`` -> ``svc-00001-abc``)."""
    return name.rsplit("/", 1)[-1] if name else None


# ------------------------------------------------------------------ validation
# An environment variable's name as Knative Serving, on which Cloud Run's API is built, checks it: Kubernetes'
# IsEnvVarName ("must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit").
ENV_NAME_RE = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def check_env(env, origins=None):
    """Problems with env names and values; ``origins`` says where a key came from (``file:line``)."""
    problems = []
    for key, value in (env or {}).items():
        origin = (origins or {}).get(key, "env")
        where = "env" if origin == "env" else f"env ({key} from {origin})"
        if key in RESERVED_ENV:
            problems.append(f"{where}: {key} is reserved. {RESERVED_ENV[key]}")
        elif not ENV_NAME_RE.match(key or ""):
            problems.append(f"{where}: '{key}' is not a valid variable name: letters, digits, '_', '-' and '.', "
                            "not starting with a digit.")
        elif key.startswith("X_GOOGLE_"):
            problems.append(f"{where}: {key} uses the reserved prefix X_GOOGLE_.")
        if isinstance(value, dict):
            unknown = set(value) - {"secret", "version"}
            if not value.get("secret") or unknown:
                problems.append(f"{where}: {key} must be a string, or a Secret Manager reference "
                                "{secret: NAME, version: latest|N}.")
        elif isinstance(value, (list, tuple)) or value is None:
            problems.append(f"{where}: {key} must be a string, or a Secret Manager reference "
                            "{secret: NAME, version: latest|N}.")
    return problems


def service_problems(params):
    """Problems with the options that are known before any API call, one message each."""
    problems = []
    name = params.get("name") or ""
    if not SERVICE_ID_RE.match(name) or len(name) > 49:
        problems.append(f"name: '{name}' is not a valid service name. Use lowercase letters, digits and '-', "
                        "starting with a letter and not ending with '-', at most 49 characters.")
    problems += option_problems(params)
    problems += _cpu_memory.problems({o: params.get(o) for o in RESOURCE_OPTIONS})
    low, high = params.get("min_instances"), params.get("max_instances")
    if low is not None and high is not None and low > high:
        problems.append(f"min_instances ({low}) is greater than max_instances ({high}).")
    tag = params.get("tag")
    if tag is not None and (not TAG_RE.match(tag) or len(tag) + len(name) > TAG_AND_NAME_MAX):
        problems.append(f"tag: '{tag}' must use lowercase letters, digits and '-', starting with a letter, and tag and "
                        f"service name together may have {TAG_AND_NAME_MAX} characters at most (the tag URL's limit).")
    return problems


def named_revision(template, name, generation):
    """A revision name that traffic can refer to in the same write, in Cloud Run's own form.

    ``NAME-00004-xyz``: the service's next generation, then three letters from the template's hash,
    as gcloud names a revision it tags before it exists. The generation grows with every write, so
    going back to an earlier template (512Mi, 1Gi, 512Mi) never reuses a name, which Cloud Run
    refuses with 409 "Revision named ... already exists".
    """
    text = json.dumps({k: v for k, v in template.items() if k != "revision"}, sort_keys=True)
    letters = "".join(chr(ord("a") + byte % 26) for byte in hashlib.sha256(text.encode()).digest()[:3])
    return f"{name}-{int(generation or 0) + 1:05d}-{letters}"


# ------------------------------------------------------------------ building
def writable(service):
    """The service's spec as a write sends it back: no output-only fields, but the etag and the revision name.

    The etag makes Cloud Run refuse the write (409 ABORTED) if anyone changed the service since it
    was read, instead of it being overwritten ("May be used to detect modification conflict during
    updates", run_v2 types/service.py). ``template.revision`` is part of the template: clearing a
    name the service holds "will deploy a new revision just to remove the 'revision' field"
    (terraform-provider-google issue 13410), so a write that keeps the template echoes it.
    """
    spec = {k: copy.deepcopy(v) for k, v in (service or {}).items() if k not in SERVICE_OUTPUT_ONLY}
    if (service or {}).get("etag"):
        spec["etag"] = service["etag"]
    return spec


def build_service(current, desired, name):
    """The Service JSON to send: the current spec (or nothing) with every desired option applied."""
    return apply(writable(current), desired, name, creating=current is None)


def request_body(current, desired, name, makes_revision):
    """The Service JSON for a write: one that makes a revision names it, any other keeps the template.

    A write that makes a revision applies every template option and names the revision
    (``revision_suffix``, else :func:`named_revision`), so the module knows its name before Cloud
    Run has made it, as gcloud does. Any other write (labels, ingress, traffic, ...) sends the
    template exactly as read, revision name included: it makes no revision, and a quantity written
    differently (cpu ``1`` for ``1000m``) cannot turn it into one.
    """
    if not makes_revision:
        return build_service(current, {k: v for k, v in desired.items() if k not in TEMPLATE_OPTIONS}, name)
    spec = build_service(current, desired, name)
    if "revision_suffix" not in desired:
        spec["template"]["revision"] = named_revision(spec["template"], name, (current or {}).get("generation"))
    return spec
