"""Secret Manager v1: secrets, versions, and access, through the official secretmanager_v1 types."""

import base64
import uuid

from google.cloud import secretmanager_v1

from emulator.errors import ApiError, not_found, or_not_found
from emulator.iam import project_number
from emulator.wire import parse, render


ACCESSOR = "roles/secretmanager.secretAccessor"


def numbered(name):
    """``projects/ID/...`` as Secret Manager answers it: with the project's number ("gcloud returns the
    resource identifier which includes the project number", GoogleCloudPlatform/python-docs-samples#7212;
    hashicorp/terraform-provider-google#11343). Requests may name the project either way."""
    parts = name.split("/")
    if len(parts) > 1 and parts[0] == "projects" and not parts[1].isdigit():
        parts[1] = project_number(parts[1])
    return "/".join(parts)


def secret_name(project, secret):
    """A secretKeyRef's ``secret``, an ID in ``project`` or a full name, as a full name."""
    return secret if secret.startswith("projects/") else f"projects/{project}/secrets/{secret}"


def _view(message_type, record):
    """A stored record as the API shows it: without the emulator's own ``_`` fields, through its type."""
    shown = {k: v for k, v in record.items() if not k.startswith("_")}
    if "name" in shown:
        shown["name"] = numbered(shown["name"])
    return render(message_type, shown)


class SecretManager:
    """Secrets by name (``projects/P/secrets/S``), each with numbered versions and an IAM policy."""

    def __init__(self, store, now, policies):
        self.store = store
        self.now = now
        self.policies = policies

    def _stored(self, name):
        """``name`` as the store keys it (by project ID), whether the request named the project by ID or by
        number: Google takes either (GoogleCloudPlatform/python-docs-samples#7212)."""
        parts = name.split("/")
        if len(parts) >= 4 and parts[0] == "projects" and parts[1].isdigit():
            with self.store.lock:
                for key in self.store.secrets:
                    if numbered(key) == "/".join(parts[:4]):
                        return "/".join([key] + parts[4:])
        return name

    def _secret(self, name):
        name = self._stored(name)
        return or_not_found(self.store.secrets.get(name), f"Secret [{name}] not found or has no versions.")

    def create_secret(self, project, query, body):
        secret_id = query.get("secretId", [""])[0]
        if not secret_id or len(secret_id) > 255 or not all(c.isalnum() or c in "-_" for c in secret_id):
            raise ApiError(400, f"Invalid secret_id '{secret_id}': use letters, digits, '-' and '_' (at most 255).")
        spec = parse(body, secretmanager_v1.Secret, "secret")
        name = f"projects/{project}/secrets/{secret_id}"
        with self.store.lock:
            if name in self.store.secrets:
                raise ApiError(409, f"Secret [{name}] already exists.", "ALREADY_EXISTS")
            spec.setdefault("replication", {"automatic": {}})
            secret = dict(spec, name=name, createTime=self.now(), etag=f'"{uuid.uuid4().hex[:12]}"',
                          _versions=[])
            self.store.secrets[name] = secret
            self.store.save()
            return _view(secretmanager_v1.Secret, secret)

    def get_secret(self, name):
        with self.store.lock:
            return _view(secretmanager_v1.Secret, self._secret(name))

    def add_version(self, parent, body):
        request = parse(body, secretmanager_v1.AddSecretVersionRequest, "addVersion")
        payload = request.get("payload", {})
        parent = self._stored(parent)
        with self.store.lock:
            secret = self._secret(parent)
            number = len(secret["_versions"]) + 1
            version = {"name": f"{parent}/versions/{number}", "createTime": self.now(), "state": "ENABLED",
                       "etag": f'"{uuid.uuid4().hex[:12]}"', "_data": payload.get("data", "")}
            secret["_versions"].append(version)
            self.store.save()
            return _view(secretmanager_v1.SecretVersion, version)

    def _version(self, name):
        """A version by number, or ``latest``: the most recently created version, whatever its state
        ("latest" is an alias for the most recently created version; Secret Manager docs)."""
        name = self._stored(name)
        parent, _sep, ref = name.partition("/versions/")
        versions = self._secret(parent)["_versions"]
        if ref == "latest":
            if not versions:
                raise not_found(f"Secret [{parent}] not found or has no versions.")
            return versions[-1]
        for version in versions:
            if version["name"] == name:
                return version
        raise not_found(f"Secret Version [{name}] not found.")

    @staticmethod
    def _enabled(version):
        """Access to a disabled version is refused, as Secret Manager does (FAILED_PRECONDITION)."""
        if version["state"] != "ENABLED":
            raise ApiError(400, f"Secret Version [{version['name']}] is in {version['state']} state.",
                           "FAILED_PRECONDITION")
        return version

    def set_state(self, name, state):
        with self.store.lock:
            version = self._version(name)
            version["state"] = state
            self.store.save()
            return _view(secretmanager_v1.SecretVersion, version)

    def get_version(self, name):
        with self.store.lock:
            return _view(secretmanager_v1.SecretVersion, self._version(name))

    def list_versions(self, parent, query):  # pylint: disable=unused-argument
        with self.store.lock:
            versions = list(reversed(self._secret(parent)["_versions"]))
            result = {"versions": [_view(secretmanager_v1.SecretVersion, v) for v in versions], "totalSize": len(versions)}
        return result if versions else {}

    def access_version(self, name):
        with self.store.lock:
            version = self._enabled(self._version(name))
            data = version["_data"]
        response = {"name": numbered(version["name"]), "payload": {"data": data}}
        return render(secretmanager_v1.AccessSecretVersionResponse, response)

    def get_iam_policy(self, name, query):
        return self.policies.get(self._stored(name), query, exists=self._secret)

    def set_iam_policy(self, name, body):
        return self.policies.set(self._stored(name), body, exists=self._secret)

    def readable_by(self, project, secret, member):
        """Whether ``member`` may access ``secret``'s versions: roles/secretmanager.secretAccessor on the
        secret (the emulator has no project-level policy)."""
        return self.policies.has_member(self._stored(secret_name(project, secret)), ACCESSOR, member)

    def resolve(self, project, secret, version):
        """The text of ``secret`` (an ID in ``project`` or a full name) at ``version``; None if missing."""
        name = secret_name(project, secret)
        try:
            with self.store.lock:
                data = self._enabled(self._version(f"{name}/versions/{version or 'latest'}"))["_data"]
        except ApiError:
            return None
        return base64.b64decode(data).decode("utf-8", "replace")
