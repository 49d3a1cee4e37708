//! What fields exist where: stage fields per kind, pipeline settings, and
//! the nested blocks. The checker is driven by these tables.

use serde::Serialize;

use super::types::Ty;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum StageKind {
    Prep,
    Train,
    Register,
    Deploy,
    Job,
}

/// The stage kinds' names, in the order diagnostics list them.
pub const STAGE_KINDS: &[&str] = &[
    StageKind::Prep.name(),
    StageKind::Train.name(),
    StageKind::Register.name(),
    StageKind::Deploy.name(),
    StageKind::Job.name(),
];

impl StageKind {
    /// Every kind, in the order of [`STAGE_KINDS`].
    pub const ALL: [StageKind; 5] = [
        StageKind::Prep,
        StageKind::Train,
        StageKind::Register,
        StageKind::Deploy,
        StageKind::Job,
    ];

    pub fn from_name(name: &str) -> Option<StageKind> {
        StageKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind as a program writes it; the one spelling of each kind.
    pub const fn name(self) -> &'static str {
        match self {
            StageKind::Prep => "prep",
            StageKind::Train => "train",
            StageKind::Register => "register",
            StageKind::Deploy => "deploy",
            StageKind::Job => "job",
        }
    }

    fn bit(self) -> Kinds {
        match self {
            StageKind::Prep => PREP,
            StageKind::Train => TRAIN,
            StageKind::Register => REGISTER,
            StageKind::Deploy => DEPLOY,
            StageKind::Job => JOB,
        }
    }

    /// Stages that run the user's container (register and deploy run steps
    /// that mlpc generates).
    pub fn runs_user_container(self) -> bool {
        CONTAINER & self.bit() != 0
    }
}

/// A set of stage kinds, as bits.
pub type Kinds = u8;
pub const PREP: Kinds = 1;
pub const TRAIN: Kinds = 2;
pub const REGISTER: Kinds = 4;
pub const DEPLOY: Kinds = 8;
pub const JOB: Kinds = 16;
pub const CONTAINER: Kinds = PREP | TRAIN | JOB;
pub const ALL: Kinds = CONTAINER | REGISTER | DEPLOY;

pub fn kinds_names(kinds: Kinds) -> String {
    let names: Vec<String> = StageKind::ALL
        .into_iter()
        .filter(|k| kinds & k.bit() != 0)
        .map(|k| format!("`{}`", k.name()))
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {}", init.join(", "), last),
    }
}

/// How a metadata map's keys and values are validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    Labels,
    Annotations,
    /// Node selectors, registry tags: any string keys and values.
    Plain,
}

#[derive(Debug, Clone, Copy)]
pub enum FieldTy {
    /// A string value (scalars become strings; artifacts are not allowed).
    Str,
    /// A script: a string in which artifacts pass their path.
    Script,
    Int {
        min: i64,
        max: i64,
    },
    Number {
        min: f64,
    },
    Bool,
    Duration,
    Quantity,
    /// `command`, `args`: a list of values; artifacts pass their path.
    Args,
    /// `metrics`: a list of metric names.
    Names,
    /// A list of literal strings.
    StrList,
    /// `after`: stage names.
    After,
    StrMap(MapKind),
    /// `params`: names to values.
    Params,
    /// `env`: names to values or `secret("name", "key")`.
    Env,
    Block(&'static [FieldSpec]),
    /// `retries = N` or a `retries { ... }` block.
    Retries,
    /// `cache = true | false | DURATION`.
    Cache,
    /// `for_each = LIST | REF`.
    ForEach,
    /// A list of maps, each checked against the specs.
    Records(&'static [FieldSpec]),
    Enum(&'static [&'static str]),
    RegisterModel,
    DeployModel,
    /// `credentials = secret("name")`.
    Credentials,
    /// `ca_bundle = config_map("name", "key")` or `secret("name", "key")`:
    /// the PEM file of a private certificate authority.
    CaBundle,
    Cron,
    TrackingUri,
    /// An absolute path in the container.
    Path,
    /// `volumes`: a list of mounts, each of one kind (`claim`, `volume`,
    /// `config_map`, `secret`, `empty_dir`).
    Volumes,
    /// `volume = NAME`: a run volume of the pipeline, by its name.
    VolumeName,
    /// A literal name of a Kubernetes object (a DNS-1123 subdomain).
    ObjectName,
    /// `empty_dir = true | SIZE`.
    EmptyDir,
    /// `env_from = [config_map("name"), secret("name")]`.
    EnvFrom,
    /// `require`/`prefer` of `affinity`: node label keys to lists of values.
    NodeTerms,
    /// `ports = [5432]`: container ports.
    Ports,
    /// A stage's `sidecar NAME { ... }` blocks (written as blocks, never
    /// as a field).
    Sidecars,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: FieldTy,
    pub kinds: Kinds,
    pub required: bool,
    /// The value must be a literal: Argo or Kubernetes reads the field as a
    /// number or quantity, where no `{{...}}` can be substituted at run time.
    pub fixed: bool,
    /// What the field does, for a reader: the language server's hover.
    pub doc: &'static str,
}

impl FieldSpec {
    /// The same field, with its documentation.
    const fn doc(self, doc: &'static str) -> FieldSpec {
        FieldSpec { doc, ..self }
    }
}

const fn f(name: &'static str, ty: FieldTy, kinds: Kinds) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        kinds,
        required: false,
        fixed: false,
        doc: "",
    }
}

