"""A loopback reverse proxy in front of the tracking server. With
credentials it demands them before forwarding, standing in for an
authenticated MLflow deployment: HTTP Basic with one username/password, or a
Bearer token. Its `delay` (seconds, settable at any time; None: never
answer) stands in for a slow server."""
import base64
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AuthProxy:
    def __init__(self, upstream, username=None, password=None, token=None, delay=0):
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.closed = threading.Event()
        self.accepted = set()
        if username is not None:
            raw = ("%s:%s" % (username, password)).encode()
            self.accepted.add("Basic " + base64.b64encode(raw).decode())
        if token is not None:
            self.accepted.add("Bearer " + token)
        self.rejected = 0
        self.forwarded = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_any(self):
                if proxy.delay is None:
                    proxy.closed.wait()
                    return
                if proxy.delay:
                    proxy.closed.wait(proxy.delay)
                if proxy.accepted and self.headers.get("Authorization") not in proxy.accepted:
                    proxy.rejected += 1
                    self.send_response(401)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error_code": "UNAUTHENTICATED", "message": "credentials required"}')
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "accept")}
                request = urllib.request.Request(proxy.upstream + self.path, data=body,
                                                 method=self.command, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=60) as r:
                        status, payload, ctype = r.status, r.read(), r.headers.get("Content-Type")
                except urllib.error.HTTPError as e:
                    status, payload, ctype = e.code, e.read(), e.headers.get("Content-Type")
                proxy.forwarded += 1
                self.send_response(status)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
