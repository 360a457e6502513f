"""Fault injection, switched on and off while the emulator runs (POST /_emulator/faults)."""

import random
import threading
import time

from emulator.errors import ApiError

MESSAGES = {
    403: "The caller does not have permission",  # Google's PERMISSION_DENIED text when it names nothing else
    429: "Quota exceeded for quota metric 'Requests' of service 'run.googleapis.com'.",
    500: "Internal error encountered.",
    502: "Bad Gateway",
    503: "The service is currently unavailable.",
    504: "The request timed out.",
}
SETTINGS = {
    "error_rate": float,     # share of matching requests that fail, 0..1
    "error_count": int,      # or: the next N matching requests fail
    "error_status": int,     # the HTTP status they fail with
    "methods": list,         # HTTP methods (GET, PATCH, ...) or RPC names (GetService, ...); empty = all
    "latency_ms": int,       # added to every API request
    "pending_polls": int,    # each new operation answers "not done" to this many polls first
    "rollout_ms": int,       # a rollout of a new revision takes at least this long before its operation is done
    "build_ms": int,         # a build stays WORKING at least this long before it ends
    "etag_conflict": bool,   # the next write fails with 409 ABORTED
    "outage_ms": int,        # from now, for this long, API connections are dropped without an answer
    "commit_then_fail": int,  # the next N matching writes are carried out, then answered with error_status
    "build_status": str,     # builds end with this status (FAILURE, CANCELLED, ...) and an operation without error
    "log_lag_ms": int,       # a log line reaches entries:list this long after it was written
    "second_writer": bool,   # just before the next service update (job create), another writer changes the service (creates the job)
    "drs": bool,             # an org policy (Domain Restricted Sharing) refuses allUsers in IAM policies
    "secret_iam": bool,      # a fresh project: a revision reads a secret only with secretAccessor on it
    "api_enable_delay_ms": int,  # an API enabled from now on answers 403 SERVICE_DISABLED this long after
    "iam_delay_ms": int,     # an IAM binding added from now on takes effect this long after setIamPolicy
    "seed": int,
}


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.settings = {}
        self.rng = random.Random(0)
        self.reset()

    def reset(self):
        with self.lock:
            self.settings = {"error_rate": 0.0, "error_count": 0, "error_status": 503, "methods": [],
                             "latency_ms": 0, "pending_polls": 0, "rollout_ms": 0, "build_ms": 0, "etag_conflict": False, "outage_ms": 0,
                             "drs": False, "second_writer": False, "secret_iam": False,
                             "commit_then_fail": 0, "build_status": "", "log_lag_ms": 0, "api_enable_delay_ms": 0,
                             "iam_delay_ms": 0, "seed": 0}
            self.outage_until = 0.0
            self.rng = random.Random(0)

    def configure(self, body):
        unknown = sorted(set(body) - set(SETTINGS))
        if unknown:
            raise ApiError(400, f"Unknown fault settings: {', '.join(unknown)}. Known: {', '.join(SETTINGS)}.")
        with self.lock:
            for key, value in body.items():
                self.settings[key] = SETTINGS[key](value)
            if "seed" in body:
                self.rng = random.Random(self.settings["seed"])
            if "outage_ms" in body:
                self.outage_until = time.monotonic() + self.settings["outage_ms"] / 1000.0
            return dict(self.settings)

    def current(self):
        with self.lock:
            return dict(self.settings)

    def after_write(self, http_method, rpc):
        """Raise the injected error for a write that was carried out: a 503 after the server committed."""
        with self.lock:
            methods = self.settings["methods"]
            matches = not methods or http_method in methods or rpc in methods
            if not matches or self.settings["commit_then_fail"] <= 0:
                return
            self.settings["commit_then_fail"] -= 1
            status = self.settings["error_status"]
        raise ApiError(status, MESSAGES.get(status, f"Injected error {status}."))

    def setting(self, key):
        with self.lock:
            return self.settings[key]

    def before_request(self, http_method, rpc):
        """Sleep for the added latency; raise the injected error when this request should fail."""
        with self.lock:
            settings = dict(self.settings)
            methods = settings["methods"]
            matches = not methods or http_method in methods or rpc in methods
            fail = False
            if matches and settings["error_count"] > 0:
                self.settings["error_count"] -= 1
                fail = True
            elif matches and settings["error_rate"] > 0:
                fail = self.rng.random() < settings["error_rate"]
        if settings["latency_ms"]:
            time.sleep(settings["latency_ms"] / 1000.0)
        if fail:
            status = settings["error_status"]
            raise ApiError(status, MESSAGES.get(status, f"Injected error {status}."))

    def in_outage(self):
        """Whether API connections are to be dropped now: a network blip between client and API."""
        with self.lock:
            return time.monotonic() < self.outage_until

    def drs(self):
        with self.lock:
            return self.settings["drs"]

    def take_second_writer(self):
        with self.lock:
            hit = self.settings["second_writer"]
            self.settings["second_writer"] = False
            return hit

    def take_etag_conflict(self):
        with self.lock:
            hit = self.settings["etag_conflict"]
            self.settings["etag_conflict"] = False
            return hit

    def pending_polls(self):
        with self.lock:
            return self.settings["pending_polls"]