const fn req(name: &'static str, ty: FieldTy) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        kinds: ALL,
        required: true,
        fixed: false,
        doc: "",
    }
}

const fn any(name: &'static str, ty: FieldTy) -> FieldSpec {
    f(name, ty, ALL)
}

/// A field whose value must be known at compile time (see `FieldSpec::fixed`).
const fn fixed(spec: FieldSpec) -> FieldSpec {
    FieldSpec {
        fixed: true,
        ..spec
    }
}

const NON_NEGATIVE: FieldTy = FieldTy::Int {
    min: 0,
    max: i64::MAX,
};
const POSITIVE: FieldTy = FieldTy::Int {
    min: 1,
    max: i64::MAX,
};

pub const RETRY_POLICIES: &[&str] = &["Always", "OnFailure", "OnError", "OnTransientError"];
pub const PULL_POLICIES: &[&str] = &["Always", "IfNotPresent", "Never"];
/// `restricted`: the Kubernetes Pod Security "restricted" standard;
/// `default`: the cluster's defaults.
pub const SECURITY_PROFILES: &[&str] = &["restricted", "default"];

pub const LIMITS: &[FieldSpec] = &[
    fixed(any("cpu", FieldTy::Quantity))
        .doc("The most CPU the container may use (`2`, `500m`); it is throttled above it."),
    fixed(any("memory", FieldTy::Quantity))
        .doc("The most memory the container may use (`48Gi`); it is killed (OOMKilled) above it."),
    fixed(any("gpu", NON_NEGATIVE)).doc("GPUs, as a limit (Kubernetes sets GPUs as limits only)."),
    fixed(any("ephemeral_storage", FieldTy::Quantity))
        .doc("The most local disk the container may write (`20Gi`); it is evicted above it."),
];

pub const RESOURCES: &[FieldSpec] = &[
    fixed(any("cpu", FieldTy::Quantity)).doc(
        "CPU requested for the container (`4`, `500m`): the scheduler places the pod on a \
         node that has it.",
    ),
    fixed(any("memory", FieldTy::Quantity)).doc("Memory requested for the container (`16Gi`)."),
    fixed(any("gpu", NON_NEGATIVE)).doc("NVIDIA GPUs (`nvidia.com/gpu`), set as a limit."),
    any("gpu_type", FieldTy::Str).doc(
        "The GPU model, as node labels spell it: GKE's accelerator names \
         (`nvidia-tesla-t4`) select on `cloud.google.com/gke-accelerator`, NVIDIA GPU \
         Feature Discovery names (`NVIDIA-A100-SXM4-80GB`) on `nvidia.com/gpu.product`.",
    ),
    fixed(any("ephemeral_storage", FieldTy::Quantity))
        .doc("Local disk requested for the container (`20Gi`)."),
    any("limits", FieldTy::Block(LIMITS)).doc(
        "Limits above the requests: `limits { cpu = 8, memory = 48Gi }`. Without it, only \
         requests are set.",
    ),
];

