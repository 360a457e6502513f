# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: a service's traffic split, tags, promotion and rollback.

Targets are written ``{"revision": NAME or "LATEST", "percent": N, "tag": T or None}``;
a list of them is compared in a fixed order, so the API's order is never drift.
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._api import to_dict
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._progress import note
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import (
    revision_result, service_result, traffic_by_revision,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._rollout import read_plan_write, require_service
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import TAG_AND_NAME_MAX, TAG_RE, short, writable


# ----------------------------------------------------- targets, to and from the API
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


def serves_latest(service):
    """Whether the newest revision is ready and serves all the traffic: a rollout with nothing left to do."""
    latest = short((service or {}).get("latestReadyRevision"))
    if not latest or latest != short(service.get("latestCreatedRevision")):
        return False
    return traffic_by_revision(service).get(latest, (0, []))[0] == 100


def tags_of(targets):
    return {t["tag"]: t["revision"] for t in targets if t["tag"]}


def _with_tags(targets, tags):
    """Put each ``tag -> revision`` on the targets: on that revision's untagged target, else as a 0% target."""
    targets = [dict(t) for t in targets]
    for tag, revision in tags.items():
        for target in targets:
            if target["tag"] == tag:
                target["tag"] = None  # a tag names one target; it moves
        untagged = [t for t in targets if t["revision"] == revision and not t["tag"]]
        if untagged:
            untagged[0]["tag"] = tag
        else:
            targets.append({"revision": revision, "percent": 0, "tag": tag})
    return targets


def _drop_failed_tags(targets, revisions, params):
    """Drop kept tags of revisions that are not ready, such as a candidate that failed to start.

    Cloud Run refuses any traffic that names a revision that is not ready, even at 0% for a tag,
    and such a tag's URL serves nothing; keeping it would make every rollback fail. A tag the
    options name is kept, and split_problems() reports it. Returns the dropped ``{tag: revision}``.
    """
    named = set(params.get("tags") or {}) | {t.get("tag") for t in params.get("traffic") or []}
    dropped = {}
    for target in targets:
        revision = revisions.get(target["revision"])
        if target["tag"] and target["tag"] not in named and not target["percent"] and revision \
                and not revision["ready"]:
            dropped[target["tag"]] = target["revision"]
            target["tag"] = None
    return dropped


def _tidy(targets):
    """Drop 0% targets that carry no tag: they route nothing."""
    return order_targets([t for t in targets if t["percent"] or t["tag"]])


# The service's history of revisions a deploy verified and promoted, newest first: Cloud Run records
# which revision was created, not which one served well (a candidate rejected by a health check stays,
# ready, with no traffic). A service annotation: writing it sends the template as read, so it makes no
# revision.
HISTORY = "nadle.cloudrun/good-revisions"
HISTORY_KEEP = 5


def good_revisions(service):
    """The revisions recorded good in ``service``'s history, newest first."""
    return [name for name in ((service.get("annotations") or {}).get(HISTORY) or "").split(",") if name]


def recorded(history, revision):
    """The history with ``revision`` as the newest good one (the oldest beyond HISTORY_KEEP are dropped)."""
    return ([revision] + [name for name in history if name != revision])[:HISTORY_KEEP]


def rollback_target(service, revisions):
    """(revision, how it was chosen) for ``rollback``.

    With a history: the newest ready revision recorded good before the newest recorded one, so a
    candidate that was rejected (or that broke later without a record) is never picked. Without:
    the newest ready revision created before the service's latest revision. Either way the target
    does not depend on what serves now, so a second rollback finds the same one and changes nothing.
    """
    history = good_revisions(service)
    for name in history[1:]:
        if revisions.get(name, {}).get("ready"):
            return name, f"the revision recorded good before {history[0]}"
    if history and revisions.get(history[0], {}).get("ready"):
        # Nothing verified before it: the one verified revision, never one no deploy verified ("failed, fixed,
        # redeployed" would otherwise go back to the failed first revision).
        return history[0], "the only revision recorded good"
    latest = revisions.get(short(service.get("latestCreatedRevision")))
    older = [r for r in revisions.values() if latest is None or r["create_time"] < latest["create_time"]]
    ready = sorted((r for r in older if r["ready"]), key=lambda r: r["create_time"])
    if not ready:
        raise CloudRunError(f"Service '{short(service['name'])}' has no ready revision older than "
                            f"{short(service.get('latestCreatedRevision'))} to roll back to.")
    return ready[-1]["name"], None


def shares(total, weights):
    """Split ``total`` in proportion to ``weights``, in whole points that add up to ``total``.

    Largest remainder; ties go to the earlier weight, so the same input always gives the same split.
    """
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    result = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (result[i] - exact[i], i))
    for i in by_remainder[:total - sum(result)]:
        result[i] += 1
    return result


