# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: a Cloud Run service as module options, and back. Pure functions.

- ``validate(params)``: the rules Cloud Run enforces that are known before any API call.
- ``desired_state(params)``: the options the user set (``None`` means "not managed").
- ``observed_state(service)``: the same options read from a service the API returned.
- ``changed_options(desired, observed)``: which managed options differ, after normalising
  quantities, so server-filled defaults are never drift.
- ``build_service(current, desired, name)``: the request body: the current writable spec with
  the managed options applied, never echoing output-only fields or a fetched revision name.

Services are plain dicts in the API's JSON form (camelCase, enum names), as produced by
``run_v2.Service.to_json``. These rules are written independently of the emulator's, on
purpose: the emulator is the oracle the module is tested against.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from decimal import Decimal

from ansible_collections.nadle.cloudrun.plugins.module_utils import _cpu_memory
from ansible_collections.nadle.cloudrun.plugins.module_utils._cpu_memory import parse_cpu, parse_memory

RESERVED_ENV = {
    "PORT": "Cloud Run sets PORT from the container port: use the port option (for example port: 8000) "
            "instead of PORT in env.",
    "K_SERVICE": "Cloud Run sets K_SERVICE to the service name.",
    "K_REVISION": "Cloud Run sets K_REVISION to the revision name.",
    "K_CONFIGURATION": "Cloud Run sets K_CONFIGURATION to the configuration name.",
}
INGRESS = {
    "all": "INGRESS_TRAFFIC_ALL",
    "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
    "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    "none": "INGRESS_TRAFFIC_NONE",
}
EXECUTION_ENVIRONMENTS = {"gen1": "EXECUTION_ENVIRONMENT_GEN1", "gen2": "EXECUTION_ENVIRONMENT_GEN2"}
EGRESS = {"all-traffic": "ALL_TRAFFIC", "private-ranges-only": "PRIVATE_RANGES_ONLY"}
SYSTEM_KEY_NAMESPACES = ("run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev",
                         "autoscaling.knative.dev", "client.knative.dev")
# Fields the API owns (proto comments, wire contract section 6); never sent back.
SERVICE_OUTPUT_ONLY = (
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "urls", "observedGeneration", "terminalCondition", "conditions", "latestReadyRevision",
    "latestCreatedRevision", "trafficStatuses", "uri", "satisfiesPzs", "threatDetectionEnabled",
    "reconciling", "etag",
)
TEMPLATE_OPTIONS = (
    "image", "port", "command", "args", "env", "cpu", "memory", "cpu_idle", "startup_cpu_boost", "concurrency",
    "min_instances", "max_instances", "timeout", "service_account", "vpc_access", "execution_environment",
    "startup_probe", "liveness_probe", "revision_suffix",
)
SERVICE_OPTIONS = ("description", "labels", "annotations", "ingress", "invoker_iam_disabled")
MANAGED_OPTIONS = TEMPLATE_OPTIONS + SERVICE_OPTIONS
# Options whose value is a dict the server completes with defaults: only the keys the user set count.
PARTIAL_OPTIONS = ("vpc_access", "startup_probe", "liveness_probe")

SERVICE_ID_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$"
)
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
TAG_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TAG_AND_NAME_MAX = 46  # a tag URL's host label holds "TAG---SERVICE"
SUFFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
RESOURCE_OPTIONS = ("cpu", "memory", "concurrency", "cpu_idle", "execution_environment")


def short(name):
    """The last part of a resource name (``projects/.../revisions/svc-00001-abc`` -> ``svc-00001-abc``)."""
    return name.rsplit("/", 1)[-1] if name else None


# ------------------------------------------------------------------ quantities
def parse_timeout(value):
    """Seconds from ``300``, ``"300"``, ``"300s"``, ``"5m"``, ``"1h30m"``; None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = DURATION_RE.match(str(value or "").strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def api_duration_seconds(value):
    """The API's Duration JSON (``"300s"``, ``"2.5s"``) as whole seconds."""
    if not value:
        return None
    return int(Decimal(str(value).rstrip("s")))


