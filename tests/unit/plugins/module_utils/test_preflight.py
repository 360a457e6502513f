"""The preflight checks (module_utils/_preflight.py), on real folders."""

from __future__ import annotations

import os

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils._preflight import check_service, run_checks

# The deploy record's Dockerfile before the fixes, shortened: a .env.prod COPY, a HEALTHCHECK.
RECORD_DOCKERFILE = """FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY . .
COPY .env.prod .env 2>/dev/null || true
EXPOSE 8080
HEALTHCHECK --interval=30s CMD curl -f http://localhost:${PORT:-8080}/health || exit 1
CMD ["sh", "-c", "uv run uvicorn main:app --host 0.0.0.0 --port ${PORT:-8080}"]
"""


def make(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return str(root)


def rules(findings, severity="error"):
    return sorted((f["rule"], f["file"], f["line"]) for f in findings if f["severity"] == severity)


def test_the_records_dockerfile(tmp_path):
    root = make(tmp_path, {"Dockerfile": RECORD_DOCKERFILE, "pyproject.toml": "", "uv.lock": "", "main.py": ""})
    found = run_checks(root)
    assert rules(found) == [("copy-source", "Dockerfile", 5)]
    copy = [f for f in found if f["rule"] == "copy-source"][0]
    assert copy["message"].startswith("COPY failed: file not found in build context or excluded by .dockerignore: "
                                      "stat .env.prod: file does not exist")
    assert "cloudrun_env" in copy["fix"]
    assert rules(found, "warning") == [("healthcheck", "Dockerfile", 7)]


def test_a_source_excluded_by_dockerignore_is_missing_too(tmp_path):
    root = make(tmp_path, {"Dockerfile": "FROM x\nCOPY config/ /etc/app/\nCOPY *.py /app/\n",
                           ".dockerignore": "config\n", "config/app.ini": "", "main.py": ""})
    found = [f for f in run_checks(root) if f["rule"] == "copy-source"]
    assert [(f["line"], "excludes it" in f["message"]) for f in found] == [(2, True)]


def test_crlf_found_with_file_and_line_then_fixed(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": 'FROM x\nENTRYPOINT ["./start.sh"]\n', "start.sh": b"#!/bin/bash\nset -e\r\nexec app\r\n",
        "deploy": b"#!/bin/sh\r\necho hi\r\n", ".env.prod": b"A=1\r\n", "notes.txt": b"windows\r\n",
        ".dockerignore": ".env*\n",
    })
    found = run_checks(root)
    assert rules(found) == [("crlf", ".env.prod", 1), ("crlf", "deploy", 1), ("crlf", "start.sh", 2)]
    assert rules(run_checks(root, fix=True, check_mode=True), "fixed") == rules(found)
    assert (tmp_path / "start.sh").read_bytes().count(b"\r") == 2  # check mode wrote nothing
    assert rules(run_checks(root, fix=True), "fixed") == rules(found)
    assert (tmp_path / "start.sh").read_bytes() == b"#!/bin/bash\nset -e\nexec app\n"
    assert (tmp_path / "notes.txt").read_bytes() == b"windows\r\n"  # not a script: left alone
    assert run_checks(root, fix=True) == []


@pytest.mark.parametrize("cmd, severity", [
    ('CMD ["uvicorn", "main:app", "--port", "8000"]', "error"),
    ("CMD gunicorn --bind 0.0.0.0:8000 app:app", "error"),
    ('CMD ["uvicorn", "main:app", "--port", "8080"]', "warning"),
    ('CMD ["sh", "-c", "uvicorn main:app --port ${PORT:-8080}"]', None),
])
def test_hard_coded_ports(tmp_path, cmd, severity):
    root = make(tmp_path, {"Dockerfile": f"FROM x\nEXPOSE 8080\n{cmd}\n"})
    found = [f for f in run_checks(root) if f["rule"] == "port-hardcoded"]
    assert [f["severity"] for f in found] == ([severity] if severity else [])


def test_env_files_syntax_reserved_and_required(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\nEXPOSE 8000\n", ".env.example": "MONGODB_URL=\nSECRET_KEY=\nPORT=8080\n",
        ".env.prod": "ENVIRONMENT=production\nPORT=8000\nMONGODB_URL=mongodb://x\nbroken line\n",
        ".dockerignore": ".env*\n!.env.example\n",
    })
    found = run_checks(root, env_files=[".env.prod"], required=["REDIS_URL"])
    assert rules(found) == [("env-syntax", ".env.prod", 4)]  # a file that does not parse is reported alone
    (tmp_path / ".env.prod").write_text("ENVIRONMENT=production\nPORT=8000\nMONGODB_URL=mongodb://x\n")
    found = run_checks(root, env_files=[".env.prod"], required=["REDIS_URL"])
    assert rules(found) == [("env-required", ".env.prod", None), ("env-reserved", ".env.prod", 2)]
    required = [f for f in found if f["rule"] == "env-required"][0]
    assert "Missing from the env files: REDIS_URL (required)" in required["message"]
    reserved = [f for f in found if f["rule"] == "env-reserved"][0]
    assert "port option" in reserved["fix"]
    assert rules(found, "warning") == [("env-example", ".env.example", None), ("port-expose", "Dockerfile", 2)]
    example = [f for f in found if f["rule"] == "env-example"][0]
    assert example["message"] == "In .env.example but not in the env files: SECRET_KEY."


