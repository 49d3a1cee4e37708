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
}

const fn f(name: &'static str, ty: FieldTy, kinds: Kinds) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        kinds,
        required: false,
        fixed: false,
    }
}

const fn req(name: &'static str, ty: FieldTy) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        kinds: ALL,
        required: true,
        fixed: false,
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
    fixed(any("cpu", FieldTy::Quantity)),
    fixed(any("memory", FieldTy::Quantity)),
    fixed(any("gpu", NON_NEGATIVE)),
    fixed(any("ephemeral_storage", FieldTy::Quantity)),
];

pub const RESOURCES: &[FieldSpec] = &[
    fixed(any("cpu", FieldTy::Quantity)),
    fixed(any("memory", FieldTy::Quantity)),
    fixed(any("gpu", NON_NEGATIVE)),
    any("gpu_type", FieldTy::Str),
    fixed(any("ephemeral_storage", FieldTy::Quantity)),
    any("limits", FieldTy::Block(LIMITS)),
];

pub const RETRIES: &[FieldSpec] = &[
    req("limit", NON_NEGATIVE),
    any("backoff", FieldTy::Duration),
    any("factor", POSITIVE),
    any("max", FieldTy::Duration),
    any("policy", FieldTy::Enum(RETRY_POLICIES)),
];

pub const TOLERATION: &[FieldSpec] = &[
    any("key", FieldTy::Str),
    any("operator", FieldTy::Enum(&["Exists", "Equal"])),
    any("value", FieldTy::Str),
    any(
        "effect",
        FieldTy::Enum(&["NoSchedule", "PreferNoSchedule", "NoExecute"]),
    ),
    fixed(any("toleration_seconds", NON_NEGATIVE)),
];

/// The kinds of a stage's `volumes` entry: each entry has exactly one.
pub const VOLUME_KINDS: &[&str] = &["claim", "volume", "config_map", "secret", "empty_dir"];

pub const VOLUME: &[FieldSpec] = &[
    any("claim", FieldTy::Str),
    any("volume", FieldTy::VolumeName),
    any("config_map", FieldTy::ObjectName),
    any("secret", FieldTy::ObjectName),
    any("empty_dir", FieldTy::EmptyDir),
    any("memory", FieldTy::Bool),
    req("path", FieldTy::Path),
    any("read_only", FieldTy::Bool),
    any("sub_path", FieldTy::Str),
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
    },
    any("storage_class", FieldTy::ObjectName),
    any("access", FieldTy::Enum(ACCESS_MODES)),
    any("keep", FieldTy::Bool),
];

/// `affinity { require = {...}, prefer = {...} }`: node affinity.
pub const AFFINITY: &[FieldSpec] = &[
    any("require", FieldTy::NodeTerms),
    any("prefer", FieldTy::NodeTerms),
];

/// `sidecar NAME { ... }` in a stage: a container beside the main one.
pub const SIDECAR: &[FieldSpec] = &[
    req("image", FieldTy::Str),
    any("command", FieldTy::Args),
    any("args", FieldTy::Args),
    any("env", FieldTy::Env),
    any("image_pull_policy", FieldTy::Enum(PULL_POLICIES)),
    any("resources", FieldTy::Block(RESOURCES)),
    any("ports", FieldTy::Ports),
];

pub const MLFLOW: &[FieldSpec] = &[
    req("tracking_uri", FieldTy::TrackingUri),
    req("experiment", FieldTy::Str),
    any("artifact_store", FieldTy::Str),
    // The injected steps receive the MLflow credentials: never chosen at
    // run time.
    fixed(any("image", FieldTy::Str)),
    any("credentials", FieldTy::Credentials),
    any("ca_bundle", FieldTy::CaBundle),
];

