"""A distributed stage's training job, emulated for the end-to-end suite.

mlpc lowers `train { distributed { ... } }` to a DAG `mlflow-start -> job ->
mlflow-end`, where `job` is an Argo `resource` template that creates a
Kubeflow Trainer `TrainJob` and waits for its `successCondition` /
`failureCondition` (src/emit/trainer.rs). This module stands in for the
parts of Argo and of the cluster that a pod emulator has no pod for:

- `substitute_manifest`: what Argo does to a resource template's manifest
  before it creates the object: expression tags (`{{=toJson(...)}}`, expr
  over the template's scope; `toJson` is encoding/json's Marshal,
  util/expr/env/env.go), then plain `{{...}}` tags. Anything left fails.
- `parse_selector`, `lookup`, `verdict`: how Argo's executor reads those
  conditions (workflow/executor/resource.go, `matchConditions`): each is a
  Kubernetes label selector (k8s.io/apimachinery/pkg/labels), whose keys
  are gjson paths into the object's JSON; the failure requirements are
  OR-ed and checked first, then the success requirements AND-ed; neither
  means "look again later". Written from those rules (the model in
  tests/argo_model/resource.rs states them too), for the requirements mlpc
  writes: `key == value` (`=`), `key != value`, `key > N`, `key < N`, a
  bare `key` and `!key`, comma-separated; a key is a label key (optional
  DNS-subdomain prefix and `/`, then a name of at most 63 characters:
  alphanumeric at both ends, `-_.` inside), so gjson queries (`#(...)`) and
  wildcards are parse errors. `in`/`notin` sets are refused as not
  emulated.
- `Cluster`: the TrainJobs a workflow created. Creating one starts its
  nodes: the Trainer's JobSet runs `numNodes` pods of the runtime's
  `node` container with `spec.trainer`'s image, command, args and env,
  and the torch plugin's `PET_*` variables (`PET_NODE_RANK` from the
  completion index; ../shared/reference/DISTRIBUTED.md §1.4). Each node
  runs in the emulator as a pod of its own (`NodePod`); one process per
  node (`PET_NPROC_PER_NODE=1`: no GPUs here). Deleting jobs by label
  selector SIGTERMs their nodes still running, as deleting their pods
  would.
- `TrainingWorkflow`: `emulator.Workflow` with resource templates: a
  `create` step makes the TrainJob in the `Cluster`, lets its nodes run,
  then looks at the statuses the scenario gives (fixtures from
  ../shared/reference/trainer-examples/status-fixtures/, one per poll) until
  a condition decides; none deciding is the workflow being stopped while
  it waits (`WorkflowStopped`). A failed step is retried up to its
  `retryStrategy.limit` (the default policy, OnFailure, retries Failed), a
  new TrainJob each attempt. A `delete` step deletes by its `--selector`.
"""
import json
import os
import random
import re
import shutil
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from emulator import (PLACEHOLDER, Context, Node, Pod, PodError, Workflow, evaluate_expression, go_json,
                      template)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "reference" / "trainer-examples" / "status-fixtures"
EXPR_TAG = re.compile(r"\{\{=(.*?)\}\}", re.S)
NAMESPACE = Context(images={}).namespace            # the namespace the emulated pods run in


def fixture(name):
    """One status fixture (a TrainJob or PyTorchJob object with its status)."""
    return json.loads((FIXTURES / (name + ".json")).read_text())


# ----- the manifest, as Argo substitutes it ------------------------------------

def nested(scope):
    """expr's environment from flat scope keys (`workflow.parameters.x` ->
    {'workflow': {'parameters': {'x': ...}}}), as Argo expands them."""
    env = {}
    for key, value in scope.items():
        parts = key.split(".")
        at = env
        for p in parts[:-1]:
            at = at.setdefault(p, {})
        at[parts[-1]] = value
    return env


def substitute_manifest(text, scope):
    """A resource template's manifest with its tags replaced over `scope`
    (flat keys: `workflow.uid`, `inputs.parameters.x`, ...)."""
    env = nested(scope)
    env["toJson"] = go_json

    def expression(m):
        try:
            value = evaluate_expression(m.group(1), env)
        except (KeyError, TypeError) as e:
            raise PodError("cannot evaluate {{=%s}}: %r" % (m.group(1), e))
        if not isinstance(value, str):
            raise PodError("{{=%s}} is not text: %r" % (m.group(1), value))
        return value

    text = EXPR_TAG.sub(expression, text)

    def plain(m):
        if m.group(1) not in scope:
            raise PodError("unresolved placeholder {{%s}} in the manifest" % m.group(1))
        return str(scope[m.group(1)])
    return PLACEHOLDER.sub(plain, text)


