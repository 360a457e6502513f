"""A reliability drill of playbooks/deploy.yml against the emulator: faults, kills, races and canary secrets.

    .venv/bin/python bench/drill.py [--rounds N] [--only NAME ...]

Each scenario runs real ansible-playbook deploys on a copy of the repository with an emulator of
its own (the integration tests' Repo), and the drill prints one line per scenario:

    faults-503-20   converged 3/3      (deploys that ended rc=0 with the asked memory serving 100%)
    race-2.5s       lost 0/5 ...       (both runs rc=0 but the last finisher's change is not what serves)
    secrets         leaked bytes 0 ... (8-character runs of the canary secrets in any output)

Not part of `make test`: it runs some 40 deploys, several minutes. Numbers, not assertions; the
integration tests hold the assertions.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "integration")]

# pylint: disable=wrong-import-position
from test_deploy_playbook import Repo, serving  # noqa: E402
from test_secret_output import add_canaries, leaked as leaked_bytes  # noqa: E402


def memory_serving(repo):
    """{revision: (percent, memory)} of what serves now."""
    memories = {r["name"].rsplit("/", 1)[-1]: r["containers"][0].get("resources", {}).get("limits", {}).get("memory")
                for r in repo.revisions()}
    return {name: (percent, memories.get(name)) for name, percent in serving(repo.service()).items()}


def converged(repo, result, memory):
    if result.returncode != 0:
        return False
    now = memory_serving(repo)
    return len(now) == 1 and list(now.values())[0] == (100, memory)


class Memories:
    """A new memory setting for every deploy, so each one has a change to make."""

    def __init__(self):
        self.mi = 512

    def next(self):
        self.mi += 8
        return f"{self.mi}Mi"


def deploy(repo, memory, *options):
    return repo.playbook("deploy", "-e", f"cloudrun_deploy_memory={memory}", "-e", "cloudrun_deploy_step_pause=0",
                         *options)


def faults(repo, memories, rounds, settings):
    done = 0
    for _round in range(rounds):
        memory = memories.next()
        repo.fault(settings)
        try:
            result = deploy(repo, memory)
        finally:
            repo.fault(None)
        done += converged(repo, result, memory)
    return f"converged {done}/{rounds}"


def total_outage(repo, memories, _rounds):
    """The API drops every connection for longer than any deadline: seconds until the run reports it.
    With the image given, so the run meets the outage at Cloud Run's API, not at the registry."""
    image = repo.service()["template"]["containers"][0]["image"]
    repo.fault({"outage_ms": 400000})
    started = time.monotonic()
    try:
        result = deploy(repo, memories.next(), "-e", f"cloudrun_deploy_image={image}")
    finally:
        repo.fault(None)
    said = any(words in result.output for words in ("cannot reach the API", "kept failing", "Connection aborted"))
    return f"reported after {time.monotonic() - started:.0f} s (rc={result.returncode}, names the cause: {said})"


def _emulator_pid(repo):
    with open(os.path.join(repo.path, ".emulator", "emulator.pid"), encoding="utf-8") as handle:
        return int(handle.read().strip())


def kill_during(repo, memories, rounds, moment):
    """SIGKILL the emulator when ``moment(repo, before)`` holds, then rerun the deploy as a person would."""
    done = 0
    for _round in range(rounds):
        memory = memories.next()
        before = len(repo.revisions())
        process = repo.start_playbook("deploy", "-e", f"cloudrun_deploy_memory={memory}", "-e",
                                      "cloudrun_deploy_step_pause=3", "-e", '{"cloudrun_deploy_traffic_steps": [50, 100]}')
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline and not moment(repo, before):
            time.sleep(0.2)
        os.kill(_emulator_pid(repo), signal.SIGKILL)
        process.communicate(timeout=600)
        done += converged(repo, deploy(repo, memory), memory)
    return f"converged after a rerun {done}/{rounds}"


def candidate_starting(repo, before):
    try:
        return len(repo.revisions()) > before
    except OSError:
        return False


def promoting(repo, _before):
    try:
        return sorted(serving(repo.service()).values()) == [50, 50]
    except OSError:
        return False


