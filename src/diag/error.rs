//! The diagnostic enum: every diagnostic mlpc reports, its fields and its
//! message. Its code is given by [`MlpError::code`] (`info.rs`), its labels
//! and help by [`MlpError::labels`] and [`MlpError::help`] (`labels.rs`).
//!
//! Each variant carries `src`, the file it points into (its id, name and
//! text: what the renderers read), and its spans as [`Span`]s (the file's
//! id and a byte range). Nothing here knows how a diagnostic is drawn.

use super::{Label, Src};
use crate::source::Span;

#[derive(Debug, thiserror::Error)]
pub enum MlpError {
    // ----- E00xx: syntax and literals -------------------------------------
    #[error("syntax error: expected {expected}, found {found}")]
    Syntax {
        src: Src,
        at: Span,
        expected: String,
        found: String,
        help: Option<String>,
    },

    #[error("unterminated string")]
    UnterminatedString { src: Src, at: Span },

    #[error("unknown escape sequence `{escape}`")]
    UnknownEscape { src: Src, at: Span, escape: String },

    #[error("invalid number `{text}`: {reason}")]
    BadNumber {
        src: Src,
        at: Span,
        text: String,
        reason: String,
        help: Option<String>,
    },

    #[error("nesting is deeper than {limit} levels")]
    TooDeep { src: Src, at: Span, limit: usize },

    #[error("file is not valid UTF-8")]
    NotUtf8 { src: Src, at: Span, offset: usize },

    #[error("file contains a NUL byte")]
    NulByte { src: Src, at: Span },

    #[error("`import` after a pipeline or template")]
    ImportAfterItem { src: Src, at: Span, item: Span },

    // ----- E01xx: names and imports ---------------------------------------
    #[error("unknown name `{name}`")]
    UnknownName {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("`{name}` is reserved and cannot name {what}")]
    ReservedName {
        src: Src,
        at: Span,
        name: String,
        what: String,
    },

    #[error("`{name}` is a keyword since contract v2 and cannot name {what}")]
    KeywordAsName {
        src: Src,
        at: Span,
        name: String,
        what: String,
    },

    #[error("`{reference}` names the item of a loop that does not hold this place")]
    ItemOfOtherLoop {
        src: Src,
        at: Span,
        reference: String,
        help: Option<String>,
    },

    #[error("output `{output}` names {found}, which is no member's output")]
    GroupOutputSource {
        src: Src,
        at: Span,
        output: String,
        found: String,
        help: Option<String>,
    },

    #[error("`run.{field}` exists only in `finally`")]
    RunStatusOutsideFinally { src: Src, at: Span, field: String },

    #[error("{reason}")]
    AcrossFinally {
        src: Src,
        at: Span,
        reason: String,
        help: Option<String>,
    },

    #[error("{what} `{name}` is defined twice")]
    Duplicate {
        src: Src,
        what: String,
        name: String,
        again: Span,
        first: Span,
    },

    #[error("`{first_name}` and `{second_name}` both become `{lowered}` in Kubernetes")]
    DnsCollision {
        src: Src,
        first_name: String,
        second_name: String,
        lowered: String,
        first: Span,
        second: Span,
    },

    #[error("unknown module `{name}`")]
    UnknownModule {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("cannot import `{path}`: {reason}")]
    ImportNotFound {
        src: Src,
        at: Span,
        path: String,
        reason: String,
    },

    #[error("import cycle: {cycle}")]
    ImportCycle { src: Src, at: Span, cycle: String },

    #[error("unknown template `{name}`")]
    UnknownTemplate {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("stage `{stage}` has no output `{output}`")]
    UnknownOutput {
        src: Src,
        at: Span,
        stage: String,
        output: String,
        help: Option<String>,
    },

    #[error("`item` is only defined in a stage with `for_each`")]
    ItemOutsideForEach { src: Src, at: Span },

    #[error("stage `{stage}` does not declare the metric `{metric}`")]
    UndeclaredMetric {
        src: Src,
        at: Span,
        stage: String,
        metric: String,
        help: Option<String>,
    },

