"""Start an emulator in a subprocess for tests and scripts, and talk to its admin endpoints."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def request_json(url, body=None, method=None):
    """One JSON request (POST when there is a body, else GET, unless ``method`` says); its JSON answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data else "GET"),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def admin(endpoint, path, body=None, method=None):
    """An admin endpoint of the emulator at ``endpoint``: ``/_emulator/<path>``."""
    return request_json(f"{endpoint}/_emulator/{path}", body, method)


def processes_where(matches):
    """PIDs of this machine's processes for which ``matches(pid)`` holds (an OSError counts as no)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if matches(pid):
                found.append(int(pid))
        except OSError:
            pass
    return found


def still_there(find, seconds=5.0):
    """What ``find()`` still returns after up to ``seconds`` of waiting for it to return nothing."""
    deadline = time.monotonic() + seconds
    while find() and time.monotonic() < deadline:
        time.sleep(0.1)
    return find()


class EmulatorProcess:
    """``with EmulatorProcess(images={...}) as emu:`` -> emu.endpoint is ``http://127.0.0.1:PORT``."""

    def __init__(self, images=None, state_dir=None, extra_args=(), startup_timeout=10.0):
        self.images = images or {}
        self.state_dir = state_dir
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.proc = None
        self.endpoint = None
        self.output = []

    def start(self, timeout=30.0):
        argv = [sys.executable, "-m", "emulator", "--port", "0",
                "--startup-timeout", str(self.startup_timeout)] + self.extra_args
        if self.state_dir:
            argv += ["--state-dir", self.state_dir]
        for ref, folder in self.images.items():
            argv += ["--image", f"{ref}={folder}"]
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            match = re.match(r"listening on (http://\S+)", line)
            if match:
                self.endpoint = match.group(1)
                # Keep reading what it prints (its last lines in ``output``): a pipe nobody reads fills up,
                # and an emulator printing a traceback would then hang in the middle of a request.
                threading.Thread(target=self._drain, name="emulator-output", daemon=True).start()
                return self
        self.stop()
        raise RuntimeError("the emulator did not start:\n" + "".join(self.output))

    def _drain(self):
        try:
            for line in self.proc.stdout:
                self.output.append(line)
                del self.output[:-500]
        except (ValueError, OSError):  # closed by stop()
            pass

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def host(self):
        """``host:port``, the value for CLOUDRUN_EMULATOR_HOST."""
        return self.endpoint.split("://", 1)[1]

    def admin(self, path, body=None, method=None):
        return admin(self.endpoint, path, body, method)
