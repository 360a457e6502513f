"""The Dockerfile steps the emulator runs to install an image's Python packages (emulator/layers.py)."""

import os

import pytest

from emulator import images, layers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_record_s_dockerfile_runs_its_two_dependency_steps_and_names_the_rest():
    base, steps = layers.plan(os.path.join(ROOT, "examples", "xai-community-backend"))
    assert base == "python:3.11-slim"
    assert [(s["kind"], s["text"]) for s in steps if s["kind"]] == [
        ("pip", "pip install --no-cache-dir uv"), ("uv-sync", "uv sync --frozen --no-dev")]
    assert steps[1]["workdir"] == "/app"
    assert [s["text"].split()[0] for s in steps if not s["kind"]] == ["groupadd", "useradd", "mkdir", "chown"]


def test_shell_and_exec_forms_legacy_env_and_python_m_pip(tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\nENV APP_HOME /srv/app\nWORKDIR $APP_HOME\n"
        "RUN apt-get update && apt-get install -y curl; python3 -m pip install -r requirements.txt\n"
        'RUN ["uv", "pip", "install", "flask"]\nRUN PIP_NO_COLOR=1 pip3 install "gunicorn>=22"\n', encoding="utf-8")
    _base, steps = layers.plan(str(tmp_path))
    assert [(s["kind"], s["args"]) for s in steps] == [
        (None, ["apt-get", "update"]), (None, ["apt-get", "install", "-y", "curl"]),
        ("pip", ["-r", "requirements.txt"]), ("uv-pip", ["flask"]), ("pip", ["gunicorn>=22"])]
    assert steps[2]["workdir"] == "/srv/app" and steps[2]["env"] == {"APP_HOME": "/srv/app"}


def test_a_failing_install_fails_with_the_installer_s_words_and_leaves_no_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NADLE_EMULATOR_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "src"
    source.mkdir()
    (source / "Dockerfile").write_text("FROM python:3.11-slim\nWORKDIR /app\nRUN pip install ./not-here\n",
                                       encoding="utf-8")
    lines = []
    with pytest.raises(layers.StepFailure) as failed:
        images.install(str(source), lines.append)
    assert str(failed.value) == "The command '/bin/sh -c pip install ./not-here' returned a non-zero code: 1"
    assert any("not-here" in line for line in failed.value.lines), failed.value.lines
    assert [p for p in os.listdir(tmp_path / "cache") if not p.endswith(".lock")] == []


def test_an_image_that_installs_nothing_needs_no_environment(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nRUN useradd app\nCMD python -m http.server\n",
                                         encoding="utf-8")
    lines = []
    assert images.install(str(tmp_path), lines.append) is None
    assert lines == ["RUN useradd app: not run (the emulator runs only the steps that install Python packages)"]
