"""An image's Python dependencies: its RUN steps that install them, run once into a cached environment.

The emulator runs a revision's command on this machine, so what a Dockerfile installs with
``RUN pip install ...`` (``-r`` files and ``.`` included), ``RUN pip install uv`` then
``RUN uv sync`` / ``RUN uv pip install ...`` must be installed here too. Each image gets:

- a *system* environment, a virtualenv that stands for the image's own Python: ``pip install`` and
  ``uv pip install`` go there, and its ``bin`` comes first on the revision's PATH;
- for ``uv sync``, a *project* environment (``UV_PROJECT_ENVIRONMENT``), linked as ``.venv`` in the
  image's working directory, where uv itself puts it, so ``uv run`` and ``.venv/bin/...`` find it.

Both are cached by a hash of the interpreter, the dependency steps (with their WORKDIR and ENV) and
the files they read (``requirements*.txt``, ``pyproject.toml``, ``uv.lock``, ``poetry.lock``,
``setup.py``, ``setup.cfg``, and every file when a step installs ``.``): the same inputs start at
once, as Docker's layer cache would. Any other RUN line (apt-get, useradd, chown, ...) is not run,
and the build log says so, line by line. The interpreter follows ``FROM python:X.Y`` when a
``pythonX.Y`` is on PATH, else it is the emulator's own. Installs use the index this machine's pip
and uv are configured for: nothing here names one.
"""

import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

from dockerfile_parse import DockerfileParser

DEPENDENCY_FILES = ("requirements*.txt", "pyproject.toml", "uv.lock", "poetry.lock", "setup.py", "setup.cfg")
INSTALL_TIMEOUT = 900  # seconds one installer may take
TAIL = 20  # lines of a failed installer's output in the build log


class StepFailure(Exception):
    """A dependency step that failed: the message is Docker's, the lines the installer's last ones."""

    def __init__(self, message, lines):
        super().__init__(message)
        self.lines = lines


def cache_root():
    """Where environments are kept across emulators and runs (NADLE_EMULATOR_CACHE, else the user's cache)."""
    return os.environ.get("NADLE_EMULATOR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "nadle-cloudrun",
        "emulator-envs")


_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))")


def substitute(value, env):
    """Docker's variable substitution in WORKDIR, ENV and the like: ``$VAR``, ``${VAR}``, ``${VAR:-default}``."""
    def replace(match):
        name = match.group(1) or match.group(3)
        return env.get(name) or (match.group(2) or "")
    return _VARIABLE.sub(replace, value)


def _env_pairs(value):
    """ENV's two forms: ``KEY=value KEY2="v 2"`` and the legacy ``KEY value with spaces``."""
    value = value.strip()
    first = value.split(None, 1)[0] if value else ""
    if "=" not in first:
        key, _sep, rest = value.partition(" ")
        return {key: rest.strip()}
    return dict(part.split("=", 1) for part in shlex.split(value) if "=" in part)


def _commands(value):
    """The commands of a RUN line: its exec form, or its shell form split at ``&&`` and ``;``."""
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
            return [[str(p) for p in parsed]]
        except ValueError:
            pass
    commands, current, quote = [], "", None
    index = 0
    while index < len(value):
        char = value[index]
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif value.startswith("&&", index) or char == ";":
            commands.append(current)
            current = ""
            index += 2 if char == "&" else 1
            continue
        current += char
        index += 1
    commands.append(current)
    try:
        return [shlex.split(c) for c in commands if c.strip()]
    except ValueError:
        return [[value]]


def _kind(argv):
    """What a command is to the emulator: pip, uv-sync, uv-pip, or None (not run)."""
    words = [w for w in argv if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]  # FOO=1 pip install ...
    if len(words) >= 2 and re.match(r"^pip[0-9.]*$", os.path.basename(words[0])) and words[1] == "install":
        return "pip", words[2:]
    if words[1:4] == ["-m", "pip", "install"] and re.match(r"^python[0-9.]*$", os.path.basename(words[0])):
        return "pip", words[4:]
    if words[:2] == ["uv", "sync"]:
        return "uv-sync", words[2:]
    if words[:3] == ["uv", "pip", "install"]:
        return "uv-pip", words[3:]
    return None, words


