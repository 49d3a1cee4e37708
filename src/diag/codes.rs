//! The registry of diagnostic codes: the only place codes are allocated.
//!
//! Codes are never reused; a code that is no longer raised stays listed as
//! `Retired`. `mlpc explain CODE` prints `explain`. Bands: E00xx syntax,
//! E01xx names and imports, E02xx fields and types, E03xx the dependency
//! graph, E04xx Kubernetes/Argo constraints, Wxxxx warnings, E9xxx internal.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Retired { since: &'static str },
}

#[derive(Debug, Clone, Copy)]
pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub explain: &'static str,
}

impl CodeInfo {
    /// What `mlpc explain CODE` prints (and the language server links to).
    pub fn text(&self) -> String {
        format!("{}: {}\n\n{}\n", self.code, self.title, self.explain)
    }
}

/// A code of the registry, e.g. `mlp::E0101`. Only `registry!` makes
/// one, as the constant of the same name (`codes::E0101`), so a diagnostic
/// can name no code that is not listed in [`CODES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(&'static str);

impl Code {
    /// The code as written, e.g. `mlp::E0101`.
    pub const fn as_str(self) -> &'static str {
        self.0
    }

    /// Warnings are the `W` codes; every other code is an error.
    pub fn is_warning(self) -> bool {
        self.0.starts_with("mlp::W")
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Lists every code once: its constant ([`Code`]) and its [`CodeInfo`] in
/// [`CODES`], in the order written.
macro_rules! registry {
    ($($code:ident: $status:expr, $title:literal, $explain:literal;)*) => {
        $(pub const $code: Code = Code(concat!("mlp::", stringify!($code)));)*

        pub const CODES: &[CodeInfo] = &[$(CodeInfo {
            code: concat!("mlp::", stringify!($code)),
            title: $title,
            status: $status,
            explain: $explain,
        }),*];
    };
}

use Status::Active;

/// Finds a code, accepting `mlp::E0101`, `E0101` and `e0101`.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let wanted = code.trim().trim_start_matches("mlp::").to_ascii_uppercase();
    CODES
        .iter()
        .find(|c| c.code.trim_start_matches("mlp::") == wanted)
}

