"""Pure logic of the emulator: quantities, Dockerfile reading, command rules, traffic picking."""

import json
import os
from decimal import Decimal

import pytest

from emulator import images, validation
from emulator.runtime import expand


@pytest.mark.parametrize("text, cpus", [
    ("1", Decimal(1)), ("2", Decimal(2)), ("1000m", Decimal(1)), ("500m", Decimal("0.5")),
    ("0.08", Decimal("0.08")), ("abc", None), ("", None),
])
def test_parse_cpu(text, cpus):
    assert validation.parse_cpu(text) == cpus


@pytest.mark.parametrize("text, size", [
    ("512Mi", 512 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("128974848", 128974848),
    ("512MB", None), ("1.5Gi", int(1.5 * 2**30)), ("", None),
])
def test_parse_memory(text, size):
    assert validation.parse_memory(text) == size


CPU_MEMORY_CASES = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "cases", "cpu_memory.json")
with open(CPU_MEMORY_CASES, encoding="utf-8") as _handle:
    CASES = json.load(_handle)["cases"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items() if k != "names"))
def test_cpu_memory_rules_of_the_docs(case):
    """The docs' cases (tests/cases/cpu_memory.json) against the emulator's own table."""
    resources = {"limits": {"cpu": case["cpu"], "memory": case["memory"]}}
    if "cpu_idle" in case:
        resources["cpuIdle"] = case["cpu_idle"]
    template = {"containers": [{"image": "gcr.io/p/i", "resources": resources}]}
    if "concurrency" in case:
        template["maxInstanceRequestConcurrency"] = case["concurrency"]
    if "execution_environment" in case:
        template["executionEnvironment"] = f"EXECUTION_ENVIRONMENT_{case['execution_environment'].upper()}"
    assert (validation.check_template(template, "svc") == []) is case["ok"]


def test_reserved_env_names_are_all_named():
    container = {"image": "gcr.io/p/i", "env": [{"name": "PORT", "value": "1"}, {"name": "K_SERVICE"},
                                                {"name": "OK", "value": "x"}]}
    found = validation.check_template({"containers": [container]}, "svc")
    assert found == [("service.template.containers[0].env",
                      "The following reserved env names were provided: PORT, K_SERVICE. "
                      "These values are automatically set by the system.")]


@pytest.mark.parametrize("service_id, ok", [
    ("api", True), ("my-api-2", True), ("My-api", False), ("my_api", False), ("2api", False),
    ("api-", False), ("a" * 49, True), ("a" * 50, False),
])
def test_service_ids(service_id, ok):
    assert (validation.check_service_id(service_id) == []) is ok


@pytest.mark.parametrize("ref, split", [
    ("gcr.io/p/app", ("gcr.io/p/app", None, None)),
    ("gcr.io/p/app:v1", ("gcr.io/p/app", "v1", None)),
    ("localhost:5000/app:v1", ("localhost:5000/app", "v1", None)),
    ("localhost:5000/app", ("localhost:5000/app", None, None)),
    ("r/app:v1@sha256:" + "a" * 64, ("r/app", "v1", "sha256:" + "a" * 64)),
])
def test_split_ref(ref, split):
    assert images.split_ref(ref) == split


@pytest.mark.parametrize("ref, ok", [
    ("gcr.io/xai-community/xai-community-backend", True),
    ("asia-northeast3-docker.pkg.dev/p/repo/app:abc123", True),
    ("app@sha256:" + "0" * 64, True), ("Bad/Image", False), ("gcr.io/p/app:", False),
])
def test_image_format(ref, ok):
    assert bool(images.IMAGE_RE.match(ref)) is ok


def _image(tmp_path, dockerfile):
    (tmp_path / "Dockerfile").write_text(dockerfile)
    return images.ImageConfig(str(tmp_path))


def test_final_stage_env_workdir_and_exec_form(tmp_path):
    config = _image(tmp_path, 'FROM python AS build\nENV BUILD_ONLY=1\nFROM python:3.11-slim\nWORKDIR /app\n'
                              'ENV PYTHONPATH="/app" A=b\nENV LEGACY some value\nEXPOSE 8080/tcp\nUSER appuser\n'
                              'CMD ["uvicorn", "main:app"]\n')
    assert config.env == {"PYTHONPATH": "/app", "A": "b", "LEGACY": "some value"}
    assert config.workdir == "/app" and config.expose == ["8080"] and config.user == "appuser"
    assert config.argv() == ["uvicorn", "main:app"]
    assert config.host_path("/app") == str(tmp_path) and config.host_path("/app/src") == f"{tmp_path}/src"
    assert config.host_path("/opt/x") == "/opt/x"


def test_shell_form_and_entrypoint_rules(tmp_path):
    config = _image(tmp_path, "FROM x\nCMD uvicorn main:app --port ${PORT:-8080}\n")
    assert config.argv() == ["/bin/sh", "-c", "uvicorn main:app --port ${PORT:-8080}"]
    config = _image(tmp_path, 'FROM x\nENTRYPOINT ["python", "-m"]\nCMD ["app"]\n')
    assert config.argv() == ["python", "-m", "app"]
    assert config.argv(args=["other"]) == ["python", "-m", "other"]
    assert config.argv(command=["sh"]) == ["sh"]
    config = _image(tmp_path, 'FROM x\nCMD ["app"]\nENTRYPOINT ["python"]\n')
    assert config.argv() == ["python"]  # ENTRYPOINT after CMD resets CMD


def test_kubernetes_expansion():
    env = {"PORT": "8080", "NAME": "x"}
    assert expand("--port=$(PORT)", env) == "--port=8080"
    assert expand("$(MISSING) $$(PORT)", env) == "$(MISSING) $(PORT)"


def test_registry_manifest_head(tmp_path):
    from emulator.server import registry_manifest  # pylint: disable=import-outside-toplevel
    from emulator.store import Store  # pylint: disable=import-outside-toplevel
    (tmp_path / "Dockerfile").write_text("FROM x\nCMD [\"app\"]\n")
    store = Store()
    entry = images.register(store, "europe-west1-docker.pkg.dev/p/r/app:v1", str(tmp_path))
    found = registry_manifest(store, "HEAD", "/v2/europe-west1-docker.pkg.dev/p/r/app/manifests/v1")
    assert found.status == 200 and ("Docker-Content-Digest", entry["digest"]) in found.headers
    by_digest = registry_manifest(store, "GET", f"/v2/europe-west1-docker.pkg.dev/p/r/app/manifests/{entry['digest']}")
    assert by_digest.status == 200
    assert registry_manifest(store, "HEAD", "/v2/europe-west1-docker.pkg.dev/p/r/app/manifests/v2").status == 404
    assert registry_manifest(store, "GET", "/v2/projects/p/locations/l/services") is None
