"""Cloud Run's validation rules for a Service, with the real messages where they are known.

Each check returns ``(field path, description)`` pairs; the caller turns them into one
400 INVALID_ARGUMENT. Field paths use the proto (snake_case) names, as the API does.
Sources: ../shared/reference/cloud-run-wire-contract.md section 5 and
deploy-tools-compared.md section 5.
"""

import re
from decimal import Decimal, InvalidOperation

from emulator.images import IMAGE_RE

RESERVED_ENV = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")
FORBIDDEN_KEY_NAMESPACES = (
    "run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev",
)
SERVICE_ID_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
SERVICE_ID_MAX = 49
TAG_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
TAG_AND_NAME_MAX = 46
DURATION_RE = re.compile(r"^([0-9]+)(\.[0-9]{1,9})?s$")
MEMORY_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|K|M|G|T|k)?$")
MEMORY_UNITS = {
    None: 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40,
}
MI = 2**20
GI = 2**30
# Cloud Run docs, "Configure CPU limits for services" (cloud.google.com/run/docs/configuring/services/cpu),
# its vCPU and memory table: memory allowed per whole vCPU, (min, max).
MEMORY_RANGE_BY_CPU = {1: (128 * MI, 4 * GI), 2: (128 * MI, 8 * GI), 4: (2 * GI, 16 * GI),
                       6: (4 * GI, 24 * GI), 8: (4 * GI, 32 * GI)}
# The same page, below 1 vCPU: "A minimum of 0.5 vCPU is needed to set a memory limit greater than
# 512MiB. A minimum of 1 vCPU is needed to set a memory limit greater than 1GiB."
HALF_CPU = Decimal("0.5")
# "Configure memory limits": at least 128 MiB; 512 MiB with the second generation environment.
GEN2_MIN_MEMORY = 512 * MI
GEN2 = "EXECUTION_ENVIRONMENT_GEN2"
SECRET_VERSION_RE = re.compile(r"^(latest|[1-9][0-9]*|[A-Za-z][A-Za-z0-9_-]{0,62})$")
LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


def parse_cpu(value):
    """``"1"``, ``"2"``, ``"0.5"``, ``"500m"`` -> Decimal CPUs, or None if it is not a CPU quantity."""
    try:
        if value.endswith("m"):
            return Decimal(value[:-1]) / 1000
        return Decimal(value)
    except (InvalidOperation, AttributeError):
        return None


def parse_memory(value):
    """``"512Mi"``, ``"1Gi"``, ``"1G"`` -> bytes, or None if it is not a memory quantity."""
    match = MEMORY_RE.match(value or "")
    if not match:
        return None
    return int(Decimal(match.group(1)) * MEMORY_UNITS[match.group(2)])


def duration_seconds(value):
    match = DURATION_RE.match(value or "")
    if not match:
        return None
    return float(match.group(1) + (match.group(2) or ""))


def _format_bytes(count):
    return f"{count // GI}Gi" if count % GI == 0 else f"{count // MI}Mi"


def check_service_id(service_id):
    if not service_id:
        return [("service_id", "service_id is required.")]
    if len(service_id) > SERVICE_ID_MAX or not SERVICE_ID_RE.match(service_id):
        return [("service_id", "Service name must use only lowercase letters, numbers and '-'. "
                 "Must begin with a letter and cannot end with a '-'. "
                 f"Maximum length is {SERVICE_ID_MAX} characters. Got '{service_id}'.")]
    return []


def _check_keys(mapping, path):
    found = []
    for key in mapping or {}:
        prefix = key.split("/", 1)[0] if "/" in key else ""
        if any(prefix == ns or prefix.endswith("." + ns) for ns in FORBIDDEN_KEY_NAMESPACES):
            found.append((path, f"Key '{key}' is in a system namespace "
                                f"({', '.join(FORBIDDEN_KEY_NAMESPACES)}), which the v2 API does not accept."))
    return found


