"""Health checks (_health.py): judging an answer, and the options checked before any request."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _health


@pytest.mark.parametrize("expected, actual, ok", [
    ({"status": "healthy"}, {"status": "healthy", "service": "x"}, True),
    ({"status": "healthy"}, {"status": "down"}, False),
    ({"db": {"ok": True}}, {"db": {"ok": True, "ms": 3}}, True),
    ([1, {"a": 1}], [1, {"a": 1, "b": 2}], True),
    ([1], [1, 2], False),
    ("x", "x", True),
    ({"a": 1}, ["a"], False),
])
def test_json_contains(expected, actual, ok):
    assert _health.json_contains(expected, actual) is ok


def options(**changed):
    base = {"url": "https://backend-abc-uc.a.run.app/health", "deadline": 120, "request_timeout": 10,
            "initial_delay": 1.0, "max_delay": 10.0, "body_regex": None, "status_codes": [200]}
    base.update(changed)
    return base


@pytest.mark.parametrize("changed, message", [
    ({"body_regex": "(["}, "body_regex: '([' is not a regular expression"),
    ({"deadline": -5}, "deadline: -5 must be more than 0 seconds."),
    ({"request_timeout": 0}, "request_timeout: 0 must be more than 0 seconds."),
    ({"url": "/health"}, "url: '/health' is not an http:// or https:// URL with a host."),
    ({"status_codes": [200, 1000]}, "status_codes: [200, 1000] must be HTTP status codes"),
])
def test_bad_options_are_named_before_any_request(changed, message):
    problems = _health.option_problems(options(**changed))
    assert len(problems) == 1 and message in problems[0], problems


def test_good_options_pass():
    assert _health.option_problems(options(body_regex="healthy|ok")) == []
