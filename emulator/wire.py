"""Bodies in and out through the official proto-plus types: the wire format of every emulated API."""

import json

from google.protobuf import json_format

from emulator.errors import ApiError


def parse(raw, message_cls, what):
    """A request body as a dict of the API's JSON; an unknown field or bad JSON is a 400, as on the API."""
    try:
        message = message_cls.from_json(raw or "{}")
    except json_format.ParseError as exc:
        raise ApiError(400, f"Invalid JSON payload received for {what}. {exc}") from exc
    return json.loads(message_cls.to_json(message, use_integers_for_enums=False,
                                          always_print_fields_with_no_presence=False))


def render(message_cls, data, int_enums=False):
    """A stored dict written through the official type, so only real fields go out."""
    message = message_cls.from_json(json.dumps(data))
    return json.loads(message_cls.to_json(message, use_integers_for_enums=int_enums,
                                          always_print_fields_with_no_presence=False))


class Raw:
    """A non-JSON-API answer (the registry's): status, body and headers as given."""

    def __init__(self, status, payload, headers=()):
        self.status = status
        self.payload = payload
        self.headers = list(headers)


def parse_pb(raw, message, what):
    """Parse a body into a plain protobuf message (the IAM types); an unknown field is a 400."""
    try:
        json_format.Parse(raw or b"{}", message)
    except json_format.ParseError as exc:
        raise ApiError(400, f"Invalid JSON payload received for {what}. {exc}") from exc
    return message


def listing(field, names, view, query):
    """One page of a List call, AIP-158: ``pageSize`` (100 when unset) items of ``names`` from ``pageToken``,
    each through ``view``, and ``nextPageToken`` when more follow."""
    size = int(query.get("pageSize", ["0"])[0] or 0) or 100
    start = int(query.get("pageToken", ["0"])[0] or 0)
    result = {field: [view(name) for name in names[start:start + size]]}
    if start + size < len(names):
        result["nextPageToken"] = str(start + size)
    return result