pub const RETRIES: &[FieldSpec] = &[
    req("limit", NON_NEGATIVE)
        .doc("How many times a failed step is tried again (Argo's `retryStrategy.limit`)."),
    any("backoff", FieldTy::Duration)
        .doc("The wait before the first retry (`30s`); it grows by `factor` after each."),
    any("factor", POSITIVE)
        .doc("What each wait is multiplied by after a retry (`2`: 30s, 1m, 2m, ...)."),
    any("max", FieldTy::Duration).doc("The longest wait between retries (`10m`)."),
    any("policy", FieldTy::Enum(RETRY_POLICIES)).doc(
        "Which failures are retried: `\"OnFailure\"` (the container failed), \
         `\"OnError\"` (Argo or Kubernetes failed), `\"OnTransientError\"`, or \
         `\"Always\"`.",
    ),
];

pub const TOLERATION: &[FieldSpec] = &[
    any("key", FieldTy::Str).doc(
        "The taint's key this toleration matches (`nvidia.com/gpu`); none matches every \
         key with `operator = \"Exists\"`.",
    ),
    any("operator", FieldTy::Enum(&["Exists", "Equal"]))
        .doc("`\"Equal\"` (the taint's value must equal `value`) or `\"Exists\"` (any value)."),
    any("value", FieldTy::Str).doc("The taint's value, with `operator = \"Equal\"`."),
    any(
        "effect",
        FieldTy::Enum(&["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    )
    .doc(
        "The taint effect tolerated: `\"NoSchedule\"`, `\"PreferNoSchedule\"` or \
         `\"NoExecute\"`; none tolerates all.",
    ),
    fixed(any("toleration_seconds", NON_NEGATIVE)).doc(
        "With `effect = \"NoExecute\"`: how long the pod stays on a node after the taint \
         appears.",
    ),
];

/// The kinds of a stage's `volumes` entry: each entry has exactly one.
pub const VOLUME_KINDS: &[&str] = &["claim", "volume", "config_map", "secret", "empty_dir"];

pub const VOLUME: &[FieldSpec] = &[
    any("claim", FieldTy::Str).doc("An existing PersistentVolumeClaim to mount, by name."),
    any("volume", FieldTy::VolumeName)
        .doc("A run volume of the pipeline (`volume NAME { ... }`) to mount."),
    any("config_map", FieldTy::ObjectName).doc("A ConfigMap to mount, one file per key."),
    any("secret", FieldTy::ObjectName).doc("A Secret to mount, one file per key."),
    any("empty_dir", FieldTy::EmptyDir).doc(
        "A scratch directory that lives as long as the pod: `true`, or its size limit \
         (`2Gi`).",
    ),
    any("memory", FieldTy::Bool).doc(
        "With `empty_dir`: back it with memory (tmpfs) instead of the node's disk; its \
         size counts as the container's memory.",
    ),
    req("path", FieldTy::Path)
        .doc("Where the volume is mounted in the container (an absolute path)."),
    any("read_only", FieldTy::Bool).doc("Mount it read-only."),
    any("sub_path", FieldTy::Str).doc("Mount only this folder of the volume (a relative path)."),
];

/// A PersistentVolumeClaim's access modes.
pub const ACCESS_MODES: &[&str] = &[
    "ReadWriteOnce",
    "ReadWriteMany",
    "ReadOnlyMany",
    "ReadWriteOncePod",
];

/// `volume NAME { ... }` of a pipeline: a claim made for each run.
pub const RUN_VOLUME: &[FieldSpec] = &[
    FieldSpec {
        required: true,
        ..fixed(any("size", FieldTy::Quantity))
    }
    .doc("The storage the claim requests (`10Gi`)."),
    any("storage_class", FieldTy::ObjectName)
        .doc("The StorageClass that provisions the claim; the cluster's default without it."),
    any("access", FieldTy::Enum(ACCESS_MODES)).doc(
        "The claim's access mode: `\"ReadWriteOnce\"` (default: one node at a time), \
         `\"ReadWriteMany\"`, `\"ReadOnlyMany\"` or `\"ReadWriteOncePod\"`.",
    ),
    any("keep", FieldTy::Bool).doc(
        "Keep the claim after the run ends (it is created by a step instead, labelled \
         with the run); deleted with the run otherwise.",
    ),
];

/// `affinity { require = {...}, prefer = {...} }`: node affinity.
pub const AFFINITY: &[FieldSpec] = &[
    any("require", FieldTy::NodeTerms).doc(
        "Node labels the pod must run on: `{ \"nvidia.com/gpu.product\" = \
         [\"NVIDIA-H100-80GB-HBM3\"] }` (any listed value).",
    ),
    any("prefer", FieldTy::NodeTerms)
        .doc("Node labels the scheduler prefers, when such a node is free."),
];

/// `sidecar NAME { ... }` in a stage: a container beside the main one.
pub const SIDECAR: &[FieldSpec] = &[
    req("image", FieldTy::Str).doc("The sidecar's container image."),
    any("command", FieldTy::Args).doc("The sidecar's command; the image's entrypoint without it."),
    any("args", FieldTy::Args).doc("Arguments after the command."),
    any("env", FieldTy::Env).doc("The sidecar's environment variables."),
    any("image_pull_policy", FieldTy::Enum(PULL_POLICIES))
        .doc("When the kubelet pulls the image: `\"Always\"`, `\"IfNotPresent\"` or `\"Never\"`."),
    any("resources", FieldTy::Block(RESOURCES)).doc("CPU, memory and GPUs the sidecar requests."),
    any("ports", FieldTy::Ports).doc(
        "Ports the sidecar listens on (`[5432]`); the main container reaches it on `localhost`.",
    ),
];

pub const MLFLOW: &[FieldSpec] = &[
    req("tracking_uri", FieldTy::TrackingUri).doc(
        "The MLflow tracking server (`http://mlflow.mlflow.svc.cluster.local:5000`) that \
         tracked stages log to.",
    ),
    req("experiment", FieldTy::Str)
        .doc("The MLflow experiment the runs are created in; created when missing."),
    any("artifact_store", FieldTy::Str).doc(
        "Where the tracking server stores artifacts (its `--artifacts-destination`, e.g. \
         `s3://mlflow-artifacts`): lets a `deploy` stage turn `mlflow-artifacts:/` URIs \
         into a storage URI KServe can read.",
    ),
    // The injected steps receive the MLflow credentials: never chosen at
    // run time.
    fixed(any("image", FieldTy::Str))
        .doc("The image of the injected MLflow steps (it must have the `mlflow` Python package)."),
    any("credentials", FieldTy::Credentials).doc(
        "`secret(\"name\")`: a Secret with `username`/`password` or `token` keys for the \
         tracking server.",
    ),
    any("ca_bundle", FieldTy::CaBundle).doc(
        "A CA bundle to trust for an `https` tracking server: `secret(...)` or \
         `config_map(...)`.",
    ),
];

/// `history { successful = N, failed = N }` of a scheduled pipeline.
pub const HISTORY: &[FieldSpec] = &[
    fixed(any("successful", NON_NEGATIVE))
        .doc("How many finished successful runs of the schedule Argo keeps."),
    fixed(any("failed", NON_NEGATIVE))
        .doc("How many finished failed runs of the schedule Argo keeps."),
];

pub const CONCURRENCY_POLICIES: &[&str] = &["Allow", "Forbid", "Replace"];

/// Settings that only a scheduled pipeline (a CronWorkflow) has.
pub const SCHEDULE_SETTINGS: &[&str] = &[
    "timezone",
    "concurrency_policy",
    "starting_deadline",
    "history",
];

/// Pipeline-level settings (`mlflow` and `defaults` are handled apart).
pub const PIPELINE: &[FieldSpec] = &[
    any("description", FieldTy::Str).doc(
        "What the pipeline does; written to the workflow's \
         `workflows.argoproj.io/description` annotation.",
    ),
    any("schedule", FieldTy::Cron)
        .doc("A cron schedule (`\"0 3 * * *\"`): the pipeline compiles to a CronWorkflow."),
    fixed(any("timezone", FieldTy::Str))
        .doc("The schedule's time zone (`\"Europe/Berlin\"`); UTC without it."),
    any("concurrency_policy", FieldTy::Enum(CONCURRENCY_POLICIES)).doc(
        "What a scheduled run does when the last one is still running: `\"Allow\"`, \
         `\"Forbid\"` (skip) or `\"Replace\"`.",
    ),
    fixed(any("starting_deadline", FieldTy::Duration))
        .doc("How late a scheduled run may still start (`10m`) after a missed time."),
    any("history", FieldTy::Block(HISTORY)).doc(
        "How many finished runs of the schedule are kept: `history { successful = 3, \
         failed = 1 }`.",
    ),
    any("namespace", FieldTy::Str).doc("The namespace the workflow is created in."),
    any("service_account", FieldTy::Str)
        .doc("The service account every step's pod runs as, unless a stage sets its own."),
    fixed(any("parallelism", POSITIVE)).doc("The most pods of this run at once."),
    fixed(any("timeout", FieldTy::Duration)).doc(
        "The longest the whole run may take (`6h`); Argo stops it then \
         (`activeDeadlineSeconds`).",
    ),
    fixed(any("ttl_after_finished", FieldTy::Duration))
        .doc("How long a finished run is kept before Argo deletes it (`7d`)."),
    any("image_pull_secrets", FieldTy::StrList)
        .doc("Secrets with registry credentials, for private images."),
    // The accounts `mlpc rbac` creates (src/emit/rbac.rs): literals, since
    // the Roles and token Secrets that name them exist before any run.
    fixed(any("executor_service_account", FieldTy::Str))
        .doc("The account Argo's executor uses in each pod (created by `mlpc rbac`)."),
    fixed(any("deploy_service_account", FieldTy::Str))
        .doc("The account `deploy` steps use to apply InferenceServices (created by `mlpc rbac`)."),
    fixed(any("monitor", FieldTy::Bool)).doc(
        "Prometheus metrics through Argo: every stage's duration and results, each tracked \
         `train` stage's declared metrics, and the run's duration and results \
         (`monitor = true`).",
    ),
    any("mlflow", FieldTy::Block(MLFLOW)).doc(
        "The MLflow tracking server: `tracking_uri`, `experiment`, and optionally \
         `artifact_store`, `credentials`, `ca_bundle`, `image`.",
    ),
];

/// The training APIs a distributed stage can target (§9.6): Kubeflow
/// Trainer v2's `TrainJob`, or Training Operator 1.9's `PyTorchJob`.
pub const TRAINING_APIS: &[&str] = &["trainjob", "pytorchjob"];

/// `distributed { nodes, runtime, api }` of a `train` stage. Literals only:
/// the job's manifest is written at compile time, its node count is a
/// number Argo cannot substitute, and the JobSet name limit depends on it.
pub const DISTRIBUTED: &[FieldSpec] = &[
    // The job's replica counts are int32 in both CRDs.
    fixed(req(
        "nodes",
        FieldTy::Int {
            min: 1,
            max: i32::MAX as i64,
        },
    ))
    .doc("How many nodes (pods) train together; `resources` are per node."),
    fixed(any("runtime", FieldTy::ObjectName)).doc(
        "The Kubeflow Trainer (Cluster)TrainingRuntime the job runs on \
         (`torch-distributed` by default).",
    ),
    fixed(any("api", FieldTy::Enum(TRAINING_APIS))).doc(
        "`\"trainjob\"` (Kubeflow Trainer v2, the default) or `\"pytorchjob\"` (Training \
         Operator 1.9, for clusters not yet on Trainer v2).",
    ),
];

/// Stage fields. `model` appears twice: its type depends on the kind.
pub const STAGE: &[FieldSpec] = &[
    f("image", FieldTy::Str, CONTAINER).doc(
        "The container image; pin it by version or digest (`trainer:1.4.2`, \
         `trainer@sha256:...`).",
    ),
    f("command", FieldTy::Args, CONTAINER).doc(
        "The command to run, as a list (`[\"python\", \"train.py\"]`); values and \
         artifacts may appear as items.",
    ),
    f("args", FieldTy::Args, CONTAINER)
        .doc("Arguments after `command` (or after the image's entrypoint)."),
    f("script", FieldTy::Script, CONTAINER).doc(
        "A script to run (a `\"\"\"` string) instead of `command`, by `shell` (`sh` by \
         default); values reach it as environment variables.",
    ),
    f("shell", FieldTy::Str, CONTAINER)
        .doc("The program that runs `script` (`sh` by default, e.g. `bash`)."),
    f("env", FieldTy::Env, CONTAINER).doc(
        "Environment variables: `env { NAME = value }`, a value, a reference, \
         `secret(\"name\", \"key\")` or `config_map(\"name\", \"key\")`.",
    ),
    f("image_pull_policy", FieldTy::Enum(PULL_POLICIES), CONTAINER)
        .doc("When the kubelet pulls the image: `\"Always\"`, `\"IfNotPresent\"` or `\"Never\"`."),
    f("resources", FieldTy::Block(RESOURCES), ALL).doc(
        "CPU, memory, GPUs and disk the stage requests: `resources { cpu = 4, memory = \
         16Gi, gpu = 1 }`, with optional `limits { ... }`.",
    ),
    f("retries", FieldTy::Retries, ALL).doc(
        "Retries of a failed step: a number (`retries = 3`) or `retries { limit, backoff, \
         factor, max, policy }`.",
    ),
    f("timeout", FieldTy::Duration, ALL)
        .doc("The longest one try of the stage may run (`2h`); Argo stops it then."),
    f("after", FieldTy::After, ALL).doc(
        "Stages (or groups) this stage waits for, beside those whose outputs it reads: \
         `after = [a, b]`.",
    ),
    f("for_each", FieldTy::ForEach, ALL).doc(
        "Run the stage once per item of a list (or of a run-time list output); `item` (or \
         `item.KEY`) is the current one.",
    ),
    fixed(f("parallelism", POSITIVE, ALL)).doc("With `for_each`: the most items that run at once."),
    f("cache", FieldTy::Cache, CONTAINER).doc(
        "Reuse the outputs of an earlier run with the same inputs (Argo memoization): \
         `true`, a maximum age (`12h`), or `false` to turn a default off.",
    ),
    f("node_selector", FieldTy::StrMap(MapKind::Plain), ALL)
        .doc("Node labels the pod must run on: `{ \"kubernetes.io/arch\" = \"amd64\" }`."),
    f("tolerations", FieldTy::Records(TOLERATION), ALL)
        .doc("Taints the pod tolerates: a list of `{ key, operator, value, effect }`."),
    f("volumes", FieldTy::Volumes, CONTAINER).doc(
        "Volumes to mount: a list of `{ claim | volume | config_map | secret | empty_dir \
         = ..., path = \"/data\" }`.",
    ),
    fixed(f("shm", FieldTy::Quantity, CONTAINER)).doc(
        "The size of `/dev/shm` (memory-backed), e.g. `8Gi` for PyTorch data loaders (64 \
         MiB without it).",
    ),
    f("env_from", FieldTy::EnvFrom, CONTAINER).doc(
        "Every key of ConfigMaps or Secrets as environment variables: \
         `[config_map(\"name\"), secret(\"name\")]`.",
    ),
    f("sidecars", FieldTy::Sidecars, CONTAINER).doc(
        "Containers beside the main one, written as `sidecar NAME { ... }` blocks in the \
         stage.",
    ),
    f("affinity", FieldTy::Block(AFFINITY), ALL)
        .doc("Node affinity: `affinity { require = { KEY = [values] }, prefer = { ... } }`."),
    f("priority_class", FieldTy::ObjectName, ALL).doc("The PriorityClass of the stage's pods."),
    fixed(f("monitor", FieldTy::Bool, ALL)).doc(
        "Prometheus metrics for this stage (its duration and results; a tracked `train` \
         stage's declared metrics too); the pipeline's `monitor` by default.",
    ),
    f("labels", FieldTy::StrMap(MapKind::Labels), ALL)
        .doc("Kubernetes labels on the stage's pods."),
    f("annotations", FieldTy::StrMap(MapKind::Annotations), ALL)
        .doc("Kubernetes annotations on the stage's pods."),
    f("service_account", FieldTy::Str, ALL).doc("The service account the stage's pod runs as."),
    f("track", FieldTy::Bool, CONTAINER).doc(
        "Track the stage in MLflow (a run is created and ended around it): on by default \
         for `train`, off for other kinds.",
    ),
    f("security", FieldTy::Enum(SECURITY_PROFILES), ALL).doc(
        "The pod's security settings: `\"restricted\"` (the Pod Security restricted \
         standard: non-root, no privilege escalation, all capabilities dropped) or \
         `\"default\"` (the cluster's).",
    ),
    f("distributed", FieldTy::Block(DISTRIBUTED), TRAIN).doc(
        "Train on several nodes as one Kubeflow Trainer job: `distributed { nodes = 4 }` \
         (optionally `runtime`, `api = \"pytorchjob\"`).",
    ),
    f("params", FieldTy::Params, TRAIN).doc(
        "Run parameters logged to MLflow, also in the container as `MLP_PARAM_<NAME>`: \
         `params = { lr = lr }`.",
    ),
    f("metrics", FieldTy::Names, TRAIN).doc(
        "The metric names the training code logs to MLflow (`[\"auc\"]`); only these can \
         be read as `STAGE.metrics.NAME`.",
    ),
    f("model_path", FieldTy::Str, TRAIN).doc(
        "Where in the run's artifacts the training code logs its model (`model` by \
         default): `STAGE.model` is `runs:/<run_id>/<model_path>`.",
    ),
    f("model", FieldTy::RegisterModel, REGISTER)
        .doc("The model to register: a `train` stage's `model`, or a model URI string."),
    f("name", FieldTy::Str, REGISTER)
        .doc("The registered model's name in the MLflow Model Registry."),
    f("alias", FieldTy::Str, REGISTER).doc(
        "An alias set on the new version (`champion`), so that others can load \
         `models:/NAME@ALIAS`.",
    ),
    f("tags", FieldTy::StrMap(MapKind::Plain), REGISTER).doc("Tags set on the new model version."),
    f("description", FieldTy::Str, REGISTER).doc("The new model version's description."),
    f("await_ready", FieldTy::Duration, REGISTER)
        .doc("How long to wait for the new version to be READY in the registry (`10m`)."),
    f("model", FieldTy::DeployModel, DEPLOY).doc(
        "The model to serve: a `register` stage's `version` or `model_uri`, or a \
         `models:/...` string.",
    ),
    // The InferenceService manifest is written at compile time, so that no
    // run-time value can change its structure.
    fixed(f("service", FieldTy::Str, DEPLOY)).doc("The KServe InferenceService's name."),
    fixed(f("namespace", FieldTy::Str, DEPLOY))
        .doc("The namespace the InferenceService is deployed to; the workflow's without it."),
    fixed(f("format", FieldTy::Str, DEPLOY)).doc(
        "The KServe model format (`\"mlflow\"` by default, e.g. `\"sklearn\"`, \
         `\"xgboost\"`).",
    ),
    f("protocol", FieldTy::Enum(&["v1", "v2"]), DEPLOY)
        .doc("The inference protocol: `\"v1\"` or `\"v2\"` (Open Inference Protocol)."),
    fixed(f("min_replicas", NON_NEGATIVE, DEPLOY))
        .doc("The fewest predictor replicas (0 lets KServe scale to zero)."),
    fixed(f("max_replicas", POSITIVE, DEPLOY)).doc("The most predictor replicas."),
    fixed(f("canary", FieldTy::Int { min: 0, max: 100 }, DEPLOY)).doc(
        "The percent of traffic the new model gets (`10`); the rest stays on the last \
         ready revision.",
    ),
];

/// The node label a `gpu_type` value selects on: GKE's accelerator names
/// (`nvidia-tesla-t4`, `nvidia-l4`) are values of
/// `cloud.google.com/gke-accelerator`; NVIDIA GPU Feature Discovery's
/// product names (`Tesla-T4`, `NVIDIA-A100-SXM4-80GB`) of
/// `nvidia.com/gpu.product`. `None`: neither spelling.
pub fn gpu_node_label(value: &str) -> Option<&'static str> {
    const GFD_PREFIXES: &[&str] = &["Tesla-", "NVIDIA-", "Quadro-", "GeForce-", "TITAN-"];
    let tail_ok = |t: &str, upper: bool| {
        !t.is_empty()
            && t.chars().all(|c| {
                c.is_ascii_digit()
                    || c == '-'
                    || (upper && (c.is_ascii_alphabetic() || c == '.' || c == '_'))
                    || (!upper && c.is_ascii_lowercase())
            })
    };
    if let Some(tail) = value.strip_prefix("nvidia-") {
        return tail_ok(tail, false).then_some("cloud.google.com/gke-accelerator");
    }
    GFD_PREFIXES
        .iter()
        .find_map(|p| value.strip_prefix(p))
        .filter(|tail| tail_ok(tail, true))
        .map(|_| "nvidia.com/gpu.product")
}

/// Environment variables mlpc's MLflow tracking sets in a tracked stage's
/// container, which its `env` cannot set. The lowering (`emit/mlflow.rs`,
/// `emit/lower.rs`) spells them out again where it writes them.
pub const TRACKING_ENV: &[&str] = &[
    "MLFLOW_RUN_ID",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
];

/// The prefix of the environment variables that carry a tracked stage's
/// `params` to the tracking wrapper: `MLP_PARAM_<NAME>`.
pub const PARAM_ENV_PREFIX: &str = "MLP_PARAM_";

/// The outputs a stage has without declaring them: tracked stages `run_id`,
/// tracked `train` stages also `model`; `register` stages `version` and
/// `model_uri`; `deploy` stages `url`.
pub fn builtin_outputs(kind: StageKind, tracked: bool) -> &'static [(&'static str, Ty)] {
    match kind {
        StageKind::Train if tracked => &[("run_id", Ty::String), ("model", Ty::ModelUri)],
        StageKind::Prep | StageKind::Train | StageKind::Job if tracked => &[("run_id", Ty::String)],
        StageKind::Register => &[("version", Ty::String), ("model_uri", Ty::String)],
        StageKind::Deploy => &[("url", Ty::String)],
        _ => &[],
    }
}

