"""A tiny web app for emulator tests: answers with what its revision sees."""

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

missing = [n for n in os.environ.get("REQUIRED_ENV", "").split(",") if n and n not in os.environ]
if missing:
    # The same shape as pydantic-settings' error in the deploy record.
    print(f"pydantic_core._pydantic_core.ValidationError: {len(missing)} validation errors for Settings")
    for name in missing:
        print(name.lower())
        print("  Field required [type=missing, input_value={}, input_type=dict]")
    sys.exit(1)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "revision": os.environ.get("K_REVISION"),
            "service": os.environ.get("K_SERVICE"),
            "configuration": os.environ.get("K_CONFIGURATION"),
            "path": self.path,
            "pid": os.getpid(),
            "greeting": os.environ.get("GREETING"),
            "app_env": {k: v for k, v in os.environ.items() if k.startswith("APP_")},
            # ?env=NAME: one variable, for tests that check a secret reached the app.
            "env": {n: os.environ.get(n) for n in parse_qs(urlsplit(self.path).query).get("env", [])},
        }).encode()
        self.send_response(int(os.environ.get("APP_STATUS", "200")))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


if os.environ.get("APP_START_DELAY"):  # a slow start, for tests that stop the emulator meanwhile
    time.sleep(float(os.environ["APP_START_DELAY"]))
print(f"echo app listening on port {os.environ['PORT']}", flush=True)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