def env_value(value):
    """An env value as Cloud Run stores it: a string. YAML booleans become ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------ validation
def check_env(env, origins=None):
    """Problems with env names and values; ``origins`` says where a key came from (``file:line``)."""
    problems = []
    for key, value in (env or {}).items():
        origin = (origins or {}).get(key, "env")
        where = "env" if origin == "env" else f"env ({key} from {origin})"
        if key in RESERVED_ENV:
            problems.append(f"{where}: {key} is reserved. {RESERVED_ENV[key]}")
        elif not key or "=" in key:
            problems.append(f"{where}: '{key}' is not a valid variable name (it must be non-empty and have no '=').")
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


def _check_keys(option, mapping):
    problems = []
    for key, value in (mapping or {}).items():
        if option == "labels" and not (LABEL_KEY_RE.match(key) and LABEL_VALUE_RE.match(str(value))):
            problems.append(f"labels: '{key}: {value}' is not a valid label. Keys start with a lowercase letter; "
                            "keys and values use lowercase letters, digits, '_' and '-', 63 characters at most.")
        prefix = key.split("/", 1)[0] if "/" in key else ""
        if any(prefix == ns or prefix.endswith("." + ns) for ns in SYSTEM_KEY_NAMESPACES):
            problems.append(f"{option}: '{key}' is in a system namespace that the Cloud Run v2 API does not accept.")
    return problems


def validate(params):
    """Problems with the options that are known before any API call, one message each."""
    problems = []
    name = params.get("name") or ""
    if not SERVICE_ID_RE.match(name) or len(name) > 49:
        problems.append(f"name: '{name}' is not a valid service name. Use lowercase letters, digits and '-', "
                        "starting with a letter and not ending with '-', at most 49 characters.")
    if params.get("image") is not None and not IMAGE_RE.match(params["image"]):
        problems.append(f"image: '{params['image']}' is not an image reference. Use "
                        "[HOST/]REPOSITORY[:TAG][@sha256:DIGEST], for example "
                        "europe-west1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG.")
    if params.get("port") is not None and not 1 <= params["port"] <= 65535:
        problems.append(f"port: {params['port']} is not a port; use 1 to 65535.")
    problems += check_env(params.get("env"))
    problems += check_env(params.get("secrets"), {k: "secrets" for k in params.get("secrets") or {}})
    both = sorted(set(params.get("env") or {}) & set(params.get("secrets") or {}))
    if both:
        problems.append(f"secrets: {', '.join(both)} {'is' if len(both) == 1 else 'are'} also in env; "
                        "give each key in one of them.")
    problems += _cpu_memory.problems({o: params.get(o) for o in RESOURCE_OPTIONS})
    if params.get("concurrency") is not None and not 1 <= params["concurrency"] <= 1000:
        problems.append(f"concurrency: {params['concurrency']} is out of range; use 1 to 1000 "
                        "(requests one instance handles at once).")
    if params.get("timeout") is not None:
        seconds = parse_timeout(params["timeout"])
        if seconds is None or not 1 <= seconds <= 3600:
            problems.append(f"timeout: '{params['timeout']}' is not allowed; use 1 to 3600 seconds "
                            "(for example 300, 300s or 5m). Cloud Run's maximum is one hour.")
    low, high = params.get("min_instances"), params.get("max_instances")
    if low is not None and low < 0:
        problems.append(f"min_instances: {low} is negative.")
    if high is not None and high < 1:
        problems.append(f"max_instances: {high} must be at least 1.")
    if low is not None and high is not None and low > high:
        problems.append(f"min_instances ({low}) is greater than max_instances ({high}).")
    problems += _check_keys("labels", params.get("labels"))
    problems += _check_keys("annotations", params.get("annotations"))
    if params.get("description") is not None and len(params["description"]) > 512:
        problems.append("description: at most 512 characters.")
    suffix = params.get("revision_suffix")
    if suffix is not None and (not SUFFIX_RE.match(suffix) or len(name) + 1 + len(suffix) > 63):
        problems.append(f"revision_suffix: '{suffix}' must use lowercase letters, digits and '-', and the revision "
                        f"name '{name}-{suffix}' must be at most 63 characters.")
    tag = params.get("tag")
    if tag is not None and (not TAG_RE.match(tag) or len(tag) + len(name) > TAG_AND_NAME_MAX):
        problems.append(f"tag: '{tag}' must use lowercase letters, digits and '-', starting with a letter, and tag and "
                        f"service name together may have {TAG_AND_NAME_MAX} characters at most (the tag URL's limit).")
    vpc = params.get("vpc_access") or {}
    if vpc.get("connector") and vpc.get("network"):
        problems.append("vpc_access: set connector or network (Direct VPC egress), not both.")
    return problems


# ------------------------------------------------------------- desired state
def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    return value


def desired_state(params):
    """The options the user set, in the shape used for comparing and for the diff."""
    desired = {}
    for option in MANAGED_OPTIONS:
        value = params.get(option)
        if value is None:
            continue
        if option == "env":
            value = {k: ({"secret": v["secret"], "version": str(v.get("version") or "latest")}
                         if isinstance(v, dict) else env_value(v)) for k, v in value.items()}
        elif option == "timeout":
            value = parse_timeout(value)
        elif option in ("labels", "annotations"):
            value = {k: str(v) for k, v in value.items()}
        elif option in PARTIAL_OPTIONS:
            value = _drop_none(value)
        elif option in ("cpu", "memory"):
            value = str(value)
        desired[option] = value
    return desired


# ------------------------------------------------------------ observed state
def _snake(name):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _rekey(value, convert):
    if isinstance(value, dict):
        return {convert(k): (v if k in _MAP_FIELDS else _rekey(v, convert)) for k, v in value.items()}
    if isinstance(value, list):
        return [_rekey(v, convert) for v in value]
    return value


# Maps whose keys are the user's (or the API's) own, not field names: never re-cased.
_MAP_FIELDS = ("labels", "annotations", "limits", "nodeSelector", "node_selector")


def snake_keys(value):
    """API JSON (camelCase) as Ansible results are written (snake_case), map contents untouched."""
    return _rekey(value, _snake)


def ingress_container(template):
    """The container that receives requests: the one with a port, else the first."""
    containers = template.get("containers") or []
    for container in containers:
        if container.get("ports"):
            return container
    return containers[0] if containers else None


def env_from_api(items):
    env = {}
    for item in items or []:
        ref = (item.get("valueSource") or {}).get("secretKeyRef")
        env[item["name"]] = ({"secret": ref.get("secret", ""), "version": ref.get("version") or "latest"}
                             if ref else item.get("value", ""))
    return env


def env_to_api(env):
    items = []
    for key, value in env.items():
        if isinstance(value, dict):
            ref = {"secret": value["secret"], "version": value["version"]}
            items.append({"name": key, "valueSource": {"secretKeyRef": ref}})
        else:
            items.append({"name": key, "value": value})
    return items


def _vpc_from_api(vpc):
    if not vpc:
        return None
    result = {}
    if vpc.get("connector"):
        result["connector"] = vpc["connector"]
    interfaces = vpc.get("networkInterfaces") or []
    if interfaces:
        result.update({k: v for k, v in (("network", interfaces[0].get("network")),
                                         ("subnetwork", interfaces[0].get("subnetwork")),
                                         ("network_tags", interfaces[0].get("tags"))) if v})
    names = {v: k for k, v in EGRESS.items()}
    if vpc.get("egress") in names:
        result["egress"] = names[vpc["egress"]]
    return result


def _vpc_to_api(vpc):
    result = {}
    if vpc.get("connector"):
        result["connector"] = vpc["connector"]
    if vpc.get("network") or vpc.get("subnetwork"):
        interface = {k: vpc[o] for k, o in (("network", "network"), ("subnetwork", "subnetwork"),
                                            ("tags", "network_tags")) if vpc.get(o)}
        result["networkInterfaces"] = [interface]
    if vpc.get("egress"):
        result["egress"] = EGRESS[vpc["egress"]]
    return result


def user_keys(mapping):
    """Labels or annotations without the keys that Google's own tools add."""
    return {k: v for k, v in (mapping or {}).items()
            if not any(k.split("/", 1)[0].endswith(ns) for ns in SYSTEM_KEY_NAMESPACES if "/" in k)}


