"""A project as a first deploy finds it: its APIs (Service Usage v1) and Artifact Registry repositories.

Two modes. A *ready* project (the default, and what ``make demo`` uses): every API is enabled and
every Artifact Registry repository exists, as in a project someone has set up already. A *fresh*
project (``--fresh-project``, or ``POST /_emulator/project {"fresh": true}``): only the APIs Google
enables on a new project are on (cloud.google.com/service-usage/docs/enabled-service, "Services
enabled by default": Cloud Logging and Cloud Storage among them, not Cloud Run, Cloud Build, Artifact
Registry or Secret Manager), and a call to any other answers 403 ``SERVICE_DISABLED``; a repository
exists only once created, so a push to another fails the build; and a revision reads a secret only
with ``roles/secretmanager.secretAccessor`` on it.
"""

import json
import re
import time
import uuid

from google.cloud import artifactregistry_v1

from emulator.errors import ApiError, not_found
from emulator.iam import project_number
from emulator.wire import parse, render

DEFAULT_ENABLED = (
    "analyticshub.googleapis.com", "bigquery.googleapis.com", "bigqueryconnection.googleapis.com",
    "bigquerydatapolicy.googleapis.com", "bigquerymigration.googleapis.com", "bigqueryreservation.googleapis.com",
    "bigquerystorage.googleapis.com", "cloudapis.googleapis.com", "cloudtrace.googleapis.com",
    "dataform.googleapis.com", "dataplex.googleapis.com", "datastore.googleapis.com", "logging.googleapis.com",
    "monitoring.googleapis.com", "servicemanagement.googleapis.com", "serviceusage.googleapis.com",
    "sql-component.googleapis.com", "storage-api.googleapis.com", "storage-component.googleapis.com",
    "storage.googleapis.com",
)
# The titles Google gives the APIs a Cloud Run deploy may call (the serviceTitle of SERVICE_DISABLED).
TITLES = {
    "run.googleapis.com": "Cloud Run Admin API", "cloudbuild.googleapis.com": "Cloud Build API",
    "artifactregistry.googleapis.com": "Artifact Registry API", "secretmanager.googleapis.com": "Secret Manager API",
    "logging.googleapis.com": "Cloud Logging API", "storage.googleapis.com": "Cloud Storage API",
    "serviceusage.googleapis.com": "Service Usage API", "iam.googleapis.com": "Identity and Access Management (IAM) API",
    "compute.googleapis.com": "Compute Engine API", "containerregistry.googleapis.com": "Container Registry API",
    "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
    "vpcaccess.googleapis.com": "Serverless VPC Access API", "monitoring.googleapis.com": "Cloud Monitoring API",
}
KNOWN = set(TITLES) | set(DEFAULT_ENABLED)
SU_TYPES = "type.googleapis.com/google.api.serviceusage.v1."
AR_TYPES = "type.googleapis.com/google.devtools.artifactregistry.v1."
REPOSITORY_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
AR_IMAGE = re.compile(r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[^/]+)/(?P<repository>[^/:@]+)/")


