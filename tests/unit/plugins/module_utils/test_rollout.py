"""Writing a service safely (module_utils/_rollout.py): which revision failed, which write landed."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _rollout

PREFIX = "projects/p/locations/r/services/svc/revisions"


def test_a_failed_newest_revision_is_found_only_once_settled():
    failed = {"latestCreatedRevision": f"{PREFIX}/svc-2", "latestReadyRevision": f"{PREFIX}/svc-1",
              "terminalCondition": {"state": "CONDITION_FAILED", "message": "Revision 'svc-2' is not ready."}}
    assert _rollout.failed_latest(failed) == ("svc-2", "Revision 'svc-2' is not ready.")
    assert _rollout.failed_latest(dict(failed, reconciling=True)) is None  # still rolling out
    assert _rollout.failed_latest(dict(failed, latestReadyRevision=f"{PREFIX}/svc-2")) is None


def test_a_write_landed_when_the_service_holds_the_revision_name_it_gave():
    assert _rollout._landed({"template": {"revision": "svc-00002-abc"}}, {"new_revision": "svc-00002-abc"})  # pylint: disable=protected-access
    assert not _rollout._landed({"template": {"revision": "svc-00001-xyz"}}, {"new_revision": "svc-00002-abc"})  # pylint: disable=protected-access
    assert not _rollout._landed({"template": {}}, None)  # pylint: disable=protected-access
