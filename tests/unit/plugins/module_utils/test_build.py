"""A Cloud Build of a source folder (module_utils/_build.py): the source bucket, the build and its result."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from ansible_collections.nadle.cloudrun.plugins.module_utils import _build
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError


class RacingStorage:
    """A bucket that another build creates between our read and our create."""

    def __init__(self, owned_elsewhere=False):
        self.reads = 0
        self.owned_elsewhere = owned_elsewhere

    def get_bucket(self, name):
        self.reads += 1
        if self.reads == 1:
            raise gexc.NotFound(f"bucket {name}")
        if self.owned_elsewhere:
            raise gexc.Forbidden("caller does not have storage.buckets.get access")
        return name

    def create_bucket(self, name, location):
        raise gexc.Conflict("Your previous request to create the named bucket succeeded and you already own it.")


def test_a_bucket_created_by_a_parallel_build_is_used():
    storage = RacingStorage()
    _build._ensure_bucket(storage, "p_cloudbuild", "asia-northeast3")
    assert storage.reads == 2


def test_a_bucket_name_owned_elsewhere_says_to_set_bucket():
    with pytest.raises(CloudRunError) as err:
        _build._ensure_bucket(RacingStorage(owned_elsewhere=True), "p_cloudbuild", "asia-northeast3")
    assert "create the source bucket p_cloudbuild" in err.value.msg
    assert "Set the bucket option" in err.value.msg
