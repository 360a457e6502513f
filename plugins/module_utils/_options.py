# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: cloudrun_service's managed options, each declared once. Pure functions.

One ``Option`` says everything about an option: its argument spec, where it lives in the v2
Service (the ingress container, the revision template, or the service itself: the first two make a
new revision when they change), how a user's value is normalised, how it is read back from the
API, how it is compared (whole, as a quantity, or only the keys the user set), how it is written,
and the rules known before any request. Argument spec, desired and observed state, comparison with
its diff, and the request body are loops over ``OPTIONS``; adding an option is one entry, its
documentation in the module, and its test.
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.nadle.cloudrun.plugins.module_utils._cpu_memory import parse_cpu, parse_memory

CONTAINER, TEMPLATE, SERVICE = "container", "template", "service"
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
IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$"
)
DURATION_RE = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s?)?$")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
SUFFIX_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Maps whose keys are the user's (or the API's) own, not field names: never re-cased.
MAP_FIELDS = ("labels", "annotations", "limits", "nodeSelector", "node_selector")


# ------------------------------------------------------------------ helpers
def parse_timeout(value):
    """Seconds from ``300``, ``"300"``, ``"300s"``, ``"5m"``, ``"1h30m"``; None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    match = DURATION_RE.match(str(value or "").strip())
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


DOCKER_HUB = "registry-1.docker.io"
DOCKER_HUB_NAMES = ("docker.io", "index.docker.io", "registry-1.docker.io")
# Artifact Registry (REGION-docker.pkg.dev) and Container Registry (gcr.io, us.gcr.io, ...).
GOOGLE_REGISTRY_RE = re.compile(r"^(?:[a-z0-9-]+-docker\.pkg\.dev|(?:[a-z0-9-]+\.)?gcr\.io)$")


def split_image(image):
    """``host/repo:tag@digest`` -> (host, repo, tag or None, digest or None); Docker Hub when no host."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    tag = None
    if ":" in image.rsplit("/", 1)[-1]:
        image, tag = image.rsplit(":", 1)
    first, _sep, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost") and first not in DOCKER_HUB_NAMES:
        return first, rest, tag, digest
    # Docker Hub, named or not: docker.io/nginx is registry-1.docker.io/library/nginx, as Docker reads it.
    path = rest if rest and first in DOCKER_HUB_NAMES else image
    return DOCKER_HUB, path if "/" in path else f"library/{path}", tag, digest


def google_registry(host):
    """Whether ``host`` is Google's (Artifact Registry or Container Registry): the only hosts a Google token goes to."""
    return bool(GOOGLE_REGISTRY_RE.match(host))


def repository_problem(image, option="image"):
    """Why ``image`` is not an image repository a source build can tag (no tag, no digest), or None."""
    _host, _repo, tag, digest = split_image(image or "")
    if tag or digest or not IMAGE_RE.match(image or ""):
        return (f"{option}: give the repository without a tag or digest (the tag is the source's hash), for "
                f"example REGION-docker.pkg.dev/PROJECT/REPO/IMAGE; got '{image}'.")
    return None


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


