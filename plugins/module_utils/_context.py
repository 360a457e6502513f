# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the Docker build context of a source folder, as Docker sees it.

.dockerignore has Docker's own rules (patterns from the context root, ``**``, ``!`` negation),
which differ from .gitignore's, so docker-py's implementation decides what is in the context.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile

from ansible.module_utils.basic import missing_required_lib

try:
    from docker.utils.build import exclude_paths
except ImportError:
    HAS_DOCKER_PY = False
else:
    HAS_DOCKER_PY = True

try:
    import pathspec
except ImportError:
    HAS_PATHSPEC = False
else:
    HAS_PATHSPEC = True

ALWAYS_EXCLUDED = (".git", ".venv")


def ignore_patterns(root, name=".dockerignore"):
    """The patterns of an ignore file, without blank lines and comments (as Docker reads it)."""
    path = os.path.join(root, name)
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def context_files(root, dockerfile="Dockerfile", extra_excludes=ALWAYS_EXCLUDED):
    """The files (relative paths, sorted) that Docker sends for a build of ``root``.

    Docker always sends the Dockerfile and .dockerignore themselves; ``extra_excludes`` are never
    sent (a repository's .git and a local .venv).
    """
    if not HAS_DOCKER_PY:
        raise RuntimeError(missing_required_lib("docker"))
    patterns = ignore_patterns(root) + list(extra_excludes)
    included = exclude_paths(root, patterns, dockerfile=dockerfile)
    # A symbolic link is sent as a link, as Docker sends it, wherever it points (dangling too).
    return sorted(p for p in included if os.path.islink(os.path.join(root, p)) or os.path.isfile(os.path.join(root, p)))


def links_out(root, files):
    """{path: target} of the symbolic links among ``files`` that point outside ``root`` (or are absolute): the
    build gets the link, not what it points to."""
    found = {}
    real_root = os.path.realpath(root)
    for relpath in files:
        path = os.path.join(root, relpath)
        if os.path.islink(path):
            target = os.readlink(path)
            resolved = os.path.normpath(os.path.join(os.path.dirname(os.path.join(real_root, relpath)), target))
            if os.path.isabs(target) or not (resolved + os.sep).startswith(real_root + os.sep):
                found[relpath] = target
    return found


# gcloud's own .gcloudignore when a folder has none but has a .gitignore (`gcloud topic gcloudignore`,
# cloud.google.com/sdk/gcloud/reference/topic/gcloudignore; `gcloud builds submit` uses it when a
# .gitignore is present): itself, .git and .gitignore, then the .gitignore's own patterns.
DEFAULT_GCLOUDIGNORE = (".gcloudignore", ".git", ".gitignore", "#!include:.gitignore")
INCLUDE = "#!include:"


def gcloudignore_patterns(root):
    """The patterns gcloud applies to an upload of ``root``: .gcloudignore's, with each ``#!include:FILE``
    replaced by FILE's patterns (gitignore syntax); with no .gcloudignore, gcloud's default when a
    .gitignore is there; else none (everything is uploaded)."""
    path = os.path.join(root, ".gcloudignore")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    elif os.path.isfile(os.path.join(root, ".gitignore")):
        lines = list(DEFAULT_GCLOUDIGNORE)
    else:
        return []
    patterns = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(INCLUDE):
            included = stripped[len(INCLUDE):].strip()
            if os.path.isfile(os.path.join(root, included)):
                patterns += ignore_patterns(root, included)
        elif stripped and not stripped.startswith("#"):
            patterns.append(stripped)
    return patterns


def upload_files(root, dockerfile="Dockerfile", context=None):
    """What a source build uploads: .gcloudignore (gitignore rules; gcloud's default with a .gitignore), then
    the Docker context.

    gcloud uploads what .gcloudignore lets through and Docker then applies .dockerignore; a file
    either of them leaves out cannot change the image, so it is neither uploaded nor hashed.
    ``context``: context_files of ``root`` already listed (a walk of the folder not made twice).
    """
    files = context if context is not None else context_files(root, dockerfile)
    patterns = gcloudignore_patterns(root)
    if patterns:
        if not HAS_PATHSPEC:
            raise RuntimeError(missing_required_lib("pathspec"))
        spec = pathspec.GitIgnoreSpec.from_lines(patterns)
        files = [f for f in files if not spec.match_file(f) or f == dockerfile]
    return files


def context_tarball(root, files):
    """A gzipped tar of ``files`` whose bytes depend only on their names, contents and executable bits (for a
    symbolic link, its target)."""
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for relpath in sorted(files):
                path = os.path.join(root, relpath)
                info = tarfile.TarInfo(relpath)
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                if os.path.islink(path):  # as Docker and gcloud send it: the link, not the file it names
                    info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
                    archive.addfile(info)
                    continue
                stat = os.stat(path)
                info.size = stat.st_size
                info.mode = 0o755 if stat.st_mode & 0o111 else 0o644
                with open(path, "rb") as handle:
                    archive.addfile(info, handle)
    return raw.getvalue()


def source_archive(root, dockerfile="Dockerfile", files=None):
    """(the files a build uploads, their gzipped tar, its sha256 hex): the same source gives the same hash.

    ``files``: upload_files of ``root`` already listed."""
    files = files if files is not None else upload_files(root, dockerfile)
    data = context_tarball(root, files)
    return files, data, hashlib.sha256(data).hexdigest()


def source_tag(source_hash):
    """The image tag of a build of this source: ``src-`` and 20 hex digits of its hash (80 bits)."""
    return f"src-{source_hash[:20]}"
