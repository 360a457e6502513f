"""Real local URLs: one listener per service URL and per traffic-tag URL.

A request to a URL is forwarded to a revision process chosen by the caller (the
Cloud Run layer picks it from the traffic split). The app sees its own paths.
"""

import http.client
import http.server
import socketserver
import threading

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailers", "transfer-encoding", "upgrade",
}


class Request:
    """What the proxy hands to the router for one incoming request."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body


def forward(port, request, timeout=300):
    """Send ``request`` to 127.0.0.1:port; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        conn.request(request.method, request.path, body=request.body, headers=headers)
        response = conn.getresponse()
        body = response.read()
        out = [(k, v) for k, v in response.getheaders()
               if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
        return response.status, out, body
    finally:
        conn.close()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def _handler_for(route, key):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            request = Request(self.command, self.path, dict(self.headers.items()), body)
            status, headers, payload = route(key, request)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format, *args):  # pylint: disable=redefined-builtin
            pass

    return Handler


class Proxy:
    """Opens and closes the listeners, by key."""

    def __init__(self, host, route):
        self.host = host
        self.route = route
        self.lock = threading.Lock()
        self.listeners = {}

    def open(self, key, preferred_port=0):
        """Listen for ``key``, on ``preferred_port`` when it is free; returns the port."""
        with self.lock:
            if key in self.listeners:
                return self.listeners[key].server_address[1]
            server = None
            for port in ([preferred_port] if preferred_port else []) + [0]:
                try:
                    server = _Server((self.host, port), _handler_for(self.route, key))
                    break
                except OSError:
                    continue
            thread = threading.Thread(target=server.serve_forever, name=f"url-{key}", daemon=True)
            thread.start()
            self.listeners[key] = server
            return server.server_address[1]

    def close(self, key):
        with self.lock:
            server = self.listeners.pop(key, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def close_all(self):
        with self.lock:
            keys = list(self.listeners)
        for key in keys:
            self.close(key)
