//! The diagnostic enum: every code, message, label and help mlpc reports.

use miette::{Diagnostic, LabeledSpan, SourceSpan};

use super::Src;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum MlpError {
    // ----- E00xx: syntax and literals -------------------------------------
    #[error("syntax error: expected {expected}, found {found}")]
    #[diagnostic(code(mlp::E0001))]
    Syntax {
        #[source_code]
        src: Src,
        #[label(primary, "expected {expected}")]
        at: SourceSpan,
        expected: String,
        found: String,
        #[help]
        help: Option<String>,
    },

    #[error("unterminated string")]
    #[diagnostic(
        code(mlp::E0002),
        help("close the string with `\"` on the same line, or use `\"\"\"` for text over several lines")
    )]
    UnterminatedString {
        #[source_code]
        src: Src,
        #[label(primary, "this string is not closed")]
        at: SourceSpan,
    },

    #[error("unknown escape sequence `{escape}`")]
    #[diagnostic(
        code(mlp::E0003),
        help("strings know the escapes \\\" \\\\ \\n \\t and \\$; write \\\\ for a backslash")
    )]
    UnknownEscape {
        #[source_code]
        src: Src,
        #[label(primary, "not an escape")]
        at: SourceSpan,
        escape: String,
    },

    #[error("invalid number `{text}`: {reason}")]
    #[diagnostic(code(mlp::E0004))]
    BadNumber {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        text: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("nesting is deeper than {limit} levels")]
    #[diagnostic(
        code(mlp::E0005),
        help("flatten the expression or the data; mlpc limits nesting so that no input can exhaust its stack")
    )]
    TooDeep {
        #[source_code]
        src: Src,
        #[label(primary, "level {limit} is exceeded here")]
        at: SourceSpan,
        limit: usize,
    },

    #[error("file is not valid UTF-8")]
    #[diagnostic(
        code(mlp::E0006),
        help("save the file as UTF-8; the first invalid byte is at offset {offset}")
    )]
    NotUtf8 {
        #[source_code]
        src: Src,
        #[label(primary, "invalid byte here")]
        at: SourceSpan,
        offset: usize,
    },

    #[error("file contains a NUL byte")]
    #[diagnostic(
        code(mlp::E0007),
        help("`.mlp` files are text; remove the NUL byte (was a binary file passed by mistake?)")
    )]
    NulByte {
        #[source_code]
        src: Src,
        #[label(primary, "NUL byte here")]
        at: SourceSpan,
    },

    #[error("`import` after a pipeline or template")]
    #[diagnostic(
        code(mlp::E0008),
        help("move every `import` line to the top of the file")
    )]
    ImportAfterItem {
        #[source_code]
        src: Src,
        #[label(primary, "this import")]
        at: SourceSpan,
        #[label("comes after this item")]
        item: SourceSpan,
    },

    // ----- E01xx: names and imports ---------------------------------------
    #[error("unknown name `{name}`")]
    #[diagnostic(code(mlp::E0101))]
    UnknownName {
        #[source_code]
        src: Src,
        #[label(primary, "not a parameter, template input or stage")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{name}` is reserved and cannot name {what}")]
    #[diagnostic(
        code(mlp::E0102),
        help("pick another name; the keywords (import as pipeline template param input output uses when), `true`, `false`, `run` and `item` are reserved")
    )]
    ReservedName {
        #[source_code]
        src: Src,
        #[label(primary, "reserved name")]
        at: SourceSpan,
        name: String,
        what: String,
    },

    #[error("{what} `{name}` is defined twice")]
    #[diagnostic(code(mlp::E0103), help("rename one of them or merge them"))]
    Duplicate {
        #[source_code]
        src: Src,
        what: String,
        name: String,
        #[label(primary, "defined again here")]
        again: SourceSpan,
        #[label("first defined here")]
        first: SourceSpan,
    },

    #[error("`{first_name}` and `{second_name}` both become `{lowered}` in Kubernetes")]
    #[diagnostic(
        code(mlp::E0104),
        help("names are lowercased and `_` becomes `-`; rename one of them")
    )]
    DnsCollision {
        #[source_code]
        src: Src,
        first_name: String,
        second_name: String,
        lowered: String,
        #[label("`{first_name}` becomes `{lowered}`")]
        first: SourceSpan,
        #[label(primary, "`{second_name}` also becomes `{lowered}`")]
        second: SourceSpan,
    },

    #[error("unknown module `{name}`")]
    #[diagnostic(code(mlp::E0105))]
    UnknownModule {
        #[source_code]
        src: Src,
        #[label(primary, "no such module")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("cannot import `{path}`: {reason}")]
    #[diagnostic(
        code(mlp::E0106),
        help("import paths are relative to the importing file")
    )]
    ImportNotFound {
        #[source_code]
        src: Src,
        #[label(primary, "imported here")]
        at: SourceSpan,
        path: String,
        reason: String,
    },

    #[error("import cycle: {cycle}")]
    #[diagnostic(
        code(mlp::E0107),
        help("move the shared templates into a file that imports neither")
    )]
    ImportCycle {
        #[source_code]
        src: Src,
        #[label(primary, "this import closes the cycle")]
        at: SourceSpan,
        cycle: String,
    },

    #[error("unknown template `{name}`")]
    #[diagnostic(code(mlp::E0108))]
    UnknownTemplate {
        #[source_code]
        src: Src,
        #[label(primary, "no such template")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("stage `{stage}` has no output `{output}`")]
    #[diagnostic(code(mlp::E0109))]
    UnknownOutput {
        #[source_code]
        src: Src,
        #[label(primary, "unknown output")]
        at: SourceSpan,
        stage: String,
        output: String,
        #[help]
        help: Option<String>,
    },

    #[error("`item` is only defined in a stage with `for_each`")]
    #[diagnostic(
        code(mlp::E0110),
        help("add `for_each = [...]` to this stage, or use a parameter")
    )]
    ItemOutsideForEach {
        #[source_code]
        src: Src,
        #[label(primary, "no `for_each` here")]
        at: SourceSpan,
    },

    #[error("stage `{stage}` does not declare the metric `{metric}`")]
    #[diagnostic(code(mlp::E0111))]
    UndeclaredMetric {
        #[source_code]
        src: Src,
        #[label(primary, "undeclared metric")]
        at: SourceSpan,
        stage: String,
        metric: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{name}` is a stage, not a value")]
    #[diagnostic(code(mlp::E0112))]
    StageAsValue {
        #[source_code]
        src: Src,
        #[label(primary, "a stage")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    // ----- E02xx: fields and types ----------------------------------------
    #[error("unknown field `{field}` in {context}")]
    #[diagnostic(code(mlp::E0201))]
    UnknownField {
        #[source_code]
        src: Src,
        #[label(primary, "unknown field")]
        at: SourceSpan,
        field: String,
        context: String,
        #[help]
        help: Option<String>,
    },

    #[error("{context} is missing the required field `{field}`")]
    #[diagnostic(code(mlp::E0202))]
    MissingField {
        #[source_code]
        src: Src,
        #[label(primary, "`{field}` is needed here")]
        at: SourceSpan,
        field: String,
        context: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{first}` and `{second}` cannot be used together")]
    #[diagnostic(code(mlp::E0203))]
    ExclusiveFields {
        #[source_code]
        src: Src,
        first: String,
        second: String,
        #[label("`{first}` set here")]
        first_at: SourceSpan,
        #[label(primary, "`{second}` set here")]
        second_at: SourceSpan,
        #[help]
        help: Option<String>,
    },

    #[error("type mismatch: expected {expected}, found {found}")]
    #[diagnostic(code(mlp::E0204))]
    TypeMismatch {
        #[source_code]
        src: Src,
        #[label(primary, "this is {found}")]
        at: SourceSpan,
        expected: String,
        found: String,
        #[help]
        help: Option<String>,
    },

    #[error("expected a {expected}, found `{found}`")]
    #[diagnostic(code(mlp::E0205))]
    WrongUnit {
        #[source_code]
        src: Src,
        #[label(primary, "not a {expected}")]
        at: SourceSpan,
        expected: String,
        found: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{field}` is not available on a `{kind}` stage")]
    #[diagnostic(code(mlp::E0206))]
    FieldNotForKind {
        #[source_code]
        src: Src,
        #[label(primary, "not for `{kind}`")]
        at: SourceSpan,
        field: String,
        kind: String,
        #[help]
        help: Option<String>,
    },

    #[error(
        "stage kind `{stage_kind}` does not match template `{template}` of kind `{template_kind}`"
    )]
    #[diagnostic(
        code(mlp::E0207),
        help("declare the stage as `{template_kind}`, or use a `{stage_kind}` template")
    )]
    TemplateKindMismatch {
        #[source_code]
        src: Src,
        #[label(primary, "a `{stage_kind}` stage")]
        at: SourceSpan,
        stage_kind: String,
        template: String,
        template_kind: String,
    },

    #[error("template `{template}` needs the input `{input}`")]
    #[diagnostic(code(mlp::E0208))]
    MissingInput {
        #[source_code]
        src: Src,
        #[label(primary, "`{input}` is not supplied")]
        at: SourceSpan,
        template: String,
        input: String,
        #[help]
        help: Option<String>,
    },

    #[error("{entry} is not allowed in {place}")]
    #[diagnostic(code(mlp::E0209))]
    EntryNotAllowed {
        #[source_code]
        src: Src,
        #[label(primary, "not allowed here")]
        at: SourceSpan,
        entry: String,
        place: String,
        #[help]
        help: Option<String>,
    },

    #[error("stage `{stage}` needs the pipeline's `mlflow` block: {reason}")]
    #[diagnostic(
        code(mlp::E0210),
        help("add `mlflow {{ tracking_uri = \"http://...\", experiment = \"...\" }}` to the pipeline{}", if *tracked { ", or set `track = false` on the stage" } else { "" })
    )]
    TrackingNeedsMlflow {
        #[source_code]
        src: Src,
        #[label(primary, "needs MLflow")]
        at: SourceSpan,
        stage: String,
        reason: String,
        tracked: bool,
    },

    #[error("invalid `tracking_uri`: {reason}")]
    #[diagnostic(code(mlp::E0211))]
    BadTrackingUri {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("`register` needs a `train` stage's model, found {found}")]
    #[diagnostic(
        code(mlp::E0212),
        help("write `model = TRAIN_STAGE.model`, or a model URI string such as \"runs:/<run_id>/model\"")
    )]
    RegisterModelSource {
        #[source_code]
        src: Src,
        #[label(primary, "not a trained model")]
        at: SourceSpan,
        found: String,
    },

    #[error("`deploy` needs a `register` stage's `version` or `model_uri`, found {found}")]
    #[diagnostic(
        code(mlp::E0213),
        help("write `model = REGISTER_STAGE.version`, or a \"models:/NAME/VERSION\" string")
    )]
    DeployModelSource {
        #[source_code]
        src: Src,
        #[label(primary, "not a registered model version")]
        at: SourceSpan,
        found: String,
    },

    #[error("invalid cron schedule: {reason}")]
    #[diagnostic(
        code(mlp::E0214),
        help("a schedule has five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * 1-5\"")
    )]
    InvalidCron {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        reason: String,
    },

    #[error("`{{{{` in a string would be read by Argo as a template expression")]
    #[diagnostic(
        code(mlp::E0215),
        help("use `${{run.name}}`, `${{run.uid}}`, `${{run.namespace}}` or `${{run.pod}}` for the run's identity, and parameters for the rest")
    )]
    ArgoPlaceholder {
        #[source_code]
        src: Src,
        #[label(primary, "Argo expression syntax")]
        at: SourceSpan,
    },

    #[error("invalid value for `{field}`: {reason}")]
    #[diagnostic(code(mlp::E0216))]
    InvalidValue {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        field: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("unknown type `{name}`")]
    #[diagnostic(code(mlp::E0217))]
    UnknownType {
        #[source_code]
        src: Src,
        #[label(primary, "not a type")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("{found} used where {expected} is needed")]
    #[diagnostic(code(mlp::E0218))]
    ArtifactValueMismatch {
        #[source_code]
        src: Src,
        #[label(primary, "this is {found}")]
        at: SourceSpan,
        found: String,
        expected: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid `{function}(...)`: {reason}")]
    #[diagnostic(code(mlp::E0219))]
    BadSecret {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        /// `secret` or `config_map`.
        function: &'static str,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("unknown function `{name}`")]
    #[diagnostic(
        code(mlp::E0220),
        help("the only function is `secret(\"NAME\", \"KEY\")`, in `env` and in `mlflow.credentials`")
    )]
    UnknownFunction {
        #[source_code]
        src: Src,
        #[label(primary, "not a function")]
        at: SourceSpan,
        name: String,
    },

    #[error("invalid `when` condition: {reason}")]
    #[diagnostic(code(mlp::E0221))]
    BadCondition {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid output path: {reason}")]
    #[diagnostic(code(mlp::E0222))]
    BadOutputPath {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("template input `{name}` has the name of a stage field")]
    #[diagnostic(
        code(mlp::E0223),
        help("rename the input; a stage that uses the template could not tell the input from the field")
    )]
    InputShadowsField {
        #[source_code]
        src: Src,
        #[label(primary, "also a stage field")]
        at: SourceSpan,
        name: String,
    },

    #[error("unknown stage kind `{kind}`")]
    #[diagnostic(code(mlp::E0224))]
    UnknownStageKind {
        #[source_code]
        src: Src,
        #[label(primary, "not a stage kind")]
        at: SourceSpan,
        kind: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{stage}` fans out with `for_each`; its outputs cannot be read")]
    #[diagnostic(
        code(mlp::E0225),
        help("collecting the outputs of every item (fan-in) comes after v1; wait for the fan-out with `after = [{stage}]` and read results from MLflow or storage")
    )]
    FanInNotSupported {
        #[source_code]
        src: Src,
        #[label(primary, "an output of a fan-out stage")]
        at: SourceSpan,
        stage: String,
    },

    #[error("`{field}` must be known when the workflow is compiled")]
    #[diagnostic(code(mlp::E0226))]
    CompileTimeValue {
        #[source_code]
        src: Src,
        #[label(primary, "a value known only at run time")]
        at: SourceSpan,
        field: String,
        #[help]
        help: Option<String>,
    },

    #[error("`item.{key}`: {reason}")]
    #[diagnostic(code(mlp::E0227))]
    UnknownItemKey {
        #[source_code]
        src: Src,
        #[label(primary, "not a key of every item")]
        at: SourceSpan,
        key: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("output `{name}` has the name of a built-in output of this stage")]
    #[diagnostic(code(mlp::E0228))]
    OutputShadowsBuiltin {
        #[source_code]
        src: Src,
        #[label(primary, "declared here")]
        at: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("a run-time value in {interpreter} code")]
    #[diagnostic(code(mlp::E0229))]
    ValueInCode {
        #[source_code]
        src: Src,
        #[label(primary, "Argo would write the value into the program text")]
        at: SourceSpan,
        interpreter: String,
        #[help]
        help: Option<String>,
    },

    #[error("image `{image}` is not pinned by digest")]
    #[diagnostic(
        code(mlp::E0230),
        help("`--require-digests` is on: write the image as `NAME@sha256:DIGEST` (or `NAME:TAG@sha256:DIGEST`); `docker buildx imagetools inspect NAME:TAG` or `crane digest NAME:TAG` prints the digest")
    )]
    ImageWithoutDigest {
        #[source_code]
        src: Src,
        #[label(primary, "a tag can move")]
        at: SourceSpan,
        image: String,
    },

    // ----- E03xx: the dependency graph ------------------------------------
    #[error("stage dependencies form a cycle: {path}")]
    #[diagnostic(
        code(mlp::E0301),
        help("a stage cannot wait for itself; remove one of these dependencies")
    )]
    Cycle {
        #[source_code]
        src: Src,
        path: String,
        #[label(collection, "")]
        edges: Vec<LabeledSpan>,
    },

    // ----- E04xx: Kubernetes and Argo constraints -------------------------
    #[error("`{name}` is not a valid Kubernetes name: {reason}")]
    #[diagnostic(code(mlp::E0401))]
    InvalidK8sName {
        #[source_code]
        src: Src,
        #[label(primary, "becomes `{lowered}`")]
        at: SourceSpan,
        name: String,
        lowered: String,
        reason: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid {what} `{value}`: {reason}")]
    #[diagnostic(code(mlp::E0402))]
    InvalidMetadata {
        #[source_code]
        src: Src,
        #[label(primary, "here")]
        at: SourceSpan,
        what: String,
        value: String,
        reason: String,
    },

    #[error("`mlpc rbac` needs {what} at compile time")]
    #[diagnostic(code(mlp::E0403))]
    RbacNamespaceUnknown {
        #[source_code]
        src: Src,
        #[label(primary, "{label}")]
        at: SourceSpan,
        what: String,
        label: String,
        #[help]
        help: Option<String>,
    },

    // ----- warnings ---------------------------------------------------------
    #[error("deploy stage `{stage}` runs without `mlflow.artifact_store`")]
    #[diagnostic(
        code(mlp::W0201),
        severity(Warning),
        help("set `artifact_store` in the `mlflow` block to the tracking server's --artifacts-destination (e.g. \"s3://mlflow-artifacts\") so that KServe can read `mlflow-artifacts:/` models")
    )]
    DeployWithoutArtifactStore {
        #[source_code]
        src: Src,
        #[label(primary, "this deploy stage")]
        at: SourceSpan,
        stage: String,
    },

    #[error("the workflow for `{pipeline}` is {size_kib} KiB of YAML, over 1 MiB")]
    #[diagnostic(
        code(mlp::W0401),
        severity(Warning),
        help("Argo stores a workflow in etcd, which rejects objects over about 1.5 MiB. Stages that `uses` one template share one Argo template (each tracked stage written out adds about 2 KB of MLflow containers); or split the pipeline")
    )]
    WorkflowTooLarge {
        #[source_code]
        src: Src,
        #[label(primary, "this pipeline")]
        at: SourceSpan,
        pipeline: String,
        size_kib: usize,
    },

    #[error("image `{image}` is not pinned")]
    #[diagnostic(
        code(mlp::W0202),
        severity(Warning),
        help("name a version tag (e.g. `{name}:1.4.2`) or a digest (`{name}@sha256:...`), so every run uses the same image")
    )]
    UnpinnedImage {
        #[source_code]
        src: Src,
        #[label(primary, "{reason}")]
        at: SourceSpan,
        image: String,
        name: String,
        reason: String,
    },

    #[error("stage `{stage}` has no `command` or `script`")]
    #[diagnostic(
        code(mlp::W0203),
        severity(Warning),
        help("spell out the command (e.g. `command = [\"python\", \"train.py\"]`); without one, Argo's controller reads the image's entrypoint from the registry, which fails for private images it cannot pull")
    )]
    NoCommand {
        #[source_code]
        src: Src,
        #[label(primary, "runs the image's entrypoint")]
        at: SourceSpan,
        stage: String,
    },

    #[error("`gpu_type = \"{value}\"` is not a GPU name mlpc knows")]
    #[diagnostic(code(mlp::W0204), severity(Warning))]
    UnknownGpuType {
        #[source_code]
        src: Src,
        #[label(primary, "unknown spelling")]
        at: SourceSpan,
        value: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{field}` is taken from a run-time value")]
    #[diagnostic(
        code(mlp::W0205),
        severity(Warning),
        help("whoever submits the workflow (`argo submit -p`, a WorkflowTemplate's users) then chooses what runs or with which identity, with the pipeline's Secrets and MLflow credentials; write a literal, or accept the risk with `--deny-warnings` off")
    )]
    RunTimeIdentity {
        #[source_code]
        src: Src,
        #[label(primary, "chosen at run time")]
        at: SourceSpan,
        field: String,
    },

    #[error("MLflow credentials would travel over plain http to `{host}`")]
    #[diagnostic(
        code(mlp::W0206),
        severity(Warning),
        help("use `https://` for a tracking server outside the cluster; plain http is fine for an in-cluster service (`NAME`, `NAME.NAMESPACE.svc`, `...svc.cluster.local`)")
    )]
    PlainHttpCredentials {
        #[source_code]
        src: Src,
        #[label(primary, "plain http, outside the cluster")]
        at: SourceSpan,
        host: String,
    },

    #[error("a URL in this string carries credentials")]
    #[diagnostic(
        code(mlp::W0207),
        severity(Warning),
        help("credentials in a URL (`https://user:password@host`) are written into the workflow in clear text; put them in a Secret and pass them with `env {{ TOKEN = secret(\"NAME\", \"KEY\") }}`")
    )]
    CredentialsInUrl {
        #[source_code]
        src: Src,
        #[label(primary, "user:password@")]
        at: SourceSpan,
    },

    // ----- E9xxx: internal ---------------------------------------------------
    #[error("internal compiler error: {message}")]
    #[diagnostic(
        code(mlp::E9001),
        help("this is a bug in mlpc; please report it with the input file")
    )]
    Internal { message: String },
}