# ----- successCondition / failureCondition ------------------------------------

class SelectorError(ValueError):
    pass


NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def valid_name(name):
    return len(name) <= 63 and NAME.fullmatch(name) is not None


def valid_key(key):
    prefix, slash, name = key.rpartition("/")
    if slash:
        if not prefix or len(prefix) > 253 or not all(
                len(label) <= 63 and DNS_LABEL.fullmatch(label) for label in prefix.split(".")):
            return False
    return valid_name(name)


@dataclass
class Requirement:
    key: str
    op: str                 # ==, !=, >, <, exists, !exists
    value: str = None

    def matches(self, obj):
        """Over an object's JSON, the key a gjson path."""
        return self.holds(*lookup(obj, self.key))

    def matches_labels(self, labels):
        """Over an object's labels, the key a label's name."""
        return self.holds(self.key in labels, labels.get(self.key, ""))

    def holds(self, found, text):
        if self.op == "exists":
            return found
        if self.op == "!exists":
            return not found
        if self.op == "==":
            return found and text == self.value
        if self.op == "!=":
            return not found or text != self.value
        # > and <: both sides must read as 64-bit integers.
        if not found:
            return False
        try:
            have = int(text, 10)
        except ValueError:
            return False
        want = int(self.value, 10)
        return have > want if self.op == ">" else have < want


INT64 = re.compile(r"[-+]?[0-9]+")


def parse_selector(text):
    """The requirements of one condition string; SelectorError if Argo's
    parser would refuse it."""
    if not text.strip():
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        if re.search(r"\s(not)?in\s", part) or "(" in part:
            raise SelectorError("set requirements are not emulated: %r" % part)
        m = re.fullmatch(r"(.*?)\s*(==|!=|=|>|<)\s*(.*)", part)
        if part.startswith("!"):
            req = Requirement(part[1:].strip(), "!exists")
        elif m:
            op = "==" if m.group(2) == "=" else m.group(2)
            req = Requirement(m.group(1).strip(), op, m.group(3).strip())
        else:
            req = Requirement(part, "exists")
        if not valid_key(req.key):
            raise SelectorError("invalid key %r: a name part must be alphanumeric at both ends, "
                                "with '-', '_' or '.' inside, at most 63 characters" % req.key)
        if req.value is not None:
            if req.op in (">", "<"):
                if not INT64.fullmatch(req.value) or not -2**63 <= int(req.value) < 2**63:
                    raise SelectorError("%s needs an integer, not %r" % (req.op, req.value))
            elif req.value and not valid_name(req.value):
                raise SelectorError("invalid value %r" % req.value)
        out.append(req)
    return out


def gjson_text(value):
    """gjson's `Result.String()` of a JSON value."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_json(value)
    return json.dumps(value, separators=(",", ":"))


def lookup(obj, path):
    """A dotted gjson path (a numeric part indexes an array): whether it
    exists, and its text."""
    at = obj
    for part in path.split("."):
        if isinstance(at, dict) and part in at:
            at = at[part]
        elif isinstance(at, list) and part.isdigit() and int(part) < len(at):
            at = at[int(part)]
        else:
            return False, ""
    return True, gjson_text(at)


def verdict(success, failure, obj):
    """One look at `obj` by a resource step with these conditions:
    'succeeded', 'failed', 'waiting', or 'PARSE-ERROR(success|failure)'
    (the step fails at once)."""
    try:
        wanted = parse_selector(success or "")
    except SelectorError:
        return "PARSE-ERROR(success)"
    try:
        refused = parse_selector(failure or "")
    except SelectorError:
        return "PARSE-ERROR(failure)"
    if any(r.matches(obj) for r in refused):
        return "failed"
    if all(r.matches(obj) for r in wanted):
        return "succeeded"
    return "waiting"


def label_selector_matches(selector, labels):
    """A kubectl `--selector` over an object's labels (every requirement)."""
    return all(r.matches_labels(labels) for r in parse_selector(selector))


# ----- the cluster: TrainJobs and their nodes ------------------------------------