def race(repo, memories, rounds, delay):
    """Two deploys with different memory, ``delay`` seconds apart; a change is lost when both report success
    and what serves is not the change of the run that finished last."""
    lost = both = named = 0
    unnamed = []
    for _round in range(rounds):
        runs = []
        for index in range(2):
            memory = memories.next()
            runs.append({"memory": memory, "process": repo.start_playbook(
                "deploy", "-e", f"cloudrun_deploy_memory={memory}", "-e", "cloudrun_deploy_step_pause=1",
                "-e", '{"cloudrun_deploy_traffic_steps": [10, 50, 100]}')})
            if index == 0:
                time.sleep(delay)
        while any(run["process"].poll() is None for run in runs):
            for run in runs:
                if run["process"].poll() is not None and "ended" not in run:
                    run["ended"] = time.monotonic()
            time.sleep(0.1)
        for run in runs:
            run.setdefault("ended", time.monotonic())
            run["output"] = run["process"].communicate()[0]
        last = max(runs, key=lambda run: run["ended"])
        ok = [run for run in runs if run["process"].returncode == 0]
        if len(ok) == 2:
            both += 1
            reported = re.findall(r'"revision": "([^"]+)"', last["output"])
            now = memory_serving(repo)
            if not (reported and now.get(reported[-1]) == (100, last["memory"])):
                lost += 1
        else:
            loser = [run for run in runs if run["process"].returncode != 0]
            said = [run for run in loser if any(words in run["output"] for words in (
                "now names revision", "kept changing", "another write changed the service", "Another deploy"))]
            named += len(said) == len(loser)
            unnamed += [re.findall(r'failed at "([^"]+)"', run["output"])[-1:] for run in loser if run not in said]
    return (f"lost {lost}/{rounds} (both rc=0: {both}; the failing run named the other change: {named}"
            + (f"; others failed at: {unnamed}" if unnamed else "") + ")")


def secrets(repo, memories, _rounds):
    """The canary app of tests/integration/test_secret_output.py: healthy, unhealthy (the health answer shows the
    secrets) and crashing (the start-up error does), each at default verbosity, -v, and -vvv with --diff."""
    add_canaries(repo)
    total, lines = 0, []
    for mode in ("ok", "unhealthy", "crash"):
        for verbosity in ([], ["-v"], ["-vvv", "--diff"]):
            result = deploy(repo, memories.next(), "-e", f"canary_mode={mode}", *verbosity)
            leaked = leaked_bytes(result.output)
            total += leaked
            lines.append(f"{mode} {' '.join(verbosity) or 'default'}: rc={result.returncode} leaked={leaked}")
    return f"leaked bytes {total} ({'; '.join(lines)})"


SCENARIOS = {
    "faults-503-20": lambda repo, m, n: faults(repo, m, n, {"error_rate": 0.2, "error_status": 503}),
    "faults-503-50": lambda repo, m, n: faults(repo, m, n, {"error_rate": 0.5, "error_status": 503}),
    "outage-2s": lambda repo, m, n: faults(repo, m, n, {"outage_ms": 2000}),
    "etag": lambda repo, m, n: faults(repo, m, n, {"etag_conflict": True}),
    "outage-total": total_outage,
    "kill-candidate": lambda repo, m, n: kill_during(repo, m, n, candidate_starting),
    "kill-promote": lambda repo, m, n: kill_during(repo, m, n, promoting),
    "race-0s": lambda repo, m, n: race(repo, m, n, 0.0),
    "race-2.5s": lambda repo, m, n: race(repo, m, n, 2.5),
    "secrets": secrets,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs per scenario (races: pairs of runs)")
    parser.add_argument("--race-rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), help="run these scenarios only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nadle-drill-") as folder:
        repo = Repo(folder)
        try:
            first = repo.playbook("deploy")
            print(f"{'first deploy':16} rc={first.returncode}", flush=True)
            memories = Memories()
            for name in args.only or SCENARIOS:
                started = time.monotonic()
                rounds = args.race_rounds if name.startswith("race") else args.rounds
                outcome = SCENARIOS[name](repo, memories, rounds)
                print(f"{name:16} {outcome}  [{time.monotonic() - started:.0f} s]", flush=True)
        finally:
            repo.stop()


if __name__ == "__main__":
    main()
