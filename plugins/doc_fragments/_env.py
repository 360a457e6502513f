# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the env entry shared by cloudrun_service and cloudrun_env."""

from __future__ import annotations


class ModuleDocFragment:
    # module_utils/_env.py ENTRY_SPEC; each module documents env itself.
    DOCUMENTATION = r"""
requirements:
  - google-cloud-secret-manager >= 2.16
  - python-dotenv >= 1.0 (for env files)
options:
  env_files:
    description:
      - C(.env) files on the host the module runs on, read in order (a key in a later file wins); O(env) wins over
        them. They are read as C(.env) files, never as YAML.
      - CRLF line endings, quotes, C(export) and comments are fine; a line that cannot be parsed fails with the file
        and line number before anything is written.
    type: list
    elements: path
  interpolate:
    description:
      - Expand C(${VAR}) in O(env_files).
    type: bool
    default: false
  secrets:
    description:
      - "Env variables whose values are kept in Secret Manager, as C(KEY: value). Each value goes to the secret
        C(SERVICE_KEY) (the service name, C(_), the key as it is; a character a secret ID cannot hold, and C(-), is
        written C(-) and two hex digits, so no two services' keys share a secret), created when missing with the labels
        C(managed-by), C(cloud-run-service) and C(env-key), and given a new version only when the value changed; the
        env references it. A secret that another service's C(cloud-run-service) label claims is never written."
      - A key may not also be in O(env) or O(env_files).
      - The runtime service account needs C(roles/secretmanager.secretAccessor) on the secrets; see
        O(grant_secret_access).
    type: dict
  secret_keys:
    description:
      - Keys of O(env) or O(env_files) whose values go to Secret Manager, as with O(secrets), instead of the plain env.
    type: list
    elements: str
  secret_version:
    description:
      - V(pinned) references the version that holds the value, so a changed value makes a new revision that uses it.
      - V(latest) references C(latest); a changed value reaches only instances started after the change.
    type: str
    choices: [pinned, latest]
    default: pinned
  required:
    description:
      - Keys the final env must have. When any is missing the task fails, listing every missing key, and nothing is
        written.
    type: list
    elements: str
  grant_secret_access:
    description:
      - Give the account the revision runs as C(roles/secretmanager.secretAccessor) on each secret this task creates
        or gives a new version, so the revision can read it (a fresh project's revisions fail without it). The
        account is the service's C(service_account), else the one it runs as now, else the project's default
        compute account C(PROJECT_NUMBER-compute@developer.gserviceaccount.com).
      - Only the binding of that one member is added; every other binding stays. A secret whose value did not change
        is not looked at, so a run with nothing to do reads no policy.
      - V(false) for projects whose IAM is managed elsewhere (Terraform, an org policy). A revision that then cannot
        read a secret fails with Cloud Run's message, which names the secret, the account and the role.
    type: bool
    default: true
notes:
  - Plain env values show in results and diffs like any other setting. Values of O(secrets) and O(secret_keys) never
    do; any run of 8 or more of their characters is masked in every message, warning and log line the module
    returns, each line of a multi-line value included.
"""

    # The failure of a rollout, for the two modules that roll out a revision.
    ROLLOUT = r"""
options:
  log_in_message:
    description:
      - Put the last log lines of a revision that did not start in the failure message. With V(false) they are
        returned in C(log_lines) instead, as data; either way they are in the result once.
    type: bool
    default: true
"""