class NodePod(Pod):
    """A TrainJob node's pod: no Argo executor, so none of the variables
    Argo's controller adds; its main process can be SIGTERMed from outside
    (its pod deleted)."""

    def __init__(self, tmpl, ctx):
        super().__init__(tmpl, ctx)
        self.main = None
        self.started = threading.Event()

    def container_env(self, c, image):
        env = super().container_env(c, image)
        return {k: v for k, v in env.items() if not k.startswith("ARGO_")}

    def start(self, name, c, mounts, tmp, wait):
        proc = super().start(name, c, mounts, tmp, wait)
        if name == "main":
            self.main = proc
            self.started.set()
        return proc

    def terminate(self, sig=signal.SIGTERM):
        self.started.wait()
        if self.main is not None and self.main.poll() is None:
            try:
                os.killpg(self.main.pid, sig)
            except ProcessLookupError:
                pass


@dataclass
class TrainNode:
    rank: int
    pod: NodePod
    thread: threading.Thread
    result: object = None          # emulator.PodResult once it ended
    error: BaseException = None


@dataclass
class TrainJob:
    manifest: dict
    nodes: list = field(default_factory=list)
    statuses: list = field(default_factory=list)   # what each poll saw
    verdicts: list = field(default_factory=list)   # and what the step made of it
    deleted: bool = False

    @property
    def name(self):
        return self.manifest["metadata"]["name"]

    def wait(self, timeout=300):
        for n in self.nodes:
            n.thread.join(timeout)
            if n.thread.is_alive():
                raise PodError("node %d of %s still runs after %ds" % (n.rank, self.name, timeout))
            if n.error is not None:
                raise n.error

    def object(self, status):
        """The TrainJob as the API server returns it, with this status."""
        obj = json.loads(json.dumps(self.manifest))
        obj["status"] = json.loads(json.dumps(status["status"]))
        return obj


class Cluster:
    """The TrainJobs of one namespace. `context_for(job, rank)` gives each
    node pod's Context (its images, secrets, services)."""

    def __init__(self, context_for):
        self.context_for = context_for
        self.jobs = []

    def create(self, manifest):
        if manifest.get("apiVersion") != "trainer.kubeflow.org/v1alpha1" or manifest.get("kind") != "TrainJob":
            raise PodError("only TrainJobs are emulated, not %s %s" % (manifest.get("apiVersion"), manifest.get("kind")))
        meta = manifest["metadata"]
        if "name" not in meta:
            # The API server's generateName: five random characters more.
            meta["name"] = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                                          for _ in range(5))
        job = TrainJob(manifest)
        self.jobs.append(job)
        trainer = manifest["spec"]["trainer"]
        for rank in range(int(trainer["numNodes"])):
            job.nodes.append(self.start_node(job, trainer, rank))
        return job

    def start_node(self, job, trainer, rank):
        name = job.name
        env = list(trainer.get("env", [])) + [
            {"name": "PET_NNODES", "value": str(trainer["numNodes"])},
            {"name": "PET_NPROC_PER_NODE", "value": "1"},
            {"name": "PET_NODE_RANK", "value": str(rank)},
            {"name": "PET_MASTER_ADDR", "value": "%s-node-0-0.%s" % (name, name)},
            {"name": "PET_MASTER_PORT", "value": "29500"},
            {"name": "JOB_COMPLETION_INDEX", "value": str(rank)},
        ]
        tmpl = {"name": "%s-node-0-%d" % (name, rank),
                "container": {"name": "node", "image": trainer["image"], "command": trainer.get("command", []),
                              "args": trainer.get("args", []), "env": env}}
        ctx = self.context_for(job, rank)
        ctx.pod_name = tmpl["name"]
        pod = NodePod(tmpl, ctx)
        node = TrainNode(rank, pod, None)

        def run():
            try:
                node.result = pod.run()
            except BaseException as e:     # noqa: BLE001 - raised again by TrainJob.wait
                node.error = e
            finally:
                pod.started.set()          # main never started: nothing to terminate
                if not os.environ.get("MLPC_KEEP_PODS"):
                    shutil.rmtree(pod.root, ignore_errors=True)
        node.thread = threading.Thread(target=run, daemon=True, name=tmpl["name"])
        node.thread.start()
        return node

    def shutdown(self, grace=10):
        """Ends every node still running (SIGTERM, SIGKILL after `grace`
        seconds): a scenario that failed half-way leaves no process behind."""
        for job in self.jobs:
            for n in job.nodes:
                if n.thread.is_alive():
                    n.pod.terminate()
            for n in job.nodes:
                n.thread.join(grace)
                if n.thread.is_alive():
                    n.pod.terminate(signal.SIGKILL)
                    n.thread.join(grace)

    def delete(self, selector):
        """Deletes the jobs whose labels the selector matches: their
        running nodes get SIGTERM. Returns the jobs deleted."""
        gone = [j for j in self.jobs if not j.deleted
                and label_selector_matches(selector, j.manifest["metadata"].get("labels", {}))]
        for job in gone:
            job.deleted = True
            for n in job.nodes:
                n.pod.terminate()
            job.wait()
        return gone


