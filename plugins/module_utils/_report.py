# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the message of a failed cloudrun_deploy run, from the results its tasks registered.

The reason first, then what the run changed (a build, a revision, traffic) and what serves now,
with the log lines of the newest revision that the reason does not already hold. The texts come
masked from the modules that made them (their secret values never reach this function whole).
"""

from __future__ import annotations


def _targets(items, key="revision"):
    return ", ".join(f"{item[key]} ({item['percent']}%)" for item in items) or "nothing"


def _traffic_line(run):
    rolled = run.get("rolled_back") or {}
    if rolled.get("failed"):
        return f"Rolling the traffic back failed too: {rolled.get('msg', '(no message)')}"
    if rolled.get("changed"):
        return f"Traffic was sent back to what served before: {_targets([t for t in rolled.get('traffic') or [] if t.get('percent')])}."
    if not run.get("traffic_moved") or (rolled and not rolled.get("skipped")):
        return "No traffic was moved."
    if run.get("rollback_on_failure"):
        return (f"Traffic was left as it is: revision {run.get('revision') or '(unknown)'} of this run serves nothing, "
                "so the split is another deploy's.")
    return "Traffic was left where the failed step put it (cloudrun_deploy_rollback_on_failure is false)."


def _serving_lines(after, reason):
    services = (after or {}).get("services") or []
    if not services:
        return []
    revisions = services[0].get("revisions") or []
    lines = [f"Serving now: {_targets([r for r in revisions if r.get('percent')], 'name')}."]
    for revision in revisions:
        unseen = [line for line in revision.get("log") or [] if line not in reason]
        if unseen:
            lines += [f"Last log lines of {revision['name']}:"] + unseen
    return lines


def failure_report(run):
    """The message for ``run``: {service, task, reason, built, deployed, candidate_tag, traffic_moved,
    rollback_on_failure, rolled_back, after, api_gave_up}, each a registered result or a role variable."""
    reason = run.get("reason") or "(no message)"
    lines = [f"Deploy of service '{run.get('service')}' failed at \"{run.get('task')}\":", reason]
    built, deployed = run.get("built") or {}, run.get("deployed") or {}
    if built.get("changed") and built.get("image_digest"):
        lines.append(f"Built {built['image_digest']}.")
    created = deployed.get("failed_revision") or (deployed.get("revision") or {}).get("name")
    if deployed.get("changed") and created:
        lines.append(f"Created revision {created} (tag {run.get('candidate_tag')}).")
    run = dict(run, revision=(deployed.get("revision") or {}).get("name"))
    lines.append(_traffic_line(run))
    if run.get("api_gave_up"):
        lines.append("What serves now was not read: the API did not answer until the retry deadline.")
    lines += _serving_lines(run.get("after"), reason)
    return "\n".join(lines)
