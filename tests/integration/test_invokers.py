"""invokers on a private service (issue 17): who may call it, checked at the emulator with real ID tokens.

Two service accounts get keys from the emulator's IAM (keys.create); http_healthcheck mints an ID
token from each key file through the key's token endpoint, as google-auth does against Google,
and the emulator lets a request through only when the token's email holds roles/run.invoker.
"""

from __future__ import annotations

import base64
import json
import urllib.request

from emulator.testing import request_json
from test_targets import IMAGE, emulator, run_playbook  # noqa: F401  pylint: disable=unused-import

PROJECT = "integration"
CALLER = "frontend@integration.iam.gserviceaccount.com"
STRANGER = "stranger@integration.iam.gserviceaccount.com"
SERVICE = f"projects/{PROJECT}/locations/europe-west1/services/private-backend"

PLAY = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/nadle.cloudrun.gcp: {project: integration, region: europe-west1}
  tasks:
    - name: The private backend, callable by the frontend's account
      nadle.cloudrun.cloudrun_service:
        name: private-backend
        image: %(image)s
        allow_unauthenticated: false
        invokers: ["serviceAccount:%(caller)s"]
        invokers_mode: %(mode)s
      register: service
      diff: true

    - name: The frontend's ID token gets through
      nadle.cloudrun.http_healthcheck:
        url: "{{ service.service.uri }}/"
        id_token: always
        auth_kind: serviceaccount
        service_account_file: %(caller_key)s
        deadline: 10
      register: caller

    - name: Another account's ID token is refused
      nadle.cloudrun.http_healthcheck:
        url: "{{ service.service.uri }}/"
        id_token: always
        auth_kind: serviceaccount
        service_account_file: %(stranger_key)s
        status_codes: [403]
        deadline: 10

    - name: Results
      ansible.builtin.debug:
        msg: "RESULT {{ {'changed': service.changed, 'changed_options': service.changed_options,
                         'diff': service.diff | default({}), 'used_id_token': caller.used_id_token} | to_json }}"
"""


def key_file(emulator_endpoint, account, folder):  # noqa: F811
    request = urllib.request.Request(f"{emulator_endpoint}/v1/projects/{PROJECT}/serviceAccounts/{account}/keys",
                                     b"{}", {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        data = base64.b64decode(json.loads(answer.read())["privateKeyData"])
    path = folder / f"{account.split('@')[0]}.json"
    path.write_bytes(data)
    return str(path)


def run(emulator, tmp_path, mode="add"):  # noqa: F811
    playbook = tmp_path / f"invokers-{mode}.yml"
    playbook.write_text(PLAY % {"image": f"{IMAGE}:v1", "caller": CALLER, "mode": mode,
                                "caller_key": key_file(emulator.endpoint, CALLER, tmp_path),
                                "stranger_key": key_file(emulator.endpoint, STRANGER, tmp_path)}, encoding="utf-8")
    result = run_playbook(playbook, emulator)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if '"msg": "RESULT ' in line)
    return json.loads(json.loads("{" + line.strip().rstrip(",") + "}")["msg"][len("RESULT "):])


def policy(emulator):  # noqa: F811
    return {b["role"]: sorted(b["members"]) for b in
            request_json(f"{emulator.endpoint}/v2/{SERVICE}:getIamPolicy?options.requestedPolicyVersion=3")
            .get("bindings", [])}


def set_policy(emulator, bindings):  # noqa: F811
    current = request_json(f"{emulator.endpoint}/v2/{SERVICE}:getIamPolicy?options.requestedPolicyVersion=3")
    request_json(f"{emulator.endpoint}/v2/{SERVICE}:setIamPolicy",
                 {"policy": {"version": 3, "etag": current.get("etag", ""),
                             "bindings": [{"role": r, "members": m} for r, m in bindings.items()]}})


def test_only_the_invoker_s_id_token_gets_through_other_bindings_stay_and_a_rerun_changes_nothing(emulator, tmp_path):  # noqa: F811
    first = run(emulator, tmp_path)
    assert first["changed"] and "invokers" in first["changed_options"]
    assert first["used_id_token"] is True
    assert policy(emulator) == {"roles/run.invoker": [f"serviceAccount:{CALLER}"]}

    # Someone else grants an invoker and a developer; the task adds, and keeps both.
    set_policy(emulator, {"roles/run.invoker": [f"serviceAccount:{CALLER}", "group:ops@example.com"],
                          "roles/run.developer": ["user:dev@example.com"]})
    again = run(emulator, tmp_path)
    assert not again["changed"] and again["changed_options"] == []
    assert policy(emulator)["roles/run.invoker"] == ["group:ops@example.com", f"serviceAccount:{CALLER}"]

    # Authoritative: only the listed invokers stay; other roles' bindings are kept.
    exact = run(emulator, tmp_path, "authoritative")
    assert exact["changed_options"] == ["invokers"]
    assert exact["diff"]["before"]["invokers"] == ["group:ops@example.com", f"serviceAccount:{CALLER}"]
    assert exact["diff"]["after"]["invokers"] == [f"serviceAccount:{CALLER}"]
    assert policy(emulator) == {"roles/run.invoker": [f"serviceAccount:{CALLER}"],
                                "roles/run.developer": ["user:dev@example.com"]}
    assert not run(emulator, tmp_path, "authoritative")["changed"]
