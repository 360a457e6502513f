"""Revision processes: start a revision's command, wait until it listens, stop it.

Every process is started from one long-lived thread, in its own process group, under
``supervise.py``, which the kernel signals when that thread ends (PR_SET_PDEATHSIG) and
which then kills the whole group, so that neither a clean stop nor a crash of the emulator
leaves a process behind, the command's own children included.
"""

import collections
import datetime
import ctypes
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

LOG_LINES = 200
_PR_SET_PDEATHSIG = 1

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


SUPERVISE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "supervise.py")


def _die_with_parent():
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1)  # supervise.py kills its group on it


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_K8S_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


def expand(value, env):
    """Kubernetes ``$(VAR)`` expansion in command and args; ``$$`` escapes, unknown stays."""
    def sub(match):
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))
    return _K8S_VAR.sub(sub, value)


class RevisionProcess:
    """One running instance of a revision."""

    def __init__(self, name, argv, cwd, env, port, log_path=None):
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.port = port
        self.log_path = log_path
        self.lines = collections.deque(maxlen=LOG_LINES)
        self.proc = None
        self._reader = None

    def start(self, spawner):
        self.proc = spawner.spawn(self.argv, self.cwd, self.env)
        self._reader = threading.Thread(target=self._read, name=f"log-{self.name}", daemon=True)
        self._reader.start()

    def _read(self):
        log = open(self.log_path, "a", encoding="utf-8") if self.log_path else None
        try:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                if log:  # each line with the time it was written, as Cloud Logging keeps it
                    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    log.write(f"{stamp}\t{line}\n")
                    log.flush()
        finally:
            if log:
                log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def wait_ready(self, timeout):
        """True once the port accepts a TCP connection; False if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                break
            if self.listening():
                return True
            time.sleep(0.05)
        return False

    def log_tail(self, count=30):
        if self._reader is not None:
            self._reader.join(timeout=1.0 if not self.alive() else 0.05)
        return list(self.lines)[-count:]

    def stop(self, grace=5.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=grace)
        # A child that left the group, or one still in it after the leader exited.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Spawner:
    """Starts every child from one thread: PR_SET_PDEATHSIG fires when the *thread* that forked ends."""

    def __init__(self):
        self._requests = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="spawner", daemon=True)
        self._thread.start()

    def _loop(self):
        while True:
            argv, cwd, env, reply = self._requests.get()
            try:
                reply.put(subprocess.Popen(  # pylint: disable=consider-using-with
                    [sys.executable, "-I", SUPERVISE, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=_die_with_parent,
                ))
            except OSError as exc:
                reply.put(exc)

    def spawn(self, argv, cwd, env):
        reply = queue.Queue()
        self._requests.put((argv, cwd, env, reply))
        result = reply.get()
        if isinstance(result, Exception):
            raise result
        return result


def host_environment():
    """What a revision inherits from this machine: enough to find the host's Python and tools."""
    bindir = os.path.dirname(sys.executable)
    path = os.pathsep.join([bindir, os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")])
    env = {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8"}
    for key in ("TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"):
        if key in os.environ:
            env[key] = os.environ[key]
    if "VIRTUAL_ENV" not in env and sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return env


class Runtime:
    """The running revision processes, by revision name."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.spawner = Spawner()
        self.lock = threading.RLock()
        self.processes = {}

    def start(self, name, argv, cwd, env, port=True):
        """Start ``argv``; with ``port`` (a revision), on a free port it is told in PORT."""
        port = free_port() if port else None
        if port:
            env = dict(env, PORT=str(port))
        process = RevisionProcess(name, argv, cwd, env, port, self.log_path(name))
        process.start(self.spawner)
        return process

    def log_entries(self, name):
        """(timestamp, line) of every line the revision wrote, from its log file, oldest first."""
        path = self.log_path(name)
        if not path or not os.path.exists(path):
            return []
        entries = []
        with open(path, encoding="utf-8") as handle:
            for row in handle.read().splitlines():
                stamp, tab, text = row.partition("\t")
                entries.append((stamp, text) if tab else ("", row))
        return entries

    def write_log(self, name, line):
        """A line of the platform's own in the log of ``name`` ("Container called exit(3).")."""
        path = self.log_path(name)
        if path:
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{stamp}\t{line}\n")

    def log_path(self, name):
        """The revision's log file: its full resource name with the slashes made safe."""
        return os.path.join(self.log_dir, name.replace("/", "~") + ".log") if self.log_dir else None

    def adopt(self, process):
        """Keep ``process`` as the serving instance of its revision, replacing any older one."""
        with self.lock:
            old = self.processes.get(process.name)
            self.processes[process.name] = process
        if old is not None and old is not process:
            old.stop()

    def get(self, name):
        with self.lock:
            process = self.processes.get(name)
        if process is not None and process.alive():
            return process
        return None

    def stop(self, name):
        with self.lock:
            process = self.processes.pop(name, None)
        if process is not None:
            process.stop()

    def names(self):
        with self.lock:
            return list(self.processes)

    def stop_all(self):
        for name in self.names():
            self.stop(name)