class Project:
    """Which APIs are on and which repositories exist, per project; both answer for every API route."""

    def __init__(self, store, now, fresh=False, faults=None):
        self.store = store
        self.now = now
        self.faults = faults
        self._answers_from = {}  # (project number, API) -> monotonic time its enabling reaches every server
        if fresh:
            self.set_fresh(True)

    # ---------------------------------------------------------------- mode (admin)
    def fresh(self):
        with self.store.lock:
            return bool(self.store.project.get("fresh"))

    def set_fresh(self, fresh):
        """A fresh project starts again from Google's defaults: no API enabled by a user, no repository."""
        with self.store.lock:
            self.store.project["fresh"] = bool(fresh)
            if fresh:
                self.store.apis.clear()
                self.store.repositories.clear()
            self.store.save()
        return self.describe()

    def describe(self):
        with self.store.lock:
            return {"fresh": bool(self.store.project.get("fresh")),
                    "enabled": {number: sorted(names) for number, names in self.store.apis.items()},
                    "repositories": sorted(self.store.repositories)}

    # ---------------------------------------------------------------- APIs
    def enabled(self, project, api):
        if not self.fresh() or api in DEFAULT_ENABLED:
            return True
        with self.store.lock:
            return api in self.store.apis.get(project_number(project), [])

    def require(self, project, api):
        """Raise Google's 403 SERVICE_DISABLED for a call to an API that is off, in the form Google answers it
        (as users report it verbatim, for example google-gemini/gemini-cli#1343)."""
        number = project_number(project)
        if api is None or (self.enabled(project, api)
                           and time.monotonic() >= self._answers_from.get((number, api), 0.0)):
            return
        url = f"https://console.developers.google.com/apis/api/{api}/overview?project={number}"
        title = TITLES.get(api, api)
        message = (f"{title} has not been used in project {number} before or it is disabled. Enable it by visiting "
                   f"{url} then retry. If you enabled this API recently, wait a few minutes for the action to "
                   "propagate to our systems and retry.")
        details = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
             "domain": "googleapis.com",
             "metadata": {"service": api, "consumer": f"projects/{number}", "serviceTitle": title,
                          "containerInfo": number, "activationUrl": url}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Google developers console API activation", "url": url}]},
        ]
        raise ApiError(403, message, "PERMISSION_DENIED", details=details)

    def _service(self, project, api):
        number = project_number(project)
        return {"name": f"projects/{number}/services/{api}", "parent": f"projects/{number}",
                "config": {"name": api, "title": TITLES.get(api, api)},
                "state": "ENABLED" if self.enabled(project, api) else "DISABLED"}

    @staticmethod
    def _unknown(names):
        unknown = [n for n in names if n not in KNOWN]
        if unknown:
            # Service Usage's answer to a name it does not serve (or may not show): one 403 for the batch.
            raise ApiError(403, f"Not found or permission denied for service(s): {', '.join(unknown)}.",
                           "PERMISSION_DENIED")

    def get_service(self, project, api):
        self._unknown([api])
        return self._service(project, api)

    def batch_get(self, project, query):
        names = [n.rsplit("/", 1)[-1] for n in query.get("names", [])]
        if not names or len(names) > 30:
            raise ApiError(400, "names must hold between 1 and 30 service names.")
        self._unknown(names)
        return {"services": [self._service(project, n) for n in names]}

    def list_services(self, project, query):
        wanted = query.get("filter", [""])[0].replace("state:", "").strip()
        services = [self._service(project, n) for n in sorted(KNOWN)]
        return {"services": [s for s in services if not wanted or s["state"] == wanted]}

    def batch_enable(self, project, body):
        request = json.loads(body or b"{}")
        names = request.get("serviceIds") or []
        if not names or len(names) > 20:
            raise ApiError(400, "serviceIds must hold between 1 and 20 service names.")
        self._unknown(names)
        return self._enable(project, names, "BatchEnableServicesResponse")

    def enable(self, project, api):
        self._unknown([api])
        return self._enable(project, [api], "EnableServiceResponse")

    def _enable(self, project, names, response_type):
        number = project_number(project)
        before = [n for n in names if not self.enabled(project, n)]
        with self.store.lock:
            self.store.apis[number] = sorted(set(self.store.apis.get(number, [])) | set(names))
            self.store.save()
        # The api_enable_delay_ms fault: Service Usage says ENABLED at once, but the API itself keeps answering
        # 403 SERVICE_DISABLED for a while, as Google's does for minutes (its own message: "If you enabled this
        # API recently, wait a few minutes for the action to propagate to our systems and retry"; DefangLabs/defang
        # issue 1978, terraform-provider-google PR 1524).
        delay = (self.faults.setting("api_enable_delay_ms") if self.faults else 0) / 1000.0
        for api in before:
            self._answers_from[(number, api)] = time.monotonic() + delay
        services = [self._service(project, n) for n in names]
        response = ({"@type": SU_TYPES + response_type, "services": services}
                    if response_type.startswith("Batch") else
                    {"@type": SU_TYPES + response_type, "service": services[0]})
        if not before:
            # Nothing to do: Service Usage answers a finished no-op operation at once.
            return {"name": "operations/noop.DONE_OPERATION", "done": True, "response": response}
        name = f"operations/acat.p2-{number}-{uuid.uuid4()}"
        operation = {"name": name, "metadata": {"@type": SU_TYPES + "OperationMetadata",
                                                "resourceNames": [s["name"] for s in services]},
                     "done": False, "_response": response}
        with self.store.lock:
            self.store.project_operations[name] = operation
            self.store.save()
        return {k: v for k, v in operation.items() if not k.startswith("_")}

    # ---------------------------------------------------------------- operations of both APIs
    def get_operation(self, name):
        """The first read of an operation says it is running; the next one it is done (enabling takes a
        moment on Google, and a client must poll for it)."""
        with self.store.lock:
            operation = self.store.project_operations.get(name)
            if operation is None:
                raise not_found(f"Operation {name} not found.")
            view = {k: v for k, v in operation.items() if not k.startswith("_")}
            if operation.get("_read"):
                operation["done"] = view["done"] = True
                view["response"] = operation["_response"]
            operation["_read"] = True
            self.store.save()
        return view

    def has_operation(self, name):
        with self.store.lock:
            return name in self.store.project_operations

    # ---------------------------------------------------------------- Artifact Registry v1
    def repository_exists(self, name):
        if not self.fresh():
            return True
        with self.store.lock:
            return name in self.store.repositories

    def image_repository(self, image):
        """The repository name an Artifact Registry image is pushed to, or None for another registry."""
        match = AR_IMAGE.match(image)
        if not match:
            return None
        return f"projects/{match['project']}/locations/{match['location']}/repositories/{match['repository']}"

    def get_repository(self, name):
        """A repository; in a ready project every name exists, as a Docker repository made some time ago."""
        with self.store.lock:
            stored = self.store.repositories.get(name)
        if stored is None and self.fresh():
            raise not_found("Requested entity was not found.")
        if stored is None:
            stored = {"name": name, "format": "DOCKER", "mode": "STANDARD_REPOSITORY",
                      "createTime": "2024-01-01T00:00:00Z", "updateTime": "2024-01-01T00:00:00Z"}
        return render(artifactregistry_v1.Repository, dict(stored, registryUri=registry_uri(name)))

    def create_repository(self, parent, query, body):
        repository_id = query.get("repositoryId", query.get("repository_id", [""]))[0]
        if not REPOSITORY_ID.match(repository_id or ""):
            raise ApiError(400, f"Invalid repository ID '{repository_id}': it must start with a lowercase letter, "
                                "hold only lowercase letters, digits and hyphens, and be at most 63 characters.",
                           "INVALID_ARGUMENT")
        spec = parse(body, artifactregistry_v1.Repository, "repository")
        if spec.get("format", "FORMAT_UNSPECIFIED") == "FORMAT_UNSPECIFIED":
            raise ApiError(400, "Repository format must be specified.", "INVALID_ARGUMENT")
        name = f"{parent}/repositories/{repository_id}"
        if self.repository_exists(name):
            raise ApiError(409, f"the repository already exists: {name}", "ALREADY_EXISTS")
        stamp = self.now()
        repository = dict(spec, name=name, mode=spec.get("mode", "STANDARD_REPOSITORY"), createTime=stamp,
                          updateTime=stamp)
        operation_name = f"{parent}/operations/{uuid.uuid4()}"
        operation = {"name": operation_name,
                     "metadata": {"@type": AR_TYPES + "OperationMetadata"}, "done": False,
                     "_response": dict(render(artifactregistry_v1.Repository, repository),
                                       **{"@type": AR_TYPES + "Repository"})}
        with self.store.lock:
            self.store.repositories[name] = repository
            self.store.project_operations[operation_name] = operation
            self.store.save()
        return {k: v for k, v in operation.items() if not k.startswith("_")}


def registry_uri(name):
    """``LOCATION-docker.pkg.dev/PROJECT/REPOSITORY`` of ``projects/P/locations/L/repositories/R``."""
    parts = name.split("/")
    return f"{parts[3]}-docker.pkg.dev/{parts[1]}/{parts[5]}"
