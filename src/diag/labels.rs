//! What a diagnostic shows besides its message: its labels (where it
//! points, and what it says there) and its help.
//!
//! Both are plain data; the renderers (`render.rs`) decide how they look.

use super::MlpError;
use crate::source::Span;

/// A label of a diagnostic: a span and what it says there. A diagnostic
/// has one primary label, where it is reported; the others add context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
    pub primary: bool,
}

impl Label {
    pub fn primary(span: Span, text: impl Into<String>) -> Self {
        Label {
            span,
            text: text.into(),
            primary: true,
        }
    }

    pub fn secondary(span: Span, text: impl Into<String>) -> Self {
        Label {
            span,
            text: text.into(),
            primary: false,
        }
    }
}

impl MlpError {
    /// Where the diagnostic is reported: its primary label (or its first,
    /// should none be marked); `None` for an internal error.
    pub fn primary_label(&self) -> Option<Label> {
        let mut labels = self.labels();
        let i = labels.iter().position(|l| l.primary).unwrap_or(0);
        (i < labels.len()).then(|| labels.swap_remove(i))
    }

    /// The labels, in the order they are declared (the primary one is not
    /// always first).
    pub fn labels(&self) -> Vec<Label> {
        use MlpError::*;
        match self {
            Syntax { at, expected, .. } => {
                vec![Label::primary(*at, format!("expected {expected}"))]
            }
            UnterminatedString { at, .. } => vec![Label::primary(*at, "this string is not closed")],
            UnknownEscape { at, .. } => vec![Label::primary(*at, "not an escape")],
            BadNumber { at, .. } => vec![Label::primary(*at, "here")],
            TooDeep { at, limit, .. } => vec![Label::primary(
                *at,
                format!("level {limit} is exceeded here"),
            )],
            NotUtf8 { at, .. } => vec![Label::primary(*at, "invalid byte here")],
            NulByte { at, .. } => vec![Label::primary(*at, "NUL byte here")],
            ImportAfterItem { at, item, .. } => vec![
                Label::primary(*at, "this import"),
                Label::secondary(*item, "comes after this item"),
            ],
            UnknownName { at, .. } => vec![Label::primary(
                *at,
                "not a parameter, template input or stage",
            )],
            ReservedName { at, .. } => vec![Label::primary(*at, "reserved name")],
            Duplicate { again, first, .. } => vec![
                Label::primary(*again, "defined again here"),
                Label::secondary(*first, "first defined here"),
            ],
            DnsCollision {
                first,
                first_name,
                lowered,
                second,
                second_name,
                ..
            } => vec![
                Label::secondary(*first, format!("`{first_name}` becomes `{lowered}`")),
                Label::primary(*second, format!("`{second_name}` also becomes `{lowered}`")),
            ],
            UnknownModule { at, .. } => vec![Label::primary(*at, "no such module")],
            ImportNotFound { at, .. } => vec![Label::primary(*at, "imported here")],
            ImportCycle { at, .. } => vec![Label::primary(*at, "this import closes the cycle")],
            UnknownTemplate { at, .. } => vec![Label::primary(*at, "no such template")],
            UnknownOutput { at, .. } => vec![Label::primary(*at, "unknown output")],
            ItemOutsideForEach { at, .. } => vec![Label::primary(*at, "no `for_each` here")],
            UndeclaredMetric { at, .. } => vec![Label::primary(*at, "undeclared metric")],
            StageAsValue { at, .. } => vec![Label::primary(*at, "a stage")],
            UnknownField { at, .. } => vec![Label::primary(*at, "unknown field")],
            MissingField { at, field, .. } => {
                vec![Label::primary(*at, format!("`{field}` is needed here"))]
            }
            ExclusiveFields {
                first_at,
                first,
                second_at,
                second,
                ..
            } => vec![
                Label::secondary(*first_at, format!("`{first}` set here")),
                Label::primary(*second_at, format!("`{second}` set here")),
            ],
            TypeMismatch { at, found, .. } => vec![Label::primary(*at, format!("this is {found}"))],
            WrongUnit { at, expected, .. } => {
                vec![Label::primary(*at, format!("not a {expected}"))]
            }
            FieldNotForKind { at, kind, .. } => {
                vec![Label::primary(*at, format!("not for `{kind}`"))]
            }
            TemplateKindMismatch { at, stage_kind, .. } => {
                vec![Label::primary(*at, format!("a `{stage_kind}` stage"))]
            }
            MissingInput { at, input, .. } => {
                vec![Label::primary(*at, format!("`{input}` is not supplied"))]
            }
            EntryNotAllowed { at, .. } => vec![Label::primary(*at, "not allowed here")],
            TrackingNeedsMlflow { at, .. } => vec![Label::primary(*at, "needs MLflow")],
            BadTrackingUri { at, .. } => vec![Label::primary(*at, "here")],
            RegisterModelSource { at, .. } => vec![Label::primary(*at, "not a trained model")],
            DeployModelSource { at, .. } => {
                vec![Label::primary(*at, "not a registered model version")]
            }
            InvalidCron { at, .. } => vec![Label::primary(*at, "here")],
            ArgoPlaceholder { at, .. } => vec![Label::primary(*at, "Argo expression syntax")],
            InvalidValue { at, .. } => vec![Label::primary(*at, "here")],
            UnknownType { at, .. } => vec![Label::primary(*at, "not a type")],
            ArtifactValueMismatch { at, found, .. } => {
                vec![Label::primary(*at, format!("this is {found}"))]
            }
            BadSecret { at, .. } => vec![Label::primary(*at, "here")],
            UnknownFunction { at, .. } => vec![Label::primary(*at, "not a function")],
            BadCondition { at, .. } => vec![Label::primary(*at, "here")],
            BadOutputPath { at, .. } => vec![Label::primary(*at, "here")],
            InputShadowsField { at, .. } => vec![Label::primary(*at, "also a stage field")],
            UnknownStageKind { at, .. } => vec![Label::primary(*at, "not a stage kind")],
            KeywordAsName { at, .. } => vec![Label::primary(*at, "a keyword since v2")],
            GroupOutputSource { at, .. } => vec![Label::primary(*at, "not a member's output")],
            ItemOfOtherLoop { at, .. } => vec![Label::primary(*at, "not an enclosing loop's item")],
            RunStatusOutsideFinally { at, .. } => vec![Label::primary(*at, "outside `finally`")],
            AcrossFinally { at, .. } => vec![Label::primary(*at, "here")],
            GroupTooDeep { at, .. } => vec![Label::primary(*at, "too deep")],
            ListFunctionType { at, found, .. } => {
                vec![Label::primary(*at, format!("this is {found}"))]
            }
            FanInNotSupported { at, .. } => {
                vec![Label::primary(*at, "an output of a loop")]
            }
            VolumeKind { at, .. } => vec![Label::primary(*at, "one entry mounts one volume")],
            UnknownVolume { at, .. } => vec![Label::primary(*at, "not declared")],
            MountPathTaken { at, first, .. } => {
                let mut labels = vec![Label::primary(*at, "mounted here")];
                labels.extend(first.map(|f| Label::secondary(f, "and here")));
                labels
            }
            ContainerNameTaken { at, .. } => vec![Label::primary(*at, "taken")],
            UnusedVolume { at, .. } => vec![Label::primary(*at, "declared here")],
            NotDistributable { at, .. } => vec![Label::primary(*at, "not in the job's manifest")],
            NodesCannotReceive { at, .. } => {
                vec![Label::primary(*at, "the nodes are not this step's pod")]
            }
            ReservedTrainingEnv { at, .. } => vec![Label::primary(*at, "set by the runtime")],
            UnwaitableRuntime { at, .. } => vec![Label::primary(*at, "several replicated jobs")],
            TrainingNameTooLong { at, limit, .. } => vec![Label::primary(
                *at,
                format!("longer than {limit} characters"),
            )],
            DistributedWithoutTimeout { at, .. } => vec![Label::primary(*at, "no `timeout`")],
            VolumeSharedAtOnce { at, .. } => vec![Label::primary(*at, "declared here")],
            CompileTimeValue { at, .. } => {
                vec![Label::primary(*at, "a value known only at run time")]
            }
            UnknownItemKey { at, .. } => vec![Label::primary(*at, "not a key of every item")],
            OutputShadowsBuiltin { at, .. } => vec![Label::primary(*at, "declared here")],
            ValueInCode { at, .. } => vec![Label::primary(
                *at,
                "Argo would write the value into the program text",
            )],
            ImageWithoutDigest { at, .. } => vec![Label::primary(*at, "a tag can move")],
            Cycle { edges, .. } => edges.clone(),
            InvalidK8sName { at, lowered, .. } => {
                vec![Label::primary(*at, format!("becomes `{lowered}`"))]
            }
            InvalidMetadata { at, .. } => vec![Label::primary(*at, "here")],
            RbacNamespaceUnknown { at, label, .. } => vec![Label::primary(*at, label.as_str())],
            KfpNoForm { at, .. } => vec![Label::primary(*at, "not in the KFP IR")],
            KfpNotYet { at, .. } => vec![Label::primary(*at, "here")],
            DeployWithoutArtifactStore { at, .. } => vec![Label::primary(*at, "this deploy stage")],
            WorkflowTooLarge { at, .. } => vec![Label::primary(*at, "this pipeline")],
            UnpinnedImage { at, reason, .. } => vec![Label::primary(*at, reason.as_str())],
            NoCommand { at, .. } => vec![Label::primary(*at, "runs the image's entrypoint")],
            UnknownGpuType { at, .. } => vec![Label::primary(*at, "unknown spelling")],
            RunTimeIdentity { at, .. } => vec![Label::primary(*at, "chosen at run time")],
            PlainHttpCredentials { at, .. } => {
                vec![Label::primary(*at, "plain http, outside the cluster")]
            }
            CredentialsInUrl { at, .. } => vec![Label::primary(*at, "user:password@")],
            Internal { .. } => vec![],
        }
    }