def observed_state(service, name):
    """Every managed option as the service has it now."""
    template = service.get("template") or {}
    container = ingress_container(template) or {}
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    scaling = template.get("scaling") or {}
    revision = template.get("revision") or ""
    ingress_names = {v: k for k, v in INGRESS.items()}
    environments = {v: k for k, v in EXECUTION_ENVIRONMENTS.items()}
    return {
        "image": container.get("image"),
        "port": (container.get("ports") or [{}])[0].get("containerPort"),
        "command": container.get("command") or [],
        "args": container.get("args") or [],
        "env": env_from_api(container.get("env")),
        "cpu": limits.get("cpu"),
        "memory": limits.get("memory"),
        "cpu_idle": bool(resources.get("cpuIdle")),
        "startup_cpu_boost": bool(resources.get("startupCpuBoost")),
        "concurrency": template.get("maxInstanceRequestConcurrency"),
        "min_instances": scaling.get("minInstanceCount", 0),
        "max_instances": scaling.get("maxInstanceCount"),
        "timeout": api_duration_seconds(template.get("timeout")),
        "service_account": template.get("serviceAccount"),
        "vpc_access": _vpc_from_api(template.get("vpcAccess")),
        "execution_environment": environments.get(template.get("executionEnvironment")),
        "startup_probe": _rekey(container.get("startupProbe"), _snake),
        "liveness_probe": _rekey(container.get("livenessProbe"), _snake),
        "revision_suffix": revision[len(name) + 1:] if revision.startswith(name + "-") else None,
        "description": service.get("description", ""),
        "labels": user_keys(service.get("labels")),
        "annotations": user_keys(service.get("annotations")),
        "ingress": ingress_names.get(service.get("ingress")),
        "invoker_iam_disabled": bool(service.get("invokerIamDisabled")),
    }


