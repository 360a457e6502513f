"""The env entry shared by cloudrun_service and cloudrun_env (module_utils/_env.py)."""

from __future__ import annotations

from ansible_collections.nadle.cloudrun.plugins.module_utils import _env


def test_neither_env_nor_env_files_means_no_plain_env():
    plain, secrets, _origins, problems = _env.read_entry({"secrets": {"API_KEY": 12}})
    assert plain is None and secrets == {"API_KEY": "12"} and problems == []


def test_files_then_env_then_secret_keys(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("A=from-file\nDB_URL=mongodb://u:p@h\n")
    plain, secrets, origins, problems = _env.read_entry(
        {"env_files": [str(env_file)], "env": {"A": True}, "secret_keys": ["DB_URL"]})
    assert plain == {"A": "true"} and secrets == {"DB_URL": "mongodb://u:p@h"} and problems == []
    assert origins["DB_URL"] == f"{env_file}:2"


def test_every_problem_of_the_entry_is_listed(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=8000\n")
    _plain, _secrets, _origins, problems = _env.read_entry(
        {"env_files": [str(env_file)], "env": {"TOKEN": "x"}, "secrets": {"TOKEN": "y"}, "secret_keys": ["GONE"]})
    assert any(p.startswith("secrets: TOKEN is also in env or env_files") for p in problems)
    assert any(p.startswith(f"env (PORT from {env_file}:1): PORT is reserved") for p in problems)


def test_an_unreadable_file_is_a_problem_not_an_exception(tmp_path):
    _plain, _secrets, _origins, problems = _env.read_entry({"env_files": [str(tmp_path / "missing.env")]})
    assert problems and "Cannot read .env file" in problems[0]


def test_missing_required():
    assert _env.missing_required(["A"], {"A": "1"}) is None
    assert _env.missing_required(["A", "B", "C"], {"A": "1"}).startswith("required: B, C are in required but in none of env, env_files or secrets.")


def test_a_secret_reference_in_env_stays_a_reference_and_a_null_is_refused():
    """A reference {secret, version} in env is sent as a secretKeyRef, never as its text (a session-4 slip)."""
    plain, _secrets, _origins, problems = _env.read_entry({"env": {
        "TOKEN": {"secret": "shared-token", "version": "3"}, "PORTS": 8080, "EMPTY": None}})
    assert plain["TOKEN"] == {"secret": "shared-token", "version": "3"} and plain["PORTS"] == "8080"
    assert problems == ["env: EMPTY must be a string, or a Secret Manager reference {secret: NAME, version: latest|N}."]
