# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: env values kept in Secret Manager, referenced by the service."""

from __future__ import annotations

import re

from ansible_collections.nadle.cloudrun.plugins.module_utils import _api as api
from ansible_collections.nadle.cloudrun.plugins.module_utils._spec import short


def secret_id(service_id, key):
    """The Secret Manager secret that holds ``key`` of a service: ``service-key`` in lowercase."""
    return re.sub(r"[^a-z0-9-]", "-", f"{service_id}-{key}".lower().replace("_", "-"))[:255]


def ensure_secrets(client, project, service_id, values, pinned, check_mode):
    """Make Secret Manager hold ``values`` ({KEY: text}); returns (keys written, {KEY: reference}).

    A secret is created when missing and gets a new version only when its latest value differs.
    With ``pinned`` the reference names that version, so a new value makes a new revision;
    else it names ``latest``.
    """
    written, refs = [], {}
    for key, value in values.items():
        name = f"projects/{project}/secrets/{secret_id(service_id, key)}"
        secret = api.get_secret(client, name=name)
        latest = api.access_latest_version(client, name=name) if secret is not None else None
        if latest is not None and latest.payload.data == value.encode("utf-8"):
            version = short(latest.name)
        else:
            written.append(key)
            if check_mode:
                version = "(new version)"
            else:
                if secret is None:
                    api.create_secret(client, parent=f"projects/{project}", secret_id=short(name),
                                      labels={"managed-by": "nadle-cloudrun", "cloud-run-service": service_id})
                version = short(api.add_secret_version(client, name=name, data=value.encode("utf-8")).name)
        refs[key] = {"secret": short(name), "version": version if pinned else "latest"}
    return sorted(written), refs
