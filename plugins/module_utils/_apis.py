# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the Google APIs a deploy calls, read and enabled through Service Usage v1.

A new project has only Google's default APIs on (Cloud Logging and Cloud Storage among them; not
Cloud Run, Cloud Build, Artifact Registry or Secret Manager), and any call to another answers 403
SERVICE_DISABLED (cloud.google.com/service-usage/docs/enabled-service). One batchGet reads up to 30
APIs, one batchEnable enables up to 20 (cloud.google.com/service-usage/docs/reference/rest).
"""

from __future__ import annotations

import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._progress import note

try:
    import google.auth.exceptions
    import requests
except ImportError:  # reported by CloudRunModule
    pass

API_NAME = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*\.googleapis\.com$")
READ_BATCH = 30
ENABLE_BATCH = 20
TITLES = {
    "run.googleapis.com": "Cloud Run Admin API", "cloudbuild.googleapis.com": "Cloud Build API",
    "artifactregistry.googleapis.com": "Artifact Registry API", "secretmanager.googleapis.com": "Secret Manager API",
    "logging.googleapis.com": "Cloud Logging API", "storage.googleapis.com": "Cloud Storage API",
}


def _chunks(items, size):
    return [items[i:i + size] for i in range(0, len(items), size)]


def refuse_bad_names(names):
    bad = [name for name in names if not API_NAME.match(name or "")]
    if bad:
        raise CloudRunError("Nothing was read or enabled: apis takes service names such as run.googleapis.com, not "
                            + ", ".join(f"'{name}'" for name in bad) + ".")


def _listed(names):
    return "\n".join(f"- {name}" + (f" ({TITLES[name]})" if name in TITLES else "") for name in names)


# A read each API answers with 403 SERVICE_DISABLED while it is off (or not yet on everywhere), and with anything
# else once it is on: its host, and the path (a list, or a resource that need not exist).
PROBES = {
    "run.googleapis.com": ("https://run.googleapis.com", "v1/projects/{project}/locations"),
    "cloudbuild.googleapis.com": ("https://cloudbuild.googleapis.com",
                                  "v1/projects/{project}/locations/global/builds?pageSize=1"),
    "secretmanager.googleapis.com": ("https://secretmanager.googleapis.com",
                                     "v1/projects/{project}/secrets/nadle-cloudrun-probe"),
    "artifactregistry.googleapis.com": ("https://artifactregistry.googleapis.com",
                                        "v1/projects/{project}/locations/us/repositories/nadle-cloudrun-probe"),
}


def _still_off(session, module, project, names):
    """Those of ``names`` whose probe still answers 403 SERVICE_DISABLED (or cannot be asked yet)."""
    left = []
    for name in names:
        host, path = PROBES[name]
        try:
            response = session.get(f"{module.emulator or host}/{path.format(project=project)}", timeout=30)
        except (requests.RequestException, google.auth.exceptions.GoogleAuthError):
            left.append(name)
            continue
        if response.status_code == 403 and "SERVICE_DISABLED" in response.text:
            left.append(name)
    return left


def await_propagation(module, project, enabled):
    """After Service Usage says ENABLED, each API keeps answering SERVICE_DISABLED for a while ("If you enabled
    this API recently, wait a few minutes for the action to propagate to our systems and retry", Google's own
    words): wait, within wait_timeout, until the APIs this run enabled answer. Only those: any other 403 is
    someone's to fix, not to wait for."""
    pending = [name for name in enabled if name in PROBES]
    if not pending:
        return
    note(f"waiting for {', '.join(pending)}, just enabled, to answer in project {project}")
    session = module.session()
    left, done = api.poll(lambda: _still_off(session, module, project, pending), lambda still: not still,
                          module.params["wait_timeout"], initial=2.0, maximum=15.0)
    if not done:
        raise CloudRunError(
            f"Enabled in project {project}, but after {module.params['wait_timeout']} seconds still answering "
            f"SERVICE_DISABLED: {', '.join(left)}. Google says this can take a few minutes; run again later.",
            changed=True, enabled=enabled)


def _read_states(client, parent, names):
    """{API: ENABLED or DISABLED}, read in batches; a 403 says which permission is missing and how to skip."""
    states = {}
    try:
        for chunk in _chunks(names, READ_BATCH):
            states.update(api.get_api_states(client, parent=parent, names=chunk))
    except CloudRunError as exc:
        if exc.details.get("api_status") != 403:
            raise
        # A least-privilege deployer may hold roles/run.developer and the rest, but not Service Usage's viewer.
        raise CloudRunError(
            exc.msg + "\nNothing was written. Reading which APIs are on needs serviceusage.services.get "
            "(roles/serviceusage.serviceUsageViewer). A deployer without it, in a project whose APIs are on, can "
            "skip this check: the cloudrun_deploy role's cloudrun_deploy_check_apis: false.", **exc.details) from exc
    return states


def ensure_apis(module):
    params = module.params
    names = sorted(set(params["apis"]))
    refuse_bad_names(names)
    project = module.project
    client = module.client("apis")
    parent = f"projects/{project}"
    states = _read_states(client, parent, names)
    disabled = [name for name in names if states.get(name) != "ENABLED"]
    result = {"changed": False, "apis": states, "enabled": [], "disabled": disabled}
    if not disabled:
        return dict(result, msg=f"All {len(names)} APIs are enabled in project {project}.")
    if not params["enable"]:
        raise CloudRunError(
            f"Nothing was written: these APIs are not enabled in project {project}:\n{_listed(disabled)}\n"
            f"Enable them with: gcloud services enable {' '.join(disabled)} --project {project}\n"
            "or let this task enable them with enable: true (the cloudrun_deploy role: "
            "cloudrun_deploy_enable_apis: true). Enabling needs serviceusage.services.enable "
            "(roles/serviceusage.serviceUsageAdmin).", apis=states, disabled=disabled, enabled=[])
    after = dict(states, **{name: "ENABLED" for name in disabled})
    if module.diff_mode:
        result["diff"] = {"before": {"apis": states}, "after": {"apis": after}}
    if module.check_mode:
        return dict(result, changed=True, enabled=disabled,
                    msg=f"Would enable in project {project}:\n" + _listed(disabled))
    done = []
    for chunk in _chunks(disabled, ENABLE_BATCH):
        operation = api.enable_apis(client, parent=parent, names=chunk)
        try:
            api.wait(operation, params["wait_timeout"], f"enable {', '.join(chunk)} in project {project}")
        except CloudRunError as exc:
            raise CloudRunError(exc.msg + (f"\nEnabled before this: {', '.join(done)}." if done else ""),
                                changed=bool(done), enabled=done, apis=states) from exc
        done += chunk
    await_propagation(module, project, done)
    return dict(result, changed=True, enabled=done, disabled=[], apis=after,
                msg=f"Enabled in project {project}:\n" + _listed(done))