def snake_keys(value):
    """API JSON (camelCase) as Ansible results are written (snake_case), map contents (labels, annotations,
    limits) untouched: ansible-core's own conversion."""
    if isinstance(value, dict):
        return camel_dict_to_snake_dict(value, ignore_list=MAP_FIELDS)
    if isinstance(value, list):
        return [snake_keys(item) for item in value]
    return value


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def camel_keys(value):
    """Options (snake_case) as the API's JSON (camelCase), the contents of MAP_FIELDS as they are. Written
    here: ansible-core's snake_dict_to_camel_dict has no ignore list, and would rename label keys."""
    if isinstance(value, dict):
        return {camel(k): (v if k in MAP_FIELDS else camel_keys(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def drop_none(value):
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    return value


# The collection's own annotations (the role's history of revisions verified good): kept on every write of
# labels or annotations and never compared, like the keys Google's tools add.
OWN_KEY_PREFIX = "nadle.cloudrun/"


def user_keys(mapping):
    """Labels or annotations without the keys that Google's own tools and this collection add."""
    return {k: v for k, v in (mapping or {}).items()
            if not k.startswith(OWN_KEY_PREFIX)
            and not any(k.split("/", 1)[0].endswith(ns) for ns in SYSTEM_KEY_NAMESPACES if "/" in k)}


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
            items.append({"name": key, "valueSource": {"secretKeyRef": {"secret": value["secret"],
                                                                        "version": value["version"]}}})
        else:
            items.append({"name": key, "value": value})
    return items


def _env_desired(env):
    return {k: ({"secret": v["secret"], "version": str(v.get("version") or "latest")} if isinstance(v, dict)
                else env_value(v)) for k, v in env.items()}


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
        fields = (("network", "network"), ("subnetwork", "subnetwork"), ("tags", "network_tags"))
        result["networkInterfaces"] = [{k: vpc[o] for k, o in fields if vpc.get(o)}]
    if vpc.get("egress"):
        result["egress"] = EGRESS[vpc["egress"]]
    return result


def _keys_problems(option, mapping):
    problems = []
    for key, value in (mapping or {}).items():
        if option == "labels" and not (LABEL_KEY_RE.match(key) and LABEL_VALUE_RE.match(str(value))):
            problems.append(f"labels: '{key}: {value}' is not a valid label. Keys start with a lowercase letter; "
                            "keys and values use lowercase letters, digits, '_' and '-', 63 characters at most.")
        prefix = key.split("/", 1)[0] if "/" in key else ""
        if key.startswith(OWN_KEY_PREFIX):
            problems.append(f"{option}: '{key}' is in the collection's own namespace ({OWN_KEY_PREFIX}), which it "
                            "writes itself (cloudrun_traffic record_good).")
        elif any(prefix == ns or prefix.endswith("." + ns) for ns in SYSTEM_KEY_NAMESPACES):
            problems.append(f"{option}: '{key}' is in a system namespace that the Cloud Run v2 API does not accept.")
    return problems


def _subset_equal(want, have):
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_subset_equal(v, have.get(k)) for k, v in want.items())
    return want == have


# ------------------------------------------------------------------ comparisons
def whole(want, have):
    return want != have


def as_list(want, have):
    return list(want) != list(have or [])


def cpu_quantity(want, have):
    return have is None or parse_cpu(want) != parse_cpu(have)


def memory_quantity(want, have):
    return have is None or parse_memory(want) != parse_memory(have)


def keys_set(want, have):
    """Only the keys the user set count: the server completes probes and VPC access with defaults."""
    return not _subset_equal(want, have or {})


def unless_unspecified(want, have):
    """Ingress reads back as UNSPECIFIED while no revision is active (run_v2 types/service.py): not drift."""
    return have is not None and want != have


# ------------------------------------------------------------------ the table
class Option:  # pylint: disable=too-few-public-methods,too-many-instance-attributes
    """One managed option of cloudrun_service.

    ``where``: CONTAINER (the ingress container), TEMPLATE or SERVICE: the JSON object ``read``
    and ``write`` get. ``read(obj)`` is the option's value as the API has it; ``write(obj, value,
    name)`` puts the desired value there. ``normalise`` turns a user's value into the compared form,
    ``differs(want, have)`` compares, ``check(value, params)`` lists the problems known before any
    request.
    """

    def __init__(self, name, spec, where, read, write, normalise=None, differs=whole, check=None):
        self.name = name
        self.spec = spec
        self.where = where
        self.read = read
        self.write = write
        self.normalise = normalise or (lambda value: value)
        self.differs = differs
        self.check = check or (lambda value, params: [])

    @property
    def makes_revision(self):
        return self.where in (CONTAINER, TEMPLATE)


def _set(field):
    def write(obj, value, _name):
        obj[field] = value
    return write


def _set_path(*fields):
    def write(obj, value, _name):
        for field in fields[:-1]:
            obj = obj.setdefault(field, {})
        obj[fields[-1]] = value
    return write


def _get_path(*fields, default=None):
    def read(obj):
        for field in fields:
            obj = (obj or {}).get(field)
        return default if obj is None else obj
    return read


def _write_port(container, port, _name):
    old = (container.get("ports") or [{}])[0].get("containerPort", 8080)
    container["ports"] = [dict((container.get("ports") or [{}])[0], containerPort=port)]
    socket = (container.get("startupProbe") or {}).get("tcpSocket")
    if socket is not None and socket.get("port") == old:
        socket["port"] = port  # Cloud Run's default probe follows the port


def _write_limit(field):
    def write(container, value, _name):
        container.setdefault("resources", {}).setdefault("limits", {})[field] = value
    return write


def _write_keys(field):
    """Labels and annotations: the user's keys, and the system keys Google's tools added kept."""
    def write(service, value, _name):
        current = service.get(field) or {}
        kept = {k: v for k, v in current.items() if k not in user_keys(current)}
        service[field] = dict(kept, **value)
    return write


def _check_range(option, low, high, what):
    def check(value, _params):
        return [] if low <= value <= high else [f"{option}: {value} is out of range; use {low} to {high} ({what})."]
    return check


def _check_image(value, _params):
    if IMAGE_RE.match(value):
        return []
    return [f"image: '{value}' is not an image reference. Use [HOST/]REPOSITORY[:TAG][@sha256:DIGEST], for example "
            "europe-west1-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG."]


def _check_timeout(value, _params):
    seconds = parse_timeout(value)
    if seconds is not None and 1 <= seconds <= 3600:
        return []
    return [f"timeout: '{value}' is not allowed; use 1 to 3600 seconds (for example 300, 300s or 5m). Cloud Run's "
            "maximum is one hour."]


def _check_suffix(value, params):
    name = params.get("name") or ""
    if SUFFIX_RE.match(value) and len(name) + 1 + len(value) <= 63:
        return []
    return [f"revision_suffix: '{value}' must use lowercase letters, digits and '-', and the revision name "
            f"'{name}-{value}' must be at most 63 characters."]


def _check_vpc(value, _params):
    if value.get("connector") and value.get("network"):
        return ["vpc_access: set connector or network (Direct VPC egress), not both."]
    return []


# IAM service account emails: NAME@PROJECT.iam.gserviceaccount.com, or a Google-managed account's own domain.
SERVICE_ACCOUNT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$")


def _check_service_account(value, _params):
    if SERVICE_ACCOUNT_RE.match(value):
        return []
    return [f"service_account: '{value}' is not a service account's email, such as "
            "runtime@PROJECT.iam.gserviceaccount.com."]


def _check_description(value, _params):
    return ["description: at most 512 characters."] if len(value) > 512 else []


def _check_at_least(option, low):
    def check(value, _params):
        return [] if value >= low else [f"{option}: {value} must be at least {low}."]
    return check


def probe_options():
    """The argument spec of a startup or liveness probe (Cloud Run v2 Probe)."""
    port = dict(port=dict(type="int"))
    return dict(
        initial_delay_seconds=dict(type="int"), timeout_seconds=dict(type="int"),
        period_seconds=dict(type="int"), failure_threshold=dict(type="int"),
        http_get=dict(type="dict", options=dict(path=dict(type="str"), port=dict(type="int"))),
        tcp_socket=dict(type="dict", options=port),
        grpc=dict(type="dict", options=dict(port=dict(type="int"), service=dict(type="str"))),
    )


def _probe(field):
    return dict(read=lambda c: snake_keys(c.get(field)),
                write=lambda c, value, _name: c.__setitem__(field, camel_keys(value)),
                normalise=drop_none, differs=keys_set)


OPTIONS = (
    Option("image", dict(type="str"), CONTAINER, _get_path("image"), _set("image"), check=_check_image),
    Option("port", dict(type="int"), CONTAINER, lambda c: (c.get("ports") or [{}])[0].get("containerPort"),
           _write_port, check=_check_range("port", 1, 65535, "a TCP port")),
    Option("command", dict(type="list", elements="str"), CONTAINER, _get_path("command", default=[]),
           lambda c, v, _n: c.__setitem__("command", list(v)), differs=as_list),
    Option("args", dict(type="list", elements="str"), CONTAINER, _get_path("args", default=[]),
           lambda c, v, _n: c.__setitem__("args", list(v)), differs=as_list),
    Option("env", dict(type="dict"), CONTAINER, lambda c: env_from_api(c.get("env")),
           lambda c, v, _n: c.__setitem__("env", env_to_api(v)), normalise=_env_desired),
    Option("cpu", dict(type="str"), CONTAINER, _get_path("resources", "limits", "cpu"), _write_limit("cpu"),
           normalise=str, differs=cpu_quantity),
    Option("memory", dict(type="str"), CONTAINER, _get_path("resources", "limits", "memory"), _write_limit("memory"),
           normalise=str, differs=memory_quantity),
    Option("cpu_idle", dict(type="bool"), CONTAINER, lambda c: bool((c.get("resources") or {}).get("cpuIdle")),
           _set_path("resources", "cpuIdle")),
    Option("startup_cpu_boost", dict(type="bool"), CONTAINER,
           lambda c: bool((c.get("resources") or {}).get("startupCpuBoost")), _set_path("resources", "startupCpuBoost")),
    Option("concurrency", dict(type="int"), TEMPLATE, _get_path("maxInstanceRequestConcurrency"),
           _set("maxInstanceRequestConcurrency"),
           check=_check_range("concurrency", 1, 1000, "requests one instance handles at once")),
    Option("min_instances", dict(type="int"), TEMPLATE, _get_path("scaling", "minInstanceCount", default=0),
           _set_path("scaling", "minInstanceCount"), check=_check_at_least("min_instances", 0)),
    Option("max_instances", dict(type="int"), TEMPLATE, _get_path("scaling", "maxInstanceCount"),
           _set_path("scaling", "maxInstanceCount"), check=_check_at_least("max_instances", 1)),
    Option("timeout", dict(type="str"), TEMPLATE, lambda t: api_duration_seconds(t.get("timeout")),
           lambda t, v, _n: t.__setitem__("timeout", f"{v}s"), normalise=parse_timeout, check=_check_timeout),
    Option("service_account", dict(type="str"), TEMPLATE, _get_path("serviceAccount"), _set("serviceAccount"),
           check=_check_service_account),
    Option("vpc_access", dict(type="dict", options=dict(
        connector=dict(type="str"), network=dict(type="str"), subnetwork=dict(type="str"),
        network_tags=dict(type="list", elements="str"), egress=dict(type="str", choices=list(EGRESS)))),
        TEMPLATE, lambda t: _vpc_from_api(t.get("vpcAccess")),
        lambda t, v, _n: t.__setitem__("vpcAccess", _vpc_to_api(v)), normalise=drop_none, differs=keys_set,
        check=_check_vpc),
    Option("execution_environment", dict(type="str", choices=list(EXECUTION_ENVIRONMENTS)), TEMPLATE,
           lambda t: {v: k for k, v in EXECUTION_ENVIRONMENTS.items()}.get(t.get("executionEnvironment")),
           lambda t, v, _n: t.__setitem__("executionEnvironment", EXECUTION_ENVIRONMENTS[v])),
    Option("startup_probe", dict(type="dict", options=probe_options()), CONTAINER, **_probe("startupProbe")),
    Option("liveness_probe", dict(type="dict", options=probe_options()), CONTAINER, **_probe("livenessProbe")),
    Option("revision_suffix", dict(type="str"), TEMPLATE, None,  # read with the service name: observed_state
           lambda t, v, name: t.__setitem__("revision", f"{name}-{v}"), check=_check_suffix),
    Option("description", dict(type="str"), SERVICE, _get_path("description", default=""), _set("description"),
           check=_check_description),
    Option("labels", dict(type="dict"), SERVICE, lambda s: user_keys(s.get("labels")), _write_keys("labels"),
           normalise=lambda v: {k: str(x) for k, x in v.items()}, check=lambda v, _p: _keys_problems("labels", v)),
    Option("annotations", dict(type="dict"), SERVICE, lambda s: user_keys(s.get("annotations")),
           _write_keys("annotations"), normalise=lambda v: {k: str(x) for k, x in v.items()},
           check=lambda v, _p: _keys_problems("annotations", v)),
    Option("ingress", dict(type="str", choices=list(INGRESS)), SERVICE,
           lambda s: {v: k for k, v in INGRESS.items()}.get(s.get("ingress")),
           lambda s, v, _n: s.__setitem__("ingress", INGRESS[v]), differs=unless_unspecified),
    Option("invoker_iam_disabled", dict(type="bool"), SERVICE, lambda s: bool(s.get("invokerIamDisabled")),
           _set("invokerIamDisabled")),
    # Service-level scaling: a floor of instances for the whole service, across its revisions
    # (ServiceScaling.min_instance_count, run_v2 types/vendor_settings.py). No new revision.
    Option("service_min_instances", dict(type="int"), SERVICE,
           _get_path("scaling", "minInstanceCount", default=0), _set_path("scaling", "minInstanceCount"),
           check=_check_at_least("service_min_instances", 0)),
)
BY_NAME = {option.name: option for option in OPTIONS}
TEMPLATE_OPTIONS = tuple(o.name for o in OPTIONS if o.makes_revision)
SERVICE_OPTIONS = tuple(o.name for o in OPTIONS if not o.makes_revision)
MANAGED_OPTIONS = tuple(o.name for o in OPTIONS)


def argument_spec(options=None):
    """The argument spec of every managed option (of ``options``, another table such as a job's)."""
    return {option.name: copy.deepcopy(option.spec) for option in options or OPTIONS}


def option_problems(params, options=None):
    """Each option's own rules, for the options the user set."""
    problems = []
    for option in options or OPTIONS:
        if params.get(option.name) is not None:
            problems += option.check(params[option.name], params)
    return problems


def desired_state(params, options=None):
    """The options the user set, normalised: the shape used for comparing and for the diff."""
    return {o.name: o.normalise(params[o.name]) for o in options or OPTIONS if params.get(o.name) is not None}


def ingress_container(template):
    """The container that receives requests: the one with a port, else the first."""
    containers = template.get("containers") or []
    for container in containers:
        if container.get("ports"):
            return container
    return containers[0] if containers else None


def _objects(service):
    template = service.get("template") or {}
    return {SERVICE: service, TEMPLATE: template, CONTAINER: ingress_container(template) or {}}


def observed_state(service, name):
    """Every managed option as the service has it now."""
    objects = _objects(service)
    observed = {o.name: o.read(objects[o.where]) for o in OPTIONS if o.read is not None}
    revision = objects[TEMPLATE].get("revision") or ""
    observed["revision_suffix"] = revision[len(name) + 1:] if revision.startswith(name + "-") else None
    return observed


class Differences:
    """Which managed options differ, and their before and after, found in one pass (community.docker's
    DifferenceTracker idea)."""

    def __init__(self, desired, observed, options=None):
        self.before, self.after, self.names = {}, {}, []
        for option in options or OPTIONS:
            if option.name not in desired:
                continue
            have = None if observed is None else observed.get(option.name)
            if observed is None or option.differs(desired[option.name], have):
                self.names.append(option.name)
                if observed is not None:
                    self.before[option.name] = copy.deepcopy(have)
                self.after[option.name] = copy.deepcopy(desired[option.name])

    @property
    def makes_revision(self):
        return any(BY_NAME[n].makes_revision for n in self.names)

    def diff(self):
        return {"before": copy.deepcopy(self.before), "after": copy.deepcopy(self.after)}


def apply(service, desired, name, creating):
    """Write every desired option into ``service`` (the API's JSON), in place."""
    template = service.setdefault("template", {})
    containers = template.setdefault("containers", [])
    if not containers:
        containers.append({})
    objects = {SERVICE: service, TEMPLATE: template, CONTAINER: ingress_container(template) or containers[0]}
    for option in OPTIONS:
        if option.name in desired:
            option.write(objects[option.where], desired[option.name], name)
    resources = objects[CONTAINER].get("resources")
    if resources is not None and any(o in desired for o in ("cpu", "memory", "cpu_idle", "startup_cpu_boost")):
        # Sending resources without cpuIdle switches a service to always-on CPU (ResourceRequirements.cpu_idle),
        # so say what we mean: the user's value, else the service's, else Cloud Run's default for a new one.
        for option, field in (("cpu_idle", "cpuIdle"), ("startup_cpu_boost", "startupCpuBoost")):
            if option not in desired:
                resources[field] = True if creating else bool(resources.get(field))
    return service