def promoted(current, revision, tag, percent):
    """``percent`` to the tagged revision; the rest stays with what serves now, in its proportions.

    When nothing else serves, the tagged revision keeps 100%: a step of a gradual rollout that has
    already gone further is no change.
    """
    others = [t for t in current if t["percent"] and t["revision"] != revision]
    if not others:
        percent = 100
    targets = [{"revision": revision, "percent": percent, "tag": tag}]
    return targets + [dict(target, percent=share)  # plan() tidies away 0% targets without a tag
                      for target, share in zip(others, shares(100 - percent, [t["percent"] for t in others]))]


def _check_option_use(params):
    """Options that only mean something beside another."""
    if params.get("revision") and not params.get("promote"):
        raise CloudRunError("revision is used with promote only: the revision the promoted tag must name.")
    if params.get("percent") is not None and not params.get("promote"):
        raise CloudRunError("percent is used with promote only: the share of the promoted revision.")
    if params.get("percent") is not None and not 1 <= params["percent"] <= 100:
        raise CloudRunError(f"percent must be 1 to 100, got {params['percent']}.")
    if params.get("expect_percent") is not None and not params.get("promote"):
        raise CloudRunError("expect_percent is used with promote only: the share the promoted revision has now.")
    if params.get("expect_percent") is not None and not 0 <= params["expect_percent"] <= 100:
        raise CloudRunError(f"expect_percent must be 0 to 100, got {params['expect_percent']}.")
    if params.get("keep_tags") and params.get("traffic") is None:
        raise CloudRunError("keep_tags is used with traffic only: the percentages set while the tags stay.")


def _given_targets(items, current_tags, problems):
    """The ``traffic`` option as targets; a tag stands for the revision it names now."""
    targets = []
    for index, item in enumerate(items):
        revision = item.get("revision")
        if revision is None and item.get("tag"):
            revision = current_tags.get(item["tag"])
            if revision is None:
                problems.append(f"traffic[{index}]: no revision has the tag '{item['tag']}' "
                                f"(tags now: {', '.join(sorted(current_tags)) or 'none'}).")
                continue
        if revision is None:
            problems.append(f"traffic[{index}]: give revision (a name, or LATEST) or the tag of a revision.")
            continue
        if not 0 <= (item.get("percent") or 0) <= 100:
            problems.append(f"traffic[{index}]: percent {item['percent']} must be 0 to 100.")
        targets.append({"revision": LATEST if revision.upper() == LATEST else revision,
                        "percent": item.get("percent") or 0, "tag": item.get("tag")})
    return targets


def _moved_since(expected, named, service, current):
    """Why the traffic is not as the last step left it (``expected``% on revision ``named``), or None."""
    if expected is None:
        return None
    latest = short(service.get("latestReadyRevision"))
    now = sum(t["percent"] for t in current if t["revision"] == named or (t["revision"] == LATEST and latest == named))
    if now == expected:
        return None
    serving = ", ".join(f"{t['revision']} {t['percent']}%" for t in current if t["percent"])
    by = f" ({service['lastModifier']} wrote the service last)" if service.get("lastModifier") else ""
    return (f"Traffic for service '{short(service['name'])}' was not changed: revision {named} serves {now}% now, "
            f"not the {expected}% this rollout left. Someone else moved the traffic since{by}, a rollback or another "
            f"deploy; it serves {serving or 'nothing'} and is left as it is.")


