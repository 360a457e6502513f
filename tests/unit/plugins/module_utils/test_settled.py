"""cloudrun_preflight's compare (module_utils/_settled.py): the health options it takes, and who may call."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _service
from ansible_collections.nadle.cloudrun.plugins.module_utils._settled import health_problems


def test_health_takes_http_healthchecks_options_with_their_defaults_and_a_path():
    params, problems = health_problems({"path": "/health", "json_contains": {"status": "healthy"}, "deadline": 30})
    assert problems == []
    assert params["status_codes"] == [200] and params["id_token"] == "auto" and params["method"] == "GET"
    assert params["deadline"] == 30 and params["json_contains"] == {"status": "healthy"}


@pytest.mark.parametrize("health, message", [
    ({"path": "health"}, "health: path 'health' must start with /"),
    # ansible-core's own words: "is of type str" since 2.19, "is of type <class 'str'>" before.
    ({"deadline": "soon"}, "health: argument 'deadline' is of type "),
    ({"id_token": "maybe"}, "health: value of id_token must be one of: auto, always, never"),
    ({"url": "http://x"}, "health: unsupported option url. Supported parameters include: audience"),
])
def test_health_problems_name_the_option(health, message):
    assert message in health_problems(health)[1][0]


class NoPolicy:
    """A module whose invoker policy must not be read."""

    def client(self, kind):
        raise AssertionError(f"the {kind} client was asked for")


@pytest.mark.parametrize("public, seen, matches", [
    (True, True, True), (True, False, False), (False, False, True), (False, True, False),
])
def test_what_a_request_without_a_token_saw_decides_the_invoker_without_a_policy_read(public, seen, matches):
    params = {"name": "svc", "allow_unauthenticated": public, "invoker_iam_disabled": None}
    assert _service.invoker_matches(NoPolicy(), params, seen) is matches


def test_an_invoker_not_managed_always_matches():
    assert _service.invoker_matches(NoPolicy(), {"name": "svc", "allow_unauthenticated": None}, False)
    assert _service.invoker_matches(NoPolicy(), {"name": "svc", "allow_unauthenticated": True,
                                                 "invoker_iam_disabled": True}, False)
