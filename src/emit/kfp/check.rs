//! What a pipeline asks that the KFP IR cannot say (E0501), or that this
//! backend does not write yet (E0502): found before anything is rendered,
//! all at once, each at its field's span.

use crate::diag::MlpError;
use crate::plan::Plan;
use crate::sema::hir::{Fields, KeySource, NodeId, Value};
use crate::sema::schema::StageKind;
use crate::source::{SourceSet, Span};

/// Pipeline settings with no IR form, and what to do instead.
const RUN_SETTINGS: &[(&str, &str)] = &[
    ("schedule", "upload the compiled pipeline to KFP and create a Recurring Run with this schedule (KFP's cron has a seconds field: write \"0 \" before the five fields); or compile for Argo, which writes a CronWorkflow"),
    ("timezone", "a KFP Recurring Run's cron is in UTC: convert the schedule's hours"),
    ("concurrency_policy", "set the Recurring Run's `max_concurrency` (1 for \"Forbid\")"),
    ("starting_deadline", "set the Recurring Run's `no_catchup` instead"),
    ("history", "KFP keeps every run; delete old ones through its API or UI"),
    ("namespace", "create the run in that namespace (in multi-user KFP, the namespace of the experiment's profile)"),
    ("service_account", "pass the service account when the run is created (CreateRun's `service_account`): KFP runs every step with the run's one account"),
    ("parallelism", "set `parallelism` on the `for_each` stage or loop group instead (a KFP loop's `parallelismLimit`); a limit for the whole run is the KFP admin's"),
    ("executor_service_account", "KFP chooses the accounts of its driver and launcher; remove the field for `--target kfp`"),
    ("deploy_service_account", "KFP runs every step with the run's account; remove the field for `--target kfp`"),
];

/// Stage fields with no IR form, and what to do instead.
const STAGE_FIELDS: &[(&str, &str)] = &[
    ("service_account", "KFP runs every step with the run's one service account: grant it what this stage needs, and set it when the run is created"),
    ("priority_class", "give the namespace a default PriorityClass, or compile for Argo"),
    ("env_from", "list the keys you need: `env { NAME = secret(\"secret\", \"key\") }` or `config_map(\"name\", \"key\")`"),
];

/// Why `monitor` has no KFP form, and what to do instead.
const MONITOR_INSTEAD: &str = "KFP runs have no Prometheus metrics of their own: KFP's metrics are artifacts shown in its UI. Compile for Argo, whose controller exports them, or read the runs' metrics from MLflow";

pub fn unsupported(plan: &Plan<'_>, sources: &SourceSet) -> Vec<MlpError> {
    let mut c = Check {
        plan,
        sources,
        errors: Vec::new(),
    };
    c.pipeline();
    c.after_on_skippable();
    for (i, s) in plan.stages.iter().enumerate() {
        let stage = &plan.pipeline.stages[i];
        c.stage(&stage.name, s.kind, &s.fields, !s.mlflow_steps.is_empty());
    }
    c.errors
}

struct Check<'a, 'p> {
    plan: &'a Plan<'p>,
    sources: &'a SourceSet,
    errors: Vec<MlpError>,
}

impl Check<'_, '_> {
    fn no_form(&mut self, at: Span, what: impl Into<String>, instead: &str) {
        self.errors.push(MlpError::KfpNoForm {
            src: self.sources.named(at.source),
            at,
            what: what.into(),
            instead: instead.into(),
        });
    }

    fn not_yet(&mut self, at: Span, what: impl Into<String>) {
        self.errors.push(MlpError::KfpNotYet {
            src: self.sources.named(at.source),
            at,
            what: what.into(),
        });
    }

