

def token():
    # Read every time: the kubelet rotates projected tokens.
    try:
        with open(TOKEN_FILE) as f:
            return f.read().strip()
    except OSError as err:
        fail("no service account token (%s): the pod needs its service account token mounted" % err)


def remaining():
    return deadline - time.monotonic()


def timed_out(last):
    fail("timed out after %gs waiting for %s: %s" % (timeout, what, last))


def call(method, path, body=None, content_type="application/json"):
    """One API call: (status, JSON). Connection errors, 429 and 5xx are
    retried until the deadline; 401/403 stop the step (RBAC)."""
    url = BASE + path
    data = None if body is None else json.dumps(body).encode()
    while True:
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": "Bearer " + token(),
            "Accept": "application/json",
            "Content-Type": content_type,
        })
        problem = None
        try:
            with OPENER.open(request, timeout=max(1.0, min(30.0, remaining()))) as response:
                raw = response.read(MAX_BODY + 1)
                status = response.status
        except urllib.error.HTTPError as err:
            status = err.code
            raw = err.read(MAX_BODY + 1)
            if 300 <= status < 400:
                fail("%s %s answered %s (redirect to %s): redirects are not followed"
                     % (method, path, status, err.headers.get("Location", "?")))
            if status in (401, 403):
                fail("%s %s was refused (HTTP %s): the deploy service account (`mlpc rbac` prints its Role) needs get and patch on "
                     "inferenceservices.serving.kserve.io and list on pods in namespace %s: %s"
                     % (method, path, status, namespace, raw[:300].decode("utf-8", "replace")))
            if status == 429 or status >= 500:
                problem = "HTTP %s" % status
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            if isinstance(reason, ssl.SSLError):
                fail("TLS to the Kubernetes API at %s failed: %s" % (BASE, reason))
            problem = str(reason)
        if problem is None:
            if len(raw) > MAX_BODY:
                fail("%s %s: the answer is larger than %d bytes" % (method, path, MAX_BODY))
            try:
                return status, (json.loads(raw) if raw.strip() else {})
            except ValueError:
                fail("%s %s: the answer (HTTP %s) is not JSON: %r" % (method, path, status, raw[:200]))
        if remaining() <= 0:
            timed_out("the Kubernetes API did not answer %s %s: %s" % (method, path, problem))
        log("%s %s: %s; retrying" % (method, path, problem))
        time.sleep(max(0.0, min(poll, remaining())))


ISVC_PATH = "/apis/serving.kserve.io/v1beta1/namespaces/%s/inferenceservices/%s" % (
    urllib.parse.quote(namespace, safe=""), urllib.parse.quote(name, safe=""))
PODS_PATH = "/api/v1/namespaces/%s/pods?%s" % (
    urllib.parse.quote(namespace, safe=""), urllib.parse.urlencode({"labelSelector": "%s=%s" % (ISVC_LABEL, name)}))


def get_isvc():
    status, body = call("GET", ISVC_PATH)
    if status == 404:
        fail("InferenceService %s/%s does not exist (deleted after the apply step?)" % (namespace, name))
    if status != 200:
        fail("GET %s failed (HTTP %s): %s" % (ISVC_PATH, status, json.dumps(body)[:300]))
    return body


def list_pods():
    status, body = call("GET", PODS_PATH)
    if status != 200:
        fail("listing the pods of %s/%s failed (HTTP %s): %s" % (namespace, name, status, json.dumps(body)[:300]))
    return [p for p in body.get("items") or [] if isinstance(p, dict)]


def meta(obj, key):
    return (obj.get("metadata") or {}).get(key) or {}