def _promote_targets(params, service, revisions, current):
    """``promote``: the tagged revision gets ``percent``; refused when the tag moved to another deploy's revision."""
    current_tags = tags_of(current)
    revision = current_tags.get(params["promote"])
    if revision is None:
        raise CloudRunError(f"promote: no revision has the tag '{params['promote']}' "
                            f"(tags now: {', '.join(sorted(current_tags)) or 'none'}).")
    # A tag on LATEST (a new service's first revision) names the latest ready revision.
    named = short(service.get("latestReadyRevision")) if revision == LATEST else revision
    if params.get("revision") and named != params["revision"]:
        made = revisions.get(named, {}).get("create_time") or "an unknown time"
        raise CloudRunError(
            f"Traffic for service '{short(service['name'])}' was not changed: tag '{params['promote']}' now names "
            f"revision {named} (created {made}), not {params['revision']}. Another deploy of this service "
            "moved it; promoting it would send traffic to that deploy's code.")
    moved_by_others = _moved_since(params.get("expect_percent"), named, service, current)
    if moved_by_others:
        raise CloudRunError(moved_by_others)
    targets = promoted(current, revision, params["promote"], params.get("percent") or 100)
    placed = {t["tag"] for t in targets}
    return targets, {t: r for t, r in current_tags.items() if t not in placed}


def _asked_targets(params, service, revisions, current, problems):
    """(targets, tags kept from before) for the one option that sets the split, or the split as it is."""
    if params.get("traffic") is not None:
        targets = _given_targets(params["traffic"], tags_of(current), problems)
        if params.get("keep_tags"):  # the percentages only; every tag stays where it is now
            return [dict(t, tag=None) for t in targets], tags_of(current)
        return targets, {}
    if params.get("promote"):
        return _promote_targets(params, service, revisions, current)
    if params.get("rollback"):
        return [{"revision": rollback_target(service, revisions)[0], "percent": 100, "tag": None}], tags_of(current)
    if params.get("to_latest"):
        return [{"revision": LATEST, "percent": 100, "tag": None}], tags_of(current)
    return current, {}


def plan(params, service, revisions):
    """(current targets, targets the options ask for, {tag: revision} dropped from failed revisions).

    Every problem is raised before any write.
    """
    current = traffic_from_api(service.get("traffic"))
    if not any(params.get(k) is not None and params.get(k) is not False
               for k in ("traffic", "promote", "rollback", "to_latest", "tags", "remove_tags", "percent", "revision",
                         "expect_percent")):
        return current, current, {}  # nothing asked: a read, whatever state the service is in
    _check_option_use(params)
    problems = []
    targets, keep_tags = _asked_targets(params, service, revisions, current, problems)
    targets = _with_tags(targets, dict(keep_tags, **(params.get("tags") or {})))
    for tag in params.get("remove_tags") or []:
        for target in targets:
            if target["tag"] == tag:
                target["tag"] = None
    dropped = _drop_failed_tags(targets, revisions, params)
    targets = _tidy(targets)
    problems += split_problems(targets, short(service["name"]), revisions)
    if problems:
        raise CloudRunError(f"Traffic for service '{short(service['name'])}' was not changed:\n- "
                            + "\n- ".join(problems))
    return current, targets, dropped


def split_problems(targets, service_id, revisions):
    """Percentages sum to 100; every revision exists and is ready; tags are valid and unique."""
    problems = []
    total = sum(t["percent"] for t in targets)
    if total != 100:
        shares = ", ".join(f"{t['revision']}={t['percent']}" for t in targets if t["percent"])
        problems.append(f"traffic percentages sum to {total} ({shares or 'nothing'}), not 100.")
    for target in targets:
        name = target["revision"]
        if name == LATEST:
            continue
        revision = revisions.get(name)
        if revision is None:
            problems.append(f"revision '{name}' does not exist in service '{service_id}' "
                            f"(revisions: {', '.join(sorted(revisions)) or 'none'}).")
        elif not revision["ready"]:
            reason = next((c.get("message") for c in revision["conditions"] if c.get("type") == "Ready"), "")
            problems.append(f"revision '{name}' is not ready, so it cannot serve traffic"
                            + (f": {reason.splitlines()[0]}" if reason else "."))
    tags = [t["tag"] for t in targets if t["tag"]]
    for tag in sorted(set(tags)):
        if tags.count(tag) > 1:
            problems.append(f"tag '{tag}' is on more than one target.")
        if not TAG_RE.match(tag) or len(tag) + len(service_id) > TAG_AND_NAME_MAX:
            problems.append(f"tag '{tag}': use lowercase letters, digits and '-', starting with a letter; tag and "
                            f"service name together at most {TAG_AND_NAME_MAX} characters.")
    return problems


