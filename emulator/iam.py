"""IAM policies on resources (getIamPolicy, setIamPolicy), as Cloud Run and Secret Manager answer them.

One store section, ``policies``, keyed by resource name. Policy versions and conditional bindings
as IAM documents them (cloud.google.com/iam/docs/policies#versions); a stale etag is 409 ABORTED;
the ``drs`` fault plays an organisation with Domain Restricted Sharing.
"""

import base64
import copy
import hashlib
import json
import time
import uuid

from google.iam.v1 import iam_policy_pb2, policy_pb2
from google.protobuf import json_format

from emulator.errors import ApiError
from emulator.wire import parse_pb


def project_number(project):
    """The emulator's number for a project ID: the same ID gives the same 12 digits (a number is itself;
    a project ID never is all digits)."""
    if project.isdigit():
        return project
    return str(int(hashlib.sha256(project.encode()).hexdigest(), 16) % 10**12).zfill(12)


class Policies:
    """The policies of one store; ``exists(resource)`` raises the owning API's not-found error."""

    def __init__(self, store, faults):
        self.store = store
        self.faults = faults
        self._effective_from = {}  # (resource, role, member) -> monotonic time a new binding takes effect

    def get(self, resource, query=None, exists=lambda resource: None):
        """The policy; asked for at a version below 3, conditional bindings come back as IAM
        documents it: the role renamed ``ROLE_withcond_HASH``, no condition, version 1."""
        requested = int((query or {}).get("options.requestedPolicyVersion", ["0"])[0] or 0)
        with self.store.lock:
            exists(resource)
            policy = copy.deepcopy(self.store.policies.get(resource))
        if not policy:
            return {"etag": "ACAB"}
        if requested < 3 and any(b.get("condition") for b in policy.get("bindings", [])):
            for binding in policy["bindings"]:
                condition = binding.pop("condition", None)
                if condition:
                    digest = hashlib.sha256(json.dumps(condition, sort_keys=True).encode()).hexdigest()[:20]
                    binding["role"] = f"{binding['role']}_withcond_{digest}"
            policy["version"] = 1
        return policy

    def set(self, resource, body, exists=lambda resource: None):
        request = parse_pb(body, iam_policy_pb2.SetIamPolicyRequest(), "setIamPolicy")
        with self.store.lock:
            exists(resource)
            current = self.store.policies.get(resource, {"etag": "ACAB"})
            sent_etag = base64.b64encode(request.policy.etag).decode() if request.policy.etag else ""
            if (sent_etag and sent_etag != current.get("etag")) or self.faults.take_etag_conflict():
                raise ApiError(409, "There were concurrent policy changes. Please retry the whole "
                                    "read-modify-write with exponential backoff.", "ABORTED")
            if any("_withcond_" in b.role for b in request.policy.bindings):
                raise ApiError(400, "Policy bindings with roles of the form ROLE_withcond_HASH come from a "
                                    "policy read at version 1; read it at version 3 to change it.")
            if any(b.condition.expression for b in request.policy.bindings) and request.policy.version < 3:
                raise ApiError(400, "A policy with conditional role bindings must be set with version 3.")
            if self.faults.drs() and any("allUsers" in b.members or "allAuthenticatedUsers" in b.members
                                         for b in request.policy.bindings):
                # Domain Restricted Sharing, as users report Cloud Run's answer; the supported way to a
                # public service there is Service.invokerIamDisabled.
                raise ApiError(400, "One or more users named in the policy do not belong to a permitted "
                                    "customer, perhaps due to an organization policy.", "FAILED_PRECONDITION")
            policy = policy_pb2.Policy()
            policy.CopyFrom(request.policy)
            policy.version = policy.version or 1
            policy.etag = uuid.uuid4().bytes[:8]
            stored = json_format.MessageToDict(policy)
            # The iam_delay_ms fault: a new binding is in the policy at once but takes effect later, as Google's
            # IAM docs say of grants ("typically 2 minutes, potentially 7 or longer").
            delay = self.faults.setting("iam_delay_ms") / 1000.0
            before = {(b.get("role"), m) for b in current.get("bindings", []) for m in b.get("members", [])}
            for binding in stored.get("bindings", []):
                for member in binding.get("members", []):
                    if delay and (binding.get("role"), member) not in before:
                        self._effective_from[(resource, binding.get("role"), member)] = time.monotonic() + delay
            self.store.policies[resource] = stored
            self.store.save()
        return stored

    def has_member(self, resource, role, member):
        """Whether ``member`` holds ``role`` on ``resource`` without a condition."""
        with self.store.lock:
            policy = self.store.policies.get(resource) or {}
        if time.monotonic() < self._effective_from.get((resource, role, member), 0.0):
            return False  # granted, not in effect yet (the iam_delay_ms fault)
        return any(b.get("role") == role and member in b.get("members", []) and not b.get("condition")
                   for b in policy.get("bindings", []))
