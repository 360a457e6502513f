# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the report of a failed cloudrun_deploy run, from the results its tasks registered.

Each thing once, as a list of lines the role shows with a debug task: the error of the failed step
(unless that task printed its own), the log lines of the newest revision not printed yet, what the
run changed (a build, a revision, traffic) and what serves now. Not one failing message: ansible-core
2.19 prints a failed task's message twice. The texts come masked from the modules that made them
(their secret values never reach these functions whole).
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


def _serving_lines(after):
    services = (after or {}).get("services") or []
    if not services:
        return []
    revisions = services[0].get("revisions") or []
    return [f"Serving now: {_targets([r for r in revisions if r.get('percent')], 'name')}."]


def unprinted_log_lines(run, reason=""):
    """["Last log lines of REVISION:", line, ...] for the log lines read after the failure (``after``) that are
    not in ``reason`` nor were printed with the failed task (its message, ``log_lines`` or ``log_tail``)."""
    failed = run.get("failed") or {}
    printed = str(failed.get("msg") or "") if run.get("printed", True) else ""
    shown = set(failed.get("log_lines") or []) | set(failed.get("log_tail") or [])
    lines = []
    for revision in ((run.get("after") or {}).get("services") or [{}])[0].get("revisions") or []:
        unseen = [line for line in revision.get("log") or []
                  if line not in shown and line not in printed and line not in reason]
        if unseen:
            lines += [f"Last log lines of {revision['name']}:"] + unseen
    return lines


def failure_report(run):
    """The report of ``run``, a list of lines: {service, task, failed, printed, built, deployed, candidate_tag,
    traffic_moved, rollback_on_failure, rolled_back, after, api_gave_up}, each a registered result or a role
    variable. ``failed`` is the failed step's result; ``printed``, whether its task printed its error already."""
    failed = run.get("failed") or {}
    reason = "" if run.get("printed", True) else str(failed.get("msg") or "(no message)")
    head = f"Deploy of service '{run.get('service')}' failed at \"{run.get('task')}\""
    lines = [head + ":"] + reason.splitlines() if reason else [head + " (its error is above)."]
    lines += unprinted_log_lines(run, reason)
    built, deployed = run.get("built") or {}, run.get("deployed") or {}
    if built.get("changed") and built.get("image"):
        lines.append(f"Built {built['image'].rsplit('/', 1)[-1]}.")
    created = deployed.get("failed_revision") or (deployed.get("revision") or {}).get("name")
    if deployed.get("changed") and created:
        lines.append(f"Created revision {created} (tag {run.get('candidate_tag')}).")
    run = dict(run, revision=(deployed.get("revision") or {}).get("name"))
    lines.append(_traffic_line(run))
    if run.get("api_gave_up"):
        lines.append("What serves now was not read: the API did not answer until the retry deadline.")
    lines += _serving_lines(run.get("after"))
    return lines
