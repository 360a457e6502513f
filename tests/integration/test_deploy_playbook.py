"""playbooks/*.yml with inventories/local, as a user runs them, on a copy of this repository.

The copy lets a test edit the local inventory (memory, MONGODB_URL) the way a person would, and
gives it its own emulator, started by the playbook itself on a free port. The tests run in file
order; each builds on the state the one before left.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from emulator.runtime import free_port
from emulator.testing import ROOT, admin, request_json

BIN = os.path.dirname(sys.executable)
SERVICE = "xai-community-backend"
PARENT = "projects/xai-community-local/locations/asia-northeast3"
HOST_VARS = os.path.join("inventories", "local", "host_vars", f"{SERVICE}.yml")
LOCAL_SECRET = "local-only-key-not-a-secret"


class Repo:
    """A copy of the tracked files, its collection link, and an emulator port of its own."""

    def __init__(self, path):
        self.path = str(path)
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}"
        files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, check=True).stdout.split(b"\0")
        for name in filter(None, files):
            name = name.decode()
            if os.path.isfile(os.path.join(ROOT, name)):
                os.makedirs(os.path.dirname(os.path.join(self.path, name)) or self.path, exist_ok=True)
                with open(os.path.join(ROOT, name), "rb") as src, open(os.path.join(self.path, name), "wb") as dst:
                    dst.write(src.read())
        link = os.path.join(self.path, ".collections", "ansible_collections", "nadle", "cloudrun")
        os.makedirs(os.path.dirname(link))
        os.symlink("../../..", link)

    def _command(self, name, options, inventory="inventories/local"):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CLOUDRUN_EMULATOR_HOST")}
        env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_CONFIG=os.path.join(self.path, "ansible.cfg"),
                   NADLE_EMULATOR_PORT=str(self.port), ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
        return [os.path.join(BIN, "ansible-playbook"), f"playbooks/{name}.yml", "-i", inventory, *options], env

    def playbook(self, name, *options, inventory="inventories/local"):
        argv, env = self._command(name, options, inventory)
        result = subprocess.run(argv, cwd=self.path, env=env, capture_output=True, text=True, timeout=600,
                                check=False)
        result.output = result.stdout + result.stderr
        return result

    def start_playbook(self, name, *options):
        """The same run in the background: ``communicate()`` gives its output."""
        argv, env = self._command(name, options)
        return subprocess.Popen(argv, cwd=self.path, env=env, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, text=True)

    def start_half_rollout(self, memory, pause):
        """A deploy of ``memory`` in steps [50, 100], ``pause`` seconds apart, in the background; its process
        once the 50/50 split serves (the caller kills it if it fails)."""
        process = self.start_playbook("deploy", "-e", f"cloudrun_deploy_memory={memory}", "-e",
                                      f"cloudrun_deploy_step_pause={pause}",
                                      "-e", '{"cloudrun_deploy_traffic_steps": [50, 100]}')
        deadline = time.monotonic() + 120
        while sorted(serving(self.service()).values()) != [50, 50]:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise AssertionError("the 50% step never came")
            time.sleep(0.3)
        return process

    def fault(self, settings):
        """Switch emulator faults on (a dict of settings), or off (None)."""
        return admin(self.api, "faults", settings, None if settings else "DELETE")

    def edit(self, path, old, new):
        full = os.path.join(self.path, path)
        with open(full, encoding="utf-8") as handle:
            text = handle.read()
        assert old in text
        with open(full, "w", encoding="utf-8") as handle:
            handle.write(text.replace(old, new))

    def service(self):
        return request_json(f"{self.api}/v2/{PARENT}/services/{SERVICE}")

    def revisions(self):
        return request_json(f"{self.api}/v2/{PARENT}/services/{SERVICE}/revisions").get("revisions", [])

    def reset_requests(self):
        admin(self.api, "requests", method="DELETE")

    def requests(self):
        return admin(self.api, "requests")

    def ensure_emulator(self, *options):
        """Start (or with --stop, stop) this copy's emulator as the playbooks do; with --fresh-project, as a new
        project. Started before the first run, it takes faults (or a mode) before the playbook's first request."""
        done = subprocess.run([sys.executable, "-m", "emulator.ensure", "--port", str(self.port), "--state-dir",
                               os.path.join(self.path, ".emulator"), *options], cwd=ROOT, capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self):
        self.ensure_emulator("--stop")


def recap(result):
    match = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert match, result.output[-4000:]
    return {"ok": int(match[1]), "changed": int(match[2]), "failed": int(match[4])}


def serving(service):
    """{revision: percent} of what serves; a LATEST target is the latest ready revision."""
    latest = service.get("latestReadyRevision", "")
    return {(t.get("revision") or latest).rsplit("/", 1)[-1]: t["percent"]
            for t in service["trafficStatuses"] if t.get("percent")}


