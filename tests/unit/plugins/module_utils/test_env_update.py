"""cloudrun_env's merge of the env entry into the service's env (module_utils/_env_update.py)."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _env_update as _env
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError

CURRENT = {"KEEP": "1", "OLD": "x", "TOKEN": {"secret": "svc-token", "version": "2"}}


def params(**options):
    base = {"name": "svc", "env": None, "env_files": None, "secrets": None, "secret_keys": None, "remove": None,
            "mode": "merge", "required": None}
    base.update(options)
    return base


def test_merge_replace_remove(tmp_path):
    env_file = tmp_path / "app.env"
    env_file.write_text("FROM_FILE=f\r\nOLD=from-file\r\n")
    desired, secrets = _env.desired_env(params(env_files=[str(env_file)], env={"OLD": 2, "FLAG": True},
                                               remove=["KEEP"]), CURRENT)
    assert desired == {"OLD": "2", "TOKEN": CURRENT["TOKEN"], "FROM_FILE": "f", "FLAG": "true"}
    assert secrets == {}
    desired, _secrets = _env.desired_env(params(mode="replace", env={"ONLY": "this"}), CURRENT)
    assert desired == {"ONLY": "this"}


def test_secret_keys_move_values_out_of_the_plain_env():
    desired, secrets = _env.desired_env(params(env={"DB_URL": "mongodb://x", "PLAIN": "p"}, secret_keys=["DB_URL"],
                                               secrets={"API_KEY": "k"}), {})
    assert secrets == {"DB_URL": "mongodb://x", "API_KEY": "k"}
    assert desired == {"PLAIN": "p", "DB_URL": "mongodb://x", "API_KEY": "k"}  # replaced by references later


def test_every_problem_is_listed_before_anything_is_written(tmp_path):
    env_file = tmp_path / ".env.prod"
    env_file.write_text("ENVIRONMENT=production\nPORT=8000\n")
    with pytest.raises(CloudRunError) as err:
        _env.desired_env(params(env_files=[str(env_file)], secret_keys=["NOT_THERE"], remove=["ENVIRONMENT"],
                                required=["MONGODB_URL", "SECRET_KEY"], mode="replace"), {})
    message = err.value.msg
    assert message.startswith("Nothing was written.")
    assert f"env (PORT from {env_file}:2): PORT is reserved" in message and "use the port option" in message
    assert "remove: ENVIRONMENT is also set" in message
    assert "required: MONGODB_URL, SECRET_KEY are in required but in none of env, env_files or secrets" in message
