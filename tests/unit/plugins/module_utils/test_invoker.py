"""IAM bindings the collection keeps (module_utils/_invoker.py), with the real IAM types."""

from __future__ import annotations

from google.iam.v1 import policy_pb2

from ansible_collections.nadle.cloudrun.plugins.module_utils import _invoker

INVOKER = "roles/run.invoker"


def _policy(*bindings):
    return policy_pb2.Policy(etag=b"abc", bindings=[policy_pb2.Binding(role=r, members=m) for r, m in bindings])


def test_public_invoker_edit_keeps_every_other_binding():
    policy = _policy(("roles/run.invoker", ["user:a@example.com"]), ("roles/run.admin", ["group:ops@example.com"]))
    assert not _invoker._has_member(policy, INVOKER, "allUsers")  # pylint: disable=protected-access
    _invoker._set_member(policy, INVOKER, "allUsers", True)  # pylint: disable=protected-access
    assert _invoker._has_member(policy, INVOKER, "allUsers")  # pylint: disable=protected-access
    assert [list(b.members) for b in policy.bindings] == [["user:a@example.com", "allUsers"], ["group:ops@example.com"]]
    _invoker._set_member(policy, INVOKER, "allUsers", False)  # pylint: disable=protected-access
    assert [list(b.members) for b in policy.bindings] == [["user:a@example.com"], ["group:ops@example.com"]]
    assert policy.etag == b"abc"  # written back with the etag it was read with


def test_removing_the_last_member_drops_the_binding():
    policy = _policy(("roles/run.invoker", ["allUsers"]))
    _invoker._set_member(policy, INVOKER, "allUsers", False)  # pylint: disable=protected-access
    assert len(policy.bindings) == 0
    _invoker._set_member(policy, INVOKER, "allUsers", True)  # pylint: disable=protected-access
    assert [(b.role, list(b.members)) for b in policy.bindings] == [("roles/run.invoker", ["allUsers"])]


def test_a_secret_accessor_is_added_beside_other_members_and_only_once():
    policy = _policy(("roles/secretmanager.secretAccessor", ["user:a@example.com"]))
    member = "serviceAccount:123-compute@developer.gserviceaccount.com"
    _invoker._set_member(policy, "roles/secretmanager.secretAccessor", member, True)  # pylint: disable=protected-access
    assert [list(b.members) for b in policy.bindings] == [["user:a@example.com", member]]
    assert _invoker._has_member(policy, "roles/secretmanager.secretAccessor", member)  # pylint: disable=protected-access


def test_invokers_are_added_or_made_exact_and_allusers_follows_allow_unauthenticated():
    from ansible_collections.nadle.cloudrun.plugins.module_utils._invoker import wanted_invokers
    now = {"allUsers", "group:ops@example.com"}
    assert wanted_invokers(now, None, ["serviceAccount:a@p.iam.gserviceaccount.com"], "add") == \
        {"allUsers", "group:ops@example.com", "serviceAccount:a@p.iam.gserviceaccount.com"}
    assert wanted_invokers(now, False, ["serviceAccount:a@p.iam.gserviceaccount.com"], "authoritative") == \
        {"serviceAccount:a@p.iam.gserviceaccount.com"}
    assert wanted_invokers(now, None, [], "authoritative") == {"allUsers"}  # allUsers is allow_unauthenticated's
    assert wanted_invokers(now, True, None, "add") == now


def test_invoker_members_are_checked_before_any_request():
    from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import invoker_problems
    members = ["allUsers", "frontend@p.iam.gserviceaccount.com", "group:ops@example.com", "allAuthenticatedUsers"]
    problems = invoker_problems({"invokers": members})
    assert problems == [
        "invokers: allUsers makes the service public; use allow_unauthenticated: true instead.",
        "invokers: 'frontend@p.iam.gserviceaccount.com' is not an IAM principal; write serviceAccount:EMAIL, "
        "user:EMAIL, group:EMAIL, domain:DOMAIN or allAuthenticatedUsers."]
    assert invoker_problems({"invokers_mode": "authoritative"}) == [
        "invokers_mode: authoritative needs invokers (an empty list removes every invoker)."]
