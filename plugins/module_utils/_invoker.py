# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: IAM bindings the collection keeps, above all who may invoke a service.

The public (allUsers) run.invoker binding of a service, and a runtime account's secretAccessor on
a secret (``_secrets``): the policy is read, changed in that one member and written with its etag;
every other binding stays.
"""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._results import failed_service_result

INVOKER = "roles/run.invoker"
ALL_USERS = "allUsers"
IAM_ATTEMPTS = 3


def _invoker_members(policy):
    return {m for b in policy.bindings if b.role == INVOKER and not b.condition.expression for m in b.members}


def wanted_invokers(members, public, invokers, mode):
    """The members the unconditional run.invoker binding should have, from those it has: ``invokers`` added
    (or, with mode ``authoritative``, instead of the others), allUsers as ``public`` says (None: kept)."""
    want = set(members)
    if invokers is not None:
        want = ({ALL_USERS} & want if mode == "authoritative" else want) | set(invokers)
    if public is not None:
        want = want | {ALL_USERS} if public else want - {ALL_USERS}
    return want


def ensure_invokers(client, resource, public, invokers, mode, check_mode):
    """One read-modify-write of service ``resource``'s run.invoker binding for allow_unauthenticated and
    invokers (``_read_modify_write``); conditional bindings and every other role stay. Returns (changed,
    members before, members after)."""
    def change(policy):
        before = _invoker_members(policy)
        after = wanted_invokers(before, public, invokers, mode)
        if after != before:
            for binding in [b for b in policy.bindings if b.role == INVOKER and not b.condition.expression]:
                policy.bindings.remove(binding)
            if after:
                policy.bindings.append(api.new_binding(INVOKER, sorted(after)))
        return after != before, (before, after)
    changed, (before, after) = _read_modify_write(client, resource, change, check_mode)
    return changed, before, after


def _has_member(policy, role, member):
    return any(b.role == role and member in b.members and not b.condition.expression for b in policy.bindings)


def _set_member(policy, role, member, present):
    """Add or remove only ``member`` in ``role`` (unconditional); every other binding and member stays."""
    if present:
        for binding in policy.bindings:
            if binding.role == role and not binding.condition.expression:
                binding.members.append(member)
                return
        policy.bindings.append(api.new_binding(role, [member]))
        return
    for binding in list(policy.bindings):
        if binding.role == role and member in binding.members:
            binding.members.remove(member)
            if not binding.members:
                policy.bindings.remove(binding)


def _read_modify_write(client, resource, change, check_mode):
    """Read ``resource``'s IAM policy, let ``change(policy)`` -> (changed, what it found) edit it, and write it
    with the policy etag when it changed (never in check mode). ``client`` is any official client with
    get_iam_policy and set_iam_policy (Cloud Run, Secret Manager). A concurrent change (409 ABORTED) restarts
    the whole read-modify-write, at most 3 times. Returns (changed, what ``change`` found)."""
    for attempt in range(IAM_ATTEMPTS):
        policy = api.get_iam_policy(client, resource=resource)
        changed, found = change(policy)
        if not changed or check_mode:
            return changed, found
        try:
            api.set_iam_policy(client, resource=resource, policy=policy)
            return True, found
        except CloudRunError as exc:
            if exc.details.get("api_status") != 409 or attempt == IAM_ATTEMPTS - 1:
                raise
            api.backoff(attempt)
    raise CloudRunError(f"Could not update the IAM policy of {resource}.")  # not reached


def ensure_member(client, resource, role, member, present, check_mode):
    """Make ``member`` hold ``role`` on ``resource`` (or not), every other member and binding kept
    (``_read_modify_write``). Returns (changed, whether it held the role before)."""
    def change(policy):
        had = _has_member(policy, role, member)
        if had != present:
            _set_member(policy, role, member, present)
        return had != present, had
    return _read_modify_write(client, resource, change, check_mode)


def iam_failure(exc, service_id, changes, final, what="allow_unauthenticated was"):
    """The invoker binding failed after the service write: say what was done and what was not."""
    lines = [exc.msg]
    if "permitted customer" in exc.msg:
        lines.append("Your organisation's Domain Restricted Sharing policy refuses allUsers in IAM policies. "
                     "Set invoker_iam_disabled: true to make the service public without an IAM binding (Cloud "
                     "Run's supported way under that policy), or leave allow_unauthenticated unset.")
    done = [c for c in changes if c not in ("allow_unauthenticated", "invokers")]
    lines.append(f"Service '{service_id}' was updated ({', '.join(done)}); {what} not applied."
                 if done else f"Service '{service_id}' was not changed; {what} not applied.")
    return CloudRunError("\n".join(lines), changed=bool(done), service=failed_service_result(final), **exc.details)


def managed_access(params):
    """(public, invokers, mode) as a task manages them; public None when not managed (or public without IAM)."""
    public = params.get("allow_unauthenticated")
    if public and params.get("invoker_iam_disabled"):
        public = None
    return public, params.get("invokers"), params.get("invokers_mode") or "add"


def access_options(params):
    """The options of who may call the service that ``params`` manage: allow_unauthenticated, invokers."""
    public, invokers, _mode = managed_access(params)
    return [name for name, value in (("allow_unauthenticated", public), ("invokers", invokers)) if value is not None]


def ensure_public(module, services, current, plan, final):
    """Apply allow_unauthenticated and invokers after the service write, in one IAM write; adds them to the
    plan's changes and diff."""
    public, invokers, mode = managed_access(module.params)
    if public is None and invokers is None:
        return
    try:
        if current is None and module.check_mode:
            before = set()  # a new service starts with no invoker binding
            after = wanted_invokers(before, public, invokers, mode)
            iam_changed = after != before
        else:
            iam_changed, before, after = ensure_invokers(services, module.service_path(), public, invokers, mode,
                                                         module.check_mode)
    except CloudRunError as exc:
        what = ("allow_unauthenticated and invokers were" if public is not None else "invokers were") \
            if invokers is not None else "allow_unauthenticated was"
        raise iam_failure(exc, module.params["name"], plan["changes"], final, what) from exc
    if (ALL_USERS in before) != (ALL_USERS in after):
        plan["changes"].append("allow_unauthenticated")
        plan["diff"]["before"]["allow_unauthenticated"] = ALL_USERS in before
        plan["diff"]["after"]["allow_unauthenticated"] = ALL_USERS in after
    if iam_changed and before - {ALL_USERS} != after - {ALL_USERS}:
        plan["changes"].append("invokers")
        plan["diff"]["before"]["invokers"] = sorted(before - {ALL_USERS})
        plan["diff"]["after"]["invokers"] = sorted(after - {ALL_USERS})