def health(url):
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        return json.loads(response.read())


def repository_copy(tmp_path_factory, name, *emulator_options):
    """The body of a test module's ``repo`` fixture: a Repo of its own, its emulator stopped afterwards; with
    ``emulator_options``, its emulator started first with them (Repo.ensure_emulator)."""
    copy = Repo(tmp_path_factory.mktemp(name))
    if emulator_options:
        copy.ensure_emulator(*emulator_options)
    yield copy
    copy.stop()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    yield from repository_copy(tmp_path_factory, "repo")


def test_first_deploy_starts_the_emulator_and_goes_live(repo):
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert re.search(r"Start the emulator unless it answers on its port \(or stop it\)\] \*+\nchanged:", result.stdout)
    service = repo.service()
    assert health(service["uri"]) == {"status": "healthy", "service": SERVICE}
    assert f'"url": "{service["uri"]}"' in result.stdout  # the play prints the URL and the health JSON
    assert '"status": "healthy"' in result.stdout
    assert list(serving(service).values()) == [100]
    assert len(repo.revisions()) == 1
    assert LOCAL_SECRET not in json.dumps(service)  # MONGODB_URL and SECRET_KEY went to Secret Manager


def test_second_run_changes_nothing_and_writes_nothing(repo):
    repo.reset_requests()
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] == 0, result.stdout[-6000:]
    counted = repo.requests()
    assert counted["writes"] == 0, counted
    # Issue 15: preflight's one read of the service and one of each secret find it as asked, so nothing
    # is built, deployed or promoted; its one health request to the service is the run's only other one.
    assert counted["by_rpc"] == {"GetService": 1, "AccessSecretVersion": 2}, counted
    assert re.search(r"cloudrun_deploy : Build, deploy and promote\] \*+\nskipping:", result.stdout), result.stdout[-6000:]
    assert "Health check of" not in result.stdout and "Percent of the traffic" not in result.stdout
    assert '"status": "healthy"' in result.stdout


def test_a_public_invoker_removed_by_hand_is_seen_by_the_noop_health_request_and_put_back(repo):
    """Issue 15: the no-op run reads no IAM policy; its health request, sent without a token, is the proof."""
    name = f"{PARENT}/services/{SERVICE}"
    request_json(f"{repo.api}/v2/{name}:setIamPolicy", {"policy": {"bindings": []}})
    revisions = len(repo.revisions())
    repo.reset_requests()
    result = repo.playbook("deploy")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] >= 1
    counted = repo.requests()
    assert counted["by_rpc"].get("SetIamPolicy") == 1 and counted["writes"] == 1, counted
    assert len(repo.revisions()) == revisions  # the template did not change: no revision
    assert health(repo.service()["uri"])["status"] == "healthy"  # without a token again
    repo.reset_requests()
    assert recap(repo.playbook("deploy"))["changed"] == 0
    assert repo.requests()["by_rpc"] == {"GetService": 1, "AccessSecretVersion": 2}


def test_without_the_noop_health_check_the_invoker_policy_is_read(repo):
    repo.reset_requests()
    result = repo.playbook("deploy", "-e", "cloudrun_deploy_health_on_noop=false")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] == 0
    assert repo.requests()["by_rpc"] == {"GetService": 1, "AccessSecretVersion": 2, "GetIamPolicy": 1}
    assert '"health": null' in result.stdout


def test_check_mode_after_a_memory_change_predicts_it_and_writes_nothing(repo):
    repo.edit(HOST_VARS, "cloudrun_deploy_memory: 512Mi", "cloudrun_deploy_memory: 1Gi")
    repo.reset_requests()
    result = repo.playbook("deploy", "--check", "--diff")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] >= 1
    assert "1Gi" in result.stdout  # the diff shows the memory it would set
    assert repo.requests()["writes"] == 0
    assert len(repo.revisions()) == 1
    # Issue 18: check mode previews the traffic steps too.
    assert "The candidate would be checked at /health on its own URL, then get 100% of the traffic" in result.stdout


def test_memory_change_in_the_inventory_is_one_new_revision_with_a_diff(repo):
    before = serving(repo.service())
    # Three promote steps: each traffic write echoes the template and its revision name, so the
    # deploy leaves exactly one new revision (clearing the name would make one per step on Google).
    result = repo.playbook("deploy", "--diff", "-e", '{"cloudrun_deploy_traffic_steps": [10, 50, 100]}')
    assert result.returncode == 0, result.output[-6000:]
    assert '-    "memory": "512Mi"' in result.stdout and '+    "memory": "1Gi"' in result.stdout
    revisions = repo.revisions()
    assert len(revisions) == 2
    newest = revisions[0]["name"].rsplit("/", 1)[-1]
    assert revisions[0]["containers"][0]["resources"]["limits"]["memory"] == "1Gi"
    assert serving(repo.service()) == {newest: 100} != before
    assert recap(repo.playbook("deploy"))["changed"] == 0