    /// How to fix it, where a fix is known.
    pub fn help(&self) -> Option<String> {
        use MlpError::*;
        match self {
            Syntax { help, .. }
            | BadNumber { help, .. }
            | UnknownName { help, .. }
            | UnknownModule { help, .. }
            | UnknownTemplate { help, .. }
            | UnknownOutput { help, .. }
            | UndeclaredMetric { help, .. }
            | StageAsValue { help, .. }
            | UnknownField { help, .. }
            | MissingField { help, .. }
            | ExclusiveFields { help, .. }
            | TypeMismatch { help, .. }
            | WrongUnit { help, .. }
            | FieldNotForKind { help, .. }
            | MissingInput { help, .. }
            | EntryNotAllowed { help, .. }
            | BadTrackingUri { help, .. }
            | InvalidValue { help, .. }
            | UnknownType { help, .. }
            | ArtifactValueMismatch { help, .. }
            | BadSecret { help, .. }
            | BadCondition { help, .. }
            | BadOutputPath { help, .. }
            | UnknownStageKind { help, .. }
            | CompileTimeValue { help, .. }
            | UnknownItemKey { help, .. }
            | OutputShadowsBuiltin { help, .. }
            | ValueInCode { help, .. }
            | ItemOfOtherLoop { help, .. }
            | GroupOutputSource { help, .. }
            | FanInNotSupported { help, .. }
            | VolumeKind { help, .. }
            | UnknownVolume { help, .. }
            | MountPathTaken { help, .. }
            | NotDistributable { help, .. }
            | NodesCannotReceive { help, .. }
            | ContainerNameTaken { help, .. }
            | AcrossFinally { help, .. }
            | ListFunctionType { help, .. }
            | InvalidK8sName { help, .. }
            | RbacNamespaceUnknown { help, .. }
            | UnknownGpuType { help, .. } => help.clone(),
            UnterminatedString { .. } => Some("close the string with `\"` on the same line, or use `\"\"\"` for text over several lines".into()),
            UnknownEscape { .. } => Some("strings know the escapes \\\" \\\\ \\n \\t and \\$; write \\\\ for a backslash".into()),
            TooDeep { .. } => Some("flatten the expression or the data; mlpc limits nesting so that no input can exhaust its stack".into()),
            NotUtf8 { offset, .. } => Some(format!("save the file as UTF-8; the first invalid byte is at offset {offset}")),
            NulByte { .. } => Some("`.mlp` files are text; remove the NUL byte (was a binary file passed by mistake?)".into()),
            ImportAfterItem { .. } => Some("move every `import` line to the top of the file".into()),
            ReservedName { .. } => Some("pick another name; the keywords (import as pipeline template param input output uses when), `true`, `false`, `run` and `item` are reserved".into()),
            KeywordAsName { name, .. } => Some(format!("contract v2 made `group`, `finally`, `volume` and `sidecar` keywords; a v1 program that used `{name}` as a name must rename it (e.g. `{name}_step`), and every reference to it")),
            RunStatusOutsideFinally { .. } => Some("a run's outcome is known only when it has ended: move the stage into `finally { ... }`".into()),
            GroupTooDeep { limit, .. } => Some(format!("flatten the groups: at most {limit} groups may hold one another")),
            Duplicate { .. } => Some("rename one of them or merge them".into()),
            DnsCollision { .. } => Some("names are lowercased and `_` becomes `-`; rename one of them".into()),
            ImportNotFound { .. } => Some("import paths are relative to the importing file".into()),
            ImportCycle { .. } => Some("move the shared templates into a file that imports neither".into()),
            ItemOutsideForEach { .. } => Some("add `for_each = [...]` to this stage, or use a parameter".into()),
            TemplateKindMismatch { template_kind, stage_kind, .. } => Some(format!("declare the stage as `{template_kind}`, or use a `{stage_kind}` template")),
            TrackingNeedsMlflow { tracked, .. } => Some(format!(
                "add `mlflow {{ tracking_uri = \"http://...\", experiment = \"...\" }}` to the pipeline{}",
                if *tracked { ", or set `track = false` on the stage" } else { "" }
            )),
            RegisterModelSource { .. } => Some("write `model = TRAIN_STAGE.model`, or a model URI string such as \"runs:/<run_id>/model\"".into()),
            DeployModelSource { .. } => Some("write `model = REGISTER_STAGE.version`, or a \"models:/NAME/VERSION\" string".into()),
            InvalidCron { .. } => Some("a schedule has five fields: minute hour day-of-month month day-of-week, e.g. \"0 3 * * 1-5\"".into()),
            ArgoPlaceholder { .. } => Some("use `${run.name}`, `${run.uid}`, `${run.namespace}` or `${run.pod}` for the run's identity, and parameters for the rest".into()),
            UnknownFunction { .. } => Some("the functions are `secret(\"NAME\", \"KEY\")`, in `env` and in `mlflow.credentials`, and `len`, `max`, `min` and `sum` of a list, in `when`".into()),
            InputShadowsField { .. } => Some("rename the input; a stage that uses the template could not tell the input from the field".into()),
            ImageWithoutDigest { .. } => Some("`--require-digests` is on: write the image as `NAME@sha256:DIGEST` (or `NAME:TAG@sha256:DIGEST`); `docker buildx imagetools inspect NAME:TAG` or `crane digest NAME:TAG` prints the digest".into()),
            Cycle { .. } => Some("a stage cannot wait for itself; remove one of these dependencies".into()),
            InvalidMetadata { .. } => None,
            KfpNoForm { instead, .. } => Some(instead.clone()),
            KfpNotYet { .. } => Some("compile this pipeline for Argo (`--target argo`, the default): Argo Workflows runs it, and Kubeflow Pipelines 2.x accepts the Argo Workflow as a v1 pipeline".into()),
            DeployWithoutArtifactStore { .. } => Some("set `artifact_store` in the `mlflow` block to the tracking server's --artifacts-destination (e.g. \"s3://mlflow-artifacts\") so that KServe can read `mlflow-artifacts:/` models".into()),
            WorkflowTooLarge { .. } => Some("Argo stores a workflow in etcd, which rejects objects over about 1.5 MiB. Stages that `uses` one template share one Argo template (each tracked stage written out adds about 2 KB of MLflow containers); or split the pipeline".into()),
            UnpinnedImage { name, .. } => Some(format!("name a version tag (e.g. `{name}:1.4.2`) or a digest (`{name}@sha256:...`), so every run uses the same image")),
            NoCommand { .. } => Some("spell out the command (e.g. `command = [\"python\", \"train.py\"]`); without one, Argo's controller reads the image's entrypoint from the registry, which fails for private images it cannot pull".into()),
            RunTimeIdentity { .. } => Some("whoever submits the workflow (`argo submit -p`, a WorkflowTemplate's users) then chooses what runs or with which identity, with the pipeline's Secrets and MLflow credentials; write a literal, or accept the risk with `--deny-warnings` off".into()),
            PlainHttpCredentials { .. } => Some("use `https://` for a tracking server outside the cluster; plain http is fine for an in-cluster service (`NAME`, `NAME.NAMESPACE.svc`, `...svc.cluster.local`)".into()),
            UnusedVolume { name, .. } => Some(format!("mount it in a stage with `volumes = [{{ volume = {name}, path = \"/data\" }}]`, or remove it: each run would create a claim nobody uses")),
            VolumeSharedAtOnce { reason, .. } => Some(reason.clone()),
            ReservedTrainingEnv { .. } => Some("remove it: the runtime's launcher (torchrun) sets the `PET_*` variables from `distributed.nodes` and the GPUs per node, so a value set here would be rejected or silently replaced".into()),
            UnwaitableRuntime { .. } => Some("use a runtime with one replicated job (`torch-distributed`, or your own with a single replicated job `node`); with several, the order of the job's `status.jobsStatus` is not fixed, so no condition Argo can read says the job succeeded".into()),
            TrainingNameTooLong { name, limit, .. } => Some(format!("JobSet names each pod `<job>-node-0-<index>-<suffix>`, at most 63 characters, and rejects a longer one: the job would never start and the step would wait until its deadline. The job is named `{name}-` plus five characters; rename the stage to at most {} characters", limit)),
            DistributedWithoutTimeout { job_secs, .. } => Some(format!("set `timeout` (e.g. `timeout = 12h`): the job then fails after that long, and the step waits an hour more for the job's verdict; without it the job may run {} hours, and a job the cluster never starts holds the step that long", job_secs / 3600)),
            CredentialsInUrl { .. } => Some("credentials in a URL (`https://user:password@host`) are written into the workflow in clear text; put them in a Secret and pass them with `env { TOKEN = secret(\"NAME\", \"KEY\") }`".into()),
            Internal { .. } => Some("this is a bug in mlpc; please report it with the input file".into()),
        }
    }
}
