"""A Cloud Build of a source folder (module_utils/_build.py): deterministic tarballs, the source bucket."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest
from google.api_core import exceptions as gexc

from ansible_collections.nadle.cloudrun.plugins.module_utils import _build
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._build import context_tarball
from ansible_collections.nadle.cloudrun.plugins.module_utils._context import upload_files


def _tree(root, files):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return str(root)


def test_same_content_same_bytes_whatever_the_times_and_order(tmp_path):
    files = {"Dockerfile": "FROM x\n", "app.py": "print(1)\n", "pkg/mod.py": "x = 1\n"}
    first = _tree(tmp_path / "a", files)
    second = _tree(tmp_path / "b", dict(reversed(list(files.items()))))
    os.utime(os.path.join(second, "app.py"), (1, 1))
    one = context_tarball(first, upload_files(first))
    two = context_tarball(second, upload_files(second))
    assert hashlib.sha256(one).digest() == hashlib.sha256(two).digest()
    with tarfile.open(fileobj=io.BytesIO(one), mode="r:gz") as archive:
        members = archive.getmembers()
    assert [m.name for m in members] == ["Dockerfile", "app.py", "pkg/mod.py"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.mode) for m in members} == {(0, 0, 0, "", 0o644)}


def test_content_and_executable_bit_change_the_bytes(tmp_path):
    root = _tree(tmp_path, {"Dockerfile": "FROM x\n", "run.sh": "#!/bin/sh\n"})
    before = context_tarball(root, upload_files(root))
    os.chmod(os.path.join(root, "run.sh"), 0o755)
    after_chmod = context_tarball(root, upload_files(root))
    (tmp_path / "run.sh").write_text("#!/bin/sh\necho\n")
    after_edit = context_tarball(root, upload_files(root))
    assert len({before, after_chmod, after_edit}) == 3


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
