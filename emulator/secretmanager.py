"""Secret Manager v1: secrets, versions, and access, through the official secretmanager_v1 types."""

import base64
import uuid

from google.cloud import secretmanager_v1

from emulator.errors import ApiError, not_found, or_not_found
from emulator.wire import parse, render


def _view(message_type, record):
    """A stored record as the API shows it: without the emulator's own ``_`` fields, through its type."""
    return render(message_type, {k: v for k, v in record.items() if not k.startswith("_")})


class SecretManager:
    """Secrets by name (``projects/P/secrets/S``), each with numbered versions."""

    def __init__(self, store, now):
        self.store = store
        self.now = now

    def _secret(self, name):
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
        response = {"name": version["name"], "payload": {"data": data}}
        return render(secretmanager_v1.AccessSecretVersionResponse, response)

    def resolve(self, project, secret, version):
        """The text of ``secret`` (an ID in ``project`` or a full name) at ``version``; None if missing."""
        name = secret if secret.startswith("projects/") else f"projects/{project}/secrets/{secret}"
        try:
            with self.store.lock:
                data = self._enabled(self._version(f"{name}/versions/{version or 'latest'}"))["_data"]
        except ApiError:
            return None
        return base64.b64decode(data).decode("utf-8", "replace")