def test_the_whole_env_of_the_deploy_counts(tmp_path):
    """Keys from env and secrets count too, not only the env files (issue 13)."""
    root = make(tmp_path, {"Dockerfile": "FROM x\nEXPOSE 8080\n", ".env.example": "MONGODB_URL=\nSECRET_KEY=\n"})
    found = run_checks(root, required=["SECRET_KEY"], env_keys={"SECRET_KEY", "MONGODB_URL"})
    assert [f for f in found if f["rule"].startswith("env")] == []
    found = run_checks(root, required=["SECRET_KEY"], env_keys={"MONGODB_URL"})
    assert rules(found) == [("env-required", "env", None)]


def test_an_env_file_a_build_would_upload_is_a_warning(tmp_path):
    """Issue 12: .env files in what a build uploads (not dockerignored), but not .env.example."""
    root = make(tmp_path, {"Dockerfile": "FROM x\nCOPY . /app\n", ".env": "A=1\n", ".env.prod": "B=2\n",
                           ".env.example": "A=\n", "config/app.env": "C=3\n", "main.py": ""})
    assert rules(run_checks(root), "warning") == [("env-uploaded", ".env", None), ("env-uploaded", ".env.prod", None),
                                                  ("env-uploaded", "config/app.env", None)]
    (tmp_path / ".dockerignore").write_text(".env*\n**/*.env\n!.env.example\n")
    assert [f for f in run_checks(root) if f["rule"] == "env-uploaded"] == []


def test_an_env_file_of_the_deploy_inside_the_folder_and_a_link_out_are_warnings(tmp_path):
    """Issue 26: an env file the deploy reads, named otherwise than .env, went up with the source unsaid; a link to
    a file outside the folder reaches the build as a link to nothing."""
    root = make(tmp_path, {"Dockerfile": "FROM x\nCOPY . /app\n", "settings/prod.vars": "A=1\n", "main.py": ""})
    os.symlink("../../shared/lib.py", os.path.join(root, "lib.py"))
    found = run_checks(root, env_files=[os.path.join(root, "settings/prod.vars")])
    assert rules(found, "warning") == [("env-uploaded", "settings/prod.vars", None), ("link-outside", "lib.py", None)]


def test_no_dockerfile(tmp_path):
    assert rules(run_checks(make(tmp_path, {"app.py": ""}))) == [("dockerfile", "Dockerfile", None)]


def test_the_settings_of_a_deploy_are_checked_with_cloudrun_services_rules():
    hidden = []
    found, keys, _valid = check_service(
        {"name": "svc", "region": "europe_west1", "cpu": "3", "concurrency": "many", "secrets": {"TOKEN": "s3cr3t-value"}},
        {"region": "app_region", "cpu": "app_cpu", "concurrency": "app_concurrency"}, hidden.extend)
    messages = [f["message"] for f in found]
    assert messages[0].startswith("app_region: 'europe_west1' is not a region name")
    assert "argument 'app_concurrency' is of type " in messages[1]  # "str" (2.19) or "<class 'str'>" (2.16)
    assert keys is None and "s3cr3t-value" in hidden  # hidden before anything else could print it
    found, keys, _valid = check_service({"name": "svc", "cpu": "3", "env": {"A": "1"}, "secrets": {"B": "2"},
                                         "required": ["A", "C"]}, {"cpu": "app_cpu"}, hidden.extend)
    assert [f["message"].split(":")[0] for f in found] == ["app_cpu", "required"]
    assert keys == {"A", "B"}


def test_the_jobs_of_a_deploy_are_checked_with_cloudrun_jobs_rules():
    """Issue 26: a job without a name was a template error, max_retries 11 an API error, both after the build."""
    from ansible_collections.nadle.cloudrun.plugins.module_utils._preflight import check_jobs  # pylint: disable=import-outside-toplevel
    name = "cloudrun_deploy_jobs_before_traffic"
    problems = check_jobs([{"command": ["migrate"]}, {"name": "migrate", "max_retries": 11},
                           {"name": "ok", "task_timeout": "10m"}], name)
    assert problems == [f"{name}[0]: missing required arguments: name",
                        f"{name}[1] (migrate): max_retries: 11 is out of range; use 0 to 10."], problems


def test_an_unknown_dockerfile_instruction_is_an_error_before_the_upload(tmp_path):
    """Issue 26: FROMM built and deployed on the emulator; Docker refuses it on its first line."""
    root = make(tmp_path, {"Dockerfile": "FROMM python:3.11\nCMD [\"python\"]\n"})
    assert rules(run_checks(root)) == [("dockerfile-syntax", "Dockerfile", 1)]