def test_rollback_goes_to_the_revision_before_and_a_second_run_changes_nothing(repo):
    revisions = [r["name"].rsplit("/", 1)[-1] for r in repo.revisions()]  # newest first
    assert len(revisions) == 2  # the first deploy's and the memory change's, nothing from the promote steps
    result = repo.playbook("rollback")
    assert result.returncode == 0, result.output[-6000:]
    assert recap(result)["changed"] == 1
    assert serving(repo.service()) == {revisions[1]: 100}  # what served before that deploy
    assert health(repo.service()["uri"])["status"] == "healthy"
    repo.reset_requests()
    again = repo.playbook("rollback")
    assert recap(again)["changed"] == 0
    assert repo.requests()["writes"] == 0


def test_a_failure_mid_rollout_sends_the_traffic_back(repo):
    # Steps of 50 and 100 with a pause between; during the pause the API starts refusing one write
    # (the 100% step), the way a quota or an org policy would: the play puts the 50/50 back to 100/0.
    before = serving(repo.service())
    process = repo.start_half_rollout("2Gi", pause=6)
    try:
        repo.fault({"error_count": 1, "error_status": 400, "methods": ["UpdateService"]})
        output = process.communicate(timeout=300)[0]
    finally:
        if process.poll() is None:
            process.kill()
        repo.fault(None)
    assert process.returncode != 0, output[-6000:]
    old = next(iter(before))
    assert "400 Injected error 400." in output or "Failed to update service" in output, output[-6000:]
    assert f"Traffic was sent back to what served before: {old} (100%)." in output, output[-6000:]
    assert serving(repo.service()) == before
    assert health(repo.service()["uri"])["status"] == "healthy"
    rejected = repo.revisions()[0]
    assert rejected["containers"][0]["resources"]["limits"]["memory"] == "2Gi"  # it exists, with no traffic


def test_missing_mongodb_url_fails_with_the_apps_line_and_the_old_revision_serves(repo):
    serving_before = serving(repo.service())
    repo.edit(HOST_VARS, "  MONGODB_URL: mongodb://127.0.0.1:27017/xai_community\n", "")
    result = repo.playbook("deploy", "-vvv")
    assert result.returncode != 0
    # The role's report lists the revision's log lines, one JSON string each, once.
    assert re.search(r'"mongodb_url",\n\s+"\s+Field required', result.stdout), result.stdout[-6000:]
    assert "No traffic was moved." in result.stdout
    assert f"traffic still goes to {next(iter(serving_before))} (100%)" in result.stdout
    service = repo.service()
    assert serving(service) == serving_before
    assert health(service["uri"])["status"] == "healthy"
    assert LOCAL_SECRET not in result.output  # -vvv, and the app's own log lines, show no secret value
    assert len(repo.revisions()) == 4


def test_a_new_service_whose_revision_fails_is_tried_again_then_heals(repo):
    """Issue 13: MONGODB_URL missing (the inventory does not require it) on a service's first deploy."""
    # The revision's own failure is under test: the migration job, which would refuse the settings first
    # (tests/integration/test_jobs.py), is left out.
    fresh = ("-e", "cloudrun_deploy_service=fresh-backend", "-e", '{"cloudrun_deploy_jobs_before_traffic": []}')
    made = []
    for _attempt in range(2):
        repo.reset_requests()
        result = repo.playbook("deploy", *fresh)
        assert result.returncode != 0
        assert re.search(r'"mongodb_url",\n\s+"\s+Field required', result.stdout), result.stdout[-6000:]
        assert "Finalization" not in result.output and "Created revision  " not in result.output
        listed = request_json(f"{repo.api}/v2/{PARENT}/services/fresh-backend/revisions").get("revisions", [])
        made.append(len(listed))
        if _attempt:  # the rerun: one write, the new revision; the rescue's steps only read
            assert "tries again as" in result.output, result.output[-6000:]
            counted = repo.requests()
            assert counted["writes"] == 1 and counted["by_rpc"].get("UpdateService") == 1, counted
    assert made == [1, 2]
    repo.edit(HOST_VARS, "  REDIS_URL:", "  MONGODB_URL: mongodb://127.0.0.1:27017/xai_community\n  REDIS_URL:")
    healed = repo.playbook("deploy", *fresh)
    assert healed.returncode == 0, healed.output[-6000:]
    again = repo.playbook("deploy", *fresh)
    assert recap(again)["changed"] == 0, again.output[-6000:]
    repo.edit(HOST_VARS, "  MONGODB_URL: mongodb://127.0.0.1:27017/xai_community\n", "")  # as the next test expects


