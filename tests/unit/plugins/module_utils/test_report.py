"""The message of a failed cloudrun_deploy run (module_utils/_report.py, the failure_report filter)."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils._report import failure_report, unprinted_log_lines

AFTER = {"services": [{"revisions": [
    {"name": "svc-00002-new", "percent": 0, "log": ["Traceback (most recent call last):", "KeyError: 'MONGODB_URL'"]},
    {"name": "svc-00001-old", "percent": 100},
]}]}


def run(**facts):
    base = {"service": "svc", "task": "One new revision",
            "failed": {"msg": "Revision svc-00002-new is not ready.\nKeyError: 'MONGODB_URL'"},
            "built": {"changed": True, "image": "repo/svc:src-abc"},
            "deployed": {"changed": True, "failed_revision": "svc-00002-new"}, "candidate_tag": "candidate",
            "traffic_moved": False, "rollback_on_failure": True, "rolled_back": {"skipped": True}, "after": AFTER}
    base.update(facts)
    return "\n".join(failure_report(base))


def test_changes_and_serving_without_the_failed_tasks_error_again():
    """Issue 18: one copy of each thing; the failed task printed its own error already."""
    assert run().splitlines() == [
        "Deploy of service 'svc' failed at \"One new revision\" (its error is above).",
        "Last log lines of svc-00002-new:",
        "Traceback (most recent call last):",
        "Built svc:src-abc.",
        "Created revision svc-00002-new (tag candidate).",
        "No traffic was moved.",
        "Serving now: svc-00001-old (100%).",
    ]


def test_an_error_caught_by_the_role_is_said_once_in_the_report_with_its_log_lines():
    lines = failure_report({"service": "svc", "task": "Stop: the new revision did not start", "printed": False,
                            "failed": {"msg": "Revision svc-00002-new is not ready.\nKeyError: 'MONGODB_URL'"},
                            "after": AFTER})
    assert lines[:4] == ["Deploy of service 'svc' failed at \"Stop: the new revision did not start\":",
                         "Revision svc-00002-new is not ready.", "KeyError: 'MONGODB_URL'",
                         "Last log lines of svc-00002-new:"]
    assert lines.count("KeyError: 'MONGODB_URL'") == 1


def test_only_log_lines_the_failed_task_did_not_print():
    base = {"failed": {"msg": "Revision svc-00002-new is not ready.\nKeyError: 'MONGODB_URL'"}, "after": AFTER}
    assert unprinted_log_lines(base) == ["Last log lines of svc-00002-new:", "Traceback (most recent call last):"]
    as_data = dict(base, failed={"msg": "not ready", "log_lines": ["Traceback (most recent call last):",
                                                                   "KeyError: 'MONGODB_URL'"]})
    assert unprinted_log_lines(as_data) == []
    assert unprinted_log_lines({"failed": {}, "after": {"skipped": True}}) == []


def test_a_revision_without_a_name_is_not_written_as_an_empty_one():
    """Issue 13 saw 'Created revision  (tag candidate).'"""
    assert "Created revision" not in run(deployed={"changed": True, "revision": None})


def test_what_happened_to_the_traffic():
    back = run(traffic_moved=True, rolled_back={"changed": True, "traffic": [
        {"revision": "svc-00001-old", "percent": 100}, {"revision": "svc-00002-new", "percent": 0}]})
    assert "Traffic was sent back to what served before: svc-00001-old (100%)." in back
    failed = run(traffic_moved=True, rolled_back={"failed": True, "msg": "503"})
    assert "Rolling the traffic back failed too: 503" in failed
    theirs = run(traffic_moved=True, deployed={"changed": True, "revision": {"name": "svc-00002-new"}})
    assert "revision svc-00002-new of this run serves nothing, so the split is another deploy's" in theirs
    kept = run(traffic_moved=True, rollback_on_failure=False)
    assert "cloudrun_deploy_rollback_on_failure is false" in kept


def test_an_api_that_never_answered_is_said_and_not_read_again():
    text = run(api_gave_up=True, after={"skipped": True})
    assert "What serves now was not read: the API did not answer until the retry deadline." in text
    assert "Serving now" not in text


def test_nothing_known_yet():
    text = "\n".join(failure_report({"service": "svc", "task": "Check the options", "failed": None}))
    assert text.splitlines() == ["Deploy of service 'svc' failed at \"Check the options\" (its error is above).",
                                 "No traffic was moved."]
