"""What a no-op deploy costs: wall time and API requests, beside a play of the same shape.

    .venv/bin/python bench/noop.py [--sizes 1 10] [--repeat 3] [--rollouts 2 20] [--writes 5]

For each N, an inventory of N services (copies of inventories/local's example service) is deployed
once to a fresh emulator, then deployed again with nothing changed, which is what is measured:
the wall time of `ansible-playbook playbooks/deploy.yml`, and the API requests the emulator saw,
by HTTP method. Beside it, the same play shape (same hosts, same number of tasks per host, same
forks) made of ansible.builtin.ping tasks, and the ratio of the two wall times; and a one-task ping
play over the same hosts (Ansible's own floor) with its ratio, the module runs per host of the no-op
run, and its API requests per service. Medians of --repeat runs. The first deploy and a changed
deploy (one env value changed: a build check, a new revision, the candidate check and the steps)
are timed too.

Then, with the emulator's rollouts taking a set time (its rollout_ms fault), --writes writes of one
service with cloudrun_service, each a new revision: the delay between an operation becoming done
(the emulator's clock) and the task's result reaching Ansible (median). Numbers only: machines
are noisy, so compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from emulator.runtime import free_port  # noqa: E402  pylint: disable=wrong-import-position
from emulator.testing import admin  # noqa: E402  pylint: disable=wrong-import-position
BIN = os.path.dirname(sys.executable)
SERVICE = "xai-community-backend"


def make_inventory(folder, count):
    """inventories/local with ``count`` hosts that share the example service's settings."""
    inventory = os.path.join(folder, "inventories", "bench")
    shutil.copytree(os.path.join(ROOT, "inventories", "local"), inventory)
    with open(os.path.join(inventory, "host_vars", f"{SERVICE}.yml"), encoding="utf-8") as handle:
        service_vars = handle.read().replace("{{ inventory_dir }}/../..", ROOT)
    os.unlink(os.path.join(inventory, "host_vars", f"{SERVICE}.yml"))
    group_vars = os.path.join(inventory, "group_vars", "local.yml")
    with open(group_vars, encoding="utf-8") as handle:
        text = handle.read().replace('"{{ inventory_dir }}/../.."', json.dumps(ROOT))
    # A changed deploy: -e bench_run=N changes one env value.
    service_vars = service_vars.split("---", 1)[1].replace("cloudrun_deploy_env:\n", "_bench_env:\n", 1)
    # Each service its own migration job (tests/integration/test_fleet.py has two services sharing one).
    service_vars = service_vars.replace("name: xai-community-backend-migrate", 'name: "{{ inventory_hostname }}-migrate"')
    service_vars += "\ncloudrun_deploy_env: \"{{ _bench_env | combine({'BENCH_RUN': bench_run | default('0')}) }}\"\n"
    with open(group_vars, "w", encoding="utf-8") as handle:
        handle.write(text + "\n" + service_vars)
    hosts = "".join(f"    bench-{i:02d}:\n" for i in range(count))
    with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write(f"---\nlocal:\n  hosts:\n{hosts}")
    return inventory


def run(argv, env):
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return elapsed, result.stdout


def tasks_per_host(output):
    """ok + changed + skipped of the first host in the recap: the tasks one host ran."""
    match = re.search(r"ok=(\d+)\s+changed=\d+\s+unreachable=\d+\s+failed=\d+\s+skipped=(\d+)", output)
    return int(match[1]) + int(match[2])


def module_runs(argv, env, folder):
    """Module runs per host (median) of one more no-op run, counted by bench/callback_plugins/module_runs.py."""
    counts = os.path.join(folder, "module_runs.json")
    env = dict(env, ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "bench", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="module_runs", NADLE_MODULE_RUNS=counts)
    run(argv, env)
    with open(counts, encoding="utf-8") as handle:
        runs = json.load(handle)
    return statistics.median(runs.values()) if runs else 0


def ping_play(folder, tasks):
    path = os.path.join(folder, "ping.yml")
    body = "".join(f"    - name: Ping {i}\n      ansible.builtin.ping:\n" for i in range(tasks))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"---\n- name: Same shape\n  hosts: all\n  gather_facts: false\n  tasks:\n{body}")
    return path


