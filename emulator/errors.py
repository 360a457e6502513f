"""API errors in the google.rpc.Status JSON form the Google front-end returns."""

# gRPC code numbers, used inside failed long-running operations.
GRPC_CODES = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
}

# The status name the front-end puts beside each HTTP status.
HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class ApiError(Exception):
    """An error answered to the client as ``{"error": {...}}`` with an HTTP status."""

    def __init__(self, http_status, message, status=None, violations=None, details=None):
        super().__init__(message)
        self.details = details or []
        self.http_status = http_status
        self.message = message
        self.status = status or HTTP_STATUS_NAMES.get(http_status, "UNKNOWN")
        self.violations = violations or []

    def body(self):
        error = {"code": self.http_status, "message": self.message, "status": self.status}
        if self.violations:
            error["details"] = [{
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": f, "description": d} for f, d in self.violations],
            }]
        if self.details:
            error["details"] = error.get("details", []) + self.details
        return {"error": error}


def invalid(violations, request_name):
    """A 400 for one or more ``(field, description)`` violations, worded as Cloud Run v2 does."""
    first_field, first_text = violations[0]
    message = f"Violation in {request_name}.{first_field}: {first_text}"
    if len(violations) > 1:
        message += "".join(f"\nViolation in {request_name}.{f}: {d}" for f, d in violations[1:])
    return ApiError(400, message, "INVALID_ARGUMENT", violations)


def not_found(message):
    return ApiError(404, message, "NOT_FOUND")


def or_not_found(value, message):
    """``value``, or a 404 with the API's ``message`` when it is None (a lookup in the store)."""
    if value is None:
        raise not_found(message)
    return value


class RevisionFailure(Exception):
    """A revision that cannot become ready; the message is what Cloud Run would say."""

    def __init__(self, message, reason="HEALTH_CHECK_CONTAINER_ERROR"):
        super().__init__(message)
        self.reason = reason


class ContainerProblem(RevisionFailure):
    """A container that cannot be started from its image: Cloud Run's words without the revision they are of
    (a revision puts "Revision 'R' is not ready and cannot serve traffic." before them; a job's task does not)."""
