"""Traffic planning (_traffic.py): pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _traffic
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError

PREFIX = "projects/p/locations/r/services/svc"


def _revision(name, created, ready=True):
    return {"name": name, "create_time": created, "ready": ready,
            "conditions": [{"type": "Ready", "message": "" if ready else "container failed to start\nlogs..."}]}


REVISIONS = {r["name"]: r for r in (
    _revision("svc-1", "2026-01-01"), _revision("svc-2", "2026-01-02"),
    _revision("svc-3", "2026-01-03"), _revision("svc-4", "2026-01-04", ready=False))}
SERVICE = {"name": PREFIX, "latestCreatedRevision": f"{PREFIX}/revisions/svc-3",
           "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "svc-2", "percent": 100},
                       {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "svc-3", "tag": "candidate"}]}


def params(**options):
    base = {"traffic": None, "promote": None, "rollback": False, "to_latest": False, "tags": None, "remove_tags": None}
    base.update(options)
    return base


def target(revision, percent=0, tag=None):
    return {"revision": revision, "percent": percent, "tag": tag}


def test_split_by_name_and_by_tag():
    split = [{"revision": "svc-2", "percent": 90}, {"tag": "candidate", "percent": 10}]
    _current, desired, _dropped = _traffic.plan(params(traffic=split), SERVICE, REVISIONS)
    assert desired == [target("svc-2", 90), target("svc-3", 10, "candidate")]


def test_same_split_in_another_order_is_no_change():
    split = [{"revision": "svc-3", "tag": "candidate", "percent": 0}, {"revision": "svc-2", "percent": 100}]
    current, desired, _dropped = _traffic.plan(params(traffic=split), SERVICE, REVISIONS)
    assert current == desired


def test_promote_keeps_the_tag_and_rollback_goes_before_the_latest():
    _current, desired, _dropped = _traffic.plan(params(promote="candidate"), SERVICE, REVISIONS)
    assert desired == [target("svc-3", 100, "candidate")]
    promoted = dict(SERVICE, traffic=_traffic.traffic_to_api(desired))
    _current, desired, _dropped = _traffic.plan(params(rollback=True), promoted, REVISIONS)
    assert desired == [target("svc-2", 100), target("svc-3", 0, "candidate")]
    rolled_back = dict(SERVICE, traffic=_traffic.traffic_to_api(desired))
    current, again, _dropped = _traffic.plan(params(rollback=True), rolled_back, REVISIONS)
    assert current == again  # idempotent: the target depends on the latest revision, not on what serves


def test_rollback_skips_revisions_that_are_not_ready():
    service = dict(SERVICE, latestCreatedRevision=f"{PREFIX}/revisions/svc-4")
    assert _traffic.rollback_target(service, REVISIONS) == ("svc-3", None)
    with pytest.raises(CloudRunError) as err:
        _traffic.rollback_target(dict(SERVICE, latestCreatedRevision=f"{PREFIX}/revisions/svc-1"), REVISIONS)
    assert "no ready revision older than svc-1" in err.value.msg


def test_rollback_follows_the_history_of_revisions_verified_good():
    """Issue 17: A good, B rejected (ready, no traffic), C good: the rollback goes to A, not B."""
    history = {"annotations": {_traffic.HISTORY: "svc-3,svc-1"}}
    assert _traffic.rollback_target(dict(SERVICE, **history), REVISIONS) == (
        "svc-1", "the revision recorded good before svc-3")
    # A recorded revision that is gone or not ready is passed over.
    gone = {"annotations": {_traffic.HISTORY: "svc-3,svc-9,svc-4,svc-1"}}
    assert _traffic.rollback_target(dict(SERVICE, **gone), REVISIONS)[0] == "svc-1"


def test_with_one_revision_recorded_the_rollback_stays_on_it():
    """Issue 26: first deploy failed (svc-2, never verified), fixed (svc-3, recorded): a rollback went to svc-2."""
    alone = {"annotations": {_traffic.HISTORY: "svc-3"}}
    assert _traffic.rollback_target(dict(SERVICE, **alone), REVISIONS) == ("svc-3", "the only revision recorded good")


def test_a_promote_step_that_finds_the_traffic_moved_by_someone_else_moves_nothing():
    """Issue 26: a rollback between two steps of a rollout was undone by the next step."""
    half = dict(SERVICE, lastModifier="ops@example.com",
                traffic=[{"revision": "svc-2", "percent": 50}, {"revision": "svc-3", "percent": 50, "tag": "candidate"}])
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", percent=100, expect_percent=50), half,
                                                REVISIONS)
    assert desired == [target("svc-3", 100, "candidate")]
    rolled_back = dict(half, traffic=[{"revision": "svc-2", "percent": 100}, {"revision": "svc-3", "tag": "candidate"}])
    with pytest.raises(CloudRunError) as err:
        _traffic.plan(params(promote="candidate", percent=100, expect_percent=50), rolled_back, REVISIONS)
    assert "revision svc-3 serves 0% now, not the 50% this rollout left" in err.value.msg
    assert "ops@example.com wrote the service last" in err.value.msg and "it serves svc-2 100%" in err.value.msg


def test_keep_tags_sets_the_percentages_and_leaves_every_tag_where_it_is():
    """Issue 26: a failed deploy's restore took the candidate tag back from the other deploy's revision."""
    theirs = dict(SERVICE, traffic=[{"revision": "svc-2", "percent": 100}, {"revision": "svc-1", "tag": "old"},
                                    {"revision": "svc-3", "tag": "candidate"}])
    split = [{"revision": "svc-2", "percent": 100}, {"revision": "svc-1", "percent": 0, "tag": "candidate"}]
    _current, desired, _dropped = _traffic.plan(params(traffic=split, keep_tags=True), theirs, REVISIONS)
    assert desired == [target("svc-1", 0, "old"), target("svc-2", 100), target("svc-3", 0, "candidate")]
    with pytest.raises(CloudRunError):
        _traffic.plan(params(promote="candidate", keep_tags=True), theirs, REVISIONS)


def test_recording_a_good_revision():
    assert _traffic.recorded(["b", "a"], "c") == ["c", "b", "a"]
    assert _traffic.recorded(["b", "a", "c"], "c") == ["c", "b", "a"]
    assert _traffic.recorded(list("abcde"), "f") == list("fabcd")
    assert _traffic.record_problem_or_history("svc-3", "svc", REVISIONS, ["svc-3"]) == ["svc-3"]
    with pytest.raises(CloudRunError) as err:
        _traffic.record_problem_or_history("svc-4", "svc", REVISIONS, [])
    assert "record_good: svc-4 is not a ready revision of service 'svc'" in err.value.msg


def test_tags_add_move_and_remove():
    tags = {"old": "svc-1", "candidate": "svc-2"}
    _current, desired, _dropped = _traffic.plan(params(tags=tags, remove_tags=[]), SERVICE, REVISIONS)
    assert desired == [target("svc-1", 0, "old"), target("svc-2", 100, "candidate")]
    _current, desired, _dropped = _traffic.plan(params(remove_tags=["candidate"]), SERVICE, REVISIONS)
    assert desired == [target("svc-2", 100)]
    _current, desired, _dropped = _traffic.plan(params(to_latest=True), SERVICE, REVISIONS)
    assert desired == [target("LATEST", 100), target("svc-3", 0, "candidate")]


@pytest.mark.parametrize("options, message", [
    ({"traffic": [{"revision": "svc-2", "percent": 50}]}, "traffic percentages sum to 50 (svc-2=50), not 100"),
    ({"traffic": [{"revision": "svc-9", "percent": 100}]},
     "revision 'svc-9' does not exist in service 'svc' (revisions: svc-1, svc-2, svc-3, svc-4)"),
    ({"traffic": [{"revision": "svc-4", "percent": 100}]},
     "revision 'svc-4' is not ready, so it cannot serve traffic: container failed to start"),
    ({"traffic": [{"tag": "nope", "percent": 100}]}, "no revision has the tag 'nope' (tags now: candidate)"),
    ({"promote": "nope"}, "promote: no revision has the tag 'nope'"),
    ({"tags": {"Bad_Tag": "svc-1"}}, "tag 'Bad_Tag': use lowercase letters"),
])
def test_problems_are_named(options, message):
    with pytest.raises(CloudRunError) as err:
        _traffic.plan(params(**options), SERVICE, REVISIONS)
    assert message in err.value.msg


@pytest.mark.parametrize("total, weights, expected", [
    (90, [100], [90]),
    (50, [60, 30], [33, 17]),
    (10, [1, 1, 1], [4, 3, 3]),
    (0, [70, 30], [0, 0]),
])
def test_shares_add_up_and_keep_proportions(total, weights, expected):
    assert _traffic.shares(total, weights) == expected


def test_promote_in_steps():
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", percent=10), SERVICE, REVISIONS)
    assert desired == [target("svc-2", 90), target("svc-3", 10, "candidate")]
    step = dict(SERVICE, traffic=_traffic.traffic_to_api(desired))
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", percent=50), step, REVISIONS)
    assert desired == [target("svc-2", 50), target("svc-3", 50, "candidate")]
    done = dict(SERVICE, traffic=_traffic.traffic_to_api([target("svc-3", 100, "candidate")]))
    current, again, _dropped = _traffic.plan(params(promote="candidate", percent=10), done, REVISIONS)
    assert current == again  # nothing else serves: an earlier step is no change


def test_promote_step_keeps_other_tags_and_splits_the_rest():
    service = dict(SERVICE, traffic=_traffic.traffic_to_api(
        [target("svc-1", 60, "old"), target("svc-2", 40), target("svc-3", 0, "candidate")]))
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", percent=50), service, REVISIONS)
    assert desired == [target("svc-1", 30, "old"), target("svc-2", 20), target("svc-3", 50, "candidate")]


@pytest.mark.parametrize("options, message", [
    ({"percent": 10}, "percent is used with promote only"),
    ({"promote": "candidate", "percent": 0}, "percent must be 1 to 100, got 0"),
    ({"promote": "candidate", "percent": 101}, "percent must be 1 to 100, got 101"),
])
def test_percent_problems(options, message):
    with pytest.raises(CloudRunError) as err:
        _traffic.plan(params(**options), SERVICE, REVISIONS)
    assert message in err.value.msg


def test_rollback_after_a_failed_candidate_drops_its_tag_and_is_idempotent():
    failed = dict(SERVICE, latestCreatedRevision=f"{PREFIX}/revisions/svc-4", traffic=_traffic.traffic_to_api(
        [target("svc-2", 100), target("svc-4", 0, "candidate")]))
    _current, desired, dropped = _traffic.plan(params(rollback=True), failed, REVISIONS)
    assert desired == [target("svc-3", 100)]
    assert dropped == {"candidate": "svc-4"}
    again = dict(failed, traffic=_traffic.traffic_to_api(desired))
    current, desired, _dropped = _traffic.plan(params(rollback=True), again, REVISIONS)
    assert current == desired


def test_a_tag_named_on_a_failed_revision_is_refused():
    with pytest.raises(CloudRunError) as err:
        _traffic.plan(params(tags={"debug": "svc-4"}), SERVICE, REVISIONS)
    assert "revision 'svc-4' is not ready" in err.value.msg


def test_promote_names_the_revision_another_deploy_moved_the_tag_to():
    with pytest.raises(CloudRunError) as err:
        _traffic.plan(params(promote="candidate", revision="svc-2"), SERVICE, REVISIONS)
    assert "tag 'candidate' now names revision svc-3 (created 2026-01-03), not svc-2" in err.value.msg
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", revision="svc-3"), SERVICE, REVISIONS)
    assert desired == [target("svc-3", 100, "candidate")]


def test_no_option_is_a_read_even_with_a_tag_on_a_failed_revision():
    failed = dict(SERVICE, traffic=SERVICE["traffic"] + [
        {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "svc-4", "tag": "broken"}])
    current, desired, dropped = _traffic.plan(params(), failed, REVISIONS)
    assert desired == current and not dropped


def test_a_tag_on_latest_names_the_latest_ready_revision():
    first = {"name": PREFIX, "latestReadyRevision": f"{PREFIX}/revisions/svc-1",
             "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100, "tag": "candidate"}]}
    _current, desired, _dropped = _traffic.plan(params(promote="candidate", revision="svc-1"), first, REVISIONS)
    assert desired == [target("LATEST", 100, "candidate")]