/// `history { successful = N, failed = N }` of a scheduled pipeline.
pub const HISTORY: &[FieldSpec] = &[
    fixed(any("successful", NON_NEGATIVE)),
    fixed(any("failed", NON_NEGATIVE)),
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
    any("description", FieldTy::Str),
    any("schedule", FieldTy::Cron),
    fixed(any("timezone", FieldTy::Str)),
    any("concurrency_policy", FieldTy::Enum(CONCURRENCY_POLICIES)),
    fixed(any("starting_deadline", FieldTy::Duration)),
    any("history", FieldTy::Block(HISTORY)),
    any("namespace", FieldTy::Str),
    any("service_account", FieldTy::Str),
    fixed(any("parallelism", POSITIVE)),
    fixed(any("timeout", FieldTy::Duration)),
    fixed(any("ttl_after_finished", FieldTy::Duration)),
    any("image_pull_secrets", FieldTy::StrList),
    // The accounts `mlpc rbac` creates (src/emit/rbac.rs): literals, since
    // the Roles and token Secrets that name them exist before any run.
    fixed(any("executor_service_account", FieldTy::Str)),
    fixed(any("deploy_service_account", FieldTy::Str)),
    any("mlflow", FieldTy::Block(MLFLOW)),
];

/// Stage fields. `model` appears twice: its type depends on the kind.
pub const STAGE: &[FieldSpec] = &[
    f("image", FieldTy::Str, CONTAINER),
    f("command", FieldTy::Args, CONTAINER),
    f("args", FieldTy::Args, CONTAINER),
    f("script", FieldTy::Script, CONTAINER),
    f("shell", FieldTy::Str, CONTAINER),
    f("env", FieldTy::Env, CONTAINER),
    f("image_pull_policy", FieldTy::Enum(PULL_POLICIES), CONTAINER),
    f("resources", FieldTy::Block(RESOURCES), ALL),
    f("retries", FieldTy::Retries, ALL),
    f("timeout", FieldTy::Duration, ALL),
    f("after", FieldTy::After, ALL),
    f("for_each", FieldTy::ForEach, ALL),
    fixed(f("parallelism", POSITIVE, ALL)),
    f("cache", FieldTy::Cache, CONTAINER),
    f("node_selector", FieldTy::StrMap(MapKind::Plain), ALL),
    f("tolerations", FieldTy::Records(TOLERATION), ALL),
    f("volumes", FieldTy::Volumes, CONTAINER),
    fixed(f("shm", FieldTy::Quantity, CONTAINER)),
    f("env_from", FieldTy::EnvFrom, CONTAINER),
    f("sidecars", FieldTy::Sidecars, CONTAINER),
    f("affinity", FieldTy::Block(AFFINITY), ALL),
    f("priority_class", FieldTy::ObjectName, ALL),
    f("labels", FieldTy::StrMap(MapKind::Labels), ALL),
    f("annotations", FieldTy::StrMap(MapKind::Annotations), ALL),
    f("service_account", FieldTy::Str, ALL),
    f("track", FieldTy::Bool, CONTAINER),
    f("security", FieldTy::Enum(SECURITY_PROFILES), ALL),
    f("params", FieldTy::Params, TRAIN),
    f("metrics", FieldTy::Names, TRAIN),
    f("model_path", FieldTy::Str, TRAIN),
    f("model", FieldTy::RegisterModel, REGISTER),
    f("name", FieldTy::Str, REGISTER),
    f("alias", FieldTy::Str, REGISTER),
    f("tags", FieldTy::StrMap(MapKind::Plain), REGISTER),
    f("description", FieldTy::Str, REGISTER),
    f("await_ready", FieldTy::Duration, REGISTER),
    f("model", FieldTy::DeployModel, DEPLOY),
    // The InferenceService manifest is written at compile time, so that no
    // run-time value can change its structure.
    fixed(f("service", FieldTy::Str, DEPLOY)),
    fixed(f("namespace", FieldTy::Str, DEPLOY)),
    fixed(f("format", FieldTy::Str, DEPLOY)),
    f("protocol", FieldTy::Enum(&["v1", "v2"]), DEPLOY),
    fixed(f("min_replicas", NON_NEGATIVE, DEPLOY)),
    fixed(f("max_replicas", POSITIVE, DEPLOY)),
    fixed(f("canary", FieldTy::Int { min: 0, max: 100 }, DEPLOY)),
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