    fn pipeline(&mut self) {
        let p = self.plan.pipeline;
        if let Some(v) = p
            .settings
            .get("monitor")
            .filter(|v| matches!(v.value, Value::Bool(true)))
        {
            self.no_form(
                v.span,
                "the pipeline's `monitor`".to_string(),
                MONITOR_INSTEAD,
            );
        }
        for (key, instead) in RUN_SETTINGS {
            if let Some(v) = p.settings.get(*key) {
                self.no_form(v.span, format!("the pipeline's `{key}`"), instead);
            }
        }
        for v in &p.volumes {
            if v.keep {
                self.no_form(v.span, format!("`keep = true` on run volume `{}`", v.name), "KFP deletes no claim by itself (Argo deletes a kept claim with its Workflow): make the claim outside the pipeline and mount it with `{ claim = \"NAME\", path = ... }`, or drop `keep` to delete it when the run ends");
            }
            if v.storage_class.is_none() {
                self.no_form(v.span, format!("run volume `{}` without `storage_class`", v.name), "KFP's CreatePVC always sets the claim's storage class (\"standard\" when none is given), so the cluster's default class is never used: name the class, e.g. `storage_class = \"standard-rwo\"`");
            }
        }
    }

    /// `after = [x]` where `x` may be skipped (it or what it reads has a
    /// `when`): `.mlp` runs the stage anyway, as Argo's `depends` on a
    /// skipped task does; KFP runs a task only when every task it waits for
    /// succeeded (backend/src/v2/compiler/argocompiler/dag.go, `depends`:
    /// `X.Succeeded`), so the stage would be skipped too.
    fn after_on_skippable(&mut self) {
        let plan = self.plan;
        let nodes = (0..plan.stages.len())
            .map(|i| NodeId::Stage(crate::sema::hir::StageId(i)))
            .chain((0..plan.groups.len()).map(|i| NodeId::Group(crate::sema::hir::GroupId(i))));
        for node in nodes {
            let skippable = plan.order_waits[plan.graph.index(node)]
                .iter()
                .find(|t| match t {
                    NodeId::Stage(s) => {
                        let sp = plan.stage(*s);
                        sp.may_skip && sp.fan_out.is_none()
                    }
                    NodeId::Group(g) => {
                        let gp = &plan.groups[g.index()];
                        gp.may_skip && gp.fan_out.is_none()
                    }
                });
            let Some(target) = skippable else { continue };
            let at = match node {
                NodeId::Stage(s) => plan
                    .stage(s)
                    .fields
                    .get("after")
                    .map_or(plan.pipeline.stage(s).span, |a| a.span),
                NodeId::Group(g) => plan.pipeline.group(g).span,
            };
            let name = plan.pipeline.node_name(*target).to_string();
            self.no_form(
                at,
                format!("`after` on `{name}`, which may be skipped,"),
                "KFP runs a task only when every task it waits for succeeded, so this stage would be skipped with it: read what you need from it instead (a skipped producer skips its readers on both targets), drop the `when`, or compile for Argo",
            );
        }
    }