# ------------------------------------------------------------------ comparing
def _subset_equal(want, have):
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset_equal(v, have.get(k)) for k, v in want.items())
    return want == have


def option_differs(option, want, have):
    if option == "cpu":
        return have is None or parse_cpu(want) != parse_cpu(have)
    if option == "memory":
        return have is None or parse_memory(want) != parse_memory(have)
    if option in PARTIAL_OPTIONS:
        return not _subset_equal(want, have or {})
    if option in ("command", "args"):
        return list(want) != list(have or [])
    if option == "ingress" and have is None:
        # INGRESS_TRAFFIC_UNSPECIFIED: how ingress reads back while no revision is active (run_v2
        # types/service.py), not a setting to correct.
        return False
    return want != have


def changed_options(desired, observed):
    """The managed options whose desired value differs from the service's, in option order."""
    return [o for o in MANAGED_OPTIONS if o in desired and option_differs(o, desired[o], observed.get(o))]


# ------------------------------------------------------------------- traffic
# Targets are written {"revision": NAME or "LATEST", "percent": N, "tag": T or None}.
LATEST = "LATEST"
LATEST_TYPE = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION_TYPE = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


def order_targets(targets):
    return sorted(targets, key=lambda t: (t["revision"], t["tag"] or "", -t["percent"]))


def traffic_from_api(traffic):
    """The API's traffic targets in our form, in a fixed order."""
    return order_targets([{"revision": LATEST if t.get("type") == LATEST_TYPE else t.get("revision"),
                           "percent": t.get("percent", 0), "tag": t.get("tag") or None} for t in traffic or []])


def traffic_to_api(targets):
    out = []
    for target in targets:
        if target["revision"] == LATEST:
            item = {"type": LATEST_TYPE}
        else:
            item = {"type": REVISION_TYPE, "revision": target["revision"]}
        if target["percent"]:
            item["percent"] = target["percent"]
        if target["tag"]:
            item["tag"] = target["tag"]
        out.append(item)
    return out


def tag_on_latest(service, tag):
    """Whether ``tag`` already names the service's newest revision."""
    latest, ready = short(service.get("latestCreatedRevision")), short(service.get("latestReadyRevision"))
    for target in traffic_from_api(service.get("traffic")):
        if target["tag"] == tag:
            return target["revision"] == latest or (target["revision"] == LATEST and ready == latest)
    return False


