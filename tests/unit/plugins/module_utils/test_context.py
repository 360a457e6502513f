"""The build context as Docker and gcloud see it (module_utils/_context.py), on real folders, and its hash."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

from ansible_collections.nadle.cloudrun.plugins.module_utils._context import (
    context_files, context_tarball, links_out, source_archive, source_tag, upload_files,
)
from ansible_collections.nadle.cloudrun.tests.unit.plugins.module_utils.test_preflight import make


def test_dockerignore_negation_globstar_directories_and_comments(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".dockerignore": "# secrets stay out\n\n.env*\n**/*.md\n!docs/keep.md\nbuild/\n",
        "app.py": "", ".env": "", ".env.prod": "", "README.md": "", "docs/a.md": "", "docs/keep.md": "",
        "build/out.bin": "", "src/pkg/mod.py": "", ".git/HEAD": "", ".venv/bin/python": "",
    })
    assert context_files(root) == [".dockerignore", "Dockerfile", "app.py", "docs/keep.md", "src/pkg/mod.py"]


def test_gcloudignore_then_dockerignore(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".gcloudignore": "# gitignore rules\ntests/\n*.log\n!keep.log\n",
        ".dockerignore": "docs\n", "app.py": "", "tests/test_app.py": "", "debug.log": "", "keep.log": "",
        "docs/index.md": "", "src/tests/helper.py": "",
    })
    assert upload_files(root) == [".dockerignore", ".gcloudignore", "Dockerfile", "app.py", "keep.log"]


def test_with_no_gcloudignore_a_gitignore_is_applied_as_gcloud_does(tmp_path):
    # gcloud's generated .gcloudignore: itself, .git, .gitignore, then #!include:.gitignore.
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".gitignore": "__pycache__/\n*.pyc\n.env\n", "app.py": "", ".env": "",
        "pkg/__pycache__/mod.cpython-311.pyc": "", "pkg/mod.py": "",
    })
    assert upload_files(root) == ["Dockerfile", "app.py", "pkg/mod.py"]


def test_a_gcloudignore_includes_the_gitignore_where_it_says_so(tmp_path):
    root = make(tmp_path, {
        "Dockerfile": "FROM x\n", ".gitignore": "secrets/\n", ".gcloudignore": "#!include:.gitignore\n!secrets/ok\n",
        "app.py": "", "secrets/key": "", "secrets/ok": "", "other.txt": "",
    })
    assert upload_files(root) == [".gcloudignore", ".gitignore", "Dockerfile", "app.py", "other.txt", "secrets/ok"]


def test_a_gcloudignore_without_the_include_leaves_the_gitignore_alone(tmp_path):
    root = make(tmp_path, {"Dockerfile": "FROM x\n", ".gitignore": "*.txt\n", ".gcloudignore": "# nothing\n",
                           "notes.txt": ""})
    assert upload_files(root) == [".gcloudignore", ".gitignore", "Dockerfile", "notes.txt"]


def test_with_neither_file_everything_in_the_context_is_uploaded(tmp_path):
    root = make(tmp_path, {"Dockerfile": "FROM x\n", "notes.txt": "", ".hidden": ""})
    assert upload_files(root) == [".hidden", "Dockerfile", "notes.txt"]


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


def test_source_tag_is_the_archive_hash(tmp_path):
    root = _tree(tmp_path, {"Dockerfile": "FROM x\n", "app.py": "print(1)\n"})
    files, data, digest = source_archive(root)
    assert files == ["Dockerfile", "app.py"] and digest == hashlib.sha256(data).hexdigest()
    assert source_tag(digest) == f"src-{digest[:20]}"


def test_a_symbolic_link_is_sent_as_a_link_as_docker_sends_it(tmp_path):
    """Issue 26: links were uploaded as the files they name; Docker sends the link (dangling ones too)."""
    root = make(tmp_path, {"Dockerfile": "FROM x\n", "src/app.py": "print(1)\n"})
    os.symlink("src/app.py", os.path.join(root, "app.py"))
    os.symlink("nowhere", os.path.join(root, "dangling"))
    os.symlink("../../elsewhere/shared.py", os.path.join(root, "shared.py"))
    files = context_files(root)
    assert files == ["Dockerfile", "app.py", "dangling", "shared.py", "src/app.py"]
    with tarfile.open(fileobj=io.BytesIO(context_tarball(root, files)), mode="r:gz") as archive:
        links = {m.name: m.linkname for m in archive.getmembers() if m.issym()}
    assert links == {"app.py": "src/app.py", "dangling": "nowhere", "shared.py": "../../elsewhere/shared.py"}
    assert links_out(root, files) == {"shared.py": "../../elsewhere/shared.py"}
