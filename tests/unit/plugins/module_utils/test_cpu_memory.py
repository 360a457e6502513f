"""Cloud Run's CPU and memory rules (module side), against the docs' cases in tests/cases/cpu_memory.json.

The emulator's own table is tested against the same cases in emulator/tests/test_units.py: two
witnesses written from one documentation page.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _cpu_memory, _spec

CASES_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "cases", "cpu_memory.json")
with open(CASES_FILE, encoding="utf-8") as handle:
    CASES = json.load(handle)["cases"]
OPTIONS = ("cpu", "memory", "concurrency", "cpu_idle", "execution_environment")


def case_id(case):
    return "-".join(f"{k}={v}" for k, v in case.items() if k != "names")


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_docs_cases_before_any_request(case):
    """validate() runs on the options alone, before any client exists."""
    params = {option: None for option in _spec.MANAGED_OPTIONS}
    params.update({"name": "backend"}, **{k: v for k, v in case.items() if k in OPTIONS})
    problems = _spec.service_problems(params)
    assert (problems == []) is case["ok"], problems
    if not case["ok"]:
        assert len(problems) == 1, problems
        for option in case["names"]:
            assert option in problems[0], (option, problems[0])


def test_a_value_from_the_service_is_named_as_such():
    found = _cpu_memory.problems({"cpu": "0.5", "memory": "512Mi", "concurrency": 80, "cpu_idle": True,
                                  "execution_environment": None}, {"concurrency": "the service's value"})
    assert found == ["less than 1 vCPU (cpu 0.5) needs concurrency 1, and concurrency 80 (the service's value) is "
                     "set; Cloud Run allows one request at a time per instance below 1 vCPU."]


@pytest.mark.parametrize("cpu, most", [("0.08", "512Mi"), ("0.499", "512Mi"), ("0.5", "1Gi"), ("1", "4Gi"),
                                       ("2", "8Gi"), ("8", "32Gi")])
def test_memory_range(cpu, most):
    assert _cpu_memory.memory_range(_cpu_memory.parse_cpu(cpu))[1] == _cpu_memory.parse_memory(most)
