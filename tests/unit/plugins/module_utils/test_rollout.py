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


def test_a_secret_the_revision_may_not_read_gets_the_command_that_lets_it():
    """Issue 12: Cloud Run's message, as users report it, gets one line per secret with the grant to make."""
    message = ("Revision 'api-00002-x' is not ready and cannot serve traffic. spec.template.spec.containers[0].env[0]."
               "value_from.secret_key_ref.name: Permission denied on secret: projects/729273278660/secrets/dbpass/"
               "versions/latest for Revision service account 729273278660-compute@developer.gserviceaccount.com. "
               "The service account used must be granted the 'Secret Manager Secret Accessor' role "
               "(roles/secretmanager.secretAccessor) at the secret, project or higher level.")
    assert _rollout.secret_access_hints(message) == [
        "To let it read dbpass: gcloud secrets add-iam-policy-binding dbpass --project 729273278660 --member "
        "serviceAccount:729273278660-compute@developer.gserviceaccount.com --role roles/secretmanager.secretAccessor "
        "(grant_secret_access does this for the secrets this collection writes)."]
    assert _rollout.secret_access_hints("Container failed to start.") == []
