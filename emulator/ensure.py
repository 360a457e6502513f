"""python -m emulator.ensure --port PORT --state-dir DIR [--stop]

Start the emulator in the background unless one already answers on PORT, and print one JSON
line: {"url": ..., "started": true|false, "pid": N}. With --stop, stop the one this folder's
pid file names: {"stopped": true|false}. `inventories/local` calls it before a deploy, so
`ansible-playbook playbooks/deploy.yml -i inventories/local` works on a fresh machine; its
`changed` is `started`.

The emulator outlives the command (its own session, output to DIR/emulator.log), and keeps its
services in DIR, so a later run finds them.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def answering(url, timeout=1.0):
    """Whether an emulator answers its health endpoint at ``url``."""
    try:
        with urllib.request.urlopen(f"{url}/_emulator/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def read_pid(pid_file):
    try:
        with open(pid_file, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def start(args):
    url = f"http://{args.host}:{args.port}"
    if answering(url):
        return {"url": url, "started": False, "pid": read_pid(args.pid_file)}
    os.makedirs(args.state_dir, exist_ok=True)
    log_path = os.path.join(args.state_dir, "emulator.log")
    argv = [sys.executable, "-m", "emulator", "--host", args.host, "--port", str(args.port),
            "--state-dir", args.state_dir] + (["--fresh-project"] if args.fresh_project else [])
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # not stopped by the terminal's Ctrl-C or the caller's exit
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as log:
                tail = "".join(log.readlines()[-20:])
            sys.exit(f"The emulator exited with {process.returncode} before answering on {url} "
                     f"(is port {args.port} taken?). Last lines of {log_path}:\n{tail}")
        if answering(url):
            with open(args.pid_file, "w", encoding="utf-8") as handle:
                handle.write(str(process.pid))
            return {"url": url, "started": True, "pid": process.pid}
        time.sleep(0.2)
    process.terminate()
    sys.exit(f"The emulator did not answer on {url} within {args.timeout:g} s; see {log_path}.")


def stop(args):
    pid = read_pid(args.pid_file)
    if pid is None:
        return {"stopped": False}
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        os.unlink(args.pid_file)
        return {"stopped": False}
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    os.unlink(args.pid_file)
    return {"stopped": True}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m emulator.ensure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", required=True, help="services, builds and logs live here")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for start or stop")
    parser.add_argument("--fresh-project", action="store_true",
                        help="start it as a new project (python -m emulator --help says what that is)")
    parser.add_argument("--stop", action="store_true", help="stop the emulator this state folder started")
    args = parser.parse_args(argv)
    args.state_dir = os.path.abspath(args.state_dir)
    args.pid_file = os.path.join(args.state_dir, "emulator.pid")
    print(json.dumps(stop(args) if args.stop else start(args)), flush=True)


if __name__ == "__main__":
    main()
