"""Runs a KFP v2 IR file the way KFP's driver and launcher run it, with each
container as a local process: what the IR does at run time, not only
whether it validates.

Usage: run.py IR.yaml [PARAMS_JSON]  -> a JSON report on stdout:
  {"tasks": {"PATH": {"state": ..., "outputs": {...}, "log": ...}}}
where PATH is the task's name under its DAG tasks (`fit[1]/fit`, `finally/cleanup`).

What it follows (kubeflow/pipelines backend/src/v2, read for mlpc's tests):
- a DAG runs its tasks when every `dependentTasks` entry succeeded; a
  failed or skipped one leaves the task not run, except for an exit task
  (`triggerPolicy.strategy: ALL_UPSTREAM_TASKS_COMPLETED`), which runs
  however its upstream ended (compiler/argocompiler/dag.go);
- a task's inputs: `componentInputParameter` (the DAG's inputs),
  `taskOutputParameter`/`taskOutputArtifact` (a sibling's outputs),
  `runtimeValue` (constants; `{{$.pipeline_job_uuid}}` and the like as a
  whole value), `taskFinalStatus` (the JSON text of the producer's
  PipelineTaskFinalStatus, driver/resolver `resolveTaskFinalStatus`), each
  through its `parameterExpressionSelector` (CEL over `string_value`);
- `triggerPolicy.condition`: CEL over `inputs.parameter_values`; false
  skips the task (expression/expression.go, with `parseJson`);
- a loop task runs its DAG once per item of `parameterIterator` (raw JSON,
  or a list input), the item as `itemInput`; a DAG output collected out of
  a loop is the list of every iteration's value;
- a container: placeholders in command, args and image replaced by the
  inputs' text (numbers as `32` / `0.001`, lists and maps as JSON), `{{$}}`
  by the executor input's JSON, each input artifact with a `minio://` URI
  that the launcher's LocalPathForURI maps under ARTIFACT_LOCAL_PATH to
  where the artifact lies (launcher_v2.go); an artifact collected out of
  a loop is the list of every item's that exists,
  artifact paths and output files under the run's directory; any other
  `{{` fails the task; executor `env` is set as written, platform
  `fieldPathAsEnv` from the pod; output parameters are read from their
  files after exit 0 and typed by the component's outputDefinitions.
Each container runs in a private mount namespace whose /tmp is its own,
with PATH holding only the tools in TOOLS (busybox applets), or, when the
caller gives `images` (tests/mlflow/emulator.py `Image`s by image name), only
what the task's image ships, in its working directory. The caller may also
give `secrets` (platform `secretAsEnv`; a missing key fails the task unless
`optional`), `services` (an in-cluster URL prefix in an env value -> the
local address serving it, as cluster DNS would) and `env` (set in every
container, as the kubelet sets KUBERNETES_SERVICE_HOST), `task_env(path,
argv)` (more env for one task, as a test's image would decide) and `cancel`
(the paths of container tasks that end CANCELED without running: a run
stopped, a node lost).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import celpy
import yaml

TOOLS = ["sh", "cp", "mkdir", "cat", "echo", "printf", "test", "[", "expr", "true", "false"]
PLACEHOLDER = re.compile(r"\{\{\$\.(inputs|outputs)\.(parameters|artifacts)\['([^']+)'\](?:\.(path|output_file|uri))?\}\}")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
RUN_ID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
RUN_RESOURCE_NAME = "run-0b1c2d3e"


def as_protobuf(v):
    """A value as a protobuf `Value` holds it: every number a double."""
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    if isinstance(v, list):
        return [as_protobuf(x) for x in v]
    if isinstance(v, dict):
        return {k: as_protobuf(x) for k, x in v.items()}
    return v


def cel(expr, variables):
    variables = as_protobuf(variables)
    env = celpy.Environment()
    prog = env.program(env.compile(expr), functions={"parseJson": lambda s: celpy.json_to_cel(json.loads(str(s)))})
    out = prog.evaluate({k: celpy.json_to_cel(v) for k, v in variables.items()})
    return json.loads(json.dumps(out, default=float)) if not isinstance(out, (celpy.celtypes.BoolType, celpy.celtypes.StringType)) else (bool(out) if isinstance(out, celpy.celtypes.BoolType) else str(out))


def text(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(v, separators=(",", ":"))


def of_type(v, ptype):
    """Whether a value fits a declared parameter type, as KFP's driver
    checks a task's inputs once their selectors ran (driver/resolver)."""
    return {
        "STRING": lambda: isinstance(v, str),
        "NUMBER_INTEGER": lambda: isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer(),
        "NUMBER_DOUBLE": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
        "BOOLEAN": lambda: isinstance(v, bool),
        "LIST": lambda: isinstance(v, list),
        "STRUCT": lambda: isinstance(v, dict),
    }.get(ptype, lambda: True)()