# ----- Argo with resource templates --------------------------------------------

class WorkflowStopped(Exception):
    """The workflow was stopped while a resource step still waited."""

    def __init__(self, node_name, job):
        super().__init__("%s still waits for TrainJob %s" % (node_name, job.name))
        self.node_name = node_name
        self.job = job


@dataclass
class JobOutcome:
    """What the scenario's job does: the status fixtures each poll sees
    (the same for every attempt), and what happens before the first poll
    (default: every node runs to its end)."""
    statuses: list
    settle: object = None


class TrainingWorkflow(Workflow):
    """`emulator.Workflow` with resource templates. A create step's Node
    has `job` (its last attempt's TrainJob) and `attempts` (every attempt's
    Node); a delete step's `selector` (substituted) and `deleted` (the
    TrainJobs it deleted)."""

    def __init__(self, doc, context_for, workflow_name, workflow_uid, cluster, outcome, status=None):
        super().__init__(doc, context_for, workflow_name, workflow_uid, status)
        self.cluster = cluster
        self.outcome = outcome
        self.deleted = []              # the jobs delete steps deleted

    def call(self, name, arguments, node_name, items):
        t = template(self.doc, name)
        if "resource" not in t:
            return super().call(name, arguments, node_name, items)
        inputs = {}
        for p in t.get("inputs", {}).get("parameters", []):
            if p["name"] not in arguments:
                raise PodError("inputs.parameters.%s was not supplied (template %s)" % (p["name"], name))
            inputs[p["name"]] = arguments[p["name"]]
        scope = self.globals()
        scope["workflow.namespace"] = NAMESPACE
        scope.update({"inputs.parameters." + k: v for k, v in inputs.items()})
        r = t["resource"]
        if r["action"] == "delete":
            return self.delete(t, scope, node_name, inputs)
        if r["action"] != "create":
            raise PodError("resource action %s is not emulated" % r["action"])
        limit = int(t.get("retryStrategy", {}).get("limit", 0))
        policy = t.get("retryStrategy", {}).get("retryPolicy", "OnFailure")
        if policy != "OnFailure":
            raise PodError("retryPolicy %s is not emulated" % policy)
        attempts = []
        for _ in range(limit + 1):
            node = self.create(t, scope, node_name, inputs)
            attempts.append(node)
            if node.phase != "Failed":
                break
        last = attempts[-1]
        last.attempts = attempts
        return last

    def create(self, t, scope, node_name, inputs):
        r = t["resource"]
        manifest = yaml.safe_load(substitute_manifest(r["manifest"], scope))
        job = self.cluster.create(manifest)
        if self.outcome.settle is not None:
            self.outcome.settle(job)
        else:
            job.wait()
        for name in self.outcome.statuses:
            status = fixture(name)
            job.statuses.append(name)
            seen = verdict(r.get("successCondition"), r.get("failureCondition"), job.object(status))
            job.verdicts.append(seen)
            if seen == "waiting":
                continue
            phase = "Succeeded" if seen == "succeeded" else "Failed"
            outputs = {}
            if phase == "Succeeded":
                for p in t.get("outputs", {}).get("parameters", []):
                    if p.get("valueFrom", {}).get("jsonPath") != "{.metadata.name}":
                        raise PodError("output %s: only jsonPath {.metadata.name} is emulated" % p["name"])
                    outputs[p["name"]] = job.name
            node = Node(node_name, phase, t["name"], inputs, outputs)
            node.job = job
            return node
        raise WorkflowStopped(node_name, job)

    def delete(self, t, scope, node_name, inputs):
        flags = [substitute_manifest(f, scope) for f in t["resource"].get("flags", [])]
        if len(flags) != 4 or flags[1] != "--selector" or flags[3] != "--wait=false":
            raise PodError("delete flags %r are not emulated" % flags)
        if flags[0] != "trainjobs.trainer.kubeflow.org":
            raise PodError("deleting %s is not emulated" % flags[0])
        gone = self.cluster.delete(flags[2])
        self.deleted.extend(gone)
        node = Node(node_name, "Succeeded", t["name"], inputs)
        node.selector = flags[2]
        node.deleted = gone
        return node

