"""A source archive that tries to write outside the build's folder (issue 26): refused before anything is written.

The drill found two that Python 3.11.7's ``data`` filter let through: a symbolic link chain longer than
PATH_MAX (the CVE-2025-4517 class) that wrote a file outside the state folder, and a hard link that
overwrote a file that existed. The emulator checks every member by name first (cloudbuild.safe_members).
"""

import io
import os
import tarfile

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.devtools import cloudbuild_v1

from emulator import cloudbuild

PROJECT = "projects/demo-project"


def member(name, kind=tarfile.REGTYPE, linkname="", data=b""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, len(data)
    return info, io.BytesIO(data) if data else None


def archive_of(*members):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        archive.addfile(*member("Dockerfile", data=b"FROM python:3.11-slim\nCMD [\"python\", \"-V\"]\n"))
        for info, data in members:
            archive.addfile(info, data)
    return raw.getvalue()


# A chain of links each a long name deep, past PATH_MAX once resolved, then a link out through it.
CHAIN = [member("d" * 200 + f"{i}/" + "l", tarfile.SYMTYPE, "../" * 1) for i in range(3)]
HOSTILE = {
    "symlink out": [member("out", tarfile.SYMTYPE, "../../../.."), member("out/pwned", data=b"x")],
    "absolute symlink": [member("etc", tarfile.SYMTYPE, "/etc"), member("etc/pwned", data=b"x")],
    "link to a link's parent": [member("s", tarfile.SYMTYPE, "."), member("t", tarfile.SYMTYPE, "s/.."),
                                member("u", tarfile.SYMTYPE, "t/pwned"), member("u", data=b"x")],
    "write through a link": [member("a", tarfile.SYMTYPE, "b"), member("a", data=b"x")],
    "hard link out": [member("h", tarfile.LNKTYPE, "../../victim"), member("h", data=b"overwritten")],
    "dot-dot name": [member("../pwned", data=b"x")],
    "device": [member("dev", tarfile.CHRTYPE)],
    "long chain": CHAIN + [member("c", tarfile.SYMTYPE, "/".join(["d" * 200 + "0/l"] * 30)),
                           member("c/pwned", data=b"x")],
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_member_is_refused_by_name(name):
    data = archive_of(*HOSTILE[name])
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        with pytest.raises(cloudbuild.BuildFailure, match="would be written outside the build context"):
            list(cloudbuild.safe_members(archive))


def test_ordinary_links_inside_the_context_are_kept():
    data = archive_of(member("src/app.py", data=b"print(1)"), member("app.py", tarfile.SYMTYPE, "src/app.py"),
                      member("copy.py", tarfile.LNKTYPE, "src/app.py"))
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert [m.name for m in cloudbuild.safe_members(archive)] == ["Dockerfile", "src/app.py", "app.py", "copy.py"]


def test_a_hostile_build_fails_and_writes_nothing_outside(emulator, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    gcs = storage.Client(project="demo-project", credentials=AnonymousCredentials(),
                         client_options=ClientOptions(api_endpoint=emulator.endpoint))
    bucket = gcs.create_bucket("hostile-archives")
    relative = os.path.relpath(str(victim), "/")
    data = archive_of(member("h", tarfile.LNKTYPE, "../" * 30 + relative), member("h", data=b"overwritten"),
                      member("out", tarfile.SYMTYPE, "../" * 30 + "tmp"), member("out/nadle-pwned", data=b"x"))
    bucket.blob("hostile.tgz").upload_from_string(data, content_type="application/gzip")
    builds = cloudbuild_v1.CloudBuildClient(transport="rest", credentials=AnonymousCredentials(),
                                            client_options=ClientOptions(api_endpoint=emulator.endpoint))
    build = {"source": {"storage_source": {"bucket": "hostile-archives", "object_": "hostile.tgz"}},
             "steps": [{"name": "gcr.io/cloud-builders/docker", "args": ["build", "-t", "x/y:z", "."]}]}
    operation = builds.create_build(request={"parent": f"{PROJECT}/locations/global", "build": build})
    with pytest.raises(Exception):
        operation.result(60)
    finished = builds.get_build(name=f"{PROJECT}/locations/global/builds/{operation.metadata.build.id}")
    assert finished.status == cloudbuild_v1.Build.Status.FAILURE
    assert "would be written outside the build context" in finished.status_detail
    assert victim.read_text() == "untouched" and not os.path.exists("/tmp/nadle-pwned")
