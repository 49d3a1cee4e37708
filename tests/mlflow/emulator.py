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
- Each container's PATH holds only what its image ships (see `Image`), and
  `securityContext.runAsUser` is honoured with setpriv.
- Service names resolve as cluster DNS would: `services` maps the in-cluster
  URL prefix of a Service to the local address serving it.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BUSYBOX = shutil.which("busybox") or "/usr/bin/busybox"
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

    def run(self):
        t, ctx = self.t, self.ctx
        main = t["container"]
        main_tmp = self.fresh_tmp("main")
        for a in t.get("inputs", {}).get("artifacts", []):
            path = a["path"]
            if not path.startswith("/tmp/"):
                raise PodError("emulated input artifacts live under /tmp, not %s" % path)
            if a["name"] not in ctx.artifacts:
                raise PodError("input artifact %s was not supplied" % a["name"])
            dest = main_tmp / path[len("/tmp/"):]
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ctx.artifacts[a["name"]], dest)
            for p in [dest] + list(dest.parents):
                if p == main_tmp:
                    break
                os.chmod(p, 0o755 if p.is_dir() else 0o644)
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
            host = None
            for m in main.get("volumeMounts", []):
                if path.startswith(m["mountPath"] + "/") and m["name"] in self.volumes:
                    host = self.volumes[m["name"]] / path[len(m["mountPath"]) + 1:]
            if host is None and path.startswith("/tmp/"):
                host = main_tmp / path[len("/tmp/"):]
            if host is not None and host.exists():
                outputs[p["name"]] = host.read_text()
        return PodResult(init_codes, code, outputs, self.read_logs(), ends)

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
            left = {"==": left == right, "!=": left != right, "<": left < right,
                    "<=": left <= right, ">": left > right, ">=": left >= right}[op]
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