def typed(raw, ptype):
    if ptype in ("NUMBER_INTEGER",):
        return int(raw.strip())
    if ptype == "NUMBER_DOUBLE":
        return float(raw.strip())
    if ptype == "BOOLEAN":
        return raw.strip().lower() == "true"
    if ptype in ("LIST", "STRUCT"):
        return json.loads(raw)
    return raw


class Run:
    def __init__(self, path, params, images=None, secrets=None, services=None, env=None, run_id=RUN_ID,
                 task_env=None, cancel=()):
        self.images, self.secrets = images, secrets or {}
        self.task_env, self.cancel = task_env, set(cancel)
        self.services, self.extra_env = services or {}, env or {}
        self.run_id = run_id
        docs = list(yaml.safe_load_all(open(path)))
        self.spec = docs[0]
        self.platform = docs[1]["platforms"]["kubernetes"] if len(docs) > 1 else {}
        # Outside /tmp: each container has its own /tmp; output files and
        # artifacts live where KFP's launcher would put them, beside it.
        self.root = tempfile.mkdtemp(prefix="kfp-run-", dir="/var/tmp")
        # ARTIFACT_LOCAL_PATH/minio/run/PATH is self.root/PATH.
        self.local_root = tempfile.mkdtemp(prefix="kfp-local-", dir="/var/tmp")
        os.makedirs(os.path.join(self.local_root, "minio"))
        os.symlink(self.root, os.path.join(self.local_root, "minio", "run"))
        self.report = {}
        self.count = 0
        inputs = {}
        for name, p in self.spec["root"].get("inputDefinitions", {}).get("parameters", {}).items():
            if name in params:
                inputs[name] = params[name]
            elif "defaultValue" in p:
                inputs[name] = p["defaultValue"]
        self.dag(self.spec["root"], inputs, {}, "")

    def dag(self, comp, inputs, artifacts, prefix):
        """Runs a DAG component; its tasks' states and outputs."""
        tasks = comp["dag"]["tasks"]
        states, outputs, arts = {}, {}, {}
        order = self.topological(tasks)
        for name in order:
            t = tasks[name]
            exit_task = t.get("triggerPolicy", {}).get("strategy") == "ALL_UPSTREAM_TASKS_COMPLETED"
            ups = t.get("dependentTasks", [])
            if not exit_task and any(states.get(u) != "SUCCEEDED" for u in ups):
                states[name] = "SKIPPED"
                self.report[prefix + name] = {"state": "SKIPPED"}
                continue
            params = {}
            for k, spec in t.get("inputs", {}).get("parameters", {}).items():
                if "componentInputParameter" in spec:
                    v = inputs[spec["componentInputParameter"]]
                elif "taskOutputParameter" in spec:
                    o = spec["taskOutputParameter"]
                    v = outputs[o["producerTask"]][o["outputParameterKey"]]
                elif "runtimeValue" in spec:
                    v = spec["runtimeValue"]["constant"]
                    v = {"{{$.pipeline_job_uuid}}": self.run_id, "{{$.pipeline_job_name}}": "run name",
                         "{{$.pipeline_job_resource_name}}": RUN_RESOURCE_NAME}.get(v, v)
                elif "taskFinalStatus" in spec:
                    producer = spec["taskFinalStatus"]["producerTask"]
                    v = json.dumps({"state": states.get(producer, "SKIPPED"), "pipelineTaskName": producer})
                sel = spec.get("parameterExpressionSelector")
                if sel:
                    v = cel(sel, {"string_value": v if isinstance(v, str) else json.dumps(v)})
                params[k] = v
            callee = self.spec["components"][t["componentRef"]["name"]]
            declared = callee.get("inputDefinitions", {}).get("parameters", {})
            for k, v in params.items():
                if k in declared and not of_type(v, declared[k]["parameterType"]):
                    raise SystemExit("%s%s: input %s is declared %s, got %r (KFP's driver checks it)"
                                     % (prefix, name, k, declared[k]["parameterType"], v))
            in_arts = {}
            for k, spec in t.get("inputs", {}).get("artifacts", {}).items():
                if "taskOutputArtifact" in spec:
                    o = spec["taskOutputArtifact"]
                    in_arts[k] = arts[o["producerTask"]][o["outputArtifactKey"]]
                else:
                    in_arts[k] = artifacts[spec["componentInputArtifact"]]
            cond = t.get("triggerPolicy", {}).get("condition")
            if cond and not cel(cond, {"inputs": {"parameter_values": params}}):
                states[name] = "SKIPPED"
                self.report[prefix + name] = {"state": "SKIPPED"}
                continue
            callee = self.spec["components"][t["componentRef"]["name"]]
            it = t.get("parameterIterator")
            if it:
                items = it["items"]
                items = json.loads(items["raw"]) if "raw" in items else params[items["inputParameter"]]
                if isinstance(items, str):
                    items = json.loads(items)
                collected, collected_arts, ok = {}, {}, True
                for i, item in enumerate(items):
                    st, outs, a = self.dag(callee, dict(params, **{it["itemInput"]: item}), in_arts, "%s%s[%d]/" % (prefix, name, i))
                    ok = ok and st
                    for k, v in outs.items():
                        collected.setdefault(k, []).append(v)
                    for k, v in a.items():
                        if v is not None:
                            collected_arts.setdefault(k, []).append(v)
                states[name] = "SUCCEEDED" if ok else "FAILED"
                outputs[name], arts[name] = collected, collected_arts
                self.report[prefix + name] = {"state": states[name]}
            elif "dag" in callee:
                ok, outs, a = self.dag(callee, params, in_arts, "%s%s/" % (prefix, name))
                states[name] = "SUCCEEDED" if ok else "FAILED"
                outputs[name], arts[name] = outs, a
                self.report[prefix + name] = {"state": states[name]}
            else:
                states[name], outputs[name], arts[name] = self.container(callee, params, in_arts, prefix + name)
        # The DAG's own outputs, and whether it succeeded.
        outs, out_arts = {}, {}
        for k, o in comp["dag"].get("outputs", {}).get("parameters", {}).items():
            sel = o["valueFromParameter"]
            if states.get(sel["producerSubtask"]) == "SUCCEEDED":
                outs[k] = outputs[sel["producerSubtask"]].get(sel["outputParameterKey"])
        for k, o in comp["dag"].get("outputs", {}).get("artifacts", {}).items():
            sel = o["artifactSelectors"][0]
            out_arts[k] = arts.get(sel["producerSubtask"], {}).get(sel["outputArtifactKey"])
        ok = all(s in ("SUCCEEDED", "SKIPPED") for s in states.values())
        return ok, outs, out_arts

    def topological(self, tasks):
        done, order = set(), []
        def visit(n):
            if n in done:
                return
            done.add(n)
            for d in tasks[n].get("dependentTasks", []):
                visit(d)
            order.append(n)
        for n in sorted(tasks):
            visit(n)
        return order

    def container(self, comp, params, in_arts, path):
        if path in self.cancel:
            self.report[path] = {"state": "CANCELED"}
            return "CANCELED", {}, {}
        self.count += 1
        work = os.path.join(self.root, "task-%d" % self.count)
        ex = self.spec["deploymentSpec"]["executors"][comp["executorLabel"]]["container"]
        os.makedirs(os.path.join(work, "tmp"))
        if self.images is None:
            # busybox's tools, at /tmp/.bin in the container.
            bin_dir, workdir, image_env = "/tmp/.bin", "/tmp", {}
            os.makedirs(os.path.join(work, "tmp", ".bin"))
            for t in TOOLS:
                os.symlink(shutil.which("busybox"), os.path.join(work, "tmp", ".bin", t))
            # The generated steps' image (mlflow.DEFAULT_IMAGE) has Python.
            if ex["image"].startswith("python:"):
                os.symlink(PYTHON, os.path.join(work, "tmp", ".bin", "python3"))
        else:
            image = self.images.get(ex["image"])
            if image is None:
                raise SystemExit("%s: no such image here: %s" % (path, ex["image"]))
            bin_dir = str(image.bin_dir(self.root))
            workdir = str(image.workdir) if image.workdir else "/tmp"
            image_env = dict(image.env)
        outputs = comp.get("outputDefinitions", {})
        files = {}

        def uri(p):
            return "minio://run/" + os.path.relpath(p, self.root)

        def executor_input():
            listed = {k: {"artifacts": [{"uri": uri(p)} for p in (v if isinstance(v, list) else [v])]}
                      for k, v in in_arts.items()}
            return json.dumps({"inputs": {"parameterValues": params, "artifacts": listed}})

        def sub(s):
            if s == "{{$}}":
                return executor_input()

            def repl(m):
                io, kind, name, attr = m.groups()
                if io == "inputs" and kind == "parameters":
                    return text(params[name])
                if io == "inputs":
                    if isinstance(in_arts[name], list):
                        raise SystemExit("%s: a list of artifacts has no path placeholder" % path)
                    return in_arts[name]
                f = os.path.join(work, "out", kind, name, "data" if kind == "artifacts" else "value")
                os.makedirs(os.path.dirname(f), exist_ok=True)
                files[(kind, name)] = f
                return f
            out = PLACEHOLDER.sub(repl, s)
            if "{{" in out:
                raise SystemExit("%s: a placeholder KFP would not resolve: %s" % (path, out))
            return out

        argv = [sub(a) for a in ex.get("command", []) + ex.get("args", [])]
        env = dict(image_env)
        env.update({e["name"]: e["value"] for e in ex.get("env", [])})
        config = self.platform.get("deploymentSpec", {}).get("executors", {}).get(comp["executorLabel"], {})
        for f in config.get("fieldPathAsEnv", []):
            env[f["name"]] = {"metadata.name": "pod-%d" % self.count, "metadata.namespace": "kubeflow"}[f["fieldPath"]]
        for s in config.get("secretAsEnv", []):
            name = s["secretNameParameter"]["runtimeValue"]["constant"]
            for k in s["keyToEnv"]:
                value = self.secrets.get(name, {}).get(k["secretKey"])
                if value is not None:
                    env[k["envVar"]] = value
                elif not s.get("optional"):
                    raise SystemExit("%s: secret %s has no key %s" % (path, name, k["secretKey"]))
        for k, v in env.items():
            for prefix, local in self.services.items():
                if v.startswith(prefix):
                    env[k] = local + v[len(prefix):]
        env["ARTIFACT_LOCAL_PATH"] = self.local_root
        env.update(self.extra_env)
        if self.task_env:
            env.update(self.task_env(path, argv))
        env["PATH"] = bin_dir
        env["HOME"] = "/tmp"
        assignments = " ".join('"%s=${E%d}"' % (k, i) for i, k in enumerate(env))
        # Host paths the image is made of (its code, a venv) that live under
        # /tmp would vanish behind the container's own /tmp: keep a view of
        # the host's /tmp and bind them back at their places.
        made_of = self.images[ex["image"]].host_paths() if self.images is not None else []
        keep = sorted({"/tmp/" + os.path.relpath(p, "/tmp").split(os.sep)[0] for p in made_of
                       if p.startswith("/tmp/")})
        host_tmp = os.path.join(work, "host-tmp")
        os.makedirs(host_tmp)
        lines = ['mount --bind /tmp "%s"' % host_tmp, 'mount --bind "$1" /tmp', "shift"]
        for k in keep:
            lines.append('mkdir -p "%s" && mount --bind "%s/%s" "%s"' % (k, host_tmp, k[len("/tmp/"):], k))
        lines.append('cd "$WORKDIR" && exec /usr/bin/env -i %s "$@"' % assignments)
        script = " && ".join(lines)
        host_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "WORKDIR": workdir}
        host_env.update({"E%d" % i: v for i, v in enumerate(env.values())})
        proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "c",
                               os.path.join(work, "tmp")] + argv, capture_output=True, text=True, env=host_env)
        state = "SUCCEEDED" if proc.returncode == 0 else "FAILED"
        outs, arts = {}, {}
        if state == "SUCCEEDED":
            for name, p in outputs.get("parameters", {}).items():
                outs[name] = typed(open(files[("parameters", name)]).read(), p["parameterType"])
            for name in outputs.get("artifacts", {}):
                arts[name] = files[("artifacts", name)]
        self.report[path] = {"state": state, "outputs": outs, "log": proc.stdout + proc.stderr, "argv": argv}
        return state, outs, arts


if __name__ == "__main__":
    run = Run(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    print(json.dumps({"tasks": run.report}, indent=1, sort_keys=True))