def plan(folder, dockerfile="Dockerfile"):
    """The final stage's RUN steps in order: dicts {kind, args, text, workdir, env}; kind None is not run."""
    parser = DockerfileParser(path=os.path.join(folder, dockerfile), env_replace=True)
    structure = parser.structure
    last_from = max((i for i, ins in enumerate(structure) if ins["instruction"] == "FROM"), default=-1)
    base = structure[last_from]["value"].strip() if last_from >= 0 else ""
    workdir, env, steps = "/", {}, []
    for ins in structure[last_from + 1:]:
        kind, value = ins["instruction"], ins["value"]
        if kind == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, substitute(value.strip(), env)))
        elif kind == "ENV":
            env.update({k: substitute(v, env) for k, v in _env_pairs(value).items()})
        elif kind == "RUN":
            for argv in _commands(value):
                what, args = _kind(argv)
                steps.append({"kind": what, "args": args, "text": " ".join(argv), "workdir": workdir,
                              "env": dict(env)})
    return base, steps


def interpreter(base):
    """(python executable, what the log says) for ``FROM python:X.Y...``."""
    match = re.match(r"^(?:\S+/)?python:(\d+\.\d+)", base.split(" AS ")[0].split(" as ")[0].strip())
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    emulator_python = getattr(sys, "_base_executable", None) or sys.executable  # not the emulator's venv
    if match:
        wanted = match.group(1)
        if wanted == own:
            return emulator_python, f"Python {wanted} for {base}: {emulator_python}, the emulator's own"
        found = shutil.which(f"python{wanted}")
        if found:
            return found, f"Python {wanted} for {base}: {found}"
        return emulator_python, f"no python{wanted} on this machine for {base}; using the emulator's Python {own}"
    return emulator_python, f"the emulator's Python {own} for {base or 'the image'}"


def _read_files(folder, steps):
    """Digest of the files the dependency steps read, relative to the folder (every file when one installs .)."""
    sha = hashlib.sha256()
    whole = any(s["kind"] and any(a in (".", "-e.", "./") or a.startswith("./") for a in s["args"]) for s in steps)
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in (".git", ".venv", "__pycache__"))
        for name in sorted(files):
            path = os.path.join(root, name)
            if whole or any(fnmatch.fnmatch(name, pattern) for pattern in DEPENDENCY_FILES):
                sha.update(os.path.relpath(path, folder).encode() + b"\0")
                with open(path, "rb") as handle:
                    sha.update(hashlib.sha256(handle.read()).digest())
    return sha.hexdigest()


def _host_path(folder, workdir, image_workdir):
    """The folder that stands for ``workdir``: the image's final WORKDIR is the folder itself."""
    if image_workdir != "/" and (workdir == image_workdir or workdir.startswith(image_workdir + "/")):
        return folder + workdir[len(image_workdir):]
    return folder


def _run(argv, cwd, env, text, log):
    started = time.monotonic()
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StepFailure(f"The command '/bin/sh -c {text}' could not run: {exc}", []) from exc
    output = (done.stdout + done.stderr).splitlines()
    if done.returncode != 0:
        if done.returncode == 127 or "No such file" in (done.stderr or ""):
            output.append(f"/bin/sh: 1: {argv[0]}: not found")
        raise StepFailure(f"The command '/bin/sh -c {text}' returned a non-zero code: {done.returncode}",
                          output[-TAIL:])
    log(f" ... done in {time.monotonic() - started:.1f}s")


