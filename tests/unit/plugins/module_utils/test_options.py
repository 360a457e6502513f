"""cloudrun_service's option table (_options.py): normalising, reading back, comparing, the diff."""

from __future__ import annotations

import json

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _options

NAME = "backend"

# A service as the API returns it: every default Cloud Run fills in, plus output-only fields.
SERVED = {
    "name": "projects/p/locations/r/services/backend", "uid": "u", "generation": "3", "etag": '"e"',
    "uri": "https://backend-x.run.app", "latestReadyRevision": "projects/p/locations/r/services/backend/revisions/r3",
    "ingress": "INGRESS_TRAFFIC_ALL", "launchStage": "GA",
    "labels": {"team": "api", "cloud.googleapis.com/location": "r"},
    "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}],
    "template": {
        "revision": "backend-v3",
        "containers": [{
            "image": "gcr.io/p/backend:v1",
            "env": [{"name": "A", "value": "1"},
                    {"name": "S", "valueSource": {"secretKeyRef": {"secret": "s", "version": "latest"}}}],
            "resources": {"limits": {"cpu": "1000m", "memory": "512Mi"}, "cpuIdle": True, "startupCpuBoost": True},
            "ports": [{"name": "http1", "containerPort": 8080}],
            "startupProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 240, "periodSeconds": 240,
                             "failureThreshold": 1},
        }],
        "timeout": "300s", "maxInstanceRequestConcurrency": 80, "scaling": {"maxInstanceCount": 100},
        "serviceAccount": "123-compute@developer.gserviceaccount.com",
        "executionEnvironment": "EXECUTION_ENVIRONMENT_GEN2",
    },
}


def params(**options):
    base = {option: None for option in _options.MANAGED_OPTIONS}
    base["name"] = NAME
    base.update(options)
    return base


def changed(desired, observed):
    return _options.Differences(desired, observed).names


def changes(**options):
    desired = _options.desired_state(params(**options))
    return changed(desired, _options.observed_state(SERVED, NAME))


@pytest.mark.parametrize("options", [
    {},
    {"image": "gcr.io/p/backend:v1"},
    {"cpu": "1"}, {"cpu": "1000m"}, {"memory": "0.5Gi"}, {"memory": "512Mi"},
    {"timeout": "300"}, {"timeout": "5m"}, {"timeout": "300s"},
    {"concurrency": 80}, {"port": 8080}, {"max_instances": 100}, {"min_instances": 0},
    {"env": {"A": 1, "S": {"secret": "s"}}},
    {"labels": {"team": "api"}},
    {"startup_probe": {"tcp_socket": {"port": 8080}}},
    {"cpu_idle": True, "startup_cpu_boost": True},
    {"ingress": "all", "execution_environment": "gen2", "revision_suffix": "v3"},
    {"command": [], "args": []},
])
def test_server_defaults_and_equivalent_spellings_are_not_drift(options):
    assert changes(**options) == []


@pytest.mark.parametrize("options, expected", [
    ({"image": "gcr.io/p/backend:v2"}, ["image"]),
    ({"memory": "1Gi"}, ["memory"]),
    ({"cpu": "2"}, ["cpu"]),
    ({"env": {"A": "1"}}, ["env"]),  # removing a key is a change
    ({"env": {"A": "1", "S": "plain now"}}, ["env"]),
    ({"env": {"A": "1", "S": {"secret": "s", "version": "3"}}}, ["env"]),
    ({"labels": {}}, ["labels"]),
    ({"concurrency": 100, "timeout": 60}, ["concurrency", "timeout"]),
    ({"startup_probe": {"failure_threshold": 3}}, ["startup_probe"]),
    ({"cpu_idle": False}, ["cpu_idle"]),
    ({"ingress": "internal", "description": "x"}, ["description", "ingress"]),
])
def test_changes_are_named(options, expected):
    assert changes(**options) == expected


