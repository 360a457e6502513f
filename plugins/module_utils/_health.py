# -*- coding: utf-8 -*-
# Copyright: nadle.cloudrun contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""PRIVATE to nadle.cloudrun: poll a URL until it answers as expected, within a deadline."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

from ansible_collections.nadle.cloudrun.plugins.module_utils._base import CloudRunError, id_token_credentials
from ansible_collections.nadle.cloudrun.plugins.module_utils._env import read_entry

try:
    import requests
    from google.api_core.retry import exponential_sleep_generator
except ImportError:  # reported by CloudRunModule
    pass

# http_healthcheck's options; cloudrun_preflight's health option takes the same (all but url).
ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    method=dict(type="str", default="GET"),
    headers=dict(type="dict"),
    body=dict(type="str"),
    status_codes=dict(type="list", elements="int", default=[200]),
    json_contains=dict(type="raw"),
    body_regex=dict(type="str"),
    deadline=dict(type="int", default=120),
    request_timeout=dict(type="int", default=10),
    initial_delay=dict(type="float", default=1.0),
    max_delay=dict(type="float", default=10.0),
    validate_certs=dict(type="bool", default=True),
    follow_redirects=dict(type="bool", default=True),
    id_token=dict(type="str", default="auto", choices=["auto", "always", "never"]),
    audience=dict(type="str"),
    # The env of the service checked, as cloudrun_service takes it: its secret values are masked in what is printed.
    mask_env=dict(type="dict", options=dict(
        env=dict(type="dict"), env_files=dict(type="list", elements="path"),
        secrets=dict(type="dict", no_log=True), secret_keys=dict(type="list", elements="str", no_log=False))),
)
BODY_EXCERPT = 2000
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# The project owner's token at the emulator (its one anonymous caller, who may invoke every service). With a
# service account key, a real ID token is minted from the key's token_uri instead, which the emulator answers.
EMULATOR_TOKEN = "emulator-id-token"


def json_contains(expected, actual):
    """True when ``actual`` has everything ``expected`` has: dict keys recursively, lists item by item."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and json_contains(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(json_contains(e, a) for e, a in zip(expected, actual)))
    return expected == actual


def judge(response, params):
    """None when ``response`` is healthy, else what is wrong with it."""
    if response.status_code not in params["status_codes"]:
        return f"status {response.status_code}, expected {', '.join(map(str, params['status_codes']))}"
    if params.get("json_contains") is not None:
        try:
            body = response.json()
        except ValueError:
            return "the body is not JSON"
        if not json_contains(params["json_contains"], body):
            return f"the JSON body does not contain {json.dumps(params['json_contains'], sort_keys=True)}"
    if params.get("body_regex") and not re.search(params["body_regex"], response.text):
        return f"the body does not match /{params['body_regex']}/"
    return None


def audience_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def fetch_id_token(module, audience):
    """A Google ID token for ``audience`` (a private Cloud Run URL), from the module's credentials."""
    if module.emulator and ((module.params.get("auth_kind") or "application") != "serviceaccount"
                            or module.params.get("impersonate_service_account")):
        return EMULATOR_TOKEN
    # pylint: disable-next=import-outside-toplevel
    import google.auth.exceptions
    # pylint: disable-next=import-outside-toplevel
    import google.auth.transport.requests
    # pylint: disable-next=import-outside-toplevel
    from google.oauth2 import id_token
    try:
        # The same credentials as every other module: auth_kind=serviceaccount (AWX), impersonation, or ADC.
        credentials = id_token_credentials(module.params, module.credentials, audience)
        if credentials is not None:
            credentials.refresh(google.auth.transport.requests.Request())
            return credentials.token
        return id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)
    except (google.auth.exceptions.GoogleAuthError, ValueError, OSError) as exc:
        raise CloudRunError(
            f"Cannot get a Google ID token for {audience}: {exc}. ID tokens need a service account "
            "(GOOGLE_APPLICATION_CREDENTIALS, the metadata server, or impersonate_service_account).") from exc