def _installer_env(system, project, step, image_workdir, folder):
    env = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "UV_")) or k in (
        "HOME", "LANG", "TMPDIR", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "XDG_CACHE_HOME", "HTTP_PROXY", "HTTPS_PROXY",
        "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")}
    for key, value in step["env"].items():
        env[key] = _host_path(folder, value, image_workdir) if value.startswith("/") else value
    env["PATH"] = os.pathsep.join([os.path.join(system, "bin"), "/usr/local/bin", "/usr/bin", "/bin"])
    env.update(VIRTUAL_ENV=system, UV_PROJECT_ENVIRONMENT=project, UV_PYTHON=os.path.join(system, "bin", "python"),
               UV_PYTHON_DOWNLOADS="never", UV_LINK_MODE="copy", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    return env


def _install(target, python, steps, folder, image_workdir, log):
    """Make the environments in ``target`` (a fresh folder) by running the dependency steps."""
    system, project = os.path.join(target, "system"), os.path.join(target, "project")
    log("a virtual environment for the image's Python")
    _run([python, "-m", "venv", system], folder, dict(os.environ), f"{python} -m venv", log)
    for step in steps:
        if step["kind"] is None:
            continue
        log(f"RUN {step['text']}")
        cwd = _host_path(folder, step["workdir"], image_workdir)
        env = _installer_env(system, project, step, image_workdir, folder)
        uv = shutil.which("uv", path=env["PATH"].split(os.pathsep)[0])
        if step["kind"] == "pip":
            _run([os.path.join(system, "bin", "python"), "-m", "pip", "install", *step["args"]], cwd, env,
                 step["text"], log)
        elif uv is None:
            raise StepFailure(f"The command '/bin/sh -c {step['text']}' returned a non-zero code: 127",
                              ["/bin/sh: 1: uv: not found"])
        elif step["kind"] == "uv-sync":
            _run([uv, "sync", *step["args"]], cwd, env, step["text"], log)
        else:
            _run([uv, "pip", "install", "--python", os.path.join(system, "bin", "python"), *step["args"]], cwd, env,
                 step["text"], log)


def prepare(folder, log, dockerfile="Dockerfile", image_workdir="/"):
    """Run the image's dependency steps (or reuse their environments); returns what a process of the image
    needs ({system, project, python}) or None when the image installs nothing. StepFailure when a step fails."""
    base, steps = plan(folder, dockerfile)
    for step in steps:
        if step["kind"] is None:
            log(f"RUN {step['text']}: not run (the emulator runs only the steps that install Python packages)")
    if not any(s["kind"] for s in steps):
        return None
    python, said = interpreter(base)
    log(said)
    version = subprocess.run([python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
                             check=False).stdout.strip()
    recipe = json.dumps([version, [(s["kind"], s["text"], s["workdir"], s["env"]) for s in steps if s["kind"]],
                         _read_files(folder, steps)], sort_keys=True)
    key = hashlib.sha256(recipe.encode()).hexdigest()[:24]
    root = cache_root()
    target = os.path.join(root, key)
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, f"{key}.lock"), "w", encoding="utf-8") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one install per environment, across emulators
        if os.path.isfile(os.path.join(target, "done")):
            log(f"Python dependencies: reusing environment {key} (nothing to install)")
        else:
            shutil.rmtree(target, ignore_errors=True)
            started = time.monotonic()
            try:
                _install(target, python, steps, folder, image_workdir, log)
            except StepFailure:
                shutil.rmtree(target, ignore_errors=True)
                raise
            with open(os.path.join(target, "done"), "w", encoding="utf-8") as handle:
                handle.write(recipe)
            log(f"Python dependencies: environment {key} made in {time.monotonic() - started:.1f}s")
    project = os.path.join(target, "project")
    uv_step = next((s for s in steps if s["kind"] == "uv-sync"), None)
    if uv_step and os.path.isdir(project):
        # Where uv put it in the image: .venv in the uv step's WORKDIR, so `uv run` and .venv/bin find it.
        link = os.path.join(_host_path(folder, uv_step["workdir"], image_workdir), ".venv")
        if os.path.islink(link):
            os.unlink(link)
        if not os.path.exists(link):
            os.symlink(project, link)
    return {"system": os.path.join(target, "system"), "key": key}