def _check_resources(container, path, template):
    found = []
    resources = container.get("resources") or {}
    limits = resources.get("limits") or {}
    cpu = None
    if "cpu" in limits:
        cpu = parse_cpu(limits["cpu"])
        # "any value between 0.08 and 1, in increments of 0.001. Values greater than 1 must be integer
        # values"; the table lists 1, 2, 4, 6 and 8; "The maximum amount of vCPU you can configure is 8".
        valid = cpu is not None and (
            (Decimal("0.08") <= cpu <= 1 and cpu == cpu.quantize(Decimal("0.001")))
            or cpu in MEMORY_RANGE_BY_CPU)
        if not valid:
            found.append((f"{path}.resources.limits.cpu",
                          f"Invalid value specified for cpu: '{limits['cpu']}'. Use a value between 0.08 and 1 "
                          "in steps of 0.001 (e.g. 0.5 or 500m), or 1, 2, 4, 6 or 8."))
            cpu = None
    effective_cpu = cpu if cpu is not None else Decimal(1)
    gen2 = template.get("executionEnvironment") == GEN2
    if "memory" in limits:
        memory = parse_memory(limits["memory"])
        if memory is None:
            found.append((f"{path}.resources.limits.memory",
                          f"Invalid value specified for container memory: '{limits['memory']}'. "
                          "Use a quantity such as 512Mi, 1Gi or 2Gi (units Ki, Mi, Gi, or K, M, G)."))
        else:
            if effective_cpu < 1:
                low, high = 128 * MI, (512 * MI if effective_cpu < HALF_CPU else GI)
                label = f"{effective_cpu.normalize()} CPU"
            else:
                low, high = MEMORY_RANGE_BY_CPU.get(int(effective_cpu), (128 * MI, 32 * GI))
                label = f"{int(effective_cpu)}.0 CPU"
            if gen2:
                low = max(low, GEN2_MIN_MEMORY)
            if not low <= memory <= high:
                env_text = " with gen2 execution environment" if gen2 else ""
                found.append((f"{path}.resources.limits.memory",
                              f"Invalid value specified for container memory{env_text}. For {label}, memory must "
                              f"be between {_format_bytes(low)} and {_format_bytes(high)} inclusive."))
    if cpu is not None and cpu < 1:
        # Below 1 vCPU: "Maximum concurrency must be set to 1", "request-based billing" (cpuIdle,
        # which is false when resources are sent without it: proto doc of ResourceRequirements.cpu_idle),
        # and "You must use the first generation execution environment".
        concurrency = template.get("maxInstanceRequestConcurrency") or 0
        if concurrency > 1:
            found.append((f"{path}.resources.limits.cpu",
                          "Invalid value specified for cpu. Total cpu < 1 is not supported with concurrency > 1."))
        if not resources.get("cpuIdle"):
            found.append((f"{path}.resources.limits.cpu",
                          "Invalid value specified for cpu. Total cpu < 1 is not supported with cpu always "
                          "allocated (unthrottled); CPU must be allocated only during request processing."))
        if gen2:
            found.append((f"{path}.resources.limits.cpu",
                          "Invalid value specified for cpu. Total cpu < 1 is not supported with gen2 execution "
                          "environment."))
    return found


ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def check_env(container, path, reserved_names=RESERVED_ENV):
    """A container's env as Cloud Run checks it; a job's reserves its own names (CLOUD_RUN_JOB, ...)."""
    found = []
    env = container.get("env") or []
    if len(env) > 1000:
        found.append((f"{path}.env", "A container may have at most 1000 environment variables."))
    reserved = [e.get("name") for e in env if e.get("name") in reserved_names]
    if reserved:
        found.append((f"{path}.env", f"The following reserved env names were provided: {', '.join(reserved)}. "
                                     "These values are automatically set by the system."))
    seen = set()
    for index, item in enumerate(env):
        name = item.get("name", "")
        where = f"{path}.env[{index}].name"
        if not name:
            found.append((where, "Environment variable name must not be empty."))
        elif "=" in name:
            found.append((where, f"Environment variable name '{name}' must not contain '='."))
        elif not ENV_NAME.match(name):
            # Knative Serving, whose API Cloud Run's is, checks names with Kubernetes' IsEnvVarName.
            found.append((where, f"Invalid value: \"{name}\": a valid environment variable name must consist of "
                                 "alphabetic characters, digits, '_', '-', or '.', and must not start with a digit"))
        elif name.startswith("X_GOOGLE_"):
            found.append((where, f"Environment variable name '{name}' uses the reserved prefix X_GOOGLE_."))
        elif name in seen:
            found.append((where, f"Environment variable '{name}' is set more than once."))
        seen.add(name)
        if len(item.get("value", "").encode()) > 32768:
            found.append((f"{path}.env[{index}].value", "Environment variable values are limited to 32 KiB."))
        ref = (item.get("valueSource") or {}).get("secretKeyRef")
        if item.get("valueSource") is not None and not (ref and ref.get("secret")):
            found.append((f"{path}.env[{index}].value_source.secret_key_ref.secret", "secret is required."))
        elif ref and ref.get("version") and not SECRET_VERSION_RE.match(ref["version"]):
            # SecretKeySelector.version: "Can be 'latest' for the latest version, an integer for a specific
            # version, or a version alias" (run_v2 types/k8s_min.py); aliases start with a letter.
            found.append((f"{path}.env[{index}].value_source.secret_key_ref.version",
                          f"'{ref['version']}' is not 'latest', a version number or a version alias."))
    return found


def _check_probe(container, path):
    probe = container.get("startupProbe")
    if not probe:
        return []
    timeout = probe.get("timeoutSeconds") or 1
    period = probe.get("periodSeconds") or 10
    if timeout > period:
        return [(f"{path}.startup_probe.timeout_seconds", "must be less than or equal to period_seconds.")]
    return []