    fn stage(&mut self, name: &str, kind: StageKind, fields: &Fields, tracked: bool) {
        if tracked {
            if let Some(v) = fields.get("cache") {
                if matches!(v.value, Value::Bool(true)) {
                    self.no_form(v.span, format!("`cache = true` on tracked stage `{name}`"), "KFP would reuse the stage's outputs from an earlier run while a new, empty MLflow run is started for it: write `cache = false`, or `track = false` to cache it untracked");
                }
            }
        }
        if let Some(v) = fields
            .get("monitor")
            .filter(|v| matches!(v.value, Value::Bool(true)))
        {
            self.no_form(
                v.span,
                format!("`monitor` on stage `{name}`"),
                MONITOR_INSTEAD,
            );
        }
        if let Some(v) = fields.get("distributed") {
            self.not_yet(v.span, format!("distributed training (stage `{name}`)"));
        }
        // A deploy stage's `service_account` is its predictor's.
        let generated = matches!(kind, StageKind::Register | StageKind::Deploy);
        for (key, instead) in STAGE_FIELDS {
            if generated && *key == "service_account" {
                continue;
            }
            if let Some(v) = fields.get(*key) {
                self.no_form(v.span, format!("`{key}` on stage `{name}`"), instead);
            }
        }
        if let Some(v) = fields.get("sidecars") {
            self.no_form(v.span, format!("a sidecar of stage `{name}`"), "KFP pods have no extra containers: run the service as its own Deployment and Service that the stage connects to, or start it inside the stage's command; or compile for Argo");
        }
        // A deploy stage's resources are its predictor's (any quantity).
        let resources = fields
            .get("resources")
            .filter(|_| kind != StageKind::Deploy);
        if let Some(Value::Map(res)) = resources.map(|v| &v.value) {
            let limits = match res.get("limits").map(|l| &l.value) {
                Some(Value::Map(l)) => l.get("ephemeral_storage"),
                _ => None,
            };
            if let Some(v) = res.get("ephemeral_storage").or(limits) {
                self.no_form(v.span, "`ephemeral_storage`", "remove it (a namespace's LimitRange can set it), or mount an `empty_dir` volume with a size");
            }
        }
        match fields.get("retries").map(|v| (&v.value, v.span)) {
            Some((Value::Map(r), _)) => {
                for (k, v) in r.iter() {
                    let literal = matches!(
                        v.value,
                        Value::Int(_) | Value::Float(_) | Value::Duration { .. } | Value::Str(_)
                    );
                    if !literal
                        || matches!(&v.value, Value::Str(p) if crate::sema::text::plain_text(p).is_none())
                    {
                        self.no_form(
                            v.span,
                            format!("`retries.{k}` from a run-time value"),
                            "KFP stores retries as numbers in the IR: write a literal",
                        );
                    } else if k == "policy"
                        && crate::plan::literal::literal_text(&v.value) != "OnFailure"
                    {
                        self.no_form(v.span, "a retry policy other than \"OnFailure\"", "KFP retries a task when it fails: remove `policy`, or write \"OnFailure\"");
                    }
                }
            }
            Some((Value::Int(_), _)) | None => {}
            Some((_, span)) => self.no_form(
                span,
                "`retries` from a run-time value",
                "KFP stores retries as numbers in the IR: write a literal",
            ),
        }
        for key in ["timeout", "parallelism"] {
            // A deploy stage's `timeout` is its wait step's deadline, a
            // value of its environment.
            if key == "timeout" && kind == StageKind::Deploy {
                continue;
            }
            if let Some(v) = fields.get(key) {
                if !matches!(v.value, Value::Duration { .. } | Value::Int(_)) {
                    self.no_form(
                        v.span,
                        format!("`{key}` from a run-time value"),
                        "KFP stores it as a number in the IR: write a literal",
                    );
                }
            }
        }
        if let Some(v) = fields.get("cache") {
            if matches!(v.value, Value::Duration { .. }) {
                self.no_form(v.span, "a cache expiry", "KFP's cache keeps results without an age limit: write `cache = true` (and clear the cache through KFP's API or UI) or `cache = false`");
            }
        }
        if let Some(Value::List(volumes)) = fields.get("volumes").map(|v| &v.value) {
            for v in volumes {
                let Value::Map(m) = &v.value else { continue };
                let is_claim = m.contains_key("claim") || m.contains_key("volume");
                if let Some(ro) = m.get("read_only") {
                    let secret_like = m.contains_key("secret") || m.contains_key("config_map");
                    if matches!(ro.value, Value::Bool(true)) && !secret_like {
                        self.no_form(ro.span, "a read-only mount", "KFP mounts claims and empty directories read-write: remove `read_only`, or compile for Argo");
                    }
                }
                if let Some(sp) = m.get("sub_path") {
                    if !is_claim {
                        self.no_form(
                            sp.span,
                            "`sub_path` here",
                            "KFP has sub-paths for claims only: mount the whole volume",
                        );
                    }
                }
                if let Some(c) = m.get("claim") {
                    if !matches!(&c.value, Value::Str(p) if crate::sema::text::plain_text(p).is_some())
                    {
                        self.not_yet(c.span, "a claim named at run time");
                    }
                }
            }
        }
        if let Some(Value::Map(env)) = fields.get("env").map(|v| &v.value) {
            for v in env.values() {
                if let Value::Secret(s) = &v.value {
                    if s.key.is_none() && s.source == KeySource::Secret {
                        self.no_form(
                            v.span,
                            "a whole Secret as one variable",
                            "name the key: `secret(\"name\", \"key\")`",
                        );
                    }
                }
            }
        }
    }
}
