"""A cloudrun_service write (_spec.py): validation across options, the request body, the revision name."""

from __future__ import annotations

import re

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _options, _spec
from ansible_collections.nadle.cloudrun.tests.unit.plugins.module_utils.test_options import NAME, SERVED, changes, params


def test_a_write_that_makes_a_revision_names_it_and_carries_the_etag():
    body = _spec.request_body(SERVED, _options.desired_state(params(memory="1Gi")), NAME, makes_revision=True)
    assert set(body) & set(_spec.SERVICE_OUTPUT_ONLY) == {"etag"}  # the etag of the read, and no other
    assert body["etag"] == SERVED["etag"]
    # A new name, never the fetched one: Cloud Run refuses a known name with another template (409).
    assert re.match(r"^backend-00004-[a-z]{3}$", body["template"]["revision"])
    assert body["template"]["containers"][0]["resources"] == {
        "limits": {"cpu": "1000m", "memory": "1Gi"}, "cpuIdle": True, "startupCpuBoost": True}
    assert body["labels"] == SERVED["labels"]  # unmanaged: kept as is
    assert body["traffic"] == SERVED["traffic"]  # traffic is left alone


@pytest.mark.parametrize("options", [{"labels": {"team": "web"}}, {"ingress": "internal", "cpu": "1"},
                                     {"invoker_iam_disabled": True, "memory": "0.5Gi"}])
def test_a_write_that_keeps_the_template_echoes_it_with_its_revision_name(options):
    """terraform-provider-google 13410: clearing template.revision makes a revision on the real API."""
    body = _spec.request_body(SERVED, _options.desired_state(params(**options)), NAME, makes_revision=False)
    assert body["template"] == SERVED["template"]  # cpu "1" for "1000m" is not written into it either
    assert body["etag"] == SERVED["etag"]


def test_writable_keeps_the_revision_name_and_the_etag():
    spec = _spec.writable(SERVED)
    assert spec["template"]["revision"] == "backend-v3" and spec["etag"] == '"e"'
    assert not set(spec) & (set(_spec.SERVICE_OUTPUT_ONLY) - {"etag"})


def test_new_service_keeps_request_based_billing_when_resources_are_sent():
    body = _spec.build_service(None, _options.desired_state(params(image="gcr.io/p/i", memory="1Gi")), NAME)
    resources = body["template"]["containers"][0]["resources"]
    assert resources == {"limits": {"memory": "1Gi"}, "cpuIdle": True, "startupCpuBoost": True}
    assert "traffic" not in body  # Cloud Run gives a new service 100% on its latest revision


def test_port_change_moves_the_default_probe_and_env_keeps_order():
    desired = _options.desired_state(params(port=8000, env={"Z": "1", "A": {"secret": "db", "version": 2}}))
    container = _spec.build_service(SERVED, desired, NAME)["template"]["containers"][0]
    assert container["ports"] == [{"name": "http1", "containerPort": 8000}]
    assert container["startupProbe"]["tcpSocket"] == {"port": 8000}
    assert container["env"] == [{"name": "Z", "value": "1"},
                                {"name": "A", "valueSource": {"secretKeyRef": {"secret": "db", "version": "2"}}}]


def test_labels_replace_user_keys_but_keep_system_keys():
    body = _spec.build_service(SERVED, _options.desired_state(params(labels={"env": "prod"})), NAME)
    assert body["labels"] == {"cloud.googleapis.com/location": "r", "env": "prod"}


def test_revision_suffix_and_vpc_and_probe_spelling():
    desired = _options.desired_state(params(
        revision_suffix="v4", vpc_access={"connector": "c", "egress": "all-traffic", "network": None},
        liveness_probe={"http_get": {"path": "/health", "port": None}, "period_seconds": 5}))
    body = _spec.build_service(SERVED, desired, NAME)
    assert body["template"]["revision"] == "backend-v4"
    assert body["template"]["vpcAccess"] == {"connector": "c", "egress": "ALL_TRAFFIC"}
    assert body["template"]["containers"][0]["livenessProbe"] == {"httpGet": {"path": "/health"}, "periodSeconds": 5}


def test_valid_options_have_no_problems():
    assert _spec.service_problems(params(image="gcr.io/p/i:v1", cpu="0.5", memory="1Gi", concurrency=1, timeout="1h",
                                         env={"MONGODB_URL": "mongodb://x", "DEBUG": False})) == []


def test_named_revision_has_cloud_runs_form_and_never_repeats_across_generations():
    template = {"containers": [{"image": "img", "resources": {"limits": {"memory": "512Mi"}}}]}
    first = _spec.named_revision(template, "svc", None)
    assert re.match(r"^svc-00001-[a-z]{3}$", first)
    assert _spec.named_revision(template, "svc", "1") == first.replace("00001", "00002")
    assert _spec.named_revision(dict(template, revision="svc-old"), "svc", "3")[:-3] == "svc-00004-"
    assert _spec.named_revision(template, "svc", 3) == _spec.named_revision(template, "svc", "3")


def test_a_service_level_option_is_one_table_entry_and_makes_no_revision():
    """service_min_instances (ServiceScaling.min_instance_count) was added as one entry in _options.OPTIONS."""
    assert "service_min_instances" in _options.argument_spec()
    assert changes(service_min_instances=0) == []  # unset on the server reads as 0: no drift
    desired = _options.desired_state(params(service_min_instances=2))
    differences = _options.Differences(desired, _options.observed_state(SERVED, NAME))
    assert differences.names == ["service_min_instances"] and not differences.makes_revision
    body = _spec.request_body(SERVED, desired, NAME, makes_revision=False)
    assert body["scaling"] == {"minInstanceCount": 2}
    assert body["template"] == SERVED["template"]  # the template, revision name included, as read
    assert _spec.service_problems(params(service_min_instances=-1)) == ["service_min_instances: -1 must be at least 0."]