@pytest.mark.parametrize("text, seconds", [
    ("300", 300), ("300s", 300), ("5m", 300), ("1h30m", 5400), (45, 45), ("", None), ("soon", None),
])
def test_parse_timeout(text, seconds):
    assert _options.parse_timeout(text) == seconds


def test_diff_shows_only_what_changes():
    observed = _options.observed_state(SERVED, NAME)
    desired = _options.desired_state(params(memory="1Gi", image="gcr.io/p/backend:v1"))
    differences = _options.Differences(desired, observed)
    assert differences.diff() == {"before": {"memory": "512Mi"}, "after": {"memory": "1Gi"}}
    assert differences.makes_revision
    created = _options.Differences(_options.desired_state(params(image="gcr.io/p/backend:v1")), None)
    assert created.diff() == {"before": {}, "after": {"image": "gcr.io/p/backend:v1"}}


def test_ingress_unspecified_while_no_revision_is_active_is_not_drift():
    """run_v2 types/service.py: ingress reads back as UNSPECIFIED while no revision is active."""
    from google.cloud import run_v2  # pylint: disable=import-outside-toplevel
    message = run_v2.Service(name="projects/p/locations/r/services/backend", template=run_v2.RevisionTemplate(
        containers=[run_v2.Container(image="gcr.io/p/backend:v1")]))
    served = json.loads(run_v2.Service.to_json(message, use_integers_for_enums=False,
                                               always_print_fields_with_no_presence=False))
    assert "ingress" not in served
    desired = _options.desired_state(params(ingress="all"))
    assert changed(desired, _options.observed_state(served, NAME)) == []
    observed = _options.observed_state(dict(SERVED, ingress="INGRESS_TRAFFIC_ALL"), NAME)
    assert changed(_options.desired_state(params(ingress="internal")), observed) == ["ingress"]


@pytest.mark.parametrize("image, host, repo", [
    ("nginx:1.27", "registry-1.docker.io", "library/nginx"),
    ("docker.io/nginx", "registry-1.docker.io", "library/nginx"),
    ("docker.io/bitnami/redis:7", "registry-1.docker.io", "bitnami/redis"),
    ("index.docker.io/library/nginx", "registry-1.docker.io", "library/nginx"),
    ("ghcr.io/org/app:v1", "ghcr.io", "org/app"),
    ("europe-west1-docker.pkg.dev/p/r/app:v1", "europe-west1-docker.pkg.dev", "p/r/app"),
])
def test_image_hosts_as_docker_reads_them(image, host, repo):
    assert _options.split_image(image)[:2] == (host, repo)


@pytest.mark.parametrize("host, google", [
    ("europe-west1-docker.pkg.dev", True), ("gcr.io", True), ("eu.gcr.io", True), ("us-docker.pkg.dev", True),
    ("registry-1.docker.io", False), ("ghcr.io", False), ("gcr.io.example.com", False), ("evil-docker.pkg.dev.io", False),
    ("127.0.0.1:5000", False),
])
def test_only_googles_registries_get_the_google_token(host, google):
    assert _options.google_registry(host) is google


def test_the_collections_own_annotation_is_kept_and_never_compared():
    """Issue 27: annotations {team: payments} deleted nadle.cloudrun/good-revisions (the PATCH carried only team),
    so the next rollback fell back to the old rule; and the history read as drift on every run."""
    service = {"annotations": {"nadle.cloudrun/good-revisions": "svc-2,svc-1", "run.googleapis.com/x": "y",
                               "team": "core"}}
    assert _options.BY_NAME["annotations"].read(service) == {"team": "core"}
    _options.BY_NAME["annotations"].write(service, {"team": "payments"}, "svc")
    assert service["annotations"] == {"nadle.cloudrun/good-revisions": "svc-2,svc-1", "run.googleapis.com/x": "y",
                                      "team": "payments"}
    assert "collection's own namespace" in _options.option_problems({"annotations": {"nadle.cloudrun/x": "1"}})[0]