def traffic_with_new_revision(current, revision_id, tag, no_traffic):
    """Traffic for a write that makes (or keeps) ``revision_id`` the newest revision.

    A new service sends 100% to its latest revision. With ``no_traffic`` the share LATEST had stays
    on the revision that serves it now, named (as gcloud's --no-traffic does), and the new revision
    gets 0%. ``tag`` moves to the new revision, so it has a URL of its own before any traffic.
    """
    if current is None or (no_traffic and not current.get("latestReadyRevision")):
        return [dict({"type": LATEST_TYPE, "percent": 100}, **({"tag": tag} if tag else {}))]
    targets = traffic_from_api(current.get("traffic"))
    if no_traffic:
        serving = short(current["latestReadyRevision"])
        targets = [dict(t, revision=serving) if t["revision"] == LATEST else t for t in targets]
    if tag:
        targets = [dict(t, tag=None) if t["tag"] == tag else t for t in targets]
        targets.append({"revision": revision_id, "percent": 0, "tag": tag})
    return traffic_to_api([t for t in targets if t["percent"] or t["tag"]])


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


def _apply_container(container, desired, creating):
    old_port = (container.get("ports") or [{}])[0].get("containerPort", 8080)
    if "image" in desired:
        container["image"] = desired["image"]
    if "port" in desired:
        ports = container.get("ports") or [{}]
        container["ports"] = [dict(ports[0], containerPort=desired["port"])]
        probe_socket = (container.get("startupProbe") or {}).get("tcpSocket")
        if probe_socket is not None and probe_socket.get("port") == old_port:
            probe_socket["port"] = desired["port"]  # Cloud Run's default probe follows the port
    for option in ("command", "args"):
        if option in desired:
            container[option] = list(desired[option])
    if "env" in desired:
        container["env"] = env_to_api(desired["env"])
    resource_options = ("cpu", "memory", "cpu_idle", "startup_cpu_boost")
    if any(o in desired for o in resource_options):
        resources = container.setdefault("resources", {})
        limits = resources.setdefault("limits", {})
        for option in ("cpu", "memory"):
            if option in desired:
                limits[option] = desired[option]
        # Sending resources without cpuIdle switches a service to always-on CPU, so say what we mean:
        # the user's value, else the service's, else Cloud Run's default for a new service (true).
        for option, field in (("cpu_idle", "cpuIdle"), ("startup_cpu_boost", "startupCpuBoost")):
            if option in desired:
                resources[field] = desired[option]
            elif creating:
                resources[field] = True
            else:
                resources[field] = bool(resources.get(field))
    for option, field in (("startup_probe", "startupProbe"), ("liveness_probe", "livenessProbe")):
        if option in desired:
            container[field] = _rekey(desired[option], _camel)


def build_service(current, desired, name):
    """The Service JSON to send: the current spec (or nothing) with every managed option applied."""
    creating = current is None
    service = writable(current)
    template = service.setdefault("template", {})
    containers = template.setdefault("containers", [])
    if not containers:
        containers.append({})
    _apply_container(ingress_container(template) or containers[0], desired, creating)
    if "concurrency" in desired:
        template["maxInstanceRequestConcurrency"] = desired["concurrency"]
    if "min_instances" in desired:
        template.setdefault("scaling", {})["minInstanceCount"] = desired["min_instances"]
    if "max_instances" in desired:
        template.setdefault("scaling", {})["maxInstanceCount"] = desired["max_instances"]
    if "timeout" in desired:
        template["timeout"] = f"{desired['timeout']}s"
    if "service_account" in desired:
        template["serviceAccount"] = desired["service_account"]
    if "execution_environment" in desired:
        template["executionEnvironment"] = EXECUTION_ENVIRONMENTS[desired["execution_environment"]]
    if "vpc_access" in desired:
        template["vpcAccess"] = _vpc_to_api(desired["vpc_access"])
    if "revision_suffix" in desired:
        template["revision"] = f"{name}-{desired['revision_suffix']}"
    if "description" in desired:
        service["description"] = desired["description"]
    for option in ("labels", "annotations"):
        if option in desired:
            kept = {k: v for k, v in (service.get(option) or {}).items() if k not in user_keys(service.get(option))}
            service[option] = dict(kept, **desired[option])
    if "ingress" in desired:
        service["ingress"] = INGRESS[desired["ingress"]]
    if "invoker_iam_disabled" in desired:
        service["invokerIamDisabled"] = desired["invoker_iam_disabled"]
    return service


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


# ---------------------------------------------------------------------- diff
def diff(observed, desired, changes):
    """Before and after of the managed options that change (for a new service, before is empty)."""
    before = {o: copy.deepcopy(observed.get(o)) for o in changes} if observed is not None else {}
    after = {o: copy.deepcopy(desired[o]) for o in changes}
    return {"before": before, "after": after}
