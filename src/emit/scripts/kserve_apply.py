# The apply, with its own retries until the deadline.
try:
    with open(TOKEN_FILE) as f:
        TOKEN = f.read().strip()
except OSError as err:
    fail("no service account token (%s): the pod needs its service account token mounted" % err)

path = "/apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s?%s" % (
    urllib.parse.quote(namespace, safe=""), urllib.parse.quote(name, safe=""),
    urllib.parse.urlencode({"fieldManager": "mlpc", "force": "true"}))
# JSON is YAML: the apply patch type takes it as it is.
data = json.dumps(manifest).encode()
while True:
    request = urllib.request.Request(BASE + path, data=data, method="PATCH", headers={
        "Authorization": "Bearer " + TOKEN,
        "Accept": "application/json",
        "Content-Type": "application/apply-patch+yaml",
    })
    problem = None
    try:
        with OPENER.open(request, timeout=max(1.0, min(30.0, deadline - time.monotonic()))) as response:
            status = response.status
    except urllib.error.HTTPError as err:
        status = err.code
        raw = err.read(MAX_BODY + 1)[:300].decode("utf-8", "replace")
        if 300 <= status < 400:
            fail("PATCH %s answered %s (redirect): redirects are not followed" % (path, status))
        if status in (401, 403):
            fail("the apply was refused (HTTP %s): the run's service account needs get and patch on "
                 "inferenceservices.serving.kserve.io in namespace %s: %s" % (status, namespace, raw))
        if status == 429 or status >= 500:
            problem = "HTTP %s" % status
        else:
            fail("the apply of InferenceService %s/%s failed (HTTP %s): %s" % (namespace, name, status, raw))
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, ssl.SSLError):
            fail("TLS to the Kubernetes API at %s failed: %s" % (BASE, reason))
        problem = str(reason)
    if problem is None:
        log("applied InferenceService %s/%s (HTTP %s)" % (namespace, name, status))
        sys.exit(0)
    if time.monotonic() >= deadline:
        fail("the Kubernetes API did not take the apply within %gs: %s" % (timeout, problem))
    log("PATCH %s: %s; retrying" % (path, problem))
    time.sleep(max(0.0, min(poll, deadline - time.monotonic())))