/// Fields a stage of `kind` must end up with (from itself, its template or
/// `defaults`).
pub fn required_stage_fields(kind: StageKind) -> &'static [&'static str] {
    match kind {
        StageKind::Prep | StageKind::Train | StageKind::Job => &["image"],
        StageKind::Register => &["model", "name"],
        StageKind::Deploy => &["model", "service"],
    }
}

/// Finds a field for a kind; `Err(kinds)` if it exists only for other kinds.
pub fn stage_field(
    name: &str,
    kind: Option<StageKind>,
) -> Option<Result<&'static FieldSpec, Kinds>> {
    let mut other_kinds = 0;
    for spec in STAGE.iter().filter(|s| s.name == name) {
        match kind {
            None => return Some(Ok(spec)),
            Some(k) if spec.kinds & k.bit() != 0 => return Some(Ok(spec)),
            Some(_) => other_kinds |= spec.kinds,
        }
    }
    (other_kinds != 0).then_some(Err(other_kinds))
}

/// Stage field names valid for a kind (all kinds for `None`), for "did you mean".
pub fn stage_field_names(kind: Option<StageKind>) -> Vec<&'static str> {
    STAGE
        .iter()
        .filter(|s| kind.is_none_or(|k| s.kinds & k.bit() != 0))
        .map(|s| s.name)
        .collect()
}

pub fn is_stage_field(name: &str) -> bool {
    STAGE.iter().any(|s| s.name == name)
}