def ensure_traffic(module):
    params = module.params
    service_id = params["name"]
    services, full_name, first_read = require_service(module)
    revisions_client = module.client("revisions")

    def plan_for(service):
        if service is None:
            raise CloudRunError(f"Service '{service_id}' does not exist ({full_name}); it was deleted while this "
                                "task ran.")
        revisions = {r["name"]: r for r in (revision_result(to_dict(m))
                                            for m in api.list_revisions(revisions_client, parent=full_name))}
        current, desired, dropped = plan(params, service, revisions)
        history = good_revisions(service)
        wanted = record_problem_or_history(params.get("record_good"), service_id, revisions, history)
        body = None
        if desired != current or wanted != history:
            body = writable(service)  # the template and its revision name as read: no new revision
            body["traffic"] = traffic_to_api(desired)
            if wanted != history:
                body["annotations"] = dict(body.get("annotations") or {}, **{HISTORY: ",".join(wanted)})
        return {"current": current, "desired": desired, "dropped": dropped, "spec": body,
                "history": history, "wanted": wanted, "revisions": revisions}

    def write(service, planned):
        if module.check_mode:
            api.update_service(services, name=full_name, service=planned["spec"], validate_only=True)
            return dict(service, traffic=planned["spec"]["traffic"], annotations=planned["spec"].get("annotations"))
        operation = api.update_service(services, name=full_name, service=planned["spec"])
        note(f"moving the traffic of service {service_id}")
        return to_dict(api.wait(operation, params["wait_timeout"], f"move the traffic of service {service_id}",
                                client=services, result_type=api.service_type()))

    service, planned, written = read_plan_write(module, full_name, plan_for, write, first_read)
    for tag, revision in sorted(planned["dropped"].items()):
        module.warn(f"Tag '{tag}' was removed from revision {revision}, which is not ready: its URL served "
                    f"nothing, and Cloud Run refuses any traffic that names a revision that is not ready.")
    changed = written is not None
    final = written if changed else service
    result = {"changed": changed, "traffic": planned["desired"], "service": service_result(final),
              "tag_urls": {s["tag"]: s.get("uri") for s in final.get("trafficStatuses", []) if s.get("tag")},
              "good_revisions": planned["wanted"]}
    if params.get("rollback"):
        target, how = rollback_target(service, planned["revisions"])
        result["rollback_from_history"] = how is not None
        if how == "the only revision recorded good":
            module.warn(f"Service '{service_id}': no revision was verified good before {target}, so the rollback "
                        f"went to {target} itself, the only one a deploy verified.")
        if how is None:
            module.warn(f"Service '{service_id}' has no history of revisions verified good (the cloudrun_deploy role "
                        f"records it, in the {HISTORY} annotation), so the rollback went to {target}, the newest ready "
                        "revision created before the latest one; it may be a candidate a deploy rejected.")
    if module.diff_mode and changed:
        result["diff"] = {"before": {"traffic": planned["current"], "good_revisions": planned["history"]},
                          "after": {"traffic": planned["desired"], "good_revisions": planned["wanted"]}}
    return result


def record_problem_or_history(revision, service_id, revisions, history):
    """The history once ``revision`` (record_good) is recorded as the newest good one; refused unless it is a
    ready revision of the service."""
    if not revision:
        return history
    name = short(revision)
    if not revisions.get(name, {}).get("ready"):
        raise CloudRunError(f"record_good: {name} is not a ready revision of service '{service_id}'; only a revision "
                            "that serves can be recorded good. Nothing was changed.")
    return history if history[:1] == [name] else recorded(history, name)
