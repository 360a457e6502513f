# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: writing a service safely, shared by cloudrun_service, cloudrun_env and cloudrun_traffic.

Every write carries the etag of its read and is planned again when the service changed meanwhile
(``read_plan_write``); a rollout is waited for (``wait_for_rollout``), and one that failed becomes
a message with the failed revision's log lines.
"""

from __future__ import annotations

import re
import time

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._api import to_dict
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._progress import note
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import (
    failed_service_result, revision_logs, revision_result, traffic_by_revision,
)
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import short

WRITE_ATTEMPTS = 3
LOG_WAIT = 10.0  # seconds a failure waits for a failed revision's first log lines


def require_service(module, hint=""):
    """(services client, full name, service dict) of ``name``, which must exist; ``hint`` says what to do if not."""
    services = module.client("services")
    full_name = module.service_path()
    found = api.get_service(services, name=full_name)
    if found is None:
        raise CloudRunError(f"Service '{module.params['name']}' does not exist ({full_name}).{hint}")
    return services, full_name, to_dict(found)


def _superseded(service_id, state, mine, error):
    """The failure of a rollout that another write overtook: name that write, do not blame either revision."""
    theirs = short(state.get("latestCreatedRevision"))
    by = f" by {state['lastModifier']}" if state.get("lastModifier") else ""
    return CloudRunError(
        f"Service '{service_id}': another write changed the service{by} while revision '{mine}' of this task "
        f"rolled out; the newest revision is now '{theirs}', and Cloud Run reported on that rollout: {error.msg}\n"
        f"Nothing of this task was promoted. Run it again once the other deploy is done.",
        changed=True, service=failed_service_result(state), failed_revision=mine, superseded_by=theirs)


# Cloud Run's words when a revision's account may not read a secret it references (as users report
# them: terraform-google-modules/terraform-docs-samples#168).
SECRET_DENIED = re.compile(r"Permission denied on secret: (projects/[^/\s]+/secrets/[^/\s]+)/versions/\S+ "
                           r"for Revision service account (\S+?)\.(?:\s|$)")


GRANT_WAIT = 420.0  # IAM: a grant takes effect "typically 2 minutes, potentially 7 or longer" (Google's IAM docs)


def waiting_out_grants(module, attempt, granted, what):
    """``attempt()``, tried again while it fails only because a secret access this run granted (``granted``) has
    not reached Cloud Run yet ("Permission denied on secret"); pauses of 10 s doubling to 60 s, within
    wait_timeout and GRANT_WAIT. Without a grant of this run, the first failure is the answer: any other denial
    is someone's to fix, not to wait for. Written here: google.api_core's Retry retries a call, and this
    retries a whole write and rollout, judged by the rollout's message."""
    deadline = time.monotonic() + min(module.params["wait_timeout"], GRANT_WAIT)
    pause = 10.0
    while True:
        try:
            return attempt()
        except CloudRunError as exc:
            if not granted or not SECRET_DENIED.search(exc.msg) or time.monotonic() + pause > deadline:
                raise
        note(f"the secret access this run granted has not reached {what} yet (IAM grants take a while); trying "
             f"again in {pause:.0f} s")
        time.sleep(pause)
        pause = min(pause * 2, 60.0)


def secret_access_hints(message):
    """For each secret a revision could not read: the command that lets its account read it."""
    return [f"To let it read {secret.rsplit('/', 1)[-1]}: gcloud secrets add-iam-policy-binding "
            f"{secret.rsplit('/', 1)[-1]} --project {secret.split('/')[1]} --member serviceAccount:{account} "
            "--role roles/secretmanager.secretAccessor (grant_secret_access does this for the secrets this "
            "collection writes)."
            for secret, account in dict.fromkeys(SECRET_DENIED.findall(message or ""))]


def failure(module, services, full_name, error, created, new_revision=None):
    """A rollout that failed: say what was changed, what serves now, and what was not done."""
    service_id = module.params["name"]
    after = api.get_service(services, name=full_name)
    state = to_dict(after) if after else {}
    failed = short(state.get("latestCreatedRevision")) or "the new revision"
    if new_revision and failed not in (new_revision, "the new revision"):
        return _superseded(service_id, state, new_revision, error)
    serving = ", ".join(f"{rev} ({pct}%)" for rev, (pct, _tags) in traffic_by_revision(state).items() if pct)
    log_lines, log_problem = revision_logs(module, service_id, failed, wait=LOG_WAIT)
    # Cloud Run's own message names the revision and says it serves no traffic: not said again here.
    lines = [error.msg] + secret_access_hints(error.msg)
    unseen = [line for line in log_lines if line not in error.msg]
    in_message = module.params.get("log_in_message", True)
    if unseen and in_message:
        lines.append(f"Last log lines of {failed}:\n" + "\n".join(unseen))
    elif unseen:
        lines.append(f"Its last {len(unseen)} log lines are in log_lines.")
    elif log_problem:
        lines.append(log_problem)
    if created:
        lines.append("The service was created but has no ready revision yet, so it serves nothing.")
    else:
        lines.append(f"The service spec was updated (generation {state.get('generation', '?')}); traffic still "
                     f"goes to {serving or 'no revision'}.")
    if module.params.get("allow_unauthenticated") is not None:
        lines.append("allow_unauthenticated was not applied.")
    # The log lines once: in the message, or (log_in_message false) as data in log_lines.
    return CloudRunError("\n".join(lines), changed=True, service=failed_service_result(state),
                         failed_revision=failed, log_lines=[] if in_message else unseen)


