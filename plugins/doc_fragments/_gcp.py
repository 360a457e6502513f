# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the options and attributes every module shares."""

from __future__ import annotations


class ModuleDocFragment:
    # The shared options: where, and as whom. Compatible with google.cloud's auth options.
    DOCUMENTATION = r"""
options:
  project:
    description:
      - The Google Cloud project ID.
      - Falls back to E(GCP_PROJECT), then E(CLOUDSDK_CORE_PROJECT), then the project of the credentials.
    type: str
  region:
    description:
      - The Cloud Run region, for example V(europe-west1) or V(asia-northeast3).
      - Falls back to E(GCP_REGION), then E(CLOUDSDK_RUN_REGION).
    type: str
  auth_kind:
    description:
      - How to authenticate.
      - V(application) uses Application Default Credentials (C(gcloud auth application-default login),
        E(GOOGLE_APPLICATION_CREDENTIALS), Workload Identity, the metadata server).
      - V(serviceaccount) uses a service account key from O(service_account_file) or O(service_account_contents).
      - V(machineaccount) uses the metadata server's service account (a Compute Engine VM, GKE, Cloud Build), or
        O(service_account_email) when the machine has several.
      - V(accesstoken) uses O(access_token) as an OAuth2 bearer token.
      - The names are those of the C(google.cloud) collection's modules; like them, E(GCP_AUTH_KIND) is used
        when the option is not set (AWX's Google credential sets it, with E(GCP_SERVICE_ACCOUNT_FILE)).
      - Ignored when an emulator endpoint is used (see O(api_endpoint)).
    type: str
    choices: [application, serviceaccount, machineaccount, accesstoken]
    default: application
  service_account_file:
    description:
      - Path to a service account JSON key, for O(auth_kind=serviceaccount).
      - Falls back to E(GCP_SERVICE_ACCOUNT_FILE).
    type: path
  service_account_contents:
    description:
      - The content of a service account JSON key (for example from Ansible Vault), for O(auth_kind=serviceaccount).
      - Falls back to E(GCP_SERVICE_ACCOUNT_CONTENTS).
    type: jsonarg
  access_token:
    description:
      - An OAuth2 access token, for O(auth_kind=accesstoken).
      - Falls back to E(GCP_ACCESS_TOKEN).
    type: str
  service_account_email:
    description:
      - The metadata server's service account to use, for O(auth_kind=machineaccount); the machine's default one
        when not set.
      - Falls back to E(GCP_SERVICE_ACCOUNT_EMAIL).
    type: str
  impersonate_service_account:
    description:
      - Act as this service account (its email), using the credentials above to obtain short-lived tokens.
        The caller needs C(roles/iam.serviceAccountTokenCreator) on it.
      - Falls back to E(GCP_IMPERSONATE_SERVICE_ACCOUNT).
    type: str
  scopes:
    description:
      - OAuth2 scopes. Defaults to C(https://www.googleapis.com/auth/cloud-platform).
      - Falls back to E(GCP_SCOPES).
    type: list
    elements: str
  api_endpoint:
    description:
      - Send Cloud Run API requests here instead of Google's endpoint, for example a regional endpoint such as
        C(https://europe-west1-run.googleapis.com). Secret Manager, Cloud Build and Cloud Storage keep their own.
      - An C(http://) endpoint is a local emulator for every API, reached with anonymous credentials.
      - When not set and E(CLOUDRUN_EMULATOR_HOST=host:port) is set, every client talks to the emulator there
        (the convention of Google's C(*_EMULATOR_HOST) variables).
    type: str
requirements:
  - google-auth >= 2.30
  - google-api-core >= 2.19
  - requests >= 2.31
notes:
  - Set O(project), O(region) and the auth options once for a play with
    C(module_defaults) for C(group/nadle.cloudrun.gcp).
  - Transient API errors (HTTP 429, 500, 502, 503, 504, and a refused or dropped connection) are retried with
    exponential backoff and jitter, at most 16 seconds between tries and 120 seconds in all. Writes that are not
    idempotent (creating a service, a build, a secret version) are not retried blindly. After a lost answer the
    module reads first, and uses what the first try made.
  - Every write is a full replace of the service. If the service has a field the installed google-cloud-run does
    not know, the module refuses to write (the write would reset that field) and says to upgrade the client.
  - O(api_endpoint) other than an emulator (for example a regional Cloud Run endpoint) applies to the Cloud Run
    API only; Secret Manager, Cloud Build and Cloud Storage use their own endpoints.
"""

    # Capability attributes shared by modules that change things.
    ATTRIBUTES = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a prediction of C(changed) without changing anything.
    support: full
  diff_mode:
    description: Returns before and after of what changes, in diff mode.
    support: full
  idempotent:
    description: A second run with the same options changes nothing and reports C(changed=false).
    support: full
"""

    # Capability attributes of read-only modules.
    INFO_ATTRIBUTES = r"""
options: {}
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
    details: This module never changes anything.
  diff_mode:
    description: Read-only; there is nothing to diff.
    support: N/A
  idempotent:
    description: A second run changes nothing.
    support: full
"""

    # Membership of the action group that module_defaults uses.
    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/nadle.cloudrun.gcp) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - nadle.cloudrun.gcp
"""
