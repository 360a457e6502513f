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


def ensure_member(client, resource, role, member, present, check_mode):
    """Make ``member`` hold ``role`` on ``resource`` (or not): read, modify, write with the policy etag.

    ``client`` is any official client with get_iam_policy and set_iam_policy (Cloud Run, Secret
    Manager). A concurrent change (409 ABORTED) restarts the read-modify-write, at most 3 times.
    Returns (changed, whether it held the role before).
    """
    for attempt in range(IAM_ATTEMPTS):
        policy = api.get_iam_policy(client, resource=resource)
        had = _has_member(policy, role, member)
        if had == present:
            return False, had
        if check_mode:
            return True, had
        _set_member(policy, role, member, present)
        try:
            api.set_iam_policy(client, resource=resource, policy=policy)
            return True, had
        except CloudRunError as exc:
            if exc.details.get("api_status") != 409 or attempt == IAM_ATTEMPTS - 1:
                raise
            api.backoff(attempt)
    raise CloudRunError(f"Could not update the IAM policy of {resource}.")  # not reached


def ensure_invoker(services, name, public, check_mode):
    """Make the allUsers invoker binding of service ``name`` match ``public``; returns (changed, was_public)."""
    return ensure_member(services, name, INVOKER, ALL_USERS, public, check_mode)


def iam_failure(exc, service_id, changes, final):
    """The invoker binding failed after the service write: say what was done and what was not."""
    lines = [exc.msg]
    if "permitted customer" in exc.msg:
        lines.append("Your organisation's Domain Restricted Sharing policy refuses allUsers in IAM policies. "
                     "Set invoker_iam_disabled: true to make the service public without an IAM binding (Cloud "
                     "Run's supported way under that policy), or leave allow_unauthenticated unset.")
    done = [c for c in changes if c != "allow_unauthenticated"]
    lines.append(f"Service '{service_id}' was updated ({', '.join(done)}); allow_unauthenticated was not applied."
                 if done else f"Service '{service_id}' was not changed; allow_unauthenticated was not applied.")
    return CloudRunError("\n".join(lines), changed=bool(done), service=failed_service_result(final), **exc.details)


def ensure_public(module, services, current, plan, final):
    """Apply allow_unauthenticated after the service write; adds it to the plan's changes and diff."""
    public = module.params["allow_unauthenticated"]
    if public is None or (public and module.params.get("invoker_iam_disabled")):
        return
    try:
        if current is None and module.check_mode:
            iam_changed, was_public = public, False  # a new service starts with no invoker binding
        else:
            iam_changed, was_public = ensure_invoker(services, module.service_path(),
                                                     public, module.check_mode)
    except CloudRunError as exc:
        raise iam_failure(exc, module.params["name"], plan["changes"], final) from exc
    if iam_changed:
        plan["changes"].append("allow_unauthenticated")
        plan["diff"]["before"]["allow_unauthenticated"] = was_public
        plan["diff"]["after"]["allow_unauthenticated"] = public
