# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: env values kept in Secret Manager, referenced by the service."""

from __future__ import annotations

import copy
import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import short


NEW_VERSION = "(new version)"  # check mode: the version a run would write, as the diff shows it


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
    """The Secret Manager secret that holds ``key`` of a service: ``service-key`` in lowercase."""
    return re.sub(r"[^a-z0-9-]", "-", f"{service_id}-{key}".lower().replace("_", "-"))[:255]


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


def _create_secret(client, project, name, service_id):
    """Create the secret unless it exists (a secret with no version yet reads like a missing one)."""
    try:
        api.create_secret(client, parent=client.common_project_path(project), secret_id=short(name),
                          labels={"managed-by": "nadle-cloudrun", "cloud-run-service": service_id})
    except CloudRunError as exc:
        if exc.details.get("api_status") != 409:
            raise


def ensure_secrets(client, project, service_id, values, pinned, check_mode):
    """Make Secret Manager hold ``values`` ({KEY: text}); returns (keys written, {KEY: reference}).

    A secret is created when missing and gets a new version only when its latest value differs.
    With ``pinned`` the reference names that version, so a new value makes a new revision;
    else it names ``latest``.
    """
    written, refs = [], {}
    for key, value in values.items():
        name = client.secret_path(project, secret_id(service_id, key))
        # One request when nothing changed: the latest version reads 404 when the secret is missing too.
        latest = api.access_latest_version(client, name=name)
        if latest is not None and latest.payload.data == value.encode("utf-8"):
            version = short(latest.name)
        else:
            written.append(key)
            if check_mode:
                version = NEW_VERSION
            else:
                if latest is None:
                    _create_secret(client, project, name, service_id)
                version = short(add_version(client, name, value.encode("utf-8")).name)
        refs[key] = {"secret": short(name), "version": version if pinned else "latest"}
    return sorted(written), refs