def wait_for_rollout(module, services, operation, current, new_revision=None):
    """Wait for a write (when ``wait``); returns (service dict, the new revision's result or None).

    ``new_revision`` is the name the write gave the revision it makes. The module names every
    revision it makes, so it can say which one even with ``wait: false``, when Cloud Run has not
    made it yet (a GET right after a write still shows the previous ``latestCreatedRevision``).
    """
    service_id = module.params["name"]
    full_name = module.service_path()
    if module.params["wait"]:
        note(f"rolling out {'revision ' + new_revision if new_revision else 'the change'} of service {service_id}")
        try:
            final = to_dict(api.wait(operation, module.params["wait_timeout"], f"deploy service {service_id}",
                                     client=services, result_type=api.service_type()))
        except CloudRunError as exc:
            raise failure(module, services, full_name, exc, created=current is None,
                          new_revision=new_revision) from exc
    else:
        final = to_dict(api.get_service(services, name=full_name))
    if not new_revision:
        return final, None
    found = api.get_revision(module.client("revisions"), name=module.revision_path(new_revision))
    # Not made yet when wait is false: what is known is its name.
    return final, revision_result(to_dict(found) if found else {"name": module.revision_path(new_revision)})


def failed_latest(service):
    """(name, Cloud Run's message) of the service's newest revision when it failed to start, else None."""
    created, ready = service.get("latestCreatedRevision"), service.get("latestReadyRevision")
    terminal = service.get("terminalCondition") or {}
    if created and created != ready and terminal.get("state") == "CONDITION_FAILED" and not service.get("reconciling"):
        return short(created), terminal.get("message", "")
    return None


def _landed(current, sent):
    """Whether ``current`` holds the write planned as ``sent``: the revision name that write gave."""
    name = (sent or {}).get("new_revision")
    return bool(name) and (current or {}).get("template", {}).get("revision") == name


def _read(services, full_name):
    found = api.get_service(services, name=full_name)
    return to_dict(found) if found else None


def read_plan_write(module, full_name, plan_for, write, first_read=None, adopt=None, read=None):
    """Read the service, ``plan_for(current)``, ``write(current, plan)``; again if someone changed it meanwhile.

    A plan is a dict whose ``spec`` is the request body, or None when there is nothing to write.

    Every write carries the etag of its read, so a change made between the read and the write is
    refused (409 ABORTED), never overwritten: read again, plan again, at most WRITE_ATTEMPTS times
    with backoff. A create that finds the service made meanwhile (409) is planned again as an update.
    ``first_read`` is a read the caller already made, used for the first attempt. ``read()`` reads another
    resource than a service (a job), None when it does not exist.
    A write is not idempotent: one whose answer was lost (a 503 after the server committed it) and
    that the client retried answers 409. If the read after it shows the revision name that write
    gave, the write landed: ``adopt(current, plan)`` gives what ``write`` would have returned.
    Returns (current as last read, plan, what ``write`` returned, or None when nothing was written).
    """
    is_service = read is None
    read = read or (lambda: _read(module.client("services"), full_name))
    sent = None
    for attempt in range(WRITE_ATTEMPTS):
        current = first_read if attempt == 0 and first_read is not None else read()
        plan = plan_for(current)
        if plan["spec"] is None:
            if adopt is not None and _landed(current, sent):
                return current, sent, adopt(current, sent)
            return current, plan, None
        if current is not None and is_service:
            api.check_client_knows(module.session(), module.run_endpoint, full_name)
        try:
            return current, plan, write(current, plan)
        except CloudRunError as exc:
            raced = api.conflict(exc) or (current is None and exc.details.get("api_status") == 409)
            sent = plan
            if not raced or attempt == WRITE_ATTEMPTS - 1:
                if raced:
                    exc.msg += (f"\nThe {'service' if is_service else 'resource'} kept changing while this task ran "
                                f"({WRITE_ATTEMPTS} attempts, each planned from a fresh read); nothing of this task "
                                "was written.")
                raise
            api.backoff(attempt)
    raise CloudRunError(f"Could not update {full_name}.")  # not reached
