# Shared by every injected MLflow step. Standard library only: the image
# needs python3 and nothing else. Every input comes from the environment;
# nothing the pipeline author writes ever becomes part of this text.
import base64, json, os, ssl, sys, time, urllib.error, urllib.parse, urllib.request

STEP = "mlflow"  # then the name of the step running (mlflow_main.py)
MAX_BODY = 8 * 1024 * 1024  # our answers are small JSON; more is refused


def log(msg):
    print("%s: %s" % (STEP, msg), file=sys.stderr, flush=True)


def fail(msg):
    log(msg)
    sys.exit(1)


def auth_headers():
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if token:
        return {"Authorization": "Bearer " + token}
    if user and password is not None:
        raw = ("%s:%s" % (user, password)).encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    return {}


def origin(url):
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = None
    return parts.scheme.lower(), parts.hostname, port


class Redirects(urllib.request.HTTPRedirectHandler):
    """Follows only a GET's redirect to the same scheme, host and port (with
    its headers). Any other fails the step: the credentials must not go to
    another origin, and urllib would re-send a POST as a GET without its
    body (docs/compile.md, Transport)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        method = req.get_method()
        where = req.full_url.split("?")[0]
        if method != "GET":
            fail("%s %s answered HTTP %s, a redirect to %r: a %s is not re-sent elsewhere; "
                 "set tracking_uri to the address the server answers at" % (method, where, code, newurl[:200], method))
        if origin(newurl) != origin(req.full_url):
            fail("%s %s answered HTTP %s, a redirect to another origin (%r): not followed, "
                 "so the credentials stay with the tracking server; set tracking_uri to the address "
                 "the server answers at" % (method, where, code, newurl[:200]))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


OPENER = None


def opener():
    """With our redirects, and TLS verified against the CA bundle
    MLFLOW_TRACKING_SERVER_CERT_PATH (as MLflow's client reads it), if set."""
    global OPENER
    if OPENER is None:
        handlers = [Redirects()]
        cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
        if cafile:
            try:
                context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError) as err:
                fail("cannot read the CA bundle MLFLOW_TRACKING_SERVER_CERT_PATH=%s: %s" % (cafile, err))
            handlers.append(urllib.request.HTTPSHandler(context=context))
        OPENER = urllib.request.build_opener(*handlers)
    return OPENER


def read_body(response, where):
    raw = response.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        fail("%s: the answer is larger than %d bytes" % (where, MAX_BODY))
    return raw


def call(method, path, body=None, query=None, attempts=6, deadline=None):
    """One REST call; returns (status, parsed JSON). Retries refused
    connections and 5xx answers; 4xx answers are returned to the caller.
    A `deadline` (a time.time()) bounds the attempts and the waits. An
    answer over MAX_BODY bytes, one that is not JSON, a redirect `Redirects`
    does not follow and a certificate that does not verify fail the step."""
    url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/") + "/api/2.0/mlflow/" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers.update(auth_headers())
    address = url.split("?")[0]
    where = "%s %s" % (method, address)
    for attempt in range(1, attempts + 1):
        timeout = 30 if deadline is None else min(30, deadline - time.time())
        if timeout <= 0:
            break
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with opener().open(request, timeout=timeout) as response:
                raw = read_body(response, where)
                status = response.status
            try:
                return status, (json.loads(raw) if raw.strip() else {})
            except ValueError:
                fail("%s: the answer (HTTP %s) is not JSON: %r" % (where, status, raw[:200]))
        except urllib.error.HTTPError as err:
            raw = read_body(err, where)
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"message": raw.decode("utf-8", "replace")[:500]}
            if err.code >= 500 and attempt < attempts and pause(deadline):
                continue
            return err.code, parsed
        except (urllib.error.URLError, OSError) as err:
            if isinstance(getattr(err, "reason", err), ssl.SSLCertVerificationError):
                fail("cannot verify the TLS certificate of %s: %s (a private CA: "
                     "MLFLOW_TRACKING_SERVER_CERT_PATH names its bundle)" % (where, getattr(err, "reason", err)))
            if attempt < attempts and pause(deadline):
                continue
            fail("cannot reach %s: %s" % (address, err))
    fail("no answer from %s" % address)


def pause(deadline):
    """Waits 2 s before a retry, unless the deadline is nearer than that."""
    if deadline and deadline - time.time() < 2.5:
        return False
    time.sleep(2)
    return True


def expect(status, body, what):
    if status != 200:
        fail("%s failed (HTTP %s): %s" % (what, status, json.dumps(body)[:500]))
    return body


def now_ms():
    return int(time.time() * 1000)


def write_output(name, value):
    directory = os.environ.get("MLP_OUTPUTS", "/tmp/outputs")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w") as f:
        f.write(value)


def experiment_id(name, create):
    """The id of the experiment `name`, created (or restored) if `create`."""
    status, body = call("GET", "experiments/get-by-name", query={"experiment_name": name})
    if status == 200:
        experiment = body["experiment"]
        if experiment.get("lifecycle_stage") == "deleted":
            if not create:
                return experiment["experiment_id"]
            log("experiment %r was deleted; restoring it" % name)
            expect(*call("POST", "experiments/restore", {"experiment_id": experiment["experiment_id"]}),
                   "experiments/restore")
        return experiment["experiment_id"]
    if status != 404 or body.get("error_code") not in (None, "RESOURCE_DOES_NOT_EXIST"):
        fail("experiments/get-by-name failed (HTTP %s): %s" % (status, json.dumps(body)[:500]))
    if not create:
        return None
    status, body = call("POST", "experiments/create", {"name": name})
    if status == 200:
        return body["experiment_id"]
    # Another step created it at the same moment: read it back.
    status, body = call("GET", "experiments/get-by-name", query={"experiment_name": name})
    return expect(status, body, "experiments/get-by-name")["experiment"]["experiment_id"]


def indexed(prefix):
    """Pairs passed as PREFIX_COUNT, PREFIX_KEY_<i>, PREFIX_VALUE_<i>."""
    count = int(os.environ.get(prefix + "_COUNT", "0"))
    return [(os.environ[prefix + "_KEY_%d" % i], os.environ.get(prefix + "_VALUE_%d" % i, ""))
            for i in range(count)]