def test_required_env_fails_before_any_api_call(repo):
    # What dev, staging and prod do: the missing key is named before anything is built or written.
    repo.edit(HOST_VARS, "cloudrun_deploy_secret_keys:", "cloudrun_deploy_required_env: [MONGODB_URL, SECRET_KEY]\n"
              "cloudrun_deploy_secret_keys:")
    repo.reset_requests()
    result = repo.playbook("deploy")
    assert result.returncode != 0
    assert "MONGODB_URL is in cloudrun_deploy_required_env but in none of cloudrun_deploy_env" in result.stdout
    assert repo.requests()["total"] == 0
    assert len(repo.revisions()) == 4


@pytest.mark.parametrize("extra, named", [
    ("cloudrun_deploy_cpu=3", "cloudrun_deploy_cpu: '3' is not a CPU value"),
    ("cloudrun_deploy_memory=512MB", "memory: '512MB' is not a memory quantity"),
    ("cloudrun_deploy_service=Bad_Name", "cloudrun_deploy_service: 'Bad_Name' is not a valid service name"),
    ("cloudrun_deploy_region=asia_northeast3", "cloudrun_deploy_region: 'asia_northeast3' is not a region name"),
    ("cloudrun_deploy_concurrency=many", "argument 'cloudrun_deploy_concurrency' is of type str"),
    ('{"cloudrun_deploy_env": {"PORT": "8000", "ENVIRONMENT": "local"}}', "PORT is reserved"),
    ("cloudrun_deploy_health_path=health", "cloudrun_deploy_health_path starts with /"),
])
def test_a_bad_setting_fails_before_any_request_naming_the_variable(repo, extra, named):
    """Issue 13: checked before the upload and the build, with cloudrun_service's own rules."""
    repo.reset_requests()
    result = repo.playbook("deploy", "-e", extra)
    assert result.returncode != 0
    assert named in result.stdout, result.output[-4000:]
    assert repo.requests()["total"] == 0


def test_destroy_needs_the_service_named(repo):
    repo.reset_requests()
    refused = repo.playbook("destroy")
    assert refused.returncode != 0
    assert f"-e cloudrun_deploy_destroy_confirm={SERVICE}" in refused.stdout
    assert repo.requests()["total"] == 0
    deleted = repo.playbook("destroy", "-e", f"cloudrun_deploy_destroy_confirm={SERVICE}")
    assert deleted.returncode == 0, deleted.output[-6000:]
    assert recap(deleted)["changed"] == 1
    with pytest.raises(urllib.error.HTTPError):
        repo.service()
    again = repo.playbook("destroy", "-e", f"cloudrun_deploy_destroy_confirm={SERVICE}")
    assert recap(again)["changed"] == 0


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_environment_inventories_hold_the_records_settings_and_no_secret_value(environment):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    listed = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", f"inventories/{environment}", "--host",
                             SERVICE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    host = json.loads(listed.stdout)
    assert host["cloudrun_deploy_region"] == "asia-northeast3"
    assert (host["cloudrun_deploy_cpu"], host["cloudrun_deploy_memory"]) == ("1", "512Mi")
    assert (host["cloudrun_deploy_concurrency"], host["cloudrun_deploy_max_instances"]) == (100, 10)
    assert host["cloudrun_deploy_timeout"] == 300 and host["cloudrun_deploy_allow_unauthenticated"] is True
    assert host["cloudrun_deploy_env"]["ALLOWED_ORIGINS"].startswith("https://")
    assert sorted(host["cloudrun_deploy_required_env"]) == ["MONGODB_URL", "SECRET_KEY"]
    for key in ("MONGODB_URL", "SECRET_KEY"):
        assert set(host["cloudrun_deploy_env"][key]) == {"secret", "version"}  # a Secret Manager reference
    assert not host.get("cloudrun_deploy_secrets")
    syntax = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--syntax-check", "playbooks/deploy.yml", "-i",
                             f"inventories/{environment}"], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr


def test_the_role_passes_only_the_auth_the_inventory_sets(tmp_path):
    """Issue 12: module_defaults without auth_kind and a key file, so AWX's GCP_* environment applies."""
    play = tmp_path / "api.yml"
    role = os.path.join(ROOT, "roles", "cloudrun_deploy")
    play.write_text(f"""- hosts: localhost
  gather_facts: false
  vars_files: ["{role}/defaults/main.yml", "{role}/vars/main.yml"]
  vars:
    cloudrun_deploy_project: p
    cloudrun_deploy_region: europe-west1
  tasks:
    - ansible.builtin.debug:
        msg: "API={{{{ _cloudrun_deploy_api | to_json }}}}"
""", encoding="utf-8")
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", GCP_AUTH_KIND="serviceaccount")
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(play)], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = json.loads(re.search(r"API=(\{.*\})", result.stdout)[1].replace('\\"', '"'))
    assert passed == {"project": "p", "region": "europe-west1"}
