"""python -m emulator --port PORT [--state-dir DIR] [--image REF=DIR ...]"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading

from emulator import images, layers
from emulator.cloudbuild import CloudBuild
from emulator.cloudrun import CloudRun, now
from emulator.iam import Policies, project_number
from emulator.faults import Faults
from emulator.project import Project
from emulator.proxy import Proxy
from emulator.runtime import Runtime
from emulator.secretmanager import SecretManager
from emulator.storage import Storage
from emulator.server import Api, make_server
from emulator.store import Store


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="API port; 0 picks a free one")
    parser.add_argument("--state-dir", help="keep state (and revision logs) here across restarts")
    parser.add_argument("--image", action="append", default=[], metavar="REF=DIR",
                        help="register DIR, a folder with a Dockerfile, as image REF")
    parser.add_argument("--startup-timeout", type=float, default=30.0,
                        help="seconds a revision gets to listen on PORT when it sets no startup probe")
    parser.add_argument("--sync-wait", type=float, default=0.0,
                        help="a fast path for local loops: hold each write up to this many seconds and answer "
                             "done; 0 (the default) answers every write with a pending operation, as Google does")
    parser.add_argument("--fresh-project", action="store_true",
                        help="play a new project: only Google's default APIs enabled, no Artifact Registry "
                             "repository, secret IAM enforced (the default is a project set up already)")
    parser.add_argument("--verbose", action="store_true", help="log every API request")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    store = Store(args.state_dir)
    scratch = None
    data_dir = args.state_dir or tempfile.mkdtemp(prefix="cloudrun-emulator-")
    if not args.state_dir:
        scratch = data_dir
    for spec in args.image:
        ref, sep, folder = spec.partition("=")
        if not sep:
            sys.exit(f"--image takes REF=DIR, got {spec!r}")
        try:
            # A snapshot, as a build would make it: later edits of DIR do not change this image.
            copy, digest = images.snapshot(folder, os.path.join(data_dir, "images"))
            images.register(store, ref, copy, digest, images.install(copy, lambda line: print(f"{ref}: {line}")))
        except (ValueError, OSError, layers.StepFailure) as exc:
            lines = "".join(f"\n{line}" for line in getattr(exc, "lines", []))
            sys.exit(f"--image {spec}: {exc}{lines}")
    log_dir = os.path.join(data_dir, "logs")
    os.makedirs(log_dir, exist_ok=True)

    faults = Faults()
    project = Project(store, now, fresh=args.fresh_project, faults=faults)
    runtime = Runtime(log_dir)
    secrets = SecretManager(store, now, Policies(store, faults))
    options = {"startup_timeout": args.startup_timeout, "sync_wait": args.sync_wait, "secrets": secrets,
               "fresh": project.fresh}
    cloudrun = CloudRun(store, runtime, faults, options)
    proxy = Proxy(args.host, cloudrun.route)
    cloudrun.attach_proxy(proxy)
    storage = Storage(store, data_dir, now)
    builds = CloudBuild(store, storage, data_dir, now, project_number, faults, project)
    api = Api(cloudrun, secrets, builds, storage, faults, store, project)
    server = make_server(args.host, args.port, api, args.verbose)
    cloudrun.api_base = f"http://{args.host}:{server.server_address[1]}"
    cloudrun.restore_urls()
    cloudrun.resume()
    cloudrun.jobs.resume()
    builds.resume()

    stopping = threading.Event()

    def stop(_signum, _frame):
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    thread = threading.Thread(target=server.serve_forever, name="api", daemon=True)
    thread.start()
    print(f"listening on {cloudrun.api_base}", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        proxy.close_all()
        runtime.stop_all()
        store.save()
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
