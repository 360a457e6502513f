"""Images: a registered folder with a Dockerfile stands for a container image.

The emulator does not build or pull anything. It reads what the final stage of the
Dockerfile says about running the container (WORKDIR, ENV, EXPOSE, USER, ENTRYPOINT,
CMD) with dockerfile-parse, and runs that command on this machine. RUN steps are
not executed: the host's Python provides the app's packages.
"""

import hashlib
import json
import os
import re
import shlex

from dockerfile_parse import DockerfileParser

# Cloud Run's accepted form: [hostname/]repo-path[:tag and/or @digest]
IMAGE_RE = re.compile(
    r"^(?:[a-zA-Z0-9][a-zA-Z0-9.-]*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$"
)
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", "node_modules"}


def split_ref(ref):
    """``host/repo:tag@sha256:d`` -> (``host/repo``, ``tag`` or None, ``sha256:d`` or None)."""
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = None
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        ref, tag = ref.rsplit(":", 1)
    return ref, tag, digest


def canonical(ref):
    """The key an image is registered under: ``repo:tag``, with ``latest`` for a bare repo."""
    repo, tag, _digest = split_ref(ref)
    return f"{repo}:{tag or 'latest'}"


def folder_digest(folder):
    """A content digest of a folder, so the same source gives the same ``sha256:`` digest."""
    sha = hashlib.sha256()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            path = os.path.join(root, name)
            sha.update(os.path.relpath(path, folder).encode() + b"\0")
            with open(path, "rb") as handle:
                sha.update(hashlib.sha256(handle.read()).digest())
    return "sha256:" + sha.hexdigest()


def register(store, ref, folder, digest=None):
    """Record ``ref`` as the image built from ``folder``; returns the stored entry."""
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, "Dockerfile")):
        raise ValueError(f"{folder} has no Dockerfile")
    entry = {"ref": canonical(ref), "dir": folder, "digest": digest or folder_digest(folder)}
    with store.lock:
        before = store.images.get(entry["ref"])
        if before and before["digest"] != entry["digest"]:
            # A registry keeps the manifest a tag no longer names: reachable by its digest.
            store.images[f"{split_ref(before['ref'])[0]}@{before['digest']}"] = before
        store.images[entry["ref"]] = entry
        store.save()
    return entry


def resolve(store, ref):
    """The registered entry for an image reference, by digest first, else by tag; or None."""
    repo, tag, digest = split_ref(ref)
    with store.lock:
        entries = list(store.images.values())
    if digest:
        for entry in entries:
            if entry["digest"] == digest and split_ref(entry["ref"])[0] == repo:
                return entry
        return None
    key = f"{repo}:{tag or 'latest'}"
    for entry in entries:
        if entry["ref"] == key:
            return entry
    return None


def _exec_or_shell(value):
    """Docker's two forms: a JSON array runs as is, anything else under /bin/sh -c."""
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return parsed
    return ["/bin/sh", "-c", value]


class ImageConfig:
    """What the final stage of a Dockerfile says about running the container."""

    def __init__(self, folder):
        parser = DockerfileParser(path=os.path.join(folder, "Dockerfile"), env_replace=True)
        self.folder = folder
        self.env = dict(parser.envs)  # final stage, both ENV syntaxes, variables expanded
        self.workdir = "/"
        self.expose = []
        self.user = None
        self.entrypoint = None
        self.cmd = None
        self.healthcheck = None
        last_from = max(
            (i for i, ins in enumerate(parser.structure) if ins["instruction"] == "FROM"), default=-1
        )
        for ins in parser.structure[last_from + 1:]:
            kind, value = ins["instruction"], ins["value"]
            if kind == "WORKDIR":
                self.workdir = os.path.normpath(os.path.join(self.workdir, value.strip()))
            elif kind == "EXPOSE":
                self.expose += [p.split("/")[0] for p in value.split()]
            elif kind == "USER":
                self.user = value.strip()
            elif kind == "ENTRYPOINT":
                self.entrypoint = _exec_or_shell(value)
                self.cmd = None  # Docker resets CMD when ENTRYPOINT is set after it
            elif kind == "CMD":
                self.cmd = _exec_or_shell(value)
            elif kind == "HEALTHCHECK":
                self.healthcheck = value

    def host_path(self, value):
        """Map a path under the image WORKDIR to the folder that stands for it."""
        if self.workdir != "/" and (value == self.workdir or value.startswith(self.workdir + "/")):
            return self.folder + value[len(self.workdir):]
        return value

    def argv(self, command=None, args=None):
        """Kubernetes rules: ``command`` replaces ENTRYPOINT (and drops CMD), ``args`` replaces CMD."""
        entrypoint = list(command) if command else list(self.entrypoint or [])
        if args:
            cmd = list(args)
        elif command:
            cmd = []
        else:
            cmd = list(self.cmd or [])
        # An ENTRYPOINT in shell form ignores CMD, as in Docker.
        if not command and self.entrypoint and self.entrypoint[:2] == ["/bin/sh", "-c"]:
            cmd = []
        return entrypoint + cmd

    def describe(self):
        return shlex.join(self.argv()) if self.argv() else "(no ENTRYPOINT or CMD)"
