"""What an image's Python dependencies cost at the emulator: builds with nothing to install, a fresh
environment, and the same dependencies again (issue 16).

    .venv/bin/python bench/builds.py [--repeat 3]

Each round, with an empty environment cache (NADLE_EMULATOR_CACHE in a temporary folder), one
emulator and nadle.cloudrun.cloudbuild_submit, as the role runs it:

- ``none``: a source whose Dockerfile installs nothing (emulator/tests/apps/echo);
- ``fresh``: the example backend (``pip install uv``, then ``uv sync --frozen --no-dev``), its
  environment made;
- ``reused``: the example backend again after a code change: the same dependencies, the
  environment reused.

Printed: the emulator's build time (its createTime to finishTime) and the task's wall time, medians
of --repeat rounds, and ``reused - none``, what a build with dependencies costs over one without.
Numbers only: compare within one run.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from emulator.testing import EmulatorProcess, request_json  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
PROJECT = "bench"
REPO = "europe-west1-docker.pkg.dev/bench/apps"
PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - nadle.cloudrun.cloudbuild_submit:
        project: bench
        region: europe-west1
        api_endpoint: "{endpoint}"
        path: "{path}"
        image: "{image}"
"""


def seconds(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def build(emulator, folder, image, scratch):
    playbook = os.path.join(scratch, "build.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAY.format(endpoint=emulator.endpoint, path=folder, image=image))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    started = time.monotonic()
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), playbook], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(done.stdout[-3000:])
    builds = request_json(f"{emulator.endpoint}/v1/projects/{PROJECT}/locations/global/builds")["builds"]
    newest = builds[0]
    return seconds(newest["finishTime"]) - seconds(newest["createTime"]), wall


def one_round(scratch):
    os.environ["NADLE_EMULATOR_CACHE"] = os.path.join(scratch, "envs")
    backend = os.path.join(scratch, "backend")
    shutil.copytree(os.path.join(ROOT, "examples", "xai-community-backend"), backend)
    echo = os.path.join(scratch, "echo")
    shutil.copytree(os.path.join(ROOT, "emulator", "tests", "apps", "echo"), echo)
    with EmulatorProcess(state_dir=os.path.join(scratch, "state")) as emulator:
        times = {"none": build(emulator, echo, f"{REPO}/echo", scratch),
                 "fresh": build(emulator, backend, f"{REPO}/backend", scratch)}
        with open(os.path.join(backend, "main.py"), "a", encoding="utf-8") as handle:
            handle.write("\n# a code change\n")
        times["reused"] = build(emulator, backend, f"{REPO}/backend", scratch)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rounds = []
    for _round in range(args.repeat):
        scratch = tempfile.mkdtemp(prefix="nadle-bench-builds-")
        try:
            rounds.append(one_round(scratch))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'build':<8} {'emulator s':>11} {'task s':>8}   (medians of {args.repeat})")
    medians = {}
    for kind in ("none", "fresh", "reused"):
        medians[kind] = (statistics.median(r[kind][0] for r in rounds), statistics.median(r[kind][1] for r in rounds))
        print(f"{kind:<8} {medians[kind][0]:>11.2f} {medians[kind][1]:>8.2f}")
    print(f"reused - none: {medians['reused'][0] - medians['none'][0]:+.2f} s at the emulator, "
          f"{medians['reused'][1] - medians['none'][1]:+.2f} s for the task")


if __name__ == "__main__":
    main()