def option_problems(params):
    """Problems with the options, before any request: each names the option and what is allowed."""
    problems = []
    parts = urlsplit(params.get("url") or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(f"url: '{params.get('url')}' is not an http:// or https:// URL with a host.")
    for option in ("deadline", "request_timeout", "initial_delay", "max_delay"):
        if params.get(option) is not None and params[option] <= 0:
            problems.append(f"{option}: {params[option]} must be more than 0 seconds.")
    if (params.get("method") or "GET").upper() not in METHODS:
        problems.append(f"method: '{params.get('method')}' is not an HTTP method ({', '.join(METHODS)}).")
    if isinstance(params.get("json_contains"), str):
        try:
            parsed = json.loads(params["json_contains"])
        except ValueError:
            parsed = None
        if isinstance(parsed, (dict, list)):
            problems.append("json_contains: give the JSON as a mapping (or a list), not as text: it is compared with "
                            "the parsed body, so the text would never match.")
    if params.get("body_regex"):
        try:
            re.compile(params["body_regex"])
        except re.error as exc:
            problems.append(f"body_regex: '{params['body_regex']}' is not a regular expression ({exc}).")
    if any(not 100 <= code <= 599 for code in params.get("status_codes") or []):
        problems.append(f"status_codes: {params['status_codes']} must be HTTP status codes (100 to 599).")
    return problems


def _request(session, params, headers, token):
    """One request: (response or None, why it is not healthy or None)."""
    if token:
        headers = dict(headers, Authorization=f"Bearer {token}")
    try:
        response = session.request(params["method"], params["url"], headers=headers, data=params.get("body"),
                                   timeout=params["request_timeout"], verify=params["validate_certs"],
                                   allow_redirects=params["follow_redirects"])
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    return response, judge(response, params)


def _result(params, response, last_error, attempts, elapsed, token):
    result = {
        "changed": False, "url": params["url"], "attempts": attempts, "elapsed": round(elapsed, 3),
        "last_error": last_error, "status": response.status_code if response is not None else None,
        "body": response.text[:BODY_EXCERPT] if response is not None else None,
        "json": None, "used_id_token": token is not None,
    }
    if response is not None:
        try:
            result["json"] = response.json()
        except ValueError:
            pass
    return result


def wait_healthy(module, params=None):
    """Poll ``params["url"]`` until healthy or the deadline passes: http_healthcheck's result, or CloudRunError.

    ``params`` are http_healthcheck's options (the module's own when not given); ``module`` gives the
    credentials of an ID token. ``used_id_token`` in the result is false when the URL answered without one.
    """
    params = params or module.params
    if params.get("mask_env"):  # its secret values; the deploy that set this env refused its problems already
        module.hide(read_entry(params["mask_env"])[1].values())
    problems = option_problems(params)
    if problems:
        raise CloudRunError("Nothing was requested:\n- " + "\n- ".join(problems))
    token = None
    if params["id_token"] == "always":
        token = fetch_id_token(module, params.get("audience") or audience_of(params["url"]))
    started = time.monotonic()
    delays = exponential_sleep_generator(params["initial_delay"], params["max_delay"])
    attempts = 0
    with requests.Session() as session:
        while True:
            attempts += 1
            response, last_error = _request(session, params, params.get("headers") or {}, token)
            if last_error is None:
                break
            if response is not None and response.status_code in (401, 403) and params["id_token"] == "auto" \
                    and token is None:
                token = fetch_id_token(module, params.get("audience") or audience_of(params["url"]))
                continue  # the private service, asked again with a token: not a failed attempt to wait for
            pause = next(delays)
            if time.monotonic() + pause > started + params["deadline"]:
                break
            time.sleep(pause)
    result = _result(params, response, last_error, attempts, time.monotonic() - started, token)
    if last_error is not None:
        excerpt = (result["body"] or "")[:500]
        raise CloudRunError(
            f"{params['method']} {params['url']} is not healthy after {attempts} attempts in {result['elapsed']}s "
            f"(deadline {params['deadline']}s): {last_error}." + (f" Body: {excerpt}" if excerpt else ""),
            **{k: v for k, v in result.items() if k != "changed"})
    return result
