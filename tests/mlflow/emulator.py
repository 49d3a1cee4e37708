"""Runs one template of `mlpc compile` output the way Argo runs its pod.

- Init containers run in order, each to completion; a failure fails the pod.
- Then the sidecars and the main container start, each in its own process
  group (Argo's emissary uses Setpgid). When main exits, every sidecar's
  process group gets SIGTERM, and SIGKILL `GRACE_SECONDS` later (the pod's
  terminationGracePeriodSeconds, 30 s by default); `PodResult.sidecars`
  says how each one ended. `Context.after_main` runs between the two.
- `command`, `args` and `env` are taken from the YAML as emitted. Argo
  placeholders (`{{inputs.parameters.x}}`, `{{workflow.*}}`, `{{pod.name}}`)
  are substituted; any placeholder left over fails the run. `secretKeyRef`
  is filled from test secrets (a missing key fails the pod unless
  `optional`), `fieldRef` from the pod's annotations; every container gets
  the variables Argo's controller appends (`ARGO_NODE_ID`, ...).
- Each container runs in a private mount namespace (`unshare -m`), so its
  `/tmp` is its own; the template's emptyDir volumes (the `mlflow` volume)
  are shared by the containers that mount them. Input artifacts are placed
  at their paths, output parameters read from theirs.
- Key-only artifacts (`s3: {key: K}`: Argo takes the bucket and endpoint
  from the namespace's artifact repository) live in
  `Context.artifact_repository`, a directory standing for that repository
  (one per `Workflow` run): an input artifact with a key is downloaded from
  it before the pod's containers start (the executor's `init` container),
  an output artifact with a key is uploaded to it once main has exited
  (the `wait` container). Any other artifact location fails the run.
- Each container's PATH holds only what its image ships (see `Image`), and
  `securityContext.runAsUser` is honoured with setpriv.
- Service names resolve as cluster DNS would: `services` maps the in-cluster
  URL prefix of a Service to the local address serving it.
- `Workflow` walks DAG templates (the entrypoint, groups nested in it, the
  exit handler): loop items, task arguments into the called template's
  inputs level by level, `when`, `depends`, node and pod names, and
  `{{workflow.status}}` in the exit handler, each by the Argo rule cited
  there. Pods run one at a time.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

BUSYBOX = shutil.which("busybox") or "/usr/bin/busybox"
# An artifact's location fields (pkg/apis/workflow/v1alpha1 `ArtifactLocation`).
ARTIFACT_LOCATIONS = ("s3", "gcs", "azure", "oss", "hdfs", "http", "git", "artifactory", "raw", "plugin")
GRACE_SECONDS = 30
PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")


class PodError(Exception):
    pass


@dataclass
class Image:
    """What a container image ships: its tools (name -> host program), its
    working directory's files and its ENV."""
    tools: dict
    workdir: Path = None
    env: dict = field(default_factory=dict)

    def host_paths(self):
        paths = [str(self.workdir)] if self.workdir else []
        paths += [t.program for t in self.tools.values() if isinstance(t, Launcher)]
        return paths

    def bin_dir(self, root):
        d = Path(tempfile.mkdtemp(prefix="bin-", dir=root))
        for name, target in self.tools.items():
            if isinstance(target, Launcher):
                target.write(d / name)
            else:
                (d / name).symlink_to(target)
        d.chmod(0o755)
        return d


@dataclass
class Launcher:
    """A program that must be started by its own path (a venv's Python finds
    its packages through the pyvenv.cfg beside the path it was run by)."""
    program: str

    def write(self, path):
        path.write_text('#!/bin/sh\nexec "%s" "$@"\n' % self.program)
        path.chmod(0o755)


def busybox_tools():
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    return {a: BUSYBOX for a in applets}


def python_alpine(python3):
    """python:*-alpine: CPython (standard library only) and busybox."""
    tools = busybox_tools()
    tools.update({"python3": python3, "python": python3})
    return Image(tools=tools)


def user_image(python, workdir, env=None):
    """A user's training image: Python with the ML libraries, busybox, its code."""
    tools = busybox_tools()
    tools.update({"python3": Launcher(python), "python": Launcher(python)})
    return Image(tools=tools, workdir=Path(workdir), env=env or {})


@dataclass
class Context:
    images: dict
    workflow_parameters: dict = field(default_factory=dict)
    inputs: dict = field(default_factory=dict)
    artifacts: dict = field(default_factory=dict)     # input artifact name -> host file
    secrets: dict = field(default_factory=dict)       # secret -> {key: value}
    services: dict = field(default_factory=dict)      # in-cluster URL prefix -> local URL
    workflow_name: str = "wf-emulated-x7k2p"
    workflow_uid: str = "0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f"
    namespace: str = "ml"
    pod_name: str = ""
    node_id: str = ""
    kill_main_after: float = None                      # seconds: emulate a stop/deadline
    skip_main: bool = False                            # emulate a pod whose main never ran
    after_main: object = None                          # called once main has exited, before SIGTERM
    workflow_status: str = None                        # {{workflow.status}}: in the exit handler only
    artifact_repository: Path = None                   # key-only artifacts: the repository's root


