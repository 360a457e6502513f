# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: what the modules return about services and revisions, and cloudrun_service_info's read.

API messages become the API's own JSON once (``to_dict``), then the documented results; a
revision's last log lines come from Cloud Logging, its secrets masked on request.
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._api import to_dict
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import ingress_container, short, snake_keys

SUCCEEDED = "CONDITION_SUCCEEDED"


def _ready(conditions, kind="Ready"):
    return any(c.get("type") == kind and c.get("state") == SUCCEEDED for c in conditions or [])


FAILURE_KEYS = ("name", "uri", "ready", "latest_ready_revision", "latest_created_revision", "traffic_statuses")


def failed_service_result(service):
    """The ``service`` result of a failed task: what serves and where, not the whole spec. A failed task's
    result is printed whole at default verbosity; a person needs these, and service_info has the rest."""
    whole = service_result(service)
    return {key: whole[key] for key in FAILURE_KEYS} if whole else None


def service_result(service):
    """The documented ``service`` result: snake_case, short revision names, no server noise."""
    if not service:
        return None
    terminal = service.get("terminalCondition") or {}
    return {
        "name": short(service.get("name")),
        "resource_name": service.get("name"),
        "uid": service.get("uid"),
        "uri": service.get("uri"),
        "urls": service.get("urls", []),
        "generation": int(service.get("generation", 0)),
        "observed_generation": int(service.get("observedGeneration", 0)),
        "etag": service.get("etag"),
        "create_time": service.get("createTime"),
        "update_time": service.get("updateTime"),
        "creator": service.get("creator"),
        "last_modifier": service.get("lastModifier"),
        "ready": terminal.get("state") == SUCCEEDED,
        "reconciling": bool(service.get("reconciling")),
        "latest_ready_revision": short(service.get("latestReadyRevision")),
        "latest_created_revision": short(service.get("latestCreatedRevision")),
        "terminal_condition": snake_keys(terminal),
        "conditions": snake_keys(service.get("conditions", [])),
        "traffic": snake_keys(service.get("traffic", [])),
        "traffic_statuses": snake_keys(service.get("trafficStatuses", [])),
        "ingress": service.get("ingress"),
        "description": service.get("description", ""),
        "labels": service.get("labels", {}),
        "annotations": service.get("annotations", {}),
        "template": snake_keys(service.get("template", {})),
    }


def revision_result(revision, traffic=None):
    """One revision: name, created, ready, image; with ``traffic``, its percent and tags."""
    container = ingress_container(revision) or {}
    result = {
        "name": short(revision.get("name")),
        "resource_name": revision.get("name"),
        "create_time": revision.get("createTime"),
        "ready": _ready(revision.get("conditions")),
        "image": container.get("image"),
        "conditions": snake_keys(revision.get("conditions", [])),
        "log_uri": revision.get("logUri"),
    }
    if traffic is not None:
        result["percent"], result["tags"] = traffic.get(result["name"], (0, []))
    return result


def traffic_by_revision(service):
    """{revision short name: (percent, [tags])} from what the service actually serves."""
    shares = {}
    for status in service.get("trafficStatuses", []):
        revision = status.get("revision") or (short(service.get("latestReadyRevision"))
                                              if status.get("type", "").endswith("LATEST") else None)
        if not revision:
            continue
        percent, tags = shares.get(revision, (0, []))
        shares[revision] = (percent + status.get("percent", 0), tags + ([status["tag"]] if status.get("tag") else []))
    return shares


def revision_logs(module, service_id, revision_id, limit=30, wait=0.0):
    """A revision's last log lines; a person needs them more than a link. Best effort.

    Logs reach Cloud Logging seconds after a container wrote them, so with ``wait`` an empty answer
    is asked again, with backoff, for up to that many seconds. The query is bounded by the
    revision's createTime. Returns (lines, a note when there are none).
    """
    revision = api.get_revision(module.client("revisions"),
                                name=module.revision_path(revision_id, service_id))
    since = revision.create_time.isoformat().replace("+00:00", "Z") if revision and revision.create_time else None
    try:
        lines, _found = api.poll(lambda: api.read_revision_logs(module.session(), module.logging_endpoint, module.project,
                                                                service_id, revision_id, limit=limit, since=since),
                                 bool, wait, initial=1.0, maximum=2.0)
    except CloudRunError as exc:  # the deploy error matters more than this one
        return [], f"({exc.msg})"
    if lines:
        return lines, None
    where = f": {revision.log_uri}" if revision and revision.log_uri else ""
    return [], (f"(No log lines of {revision_id} have reached Cloud Logging yet; they can lag by some seconds. "
                f"See the logs{where})")


def _hide_referenced_secrets(module, revision):
    """Mask the values of the secrets ``revision``'s env references; False when one cannot be read."""
    for container in revision.get("containers") or []:
        for item in container.get("env") or []:
            ref = (item.get("valueSource") or {}).get("secretKeyRef")
            if not ref:
                continue
            secret = ref["secret"]
            if "/" not in secret:
                secret = module.client("secrets").secret_path(module.project, secret)
            try:
                found = api.access_version(module.client("secrets"), name=f"{secret}/versions/{ref.get('version', 'latest')}")
            except CloudRunError:
                return False
            if found is not None:
                module.hide([found.payload.data.decode("utf-8", "replace")])
    return True


def _latest_logs(module, result, raw_revisions):
    """Log lines of the service's latest created revision into its result, secrets masked with mask_secrets."""
    for revision in result["revisions"]:
        if revision["name"] != result["latest_created_revision"]:
            continue
        if module.params.get("mask_secrets") and not _hide_referenced_secrets(module, raw_revisions[revision["name"]]):
            revision["log"] = ["(log lines withheld: a secret this revision uses could not be read to mask it)"]
            continue
        revision["log"], _problem = revision_logs(module, result["name"], revision["name"], module.params["log_lines"])


def read_services(module):
    """One service (``name``) or every service in the region, each with its revisions."""
    services = module.client("services")
    revisions = module.client("revisions")
    if module.params.get("name"):
        found = api.get_service(services, name=module.service_path())
        found = [found] if found else []
    else:
        found = api.list_services(services, parent=module.parent)
    described = []
    for message in found:
        service = to_dict(message)
        shares = traffic_by_revision(service)
        result = service_result(service)
        raw = {short(r["name"]): r for r in map(to_dict, api.list_revisions(revisions, parent=service["name"]))}
        result["revisions"] = [revision_result(r, shares) for r in raw.values()]
        if module.params.get("log_lines"):
            _latest_logs(module, result, raw)
        described.append(result)
    return {"changed": False, "services": described}
