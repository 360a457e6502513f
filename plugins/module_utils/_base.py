# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the base every module of the collection is built on.

It owns the shared options (auth, project, region, endpoint), builds the official
Google API clients, and turns the collection's one exception into fail_json.
Modules never build clients themselves.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.nadle.cloudrun.plugins.module_utils._mask import Masker

# The Google libraries are imported where they are used, not here: a module that calls no API
# (cloudrun_preflight, http_healthcheck) starts without them (some 0.4 s of imports).
# pylint: disable=import-outside-toplevel


# What each module needs, as pip names it, and the module it imports. A module names its own
# (``libraries``): an API module needs google-auth, requests and google-api-core, and each client it calls.
LIBRARIES = {
    "google-auth": "google.auth", "requests": "requests", "google-api-core": "google.api_core",
    "google-cloud-run": "google.cloud.run_v2", "google-cloud-secret-manager": "google.cloud.secretmanager_v1",
    "google-cloud-build": "google.cloud.devtools.cloudbuild_v1", "google-cloud-storage": "google.cloud.storage",
    "google-cloud-service-usage": "google.cloud.service_usage_v1",
    "google-cloud-artifact-registry": "google.cloud.artifactregistry_v1",
    "proto-plus": "proto", "docker": "docker", "dockerfile-parse": "dockerfile_parse", "pathspec": "pathspec",
    "python-dotenv": "dotenv",
}
API_LIBRARIES = ("google-auth", "requests", "google-api-core")
# The client of each kind (module, class), imported when the first client of that kind is made.
CLIENTS = {
    "services": ("google.cloud.run_v2", "ServicesClient"), "revisions": ("google.cloud.run_v2", "RevisionsClient"),
    "jobs": ("google.cloud.run_v2", "JobsClient"), "executions": ("google.cloud.run_v2", "ExecutionsClient"),
    "tasks": ("google.cloud.run_v2", "TasksClient"),
    "secrets": ("google.cloud.secretmanager_v1", "SecretManagerServiceClient"),
    "builds": ("google.cloud.devtools.cloudbuild_v1", "CloudBuildClient"),
    "apis": ("google.cloud.service_usage_v1", "ServiceUsageClient"),
    "repositories": ("google.cloud.artifactregistry_v1", "ArtifactRegistryClient"),
}


def missing_library(packages):
    """The first of ``packages`` (pip names, keys of LIBRARIES) that is not installed, or None.

    Found, not imported: a client is imported where it is first used, so a run that needs only one
    read does not pay for the rest (google-cloud-run alone takes some 0.5 s to import).
    """
    for package in packages:
        try:
            found = importlib.util.find_spec(LIBRARIES[package])
        except ImportError:  # a parent package (google.cloud) is missing
            found = None
        if found is None:
            return package
    return None


EMULATOR_ENV = "CLOUDRUN_EMULATOR_HOST"
DEFAULT_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
LOGGING_ENDPOINT = "https://logging.googleapis.com"
RUN_ENDPOINT = "https://run.googleapis.com"
# The clients an api_endpoint that is not an emulator applies to: it names a Cloud Run endpoint (say the
# regional https://europe-west1-run.googleapis.com), which Secret Manager, Cloud Build and Storage do not answer.
RUN_CLIENTS = ("services", "revisions", "jobs", "executions", "tasks")
AUTH_KINDS = ["application", "serviceaccount", "machineaccount", "accesstoken"]