def condition(isvc, kind):
    for c in (isvc.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return c
    return {}


def is_ready(pod):
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


def is_predictor(pod):
    return meta(pod, "labels").get("component", "predictor") == "predictor"


def describe_conditions(isvc):
    parts = []
    for c in (isvc.get("status") or {}).get("conditions") or []:
        text = "%s=%s" % (c.get("type"), c.get("status"))
        if c.get("reason") or c.get("message"):
            text += " (%s)" % ": ".join(x for x in (c.get("reason"), c.get("message")) if x)
        parts.append(text)
    return ", ".join(parts) or "no conditions"


def failure_info(model):
    info = model.get("lastFailureInfo") or {}
    text = ": ".join(str(x) for x in (info.get("reason"), info.get("message")) if x)
    if info.get("exitCode"):
        text += " (exit code %s)" % info["exitCode"]
    return text or "no failure details in status.modelStatus.lastFailureInfo"


stuck_since = {}    # (pod, container) -> when it was first seen stuck
failed_polls = 0    # consecutive polls with KServe reporting our model FailedToLoad


def stuck_containers(ours, now):
    """The first container of our pods stuck for longer than the grace."""
    seen = set()
    for pod in ours:
        status = pod.get("status") or {}
        for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") not in STUCK:
                continue
            key = (meta(pod, "name") or "?", cs.get("name") or "?")
            seen.add(key)
            since = stuck_since.setdefault(key, now)
            if now - since >= grace:
                last = (cs.get("lastState") or {}).get("terminated") or {}
                text = "pod %s: container %s is %s" % (key[0], key[1], waiting["reason"])
                if waiting.get("message"):
                    text += ": %s" % waiting["message"]
                if last:
                    text += "; it last exited with %s (%s)%s" % (
                        last.get("exitCode"), last.get("reason"),
                        ": %s" % last["message"].strip() if last.get("message") else "")
                return text
    for key in list(stuck_since):
        if key not in seen:
            del stuck_since[key]
    return None


def judge(isvc, pods, promoting):
    """("wait", why) | ("fail", why) | ("ok", revision or None)."""
    global failed_polls
    spec_rollout = (((isvc.get("spec") or {}).get("predictor") or {}).get("annotations") or {}).get(ROLLOUT_KEY)
    if spec_rollout != rollout:
        fail("%s was replaced: the InferenceService now carries rollout %s (another deploy applied it)"
             % (what, spec_rollout or "(none)"))
    live = [p for p in pods if not (p.get("metadata") or {}).get("deletionTimestamp")]
    ours = [p for p in live if meta(p, "annotations").get(ROLLOUT_KEY) == rollout]
    if not ours:
        return "wait", "no pod of this rollout yet"
    stuck = stuck_containers(ours, time.monotonic())
    if stuck:
        return "fail", stuck
    status = isvc.get("status") or {}
    model = status.get("modelStatus") or {}
    states = model.get("states") or {}
    predictor = (status.get("components") or {}).get("predictor") or {}
    ready = condition(isvc, "Ready").get("status") == "True"
    loaded = (model.get("transitionStatus") == "UpToDate" and states.get("activeModelState") == "Loaded"
              and states.get("targetModelState", "Loaded") in ("Loaded", ""))
    broken = model.get("transitionStatus") == "BlockedByFailedLoad" or states.get("targetModelState") == "FailedToLoad"
    revisions = {meta(p, "labels").get(REVISION_LABEL) for p in ours} - {None}
    if revisions:
        # Serverless: the status is about latestCreatedRevision's pods.
        revision = predictor.get("latestCreatedRevision")
        if revision not in revisions:
            failed_polls = 0
            return "wait", "KServe has not picked up revision %s yet (latestCreatedRevision: %s)" % (
                "/".join(sorted(revisions)), revision or "none")
        failed_polls = failed_polls + 1 if broken else 0
        if failed_polls >= 2:
            return "fail", "the model of revision %s failed to load: %s" % (revision, failure_info(model))
        ours_ready = [p for p in ours if is_ready(p) and meta(p, "labels").get(REVISION_LABEL) == revision]
        if not ours_ready:
            return "wait", "revision %s: no pod is ready yet (model %s)" % (
                revision, states.get("targetModelState") or model.get("transitionStatus") or "pending")
        if not (ready and loaded and predictor.get("latestReadyRevision") == revision):
            return "wait", "revision %s: pods ready; waiting for KServe to report it Loaded and Ready (%s; %s)" % (
                revision, model.get("transitionStatus") or "no model status", describe_conditions(isvc))
        if promoting:
            share = sum(t.get("percent") or 0 for t in predictor.get("traffic") or []
                        if t.get("revisionName") == revision)
            if predictor.get("latestRolledoutRevision") != revision or share != 100:
                return "wait", "revision %s has %s%% of the traffic; waiting for it to be rolled out (now: %s)" % (
                    revision, share, predictor.get("latestRolledoutRevision") or "none")
        return "ok", revision
    # Raw deployment: KServe reads one pod of the Deployment, maybe an old one.
    def earlier(group):
        return [p for p in group if is_predictor(p) and meta(p, "annotations").get(ROLLOUT_KEY) != rollout]
    failed_polls = failed_polls + 1 if broken and not earlier(pods) else 0
    if failed_polls >= 2:
        return "fail", "the model failed to load: %s" % failure_info(model)
    if not any(is_ready(p) for p in ours):
        return "wait", "no pod of this rollout is ready yet"
    if earlier(live):
        return "wait", "%d pod(s) of an earlier rollout still run" % len(earlier(live))
    if not (ready and loaded):
        return "wait", "pods ready; waiting for KServe to report the model Loaded and Ready (%s; %s)" % (
            model.get("transitionStatus") or "no model status", describe_conditions(isvc))
    return "ok", None


def promote():
    """canaryTrafficPercent -> 100, only while the predictor is still ours."""
    path = ["spec", "predictor", "annotations", ROLLOUT_KEY]
    pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
    status, body = call("PATCH", ISVC_PATH, [
        {"op": "test", "path": pointer, "value": rollout},
        {"op": "add", "path": "/spec/predictor/canaryTrafficPercent", "value": 100},
    ], content_type="application/json-patch+json")
    if status == 422:
        fail("not promoting: the InferenceService no longer carries %s (another deploy replaced it)" % rollout)
    if status != 200:
        fail("promoting %s failed (HTTP %s): %s" % (what, status, json.dumps(body)[:300]))
    log("healthy with %s%% of the traffic; promoted to 100%%" % canary)


log("waiting for %s (timeout %gs)" % (what, timeout))
last = "nothing observed yet"
promoting = False
while True:
    isvc = get_isvc()
    verdict, detail = judge(isvc, list_pods(), promoting)
    if verdict == "fail":
        fail("%s failed: %s. %s (see `deploy` in mlpc's docs/compile.md to roll back)" % (
            what, detail, "It was already promoted to all traffic" if promoting
            else "Traffic stays on the previously rolled-out model, if any"))
    if verdict == "ok":
        if canary and not promoting:
            promoting = True
            promote()
            continue
        break
    if detail != last:
        log(detail)
        last = detail
    if remaining() <= 0:
        timed_out(last)
    time.sleep(max(0.0, min(poll, remaining())))

url = (isvc.get("status") or {}).get("url") or ""
directory = os.environ.get("MLP_OUTPUTS", "/tmp/outputs")
os.makedirs(directory, exist_ok=True)
with open(os.path.join(directory, "url"), "w") as f:
    f.write(url)
log("%s serves at %s" % (what, url or "(no status.url)"))
