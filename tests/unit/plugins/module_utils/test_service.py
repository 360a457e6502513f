"""cloudrun_service's present and absent (module_utils/_service.py): the pure steps of a plan."""

from __future__ import annotations

import pytest

from ansible_collections.nadle.cloudrun.plugins.module_utils import _service
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError

CURRENT = {"template": {"containers": [{"env": [{"name": "KEEP", "value": "1"}]}]}}
REF = {"secret": "svc-token", "version": "3"}


def test_secret_references_merge_into_the_current_env_when_env_is_not_given():
    desired = {}
    _service._with_secret_refs(desired, CURRENT, {"TOKEN": REF})  # pylint: disable=protected-access
    assert desired == {"env": {"KEEP": "1", "TOKEN": REF}}
    whole = {"env": {"ONLY": "this"}}
    _service._with_secret_refs(whole, CURRENT, {"TOKEN": REF})  # pylint: disable=protected-access
    assert whole == {"env": {"ONLY": "this", "TOKEN": REF}}


def test_a_revision_suffix_in_use_cannot_name_a_new_template():
    with pytest.raises(CloudRunError) as err:
        _service._check_suffix_reuse({"revision_suffix": "v4"}, ["memory"], {"revision_suffix": "v4"}, "svc")  # pylint: disable=protected-access
    assert "revision_suffix 'v4' is already the name of revision svc-v4" in err.value.msg
    _service._check_suffix_reuse({"revision_suffix": "v5"}, ["memory", "revision_suffix"], {"revision_suffix": "v4"}, "svc")  # pylint: disable=protected-access
