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