def _check_containers(template, base):
    found = []
    containers = template.get("containers") or []
    if not containers:
        return [(f"{base}.containers", "Revision template must contain at least one container.")]
    with_port = 0
    for index, container in enumerate(containers):
        path = f"{base}.containers[{index}]"
        image = container.get("image", "")
        if not image:
            found.append((f"{path}.image", "image is required."))
        elif not IMAGE_RE.match(image):
            found.append((f"{path}.image",
                          "must be a container image path in the form [hostname/]repo-path[:tag and/or @digest]"))
        ports = container.get("ports") or []
        if len(ports) > 1:
            found.append((f"{path}.ports", "ports should contain 0 or 1 port."))
        for port in ports:
            number = port.get("containerPort", 0)
            if not 0 < number < 65536:
                found.append((f"{path}.ports[0].container_port",
                              f"Invalid port {number}: must be between 1 and 65535."))
            if port.get("name") and port["name"] not in ("http1", "h2c"):
                found.append((f"{path}.ports[0].name", f"Invalid port name '{port['name']}': use http1 or h2c."))
        with_port += 1 if ports else 0
        found += check_env(container, path)
        found += _check_resources(container, path, template)
        found += _check_probe(container, path)
    if len(containers) > 1 and with_port != 1:
        found.append((f"{base}.containers",
                      "Revision template should contain exactly one container with an exposed port."))
    return found


def check_template(template, service_id, base="service.template"):
    if not template:
        return [(base, "template is required.")]
    found = _check_containers(template, base)
    concurrency = template.get("maxInstanceRequestConcurrency", 0)
    if concurrency and not 1 <= concurrency <= 1000:
        found.append((f"{base}.max_instance_request_concurrency",
                      f"Invalid value {concurrency}: must be between 1 and 1000."))
    if "timeout" in template:
        seconds = duration_seconds(template["timeout"])
        if seconds is None or seconds <= 0:
            found.append((f"{base}.timeout", f"Invalid duration '{template['timeout']}'."))
        elif seconds > 3600:
            found.append((f"{base}.timeout", "maximum allowed time is one hour."))
    account = template.get("serviceAccount")
    if account and not re.match(r"^[^@\s]+@[^@\s]+\.[a-z]+$", account):
        # The field is "Email address of the IAM service account associated with the revision" (run_v2
        # RevisionTemplate.service_account); the API's exact words for anything else are not recorded.
        found.append((f"{base}.service_account", f"Invalid service account '{account}': must be an email address."))
    scaling = template.get("scaling") or {}
    if "maxInstanceCount" in scaling and scaling.get("minInstanceCount", 0) > scaling["maxInstanceCount"]:
        found.append((f"{base}.scaling.max_instance_count", "must be greater or equal than min_instance_count."))
    revision = template.get("revision")
    if revision and (not revision.startswith(service_id + "-") or len(revision) > 63):
        found.append((f"{base}.revision",
                      f"Revision name '{revision}' must start with '{service_id}-' and be at most 63 characters."))
    found += _check_keys(template.get("labels"), f"{base}.labels")
    found += _check_keys(template.get("annotations"), f"{base}.annotations")
    return found


def check_traffic(traffic, service_id, base="service.traffic"):
    found = []
    total = 0
    tags = set()
    for index, target in enumerate(traffic or []):
        kind = target.get("type", "TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED")
        if kind == REVISION and not target.get("revision"):
            found.append((f"{base}[{index}].revision",
                          "revision must be set when type is TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION."))
        if kind not in (LATEST, REVISION):
            found.append((f"{base}[{index}].type", "type must be LATEST or REVISION."))
        percent = target.get("percent", 0)
        if not 0 <= percent <= 100:
            found.append((f"{base}[{index}].percent", "percent must be between 0 and 100."))
        total += percent
        tag = target.get("tag")
        if tag:
            if not TAG_RE.match(tag):
                found.append((f"{base}[{index}].tag",
                              f"Invalid tag '{tag}': use lowercase letters, numbers and '-', starting with a letter."))
            if len(tag) + len(service_id) > TAG_AND_NAME_MAX:
                found.append((f"{base}[{index}].tag",
                              f"traffic tag '{tag}' and service name '{service_id}' together are too long. "
                              f"Combined traffic tag and service name cannot exceed {TAG_AND_NAME_MAX} characters."))
            if tag in tags:
                found.append((f"{base}[{index}].tag", f"Tag '{tag}' is used more than once."))
            tags.add(tag)
    if traffic and total != 100:
        found.append((base, f"Traffic targets sum to {total}, want 100."))
    return found


def check_service(spec, service_id):
    found = check_template(spec.get("template"), service_id)
    found += check_traffic(spec.get("traffic"), service_id)
    if len(spec.get("description", "")) > 512:
        found.append(("service.description", "description must be at most 512 characters."))
    found += _check_keys(spec.get("labels"), "service.labels")
    found += _check_keys(spec.get("annotations"), "service.annotations")
    return found