class CloudRunError(Exception):
    """The collection's one exception: a message a person can act on, plus facts for the result."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


def gcp_argument_spec():
    """The options every module shares (documented in the nadle.cloudrun._gcp doc fragment)."""
    return dict(
        project=dict(type="str", fallback=(env_fallback, ["GCP_PROJECT", "CLOUDSDK_CORE_PROJECT"])),
        region=dict(type="str", fallback=(env_fallback, ["GCP_REGION", "CLOUDSDK_RUN_REGION"])),
        auth_kind=dict(type="str", default="application", choices=AUTH_KINDS,
                       fallback=(env_fallback, ["GCP_AUTH_KIND"])),
        service_account_file=dict(type="path", fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_FILE"])),
        service_account_contents=dict(type="jsonarg", no_log=True,
                                      fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_CONTENTS"])),
        access_token=dict(type="str", no_log=True, fallback=(env_fallback, ["GCP_ACCESS_TOKEN"])),
        service_account_email=dict(type="str", fallback=(env_fallback, ["GCP_SERVICE_ACCOUNT_EMAIL"])),
        impersonate_service_account=dict(type="str",
                                         fallback=(env_fallback, ["GCP_IMPERSONATE_SERVICE_ACCOUNT"])),
        scopes=dict(type="list", elements="str", fallback=(env_fallback, ["GCP_SCOPES"])),
        api_endpoint=dict(type="str"),
    )


def emulator_endpoint(api_endpoint):
    """The http:// endpoint of a local emulator, or None for Google's API.

    ``api_endpoint`` wins; else ``CLOUDRUN_EMULATOR_HOST=host:port`` (the Google ``*_EMULATOR_HOST``
    convention). Only plain http endpoints count as an emulator: they get anonymous credentials.
    """
    if api_endpoint:
        return api_endpoint.rstrip("/") if api_endpoint.startswith("http://") else None
    host = os.environ.get(EMULATOR_ENV)
    if host:
        return host.rstrip("/") if host.startswith("http://") else "http://" + host.rstrip("/")
    return None


def client_endpoint(kind, api_endpoint):
    """The endpoint the ``kind`` client talks to, or None for its Google default.

    An emulator (``http://`` or ``CLOUDRUN_EMULATOR_HOST``) stands for every API; any other
    ``api_endpoint`` is Cloud Run's only.
    """
    emulator = emulator_endpoint(api_endpoint)
    if emulator:
        return emulator
    return api_endpoint if api_endpoint and kind in RUN_CLIENTS else None


def from_key(params, credentials_class, **options):
    """``credentials_class`` (google.oauth2.service_account's Credentials or IDTokenCredentials) from the
    key in service_account_contents (JSON text or a dict, from Vault or AWX) or service_account_file."""
    contents = params.get("service_account_contents")
    if contents:
        info = json.loads(contents) if isinstance(contents, str) else contents
        return credentials_class.from_service_account_info(info, **options)
    if params.get("service_account_file"):
        return credentials_class.from_service_account_file(params["service_account_file"], **options)
    raise CloudRunError("auth_kind=serviceaccount needs service_account_file or service_account_contents.")


def id_token_credentials(params, credentials, audience):
    """Credentials that mint Google ID tokens for ``audience`` from the module's own auth options.

    Returns None for ``auth_kind=application`` and ``machineaccount`` (google-auth's ``fetch_id_token``
    reads ADC: a service account key, or the metadata server's default account). A bare access token
    cannot mint one.
    """
    # pylint: disable=import-outside-toplevel
    if params.get("impersonate_service_account"):
        from google.auth import impersonated_credentials
        return impersonated_credentials.IDTokenCredentials(credentials, target_audience=audience, include_email=True)
    kind = params.get("auth_kind") or "application"
    if kind == "serviceaccount":
        from google.oauth2 import service_account
        return from_key(params, service_account.IDTokenCredentials, target_audience=audience)
    if kind == "accesstoken":
        raise CloudRunError(
            "auth_kind=accesstoken cannot mint a Google ID token for a private service: an access token is not an "
            "ID token. Use auth_kind=serviceaccount or impersonate_service_account, or id_token=never with your own "
            "Authorization header in headers.")
    return None


def build_credentials(params):
    """google-auth credentials for the auth options, or AnonymousCredentials for an emulator."""
    import google.auth
    import google.auth.exceptions
    from google.auth.credentials import AnonymousCredentials
    if emulator_endpoint(params.get("api_endpoint")):
        return AnonymousCredentials(), None
    scopes = params.get("scopes") or DEFAULT_SCOPES
    kind = params.get("auth_kind") or "application"
    project = None
    try:
        if kind == "application":
            credentials, project = google.auth.default(scopes=scopes)
        elif kind == "serviceaccount":
            # pylint: disable-next=import-outside-toplevel
            from google.oauth2 import service_account
            credentials = from_key(params, service_account.Credentials, scopes=scopes)
            project = getattr(credentials, "project_id", None)
        elif kind == "machineaccount":
            # google.cloud's name for the metadata server's account (a VM, Cloud Build, an AWX on GCE).
            # pylint: disable-next=import-outside-toplevel
            from google.auth import compute_engine
            credentials = compute_engine.Credentials(
                service_account_email=params.get("service_account_email") or "default", scopes=scopes)
        else:
            if not params.get("access_token"):
                raise CloudRunError("auth_kind=accesstoken needs access_token.")
            # pylint: disable-next=import-outside-toplevel
            from google.oauth2.credentials import Credentials
            credentials = Credentials(params["access_token"])
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise CloudRunError(
            "No Google credentials found for auth_kind=application. Run `gcloud auth application-default "
            "login`, set GOOGLE_APPLICATION_CREDENTIALS, or use auth_kind=serviceaccount with "
            f"service_account_file. ({exc})") from exc
    except (ValueError, OSError) as exc:
        raise CloudRunError(f"Cannot load the service account key for auth_kind={kind}: {exc}") from exc
    if params.get("impersonate_service_account"):
        # pylint: disable-next=import-outside-toplevel
        from google.auth import impersonated_credentials
        credentials = impersonated_credentials.Credentials(
            source_credentials=credentials, target_principal=params["impersonate_service_account"],
            target_scopes=scopes, lifetime=3600)
    return credentials, project


# Region names as Google writes them (us-central1, europe-west1, northamerica-northeast2, me-central2).
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")


# A project ID: 6 to 30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen
# (cloud.google.com/resource-manager/docs/creating-managing-projects); older ones have a domain prefix (example.com:).
PROJECT_RE = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")


def project_problem(project):
    """Why ``project`` cannot be a project ID, or None (a project number is not taken here: IDs name resources)."""
    if project and not PROJECT_RE.match(project):
        return (f"project: '{project}' is not a project ID: 6 to 30 lowercase letters, digits and hyphens, starting "
                "with a letter (the ID, not the display name: gcloud projects list shows both).")
    return None


def region_problem(region):
    """Why ``region`` cannot be a Cloud Run region name, or None."""
    if region and not REGION_RE.match(region):
        return (f"region: '{region}' is not a region name. Use one like europe-west1 or asia-northeast3 "
                "(gcloud run regions list shows them).")
    return None


class CloudRunModule:
    """Wraps AnsibleModule: shared options merged in, clients built once, one place to fail."""

    def __init__(self, argument_spec, api=True, libraries=(), **kwargs):
        """``api=False`` for a module that calls no Google API: no auth options, no Google libraries
        needed, the same failure handling and masking. ``libraries`` are the clients the module calls
        (pip names, keys of LIBRARIES), checked with google-auth, requests and google-api-core; None
        when the module checks them itself (``require``), for the options that call an API."""
        spec = gcp_argument_spec() if api else {}
        spec.update(argument_spec)
        self.ansible = AnsibleModule(argument_spec=spec, **kwargs)
        if api and libraries is not None:
            self.require(API_LIBRARIES + tuple(libraries))
        self.params = self.ansible.params
        for option in ("wait_timeout", "deadline"):  # every wait has a deadline, and a deadline is ahead
            if self.params.get(option) is not None and self.params[option] <= 0:
                self.ansible.fail_json(msg=f"{option}: {self.params[option]} must be more than 0 seconds; nothing "
                                           "was requested.")
        self.check_mode = self.ansible.check_mode
        self.diff_mode = self.ansible._diff  # pylint: disable=protected-access
        self._credentials = None
        self._clients = {}
        self.masker = Masker()

    def require(self, packages):
        """Fail with Ansible's missing_required_lib message when one of ``packages`` is not installed."""
        missing = missing_library(packages)
        if missing:
            self.ansible.fail_json(msg=missing_required_lib(missing))

    def hide(self, values):
        """Mask these secret values in everything the module prints: whole (Ansible's no_log_values), and in
        messages, warnings and log lines also cut short or line by line (``_mask``)."""
        values = [str(v) for v in values if v not in (None, "")]
        self.ansible.no_log_values.update(values)
        self.masker.add(values)

    def warn(self, message):
        self.ansible.warn(self.masker.text(message))

    @property
    def endpoint(self):
        """The API endpoint in use: an emulator's http URL, a custom one, or None for Google's."""
        return emulator_endpoint(self.params.get("api_endpoint")) or self.params.get("api_endpoint")

    def _auth(self):
        if self._credentials is None:
            self._credentials = build_credentials(self.params)
        return self._credentials

    @property
    def project(self):
        project = self.params.get("project") or self._auth()[1]
        if not project:
            raise CloudRunError("project is required: set the project option, GCP_PROJECT, or "
                                "module_defaults for group/nadle.cloudrun.gcp.")
        problem = project_problem(project)
        if problem:
            raise CloudRunError(problem)
        return project

    @property
    def region(self):
        if not self.params.get("region"):
            raise CloudRunError("region is required: set the region option (e.g. europe-west1), GCP_REGION, "
                                "or module_defaults for group/nadle.cloudrun.gcp.")
        problem = region_problem(self.params["region"])
        if problem:
            raise CloudRunError(problem)
        return self.params["region"]

    @property
    def parent(self):
        from google.cloud import run_v2
        return run_v2.ServicesClient.common_location_path(self.project, self.region)

    # Resource names come from the official clients' path helpers, never written by hand.
    def service_path(self, name=None):
        """``projects/P/locations/R/services/S``, of the ``name`` option when no name is given."""
        from google.cloud import run_v2
        return run_v2.ServicesClient.service_path(self.project, self.region, name or self.params["name"])

    def job_path(self, name=None):
        """``projects/P/locations/R/jobs/J``, of the ``name`` option when no name is given."""
        from google.cloud import run_v2
        return run_v2.JobsClient.job_path(self.project, self.region, name or self.params["name"])

    def revision_path(self, revision, service=None):
        from google.cloud import run_v2
        return run_v2.RevisionsClient.revision_path(self.project, self.region, service or self.params["name"],
                                                    revision)

    def client(self, kind):
        """``services``, ``revisions``, ``secrets``, ``builds`` or ``storage``: an official client, one per kind."""
        if kind not in self._clients:
            endpoint = client_endpoint(kind, self.params.get("api_endpoint"))
            from google.api_core.client_options import ClientOptions
            options = ClientOptions(api_endpoint=endpoint) if endpoint else None
            if kind == "storage":
                # pylint: disable-next=import-outside-toplevel
                from google.cloud import storage
                self._clients[kind] = storage.Client(project=self.project, credentials=self._auth()[0],
                                                     client_options=options)
            else:
                module_name, class_name = CLIENTS[kind]
                client_class = getattr(importlib.import_module(module_name), class_name)
                self._clients[kind] = client_class(credentials=self._auth()[0], transport="rest",
                                                   client_options=options)
        return self._clients[kind]

    def reader(self, kind):
        """``services`` or ``secrets``: the read calls of that API over REST (``_rest``), for a run that only
        reads and should not load the client libraries."""
        key = f"rest-{kind}"
        if key not in self._clients:
            # pylint: disable-next=import-outside-toplevel
            from ansible_collections.nadle.cloudrun.plugins.module_utils._rest import Reader
            self._clients[key] = Reader(kind, self.session(), client_endpoint(kind, self.params.get("api_endpoint")))
        return self._clients[key]

    @property
    def credentials(self):
        """The google-auth credentials for the auth options."""
        return self._auth()[0]

    @property
    def emulator(self):
        """The emulator's http endpoint, or None against Google's APIs."""
        return emulator_endpoint(self.params.get("api_endpoint"))

    @property
    def run_endpoint(self):
        """Cloud Run's endpoint for plain REST reads: the emulator's, the api_endpoint, or Google's."""
        return client_endpoint("services", self.params.get("api_endpoint")) or RUN_ENDPOINT

    @property
    def logging_endpoint(self):
        """Cloud Logging's endpoint: the emulator's when one is used, else Google's."""
        return emulator_endpoint(self.params.get("api_endpoint")) or LOGGING_ENDPOINT

    def session(self):
        """An HTTP session that signs requests with the module's credentials (for APIs without a client here)."""
        # pylint: disable-next=import-outside-toplevel
        from google.auth.transport.requests import AuthorizedSession
        return AuthorizedSession(self._auth()[0])

    def run(self, handler):
        """Call ``handler(self)`` -> result dict; a CloudRunError becomes one readable fail_json."""
        try:
            result = handler(self)
        except CloudRunError as exc:
            self.ansible.fail_json(**self.mask(dict(exc.details, msg=exc.msg, exception=traceback.format_exc())))
        self.ansible.exit_json(**self.mask(result))

    def mask(self, result):
        """``result`` with the secrets the handler registered (``hide``) masked in every string, whole or in part.

        Asked when the result leaves, not before the handler runs: the handler learns its secrets as it goes.
        With no secret to hide (most runs) the result is returned as it is, not copied string by string.
        """
        return self.masker.apply(result) if self.masker else result
