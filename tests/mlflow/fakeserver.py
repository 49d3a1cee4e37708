"""For the tests that need no MLflow server: the injected steps, compiled by
mlpc and run in the pod emulator, talk to a loopback HTTP(S) server whose
answers the test writes. These tests are about what our programs do with
an answer (a redirect, a huge body, a hostile value, a certificate), not
about MLflow."""
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from emulator import Context, python_alpine, run_template, template  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MLPC = os.environ.get("MLPC_BIN", str(ROOT / "target" / "debug" / "mlpc"))
# The injected programs run as uid 65534: they need a Python that user can
# execute; Debian's is outside /root.
STDLIB_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
API = "/api/2.0/mlflow/"


def compile_example(name):
    out = subprocess.run([MLPC, "compile", str(ROOT / "examples" / name)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def container_env(doc, name):
    return {e["name"]: e.get("value") for e in template(doc, name)["container"].get("env", [])}


def run_step(doc, name, server_url, secrets=None, workflow_parameters=None,
             uid="0c1d2e3f-0000-4000-8000-000000000001", **kw):
    """Runs template `name` of `doc` with its tracking URI pointing at
    `server_url`. The image and the in-cluster URI are read from the
    template, so the test states neither."""
    t = template(doc, name)
    containers = t.get("initContainers", []) + [t["container"]]
    image = containers[0]["image"]
    cluster_uri = next(e["value"] for e in containers[0]["env"] if e["name"] == "MLFLOW_TRACKING_URI")
    ctx = Context(images={image: python_alpine(STDLIB_PYTHON)}, services={cluster_uri: server_url},
                  secrets=secrets or {}, workflow_parameters=dict(workflow_parameters or {}),
                  workflow_uid=uid, workflow_name="wf-" + uid[:8], **kw)
    return run_template(doc, name, ctx)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


class FakeServer:
    """A loopback server. `answer(seen)` returns (status, headers, body):
    body bytes as they are, anything else as JSON. `requests` lists what
    arrived. With `tls` (cert, key) it speaks HTTPS."""

    def __init__(self, answer, host="127.0.0.1", port=0, tls=None):
        server = self
        self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(self.command, self.path, dict(self.headers.items()),
                            self.rfile.read(length) if length else b"")
                server.requests.append(seen)
                status, headers, body = answer(seen)
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                    headers = dict(headers, **{"Content-Type": "application/json"})
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except ConnectionError:
                    pass        # the client stopped reading (a body over its limit)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.host, self.port = self.server.server_address[:2]
        self.url = "%s://%s:%d" % (scheme, self.host, self.port)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def self_signed(directory, name):
    """A self-signed certificate for 127.0.0.1 made by openssl: (cert, key),
    readable by the containers' user."""
    openssl = shutil.which("openssl")
    assert openssl, "openssl is needed to make a test certificate"
    cert, key = directory / (name + ".crt"), directory / (name + ".key")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=mlpc test " + name,
                    "-addext", "subjectAltName=IP:127.0.0.1",
                    "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
                    "-addext", "extendedKeyUsage=serverAuth"],
                   check=True, capture_output=True)
    cert.chmod(0o644)
    return cert, key


def shared_dir():
    """A directory the containers see (theirs is a /tmp of their own)."""
    d = Path(tempfile.mkdtemp(prefix="mlpc-certs-", dir="/var/tmp"))
    d.chmod(0o755)
    return d
