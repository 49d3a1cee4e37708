"""A fake Kubernetes API server for the deploy wait step (tests/kserve).

It serves only what the step may use, the way the API server answers it:

- GET and PATCH /apis/serving.kserve.io/v1beta1/namespaces/NS/inferenceservices/NAME
  (PATCH as application/json-patch+json, RFC 6902 `test`/`add`/`replace`,
  a failed `test` answered 422 as the API server does; or as
  application/apply-patch+yaml, a server-side apply, which needs
  `fieldManager` and replaces the object's metadata and spec, keeping its
  status, or creates it);
- GET /api/v1/namespaces/NS/pods?labelSelector=K=V (equality selectors).

Anything else is 404, and a request without the expected bearer token is
401. The cluster is a `World`: an InferenceService, its pods, and a script
called before each GET of the InferenceService (the step's poll) that may
change them, so a test plays a rollout poll by poll. Plain HTTP, or HTTPS
with a certificate the test makes. Standard library only.
"""
import copy
import json
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISVC_PREFIX = "/apis/serving.kserve.io/v1beta1/namespaces/"
PODS_PREFIX = "/api/v1/namespaces/"


class World:
    """What the fake cluster holds. `script(world, n)` runs before the n-th
    GET of the InferenceService is answered (n counts from 1);
    `on_patch(world, ops)` after a PATCH was applied."""

    def __init__(self, namespace, name, isvc, pods, token, script=None, on_patch=None):
        self.namespace = namespace
        self.name = name
        self.isvc = isvc
        self.pods = pods
        self.token = token
        self.script = script or (lambda world, n: None)
        self.on_patch = on_patch or (lambda world, ops: None)
        self.lock = threading.Lock()
        self.polls = 0
        self.requests = []          # (method, path, headers)
        self.patches = []           # (poll, content type, ops)
        self.applies = []           # (query, object): server-side applies
        self.overrides = {}         # path -> (status, headers, body): canned answers
        self.pods_status = None     # e.g. 403: answer the pod list with it


def status_body(code, message):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


def selector_matches(selector, labels):
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def apply_json_patch(obj, ops):
    """RFC 6902 on a copy, for the ops the step sends; raises ValueError."""
    obj = copy.deepcopy(obj)
    for op in ops:
        parts = [unescape(p) for p in op["path"].split("/")[1:]]
        parent = obj
        for p in parts[:-1]:
            if not isinstance(parent, dict) or p not in parent:
                raise ValueError("path %s does not exist" % op["path"])
            parent = parent[p]
        last = parts[-1]
        if op["op"] == "test":
            if not isinstance(parent, dict) or parent.get(last) != op["value"]:
                raise ValueError("test of %s failed" % op["path"])
        elif op["op"] in ("add", "replace"):
            if op["op"] == "replace" and last not in parent:
                raise ValueError("replace of a missing %s" % op["path"])
            parent[last] = op["value"]
        else:
            raise ValueError("unsupported op %r" % op["op"])
    return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    @property
    def world(self):
        return self.server.world

    def answer(self, code, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        world = self.world
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with world.lock:
            world.requests.append((method, self.path, dict(self.headers)))
            if self.headers.get("Authorization") != "Bearer " + world.token:
                return self.answer(401, status_body(401, "Unauthorized"))
            if url.path in world.overrides:
                code, headers, canned = world.overrides[url.path]
                return self.answer(code, canned, headers)
            isvc_path = "%s%s/inferenceservices/%s" % (ISVC_PREFIX, world.namespace, world.name)
            pods_path = "%s%s/pods" % (PODS_PREFIX, world.namespace)
            if url.path == isvc_path and method == "GET":
                world.polls += 1
                world.script(world, world.polls)
                if world.isvc is None:
                    return self.answer(404, status_body(404, "inferenceservices %r not found" % world.name))
                return self.answer(200, world.isvc)
            if url.path == isvc_path and method == "PATCH" and \
                    self.headers.get("Content-Type") == "application/apply-patch+yaml":
                query = urllib.parse.parse_qs(url.query)
                if not query.get("fieldManager"):
                    return self.answer(422, status_body(422, "fieldManager is required for apply requests"))
                obj = json.loads(body)   # JSON is the YAML mlpc sends
                meta = obj.get("metadata") or {}
                if meta.get("name") != world.name or meta.get("namespace", world.namespace) != world.namespace:
                    return self.answer(400, status_body(400, "the object's name does not match the path"))
                world.applies.append((query, obj))
                status = (world.isvc or {}).get("status", {})
                world.isvc = dict(copy.deepcopy(obj), status=status)
                world.on_patch(world, obj)
                return self.answer(200, world.isvc)
            if url.path == isvc_path and method == "PATCH":
                kind = self.headers.get("Content-Type", "")
                if kind != "application/json-patch+json":
                    return self.answer(415, status_body(415, "unsupported patch type %r" % kind))
                ops = json.loads(body)
                world.patches.append((world.polls, kind, ops))
                try:
                    world.isvc = apply_json_patch(world.isvc, ops)
                except ValueError as err:
                    return self.answer(422, status_body(422, str(err)))
                world.on_patch(world, ops)
                return self.answer(200, world.isvc)
            if url.path == pods_path and method == "GET":
                if world.pods_status:
                    return self.answer(world.pods_status, status_body(world.pods_status, "pods is forbidden"))
                query = urllib.parse.parse_qs(url.query)
                selector = (query.get("labelSelector") or [""])[0]
                items = [p for p in world.pods
                         if selector_matches(selector, (p.get("metadata") or {}).get("labels") or {})]
                return self.answer(200, {"kind": "PodList", "apiVersion": "v1", "items": items})
            return self.answer(404, status_body(404, "no such path %s" % url.path))

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")


class FakeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, world, certfile=None, keyfile=None):
        super().__init__(("127.0.0.1", 0), Handler)
        self.world = world
        self.scheme = "http"
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
