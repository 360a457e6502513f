# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: the reads of cloudrun_preflight's compare, as plain REST calls.

Why not the official clients here: a deploy with nothing to do is one module run per service,
and importing google-cloud-run and google-cloud-secret-manager costs some 0.5 s of CPU in each
run (python -X importtime), more than the rest of that run; with 10 services on 2 cores that was
2.8 times a one-task ping play where the goal is 2.5 (bench/noop.py). These readers answer the
calls the read path makes on the official clients (get_service, get_iam_policy,
access_secret_version, get_secret and the path helpers) with google-auth's AuthorizedSession,
and raise google.api_core's exceptions, so ``_api.api_call`` retries and translates them as it
does the clients'. Every write goes through the official clients.
"""

from __future__ import annotations

import base64
from types import SimpleNamespace

try:
    from google.api_core import exceptions as gexc
except ImportError:  # reported by CloudRunModule
    pass

ENDPOINTS = {"services": "https://run.googleapis.com", "secrets": "https://secretmanager.googleapis.com"}
VERSIONS = {"services": "v2", "secrets": "v1"}


def service_path(project, region, service):
    """``projects/P/locations/R/services/S``, as run_v2.ServicesClient.service_path writes it."""
    return f"projects/{project}/locations/{region}/services/{service}"


class Reader:
    """The read calls of one API (``services`` or ``secrets``) over REST, shaped as the client's."""

    def __init__(self, kind, session, endpoint=None):
        endpoint = endpoint or ENDPOINTS[kind]
        self.base = f"{endpoint if '://' in endpoint else 'https://' + endpoint}/{VERSIONS[kind]}"
        self.session = session

    @staticmethod
    def secret_path(project, secret):
        """As secretmanager_v1.SecretManagerServiceClient.secret_path writes it."""
        return f"projects/{project}/secrets/{secret}"

    def _get(self, path, retry=None, params=None, timeout=60):
        def call():
            response = self.session.get(f"{self.base}/{path}", params=params, timeout=timeout)
            if response.status_code >= 400:
                raise gexc.from_http_response(response)
            return response.json()
        return retry(call)() if retry else call()

    def get_service(self, name, retry=None, timeout=60):
        """The Service as the API's JSON (the form ``_api.to_dict`` gives a client's answer)."""
        return self._get(name, retry, timeout=timeout)

    def get_iam_policy(self, request, retry=None, timeout=60):
        # pylint: disable-next=import-outside-toplevel
        from google.iam.v1 import policy_pb2
        # pylint: disable-next=import-outside-toplevel
        from google.protobuf import json_format
        version = (request.get("options") or {}).get("requested_policy_version", 0)
        answer = self._get(f"{request['resource']}:getIamPolicy", retry,
                           params={"options.requestedPolicyVersion": version}, timeout=timeout)
        return json_format.ParseDict(answer, policy_pb2.Policy(), ignore_unknown_fields=True)

    def access_secret_version(self, name, retry=None, timeout=60):
        answer = self._get(f"{name}:access", retry, timeout=timeout)
        data = base64.b64decode((answer.get("payload") or {}).get("data") or "")
        return SimpleNamespace(name=answer.get("name", name), payload=SimpleNamespace(data=data))

    def get_secret(self, name, retry=None, timeout=60):
        answer = self._get(name, retry, timeout=timeout)
        return SimpleNamespace(name=answer.get("name", name), labels=answer.get("labels") or {})
