# Shared by every injected MLflow step. Standard library only: the image
# needs python3 and nothing else. Every input comes from the environment;
# nothing the pipeline author writes ever becomes part of this text.
import base64, json, os, sys, time, urllib.error, urllib.parse, urllib.request

STEP = "mlflow"  # then the name of the step running (mlflow_main.py)


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


def call(method, path, body=None, query=None, attempts=6, deadline=None):
    """One REST call; returns (status, parsed JSON). Retries refused
    connections and 5xx answers; 4xx answers are returned to the caller.
    A `deadline` (a time.time()) bounds the attempts and the waits."""
    url = os.environ["MLFLOW_TRACKING_URI"].rstrip("/") + "/api/2.0/mlflow/" + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    headers.update(auth_headers())
    for attempt in range(1, attempts + 1):
        timeout = 30 if deadline is None else min(30, deadline - time.time())
        if timeout <= 0:
            break
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw.strip() else {})
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = {"message": raw.decode("utf-8", "replace")[:500]}
            if err.code >= 500 and attempt < attempts and pause(deadline):
                continue
            return err.code, parsed
        except (urllib.error.URLError, OSError) as err:
            if attempt < attempts and pause(deadline):
                continue
            fail("cannot reach %s: %s" % (url.split("?")[0], err))
    fail("no answer from %s" % url.split("?")[0])


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