def write_play(folder, writes):
    """``writes`` cloudrun_service writes of bench-00, each a new revision (a new request timeout)."""
    path = os.path.join(folder, "writes.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"""---
- name: Writes
  hosts: bench-00
  gather_facts: false
  module_defaults:
    group/nadle.cloudrun.gcp:
      project: "{{{{ cloudrun_deploy_project }}}}"
      region: "{{{{ cloudrun_deploy_region }}}}"
      api_endpoint: "{{{{ cloudrun_deploy_api_endpoint }}}}"
  tasks:
    - name: A new revision
      nadle.cloudrun.cloudrun_service:
        name: bench-00
        timeout: "{{{{ 200 + item }}}}"
      loop: {list(range(1, writes + 1))}
""")
    return path


def wait_delays(api, env, inventory, folder, seconds, writes):
    """Median seconds from each rollout's operation becoming done to its task item's result."""
    ends_file = os.path.join(folder, "task_ends.json")
    env = dict(env, ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "bench", "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="task_ends", NADLE_TASK_ENDS=ends_file)
    before = {o["name"] for o in admin(api, "operations")["operations"]}
    admin(api, "faults", {"rollout_ms": int(seconds * 1000)})
    try:
        run([os.path.join(BIN, "ansible-playbook"), write_play(folder, writes), "-i", inventory], env)
    finally:
        admin(api, "faults", method="DELETE")
    done = sorted(o["doneAt"] for o in admin(api, "operations")["operations"] if o["name"] not in before and o["done"])
    with open(ends_file, encoding="utf-8") as handle:
        ends = json.load(handle)
    if len(done) != len(ends):
        sys.exit(f"{len(done)} operations finished for {len(ends)} writes")
    return statistics.median(end - finished for end, finished in zip(ends, done))


def measure(count, repeat, rollouts=(), writes=5):
    folder = tempfile.mkdtemp(prefix="nadle-bench-")
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    state = os.path.join(folder, "emulator")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CLOUDRUN_EMULATOR_HOST")}
    env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               NADLE_EMULATOR_PORT=str(port), NADLE_EMULATOR_STATE_DIR=state, ANSIBLE_FORCE_COLOR="0")
    inventory = make_inventory(folder, count)
    deploy = [os.path.join(BIN, "ansible-playbook"), "playbooks/deploy.yml", "-i", inventory, "--forks", "10"]
    try:
        first = run(deploy, env)[0]
        walls, requests = [], None
        for _round in range(repeat):
            admin(api, "requests", method="DELETE")
            wall, output = run(deploy, env)
            walls.append(wall)
            requests = admin(api, "requests")
            if requests["writes"]:
                sys.exit(f"a no-op deploy wrote: {requests}")
        ping = [os.path.join(BIN, "ansible-playbook"), ping_play(folder, tasks_per_host(output)), "-i", inventory,
                "--forks", "10"]
        ping_walls = [run(ping, env)[0] for _round in range(repeat)]
        one = [os.path.join(BIN, "ansible-playbook"), ping_play(folder, 1), "-i", inventory, "--forks", "10"]
        one_walls = [run(one, env)[0] for _round in range(repeat)]
        runs = module_runs(deploy, env, folder)
        changed = [run(deploy + ["-e", f"bench_run={n + 1}"], env)[0] for n in range(min(repeat, 2))]
        delays = {seconds: wait_delays(api, env, inventory, folder, seconds, writes) for seconds in rollouts} \
            if count == 1 else {}
    finally:
        subprocess.run([sys.executable, "-m", "emulator.ensure", "--port", str(port), "--state-dir", state, "--stop"],
                       cwd=ROOT, check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    return {"services": count, "first_deploy_s": first, "noop_s": statistics.median(walls),
            "ping_s": statistics.median(ping_walls), "one_ping_s": statistics.median(one_walls),
            "module_runs": runs, "tasks_per_host": tasks_per_host(output),
            "requests": requests["total"], "by_method": requests["by_method"],
            "changed_s": statistics.median(changed), "delays": delays}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rollouts", type=float, nargs="*", default=[2, 20],
                        help="rollout times (s) to measure the wait delay at, with N=1; none to skip")
    parser.add_argument("--writes", type=int, default=5)
    args = parser.parse_args()
    print(f"{'N':>3} {'first':>7} {'changed':>7} {'no-op':>7} {'ping':>7} {'ratio':>6} {'1-ping':>7} {'ratio':>6} "
          f"{'tasks':>5} {'modules':>7} {'req/svc':>7}  by method")
    delays = {}
    for count in args.sizes:
        row = measure(count, args.repeat, args.rollouts if count == 1 else (), args.writes)
        delays.update(row["delays"])
        methods = ", ".join(f"{m} {n}" for m, n in sorted(row["by_method"].items()))
        print(f"{row['services']:>3} {row['first_deploy_s']:>6.1f}s {row['changed_s']:>6.1f}s {row['noop_s']:>6.1f}s "
              f"{row['ping_s']:>6.1f}s {row['noop_s'] / row['ping_s']:>5.1f}x {row['one_ping_s']:>6.1f}s "
              f"{row['noop_s'] / row['one_ping_s']:>5.1f}x {row['tasks_per_host']:>5} {row['module_runs']:>7} "
              f"{row['requests'] / count:>7.1f}  {methods}", flush=True)
    for seconds, delay in sorted(delays.items()):
        print(f"rollout {seconds:g}s: operation done -> task result, median of {args.writes} writes: {delay:.3f}s")


if __name__ == "__main__":
    main()
