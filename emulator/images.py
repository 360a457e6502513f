"""Images: a snapshot of a build context with a Dockerfile stands for a container image.

The emulator builds nothing with Docker and pulls nothing. An image is a copy of its build context
(after ``.dockerignore``) in the emulator's state, like a layer: a later edit of the source does not
change what its revisions run. What the final stage of the Dockerfile says about running the
container (WORKDIR, ENV, EXPOSE, USER, ENTRYPOINT, CMD) is read with dockerfile-parse, and that
command runs on this machine. Of the RUN steps, those that install Python packages run once into a
cached environment (``emulator/layers.py``) that the image's processes get first on their PATH; the
others are not run.
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import sys

from docker.utils.build import exclude_paths
from dockerfile_parse import DockerfileParser

from emulator import layers
from emulator.runtime import host_environment

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


def docker_context(folder, dockerfile="Dockerfile"):
    """The files Docker would send: .dockerignore applied with docker-py, Dockerfile always included."""
    patterns = []
    ignore = os.path.join(folder, ".dockerignore")
    if os.path.isfile(ignore):
        with open(ignore, encoding="utf-8") as handle:
            patterns = [p.strip() for p in handle.read().splitlines() if p.strip() and not p.strip().startswith("#")]
    return set(exclude_paths(folder, patterns, dockerfile=dockerfile))


def snapshot(folder, images_dir):
    """A copy of ``folder``'s build context under ``images_dir``, named by its digest (kept when it exists)."""
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, "Dockerfile")):
        raise ValueError(f"{folder} has no Dockerfile")
    files = sorted(p for p in docker_context(folder) if os.path.isfile(os.path.join(folder, p)))
    sha = hashlib.sha256()
    for name in files:
        sha.update(name.encode() + b"\0")
        with open(os.path.join(folder, name), "rb") as handle:
            sha.update(hashlib.sha256(handle.read()).digest())
    digest = "sha256:" + sha.hexdigest()
    target = os.path.join(images_dir, digest[7:31])
    if not os.path.isdir(target):
        partial = target + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        for name in files:
            os.makedirs(os.path.dirname(os.path.join(partial, name)), exist_ok=True)
            shutil.copy2(os.path.join(folder, name), os.path.join(partial, name))
        os.replace(partial, target)
    return target, digest


def install(folder, log, dockerfile="Dockerfile"):
    """Run the snapshot's Python dependency steps (emulator/layers.py); what its processes need, or None."""
    return layers.prepare(folder, log, dockerfile, ImageConfig(folder).workdir)


def register(store, ref, folder, digest=None, runtime=None):
    """Record ``ref`` as the image whose snapshot is ``folder``; returns the stored entry.

    ``runtime`` is what ``install`` made for it (None: the image installs nothing)."""
    folder = os.path.abspath(folder)
    if not os.path.isfile(os.path.join(folder, "Dockerfile")):
        raise ValueError(f"{folder} has no Dockerfile")
    entry = {"ref": canonical(ref), "dir": folder, "digest": digest or folder_digest(folder), "runtime": runtime}
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


def process_env(entry, config):
    """The environment a process of the image starts with: this machine's basics, the image's Python
    environment first on PATH (not the emulator's own), then the image's ENV with its paths mapped."""
    env = host_environment()
    runtime = entry.get("runtime")
    if runtime:
        own = os.path.dirname(sys.executable)
        path = [p for p in env["PATH"].split(os.pathsep) if p != own]
        env["PATH"] = os.pathsep.join([os.path.join(runtime["system"], "bin")] + path)
        for key in ("VIRTUAL_ENV", "PYTHONPATH"):
            env.pop(key, None)
    base_path = env["PATH"]
    for key, value in config.env.items():
        env[key] = config.host_path(value)
        if key == "PATH":
            env[key] = os.pathsep.join([value, base_path])
    return env


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
            if kind == "WORKDIR":  # WORKDIR $APP_HOME: dockerfile-parse substitutes only in ENV and LABEL
                self.workdir = os.path.normpath(os.path.join(self.workdir, layers.substitute(value.strip(), self.env)))
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
