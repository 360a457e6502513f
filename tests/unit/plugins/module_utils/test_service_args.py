"""cloudrun_service's arguments and the rules known before any request (module_utils/_service_args.py)."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.nadle.cloudrun.plugins.module_utils._service_args import argument_spec, check_options
from ansible_collections.nadle.cloudrun.tests.unit.plugins.module_utils.test_options import params


@pytest.mark.parametrize("options, message", [
    ({"memory": "512MB"}, "memory: '512MB' is not a memory quantity. Use a number with Mi or Gi"),
    ({"cpu": "1.5"}, "cpu: '1.5' is not a CPU value Cloud Run accepts"),
    ({"env": {"PORT": "8000"}}, "env: PORT is reserved. Cloud Run sets PORT from the container port: use the port"),
    ({"env": {"K_REVISION": "x"}}, "env: K_REVISION is reserved."),
    ({"name": "my_service"}, "name: 'my_service' is not a valid service name"),
    ({"concurrency": 0}, "concurrency: 0 is out of range; use 1 to 1000"),
    ({"timeout": "4000s"}, "timeout: '4000s' is not allowed; use 1 to 3600 seconds"),
    ({"cpu": "0.5", "concurrency": 10}, "less than 1 vCPU (cpu 0.5) needs concurrency 1, and concurrency 10"),
    ({"cpu": "1", "memory": "8Gi"}, "cpu 1 with memory 8Gi: with 1 vCPU Cloud Run allows 128Mi to 4Gi"),
    ({"min_instances": 5, "max_instances": 2}, "min_instances (5) is greater than max_instances (2)"),
    ({"labels": {"Team": "x"}}, "labels: 'Team: x' is not a valid label"),
    ({"image": "Not/Valid Image"}, "image: 'Not/Valid Image' is not an image reference"),
    ({"revision_suffix": "V_1"}, "revision_suffix: 'V_1' must use lowercase letters"),
    ({"vpc_access": {"connector": "c", "network": "n"}}, "set connector or network"),
])
def test_validation_names_the_option_and_what_is_allowed(options, message):
    _params, _secrets, problems = check_options(params(**options))  # validate() and the env entry
    assert any(message in p for p in problems), problems


def test_the_spec_holds_the_option_table_and_the_env_entry():
    spec = argument_spec()
    assert {"memory", "service_min_instances", "env", "env_files", "secret_keys", "required", "tag"} <= set(spec)
    assert spec["secrets"]["no_log"] is True and spec is not argument_spec()  # a copy each time
    checked = ArgumentSpecValidator(spec).validate({"name": "svc", "concurrency": "80"})
    assert not checked.error_messages and checked.validated_parameters["concurrency"] == 80


def test_env_files_and_env_make_the_env_and_secret_keys_leave_it(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("A=file\nTOKEN=t0ken-value\n")
    checked, secrets, problems = check_options(params(env={"B": "2"}, env_files=[str(env_file)],
                                                      secret_keys=["TOKEN"], required=["A", "TOKEN"]))
    assert problems == [] and checked["env"] == {"A": "file", "B": "2"} and secrets == {"TOKEN": "t0ken-value"}
    _checked, _secrets, problems = check_options(params(env={"B": "2"}, required=["A"]))
    assert problems[0].startswith("required: A is in required but in none of env, env_files or secrets.")