registry! {
    E0001: Active, "syntax error", "\
What it means: the parser met something it did not expect; the message says what would have fit.
Why: mlpc stops at the first syntax error of a file, since what follows cannot be read reliably.
Example:
    train optimizer {
      image = \"trainer:1.0\"
      command = [\"python\" \"train.py\"]   # missing `,` between list items
    }";
    E0002: Active, "unterminated string", "\
What it means: a `\"` string is not closed before the end of its line, or a `\"\"\"` string is never closed.
Why: single-quoted strings never span lines, so the error points at the line where the string starts.
Example:
    image = \"trainer:1.0
Fix: close it (`\"trainer:1.0\"`), or use `\"\"\"...\"\"\"` for text over several lines.";
    E0003: Active, "unknown escape sequence", "\
What it means: a backslash in a string is followed by a character that is not an escape.
The escapes are \\\" \\\\ \\n \\t and \\$ (a literal `$`, not interpolation). In `\"\"\"` strings only \\$ is an escape.
Example:
    command = [\"grep\", \"a\\d\"]     # write \"a\\\\d\"";
    E0004: Active, "invalid number", "\
What it means: a number or unit number cannot be read: it is out of range, or its unit is unknown.
Units are Kubernetes quantity suffixes (m k M G T P E Ki Mi Gi Ti Pi Ei) and durations (s m h d, combinable as 1h30m).
Example:
    memory = 64GB     # write 64Gi or 64G";
    E0005: Active, "nesting too deep", "\
What it means: brackets, braces or parentheses are nested deeper than mlpc's limit (128 levels).
Why: the limit keeps any input from exhausting the compiler's stack; real pipelines nest a few levels.
Fix: flatten the expression or the data.";
    E0006: Active, "file is not valid UTF-8", "\
What it means: the file has bytes that are not UTF-8. `.mlp` files are UTF-8 text.
This is reported with exit code 2, as an input/output problem.
Fix: re-save the file as UTF-8.";
    E0007: Active, "NUL byte in file", "\
What it means: the file contains a NUL (0x00) byte, which never belongs in program text.
Fix: remove it; check that a binary file was not passed by mistake.";
    E0008: Active, "import after an item", "\
What it means: an `import` line comes after a `pipeline` or `template`.
Why: a file holds its imports first, then its items, so a reader sees all dependencies at the top.
Fix: move the import to the top of the file.";
    E0101: Active, "unknown name", "\
What it means: a reference names no pipeline parameter, template input, stage or built-in.
In a pipeline, a bare name is a parameter; `STAGE.OUTPUT` is a stage output; `run.name`, `run.uid`,
`run.namespace` and `run.pod` describe the run; `item` is the current element of `for_each`.
Example:
    param lr: float = 0.01
    ... command = [\"train\", \"--lr=${learning_rate}\"]   # did you mean `lr`?";
    E0102: Active, "reserved name", "\
What it means: a stage, parameter, template, input, output or alias is named with a reserved word.
Reserved: import as pipeline template param input output uses when true false, `run` and `item`.
The stage kinds (prep train register deploy job) are keywords only where a kind is expected:
`train train { ... }` declares a train stage named `train`.
Fix: pick another name.";
    E0103: Active, "defined twice", "\
What it means: two stages, parameters, templates, inputs, outputs, fields or map keys share a name in one scope.
Example:
    prep features { ... }
    prep features { ... }   # rename one";
    E0104: Active, "names collide in Kubernetes", "\
What it means: two names differ in the program but become the same Kubernetes (DNS-1123) name:
names are lowercased and `_` becomes `-`, so `train_a` and `train-a`... or `Prep` and `prep` collide.
Why: Argo task, template and parameter names must be unique.
Fix: rename one of them. Both places are reported.";
    E0105: Active, "unknown module", "\
What it means: `import std.NAME` names no module of the standard library, or the import is neither
`std.NAME` nor a quoted file path.
The standard library has: std.terraform.";
    E0106: Active, "import not found", "\
What it means: a file import (`import \"path.mlp\"`) cannot be read. Paths are relative to the importing file.";
    E0107: Active, "import cycle", "\
What it means: files import each other in a loop (a.mlp imports b.mlp, which imports a.mlp).
Fix: move the shared templates into a third file that both import.";
    E0108: Active, "unknown template", "\
What it means: `uses` names no template. Templates of an import are named `ALIAS.TEMPLATE`
(the alias defaults to the module's last name); templates of the same file by their bare name.
Example:
    import std.terraform
    job plan uses terraform.plan { ... }";
    E0109: Active, "unknown stage output", "\
What it means: `STAGE.OUTPUT` names an output the stage does not have.
Stages have their declared `output`s and built-ins: tracked stages `run_id`; tracked `train` stages `model`
and `metrics.NAME`; `register` stages `version` and `model_uri`; `deploy` stages `url`.
A `train` stage with `track = false` has no built-ins.";
    E0110: Active, "`item` outside for_each", "\
What it means: `item` (the current element of a fan-out) is used in a stage without `for_each`.
Example:
    train sweep {
      for_each = [0.1, 0.01]
      command = [\"train\", \"--lr=${item}\"]
    }";
    E0111: Active, "undeclared metric", "\
What it means: `STAGE.metrics.NAME` names a metric the train stage does not list in `metrics`.
Why: only declared metrics are read back from MLflow for `when` conditions.
Fix: add the name to the stage's `metrics = [...]`.";
    E0112: Active, "stage used as a value", "\
What it means: a stage name is used where a value is needed. Stages are not values; their outputs are.
Fix: name an output, e.g. `features.data` or `optimizer.model`, or list the stage in `after` to wait for it.";
    E0113: Active, "v2 keyword used as a name", "\
What it means: a stage, parameter, group, template, input, output or alias is named `group`, `finally`,
`volume` or `sidecar`, which contract v2 made keywords (groups, `finally`, run volumes, sidecars).
Migrating a v1 program: rename the stage or parameter and every reference to it.
Example:
    prep group { ... }          # v1 allowed this
    prep group_rows { ... }     # v2: rename it";
    E0114: Active, "item of a loop that does not hold the reference", "\
What it means: `GROUP.item` names the item of a group that does not hold the stage (or is no loop).
`item` is the innermost loop's item; `GROUP.item` is an *enclosing* loop group's item. Another loop's
items exist once per item of that loop, so outside it there is no single one to read.
Example:
    group outer { for_each = [1, 2]
      group inner { for_each = [\"a\", \"b\"]
        prep p { command = [\"run\", \"${outer.item}\", \"${item}\"] }   # fine
      }
    }
    prep q { command = [\"run\", \"${outer.item}\"] }   # E0114: q is outside `outer`
Fix: read the loop's outputs instead (outside a loop they are the list of every item's value).";
    E0115: Active, "`run.status` outside finally", "\
What it means: `run.status` or `run.failures` is read outside `finally { ... }`.
Why: they describe how the run ended (Argo's `workflow.status` and `workflow.failures`), which is known
only in the exit handler that `finally` becomes.
Fix: move the stage into `finally`.";
    E0116: Active, "reference across `finally`", "\
What it means: a stage in `finally` reads an output of (or waits for) a stage outside it, or the reverse.
Why: `finally` runs after the run has ended however it ended; a main stage may have failed or never
run, so its outputs may not exist. Main stages cannot wait for `finally`, which runs after them all.
Fix: pass what `finally` needs through parameters or `run.*` (`run.status`, `run.failures`, `run.uid`),
or read results from MLflow or storage.";
    E0117: Active, "group template output names no member output", "\
What it means: an `output NAME: TYPE = MEMBER.OUT` of a `template group` names something that is not an
output (or `metrics.NAME`) of one of the template's stages.
Why: outside a use of the template only its declared outputs are visible (`a.auc`); each must be a
member's output, which the shared DAG template passes out.
Example:
    template group train_and_check {
      prep check { ... output auc: float = \"/tmp/auc\" }
      output auc: float = check.accuracy     # E0117: `check` has no output `accuracy`
    }";
    E0201: Active, "unknown field", "\
What it means: a stage, template, block or pipeline sets a field that does not exist there.
The message names the context and suggests the closest field. In a stage that `uses` a template,
an assignment is either one of the template's inputs or a stage field.";
    E0202: Active, "missing required field", "\
What it means: a required field is not set. Container stages need `image` (unless their template sets it);
`register` needs `model` and `name`; `deploy` needs `model` and `service`; `mlflow` needs `tracking_uri`
and `experiment`; `volumes` entries need `claim` and `path`.";
    E0203: Active, "mutually exclusive fields", "\
What it means: two fields that cannot be combined are both set, e.g. `script` and `command`
(a script is run by `shell`; a command is run as is).
Fix: keep one of them.";
    E0204: Active, "type mismatch", "\
What it means: a value's type does not fit where it is used: a string where an int is needed, a list
where a map is needed, a parameter of the wrong type for a template input, and so on.";
    E0205: Active, "wrong kind of unit", "\
What it means: a field that takes a duration got a quantity, or the other way round, or a bare number
where a unit is needed. `m` is millicores in quantities (`500m`) and minutes in durations (`10m`): the field decides.
Durations: timeout, retries.backoff, retries.max, cache, await_ready, ttl_after_finished.
Quantities: cpu, memory, ephemeral_storage and their limits.
Example:
    timeout = 64Gi     # a quantity; write e.g. 2h";
    E0206: Active, "field not available for this stage kind", "\
What it means: a field that belongs to another stage kind is set, e.g. `metrics` on a `prep` stage,
or `command` on a `register` stage (register and deploy run steps that mlpc generates).";
    E0207: Active, "stage and template kinds differ", "\
What it means: a stage `uses` a template of another kind, e.g. `train x uses terraform.plan` where `plan` is a `job` template.
Fix: declare the stage with the template's kind.";
    E0208: Active, "missing template input", "\
What it means: a stage that `uses` a template does not supply an input that has no default.
Example:
    job plan uses terraform.plan { }     # needs `repo = ...`";
    E0209: Active, "entry not allowed here", "\
What it means: a declaration or block appears where it has no meaning: `param` outside a pipeline,
`input` outside a template, a stage inside a stage or template, `when` in a pipeline body, and so on.";
    E0210: Active, "tracked stage without mlflow", "\
What it means: a stage is tracked (every `train` stage unless `track = false`, or any stage with `track = true`)
but the pipeline has no `mlflow { tracking_uri, experiment }` block to track it with.";
    E0211: Active, "invalid tracking URI", "\
What it means: `mlflow.tracking_uri` is not an http(s) URL, or it carries credentials (`https://user:pass@host`).
Why: credentials in the URI would be written into the workflow YAML in clear text.
Fix: put them in a Kubernetes Secret and write `credentials = secret(\"NAME\")`.";
    E0212: Active, "register without a trained model", "\
What it means: a `register` stage's `model` is not a `train` stage's `model` output (or a model URI string).
Example:
    register best { model = optimizer.model, name = \"terraform-optimizer\" }";
    E0213: Active, "deploy without a registered version", "\
What it means: a `deploy` stage's `model` is not a `register` stage's `version` or `model_uri`
(or a \"models:/NAME/VERSION\" string).
Example:
    deploy serve { model = best.version, service = \"optimizer\" }";
    E0214: Active, "invalid cron schedule", "\
What it means: `schedule` is not a valid five-field cron expression (minute hour day-of-month month day-of-week),
or one of the `@hourly`-style macros Argo accepts.
Example:
    schedule = \"0 3 * * 1-5\"";
    E0215: Active, "Argo template syntax in a string", "\
What it means: a string contains `{{`, which Argo would evaluate as a template expression at run time.
Why: the program would mean something other than what it says.
Fix: use `${run.name}`, `${run.uid}`, `${run.namespace}`, `${run.pod}` and parameters instead.";
    E0216: Active, "invalid value", "\
What it means: a value has the right type but is not allowed: a negative count, a canary percent over 100,
an unknown retry policy or image pull policy, an empty list where items are needed, and so on.";
    E0217: Active, "unknown type", "\
What it means: a declaration names a type that does not exist.
Value types: string int float bool duration quantity list[T] map. Artifact types: dataset model file dir artifact.";
    E0218: Active, "artifact where a value is needed, or the reverse", "\
What it means: an artifact (a file or folder in the artifact repository) is used where a value is needed,
or a value where an artifact is needed, e.g. a `file` output passed to a `string` template input.
Artifacts may be passed in `command`, `args`, `env`, `script` and string interpolation, where they become
the path at which the consuming container finds them.";
    E0219: Active, "invalid secret()", "\
What it means: `secret(...)` has the wrong arguments or is used where no secret can go.
`env { TOKEN = secret(\"NAME\", \"KEY\") }` reads one key of a Kubernetes Secret; `mlflow.credentials = secret(\"NAME\")`
names a Secret with `username`/`password` or `token` keys. Names are literal strings.";
    E0220: Active, "unknown function", "\
What it means: a call names a function that does not exist, or one used where it does not belong.
Functions: `secret(\"NAME\", \"KEY\")` in `env` and `mlflow.credentials`; `len`, `max`, `min` and `sum`
of a list in `when` (contract v2).";
    E0221: Active, "invalid when condition", "\
What it means: a `when` condition does not type-check: it is not a boolean, compares values of different
types, or compares something that is not a value (a list, an artifact).
Example:
    when optimizer.metrics.cost_reduction >= 0.10 && deploy_enabled";
    E0222: Active, "invalid output path", "\
What it means: an `output` path is not an absolute path in the container (it must start with `/`),
or is interpolated, or points at `/mlflow` (reserved for tracking).";
    E0223: Active, "template input named like a field", "\
What it means: a template input has the name of a stage field (e.g. `input image: string`).
A stage that uses the template could not tell whether `image = ...` supplies the input or overrides the field.";
    E0224: Active, "unknown stage kind", "\
What it means: a stage or template is declared with a kind that does not exist.
Kinds: prep, train, register, deploy, job.";
    E0225: Active, "loop output that cannot be collected", "\
What it means: a reference outside a loop (a `for_each` stage, or a member of a `for_each` group) reads
an output that cannot be collected (fan-in, contract v2 9.2): a `model` (read the loop's `run_id`s
instead), a value inside two or more loops at once (collect one loop at a time), the metrics of a
`for_each` stage (put it in a loop group), or an artifact made by a loop inside a group template (every
use shares the template's DAG, so the items' artifacts would share one place).
What is collected: value outputs and metrics of one loop (outside it, `fit.score` is the `list[float]` of
every item's value, in item order), and artifacts (outside the loop, `fit.report` is a `dir` with one
entry per item, named by the item's index: `0`, `1`, ...).
Fix: read a value output, or wait for the loop with `after = [LOOP]` and read the results from MLflow or
shared storage.";
    E0226: Active, "value needed at compile time", "\
What it means: a field that Argo or Kubernetes reads as a fixed number or quantity is given a parameter,
a stage output or `item`, whose value exists only when the workflow runs.
Why: Argo substitutes `{{...}}` only where the field is a string at run time; elsewhere the value
would be dropped or rejected at submission (quantities must match Kubernetes' pattern).
Fields that take run-time values: a stage's `timeout`, `retries` (and `limit`, `backoff`, `factor`, `max`),
`cache = DURATION`, `await_ready`, and every string field.
Fields that need a literal: the pipeline's `parallelism`, `timeout`, `ttl_after_finished`,
`executor_service_account` and `deploy_service_account` (Roles name them before any run); a stage's
`parallelism`; `resources` (cpu, memory, gpu, ephemeral_storage, limits); `cache = true|false`;
`min_replicas`, `max_replicas` and `canary` of a deploy stage; `toleration_seconds`.
Example:
    param cpus: quantity = 4
    train t { resources { cpu = cpus } }     # write cpu = 4";
    E0227: Active, "unknown key of for_each items", "\
What it means: `item.KEY` names a key that is missing from some or all of the stage's literal
`for_each` items, or the items are not maps.
Why: Argo substitutes `{{item.KEY}}` per item; a missing key fails the step at run time.
Example:
    for_each = [{ inner = 1 }, { inner = 2 }]
    command = [\"echo\", \"${item.innr}\"]     # did you mean `item.inner`?";
    E0228: Active, "output named like a built-in output", "\
What it means: a stage declares an `output` with the name of one of its built-in outputs, e.g.
`output run_id` on a tracked stage (tracked stages have `run_id`; tracked train stages also `model`).
Why: the step would have two outputs of one name; Argo keeps one of them.
Fix: rename the output, or use the built-in.";
    E0229: Active, "run-time value in inline code", "\
What it means: a parameter, stage output or `item` is written into code that an interpreter other than a
shell runs: `python -c`, `node -e`, `perl -e`, `ruby -e`, `Rscript -e`, `php -r`, or a `script` whose
`shell` is not a shell (e.g. `shell = \"python3\"`).
Why: Argo substitutes `{{...}}` as text, so the value would become part of the program: a value holding
a quote could run anything. In a shell script mlpc passes values through the environment (`${MLP_V_n}`),
which a shell expands as data; other languages do not read `${...}`.
Fix: pass the value through the environment and read it there:
    env { THRESHOLD = threshold }
    command = [\"python\", \"-c\", \"import os; print(float(os.environ['THRESHOLD']))\"]";
    E0230: Active, "image not pinned by digest", "\
What it means: with `--require-digests`, an image (a stage's, a template's, `defaults`' or `mlflow.image`)
is not written as `NAME@sha256:DIGEST`.
Why: a tag can be moved to other code; a digest names exactly one image, so every run, retry and cached
step runs the same code. The policy turns W0202's advice into a rule for tagged images too.
Example:
    image = \"ghcr.io/acme/trainer:1.4.2@sha256:0123...cdef\"";
    E0231: Active, "groups nested too deep", "\
What it means: groups hold one another more than 8 deep.
Why: each group is an Argo DAG template called from its parent's; deep nesting is hard to read and to
debug in the Argo UI, and the limit keeps every pass far from its stack limits.
Fix: flatten the groups, or move a part into a separate pipeline.";
    E0232: Active, "list function on the wrong type", "\
What it means: `len`, `max`, `min` or `sum` in a `when` is given something that is not a list, or
`max`/`min`/`sum` a list of something other than numbers.
`len(x)` takes any list; `max`, `min` and `sum` take `list[int]` or `list[float]`, such as the fan-in of
a numeric output or a metric of a loop (`max(fit.metrics.auc)`).
Example:
    when max(fit.label) > 0      # fit.label is list[string]: E0232";
    E0233: Active, "volume entry of no or several kinds", "\
What it means: an entry of a stage's `volumes` mounts no volume, or more than one: each entry has
exactly one of `claim` (an existing PersistentVolumeClaim), `volume` (a run volume of the pipeline),
`config_map`, `secret` or `empty_dir`, plus `path` (and optionally `read_only`, `sub_path`; `memory`
only with `empty_dir`).
Example:
    volumes = [{ config_map = \"settings\", secret = \"tokens\", path = \"/etc/app\" }]   # two kinds
Fix: one entry per volume, each at its own path.";
    E0234: Active, "unknown run volume", "\
What it means: `{ volume = NAME, path = ... }` names no `volume NAME { ... }` of the pipeline.
Run volumes are PersistentVolumeClaims made for each run (Argo's `volumeClaimTemplates`); declare
one at the top of the pipeline:
    volume data { size = 10Gi }
    prep load { ...  volumes = [{ volume = data, path = \"/data\" }] }
To mount a claim that already exists, write `{ claim = \"pvc-name\", path = ... }`.";
    E0235: Active, "two mounts at one path", "\
What it means: two volumes of a stage (after `defaults` and its template are merged in) mount at the
same path, or a volume mounts where mlpc or Argo mounts its own: `/mlflow` and `/mlflow-ca` (the
MLflow tracking files and CA bundle of a tracked stage), `/var/run/argo` (Argo's executor, in every
container), or `/dev/shm` when the stage sets `shm`. Kubernetes rejects a pod with two mounts at
one path (`mountPath must be unique`), so the step would never start.
Fix: give each volume its own path.";
    E0236: Active, "container name taken", "\
What it means: a `sidecar NAME { ... }` is named like a container the pod already has: `main` (the
stage's own), `wait` and `init` (Argo's), `mlflow-init` and `mlflow-finalize` (MLflow tracking).
Kubernetes rejects a pod with two containers of one name.
Fix: rename the sidecar.";
    E0237: Active, "no form in a distributed stage's job", "\
What it means: a `train` stage with `distributed { ... }` runs as a Kubeflow Trainer `TrainJob` (or,
with `api = \"pytorchjob\"`, a Training Operator `PyTorchJob`), not as a pod of the workflow, and the
job has no field for something the stage sets. A TrainJob (Trainer v2.3) has no `env_from`,
`image_pull_policy` or `priority_class` for its nodes; neither job has user `sidecars` (a sidecar
that never exits keeps a node Running, so the job never completes) or `cache` (Argo memoizes pods,
not jobs); a PyTorchJob has no `runtime`. Declared `output`s are not available either: the nodes
share no file with the workflow (§9.6).
Example:
    train fit { ...  env_from = [secret(\"keys\")]  distributed { nodes = 4 } }   # TrainJob: E0237
Fix: follow the help: log results to MLflow and read `fit.metrics.NAME` or `fit.model`; set each
variable in `env` (`secret(\"NAME\", \"KEY\")`); or use `api = \"pytorchjob\"`, whose pod templates
have `envFrom`, `imagePullPolicy` and `priorityClassName`.";
    E0238: Active, "value the training nodes cannot receive", "\
What it means: a distributed stage's `command`, `args`, `env`, `script` or `params` reads an
artifact (a file another stage made, or a collected `dir`), or `run.pod`, or its `volumes` mount a
run volume without `keep = true`. Artifacts are files Argo copies into a step's pod; the training
job's nodes are other pods, made by the training operator, so no file reaches them. `run.pod` would
name the Argo step that creates the job, not a node. A run volume without `keep` is a claim Argo
names when the run starts, which the job's manifest cannot name.
Fix: pass a location instead (an output holding an `s3://...` URI, or a path in a claim every node
mounts), read `RANK`/`PET_NODE_RANK` for a node's identity, and declare the run volume with
`keep = true` (its claim is then `<workflow>-<volume>`).";
    E0239: Active, "environment variable reserved by the training runtime", "\
What it means: a distributed stage's `env` sets one of `PET_NNODES`, `PET_NPROC_PER_NODE`,
`PET_NODE_RANK`, `PET_MASTER_ADDR` or `PET_MASTER_PORT`. The runtime's launcher (torchrun) reads
them, and Kubeflow Trainer sets them on every node from `distributed.nodes` and the GPUs per node; its
webhook rejects a TrainJob that sets them when `numProcPerNode` is set, and otherwise overwrites them
(`pkg/runtime/framework/plugins/torch`): a value written here would never reach torchrun. The
Training Operator sets them on a PyTorchJob's pods too.
Fix: remove the variable; run `torchrun train.py` (or `python train.py`) without rendezvous flags.";
    E0240: Active, "training runtime Argo cannot wait on", "\
What it means: `distributed.runtime` names one of Kubeflow Trainer's runtimes with several replicated
jobs (`deepspeed-distributed`, `mlx-distributed`, `torchtune-...`, `...-with-cache`). Argo waits for a job with a
condition over fixed paths of its status; with several replicated jobs the order of
`status.jobsStatus` is not fixed, and a TrainJob's `Complete` condition moves behind `Suspended` under
Kueue, so no condition Argo can read says such a job succeeded.
Fix: use `torch-distributed` (the default) or a runtime of your own with one replicated job `node`.
A runtime of your own that has more is not known to mlpc: its step never succeeds before `node` has,
and may wait until its deadline.";
    E0301: Active, "dependency cycle", "\
What it means: stages depend on each other in a loop, through references or `after`.
Each edge of the cycle is labelled; the message gives the path.
Fix: remove one dependency.";
    E0401: Active, "invalid Kubernetes name", "\
What it means: a name does not lower to a valid DNS-1123 name (lowercase letters, digits and `-`,
starting and ending with a letter or digit, at most 63 characters; pipeline names at most 52 so that
Argo's generated suffixes fit).";
    E0402: Active, "invalid label or annotation", "\
What it means: a label or annotation key, or a label value, is not valid for Kubernetes.
Keys: an optional DNS prefix and `/`, then a name of at most 63 characters of [A-Za-z0-9-_.] that starts and
ends alphanumeric. Label values: at most 63 such characters, or empty.";
    E0403: Active, "namespace not known at compile time", "\
What it means: `mlpc rbac` cannot write a Role for a namespace that is a parameter: a deploy stage's
`namespace`, or the pipeline's, is known only when the workflow runs. A deploy stage that deploys into
another namespace than the workflow's also needs the pipeline's `namespace`: the RoleBinding there
names the deploy account, which lives in the workflow's namespace.
Why: a Role and its RoleBinding are objects of one namespace, created before the workflow runs.
Fix: write the namespace as a literal (`namespace = \"serving\"`), or leave a deploy stage's out to
deploy into the workflow's namespace. `mlpc compile` accepts such pipelines; only `mlpc rbac` raises this.";
    E0404: Active, "training job name too long", "\
What it means: a distributed stage's job is named after the stage (`<stage>-` plus five characters
the API server adds), and its JobSet names each pod `<job>-node-0-<index>-<suffix>`, which must be a
DNS label of at most 63 characters. For up to 10 nodes the stage's name may have 42 characters, up to
100 nodes 41 (JobSet's webhook, DISTRIBUTED.md). A longer name is rejected by JobSet's webhook; the
TrainJob then never gets a condition and the step waits until its deadline (kubeflow/trainer#3671).
Fix: rename the stage.";
    E0501: Active, "no Kubeflow Pipelines form", "\
What it means: with `--target kfp`, the pipeline uses something the Kubeflow Pipelines v2 IR cannot
say. The message names it and the help says what to do instead. The IR and its Kubernetes platform
config (kfp-kubernetes) have no schedule, namespace or service account (a run gets them when it is
created), no run-wide pod limit, no sidecars or init containers, no ephemeral-storage requests, no
retry policy other than retrying failures, no cache expiry, no read-only claim mounts, and numbers
(retries, timeouts, loop limits) that must be literals. KFP runs a task only when every task it
waits for succeeded (`after` on a stage that may be skipped), never deletes a claim it did not
delete in a step (a kept run volume), always sets a claim's storage class (a run volume without
`storage_class`), and would reuse a cached stage's outputs under a new, empty MLflow run
(`cache = true` on a tracked stage).
Why: KFP stores these as numbers and names in the IR, or as fields of the run made through its API;
mlpc never drops a field silently.
Fix: follow the help (e.g. a schedule becomes a KFP Recurring Run of the uploaded pipeline), or
compile the pipeline for Argo (`--target argo`, the default), which has every form.";
    E0502: Active, "not compiled for Kubeflow Pipelines yet", "\
What it means: with `--target kfp`, the pipeline uses a construct that the Kubeflow Pipelines IR can
express but mlpc's KFP backend does not write yet: an artifact collected out of a loop over a
run-time list or out of nested loops, the models of a loop's runs collected into a list, `sum(...)`
or a model's URI in a `when`, a group template's literal input in a group's own `when`, a claim
named at run time, a `train` stage's `distributed` block (KFP v2 has no resource step to create and
wait for a TrainJob: kubeflow/pipelines#11636).
Fix: compile the pipeline for Argo (`--target argo`, the default). Kubeflow Pipelines 2.x also runs
an uploaded Argo Workflow as a v1 pipeline.";
    W0201: Active, "deploy without artifact_store", "\
What it means: a `deploy` stage is compiled but the `mlflow` block has no `artifact_store`.
Why: the registry returns `mlflow-artifacts:/` URIs that KServe cannot read; with `artifact_store` (the tracking
server's --artifacts-destination, e.g. s3://mlflow-artifacts) mlpc maps them to a storage URI KServe can read.";
    W0202: Active, "unpinned image", "\
What it means: an image has no tag, or the tag `latest`, and no digest.
Why: the image behind `latest` changes; a re-run, a retry or a cached step may then run different code,
and nodes may have different versions cached (with image_pull_policy IfNotPresent).
Fix: use a version tag (`trainer:1.4.2`) or a digest (`trainer@sha256:...`).";
    W0203: Active, "container stage without a command", "\
What it means: a `prep`, `train` or `job` stage sets neither `command` nor `script`, so the container runs
the image's own entrypoint.
Why: Argo's executor must know the entrypoint to run it; the controller then looks the image up in its
registry, which fails for private images it has no pull access to (and costs a registry call per pod).
Fix: spell out the command: `command = [\"python\", \"train.py\"]`.";
    W0204: Active, "unknown GPU type", "\
What it means: `resources.gpu_type` is not spelled like the node labels a cluster puts on GPU nodes.
mlpc writes GKE's accelerator names (`nvidia-tesla-t4`, `nvidia-l4`, `nvidia-a100-80gb`, ...) as the node
selector `cloud.google.com/gke-accelerator`, and NVIDIA GPU Feature Discovery product names (`Tesla-T4`,
`NVIDIA-A100-SXM4-80GB`, `NVIDIA-H100-80GB-HBM3`, ...) as `nvidia.com/gpu.product`.
Why: a selector no node carries leaves the pod Pending forever.
Fix: use the value your nodes carry (`kubectl get nodes -L nvidia.com/gpu.product`), or set `node_selector` yourself.";
    W0205: Active, "identity chosen at run time", "\
What it means: `image`, `service_account` or a volume's `claim` is a parameter, a stage output or `item`.
Why: whoever submits the workflow then chooses the code that runs, or the identity it runs with, and that
code gets the pipeline's Secrets and MLflow credentials. Users allowed only to submit a WorkflowTemplate
(`argo submit --from`, `-p`) could run any image with them.
Fix: write the value as a literal; `mlflow.image` must be one (E0226).";
    W0206: Active, "credentials over plain http", "\
What it means: the pipeline's `mlflow` block has `credentials` and a `tracking_uri` with `http://` to a host
outside the cluster.
Why: the token or password travels unencrypted to that host.
Fix: use `https://`. An in-cluster service (`mlflow`, `mlflow.ns`, `mlflow.ns.svc`, `...svc.cluster.local`)
may use http. With `--deny-warnings` this fails the run.";
    W0207: Active, "credentials in a URL", "\
What it means: a string holds a URL with credentials (`https://user:password@host/...`).
Why: it is written into the workflow in clear text, visible to anyone who can read workflows.
Fix: keep the credentials in a Secret and pass them through `env { TOKEN = secret(\"NAME\", \"KEY\") }`.";
    W0208: Active, "run volume never mounted", "\
What it means: a pipeline declares `volume NAME { ... }` and no stage mounts it. Each run would still
create (and delete) a PersistentVolumeClaim, and with a storage class that binds at once, a disk.
Fix: mount it (`volumes = [{ volume = NAME, path = \"/data\" }]`) or remove it.";
    W0209: Active, "single-node volume shared by pods that may run at once", "\
What it means: a run volume with `access = \"ReadWriteOnce\"` (the default) or `\"ReadWriteOncePod\"`
is mounted by pods that may run at the same time: two stages with no dependency path between them,
a `for_each` stage or a loop group's members (items run in parallel), a distributed stage on more
than one node (each node is a pod); a stage beside its own user sidecars is fine (one pod).
Why: a ReadWriteOnce volume attaches to one node at a time. Pods scheduled on another node wait in
`ContainerCreating` (Multi-Attach error) until the first pod ends, and a ReadWriteOncePod volume
admits one pod at all. The run still finishes on a single-node cluster, but slower or not at all on a
real one.
Fix: order the stages (`after`), set `parallelism = 1` on the loop, or use `access = \"ReadWriteMany\"`
with a storage class that supports it (NFS, CephFS, EFS, Filestore).";
    W0210: Active, "distributed stage without timeout", "\
What it means: a `train` stage with `distributed { ... }` has no `timeout`.
Why: a training job that never starts (no free GPUs, a runtime that is not installed, a JobSet the
cluster rejects) gets no condition, and the step creating it waits until its deadline. Without
`timeout` mlpc gives the job 23 hours (`activeDeadlineSeconds`) and the step 24.
Fix: set `timeout = 12h` (how long one try may train); the step waits one hour more.";
    W0401: Active, "workflow larger than 1 MiB", "\
What it means: `mlpc compile` produced a workflow document larger than 1 MiB.
Why: Argo keeps workflows in etcd, which rejects objects over about 1.5 MiB (and Argo's node status grows
as the workflow runs), so a document this size may fail at submission or later.
Fix: make repeated stages `uses` one template (they then share one Argo template; each tracked stage
written out adds about 2 KB for its MLflow init container and sidecar), or split the pipeline.
Raised by `mlpc compile`, which is the step that produces the YAML.";
    E9001: Active, "internal compiler error", "\
What it means: mlpc hit a state it should never reach. This is a bug in mlpc, not in your file.
Please report it with the input that triggers it.";
}