@dataclass
class SidecarExit:
    code: int
    seconds: float          # from its SIGTERM to its exit
    killed: bool            # SIGKILLed at the end of the grace period


@dataclass
class PodResult:
    init_codes: list
    main_code: int
    outputs: dict
    logs: dict
    sidecars: dict = field(default_factory=dict)      # name -> SidecarExit
    error: str = None                                 # the executor's (init or wait) failure


def workflow_parameters(doc):
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    return {p["name"]: p.get("value") for p in spec.get("arguments", {}).get("parameters", [])}


def template(doc, name):
    spec = doc["spec"].get("workflowSpec", doc["spec"])
    for t in spec["templates"]:
        if t["name"] == name:
            return t
    raise KeyError(name)


class Pod:
    def __init__(self, tmpl, ctx):
        self.t = tmpl
        self.ctx = ctx
        # Not under /tmp: each container gets a /tmp of its own, which would hide it.
        base = Path(os.environ.get("MLPC_EMULATOR_ROOT", "/var/tmp/mlpc-pods"))
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        self.root = Path(tempfile.mkdtemp(prefix="pod-", dir=base))
        os.chmod(self.root, 0o755)
        self.volumes = {}
        for v in tmpl.get("volumes", []):
            if "emptyDir" in v:
                d = self.root / ("volume-" + v["name"])
                d.mkdir()
                os.chmod(d, 0o777)          # emptyDir is world-writable
                self.volumes[v["name"]] = d
        self.logs = {}

    def substitute(self, text):
        ctx = self.ctx
        values = {
            "workflow.name": ctx.workflow_name,
            "workflow.uid": ctx.workflow_uid,
            "workflow.namespace": ctx.namespace,
            "pod.name": ctx.pod_name or ctx.workflow_name + "-" + self.t["name"],
        }
        if ctx.workflow_status is not None:
            values["workflow.status"] = ctx.workflow_status
        for k, v in ctx.workflow_parameters.items():
            values["workflow.parameters." + k] = v
        for k, v in ctx.inputs.items():
            values["inputs.parameters." + k] = v

        def replace(m):
            key = m.group(1)
            if key not in values or values[key] is None:
                raise PodError("unresolved Argo placeholder {{%s}} in template %s" % (key, self.t["name"]))
            return str(values[key])
        return PLACEHOLDER.sub(replace, text)

    def container_env(self, c, image):
        env = dict(image.env)
        for e in c.get("env", []):
            if "value" in e:
                value = self.substitute(e["value"])
                for prefix, local in self.ctx.services.items():
                    if value.startswith(prefix):
                        value = local + value[len(prefix):]
                env[e["name"]] = value
            elif "secretKeyRef" in e.get("valueFrom", {}):
                ref = e["valueFrom"]["secretKeyRef"]
                secret = self.ctx.secrets.get(ref["name"], {})
                if ref["key"] in secret:
                    env[e["name"]] = secret[ref["key"]]
                elif not ref.get("optional"):
                    raise PodError("secret %s has no key %s" % (ref["name"], ref["key"]))
            elif "fieldRef" in e.get("valueFrom", {}):
                path = e["valueFrom"]["fieldRef"]["fieldPath"]
                if "node-id" in path:
                    env[e["name"]] = self.ctx.node_id or self.ctx.workflow_name + "-1234567890"
                else:
                    raise PodError("unsupported fieldRef %s" % path)
        # What Argo's controller appends to every container it creates, init
        # containers included (workflow/controller/workflowpod.go,
        # createWorkflowPod: `envVars` with ARGO_NODE_ID and
        # ARGO_WORKFLOW_NAME, after the template's own env, so they win).
        env["ARGO_CONTAINER_NAME"] = c["name"]
        env["ARGO_NODE_ID"] = self.ctx.node_id or self.ctx.workflow_name + "-1234567890"
        env["ARGO_WORKFLOW_NAME"] = self.ctx.workflow_name
        return env

    def start(self, name, c, mounts, tmp, wait):
        """Starts one container; returns the process (or its exit code)."""
        image_ref = self.substitute(c["image"])
        if image_ref not in self.ctx.images:
            raise PodError("no emulated image %r (known: %s)" % (image_ref, ", ".join(self.ctx.images)))
        image = self.ctx.images[image_ref]
        argv = [self.substitute(a) for a in c.get("command", []) + c.get("args", [])]
        if not argv:
            raise PodError("container %s has no command" % name)
        env = self.container_env(c, image)
        env["PATH"] = str(image.bin_dir(self.root))
        env.setdefault("HOME", "/tmp")
        workdir = str(image.workdir) if image.workdir else "/"
        binds = [(str(tmp), "/tmp")] + [(str(src), dst) for src, dst in mounts]
        sc = c.get("securityContext", {})
        # In a private mount namespace: bind this container's /tmp and its
        # volumes, drop to its user, and exec its argv with only its env.
        lines = ["set -e"]
        # Host paths the image is made of (its code, a venv) that live under
        # /tmp would vanish behind the container's own /tmp: keep a view of
        # the host's /tmp and bind them back at their places.
        keep = sorted({"/tmp/" + Path(p).relative_to("/tmp").parts[0] for p in image.host_paths()
                       if Path(p).is_relative_to("/tmp") and p != "/tmp"})
        host_tmp = self.root / "host-tmp"
        if keep:
            host_tmp.mkdir(exist_ok=True)
            lines.append('mount --bind /tmp "%s"' % host_tmp)
        for i, (_, dst) in enumerate(binds):
            lines.append('mkdir -p "%s" 2>/dev/null || true' % dst)
            lines.append('mount --bind "$%d" "%s"' % (i + 1, dst))
        for p in keep:
            lines.append('mkdir -p "%s"; mount --bind "%s/%s" "%s"' % (p, host_tmp, p[len("/tmp/"):], p))
        lines.append('cd "%s"' % workdir)
        lines.append("shift %d" % len(binds))
        drop = ""
        if sc.get("runAsUser") is not None:
            drop = "setpriv --reuid=%d --regid=%d --clear-groups " % (sc["runAsUser"], sc.get("runAsGroup", sc["runAsUser"]))
        assignments = " ".join('"%s=${E%d}"' % (k, i) for i, k in enumerate(env))
        lines.append('exec %s/usr/bin/env -i %s "$@"' % (drop, assignments))
        shell_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        for i, v in enumerate(env.values()):
            shell_env["E%d" % i] = v
        host_argv = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(lines),
                     "container"] + [b[0] for b in binds] + argv
        log = open(self.root / ("%s.log" % name), "w")
        proc = subprocess.Popen(host_argv, env=shell_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.logs[name] = self.root / ("%s.log" % name)
        if wait:
            return proc.wait()
        return proc

    def mounts_for(self, c, main):
        mounts = []
        source = main if c.get("mirrorVolumeMounts") else c
        for m in source.get("volumeMounts", []):
            if m["name"] in self.volumes:
                mounts.append((self.volumes[m["name"]], m["mountPath"]))
        return mounts

    def fresh_tmp(self, name):
        d = self.root / ("tmp-" + name)
        d.mkdir()
        os.chmod(d, 0o1777)
        return d

    def artifact_key(self, a):
        """The repository path of a key-only artifact (`s3: {key: K}`, no
        bucket or endpoint: Argo fills those in from the artifact repository),
        its key substituted as the controller does before it creates the pod;
        None for an artifact with no location. Any other location fails."""
        kinds = [k for k in ARTIFACT_LOCATIONS if k in a]
        if not kinds:
            return None
        if kinds != ["s3"] or set(a["s3"]) != {"key"}:
            raise PodError("artifact %s: only key-only s3 artifacts are emulated, not %r" % (a["name"], a))
        if self.ctx.artifact_repository is None:
            raise PodError("artifact %s has a key: key-only artifacts need a Workflow's repository" % a["name"])
        key = self.substitute(a["s3"]["key"])
        parts = key.split("/")
        if key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise PodError("artifact %s: key %r is not emulated" % (a["name"], key))
        return Path(self.ctx.artifact_repository, *parts)

    def load_inputs(self, main_tmp):
        """What the executor's `init` container does (workflow/executor/executor.go
        `LoadArtifacts`, workflow/artifacts/s3/s3.go `loadS3Artifact`): a key
        is read as an object, else as a "directory" (every object under
        `KEY/`, downloaded recursively), else it is not found, which fails
        the pod unless the artifact is `optional`. Returns the error, if any."""
        for a in self.t.get("inputs", {}).get("artifacts", []):
            path = a["path"]
            if not path.startswith("/tmp/"):
                raise PodError("emulated input artifacts live under /tmp, not %s" % path)
            stored = self.artifact_key(a)
            if stored is not None:
                if not (stored.is_file() or stored.is_dir() and any(f.is_file() for f in stored.rglob("*"))):
                    if a.get("optional"):
                        continue
                    return "artifact %s failed to load: key %s not found" % (
                        a["name"], stored.relative_to(self.ctx.artifact_repository))
                source = stored
            elif a["name"] in self.ctx.artifacts:
                source = Path(self.ctx.artifacts[a["name"]])
            else:
                raise PodError("input artifact %s was not supplied" % a["name"])
            dest = main_tmp / path[len("/tmp/"):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, dest)
            else:
                shutil.copy(source, dest)
            for p in [dest] + (list(dest.rglob("*")) if dest.is_dir() else []):
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
            for p in dest.parents:
                if p == main_tmp:
                    break
                os.chmod(p, 0o755)
        return None

    def save_outputs(self, main, main_tmp):
        """What the executor's `wait` container does once main has exited,
        whatever its exit code (cmd/argoexec/commands/wait.go, then
        workflow/executor/executor.go `SaveArtifacts`, `saveArtifact`): each
        output artifact with a key is uploaded from its path in main's
        filesystem; with `archive: none` a file becomes the object KEY and a
        directory one object per file under `KEY/`. A path that does not
        exist is an error unless the artifact is `optional`. Returns the
        errors. (Artifacts without a location go to the repository's default
        keys, which nothing emulated reads: they are left alone.)"""
        errors = []
        for a in self.t.get("outputs", {}).get("artifacts", []):
            stored = self.artifact_key(a)
            if stored is None:
                continue
            if a.get("archive") != {"none": {}}:
                raise PodError("artifact %s: only `archive: none` is emulated for a key" % a["name"])
            host = self.host_path(main, main_tmp, a["path"])
            if host is None:
                raise PodError("output artifact %s: path %s is not emulated" % (a["name"], a["path"]))
            if not host.exists():
                if not a.get("optional"):
                    errors.append("%s: path %s does not exist" % (a["name"], a["path"]))
                continue
            files = [host] if host.is_file() else sorted(f for f in host.rglob("*") if f.is_file())
            for f in files:
                target = stored if f == host else stored.joinpath(*f.relative_to(host).parts)
                if target.is_dir():
                    raise PodError("key %s is both an object and a prefix: not emulated" % target)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, target)
        return errors

    def host_path(self, main, main_tmp, path):
        """Where a path of main's filesystem is on the host: in a volume it
        mounts, or in its own /tmp."""
        for m in main.get("volumeMounts", []):
            if path.startswith(m["mountPath"] + "/") and m["name"] in self.volumes:
                return self.volumes[m["name"]] / path[len(m["mountPath"]) + 1:]
        if path.startswith("/tmp/"):
            return main_tmp / path[len("/tmp/"):]
        return None

    def run(self):
        t, ctx = self.t, self.ctx
        main = t["container"]
        main_tmp = self.fresh_tmp("main")
        error = self.load_inputs(main_tmp)
        if error is not None:
            return PodResult([], None, {}, {}, error=error)
        init_codes = []
        for c in t.get("initContainers", []):
            code = self.start(c["name"], c, self.mounts_for(c, main), self.fresh_tmp(c["name"]), wait=True)
            init_codes.append(code)
            if code != 0:
                return PodResult(init_codes, None, {}, self.read_logs())
        if ctx.skip_main:
            return PodResult(init_codes, None, {}, self.read_logs())
        sidecars = {c["name"]: self.start(c["name"], c, self.mounts_for(c, main), self.fresh_tmp(c["name"]), wait=False)
                    for c in t.get("sidecars", [])}
        main_mounts = [(self.volumes[m["name"]], m["mountPath"]) for m in main.get("volumeMounts", [])
                       if m["name"] in self.volumes]
        proc = self.start("main", main, main_mounts, main_tmp, wait=False)
        if ctx.kill_main_after is not None:
            try:
                proc.wait(timeout=ctx.kill_main_after)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)     # a stop or deadline
        code = proc.wait()
        if ctx.after_main is not None:
            ctx.after_main()
        # What each sidecar's emissary does: SIGTERM to its process group,
        # SIGKILL when the grace period is over.
        terminated = time.monotonic()
        for sc in sidecars.values():
            try:
                os.killpg(sc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        ends = {}
        for name, sc in sidecars.items():
            killed = False
            try:
                sc.wait(timeout=max(0.0, terminated + GRACE_SECONDS - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(sc.pid, signal.SIGKILL)
                sc.wait()
                killed = True
            ends[name] = SidecarExit(sc.returncode, time.monotonic() - terminated, killed)
        outputs = {}
        for p in t.get("outputs", {}).get("parameters", []):
            path = p.get("valueFrom", {}).get("path")
            if not path:
                continue
            host = self.host_path(main, main_tmp, path)
            if host is not None and host.exists():
                outputs[p["name"]] = host.read_text()
        errors = self.save_outputs(main, main_tmp)
        error = "failed to save outputs: " + "; ".join(errors) if errors else None
        return PodResult(init_codes, code, outputs, self.read_logs(), ends, error)

    def read_logs(self):
        return {k: v.read_text() for k, v in self.logs.items() if v.exists()}


def run_template(doc, name, ctx):
    params = workflow_parameters(doc)
    params.update(ctx.workflow_parameters)
    ctx.workflow_parameters = params
    pod = Pod(template(doc, name), ctx)
    try:
        return pod.run()
    finally:
        if not os.environ.get("MLPC_KEEP_PODS"):
            shutil.rmtree(pod.root, ignore_errors=True)


# ----- `when`: Argo evaluates it with govaluate after substitution ---------------

# govaluate's lexer reads a number as a run of digits and dots (then
# strconv.ParseFloat): no exponent, no sign (a leading `-` is the prefix
# operator), and `nan`/`inf` are variable names, which a `when` has none of.
TOKEN = re.compile(r"\s*(?:([0-9.]+)|('(?:[^'\\]|\\.)*')|(&&|\|\||==|!=|<=|>=|<|>|!|-|\(|\))|(true|false))")


def evaluate_when(expr):
    """Evaluates a substituted `when` the way govaluate does, for the subset
    mlpc emits: numbers, single-quoted strings, true/false, comparisons,
    && || ! - (prefix) and parentheses."""
    tokens = []
    pos = 0
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise ValueError("cannot read %r at %d" % (expr, pos))
        pos = m.end()
        num, string, op, boolean = m.groups()
        if num is not None:
            try:
                tokens.append(("v", float(num)))
            except ValueError:
                raise ValueError("cannot parse number %r in %r" % (num, expr))
        elif string is not None:
            tokens.append(("v", re.sub(r"\\(.)", r"\1", string[1:-1])))
        elif boolean is not None:
            tokens.append(("v", boolean == "true"))
        else:
            tokens.append(("op", op))
    tokens.append(("end", None))
    i = 0

    def peek():
        return tokens[i]

    def take():
        nonlocal i
        i += 1
        return tokens[i - 1]

    def primary():
        kind, v = take()
        if kind == "op" and v == "(":
            value = disjunction()
            if take() != ("op", ")"):
                raise ValueError("missing ) in %r" % expr)
            return value
        if kind == "op" and v == "!":
            return not primary()
        if kind == "op" and v == "-":
            value = primary()
            if not isinstance(value, float):
                raise ValueError("govaluate negates numbers only: %r" % expr)
            return -value
        if kind == "v":
            return v
        raise ValueError("unexpected %r in %r" % (v, expr))

    def comparison():
        left = primary()
        while peek()[0] == "op" and peek()[1] in ("==", "!=", "<", "<=", ">", ">="):
            op = take()[1]
            right = primary()
            if op in ("<", "<=", ">", ">=") and not (isinstance(left, float) and isinstance(right, float)):
                raise ValueError("govaluate compares numbers only: %r" % expr)
            # One comparison, not all six: a number and a string compare
            # for equality only (govaluate's `==`/`!=` are reflect.DeepEqual).
            left = {"==": lambda: left == right, "!=": lambda: left != right,
                    "<": lambda: left < right, "<=": lambda: left <= right,
                    ">": lambda: left > right, ">=": lambda: left >= right}[op]()
        return left

    def conjunction():
        left = comparison()
        while peek() == ("op", "&&"):
            take()
            right = comparison()
            left = bool(left) and bool(right)
        return left

    def disjunction():
        left = conjunction()
        while peek() == ("op", "||"):
            take()
            right = conjunction()
            left = bool(left) or bool(right)
        return left

    value = disjunction()
    if peek()[0] != "end":
        raise ValueError("trailing input in %r" % expr)
    return value


# ----- `{{= ... }}`: Argo evaluates an expression tag with expr first ---------------
# (util/template/expression_template.go `expressionReplace`): over the values
# themselves, `asFloat` being Go's strconv.ParseFloat; the result (`true` /
# `false`) is what govaluate then reads. This reads the subset mlpc emits
# (util/expr/env/env.go names: `tasks[...]`, `workflow.parameters[...]`,
# `asFloat`) by translating it to a Python expression over the same values.
EXPR_TOKEN = re.compile(r"\s*(?:([0-9]+(?:\.[0-9]+)?)|('(?:[^'\\]|\\.)*')|(&&|\|\||==|!=|<=|>=|<|>|!|\(|\)|\[|\]|\.)"
                        r"|([A-Za-z_][A-Za-z0-9_]*))")
EXPR_TAG = re.compile(r"\{\{=(.*?)\}\}", re.S)


def evaluate_expression(expr, env):
    """Evaluates one expr expression over `env` (nested dicts of strings)."""
    out = []
    pos = 0
    while pos < len(expr):
        m = EXPR_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise ValueError("cannot read %r at %d" % (expr, pos))
        pos = m.end()
        num, string, op, name = m.groups()
        if num is not None:
            out.append(num)
        elif string is not None:
            out.append(string)  # expr's escapes (\' \\ \uXXXX) are Python's
        elif op is not None:
            out.append({"&&": " and ", "||": " or ", "!": " not "}.get(op, op))
        elif out and out[-1] == ".":
            out[-1] = "[%r]" % name  # member access on a map
        else:
            out.append({"true": "True", "false": "False", "asFloat": "_as_float", "asInt": "_as_int",
                        "lower": "_lower"}.get(name, "_env[%r]" % name))
    return eval("".join(out), {"__builtins__": {}, "_as_float": float, "_as_int": int,
                               "_lower": str.lower, "_env": env})


def expand_expression_tags(text, env):
    """Replaces each `{{=EXPR}}` with its value as Argo writes it."""
    def replace(m):
        value = evaluate_expression(m.group(1), env)
        return {True: "true", False: "false"}.get(value, str(value)) if isinstance(value, bool) else str(value)
    return EXPR_TAG.sub(replace, text)


def substitute_task_outputs(text, outputs):
    """Replaces `{{tasks.T.outputs.parameters.P}}` with values from
    `outputs[T][P]`; fails on anything unresolved."""
    def replace(m):
        key = m.group(1)
        parts = key.split(".")
        if len(parts) == 5 and parts[0] == "tasks" and parts[2] == "outputs" and parts[3] == "parameters":
            return outputs[parts[1]][parts[4]]
        raise PodError("unresolved placeholder {{%s}}" % key)
    return PLACEHOLDER.sub(replace, text)


# ----- DAG templates: the tasks of one DAG, each item of a loop, nested DAGs ----------
# Argo's rules, for the subset mlpc emits (no continueOn, no artifacts passed
# between tasks as arguments, no DAG output artifacts; key-only artifacts go through
# the run's artifact repository, see `Pod.load_inputs`/`Pod.save_outputs`),
# each with where it lives in argo-workflows:
# - a loop task (`withItems`) becomes one task per item, `{{item}}` replaced
#   in its text first (controller/operator.go `processItem`) by the item's
#   text, `Item.String()` (pkg/apis/workflow/v1alpha1/item.go): a string as
#   it is, a number as its JSON text. A submitted YAML reaches the API as
#   JSON through sigs.k8s.io/yaml, so `0.1` is Go's float64 JSON: `0.1`;
#   a map item (same `processItem`, `case wfv1.Map`) sets `{{item.KEY}}` to
#   each value's `Item.String()` (a string value keeps its JSON escapes,
#   argo-workflows#16061), `{{item}}` to the map's JSON (encoding/json: keys
#   sorted, no spaces), and names the node `TASK(I:K1:V1,K2:V2)`, the
#   `KEY:VALUE` pairs sorted (`item_values`);
# - a task's arguments and `when` are substituted over its DAG's scope: the
#   DAG template's own inputs (`inputs.parameters.X`, scope.go `createScope`),
#   the outputs and phases of the DAG's other tasks (`tasks.T.outputs.parameters.P`,
#   `tasks.T.status`, dag.go `resolveDependencyReferences`) and the globals
#   (`workflow.*`); a DAG's own output parameters are its tasks' outputs
#   (`valueFrom.parameter`, `Workflow.dag_outputs`);
#   expression tags first (expression_template.go), then plain placeholders;
#   the `when` is then read by govaluate (`evaluate_when`);
# - the called template's inputs are the task's arguments, an input not
#   passed taking its `value`/`default`, and one with neither fails the task
#   (common/util.go `ProcessArgs`, `substituteInputs`);
# - `depends`: a bare `T` is `T.Succeeded || T.Skipped || T.Daemoned`
#   (common/ancestry.go); a task whose `depends` is false is Omitted, one
#   whose `when` is false Skipped (dag.go `executeDAGTask`);
# - a pod whose executor fails (its `init` container cannot load an input
#   artifact, its `wait` container cannot save an output) is Error, one
#   whose main fails Failed (operator.go `inferFailedReason`);
# - node names are `PARENT.TASK`, a loop's items `PARENT.TASK(I:ITEM)` and the
#   exit handler `WORKFLOW.onExit` (`generateNodeName`, `GenerateOnExitNodeName`);
#   a node's id is `WORKFLOW-fnv32a(NAME)` (`Workflow.NodeID`), its pod
#   `WORKFLOW-TEMPLATE-fnv32a(NAME)` (util.go `GeneratePodName`, v2 names);
# - `{{workflow.status}}` is the main run's phase, given to the exit handler
#   (operator.go, before `onExit` runs: `globalParams[workflow.status]`).
# Tasks run one after another in dependency order (Argo runs the ready ones
# at once; nothing mlpc emits depends on the order within a level).

def fnv32a(text):
    h = 0x811c9dc5
    for b in text.encode():
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def go_float_json(x):
    """encoding/json's float64: 'f' format between 1e-6 and 1e21, else 'e'
    (with `e-07` written `e-7`), shortest digits that read back."""
    from decimal import Decimal
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    if 1e-6 <= abs(x) < 1e21:
        return format(Decimal(repr(x)), "f")
    mantissa, exp = ("%r" % x).replace("E", "e").split("e")
    return "%se%s%d" % (mantissa, "-" if int(exp) < 0 else "+", abs(int(exp)))


def item_text(item):
    """`Item.String()` (pkg/apis/workflow/v1alpha1/item.go) of one
    `withItems` entry or a map item's value, as YAML loads it: its compact JSON
    (`json.Marshal`; a map's keys sorted, as the API server stores it) with
    the HTML escapes undone (`jsonutil.Fix`) and, for a string, the quotes
    cut off (its escapes stay: `a"b` is `a\\"b`, argo-workflows#16061)."""
    if isinstance(item, str):
        return go_json(item, escape_html=False)[1:-1]
    if isinstance(item, (bool, int, float, dict, list)):
        return go_json(item, escape_html=False)
    raise PodError("a %s item is not emulated: %r" % (type(item).__name__, item))


def go_json(value, escape_html=True):
    """encoding/json's text of a value as YAML loads it: compact, map keys
    sorted, float64 as Go writes it, and (`escape_html`) `<`, `>`, `&`
    written as \\u003c, \\u003e, \\u0026."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float_json(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        if escape_html:
            text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return text
    if isinstance(value, list):
        return "[%s]" % ",".join(go_json(v, escape_html) for v in value)
    if isinstance(value, dict):
        return "{%s}" % ",".join("%s:%s" % (go_json(str(k), escape_html), go_json(value[k], escape_html))
                                 for k in sorted(value))
    raise PodError("cannot write %r as JSON" % (value,))


def item_values(item):
    """What `processItem` substitutes for one `withItems` entry, and the
    text its node name carries between `(I:` and `)`: a plain string item
    as it is (`GetStrVal`, argo-workflows#14864), a number or bool by
    `Item.String()`; a map item's values by `Item.String()` (a string value
    keeps its escapes), and `{{item}}` the map's `json.Marshal`."""
    if isinstance(item, list):
        raise PodError("list items are not emulated: %r" % (item,))
    if not isinstance(item, dict):
        text = item if isinstance(item, str) else item_text(item)
        return {"item": text}, text
    values = {"item." + k: item_text(v) for k, v in item.items()}
    values["item"] = go_json(item)
    return values, ",".join(sorted("%s:%s" % (k, item_text(v)) for k, v in item.items()))


def replace_known(text, values):
    """Replaces the placeholders `values` knows, leaving the others (Argo
    substitutes in passes, each allowing the rest to stay unresolved)."""
    return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


@dataclass
class Node:
    name: str
    phase: str                      # Succeeded, Failed, Skipped, Omitted
    template: str = None
    inputs: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    pod: PodResult = None
    pod_name: str = None
    node_id: str = None
    items: list = None              # a loop task: one Node per item
    tasks: dict = None              # a DAG: its tasks' Nodes


FULFILLED = {"Succeeded", "Skipped", "Daemoned"}


def depends_met(expr, nodes):
    """A task's `depends` over the phases of its DAG's tasks."""
    def term(m):
        task, _, result = m.group(0).partition(".")
        phase = nodes[task].phase
        if not result:
            return str(phase in FULFILLED)
        return str({"Succeeded": phase == "Succeeded", "Failed": phase == "Failed",
                    "Errored": phase == "Error", "Skipped": phase == "Skipped",
                    "Omitted": phase == "Omitted", "Daemoned": False}[result])
    text = re.sub(r"[A-Za-z0-9][-A-Za-z0-9]*(?:\.(?:Succeeded|Failed|Errored|Skipped|Omitted|Daemoned))?",
                  term, expr)
    return eval(text.replace("&&", " and ").replace("||", " or ").replace("!", " not "), {"__builtins__": {}})


def order_tasks(tasks):
    """The DAG's tasks, each after those its `depends` names."""
    names = [t["name"] for t in tasks]
    deps = {t["name"]: [n for n in re.findall(r"[A-Za-z0-9][-A-Za-z0-9]*", t.get("depends", "")) if n in names]
            for t in tasks}
    done, out = set(), []
    while len(out) < len(tasks):
        ready = [t for t in tasks if t["name"] not in done and all(d in done for d in deps[t["name"]])]
        if not ready:
            raise PodError("the DAG's depends form a cycle")
        for t in ready:
            done.add(t["name"])
            out.append(t)
    return out


class Workflow:
    """Runs DAG templates of one workflow. `context_for(template, items)`
    gives each pod's Context (images, secrets, ...); `items` are the texts of
    the enclosing loops' items (`{{item}}`: a map item's JSON), outermost
    first. The walker sets the pod's inputs, name, node id, the workflow's
    identity and status, and the artifact repository (`repository`)."""

    def __init__(self, doc, context_for, workflow_name, workflow_uid, status=None):
        self.doc = doc
        self.context_for = context_for
        self.name = workflow_name
        self.uid = workflow_uid
        self.status = status
        self.params = workflow_parameters(doc)
        # The namespace's artifact repository, for this run's key-only artifacts.
        base = Path(os.environ.get("MLPC_EMULATOR_ROOT", "/var/tmp/mlpc-pods"))
        base.mkdir(parents=True, exist_ok=True)
        self.repository = Path(tempfile.mkdtemp(prefix="repository-", dir=base))
        if not os.environ.get("MLPC_KEEP_PODS"):
            weakref.finalize(self, shutil.rmtree, str(self.repository), True)

    def globals(self):
        g = {"workflow.name": self.name, "workflow.uid": self.uid}
        if self.status is not None:
            g["workflow.status"] = self.status
        g.update({"workflow.parameters." + k: v for k, v in self.params.items()})
        return g

    def run_entrypoint(self):
        spec = self.doc["spec"].get("workflowSpec", self.doc["spec"])
        return self.call(spec["entrypoint"], {}, self.name, ())

    def run_exit_handler(self, status):
        spec = self.doc["spec"].get("workflowSpec", self.doc["spec"])
        self.status = status
        return self.call(spec["onExit"], {}, self.name + ".onExit", ())

    def call(self, name, arguments, node_name, items):
        """Runs template `name` with the task's substituted `arguments`."""
        t = template(self.doc, name)
        inputs = {}
        for p in t.get("inputs", {}).get("parameters", []):
            if p["name"] in arguments:
                inputs[p["name"]] = arguments[p["name"]]
            elif p.get("value") is not None or p.get("default") is not None:
                inputs[p["name"]] = str(p["value"] if p.get("value") is not None else p["default"])
            else:
                raise PodError("inputs.parameters.%s was not supplied (template %s)" % (p["name"], name))
        if "dag" in t:
            if t.get("inputs", {}).get("artifacts"):
                raise PodError("input artifacts of DAG template %s are not emulated" % name)
            if t.get("outputs", {}).get("artifacts"):
                raise PodError("the output artifacts of DAG template %s are not emulated" % name)
            tasks = self.run_dag(t, inputs, node_name, items)
            failed = any(n.phase in ("Failed", "Error") for n in tasks.values())
            handled = any(re.search(r"\.(Failed|Errored)\b", task.get("depends", "")) for task in t["dag"]["tasks"])
            phase = None if failed and handled else ("Failed" if failed else "Succeeded")
            outputs = self.dag_outputs(t, tasks) if phase == "Succeeded" else {}
            return Node(node_name, phase, name, inputs, outputs, tasks=tasks)
        ctx = self.context_for(name, items)
        ctx.inputs = inputs
        ctx.workflow_name, ctx.workflow_uid = self.name, self.uid
        ctx.workflow_parameters = dict(self.params, **ctx.workflow_parameters)
        ctx.workflow_status = self.status
        ctx.artifact_repository = self.repository
        h = fnv32a(node_name)
        ctx.node_id = "%s-%d" % (self.name, h)
        ctx.pod_name = "%s-%s-%d" % (self.name, name, h)
        res = run_template(self.doc, name, ctx)
        if res.error is not None and res.main_code in (0, None):
            phase = "Error"         # the executor failed: loading the inputs, or saving main's outputs
        elif res.main_code == 0 and all(c == 0 for c in res.init_codes):
            phase = "Succeeded"
        else:
            phase = "Failed"
        return Node(node_name, phase, name, inputs, res.outputs if phase == "Succeeded" else {}, res,
                    ctx.pod_name, ctx.node_id)

    def run_dag(self, t, inputs, node_name, items):
        nodes = {}
        for task in order_tasks(t["dag"]["tasks"]):
            task_node = node_name + "." + task["name"]
            if task.get("depends") and not depends_met(task["depends"], nodes):
                nodes[task["name"]] = Node(task_node, "Omitted")
                continue
            if "withParam" in task:
                raise PodError("withParam is not emulated (task %s)" % task["name"])
            if "withItems" in task:
                runs = []
                for i, item in enumerate(task["withItems"]):
                    values, label = item_values(item)
                    expanded = json.loads(json.dumps(task))
                    expanded.pop("withItems")
                    self.substitute_task(expanded, values)
                    runs.append(self.run_task(expanded, nodes, inputs, "%s(%d:%s)" % (task_node, i, label),
                                              items + (values["item"],)))
                failed = any(r.phase in ("Failed", "Error") for r in runs)
                nodes[task["name"]] = Node(task_node, "Failed" if failed else "Succeeded", task["template"],
                                           items=runs)
            else:
                nodes[task["name"]] = self.run_task(task, nodes, inputs, task_node, items)
        return nodes

    @staticmethod
    def dag_outputs(t, tasks):
        """A DAG's output parameters, each `valueFrom.parameter` over its
        tasks' outputs (dag.go, `getTemplateOutputsFromScope`); read here
        once the DAG succeeded."""
        outputs = {}
        for p in t.get("outputs", {}).get("parameters", []):
            ref = p.get("valueFrom", {}).get("parameter")
            if ref is None:
                raise PodError("DAG output %s: only valueFrom.parameter is emulated" % p["name"])
            outputs[p["name"]] = substitute_task_outputs(ref, {k: n.outputs for k, n in tasks.items()})
        return outputs

    @staticmethod
    def substitute_task(task, values):
        for a in task.get("arguments", {}).get("parameters", []):
            a["value"] = replace_known(str(a["value"]), values)
        if "when" in task:
            task["when"] = replace_known(task["when"], values)

    def run_task(self, task, nodes, inputs, node_name, items):
        if task.get("arguments", {}).get("artifacts"):
            raise PodError("artifact arguments are not emulated (task %s)" % task["name"])
        scope = self.globals()
        scope.update({"inputs.parameters." + k: v for k, v in inputs.items()})
        env = {"workflow": {"parameters": dict(self.params)}, "inputs": {"parameters": dict(inputs)}, "tasks": {}}
        for name, n in nodes.items():
            for k, v in n.outputs.items():
                scope["tasks.%s.outputs.parameters.%s" % (name, k)] = v
            # A task's phase, `tasks.T.status` (docs/variables.md; dag.go
            # `buildLocalScopeFromTask` puts each ancestor's in the scope).
            scope["tasks.%s.status" % name] = n.phase
            env["tasks"][name] = {"outputs": {"parameters": dict(n.outputs)}, "status": n.phase}

        def resolve(text):
            text = expand_expression_tags(text, env) if "{{=" in text else text
            left = PLACEHOLDER.search(replace_known(text, scope))
            if left:
                raise PodError("unresolved placeholder %s in task %s" % (left.group(0), task["name"]))
            return replace_known(text, scope)
        if "when" in task and not evaluate_when(resolve(task["when"])):
            return Node(node_name, "Skipped", task["template"])
        arguments = {a["name"]: resolve(str(a["value"])) for a in task.get("arguments", {}).get("parameters", [])}
        return self.call(task["template"], arguments, node_name, items)
