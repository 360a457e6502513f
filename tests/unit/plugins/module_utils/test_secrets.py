"""Env values kept in Secret Manager (module_utils/_secrets.py): their IDs and labels."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import secret_id, secret_labels


@pytest.mark.parametrize("service, key, expected", [
    ("xai-community-backend", "SECRET_KEY", "xai-community-backend_SECRET_KEY"),
    ("api", "MONGODB_URL", "api_MONGODB_URL"),
    ("api", "weird.key", "api_weird-2ekey"),
    ("api", "a-b", "api_a-2db"),
    ("api", "é", "api_-c3-a9"),
])
def test_secret_ids(service, key, expected):
    assert secret_id(service, key) == expected


@pytest.mark.parametrize("pairs", [
    [("backend-mongodb", "URL"), ("backend", "MONGODB_URL")],  # issue 12: one secret for both before
    [("api", "Token"), ("api", "TOKEN")],
    [("api", "a.b"), ("api", "a-2eb"), ("api", "a_2eb")],
    [("a", "b-c"), ("a", "b.c"), ("a-b", "c")],
])
def test_secret_ids_never_collide(pairs):
    ids = [secret_id(service, key) for service, key in pairs]
    assert len(set(ids)) == len(ids), ids
    assert all(len(i) <= 255 and all(c.isalnum() or c in "-_" for c in i) for i in ids)


def test_what_the_collection_makes_is_labelled_with_its_service_and_key():
    assert secret_labels("backend", "MONGODB_URL") == {"managed-by": "nadle-cloudrun", "cloud-run-service": "backend",
                                                       "env-key": "mongodb_url"}
