# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: env values kept in Secret Manager, referenced by the service."""

from __future__ import annotations

import copy
import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._invoker import ensure_member
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import short


NEW_VERSION = "(new version)"  # check mode: the version a run would write, as the diff shows it
MANAGED_BY, MANAGER, SERVICE_LABEL = "managed-by", "nadle-cloudrun", "cloud-run-service"
ACCESSOR = "roles/secretmanager.secretAccessor"


def for_validation(spec):
    """A Service JSON that a validateOnly request can carry: a version still to be written is ``latest``.

    The placeholder is for people (the diff); Cloud Run takes ``latest``, a number or an alias.
    """
    spec = copy.deepcopy(spec)
    for container in (spec.get("template") or {}).get("containers") or []:
        for item in container.get("env") or []:
            ref = (item.get("valueSource") or {}).get("secretKeyRef")
            if ref and ref.get("version") == NEW_VERSION:
                ref["version"] = "latest"
    return spec


def secret_id(service_id, key):
    """The Secret Manager secret that holds ``key`` of a service: ``SERVICE_KEY``, one to one.

    A service name has no ``_`` (Cloud Run allows lowercase letters, digits and ``-``), so the first
    ``_`` ends it; in the key, any character a secret ID cannot hold, and ``-`` itself, is written
    ``-`` and two hex digits. So ``backend-mongodb`` + ``URL`` and ``backend`` + ``MONGODB_URL`` stay two
    secrets (``backend-mongodb_URL``, ``backend_MONGODB_URL``), where ``lower(service-key)`` made them one.
    """
    escaped = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "".join(f"-{b:02x}" for b in c.encode())
                      for c in key)
    return f"{service_id}_{escaped}"[:255]


def secret_labels(service_id, key):
    """What the collection writes on a secret it makes: who manages it, and whose key it holds."""
    value = re.sub(r"[^a-z0-9_-]", "-", key.lower())[:63]
    return {MANAGED_BY: MANAGER, SERVICE_LABEL: service_id, "env-key": value}


def refuse_foreign(client, name, service_id):
    """Refuse to write a value into a secret whose labels say another service's key lives there."""
    secret = api.get_secret(client, name=name)
    owner = dict(secret.labels).get(SERVICE_LABEL) if secret is not None else None
    if owner and owner != service_id:
        raise CloudRunError(
            f"Secret {name} belongs to Cloud Run service '{owner}' (its label {SERVICE_LABEL}), not to "
            f"'{service_id}', so no value was written to it. Rename the key, or remove the label if the secret "
            "is meant to be shared.")


def add_version(client, name, data, attempts=3):
    """Add ``data`` as the newest version of secret ``name``, once, even when an answer is lost.

    After a server error or a dropped connection the latest version is read first: if it already
    holds ``data``, that write landed, and a second one would only make a duplicate version.
    """
    for attempt in range(attempts):
        try:
            return api.add_secret_version(client, name=name, data=data)
        except CloudRunError as exc:
            if not api.lost_answer(exc) or attempt == attempts - 1:
                raise
            latest = api.access_latest_version(client, name=name)
            if latest is not None and latest.payload.data == data:
                return latest
            api.backoff(attempt)
    raise CloudRunError(f"Could not add a version to {name}.")  # not reached


def _create_secret(client, project, name, service_id, key):
    """Create the secret unless it exists (a secret with no version yet reads like a missing one)."""
    try:
        api.create_secret(client, parent=client.common_project_path(project), secret_id=short(name),
                          labels=secret_labels(service_id, key))
    except CloudRunError as exc:
        if exc.details.get("api_status") != 409:
            raise
        refuse_foreign(client, name, service_id)


def default_account(number):
    """The project's default compute service account, which a revision runs as unless told otherwise."""
    return f"{number}-compute@developer.gserviceaccount.com" if number and number.isdigit() else None


def _grant(client, name, account, new_secret, check_mode):
    """Give ``account`` roles/secretmanager.secretAccessor on secret ``name``; whether that changed anything."""
    if new_secret and check_mode:
        return True  # a secret still to be made has no binding yet; there is no policy to read
    return ensure_member(client, name, ACCESSOR, f"serviceAccount:{account}", True, check_mode)[0]


def ensure_secrets(client, project, service_id, values, pinned, check_mode, grant_to=None):
    """Make Secret Manager hold ``values`` ({KEY: text}); returns (keys written, {KEY: reference}, keys granted).

    A secret is created when missing (labelled ``secret_labels``) and gets a new version only when its
    latest value differs, and never when another service's label claims it (``refuse_foreign``). With
    ``pinned`` the reference names that version, so a new value makes a new revision; else it names
    ``latest``. ``grant_to(project_number)`` names the account the revision runs as: each secret
    created or versioned gives it roles/secretmanager.secretAccessor (Secret Manager names resources
    with the project's number, which makes the default compute account's name).
    """
    written, refs, granted = [], {}, []
    for key, value in values.items():
        name = client.secret_path(project, secret_id(service_id, key))
        # One request when nothing changed: the latest version reads 404 when the secret is missing too.
        latest = api.access_latest_version(client, name=name)
        if latest is not None and latest.payload.data == value.encode("utf-8"):
            refs[key] = {"secret": short(name), "version": short(latest.name) if pinned else "latest"}
            continue
        written.append(key)
        if latest is not None:
            refuse_foreign(client, name, service_id)  # a read, so check mode says it too
        if check_mode:
            version, answered = NEW_VERSION, latest.name if latest is not None else ""
        else:
            if latest is None:
                _create_secret(client, project, name, service_id, key)
            answered = add_version(client, name, value.encode("utf-8")).name
            version = short(answered)
        refs[key] = {"secret": short(name), "version": version if pinned else "latest"}
        account = grant_to(answered.split("/")[1] if answered.count("/") > 1 else None) if grant_to else None
        if account and _grant(client, name, account, latest is None, check_mode):
            granted.append(key)
    return sorted(written), refs, sorted(granted)