    #[error("`{name}` is a stage, not a value")]
    StageAsValue {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    // ----- E02xx: fields and types ----------------------------------------
    #[error("unknown field `{field}` in {context}")]
    UnknownField {
        src: Src,
        at: Span,
        field: String,
        context: String,
        help: Option<String>,
    },

    #[error("{context} is missing the required field `{field}`")]
    MissingField {
        src: Src,
        at: Span,
        field: String,
        context: String,
        help: Option<String>,
    },

    #[error("`{first}` and `{second}` cannot be used together")]
    ExclusiveFields {
        src: Src,
        first: String,
        second: String,
        first_at: Span,
        second_at: Span,
        help: Option<String>,
    },

    #[error("type mismatch: expected {expected}, found {found}")]
    TypeMismatch {
        src: Src,
        at: Span,
        expected: String,
        found: String,
        help: Option<String>,
    },

    #[error("expected a {expected}, found `{found}`")]
    WrongUnit {
        src: Src,
        at: Span,
        expected: String,
        found: String,
        help: Option<String>,
    },

    #[error("`{field}` is not available on a `{kind}` stage")]
    FieldNotForKind {
        src: Src,
        at: Span,
        field: String,
        kind: String,
        help: Option<String>,
    },

    #[error(
        "stage kind `{stage_kind}` does not match template `{template}` of kind `{template_kind}`"
    )]
    TemplateKindMismatch {
        src: Src,
        at: Span,
        stage_kind: String,
        template: String,
        template_kind: String,
    },

    #[error("template `{template}` needs the input `{input}`")]
    MissingInput {
        src: Src,
        at: Span,
        template: String,
        input: String,
        help: Option<String>,
    },

    #[error("{entry} is not allowed in {place}")]
    EntryNotAllowed {
        src: Src,
        at: Span,
        entry: String,
        place: String,
        help: Option<String>,
    },

    #[error("stage `{stage}` needs the pipeline's `mlflow` block: {reason}")]
    TrackingNeedsMlflow {
        src: Src,
        at: Span,
        stage: String,
        reason: String,
        tracked: bool,
    },

    #[error("invalid `tracking_uri`: {reason}")]
    BadTrackingUri {
        src: Src,
        at: Span,
        reason: String,
        help: Option<String>,
    },

    #[error("`register` needs a `train` stage's model, found {found}")]
    RegisterModelSource { src: Src, at: Span, found: String },

    #[error("`deploy` needs a `register` stage's `version` or `model_uri`, found {found}")]
    DeployModelSource { src: Src, at: Span, found: String },

    #[error("invalid cron schedule: {reason}")]
    InvalidCron { src: Src, at: Span, reason: String },

    #[error("`{{{{` in a string would be read by Argo as a template expression")]
    ArgoPlaceholder { src: Src, at: Span },

    #[error("invalid value for `{field}`: {reason}")]
    InvalidValue {
        src: Src,
        at: Span,
        field: String,
        reason: String,
        help: Option<String>,
    },

    #[error("unknown type `{name}`")]
    UnknownType {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("{found} used where {expected} is needed")]
    ArtifactValueMismatch {
        src: Src,
        at: Span,
        found: String,
        expected: String,
        help: Option<String>,
    },

    #[error("invalid `{function}(...)`: {reason}")]
    BadSecret {
        src: Src,
        at: Span,
        /// `secret` or `config_map`.
        function: &'static str,
        reason: String,
        help: Option<String>,
    },

    #[error("unknown function `{name}`")]
    UnknownFunction { src: Src, at: Span, name: String },

    #[error("invalid `when` condition: {reason}")]
    BadCondition {
        src: Src,
        at: Span,
        reason: String,
        help: Option<String>,
    },

    #[error("invalid output path: {reason}")]
    BadOutputPath {
        src: Src,
        at: Span,
        reason: String,
        help: Option<String>,
    },

    #[error("template input `{name}` has the name of a stage field")]
    InputShadowsField { src: Src, at: Span, name: String },

    #[error("unknown stage kind `{kind}`")]
    UnknownStageKind {
        src: Src,
        at: Span,
        kind: String,
        help: Option<String>,
    },

    #[error("`{reference}` cannot be collected from the loop that runs `{stage}`: {reason}")]
    FanInNotSupported {
        src: Src,
        at: Span,
        stage: String,
        reference: String,
        reason: String,
        help: Option<String>,
    },

    #[error("this `volumes` entry is not one volume: {reason}")]
    VolumeKind {
        src: Src,
        at: Span,
        reason: String,
        help: Option<String>,
    },

    #[error("`{name}` is not a run volume of this pipeline")]
    UnknownVolume {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("two mounts at `{path}`: {reason}")]
    MountPathTaken {
        src: Src,
        at: Span,
        path: String,
        first: Option<Span>,
        reason: String,
        help: Option<String>,
    },

    #[error("the pod already has a container named `{name}`")]
    ContainerNameTaken {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("`{field}` must be known when the workflow is compiled")]
    CompileTimeValue {
        src: Src,
        at: Span,
        field: String,
        help: Option<String>,
    },

    #[error("`item.{key}`: {reason}")]
    UnknownItemKey {
        src: Src,
        at: Span,
        key: String,
        reason: String,
        help: Option<String>,
    },

    #[error("output `{name}` has the name of a built-in output of this stage")]
    OutputShadowsBuiltin {
        src: Src,
        at: Span,
        name: String,
        help: Option<String>,
    },

    #[error("a run-time value in {interpreter} code")]
    ValueInCode {
        src: Src,
        at: Span,
        interpreter: String,
        help: Option<String>,
    },

    #[error("image `{image}` is not pinned by digest")]
    ImageWithoutDigest { src: Src, at: Span, image: String },

    #[error("groups nest {depth} deep here; the limit is {limit}")]
    GroupTooDeep {
        src: Src,
        at: Span,
        depth: usize,
        limit: usize,
    },

    #[error("`{func}` needs {wanted}, but {arg} is {found}")]
    ListFunctionType {
        src: Src,
        at: Span,
        func: String,
        arg: String,
        wanted: String,
        found: String,
        help: Option<String>,
    },

    // ----- E03xx: the dependency graph ------------------------------------
    #[error("stage dependencies form a cycle: {path}")]
    Cycle {
        src: Src,
        path: String,
        edges: Vec<Label>,
    },

    // ----- E04xx: Kubernetes and Argo constraints -------------------------
    #[error("`{name}` is not a valid Kubernetes name: {reason}")]
    InvalidK8sName {
        src: Src,
        at: Span,
        name: String,
        lowered: String,
        reason: String,
        help: Option<String>,
    },

    #[error("invalid {what} `{value}`: {reason}")]
    InvalidMetadata {
        src: Src,
        at: Span,
        what: String,
        value: String,
        reason: String,
    },

    #[error("`mlpc rbac` needs {what} at compile time")]
    RbacNamespaceUnknown {
        src: Src,
        at: Span,
        what: String,
        label: String,
        help: Option<String>,
    },

    #[error("{what} has no Kubeflow Pipelines form")]
    KfpNoForm {
        src: Src,
        at: Span,
        what: String,
        instead: String,
    },

    #[error("{what} is not compiled for Kubeflow Pipelines yet")]
    KfpNotYet { src: Src, at: Span, what: String },

    // ----- warnings ---------------------------------------------------------
    #[error("deploy stage `{stage}` runs without `mlflow.artifact_store`")]
    DeployWithoutArtifactStore { src: Src, at: Span, stage: String },

    #[error("the workflow for `{pipeline}` is {size_kib} KiB of YAML, over 1 MiB")]
    WorkflowTooLarge {
        src: Src,
        at: Span,
        pipeline: String,
        size_kib: usize,
    },

    #[error("image `{image}` is not pinned")]
    UnpinnedImage {
        src: Src,
        at: Span,
        image: String,
        name: String,
        reason: String,
    },

    #[error("stage `{stage}` has no `command` or `script`")]
    NoCommand { src: Src, at: Span, stage: String },

    #[error("`gpu_type = \"{value}\"` is not a GPU name mlpc knows")]
    UnknownGpuType {
        src: Src,
        at: Span,
        value: String,
        help: Option<String>,
    },

    #[error("`{field}` is taken from a run-time value")]
    RunTimeIdentity { src: Src, at: Span, field: String },

    #[error("MLflow credentials would travel over plain http to `{host}`")]
    PlainHttpCredentials { src: Src, at: Span, host: String },

    #[error("a URL in this string carries credentials")]
    CredentialsInUrl { src: Src, at: Span },

    #[error("run volume `{name}` is never mounted")]
    UnusedVolume { src: Src, at: Span, name: String },

    #[error("`{access}` volume `{name}` is mounted by pods that may run at once")]
    VolumeSharedAtOnce {
        src: Src,
        at: Span,
        name: String,
        access: String,
        reason: String,
    },

    #[error("{what} has no form in a distributed stage's {api}")]
    NotDistributable {
        src: Src,
        at: Span,
        what: String,
        api: String,
        help: Option<String>,
    },

    #[error("the training nodes cannot receive {what}")]
    NodesCannotReceive {
        src: Src,
        at: Span,
        what: String,
        help: Option<String>,
    },

    #[error("`{name}` is set by the training runtime on every node")]
    ReservedTrainingEnv { src: Src, at: Span, name: String },

    #[error("Argo cannot tell when a job of runtime `{runtime}` has ended")]
    UnwaitableRuntime { src: Src, at: Span, runtime: String },

    #[error("stage name `{name}` is too long for a training job of {nodes} nodes")]
    TrainingNameTooLong {
        src: Src,
        at: Span,
        name: String,
        nodes: i64,
        limit: usize,
    },

    #[error("distributed stage `{stage}` has no `timeout`")]
    DistributedWithoutTimeout {
        src: Src,
        at: Span,
        stage: String,
        job_secs: i64,
    },

    // ----- E9xxx: internal ---------------------------------------------------
    #[error("internal compiler error: {message}")]
    Internal { message: String },
}
