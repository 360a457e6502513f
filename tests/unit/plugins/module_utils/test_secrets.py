"""Env values kept in Secret Manager (module_utils/_secrets.py): their IDs."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils._secrets import secret_id


@pytest.mark.parametrize("service, key, expected", [
    ("xai-community-backend", "SECRET_KEY", "xai-community-backend-secret-key"),
    ("api", "MONGODB_URL", "api-mongodb-url"),
    ("api", "weird.key", "api-weird-key"),
])
def test_secret_ids(service, key, expected):
    assert secret_id(service, key) == expected
