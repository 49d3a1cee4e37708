//! Name resolution and checking: templates, pipelines, stages and fields.
//! Every problem is pushed and checking goes on, so one run reports them all.

use crate::collections::{HashMap, HashSet, IndexMap};

use super::hir::{self, Cond, Dep, DepKind, Fields, Ref, RunField, Spanned, StrPart, Value};
use super::schema::{self, FieldSpec, FieldTy, MapKind, StageKind};
use super::types::{assignable, Ty, TYPE_NAMES};
use super::Module;
use crate::diag::{closest, did_you_mean, Diagnostics, MlpError, Src};
use crate::graph;
use crate::source::{SourceSet, Span};
use crate::syntax::ast::{self, BinOp, Entry, Expr, ExprKind, Ident, Text};

pub(crate) use crate::syntax::is_reserved;

use super::argv;
use super::effective::effective_fields;
use super::hir::{conjuncts, refs_in_cond};

const RUN_FIELDS_HELP: &str = "the run has `run.name`, `run.uid`, `run.namespace`, `run.pod` and, in a scheduled pipeline, `run.scheduled_time`";

/// Lowercase with `_` as `-`: how names appear in Kubernetes.
pub fn dns_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

pub(crate) struct Checked {
    pub program: hir::Program,
    pub diagnostics: Diagnostics,
}

pub(crate) struct Checker<'a> {
    sources: &'a SourceSet,
    modules: &'a [Module],
    /// Module -> whether its file parsed (its templates can be looked up).
    loaded: Vec<bool>,
    diags: Diagnostics,
    templates: Vec<hir::Template>,
    /// `(module, name)` -> template index; `None` marks a template too broken
    /// to check uses against (its own errors are already reported).
    template_index: HashMap<(usize, Text), Option<usize>>,
    /// Dependencies found while checking the current stage.
    deps: Vec<Dep>,
    /// `(module, name)` of every pipeline, to tell a user who `uses` one.
    pipeline_names: HashSet<(usize, Text)>,
    /// Code spans already reported by E0229 (a template's, once).
    reported_code_values: HashSet<Span>,
}

/// A reference to something a field can name, in one kind of body.
#[derive(Clone, Copy)]
enum Scope<'s> {
    Template {
        inputs: &'s [hir::Input],
        for_each: bool,
    },
    Pipeline {
        pcx: &'s PipelineCx,
        /// The stage being checked; `None` in `defaults` and parameters.
        stage: Option<usize>,
        for_each: bool,
        /// The keys of each literal `for_each` item (none for a scalar
        /// item); `None` when the items are not written in the program.
        item_keys: Option<&'s [Vec<Text>]>,
    },
}

impl Scope<'_> {
    fn for_each(&self) -> bool {
        match self {
            Scope::Template { for_each, .. } | Scope::Pipeline { for_each, .. } => *for_each,
        }
    }
}

/// What other stages can see of a stage before its body is checked.
struct StageSig {
    name: Text,
    for_each: bool,
    kind: Option<StageKind>,
    outputs: IndexMap<Text, Ty>,
    metrics: Vec<Text>,
    tracked: bool,
}

struct PipelineCx {
    params: IndexMap<Text, Ty>,
    stages: Vec<StageSig>,
    stage_index: HashMap<Text, usize>,
    /// The pipeline has a `schedule` (a CronWorkflow).
    scheduled: bool,
}

/// An entry of a block or a map, as the field checks see it.
#[derive(Clone, Copy)]
enum Node<'a> {
    Expr(&'a Expr),
    Block(&'a ast::Body),
}

#[derive(Clone, Copy)]
struct Item<'a> {
    key: &'a Ident,
    node: Node<'a>,
    span: Span,
}

impl Node<'_> {
    fn span(&self) -> Span {
        match self {
            Node::Expr(e) => e.span,
            Node::Block(b) => b.span,
        }
    }
}

impl<'a> Checker<'a> {
    /// `root_parsed`: whether the root module's file parsed (its AST is
    /// handed to `run` rather than left in `modules`).
    pub fn new(
        sources: &'a SourceSet,
        modules: &'a [Module],
        root: usize,
        root_parsed: bool,
    ) -> Self {
        Checker {
            sources,
            modules,
            loaded: modules
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    if i == root {
                        root_parsed
                    } else {
                        m.file.is_some()
                    }
                })
                .collect(),
            diags: Diagnostics::default(),
            templates: Vec::new(),
            template_index: HashMap::default(),
            deps: Vec::new(),
            pipeline_names: HashSet::default(),
            reported_code_values: HashSet::default(),
        }
    }

    /// Checks the program whose root module's AST is `root_file` (taken
    /// out of `modules[root]`: its pipelines are consumed as they are
    /// checked).
    pub fn run(mut self, root: usize, root_file: Option<ast::File>) -> Checked {
        for (index, module) in self.modules.iter().enumerate() {
            let file = if index == root {
                root_file.as_ref()
            } else {
                module.file.as_ref()
            };
            if let Some(file) = file {
                self.module_templates(index, file);
            }
        }
        let mut pipelines = Vec::new();
        if let Some(file) = root_file {
            self.pipeline_names(&file);
            for item in file.items {
                if let ast::Item::Pipeline(p) = item {
                    pipelines.push(self.pipeline(root, p));
                }
            }
        }
        Checked {
            program: hir::Program {
                pipelines,
                templates: self.templates,
            },
            diagnostics: self.diags,
        }
    }

    fn src(&self, span: Span) -> Src {
        self.sources.named(span.source)
    }

    fn push(&mut self, e: MlpError) {
        self.diags.push(e);
    }

    // ----- names -------------------------------------------------------------

    /// Reports a reserved name; returns whether the name is usable.
    fn declare_name(&mut self, ident: &Ident, what: &str) -> bool {
        if is_reserved(&ident.name) {
            self.push(MlpError::ReservedName {
                src: self.src(ident.span),
                at: ident.span.into(),
                name: ident.name.to_string(),
                what: what.to_string(),
            });
            return false;
        }
        true
    }

    /// Checks that a name lowers to a valid DNS-1123 label of at most `max` characters.
    fn dns_label(&mut self, ident: &Ident, max: usize) -> String {
        let lowered = dns_name(&ident.name);
        let reason = if lowered.len() > max {
            Some(format!(
                "it is {} characters long; the limit is {max}",
                lowered.len()
            ))
        } else if lowered.starts_with('-') || lowered.ends_with('-') {
            Some("it must start and end with a letter or digit".to_string())
        } else {
            None
        };
        if let Some(reason) = reason {
            self.push(MlpError::InvalidK8sName {
                src: self.src(ident.span),
                at: ident.span.into(),
                name: ident.name.to_string(),
                lowered: lowered.clone(),
                reason,
                help: Some("names are lowercased and `_` becomes `-`; use a shorter name that starts and ends with a letter or digit".into()),
            });
        }
        lowered
    }

    /// Reports names defined twice and names that collide once lowered.
    fn unique_names(&mut self, names: &[&Ident], what: &str) -> HashSet<usize> {
        let mut by_name: HashMap<&str, &Ident> = HashMap::default();
        let mut by_dns: HashMap<String, &Ident> = HashMap::default();
        let mut duplicates = HashSet::default();
        for (i, ident) in names.iter().enumerate() {
            if let Some(first) = by_name.get(ident.name.as_str()) {
                self.push(MlpError::Duplicate {
                    src: self.src(ident.span),
                    what: what.to_string(),
                    name: ident.name.to_string(),
                    again: ident.span.into(),
                    first: first.span.into(),
                });
                duplicates.insert(i);
                continue;
            }
            by_name.insert(&ident.name, ident);
            let lowered = dns_name(&ident.name);
            if let Some(first) = by_dns.get(&lowered) {
                self.push(MlpError::DnsCollision {
                    src: self.src(ident.span),
                    first_name: first.name.to_string(),
                    second_name: ident.name.to_string(),
                    lowered: lowered.clone(),
                    first: first.span.into(),
                    second: ident.span.into(),
                });
                continue;
            }
            by_dns.insert(lowered, ident);
        }
        duplicates
    }

    fn pipeline_names(&mut self, file: &ast::File) {
        let names: Vec<&Ident> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Pipeline(p) => Some(&p.name),
                _ => None,
            })
            .collect();
        self.unique_names(&names, "pipeline");
    }

    // ----- templates ---------------------------------------------------------

    fn module_templates(&mut self, module: usize, file: &ast::File) {
        for item in &file.items {
            if let ast::Item::Pipeline(p) = item {
                self.pipeline_names.insert((module, p.name.name.clone()));
            }
        }
        let names: Vec<&Ident> = file
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Template(t) => Some(&t.name),
                _ => None,
            })
            .collect();
        let duplicates = self.unique_names(&names, "template");
        let templates = file.items.iter().filter_map(|i| match i {
            ast::Item::Template(t) => Some(t),
            _ => None,
        });
        for (i, t) in templates.enumerate() {
            if duplicates.contains(&i) {
                continue;
            }
            let checked = self.template(module, t);
            let index = checked.map(|t| {
                self.templates.push(t);
                self.templates.len() - 1
            });
            self.template_index
                .insert((module, t.name.name.clone()), index);
        }
    }

    fn template(&mut self, module: usize, t: &ast::Template) -> Option<hir::Template> {
        self.declare_name(&t.name, "a template");
        let kind = self.stage_kind(&t.kind);
        let mut inputs: Vec<hir::Input> = Vec::new();
        let mut outputs = Vec::new();
        let mut input_names: Vec<&Ident> = Vec::new();
        for entry in &t.body.entries {
            if let Entry::Input(decl) = entry {
                input_names.push(&decl.name);
            }
        }
        let duplicate_inputs = self.unique_names(&input_names, "input");
        let mut input_i = 0;
        for entry in &t.body.entries {
            match entry {
                Entry::Input(decl) => {
                    let dup = duplicate_inputs.contains(&input_i);
                    input_i += 1;
                    if dup || !self.declare_name(&decl.name, "a template input") {
                        continue;
                    }
                    // Only the template's own kind's fields are ambiguous.
                    let shadows = match kind {
                        Some(k) => {
                            matches!(schema::stage_field(&decl.name.name, Some(k)), Some(Ok(_)))
                        }
                        None => schema::is_stage_field(&decl.name.name),
                    };
                    if shadows {
                        // Still declared below: its uses in the body and in
                        // stages are not reported again.
                        self.push(MlpError::InputShadowsField {
                            src: self.src(decl.name.span),
                            at: decl.name.span.into(),
                            name: decl.name.name.to_string(),
                        });
                    }
                    let Some(ty) = self.type_expr(&decl.ty) else {
                        continue;
                    };
                    let default = decl
                        .value
                        .as_ref()
                        .and_then(|v| self.literal_of_type(v, &ty, "a default"));
                    inputs.push(hir::Input {
                        name: decl.name.name.clone(),
                        ty,
                        default,
                        span: decl.span,
                    });
                }
                Entry::Output(decl) => {
                    if let Some(out) = self.output_decl(decl) {
                        outputs.push(out);
                    }
                }
                _ => {}
            }
        }
        let output_names: Vec<&Ident> = t
            .body
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Output(d) => Some(&d.name),
                _ => None,
            })
            .collect();
        self.unique_names(&output_names, "output");
        let for_each = has_field(&t.body, "for_each");
        let scope = Scope::Template {
            inputs: &inputs,
            for_each,
        };
        let place = format!("template `{}`", t.name.name);
        let entries: Vec<&Entry> = t.body.entries.iter().collect();
        let (fields, when) = self.stage_body(&entries, kind, scope, &place, true);
        let kind = kind?;
        let qualifier = self.modules[module].qualifier.as_deref();
        let dns = match qualifier {
            Some(q) => dns_name(&format!("{q}-{}", t.name.name)),
            None => dns_name(&t.name.name),
        };
        Some(hir::Template {
            name: t.name.name.clone(),
            dns_name: dns.into(),
            kind,
            inputs,
            outputs,
            fields,
            when,
            span: t.span,
        })
    }

    fn stage_kind(&mut self, kind: &Ident) -> Option<StageKind> {
        let found = StageKind::from_name(&kind.name);
        if found.is_none() {
            self.push(MlpError::UnknownStageKind {
                src: self.src(kind.span),
                at: kind.span.into(),
                kind: kind.name.to_string(),
                help: did_you_mean(&kind.name, schema::STAGE_KINDS.iter().copied()).or_else(|| {
                    Some(
                        "the stage kinds are `prep`, `train`, `register`, `deploy` and `job`"
                            .into(),
                    )
                }),
            });
        }
        found
    }

    fn type_expr(&mut self, t: &ast::TypeExpr) -> Option<Ty> {
        let arg = match &t.arg {
            Some(a) => Some(self.type_expr(a)?),
            None => None,
        };
        let has_arg = arg.is_some();
        let ty = Ty::from_name(&t.name.name, arg);
        if ty.is_none() {
            let help = if has_arg && t.name.name != "list" {
                Some("only `list` takes an element type, as in `list[string]`".to_string())
            } else {
                did_you_mean(&t.name.name, TYPE_NAMES.iter().copied())
            };
            self.push(MlpError::UnknownType {
                src: self.src(t.name.span),
                at: t.name.span.into(),
                name: t.name.name.to_string(),
                help,
            });
        }
        ty
    }

    fn output_decl(&mut self, decl: &ast::Decl) -> Option<hir::Output> {
        let usable = self.declare_name(&decl.name, "an output");
        // Value outputs are read from their file as text (lists and maps as
        // JSON, which `for_each` takes).
        let ty = self.type_expr(&decl.ty)?;
        let value = decl.value.as_ref()?;
        let path = self.path_literal(value)?;
        if path == "/mlflow" || path.starts_with("/mlflow/") {
            self.push(MlpError::BadOutputPath {
                src: self.src(value.span),
                at: value.span.into(),
                reason: "`/mlflow` is reserved for MLflow tracking".into(),
                help: Some("write the output somewhere else, e.g. under `/tmp/outputs/`".into()),
            });
            return None;
        }
        usable.then(|| hir::Output {
            name: decl.name.name.clone(),
            ty,
            path: path.into(),
            span: decl.span,
        })
    }

    /// A literal absolute path (output paths, volume mount paths).
    fn path_literal(&mut self, value: &Expr) -> Option<String> {
        let text = match &value.kind {
            ExprKind::Str(parts) => {
                match parts.as_slice() {
                    [] => String::new(),
                    [ast::StrPart::Text(t)] => t.to_string(),
                    _ => {
                        self.push(MlpError::BadOutputPath {
                        src: self.src(value.span),
                        at: value.span.into(),
                        reason: "a path cannot be interpolated".into(),
                        help: Some("write a fixed path; the stage's command can take values as arguments".into()),
                    });
                        return None;
                    }
                }
            }
            other => {
                self.push(MlpError::TypeMismatch {
                    src: self.src(value.span),
                    at: value.span.into(),
                    expected: "a path string".into(),
                    found: other.describe().into(),
                    help: None,
                });
                return None;
            }
        };
        if !text.starts_with('/') || text.contains('\n') || text.contains("{{") {
            self.push(MlpError::BadOutputPath {
                src: self.src(value.span),
                at: value.span.into(),
                reason: format!("`{}` is not an absolute path", text.escape_debug()),
                help: Some(
                    "paths in the container start with `/`, e.g. \"/tmp/outputs/data.parquet\""
                        .into(),
                ),
            });
            return None;
        }
        Some(text)
    }

    // ----- pipelines ---------------------------------------------------------

    /// Takes the pipeline's AST: each stage's syntax is dropped as soon as
    /// its HIR is built, so a large program never holds both whole.
    fn pipeline(&mut self, module: usize, p: ast::Pipeline) -> hir::Pipeline {
        self.declare_name(&p.name, "a pipeline");
        let dns = self.dns_label(&p.name, 52);
        // Stages are taken out, to be checked and dropped one by one.
        let mut stage_decls: Vec<Box<ast::Stage>> = Vec::new();
        let mut entries: Vec<Entry> = Vec::new();
        for entry in p.body.entries {
            match entry {
                Entry::Stage(s) => stage_decls.push(s),
                other => entries.push(other),
            }
        }
        let mut param_decls = Vec::new();
        let mut setting_items = Vec::new();
        let mut defaults_block: Option<Item> = None;
        for entry in &entries {
            match entry {
                Entry::Param(d) => param_decls.push(d),
                Entry::Stage(_) => {} // taken out above
                Entry::Field(f) if f.name.name == "defaults" => {
                    defaults_block = Some(self.defaults_item(
                        Item {
                            key: &f.name,
                            node: Node::Expr(&f.value),
                            span: f.span,
                        },
                        defaults_block,
                    ))
                }
                Entry::Block(b) if b.name.name == "defaults" => {
                    defaults_block = Some(self.defaults_item(
                        Item {
                            key: &b.name,
                            node: Node::Block(&b.body),
                            span: b.span,
                        },
                        defaults_block,
                    ))
                }
                Entry::Field(f) => setting_items.push(Item {
                    key: &f.name,
                    node: Node::Expr(&f.value),
                    span: f.span,
                }),
                Entry::Block(b) => setting_items.push(Item {
                    key: &b.name,
                    node: Node::Block(&b.body),
                    span: b.span,
                }),
                Entry::Input(_) | Entry::Output(_) | Entry::When(_) => {
                    let help = match entry {
                        Entry::Input(_) => {
                            "pipelines take `param NAME: TYPE`; `input` belongs in a template"
                        }
                        Entry::Output(_) => "declare outputs inside the stage that writes them",
                        _ => "put `when` inside the stage it guards",
                    };
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(entry.span()),
                        at: entry.span().into(),
                        entry: entry.describe(),
                        place: format!("pipeline `{}`", p.name.name),
                        help: Some(help.into()),
                    });
                }
            }
        }

        // One namespace for parameters and stages: both are referenced by name.
        let names: Vec<&Ident> = param_decls
            .iter()
            .map(|d| &d.name)
            .chain(stage_decls.iter().map(|s| &s.name))
            .collect();
        let duplicates = self.unique_names(&names, "name");
        for name in &names {
            if self.declare_name(name, "a parameter or stage") {
                self.dns_label(name, 63);
            }
        }

        let mut params = Vec::new();
        let mut param_types = IndexMap::default();
        for (i, d) in param_decls.iter().enumerate() {
            let Some(ty) = self.type_expr(&d.ty) else {
                continue;
            };
            if ty.is_artifact() {
                self.push(MlpError::ArtifactValueMismatch {
                    src: self.src(d.ty.span),
                    at: d.ty.span.into(),
                    found: ty.describe(),
                    expected: "a value type for a pipeline parameter".into(),
                    help: Some("parameters are values (string, int, float, bool, duration, quantity, list, map); artifacts come from stages".into()),
                });
                continue;
            }
            let default = d
                .value
                .as_ref()
                .and_then(|v| self.literal_of_type(v, &ty, "a default"));
            if !duplicates.contains(&i) {
                param_types.insert(d.name.name.clone(), ty.clone());
            }
            params.push(hir::Param {
                name: d.name.name.clone(),
                dns_name: dns_name(&d.name.name).into(),
                ty,
                default,
                span: d.span,
            });
        }

        let mut pcx = PipelineCx {
            params: param_types,
            stages: Vec::new(),
            stage_index: HashMap::default(),
            scheduled: setting_items.iter().any(|i| i.key.name == "schedule"),
        };
        for (i, s) in stage_decls.iter().enumerate() {
            let sig = self.stage_sig(module, s);
            if !duplicates.contains(&(i + param_decls.len())) {
                pcx.stage_index
                    .insert(s.name.name.clone(), pcx.stages.len());
            }
            pcx.stages.push(sig);
        }

        let place = format!("pipeline `{}`", p.name.name);
        let settings = self.record(
            &setting_items,
            schema::PIPELINE,
            Scope::Pipeline {
                pcx: &pcx,
                stage: None,
                for_each: false,
                item_keys: None,
            },
            &place,
            p.name.span,
        );
        self.plain_http_credentials(&settings);
        if !pcx.scheduled {
            for it in setting_items
                .iter()
                .filter(|i| schema::SCHEDULE_SETTINGS.contains(&i.key.name.as_str()))
            {
                self.invalid(
                    it.key.span,
                    &it.key.name,
                    "it applies to a scheduled pipeline, and this one has no `schedule`",
                    Some(
                        "add `schedule = \"CRON\"`, which makes the pipeline a CronWorkflow".into(),
                    ),
                );
            }
        }
        if let Some(Spanned {
            value: Value::Str(parts),
            span,
        }) = settings.get("timezone")
        {
            if let Some(zone) = plain_text(parts).filter(|z| !is_time_zone_name(z)) {
                self.invalid(
                    *span,
                    "timezone",
                    &format!("\"{}\" is not an IANA time zone name", zone.escape_debug()),
                    Some(
                        "write a name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\""
                            .into(),
                    ),
                );
            }
        }
        let defaults = match defaults_block {
            Some(item) => self.defaults(item, &pcx),
            None => Fields::default(),
        };

        let mlflow = settings.get("mlflow");
        let mut stages = Vec::new();
        for (i, s) in stage_decls.into_iter().enumerate() {
            let stage = self.stage(module, &s, i, &pcx, &defaults);
            if let Some(stage) = &stage {
                let needs = match stage.kind {
                    _ if stage.tracked => Some("it is tracked"),
                    StageKind::Register => Some("`register` stages use the MLflow Model Registry"),
                    StageKind::Deploy => {
                        Some("`deploy` stages find the model in the MLflow Model Registry")
                    }
                    _ => None,
                };
                if let (Some(reason), None) = (needs, mlflow) {
                    self.push(MlpError::TrackingNeedsMlflow {
                        src: self.src(s.name.span),
                        at: s.name.span.into(),
                        stage: s.name.name.to_string(),
                        reason: reason.into(),
                        tracked: stage.tracked,
                    });
                }
                if stage.kind == StageKind::Deploy {
                    let has_store = matches!(mlflow, Some(Spanned { value: Value::Map(m), .. }) if m.contains_key("artifact_store"));
                    if !has_store {
                        self.push(MlpError::DeployWithoutArtifactStore {
                            src: self.src(s.name.span),
                            at: s.name.span.into(),
                            stage: s.name.name.to_string(),
                        });
                    }
                }
            }
            stages.push(stage);
        }
        for stage in stages.iter().flatten() {
            self.values_in_code(stage, &defaults);
        }
        let stages: Vec<hir::Stage> = if stages.iter().all(Option::is_some) {
            stages.into_iter().flatten().collect()
        } else {
            Vec::new()
        };
        if !stages.is_empty() {
            for cycle in graph::cycles(&stages) {
                self.push(graph::cycle_error(self.sources, &stages, &cycle));
            }
        }
        hir::Pipeline {
            name: p.name.name.clone(),
            name_span: p.name.span,
            dns_name: dns.into(),
            params,
            settings,
            defaults,
            stages,
            span: p.span,
        }
    }

    /// W0206: credentials sent over plain http to a host outside the cluster.
    fn plain_http_credentials(&mut self, settings: &Fields) {
        let Some(Spanned {
            value: Value::Map(mlflow),
            ..
        }) = settings.get("mlflow")
        else {
            return;
        };
        let Some(uri) = mlflow.get("tracking_uri") else {
            return;
        };
        let Value::Str(parts) = &uri.value else {
            return;
        };
        let Some(text) = plain_text(parts) else {
            return;
        };
        let Some(rest) = text.strip_prefix("http://") else {
            return;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = match authority.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => authority,
        };
        if mlflow.contains_key("credentials") && !in_cluster_host(host) {
            self.push(MlpError::PlainHttpCredentials {
                src: self.src(uri.span),
                at: uri.span.into(),
                host: host.to_string(),
            });
        }
    }

    /// E0229: a reference in code that no shell runs (`python -c "...${x}"`,
    /// a `script` with `shell = "python3"`). Checked on the effective fields
    /// (a template's command with a stage's args); each place once.
    fn values_in_code(&mut self, stage: &hir::Stage, defaults: &Fields) {
        let fields = effective_fields(&self.templates, defaults, stage);
        let literal = |v: &Value| match v {
            Value::Str(parts) => plain_text(parts),
            Value::Int(i) => Some(i.to_string()),
            _ => None,
        };
        let holds_ref = |v: &Value| match v {
            Value::Ref(_) => true,
            Value::Str(parts) => parts.iter().any(|p| matches!(p, StrPart::Ref(_))),
            _ => false,
        };
        let found = if let Some(script) = fields.get("script") {
            let shell = fields
                .get("shell")
                .and_then(|s| literal(&s.value))
                .unwrap_or_else(|| "sh".into());
            (!argv::is_shell(&shell) && holds_ref(&script.value))
                .then(|| (script.span, shell.to_string()))
        } else {
            let list = |k: &str| match fields.get(k).map(|f| &f.value) {
                Some(Value::List(items)) => items.clone(),
                _ => Vec::new(),
            };
            let items: Vec<Spanned<Value>> =
                list("command").into_iter().chain(list("args")).collect();
            let words: Vec<Option<String>> = items.iter().map(|i| literal(&i.value)).collect();
            let words: Vec<Option<&str>> = words.iter().map(Option::as_deref).collect();
            match argv::code_argument(&words) {
                Some((i, argv::Code::Inline(name))) if holds_ref(&items[i].value) => {
                    Some((items[i].span, name.to_string()))
                }
                _ => None,
            }
        };
        let Some((span, interpreter)) = found else {
            return;
        };
        if !self.reported_code_values.insert(span) {
            return;
        }
        self.push(MlpError::ValueInCode {
            src: self.src(span),
            at: span.into(),
            interpreter,
            help: Some("pass it in `env { NAME = value }` and read the environment variable in the code (`os.environ[\"NAME\"]`, `process.env.NAME`, `$ENV{NAME}`)".into()),
        });
    }

    fn defaults_item<'i>(&mut self, item: Item<'i>, previous: Option<Item<'i>>) -> Item<'i> {
        if let Some(first) = previous {
            self.push(MlpError::Duplicate {
                src: self.src(item.key.span),
                what: "block".into(),
                name: "defaults".into(),
                again: item.key.span.into(),
                first: first.key.span.into(),
            });
        }
        item
    }

    /// `defaults { ... }`: any stage field, with no stage outputs in it.
    fn defaults(&mut self, item: Item, pcx: &PipelineCx) -> Fields {
        let Some(items) = self.record_items(item.node, "`defaults`") else {
            return Fields::default();
        };
        let scope = Scope::Pipeline {
            pcx,
            stage: None,
            for_each: false,
            item_keys: None,
        };
        let mut fields = Fields::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "field") {
                continue;
            }
            match schema::stage_field(&it.key.name, None) {
                Some(Ok(spec)) => {
                    if matches!(
                        spec.ty,
                        FieldTy::After
                            | FieldTy::ForEach
                            | FieldTy::RegisterModel
                            | FieldTy::DeployModel
                    ) || matches!(
                        it.key.name.as_str(),
                        "name" | "service" | "alias" | "metrics" | "params" | "track"
                    ) {
                        self.push(MlpError::EntryNotAllowed {
                            src: self.src(it.key.span),
                            at: it.key.span.into(),
                            entry: format!("the field `{}`", it.key.name),
                            place: "`defaults`".into(),
                            help: Some(
                                "this field is particular to each stage; set it on the stage"
                                    .into(),
                            ),
                        });
                        continue;
                    }
                    if let Some(v) = self.field(spec, it, scope) {
                        fields.insert(it.key.name.clone(), v);
                    }
                }
                _ => self.unknown_field(it.key, "`defaults`", &schema::stage_field_names(None)),
            }
        }
        fields
    }

    // ----- stages ------------------------------------------------------------

    fn resolve_template(&mut self, module: usize, r: &ast::TemplateRef) -> Option<Option<usize>> {
        let target_module = match &r.module {
            None => module,
            Some(alias) => {
                let found = self.modules[module]
                    .imports
                    .iter()
                    .find(|i| i.alias.name == alias.name)
                    .map(|i| i.module);
                match found {
                    Some(m) => m,
                    None => {
                        let aliases: Vec<&str> = self.modules[module]
                            .imports
                            .iter()
                            .map(|i| i.alias.name.as_str())
                            .collect();
                        let help = match closest(&alias.name, aliases.iter().copied()) {
                            Some(c) => Some(format!("did you mean `{c}.{}`?", r.name.name)),
                            None if crate::stdlib::module(&alias.name).is_some() => Some(format!(
                                "add `import std.{}` at the top of the file",
                                alias.name
                            )),
                            None => Some(format!("no import is named `{}`", alias.name)),
                        };
                        self.push(MlpError::UnknownTemplate {
                            src: self.src(r.span),
                            at: r.span.into(),
                            name: r.display(),
                            help,
                        });
                        return None;
                    }
                }
            }
        };
        if !self.loaded[target_module] {
            // The module failed to load or parse; that is reported already.
            return Some(None);
        }
        match self
            .template_index
            .get(&(target_module, r.name.name.clone()))
        {
            Some(found) => Some(*found),
            None => {
                let names: Vec<&str> = self
                    .template_index
                    .keys()
                    .filter(|(m, _)| *m == target_module)
                    .map(|(_, n)| n.as_str())
                    .collect();
                let is_pipeline = self
                    .pipeline_names
                    .contains(&(target_module, r.name.name.clone()));
                let help = is_pipeline
                    .then(|| format!("`{}` is a pipeline, not a template: a stage `uses` a `template KIND NAME {{ ... }}`; running a pipeline as a stage (sub-pipelines) comes with group templates in contract v2", r.display()))
                    .or_else(|| closest(&r.name.name, names.iter().copied())
                    .map(|c| match &r.module {
                        Some(m) => format!("did you mean `{}.{c}`?", m.name),
                        None => format!("did you mean `{c}`?"),
                    })
                    .or_else(|| {
                        let mut sorted = names.clone();
                        sorted.sort_unstable();
                        (!sorted.is_empty()).then(|| format!("available: {}", sorted.join(", ")))
                    }));
                self.push(MlpError::UnknownTemplate {
                    src: self.src(r.span),
                    at: r.span.into(),
                    name: r.display(),
                    help,
                });
                None
            }
        }
    }

    /// Everything other stages may see of `s`, computed before any body is
    /// checked so that references may point forward.
    fn stage_sig(&mut self, module: usize, s: &ast::Stage) -> StageSig {
        let kind = self.stage_kind(&s.kind);
        let template = s
            .uses
            .as_ref()
            .and_then(|r| self.resolve_template(module, r))
            .flatten()
            .map(|i| &self.templates[i]);
        let mut outputs: IndexMap<Text, Ty> = IndexMap::default();
        if let Some(t) = template {
            for o in &t.outputs {
                outputs.insert(o.name.clone(), o.ty.clone());
            }
        }
        for e in &s.body.entries {
            if let Entry::Output(d) = e {
                if let Some(ty) = Ty::from_name(
                    &d.ty.name.name,
                    d.ty.arg
                        .as_ref()
                        .and_then(|a| Ty::from_name(&a.name.name, None)),
                ) {
                    outputs.insert(d.name.name.clone(), ty);
                }
            }
        }
        // With a kind mismatch (reported later), tracking is not decidable.
        let kind_mismatch = matches!((kind, template), (Some(k), Some(t)) if t.kind != k);
        let own_track = literal_bool(&s.body, "track");
        let template_track = template.and_then(|t| match t.fields.get("track") {
            Some(Spanned {
                value: Value::Bool(b),
                ..
            }) => Some(*b),
            _ => None,
        });
        let tracked = own_track
            .or(template_track)
            .unwrap_or(kind == Some(StageKind::Train))
            && kind.is_some_and(StageKind::runs_user_container)
            && !kind_mismatch;
        let mut metrics = literal_names(&s.body, "metrics");
        if metrics.is_empty() {
            if let Some(Spanned {
                value: Value::List(items),
                ..
            }) = template.and_then(|t| t.fields.get("metrics"))
            {
                metrics = items
                    .iter()
                    .filter_map(|i| match &i.value {
                        Value::Str(parts) => plain_text(parts),
                        _ => None,
                    })
                    .collect();
            }
        }
        if let Some(kind) = kind {
            for (name, ty) in schema::builtin_outputs(kind, tracked) {
                outputs.entry((*name).into()).or_insert_with(|| ty.clone());
            }
        }
        StageSig {
            name: s.name.name.clone(),
            for_each: has_field(&s.body, "for_each")
                || template.is_some_and(|t| t.fields.contains_key("for_each")),
            kind,
            outputs,
            metrics: if tracked {
                metrics.into_iter().map(Text::from).collect()
            } else {
                Vec::new()
            },
            tracked,
        }
    }

    fn stage(
        &mut self,
        module: usize,
        s: &ast::Stage,
        index: usize,
        pcx: &PipelineCx,
        defaults: &Fields,
    ) -> Option<hir::Stage> {
        let sig = &pcx.stages[index];
        let kind = sig.kind;
        let template = match &s.uses {
            Some(r) => match self.template_ref_quiet(module, r) {
                Some(Some(t)) => Some(t),
                // Unknown or broken template: already reported.
                Some(None) | None => {
                    self.deps.clear();
                    return None;
                }
            },
            None => None,
        };
        if let (Some(kind), Some(t)) = (kind, template) {
            let tk = self.templates[t].kind;
            if tk != kind {
                self.push(MlpError::TemplateKindMismatch {
                    src: self.src(s.kind.span),
                    at: s.kind.span.into(),
                    stage_kind: kind.name().into(),
                    template: s.uses.as_ref().map(|r| r.display()).unwrap_or_default(),
                    template_kind: tk.name().into(),
                });
            }
        }
        let for_each = has_field(&s.body, "for_each")
            || template.is_some_and(|t| self.templates[t].fields.contains_key("for_each"));
        let item_keys = literal_item_keys(&s.body).or_else(|| {
            let t = &self.templates[template?];
            match &t.fields.get("for_each")?.value {
                Value::List(items) => Some(items.iter().map(|i| hir_item_keys(&i.value)).collect()),
                _ => None,
            }
        });
        let scope = Scope::Pipeline {
            pcx,
            stage: Some(index),
            for_each,
            item_keys: item_keys.as_deref(),
        };
        self.deps.clear();

        // Assignments that name a template input are arguments, not fields.
        let inputs: Vec<hir::Input> = template
            .map(|t| self.templates[t].inputs.clone())
            .unwrap_or_default();
        let mut args: IndexMap<Text, Spanned<Value>> = IndexMap::default();
        let mut supplied: HashSet<String> = HashSet::default();
        let mut field_entries: Vec<&Entry> = Vec::new();
        for entry in &s.body.entries {
            match entry {
                Entry::Field(f) if inputs.iter().any(|i| i.name == f.name.name) => {
                    let input = inputs.iter().find(|i| i.name == f.name.name).cloned();
                    if args.contains_key(f.name.name.as_str()) {
                        let first = args[f.name.name.as_str()].span;
                        self.push(MlpError::Duplicate {
                            src: self.src(f.name.span),
                            what: "input".into(),
                            name: f.name.name.to_string(),
                            again: f.name.span.into(),
                            first: first.into(),
                        });
                        continue;
                    }
                    supplied.insert(f.name.name.to_string());
                    if let Some(input) = input {
                        if let Some(v) = self.assign(
                            &f.value,
                            &input.ty,
                            scope,
                            &format!("input `{}`", input.name),
                        ) {
                            args.insert(
                                f.name.name.clone(),
                                Spanned {
                                    value: v,
                                    span: f.span,
                                },
                            );
                        }
                    }
                }
                other => field_entries.push(other),
            }
        }
        let uses = match template {
            Some(t) => {
                let t_name = s.uses.as_ref().map(|r| r.display()).unwrap_or_default();
                for input in &inputs {
                    if supplied.contains(input.name.as_str()) {
                        continue;
                    }
                    match &input.default {
                        Some(d) => {
                            args.insert(input.name.clone(), d.clone());
                        }
                        None => self.push(MlpError::MissingInput {
                            src: self.src(s.name.span),
                            at: s.name.span.into(),
                            template: t_name.clone(),
                            input: input.name.to_string(),
                            help: Some(format!(
                                "add `{} = ...` ({}) to the stage",
                                input.name,
                                input.ty.describe()
                            )),
                        }),
                    }
                }
                Some(hir::TemplateUse {
                    template: t,
                    args,
                    span: s.uses.as_ref().map_or(s.span, |r| r.span),
                })
            }
            None => None,
        };

        let place = match kind {
            Some(k) => format!("`{}` stage `{}`", k.name(), s.name.name),
            None => format!("stage `{}`", s.name.name),
        };
        let (fields, when) = self.stage_body(&field_entries, kind, scope, &place, false);
        let mut outputs = Vec::new();
        for e in &field_entries {
            if let Entry::Output(d) = e {
                if kind.is_some_and(|k| !k.runs_user_container()) {
                    self.push(MlpError::FieldNotForKind {
                        src: self.src(d.span),
                        at: d.span.into(),
                        field: "output".into(),
                        kind: kind.map(StageKind::name).unwrap_or_default().into(),
                        help: Some("register and deploy stages have built-in outputs (`version`, `model_uri`, `url`)".into()),
                    });
                    continue;
                }
                if let Some(o) = self.output_decl(d) {
                    outputs.push(o);
                }
            }
        }
        let mut own_outputs: Vec<&Ident> = Vec::new();
        if let Some(t) = template {
            let template_outputs = self.templates[t].outputs.clone();
            for o in &template_outputs {
                if let Some(mine) = field_entries.iter().find_map(|e| match e {
                    Entry::Output(d) if d.name.name == o.name => Some(&d.name),
                    _ => None,
                }) {
                    let (src, again) = (self.src(mine.span), mine.span);
                    let first = if o.span.source == again.source {
                        o.span
                    } else {
                        again
                    };
                    self.push(MlpError::Duplicate {
                        src,
                        what: "output".into(),
                        name: o.name.to_string(),
                        again: again.into(),
                        first: first.into(),
                    });
                }
            }
        }
        for e in &field_entries {
            if let Entry::Output(d) = e {
                own_outputs.push(&d.name);
            }
        }
        self.unique_names(&own_outputs, "output");
        if let Some(k) = kind {
            let builtins = schema::builtin_outputs(k, sig.tracked);
            for name in own_outputs
                .iter()
                .filter(|o| builtins.iter().any(|(b, _)| *b == o.name))
            {
                self.push(MlpError::OutputShadowsBuiltin {
                    src: self.src(name.span),
                    at: name.span.into(),
                    name: name.name.to_string(),
                    help: Some(format!(
                        "this `{}` stage already has `{}.{}`; rename the declared output",
                        k.name(),
                        s.name.name,
                        name.name
                    )),
                });
            }
        }

        let kind = kind?;
        self.required_fields(s, kind, &fields, template, defaults, sig.tracked);
        let mut seen_deps = HashSet::default();
        let deps: Vec<Dep> = std::mem::take(&mut self.deps)
            .into_iter()
            .filter(|d| seen_deps.insert(d.stage))
            .collect();
        // Maps grow by doubling; a program holds one per stage.
        let mut fields = fields;
        fields.shrink_to_fit();
        let mut outputs = outputs;
        outputs.shrink_to_fit();
        Some(hir::Stage {
            name: s.name.name.clone(),
            dns_name: dns_name(&s.name.name).into(),
            kind,
            uses,
            fields,
            outputs,
            when,
            tracked: sig.tracked,
            deps,
            span: s.span,
        })
    }

    /// Like `resolve_template`, without reporting again (the signature pass did).
    fn template_ref_quiet(&self, module: usize, r: &ast::TemplateRef) -> Option<Option<usize>> {
        let target = match &r.module {
            None => module,
            Some(alias) => {
                self.modules[module]
                    .imports
                    .iter()
                    .find(|i| i.alias.name == alias.name)?
                    .module
            }
        };
        self.template_index
            .get(&(target, r.name.name.clone()))
            .copied()
    }

    fn required_fields(
        &mut self,
        s: &ast::Stage,
        kind: StageKind,
        fields: &Fields,
        template: Option<usize>,
        defaults: &Fields,
        tracked: bool,
    ) {
        for name in schema::required_stage_fields(kind) {
            let from_template =
                template.is_some_and(|t| self.templates[t].fields.contains_key(*name));
            // A field that is written but invalid is reported as invalid, not missing.
            if fields.contains_key(*name)
                || has_field(&s.body, name)
                || from_template
                || defaults.contains_key(*name)
            {
                continue;
            }
            // `imgae = ...` is reported as an unknown field with a suggestion;
            // saying that `image` is missing as well would be noise.
            let known = schema::stage_field_names(Some(kind));
            let misspelled = s.body.entries.iter().any(|e| {
                let written = match e {
                    Entry::Field(f) => &f.name.name,
                    Entry::Block(b) => &b.name.name,
                    _ => return false,
                };
                !known.contains(&written.as_str())
                    && closest(written, known.iter().copied()) == Some(*name)
            });
            if misspelled {
                continue;
            }
            let help = match *name {
                "image" => {
                    "add `image = \"registry/name:tag\"`, or set it in `defaults` or the template"
                        .to_string()
                }
                "model" if kind == StageKind::Register => {
                    "add `model = TRAIN_STAGE.model`".to_string()
                }
                "model" => "add `model = REGISTER_STAGE.version`".to_string(),
                "name" => "add `name = \"registered-model-name\"`".to_string(),
                "service" => "add `service = \"inference-service-name\"`".to_string(),
                other => format!("add `{other} = ...`"),
            };
            self.push(MlpError::MissingField {
                src: self.src(s.name.span),
                at: s.name.span.into(),
                field: name.to_string(),
                context: format!("`{}` stage `{}`", kind.name(), s.name.name),
                help: Some(help),
            });
        }
        let script = fields.get("script").map(|f| f.span);
        let command = fields.get("command").map(|f| f.span);
        let template_keys: HashSet<Text> = template
            .map(|t| self.templates[t].fields.keys().cloned().collect())
            .unwrap_or_default();
        let template_has = |name: &str| template_keys.contains(name);
        let shell = fields.get("shell").map(|f| f.span);
        let has_script =
            script.is_some() || template_has("script") || defaults.contains_key("script");
        let has_for_each = fields.contains_key("for_each") || template_has("for_each");
        if let (Some(shell), false) = (shell, has_script) {
            self.push(MlpError::InvalidValue {
                src: self.src(shell),
                at: shell.into(),
                field: "shell".into(),
                reason: "`shell` runs a `script`, and this stage has none".into(),
                help: Some("add a `script`, or remove `shell`".into()),
            });
        }
        // A tracked stage runs through a wrapper that sets MLFLOW_RUN_ID; it
        // can only wrap a command it knows, not an image's entrypoint.
        let runs_something = command.is_some()
            || script.is_some()
            || has_field(&s.body, "command")
            || has_field(&s.body, "script")
            || template_has("command")
            || template_has("script")
            || defaults.contains_key("command")
            || defaults.contains_key("script");
        if tracked && !runs_something {
            self.push(MlpError::MissingField {
                src: self.src(s.name.span),
                at: s.name.span.into(),
                field: "command".into(),
                context: format!("tracked `{}` stage `{}`", kind.name(), s.name.name),
                help: Some("tracked stages run their command through a wrapper that sets MLFLOW_RUN_ID, so the command must be spelled out (`command = [...]` or `script`); or set `track = false`".into()),
            });
        } else if kind.runs_user_container()
            && !runs_something
            // Without an image (reported above) there is no entrypoint either.
            && (fields.contains_key("image")
                || template_has("image")
                || defaults.contains_key("image"))
        {
            self.push(MlpError::NoCommand {
                src: self.src(s.name.span),
                at: s.name.span.into(),
                stage: s.name.name.to_string(),
            });
        }
        // A deploy stage is three tasks (resolve, apply, wait); a fan-out
        // would need them grouped per item, which comes with v2 groups.
        if let (StageKind::Deploy, Some(f)) = (kind, fields.get("for_each")) {
            self.push(MlpError::InvalidValue {
                src: self.src(f.span),
                at: f.span.into(),
                field: "for_each".into(),
                reason: "a `deploy` stage cannot fan out".into(),
                help: Some("write one deploy stage per service; fanning out a resolve-apply-wait rollout per item comes with v2 groups".into()),
            });
        }
        let parallelism = fields.get("parallelism").map(|f| f.span);
        if let (Some(p), false) = (parallelism, has_for_each) {
            self.push(MlpError::InvalidValue {
                src: self.src(p),
                at: p.into(),
                field: "parallelism".into(),
                reason: "`parallelism` limits a `for_each` fan-out, and this stage has none".into(),
                help: Some(
                    "add `for_each`, or set `parallelism` on the pipeline to limit the whole run"
                        .into(),
                ),
            });
        }
    }

    /// The fields and `when` of a stage or template body.
    fn stage_body(
        &mut self,
        entries: &[&Entry],
        kind: Option<StageKind>,
        scope: Scope,
        place: &str,
        is_template: bool,
    ) -> (Fields, Option<Spanned<Cond>>) {
        let mut fields = Fields::default();
        let mut when: Option<Spanned<Cond>> = None;
        let mut when_span: Option<Span> = None;
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for &entry in entries {
            let item = match entry {
                Entry::Field(f) => Item {
                    key: &f.name,
                    node: Node::Expr(&f.value),
                    span: f.span,
                },
                Entry::Block(b) => Item {
                    key: &b.name,
                    node: Node::Block(&b.body),
                    span: b.span,
                },
                Entry::When(w) => {
                    if let Some(first) = when_span {
                        self.push(MlpError::Duplicate {
                            src: self.src(w.span),
                            what: "condition".into(),
                            name: "when".into(),
                            again: w.span.into(),
                            first: first.into(),
                        });
                        continue;
                    }
                    when_span = Some(w.span);
                    when = self.condition(&w.cond, scope).map(|c| Spanned {
                        value: c,
                        span: w.cond.span,
                    });
                    continue;
                }
                Entry::Output(_) | Entry::Input(_) if is_template => continue,
                Entry::Output(_) => continue,
                Entry::Input(_) | Entry::Param(_) | Entry::Stage(_) => {
                    let help = match entry {
                        Entry::Stage(_) => "stages go directly in a pipeline",
                        Entry::Param(_) => "`param` declares a pipeline parameter; templates take `input`",
                        _ => "`input` declares a template input; in a stage, supply it as `NAME = value`",
                    };
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(entry.span()),
                        at: entry.span().into(),
                        entry: entry.describe(),
                        place: place.to_string(),
                        help: Some(help.into()),
                    });
                    continue;
                }
            };
            if item.key.name == "when" {
                self.push(MlpError::UnknownField {
                    src: self.src(item.key.span),
                    at: item.key.span.into(),
                    field: "when".into(),
                    context: place.to_string(),
                    help: Some("a condition is written without `=`: `when EXPR`".into()),
                });
                continue;
            }
            if !self.first_time(&mut seen, item.key, "field") {
                continue;
            }
            let spec = match schema::stage_field(&item.key.name, kind) {
                Some(Ok(spec)) => spec,
                Some(Err(kinds)) => {
                    let k = kind.map(StageKind::name).unwrap_or_default();
                    let help = match (item.key.name.as_str(), kind) {
                        (
                            "command" | "args" | "script" | "image" | "env" | "shell",
                            Some(StageKind::Register | StageKind::Deploy),
                        ) => {
                            format!("a `{k}` stage runs a step generated by mlpc; `{}` is available on {} stages", item.key.name, schema::kinds_names(kinds))
                        }
                        _ => format!(
                            "`{}` is available on {} stages",
                            item.key.name,
                            schema::kinds_names(kinds)
                        ),
                    };
                    self.push(MlpError::FieldNotForKind {
                        src: self.src(item.key.span),
                        at: item.key.span.into(),
                        field: item.key.name.to_string(),
                        kind: k.into(),
                        help: Some(help),
                    });
                    continue;
                }
                None => {
                    self.unknown_field(item.key, place, &schema::stage_field_names(kind));
                    continue;
                }
            };
            if kind.is_none() {
                continue;
            }
            if let Some(v) = self.field(spec, item, scope) {
                fields.insert(item.key.name.clone(), v);
            }
        }
        if let (Some(script), Some(command)) = (fields.get("script"), fields.get("command")) {
            self.push(MlpError::ExclusiveFields {
                src: self.src(script.span),
                first: "command".into(),
                second: "script".into(),
                first_at: command.span.into(),
                second_at: script.span.into(),
                help: Some("a `script` is run by `shell` (default `sh`); a `command` runs as is. Keep one; pass arguments with `args`".into()),
            });
        }
        (fields, when)
    }

    fn first_time<'i>(
        &mut self,
        seen: &mut HashMap<&'i str, Span>,
        key: &'i Ident,
        what: &str,
    ) -> bool {
        if let Some(first) = seen.get(key.name.as_str()) {
            self.push(MlpError::Duplicate {
                src: self.src(key.span),
                what: what.into(),
                name: key.name.to_string(),
                again: key.span.into(),
                first: (*first).into(),
            });
            return false;
        }
        seen.insert(&key.name, key.span);
        true
    }

    fn unknown_field(&mut self, key: &Ident, place: &str, candidates: &[&str]) {
        // A stage field written on the pipeline: say where it goes.
        let at_pipeline = place.starts_with("pipeline ");
        let stage_field = (at_pipeline && schema::is_stage_field(&key.name)).then(|| {
            let mut help = format!(
                "`{}` is a stage field: set it on a stage, or in `defaults {{ ... }}` to give it to every stage",
                key.name
            );
            if key.name == "volumes" {
                help.push_str("; volumes created for each run (`volume NAME { size = 10Gi }`) come with contract v2");
            }
            help
        });
        let help = stage_field
            .or_else(|| did_you_mean(&key.name, candidates.iter().copied()))
            .or_else(|| {
                (!schema::is_stage_field(&key.name) && candidates.len() <= 12).then(|| {
                    format!(
                        "the fields here are {}",
                        candidates
                            .iter()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
            });
        self.push(MlpError::UnknownField {
            src: self.src(key.span),
            at: key.span.into(),
            field: key.name.to_string(),
            context: place.to_string(),
            help,
        });
    }

    // ----- records (blocks and maps) ------------------------------------------

    /// The entries of a block or a map literal.
    fn record_items<'n>(&mut self, node: Node<'n>, place: &str) -> Option<Vec<Item<'n>>> {
        match node {
            Node::Block(body) => {
                let mut items = Vec::new();
                for entry in &body.entries {
                    match entry {
                        Entry::Field(f) => items.push(Item {
                            key: &f.name,
                            node: Node::Expr(&f.value),
                            span: f.span,
                        }),
                        Entry::Block(b) => items.push(Item {
                            key: &b.name,
                            node: Node::Block(&b.body),
                            span: b.span,
                        }),
                        other => self.push(MlpError::EntryNotAllowed {
                            src: self.src(other.span()),
                            at: other.span().into(),
                            entry: other.describe(),
                            place: place.to_string(),
                            help: None,
                        }),
                    }
                }
                Some(items)
            }
            Node::Expr(Expr {
                kind: ExprKind::Map(entries),
                ..
            }) => Some(
                entries
                    .iter()
                    .map(|e| Item {
                        key: &e.key,
                        node: Node::Expr(&e.value),
                        span: e.span,
                    })
                    .collect(),
            ),
            Node::Expr(other) => {
                self.push(MlpError::TypeMismatch {
                    src: self.src(other.span),
                    at: other.span.into(),
                    expected: format!("a block for {place}"),
                    found: other.kind.describe().into(),
                    help: Some("write `NAME { key = value, ... }`".into()),
                });
                None
            }
        }
    }

    /// A block checked against `specs`, as a map value.
    fn record(
        &mut self,
        items: &[Item],
        specs: &[FieldSpec],
        scope: Scope,
        place: &str,
        place_span: Span,
    ) -> Fields {
        let mut fields = Fields::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "field") {
                continue;
            }
            match specs.iter().find(|s| s.name == it.key.name) {
                Some(spec) => {
                    if let Some(v) = self.field(spec, *it, scope) {
                        fields.insert(it.key.name.clone(), v);
                    }
                }
                None => {
                    let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                    self.unknown_field(it.key, place, &names);
                }
            }
        }
        for spec in specs.iter().filter(|s| s.required) {
            if !seen.contains_key(spec.name) {
                self.push(MlpError::MissingField {
                    src: self.src(place_span),
                    at: place_span.into(),
                    field: spec.name.to_string(),
                    context: place.to_string(),
                    help: Some(format!("add `{} = ...`", spec.name)),
                });
            }
        }
        fields
    }

    // ----- fields --------------------------------------------------------------

    fn field(&mut self, spec: &FieldSpec, item: Item, scope: Scope) -> Option<Spanned<Value>> {
        let name = spec.name;
        let span = item.node.span();
        let value = match spec.ty {
            FieldTy::Block(specs) => {
                let sub_place = format!("`{name}`");
                let items = self.record_items(item.node, &sub_place)?;
                Value::Map(Box::new(
                    self.record(&items, specs, scope, &sub_place, item.key.span)
                        .into_iter()
                        .collect(),
                ))
            }
            FieldTy::Retries => match item.node {
                Node::Expr(Expr {
                    kind: ExprKind::Int(_) | ExprKind::Ref(_),
                    ..
                }) => self.int(item, 0, i64::MAX, scope)?,
                // `retries = 2x`: the literal's own error says it all.
                Node::Expr(Expr {
                    kind: ExprKind::Invalid,
                    ..
                }) => return None,
                Node::Expr(
                    e @ Expr {
                        kind:
                            ExprKind::Str(_)
                            | ExprKind::Float(_)
                            | ExprKind::Unit(_)
                            | ExprKind::Bool(_),
                        ..
                    },
                ) => {
                    self.mismatch(
                        e,
                        "a number of retries (`retries = 3`) or a block (`retries { limit = 3, backoff = 30s }`)",
                        None,
                    );
                    return None;
                }
                node => {
                    let items = self.record_items(node, "`retries`")?;
                    Value::Map(Box::new(
                        self.record(&items, schema::RETRIES, scope, "`retries`", item.key.span)
                            .into_iter()
                            .collect(),
                    ))
                }
            },
            FieldTy::Env => self.env(item, scope)?,
            FieldTy::StrMap(kind) => self.str_map(item, kind, scope)?,
            FieldTy::Params => self.params(item, scope)?,
            _ => {
                let Node::Expr(expr) = item.node else {
                    self.push(MlpError::TypeMismatch {
                        src: self.src(span),
                        at: span.into(),
                        expected: expected_words(spec.ty),
                        found: "a block".into(),
                        help: Some(format!("write `{name} = ...`")),
                    });
                    return None;
                };
                self.expr_field(spec, expr, item, scope)?
            }
        };
        Some(Spanned { value, span })
    }

    fn expr_field(
        &mut self,
        spec: &FieldSpec,
        expr: &Expr,
        item: Item,
        scope: Scope,
    ) -> Option<Value> {
        if matches!(expr.kind, ExprKind::Invalid) {
            return None;
        }
        let name = spec.name;
        if spec.fixed && holds_reference(expr) {
            self.compile_time_value(expr.span, name);
            return None;
        }
        match spec.ty {
            FieldTy::Str => self.string_value(expr, scope, name),
            FieldTy::Script => self.script(expr, scope),
            FieldTy::Int { min, max } => self.int(item, min, max, scope),
            FieldTy::Number { min } => {
                let v = match &expr.kind {
                    ExprKind::Int(i) => *i as f64,
                    ExprKind::Float(f) => *f,
                    _ => {
                        return self.typed_ref_or_mismatch(expr, &Ty::Float, scope, "a number");
                    }
                };
                if v < min {
                    self.push(MlpError::InvalidValue {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        field: name.into(),
                        reason: format!("must be at least {min}"),
                        help: None,
                    });
                    return None;
                }
                Some(Value::Float(v))
            }
            FieldTy::Bool => match &expr.kind {
                ExprKind::Bool(b) => Some(Value::Bool(*b)),
                _ if name == "track" => {
                    self.mismatch(
                        expr,
                        "`true` or `false` (tracking is decided at compile time)",
                        None,
                    );
                    None
                }
                _ => self.typed_ref_or_mismatch(expr, &Ty::Bool, scope, "`true` or `false`"),
            },
            FieldTy::Duration => self.duration(expr, scope, name),
            FieldTy::Quantity => self.quantity(expr, scope, name),
            FieldTy::Args => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, "a list such as `[\"python\", \"train.py\"]`", None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let mut failed = false;
                for it in items {
                    // Lists and maps pass as compact JSON text, as Argo
                    // passes such parameters.
                    let Some((v, _)) = self.value_of(it, scope) else {
                        failed = true;
                        continue;
                    };
                    out.push(Spanned {
                        value: v,
                        span: it.span,
                    });
                }
                if failed {
                    return None;
                }
                Some(Value::List(out))
            }
            FieldTy::Names | FieldTy::StrList => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, "a list of strings", None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let mut seen: HashMap<String, Span> = HashMap::default();
                for it in items {
                    let text = match &it.kind {
                        ExprKind::Str(parts) => plain_text(parts),
                        _ => None,
                    };
                    let Some(text) = text else {
                        self.mismatch(it, "a literal string", None);
                        continue;
                    };
                    self.no_argo_braces(&text, it.span);
                    if text.is_empty() {
                        self.invalid(it.span, name, "an empty name", None);
                        continue;
                    }
                    if let Some(first) = seen.get(&text) {
                        self.push(MlpError::Duplicate {
                            src: self.src(it.span),
                            what: if matches!(spec.ty, FieldTy::Names) {
                                "metric"
                            } else {
                                "entry"
                            }
                            .into(),
                            name: text.clone(),
                            again: it.span.into(),
                            first: (*first).into(),
                        });
                        continue;
                    }
                    seen.insert(text.clone(), it.span);
                    out.push(Spanned {
                        value: Value::Str(vec![StrPart::Text(text.into())]),
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            FieldTy::After => self.after(expr, scope),
            FieldTy::Cache => match &expr.kind {
                ExprKind::Bool(b) => Some(Value::Bool(*b)),
                // Argo can take the age from a parameter, but whether a
                // template is memoized at all is fixed in the workflow.
                ExprKind::Ref(r) => match self.resolve(r, scope)? {
                    (_, Ty::Bool) => {
                        self.compile_time_value(expr.span, "cache = true|false");
                        None
                    }
                    _ => self.duration(expr, scope, name),
                },
                _ => self.duration(expr, scope, name),
            },
            FieldTy::ForEach => self.for_each(expr, scope),
            FieldTy::Records(specs) => {
                let ExprKind::List(items) = &expr.kind else {
                    self.mismatch(expr, &format!("a list of maps for `{name}`"), None);
                    return None;
                };
                let mut out = Vec::with_capacity(items.len());
                let place = format!("an entry of `{name}`");
                for it in items {
                    let Some(entries) = self.record_items(Node::Expr(it), &place) else {
                        continue;
                    };
                    let rec = self.record(&entries, specs, scope, &place, it.span);
                    out.push(Spanned {
                        value: Value::Map(Box::new(rec.into_iter().collect())),
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            FieldTy::Enum(allowed) => {
                let text = match &expr.kind {
                    ExprKind::Str(parts) => plain_text(parts),
                    _ => None,
                };
                let Some(text) = text else {
                    self.mismatch(expr, &format!("one of {}", quoted_list(allowed)), None);
                    return None;
                };
                if !allowed.contains(&text.as_str()) {
                    let help = closest(&text, allowed.iter().copied())
                        .map(|c| format!("did you mean \"{c}\"?"))
                        .or_else(|| Some(format!("use one of {}", quoted_list(allowed))));
                    self.invalid(
                        expr.span,
                        name,
                        &format!(
                            "\"{}\" is not one of {}",
                            text.escape_debug(),
                            quoted_list(allowed)
                        ),
                        help,
                    );
                    return None;
                }
                Some(Value::Str(vec![StrPart::Text(text.into())]))
            }
            FieldTy::RegisterModel => self.register_model(expr, scope),
            FieldTy::DeployModel => self.deploy_model(expr, scope),
            FieldTy::Credentials => {
                let secret = self.secret_call(expr, 1)?;
                Some(secret)
            }
            FieldTy::CaBundle => self.key_call(
                expr,
                2,
                &[hir::KeySource::ConfigMap, hir::KeySource::Secret],
            ),
            FieldTy::Cron => self.cron(expr),
            FieldTy::TrackingUri => self.tracking_uri(expr),
            FieldTy::Path => self
                .path_literal(expr)
                .map(|p| Value::Str(vec![StrPart::Text(p.into())])),
            // Blocks and maps are handled by `field` before this is called.
            FieldTy::Block(_)
            | FieldTy::Retries
            | FieldTy::Env
            | FieldTy::StrMap(_)
            | FieldTy::Params => None,
        }
    }

    /// E0226: a run-time value in a field that must be a literal.
    fn compile_time_value(&mut self, span: Span, field: &str) {
        let why = match field {
            "cpu" | "memory" | "gpu" | "ephemeral_storage" => {
                "Kubernetes reads resources when the pod is created and Argo cannot substitute a quantity (argo-workflows#3058); write a literal such as `4`, `500m` or `16Gi`"
            }
            "min_replicas" | "max_replicas" | "canary" | "service" | "namespace" | "format" => {
                "the InferenceService is written at compile time so that no run-time value can change it; write a literal number"
            }
            "cache = true|false" => {
                "whether a step is cached is fixed in the workflow; a parameter may give its age (`cache = DURATION`)"
            }
            _ => "Argo reads this field as a number, where nothing can be substituted at run time; write a literal",
        };
        self.push(MlpError::CompileTimeValue {
            src: self.src(span),
            at: span.into(),
            field: field.to_string(),
            help: Some(why.to_string()),
        });
    }

    fn mismatch(&mut self, expr: &Expr, expected: &str, help: Option<String>) {
        if matches!(expr.kind, ExprKind::Invalid) {
            return; // reported when it was read
        }
        self.push(MlpError::TypeMismatch {
            src: self.src(expr.span),
            at: expr.span.into(),
            expected: expected.to_string(),
            found: expr.kind.describe().to_string(),
            help,
        });
    }

    fn invalid(&mut self, span: Span, field: &str, reason: &str, help: Option<String>) {
        self.push(MlpError::InvalidValue {
            src: self.src(span),
            at: span.into(),
            field: field.to_string(),
            reason: reason.to_string(),
            help,
        });
    }

    /// A reference whose type must fit `ty`; anything else is a mismatch.
    fn typed_ref_or_mismatch(
        &mut self,
        expr: &Expr,
        ty: &Ty,
        scope: Scope,
        words: &str,
    ) -> Option<Value> {
        if let ExprKind::Ref(r) = &expr.kind {
            let (reference, found) = self.resolve(r, scope)?;
            return self
                .check_ty(expr.span, &found, ty)
                .then_some(Value::Ref(reference));
        }
        self.mismatch(expr, words, None);
        None
    }

    /// Reports a type mismatch between a found and an expected type.
    fn check_ty(&mut self, span: Span, found: &Ty, expected: &Ty) -> bool {
        if assignable(found, expected) {
            return true;
        }
        if found.is_artifact() != expected.is_artifact() {
            let help = if found.is_artifact() {
                Some("an artifact is a file or folder; pass it in `command`, `args`, `env` or `script`, where it becomes the path to it".to_string())
            } else {
                Some("an artifact comes from a stage's `output` of an artifact type (dataset, model, file, dir, artifact)".to_string())
            };
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(span),
                at: span.into(),
                found: found.describe(),
                expected: expected.describe(),
                help,
            });
        } else {
            self.push(MlpError::TypeMismatch {
                src: self.src(span),
                at: span.into(),
                expected: expected.describe(),
                found: found.describe(),
                help: None,
            });
        }
        false
    }

    fn int(&mut self, item: Item, min: i64, max: i64, scope: Scope) -> Option<Value> {
        let Node::Expr(expr) = item.node else {
            return None;
        };
        let name = &item.key.name;
        match &expr.kind {
            ExprKind::Int(i) => {
                if *i < min || *i > max {
                    let reason = if max == i64::MAX {
                        format!("{i} is less than {min}")
                    } else {
                        format!("{i} is outside {min}..{max}")
                    };
                    self.invalid(expr.span, name, &reason, None);
                    return None;
                }
                Some(Value::Int(*i))
            }
            ExprKind::Ref(_) => self.typed_ref_or_mismatch(expr, &Ty::Int, scope, "an int"),
            _ => {
                self.mismatch(expr, "an int", None);
                None
            }
        }
    }

    fn duration(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let (secs, text) = match &expr.kind {
            ExprKind::Unit(u) => match u.duration_secs {
                Some(s) => (s, u.text.clone()),
                None => {
                    self.push(MlpError::WrongUnit {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        expected: "duration".into(),
                        found: u.text.to_string(),
                        help: Some(format!(
                            "`{field}` takes a duration such as `30s`, `10m`, `2h` or `1d`"
                        )),
                    });
                    return None;
                }
            },
            ExprKind::Str(parts) => match plain_text(parts)
                .and_then(|t| crate::syntax::parse_duration(&t).map(|s| (s, t.into())))
            {
                Some(found) => found,
                None => {
                    self.mismatch(expr, "a duration such as `30s` or `2h`", None);
                    return None;
                }
            },
            ExprKind::Int(i) => {
                self.push(MlpError::WrongUnit {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    expected: "duration".into(),
                    found: i.to_string(),
                    help: Some(format!(
                        "add a unit: `{i}s` for seconds, `{i}m` for minutes"
                    )),
                });
                return None;
            }
            ExprKind::Ref(_) => {
                return self.typed_ref_or_mismatch(expr, &Ty::Duration, scope, "a duration")
            }
            _ => {
                self.mismatch(expr, "a duration such as `30s` or `2h`", None);
                return None;
            }
        };
        if secs <= 0.0 {
            self.invalid(expr.span, field, "a duration must be positive", None);
            return None;
        }
        Some(Value::Duration { secs, text })
    }

    fn quantity(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let text = match &expr.kind {
            ExprKind::Unit(u) => match &u.quantity {
                Some(q) => q.clone(),
                None => {
                    self.push(MlpError::WrongUnit {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        expected: "quantity".into(),
                        found: u.text.to_string(),
                        help: Some(format!(
                            "`{field}` takes a quantity such as `500m`, `2`, `64Gi` or `1.5G`"
                        )),
                    });
                    return None;
                }
            },
            ExprKind::Int(i) => i.to_string().into(),
            ExprKind::Float(f) => f.to_string().into(),
            ExprKind::Str(parts) => match plain_text(parts).filter(|t| is_quantity(t)) {
                Some(t) => t,
                None => {
                    self.mismatch(expr, "a quantity such as `500m` or `64Gi`", None);
                    return None;
                }
            }
            .into(),
            ExprKind::Ref(_) => {
                return self.typed_ref_or_mismatch(expr, &Ty::Quantity, scope, "a quantity")
            }
            _ => {
                self.mismatch(expr, "a quantity such as `500m` or `64Gi`", None);
                return None;
            }
        };
        if text.starts_with('-') {
            self.invalid(expr.span, field, "a quantity cannot be negative", None);
            return None;
        }
        Some(Value::Quantity(text))
    }

    fn string_value(&mut self, expr: &Expr, scope: Scope, field: &str) -> Option<Value> {
        let (value, ty) = self.value_of(expr, scope)?;
        if ty.is_artifact() {
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(expr.span),
                at: expr.span.into(),
                found: ty.describe(),
                expected: format!("a string for `{field}`"),
                help: Some("artifacts can be passed in `command`, `args`, `env` and `script`, where they become a path".into()),
            });
            return None;
        }
        if !ty.is_scalar() {
            self.mismatch(expr, "a string", None);
            return None;
        }
        if field == "name" {
            // The MLflow Model Registry refuses these (mlflow.utils.validation).
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    if text.trim().is_empty() || text.contains(['/', ':']) {
                        self.invalid(expr.span, field, "registered model names cannot be empty or contain `/` or `:`", Some("MLflow rejects such names when the version is created; use e.g. \"fraud-detector\"".into()));
                        return None;
                    }
                }
            }
        }
        if field == "service" || field == "namespace" {
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    let dns1035 = field == "service";
                    let ok = is_dns_label(&text)
                        && (!dns1035 || text.starts_with(|c: char| c.is_ascii_lowercase()));
                    if !ok {
                        let what = if dns1035 {
                            "an InferenceService name"
                        } else {
                            "a namespace"
                        };
                        self.invalid(expr.span, field, &format!("\"{}\" is not {what}", text.escape_debug()), Some("use at most 63 lowercase letters, digits and `-`, starting with a letter and ending with a letter or digit".into()));
                        return None;
                    }
                }
            }
        }
        if field == "executor_service_account" || field == "deploy_service_account" {
            if let Value::Str(parts) = &value {
                if let Some(text) = plain_text(parts) {
                    // Argo finds the executor's token in the Secret
                    // `NAME.service-account-token`, itself at most 253 long.
                    if !is_dns_subdomain(&text) || text.len() > 253 - ".service-account-token".len()
                    {
                        self.invalid(expr.span, field, &format!("\"{}\" is not a service account name", text.escape_debug()), Some("use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 231 characters".into()));
                        return None;
                    }
                }
            }
        }
        if field == "image" {
            if let Some(text) = match &value {
                Value::Str(parts) => plain_text(parts),
                _ => None,
            } {
                if let Some(reason) = unpinned(&text) {
                    let name = text
                        .split('@')
                        .next()
                        .unwrap_or(&text)
                        .trim_end_matches(":latest")
                        .to_string();
                    self.push(MlpError::UnpinnedImage {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        image: text.clone(),
                        name,
                        reason: reason.into(),
                    });
                }
            }
            if let Value::Str(parts) = &value {
                if plain_text(parts)
                    .is_some_and(|t| t.trim().is_empty() || t.chars().any(char::is_whitespace))
                {
                    self.invalid(
                        expr.span,
                        field,
                        "an image reference cannot be empty or contain spaces",
                        Some("write e.g. \"registry.example.com/team/trainer:1.4.2\"".into()),
                    );
                    return None;
                }
            }
        }
        // Code and identity chosen by whoever submits the workflow.
        if matches!(field, "image" | "service_account" | "claim") {
            let chosen_at_run_time = match &value {
                Value::Ref(_) => true,
                Value::Str(parts) => parts.iter().any(|p| matches!(p, StrPart::Ref(_))),
                _ => false,
            };
            if chosen_at_run_time {
                self.push(MlpError::RunTimeIdentity {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    field: field.to_string(),
                });
            }
        }
        if field == "gpu_type" {
            let text = match &value {
                Value::Str(parts) => plain_text(parts),
                _ => None,
            };
            if let Some(text) = text.filter(|t| schema::gpu_node_label(t).is_none()) {
                let lower = text.to_ascii_lowercase();
                self.push(MlpError::UnknownGpuType {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    value: text.clone(),
                    help: Some(format!(
                        "write the label your GPU nodes carry: on GKE the accelerator name (e.g. \"nvidia-tesla-{l}\", selected by `cloud.google.com/gke-accelerator`), with NVIDIA GPU Feature Discovery the product name (e.g. \"Tesla-{u}\" or \"NVIDIA-{u}\", selected by `nvidia.com/gpu.product`)",
                        l = lower.trim_start_matches("nvidia-").trim_start_matches("tesla-"),
                        u = text.to_ascii_uppercase().trim_start_matches("NVIDIA-").trim_start_matches("TESLA-"),
                    )),
                });
            }
        }
        Some(value)
    }

    fn script(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        if !matches!(expr.kind, ExprKind::Str(_)) {
            self.mismatch(expr, "a string (usually a `\"\"\"` block)", None);
            return None;
        }
        self.value_of(expr, scope).map(|(v, _)| v)
    }

    fn env(&mut self, item: Item, scope: Scope) -> Option<Value> {
        let items = self.record_items(item.node, "`env`")?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "environment variable") {
                continue;
            }
            if !is_env_name(&it.key.name) {
                self.invalid(
                    it.key.span,
                    "env",
                    &format!(
                        "`{}` is not a valid environment variable name",
                        it.key.name.escape_debug()
                    ),
                    Some("use letters, digits, `_`, `-` and `.`, not starting with a digit".into()),
                );
                continue;
            }
            if it.key.name.starts_with("MLFLOW_") || it.key.name.starts_with("MLP_") {
                let reserved = [
                    "MLFLOW_RUN_ID",
                    "MLFLOW_TRACKING_URI",
                    "MLFLOW_EXPERIMENT_NAME",
                ];
                if reserved.contains(&it.key.name.as_str()) || it.key.name.starts_with("MLP_PARAM_")
                {
                    self.invalid(
                        it.key.span,
                        "env",
                        &format!("`{}` is set by mlpc's MLflow tracking", it.key.name),
                        Some("configure tracking in the pipeline's `mlflow` block".into()),
                    );
                    continue;
                }
            }
            let Node::Expr(expr) = it.node else {
                self.push(MlpError::TypeMismatch {
                    src: self.src(it.span),
                    at: it.span.into(),
                    expected: "a value or `secret(\"name\", \"key\")`".into(),
                    found: "a block".into(),
                    help: None,
                });
                continue;
            };
            let value = match &expr.kind {
                ExprKind::Call(_) => self.secret_call(expr, 2),
                // Lists and maps reach the container as compact JSON.
                _ => self.value_of(expr, scope).map(|(v, _)| v),
            };
            if let Some(v) = value {
                out.insert(
                    it.key.name.clone(),
                    Spanned {
                        value: v,
                        span: expr.span,
                    },
                );
            }
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }

    fn params(&mut self, item: Item, scope: Scope) -> Option<Value> {
        let items = self.record_items(item.node, "`params`")?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        for it in items {
            if !self.first_time(&mut seen, it.key, "param") {
                continue;
            }
            let Node::Expr(expr) = it.node else {
                self.mismatch_block(it.span, "a value");
                continue;
            };
            if !is_identifier(&it.key.name) {
                self.invalid(
                    it.key.span,
                    "params",
                    &format!(
                        "`{}` cannot become the environment variable MLP_PARAM_<NAME>",
                        it.key.name.escape_debug()
                    ),
                    Some("use letters, digits and `_`".into()),
                );
                continue;
            }
            let Some((v, ty)) = self.value_of(expr, scope) else {
                continue;
            };
            if ty.is_artifact() {
                self.check_ty(expr.span, &ty, &Ty::String);
                continue;
            }
            if !ty.is_scalar() {
                self.mismatch(
                    expr,
                    "a string, number or bool (MLflow params are text)",
                    None,
                );
                continue;
            }
            out.insert(
                it.key.name.clone(),
                Spanned {
                    value: v,
                    span: expr.span,
                },
            );
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }

    fn mismatch_block(&mut self, span: Span, expected: &str) {
        self.push(MlpError::TypeMismatch {
            src: self.src(span),
            at: span.into(),
            expected: expected.to_string(),
            found: "a block".into(),
            help: None,
        });
    }

    fn str_map(&mut self, item: Item, kind: MapKind, scope: Scope) -> Option<Value> {
        let place = format!("`{}`", item.key.name);
        let items = self.record_items(item.node, &place)?;
        let mut out = IndexMap::default();
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let what = match kind {
            MapKind::Labels => "label",
            MapKind::Annotations => "annotation",
            MapKind::Plain => "key",
        };
        for it in items {
            if !self.first_time(&mut seen, it.key, what) {
                continue;
            }
            self.no_argo_braces(&it.key.name, it.key.span);
            if kind != MapKind::Plain {
                if let Err(reason) = validate_qualified_name(&it.key.name) {
                    self.push(MlpError::InvalidMetadata {
                        src: self.src(it.key.span),
                        at: it.key.span.into(),
                        what: format!("{what} key"),
                        value: it.key.name.to_string(),
                        reason,
                    });
                    continue;
                }
            }
            let Node::Expr(expr) = it.node else {
                self.mismatch_block(it.span, "a string");
                continue;
            };
            let Some(v) = self.string_value(expr, scope, &it.key.name) else {
                continue;
            };
            if kind == MapKind::Labels {
                if let Value::Str(parts) = &v {
                    if let Some(text) = plain_text(parts) {
                        if let Err(reason) = validate_label_value(&text) {
                            self.push(MlpError::InvalidMetadata {
                                src: self.src(expr.span),
                                at: expr.span.into(),
                                what: "label value".into(),
                                value: text,
                                reason,
                            });
                            continue;
                        }
                    }
                }
            }
            out.insert(
                it.key.name.clone(),
                Spanned {
                    value: v,
                    span: expr.span,
                },
            );
        }
        out.shrink_to_fit();
        Some(Value::Map(Box::new(out)))
    }

    fn after(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        let ExprKind::List(items) = &expr.kind else {
            self.mismatch(expr, "a list of stage names such as `[prep, train]`", None);
            return None;
        };
        let Scope::Pipeline { pcx, stage, .. } = scope else {
            self.push(MlpError::EntryNotAllowed {
                src: self.src(expr.span),
                at: expr.span.into(),
                entry: "the field `after`".into(),
                place: "a template".into(),
                help: Some("set `after` on the stage that uses the template".into()),
            });
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let ExprKind::Ref(r) = &it.kind else {
                self.mismatch(it, "a stage name", None);
                continue;
            };
            let [name] = r.segments.as_slice() else {
                self.mismatch(
                    it,
                    "a stage name (not an output)",
                    Some(format!("write `{}`", r.segments[0].name)),
                );
                continue;
            };
            match pcx.stage_index.get(name.name.as_str()) {
                Some(&target) => {
                    if stage.is_some() {
                        self.deps.push(Dep {
                            stage: target,
                            kind: DepKind::Order,
                            span: it.span,
                        });
                    }
                    out.push(Spanned {
                        value: Value::Stage(target),
                        span: it.span,
                    });
                }
                None => {
                    let help = did_you_mean(&name.name, pcx.stages.iter().map(|s| s.name.as_str()))
                        .or_else(|| {
                            pcx.params.contains_key(name.name.as_str()).then(|| {
                                format!("`{}` is a parameter; `after` lists stages", name.name)
                            })
                        });
                    self.push(MlpError::UnknownName {
                        src: self.src(name.span),
                        at: name.span.into(),
                        name: name.name.to_string(),
                        help,
                    });
                }
            }
        }
        Some(Value::List(out))
    }

    fn for_each(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        match &expr.kind {
            ExprKind::List(items) if items.is_empty() => {
                self.invalid(
                    expr.span,
                    "for_each",
                    "the list is empty, so the stage would never run",
                    None,
                );
                None
            }
            ExprKind::List(_) => self.value_of(expr, scope).map(|(v, _)| v),
            ExprKind::Ref(r) => {
                let (reference, ty) = self.resolve(r, scope)?;
                match ty {
                    Ty::List(_) | Ty::String | Ty::Any => Some(Value::Ref(reference)),
                    other => {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(expr.span),
                            at: expr.span.into(),
                            expected: "a list (or a string holding a JSON list)".into(),
                            found: other.describe(),
                            help: None,
                        });
                        None
                    }
                }
            }
            // `range(3)` and friends: E0220 names the function.
            ExprKind::Call(_) => self.value_of(expr, scope).map(|(v, _)| v),
            _ => {
                self.mismatch(expr, "a list or a reference to one", None);
                None
            }
        }
    }

    fn register_model(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        match &expr.kind {
            ExprKind::Str(parts) => {
                if let Some(text) = plain_text(parts) {
                    if !text.contains(":/") {
                        self.push(MlpError::RegisterModelSource {
                            src: self.src(expr.span),
                            at: expr.span.into(),
                            found: format!("the string \"{}\"", text.escape_debug()),
                        });
                        return None;
                    }
                }
                self.value_of(expr, scope).map(|(v, _)| v)
            }
            ExprKind::Ref(r) => {
                let (reference, ty) = self.resolve(r, scope)?;
                let ok = matches!(
                    (&reference, &ty),
                    (Ref::Output { .. }, Ty::ModelUri)
                        | (Ref::Param(_) | Ref::Input(_), Ty::String)
                        | (Ref::Item(_), _)
                );
                if !ok {
                    self.push(MlpError::RegisterModelSource {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        found: format!("`{}` ({})", r.display(), ty.describe()),
                    });
                    return None;
                }
                Some(Value::Ref(reference))
            }
            other => {
                self.push(MlpError::RegisterModelSource {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    found: other.describe().into(),
                });
                None
            }
        }
    }

    fn deploy_model(&mut self, expr: &Expr, scope: Scope) -> Option<Value> {
        match &expr.kind {
            ExprKind::Str(parts) => {
                if let Some(text) = plain_text(parts) {
                    if !text.starts_with("models:/") {
                        self.push(MlpError::DeployModelSource {
                            src: self.src(expr.span),
                            at: expr.span.into(),
                            found: format!("the string \"{}\"", text.escape_debug()),
                        });
                        return None;
                    }
                }
                self.value_of(expr, scope).map(|(v, _)| v)
            }
            ExprKind::Ref(r) => {
                let (reference, ty) = self.resolve(r, scope)?;
                let ok = match (&reference, &scope) {
                    (Ref::Output { stage, output }, Scope::Pipeline { pcx, .. }) => {
                        pcx.stages[*stage].kind == Some(StageKind::Register)
                            && (output == "version" || output == "model_uri")
                    }
                    (Ref::Param(_) | Ref::Input(_), _) => ty == Ty::String,
                    (Ref::Item(_), _) => true,
                    _ => false,
                };
                if !ok {
                    self.push(MlpError::DeployModelSource {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        found: format!("`{}` ({})", r.display(), ty.describe()),
                    });
                    return None;
                }
                Some(Value::Ref(reference))
            }
            other => {
                self.push(MlpError::DeployModelSource {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    found: other.describe().into(),
                });
                None
            }
        }
    }

    /// `secret("name", "key")` (`arity` 2) or `secret("name")` (`arity` 1).
    fn secret_call(&mut self, expr: &Expr, arity: usize) -> Option<Value> {
        self.key_call(expr, arity, &[hir::KeySource::Secret])
    }

    /// A call naming a Kubernetes object and (with `arity` 2) one of its
    /// keys: `secret(...)` or `config_map(...)`, as `sources` allow.
    fn key_call(&mut self, expr: &Expr, arity: usize, sources: &[hir::KeySource]) -> Option<Value> {
        let form = |source: hir::KeySource| {
            let f = source.function();
            if arity == 1 {
                format!("`{f}(\"NAME\")`")
            } else {
                format!("`{f}(\"NAME\", \"KEY\")`")
            }
        };
        let ExprKind::Call(call) = &expr.kind else {
            let expected = sources
                .iter()
                .map(|s| form(*s))
                .collect::<Vec<_>>()
                .join(" or ");
            self.mismatch(expr, &expected, None);
            return None;
        };
        let (name, args) = (&call.name, &call.args);
        let Some(source) = sources.iter().copied().find(|s| s.function() == name.name) else {
            self.push(MlpError::UnknownFunction {
                src: self.src(name.span),
                at: name.span.into(),
                name: name.name.to_string(),
            });
            return None;
        };
        let usage = match (source, arity) {
            (hir::KeySource::Secret, 1) => {
                "`credentials = secret(\"NAME\")` names a Secret with `username`/`password` or `token` keys".to_string()
            }
            (source, _) => format!("{} reads one key of a Kubernetes {}", form(source), source.kind()),
        };
        if args.len() != arity {
            self.push(MlpError::BadSecret {
                src: self.src(expr.span),
                at: expr.span.into(),
                function: source.function(),
                reason: format!(
                    "expected {arity} argument{}, found {}",
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
                help: Some(usage),
            });
            return None;
        }
        let mut texts = Vec::new();
        for a in args {
            let text = match &a.kind {
                ExprKind::Str(parts) => plain_text(parts),
                _ => None,
            };
            let Some(text) = text else {
                self.push(MlpError::BadSecret {
                    src: self.src(a.span),
                    at: a.span.into(),
                    function: source.function(),
                    reason: "arguments must be literal strings".into(),
                    help: Some(usage),
                });
                return None;
            };
            texts.push((text, a.span));
        }
        let kind = source.kind();
        let (object_name, name_span) = texts[0].clone();
        if !is_dns_subdomain(&object_name) {
            self.push(MlpError::BadSecret {
                src: self.src(name_span),
                at: name_span.into(),
                function: source.function(),
                reason: format!(
                    "\"{}\" is not a valid {kind} name",
                    object_name.escape_debug()
                ),
                help: Some(format!(
                    "{kind} names are lowercase letters, digits, `-` and `.`"
                )),
            });
            return None;
        }
        let key = texts.get(1).map(|(k, _)| k.clone());
        if let Some((k, span)) = texts.get(1) {
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                self.push(MlpError::BadSecret {
                    src: self.src(*span),
                    at: (*span).into(),
                    function: source.function(),
                    reason: format!("\"{}\" is not a valid {kind} key", k.escape_debug()),
                    help: Some(format!("{kind} keys are letters, digits, `-`, `_` and `.`")),
                });
                return None;
            }
        }
        Some(Value::Secret(Box::new(hir::SecretRef {
            source,
            name: object_name.into(),
            key: key.map(Into::into),
        })))
    }

    fn cron(&mut self, expr: &Expr) -> Option<Value> {
        let items: Vec<&Expr> = match &expr.kind {
            ExprKind::List(items) if !items.is_empty() => items.iter().collect(),
            _ => vec![expr],
        };
        let mut out = Vec::with_capacity(items.len());
        for it in items {
            let text = match &it.kind {
                ExprKind::Str(parts) => plain_text(parts),
                _ => None,
            };
            let Some(text) = text else {
                self.mismatch(it, "a cron schedule string such as \"0 3 * * *\"", None);
                return None;
            };
            if let Err(reason) = validate_cron(&text) {
                self.push(MlpError::InvalidCron {
                    src: self.src(it.span),
                    at: it.span.into(),
                    reason,
                });
                return None;
            }
            out.push(Spanned {
                value: Value::Str(vec![StrPart::Text(text.into())]),
                span: it.span,
            });
        }
        Some(Value::List(out))
    }

    fn tracking_uri(&mut self, expr: &Expr) -> Option<Value> {
        let text = match &expr.kind {
            ExprKind::Str(parts) => plain_text(parts),
            _ => None,
        };
        let Some(text) = text else {
            self.mismatch(
                expr,
                "a literal URL such as \"http://mlflow.mlflow.svc:5000\"",
                None,
            );
            return None;
        };
        let fail = |this: &mut Self, reason: &str, help: Option<&str>| {
            this.push(MlpError::BadTrackingUri {
                src: this.src(expr.span),
                at: expr.span.into(),
                reason: reason.into(),
                help: help.map(str::to_string),
            });
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            fail(
                self,
                "it is not an http(s) URL",
                Some("write e.g. \"http://mlflow.mlflow.svc.cluster.local:5000\""),
            );
            return None;
        };
        if scheme != "http" && scheme != "https" {
            fail(
                self,
                &format!("the scheme `{scheme}` is not http or https"),
                Some("the injected steps talk to the tracking server's REST API over http(s)"),
            );
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            fail(self, "it carries credentials (`user:password@`), which would be written into the workflow in clear text", Some("remove them and add `credentials = secret(\"NAME\")`, a Secret with `username`/`password` or `token` keys"));
            return None;
        }
        if authority.is_empty() || authority.chars().any(|c| c.is_whitespace()) {
            fail(self, "it has no host", None);
            return None;
        }
        Some(Value::Str(vec![StrPart::Text(text.into())]))
    }

    // ----- values ---------------------------------------------------------------

    /// A literal of a declared type (parameter and input defaults).
    fn literal_of_type(&mut self, expr: &Expr, ty: &Ty, what: &str) -> Option<Spanned<Value>> {
        if let ExprKind::Ref(_) = expr.kind {
            self.mismatch(
                expr,
                &format!("a literal for {what}"),
                Some(
                    "defaults are fixed values; references are resolved when the stage runs".into(),
                ),
            );
            return None;
        }
        if ty.is_artifact() {
            self.push(MlpError::ArtifactValueMismatch {
                src: self.src(expr.span),
                at: expr.span.into(),
                found: expr.kind.describe().into(),
                expected: ty.describe(),
                help: Some(
                    "an artifact input cannot have a default; it is supplied by a stage's output"
                        .into(),
                ),
            });
            return None;
        }
        let no_refs = Scope::Template {
            inputs: &[],
            for_each: false,
        };
        let value = self.assign(expr, ty, no_refs, what)?;
        Some(Spanned {
            value,
            span: expr.span,
        })
    }

    /// A value for a slot of declared type `ty` (template inputs, defaults).
    fn assign(&mut self, expr: &Expr, ty: &Ty, scope: Scope, _what: &str) -> Option<Value> {
        match (&expr.kind, ty) {
            (ExprKind::Unit(_) | ExprKind::Int(_) | ExprKind::Str(_), Ty::Duration) => {
                self.duration(expr, scope, "duration")
            }
            (ExprKind::Unit(_) | ExprKind::Str(_), Ty::Quantity) => {
                self.quantity(expr, scope, "quantity")
            }
            (ExprKind::List(items), Ty::List(elem)) => {
                let mut out = Vec::with_capacity(items.len());
                for it in items {
                    out.push(Spanned {
                        value: self.assign(it, elem, scope, _what)?,
                        span: it.span,
                    });
                }
                Some(Value::List(out))
            }
            _ => {
                let (value, found) = self.value_of(expr, scope)?;
                self.check_ty(expr.span, &found, ty).then_some(value)
            }
        }
    }

    /// Any value expression, with its type. References are resolved.
    fn value_of(&mut self, expr: &Expr, scope: Scope) -> Option<(Value, Ty)> {
        Some(match &expr.kind {
            ExprKind::Str(parts) => {
                // Every part is checked, so that all its errors are reported.
                let mut out = Vec::with_capacity(parts.len());
                let mut failed = false;
                for p in parts {
                    match p {
                        ast::StrPart::Text(t) => {
                            self.no_argo_braces(t, expr.span);
                            if url_with_credentials(t) {
                                self.push(MlpError::CredentialsInUrl {
                                    src: self.src(expr.span),
                                    at: expr.span.into(),
                                });
                            }
                            out.push(StrPart::Text(t.clone()));
                        }
                        ast::StrPart::Interp(r) => {
                            let before = self.diags.items.len();
                            // A list or map is written as compact JSON.
                            let Some((reference, _)) = self.resolve(r, scope) else {
                                self.shell_variable_help(before, r);
                                failed = true;
                                continue;
                            };
                            out.push(StrPart::Ref(reference));
                        }
                    }
                }
                if failed {
                    return None;
                }
                (Value::Str(out), Ty::String)
            }
            ExprKind::Int(i) => (Value::Int(*i), Ty::Int),
            ExprKind::Float(f) => (Value::Float(*f), Ty::Float),
            ExprKind::Bool(b) => (Value::Bool(*b), Ty::Bool),
            ExprKind::Unit(u) => match (&u.quantity, u.duration_secs) {
                (Some(q), _) => (Value::Quantity(q.clone()), Ty::Quantity),
                (None, Some(secs)) => (
                    Value::Duration {
                        secs,
                        text: u.text.clone(),
                    },
                    Ty::Duration,
                ),
                (None, None) => return None,
            },
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut elem: Option<Ty> = None;
                let mut failed = false;
                for it in items {
                    let Some((v, ty)) = self.value_of(it, scope) else {
                        failed = true;
                        continue;
                    };
                    elem = match elem {
                        None => Some(ty),
                        Some(e) if e == ty => Some(e),
                        Some(_) => Some(Ty::Any),
                    };
                    out.push(Spanned {
                        value: v,
                        span: it.span,
                    });
                }
                if failed {
                    return None;
                }
                (
                    Value::List(out),
                    Ty::List(Box::new(elem.unwrap_or(Ty::Any))),
                )
            }
            ExprKind::Map(entries) => {
                let mut out = IndexMap::default();
                let mut seen: HashMap<&str, Span> = HashMap::default();
                let mut failed = false;
                for e in entries {
                    if !self.first_time(&mut seen, &e.key, "map key") {
                        continue;
                    }
                    self.no_argo_braces(&e.key.name, e.key.span);
                    let Some((v, _)) = self.value_of(&e.value, scope) else {
                        failed = true;
                        continue;
                    };
                    out.insert(
                        e.key.name.clone(),
                        Spanned {
                            value: v,
                            span: e.value.span,
                        },
                    );
                }
                if failed {
                    return None;
                }
                out.shrink_to_fit();
                (Value::Map(Box::new(out)), Ty::Map)
            }
            ExprKind::Call(call) => {
                let name = &call.name;
                if name.name == "secret" {
                    self.push(MlpError::BadSecret {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        function: "secret",
                        reason: "`secret(...)` is only allowed in `env`, `mlflow.credentials` and `mlflow.ca_bundle`".into(),
                        help: Some("read the secret into an environment variable: `env { TOKEN = secret(\"NAME\", \"KEY\") }`".into()),
                    });
                } else if name.name == "config_map" {
                    self.push(MlpError::BadSecret {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        function: "config_map",
                        reason: "`config_map(...)` is only allowed in `mlflow.ca_bundle`".into(),
                        help: Some("`mlflow { ca_bundle = config_map(\"NAME\", \"KEY\") }` mounts a private CA for the MLflow clients".into()),
                    });
                } else {
                    self.push(MlpError::UnknownFunction {
                        src: self.src(name.span),
                        at: name.span.into(),
                        name: name.name.to_string(),
                    });
                }
                return None;
            }
            ExprKind::Ref(r) => {
                let (reference, ty) = self.resolve(r, scope)?;
                (Value::Ref(reference), ty)
            }
            ExprKind::Unary { .. } | ExprKind::Binary { .. } => {
                self.mismatch(
                    expr,
                    "a value",
                    Some("operators are only allowed in `when` conditions".into()),
                );
                return None;
            }
            ExprKind::Invalid => return None,
        })
    }

    fn no_argo_braces(&mut self, text: &str, span: Span) {
        if text.contains("{{") {
            self.push(MlpError::ArgoPlaceholder {
                src: self.src(span),
                at: span.into(),
            });
        }
    }

    /// Resolves a reference in its scope, recording stage dependencies.
    fn resolve(&mut self, r: &ast::Reference, scope: Scope) -> Option<(Ref, Ty)> {
        let segs: Vec<&str> = r.segments.iter().map(|s| s.name.as_str()).collect();
        let first = &r.segments[0];
        match segs.as_slice() {
            ["item"] | ["item", _] => {
                if !scope.for_each() {
                    self.push(MlpError::ItemOutsideForEach {
                        src: self.src(r.span),
                        at: r.span.into(),
                    });
                    return None;
                }
                if let (
                    Some(key),
                    Scope::Pipeline {
                        item_keys: Some(items),
                        ..
                    },
                ) = (segs.get(1), scope)
                {
                    self.item_key(r, key, items)?;
                }
                return Some((Ref::Item(segs.get(1).map(|s| Text::from(*s))), Ty::Any));
            }
            ["run", field] => {
                let f = match *field {
                    "name" => RunField::Name,
                    "uid" => RunField::Uid,
                    "namespace" => RunField::Namespace,
                    "pod" => RunField::Pod,
                    "scheduled_time" => {
                        if !matches!(scope, Scope::Pipeline { pcx, .. } if pcx.scheduled) {
                            self.push(MlpError::UnknownName {
                                src: self.src(r.span),
                                at: r.span.into(),
                                name: r.display(),
                                help: Some("`run.scheduled_time` (when a scheduled run was due) exists in the stages of a pipeline with `schedule = \"...\"`".into()),
                            });
                            return None;
                        }
                        RunField::ScheduledTime
                    }
                    other => {
                        self.push(MlpError::UnknownName {
                            src: self.src(r.span),
                            at: r.span.into(),
                            name: r.display(),
                            help: closest(
                                other,
                                ["name", "uid", "namespace", "pod", "scheduled_time"],
                            )
                            .map(|c| format!("did you mean `run.{c}`?"))
                            .or_else(|| Some(RUN_FIELDS_HELP.into())),
                        });
                        return None;
                    }
                };
                return Some((Ref::Run(f), Ty::String));
            }
            ["run"] | ["run", ..] => {
                self.push(MlpError::UnknownName {
                    src: self.src(r.span),
                    at: r.span.into(),
                    name: r.display(),
                    help: Some(RUN_FIELDS_HELP.into()),
                });
                return None;
            }
            _ => {}
        }
        match scope {
            Scope::Template { inputs, .. } => {
                if let Some(input) = inputs.iter().find(|i| i.name == first.name) {
                    if segs.len() > 1 {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(r.span),
                            at: r.span.into(),
                            expected: "a name without fields".into(),
                            found: format!("`{}` ({})", first.name, input.ty.describe()),
                            help: Some(format!("write `{}`", first.name)),
                        });
                        return None;
                    }
                    return Some((Ref::Input(first.name.clone()), input.ty.clone()));
                }
                let help = did_you_mean(&first.name, inputs.iter().map(|i| i.name.as_str()))
                    .or_else(|| {
                        Some(
                            "a template sees only its own inputs (`input NAME: TYPE`) and `run.*`"
                                .into(),
                        )
                    });
                self.push(MlpError::UnknownName {
                    src: self.src(first.span),
                    at: first.span.into(),
                    name: first.name.to_string(),
                    help,
                });
                None
            }
            Scope::Pipeline {
                pcx,
                stage: current,
                ..
            } => {
                if let Some(ty) = pcx.params.get(first.name.as_str()) {
                    if segs.len() > 1 {
                        self.push(MlpError::TypeMismatch {
                            src: self.src(r.span),
                            at: r.span.into(),
                            expected: "a name without fields".into(),
                            found: format!("the parameter `{}` ({})", first.name, ty.describe()),
                            help: Some(format!("write `{}`", first.name)),
                        });
                        return None;
                    }
                    return Some((Ref::Param(first.name.clone()), ty.clone()));
                }
                let Some(&target) = pcx.stage_index.get(first.name.as_str()) else {
                    let candidates = pcx
                        .params
                        .keys()
                        .map(Text::as_str)
                        .chain(pcx.stages.iter().map(|s| s.name.as_str()));
                    self.push(MlpError::UnknownName {
                        src: self.src(first.span),
                        at: first.span.into(),
                        name: first.name.to_string(),
                        help: did_you_mean(&first.name, candidates),
                    });
                    return None;
                };
                let sig = &pcx.stages[target];
                if segs.len() == 1 {
                    let outputs: Vec<String> = sig
                        .outputs
                        .keys()
                        .map(|o| format!("`{}.{o}`", sig.name))
                        .collect();
                    let help = if outputs.is_empty() {
                        format!(
                            "`{}` has no outputs; to wait for it, add it to `after`",
                            sig.name
                        )
                    } else {
                        format!(
                            "use one of its outputs: {}; or list it in `after` to wait for it",
                            outputs.join(", ")
                        )
                    };
                    self.push(MlpError::StageAsValue {
                        src: self.src(r.span),
                        at: r.span.into(),
                        name: first.name.to_string(),
                        help: Some(help),
                    });
                    return None;
                }
                if current.is_none() {
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(r.span),
                        at: r.span.into(),
                        entry: format!("the stage output `{}`", r.display()),
                        place: "pipeline settings and `defaults`".into(),
                        help: Some("stage outputs can be used inside stages".into()),
                    });
                    return None;
                }
                if sig.for_each {
                    self.push(MlpError::FanInNotSupported {
                        src: self.src(r.span),
                        at: r.span.into(),
                        stage: sig.name.to_string(),
                    });
                    return None;
                }
                let result = if segs[1] == "metrics" && segs.len() == 3 {
                    self.metric_ref(r, sig, target)
                } else if segs.len() == 2 {
                    match sig.outputs.get(segs[1]) {
                        Some(ty) => Some((
                            Ref::Output {
                                stage: target,
                                output: segs[1].into(),
                            },
                            ty.clone(),
                        )),
                        None => {
                            self.unknown_output(r, sig);
                            None
                        }
                    }
                } else {
                    self.unknown_output(r, sig);
                    None
                };
                if result.is_some() {
                    self.deps.push(Dep {
                        stage: target,
                        kind: DepKind::Data,
                        span: r.span,
                    });
                }
                result
            }
        }
    }

    /// `${f}` naming nothing in a string is most likely a shell variable:
    /// the unknown-name error just reported says how to write one.
    fn shell_variable_help(&mut self, reported_from: usize, r: &ast::Reference) {
        if r.segments.len() != 1 {
            return;
        }
        let name = &r.segments[0].name;
        for d in &mut self.diags.items[reported_from..] {
            if let MlpError::UnknownName { help, .. } = d {
                let shell =
                    format!("for a shell variable, write `\\${{{name}}}` (`\\$` is a literal `$`)");
                *help = Some(match help.take() {
                    Some(h) => format!("{h}; {shell}"),
                    None => shell,
                });
            }
        }
    }

    /// E0227 unless every literal `for_each` item has `key`.
    fn item_key(&mut self, r: &ast::Reference, key: &str, items: &[Vec<Text>]) -> Option<()> {
        let missing: Vec<usize> = (0..items.len())
            .filter(|&n| !items[n].iter().any(|k| k == key))
            .collect();
        if missing.is_empty() {
            return Some(());
        }
        let mut known: Vec<&str> = items.iter().flatten().map(Text::as_str).collect();
        known.sort_unstable();
        known.dedup();
        let (reason, help) = if known.is_empty() {
            (
                "the `for_each` items are not maps".to_string(),
                Some(
                    "use `item` for the whole item, or write the items as maps: `{ key = value }`"
                        .to_string(),
                ),
            )
        } else if missing.len() == items.len() {
            (
                "no `for_each` item has this key".to_string(),
                closest(key, known.iter().copied())
                    .map(|c| format!("did you mean `item.{c}`?"))
                    .or_else(|| Some(format!("the items have {}", quoted_list(&known)))),
            )
        } else {
            let numbers: Vec<String> = missing.iter().map(|n| (n + 1).to_string()).collect();
            (
                format!(
                    "item {} of {} has no such key",
                    numbers.join(", "),
                    items.len()
                ),
                Some(
                    "give every item the key: Argo fails the step of an item that lacks it"
                        .to_string(),
                ),
            )
        };
        let span = r.segments.get(1).map_or(r.span, |s| s.span);
        self.push(MlpError::UnknownItemKey {
            src: self.src(span),
            at: span.into(),
            key: key.to_string(),
            reason,
            help,
        });
        None
    }

    fn metric_ref(
        &mut self,
        r: &ast::Reference,
        sig: &StageSig,
        target: usize,
    ) -> Option<(Ref, Ty)> {
        let metric = &r.segments[2];
        if sig.kind != Some(StageKind::Train) || !sig.tracked {
            let why = if sig.kind == Some(StageKind::Train) {
                format!(
                    "`{}` has `track = false`, so no metrics are recorded",
                    sig.name
                )
            } else {
                format!(
                    "only tracked `train` stages have metrics; `{}` is a `{}` stage",
                    sig.name,
                    sig.kind.map(StageKind::name).unwrap_or("?")
                )
            };
            self.push(MlpError::UnknownOutput {
                src: self.src(r.span),
                at: r.span.into(),
                stage: sig.name.to_string(),
                output: format!("metrics.{}", metric.name),
                help: Some(why),
            });
            return None;
        }
        if !sig.metrics.contains(&metric.name) {
            let help =
                did_you_mean(&metric.name, sig.metrics.iter().map(Text::as_str)).or_else(|| {
                    Some(format!(
                        "add \"{}\" to `metrics` of `{}`",
                        metric.name, sig.name
                    ))
                });
            self.push(MlpError::UndeclaredMetric {
                src: self.src(metric.span),
                at: metric.span.into(),
                stage: sig.name.to_string(),
                metric: metric.name.to_string(),
                help,
            });
            return None;
        }
        Some((
            Ref::Metric {
                stage: target,
                name: metric.name.clone(),
            },
            Ty::Float,
        ))
    }

    fn unknown_output(&mut self, r: &ast::Reference, sig: &StageSig) {
        let wanted = r.segments[1..]
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".");
        let help =
            did_you_mean(&r.segments[1].name, sig.outputs.keys().map(Text::as_str)).or_else(|| {
                if sig.kind == Some(StageKind::Train)
                    && !sig.tracked
                    && ["model", "run_id", "metrics"].contains(&r.segments[1].name.as_str())
                {
                    return Some(format!(
                        "`{}` has `track = false`, so it has no MLflow outputs",
                        sig.name
                    ));
                }
                if sig.outputs.is_empty() {
                    Some(format!(
                        "`{}` has no outputs; declare one with `output NAME: TYPE = \"/path\"`",
                        sig.name
                    ))
                } else {
                    Some(format!(
                        "its outputs are {}",
                        sig.outputs
                            .keys()
                            .map(|o| format!("`{o}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }
            });
        let span = r.segments[1].span.to(r.segments[r.segments.len() - 1].span);
        self.push(MlpError::UnknownOutput {
            src: self.src(span),
            at: span.into(),
            stage: sig.name.to_string(),
            output: wanted,
            help,
        });
    }

    // ----- when -----------------------------------------------------------------

    fn condition(&mut self, expr: &Expr, scope: Scope) -> Option<Cond> {
        let (cond, ty) = self.cond(expr, scope)?;
        if ty != Ty::Bool && ty != Ty::Any {
            self.push(MlpError::BadCondition {
                src: self.src(expr.span),
                at: expr.span.into(),
                reason: format!(
                    "a condition must be true or false, but this is {}",
                    ty.describe()
                ),
                help: Some("compare it, e.g. `when x == \"value\"` or `when score >= 0.9`".into()),
            });
            return None;
        }
        // Argo writes `item` into the condition's text per item, so such a
        // condition cannot be one expression over values; another stage's
        // output would be spliced into govaluate's text beside it, where a
        // quote breaks the condition and an operator changes it.
        // Each `&&` conjunct is decided apart (docs/compile.md), so only a
        // conjunct mixing both is a problem.
        let mixes = |c: &Cond| {
            let (mut item, mut output) = (false, false);
            refs_in_cond(c, &mut |r| match r {
                Ref::Item(_) => item = true,
                Ref::Output { .. } | Ref::Metric { .. } => output = true,
                _ => {}
            });
            item && output
        };
        if conjuncts(&cond).into_iter().any(mixes) {
            self.push(MlpError::BadCondition {
                src: self.src(expr.span),
                at: expr.span.into(),
                reason: "a comparison on `item` cannot also read another stage's output".into(),
                help: Some("Argo writes items into the condition's text, so the output would be spliced in as text too; keep them in separate `&&` parts (`when up.mode == \"go\" && item != \"b\"` is fine), filter the list upstream and fan out over it (`for_each = STAGE.OUTPUT`), or let the stage skip the item itself".into()),
            });
            return None;
        }
        Some(cond)
    }

    fn cond(&mut self, expr: &Expr, scope: Scope) -> Option<(Cond, Ty)> {
        match &expr.kind {
            ExprKind::Invalid => None,
            ExprKind::Unary { op, operand } => {
                let (inner, ty) = self.cond(operand, scope)?;
                self.cond_operand(operand, &ty, &Ty::Bool, "`!`")?;
                Some((
                    Cond::Unary {
                        op: *op,
                        operand: Box::new(inner),
                    },
                    Ty::Bool,
                ))
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.cond(lhs, scope);
                let r = self.cond(rhs, scope);
                let ((lc, lt), (rc, rt)) = (l?, r?);
                let sym = format!("`{}`", op.symbol());
                match op {
                    BinOp::And | BinOp::Or => {
                        let a = self.cond_operand(lhs, &lt, &Ty::Bool, &sym);
                        let b = self.cond_operand(rhs, &rt, &Ty::Bool, &sym);
                        a?;
                        b?;
                    }
                    BinOp::Eq | BinOp::Ne => {
                        let comparable = lt == Ty::Any
                            || rt == Ty::Any
                            || lt == rt
                            || (lt.is_numeric() && rt.is_numeric());
                        if !comparable {
                            self.push(MlpError::BadCondition {
                                src: self.src(expr.span),
                                at: expr.span.into(),
                                reason: format!(
                                    "{} is compared with {}",
                                    lt.describe(),
                                    rt.describe()
                                ),
                                help: Some("compare values of the same type".into()),
                            });
                            return None;
                        }
                        for (side, ty) in [(lhs, &lt), (rhs, &rt)] {
                            if !matches!(ty, Ty::String | Ty::Int | Ty::Float | Ty::Bool | Ty::Any)
                            {
                                self.push(MlpError::BadCondition {
                                    src: self.src(side.span),
                                    at: side.span.into(),
                                    reason: format!("{} cannot be compared", ty.describe()),
                                    help: None,
                                });
                                return None;
                            }
                        }
                    }
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        let number = Ty::Float;
                        let a = self.cond_operand(lhs, &lt, &number, &sym);
                        let b = self.cond_operand(rhs, &rt, &number, &sym);
                        a?;
                        b?;
                    }
                }
                Some((
                    Cond::Binary {
                        op: *op,
                        lhs: Box::new(lc),
                        rhs: Box::new(rc),
                    },
                    Ty::Bool,
                ))
            }
            ExprKind::Ref(r) => {
                let (reference, ty) = self.resolve(r, scope)?;
                if ty.is_artifact()
                    || matches!(
                        ty,
                        Ty::List(_) | Ty::Map | Ty::ModelUri | Ty::Duration | Ty::Quantity
                    )
                {
                    self.push(MlpError::BadCondition {
                        src: self.src(r.span),
                        at: r.span.into(),
                        reason: format!("`{}` is {}, which a condition cannot read", r.display(), ty.describe()),
                        help: Some("conditions compare strings, numbers and bools: parameters, value outputs and metrics".into()),
                    });
                    return None;
                }
                Some((Cond::Ref(reference), ty))
            }
            ExprKind::Str(parts) => {
                if parts.iter().any(|p| matches!(p, ast::StrPart::Interp(_))) {
                    self.push(MlpError::BadCondition {
                        src: self.src(expr.span),
                        at: expr.span.into(),
                        reason: "strings in conditions cannot be interpolated".into(),
                        help: Some(
                            "compare the reference itself: `when stage.out == \"value\"`".into(),
                        ),
                    });
                    return None;
                }
                let (v, ty) = self.value_of(expr, scope)?;
                Some((Cond::Lit(v), ty))
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) => {
                let (v, ty) = self.value_of(expr, scope)?;
                Some((Cond::Lit(v), ty))
            }
            other => {
                self.push(MlpError::BadCondition {
                    src: self.src(expr.span),
                    at: expr.span.into(),
                    reason: format!("{} cannot be used in a condition", other.describe()),
                    help: Some("conditions compare strings, numbers and bools".into()),
                });
                None
            }
        }
    }

    fn cond_operand(&mut self, side: &Expr, ty: &Ty, wanted: &Ty, op: &str) -> Option<()> {
        let ok = match wanted {
            Ty::Bool => matches!(ty, Ty::Bool | Ty::Any),
            _ => matches!(ty, Ty::Int | Ty::Float | Ty::Any),
        };
        if ok {
            return Some(());
        }
        let want = if *wanted == Ty::Bool {
            "true or false"
        } else {
            "a number"
        };
        self.push(MlpError::BadCondition {
            src: self.src(side.span),
            at: side.span.into(),
            reason: format!("{op} needs {want}, but this is {}", ty.describe()),
            help: None,
        });
        None
    }
}

// ----- helpers -------------------------------------------------------------------

fn expected_words(ty: FieldTy) -> String {
    match ty {
        FieldTy::Args => "a list".into(),
        FieldTy::Int { .. } => "an int".into(),
        FieldTy::Duration => "a duration".into(),
        FieldTy::Quantity => "a quantity".into(),
        FieldTy::Bool => "a bool".into(),
        _ => "a value".into(),
    }
}

/// The keys of each item of a literal `for_each` list in a stage body.
fn literal_item_keys(body: &ast::Body) -> Option<Vec<Vec<Text>>> {
    let value = body.entries.iter().find_map(|e| match e {
        Entry::Field(f) if f.name.name == "for_each" => Some(&f.value),
        _ => None,
    })?;
    let ExprKind::List(items) = &value.kind else {
        return None;
    };
    Some(
        items
            .iter()
            .map(|i| match &i.kind {
                ExprKind::Map(entries) => entries.iter().map(|e| e.key.name.clone()).collect(),
                _ => Vec::new(),
            })
            .collect(),
    )
}

/// The keys of one checked `for_each` item (none for a scalar).
fn hir_item_keys(v: &Value) -> Vec<Text> {
    match v {
        Value::Map(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A host a pod reaches inside the cluster: a Service name (`mlflow`,
/// `mlflow.ns`, `mlflow.ns.svc`, `....svc.cluster.local`) or the pod
/// itself. Anything else (a public name, an address) is outside.
fn in_cluster_host(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == "localhost"
        || host.starts_with("127.")
        || host.ends_with(".svc")
        || host.ends_with(".svc.cluster.local")
        || host.ends_with(".cluster.local")
        || (!host.contains(':')
            && host.split('.').count() <= 2
            && !host.chars().all(|c| c.is_ascii_digit() || c == '.')
            && !host.rsplit('.').next().is_some_and(|tld| {
                ["com", "net", "org", "io", "ai", "dev", "cloud", "app"].contains(&tld)
            }))
}

/// A URL with `user:password@` (or `user@`) before its host.
fn url_with_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(i, _)| {
        let rest = &text[i + 3..];
        let authority = rest
            .split(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        authority
            .split_once('@')
            .is_some_and(|(user, host)| user.contains(':') && !user.is_empty() && !host.is_empty())
    })
}

/// The shape of an IANA time zone name (`UTC`, `Europe/Berlin`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+5`): whether the zone exists
/// is the controller's to say, from its time zone database.
fn is_time_zone_name(z: &str) -> bool {
    !z.is_empty()
        && z.len() <= 64
        && z.split('/').all(|part| {
            part.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+-".contains(c))
        })
}

/// Whether an expression's value is chosen at run time: a parameter, an
/// output or `item`. The run's own namespace (`run.namespace`, where a
/// deploy may put its service) is not anyone's choice.
fn holds_reference(expr: &Expr) -> bool {
    let chosen = |r: &ast::Reference| !matches!(r.segments.as_slice(), [a, b] if a.name == "run" && b.name == "namespace");
    match &expr.kind {
        ExprKind::Ref(r) => chosen(r),
        ExprKind::Str(parts) => parts
            .iter()
            .any(|p| matches!(p, ast::StrPart::Interp(r) if chosen(r))),
        _ => false,
    }
}

fn has_field(body: &ast::Body, name: &str) -> bool {
    body.entries.iter().any(|e| match e {
        Entry::Field(f) => f.name.name == name,
        Entry::Block(b) => b.name.name == name,
        _ => false,
    })
}

fn literal_bool(body: &ast::Body, name: &str) -> Option<bool> {
    body.entries.iter().find_map(|e| match e {
        Entry::Field(f) if f.name.name == name => match f.value.kind {
            ExprKind::Bool(b) => Some(b),
            _ => None,
        },
        _ => None,
    })
}

fn literal_names(body: &ast::Body, name: &str) -> Vec<String> {
    body.entries
        .iter()
        .find_map(|e| match e {
            Entry::Field(f) if f.name.name == name => match &f.value.kind {
                ExprKind::List(items) => Some(
                    items
                        .iter()
                        .filter_map(|i| match &i.kind {
                            ExprKind::Str(parts) => plain_text(parts),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_default()
}

/// The text of a string with no interpolation.
fn plain_text<P: PlainPart>(parts: &[P]) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        out.push_str(p.text()?);
    }
    Some(out)
}

trait PlainPart {
    fn text(&self) -> Option<&str>;
}

impl PlainPart for ast::StrPart {
    fn text(&self) -> Option<&str> {
        match self {
            ast::StrPart::Text(t) => Some(t),
            ast::StrPart::Interp(_) => None,
        }
    }
}

impl PlainPart for StrPart {
    fn text(&self) -> Option<&str> {
        match self {
            StrPart::Text(t) => Some(t),
            StrPart::Ref(_) => None,
        }
    }
}

/// Why an image reference is not pinned, if it is not: no digest, and no
/// tag or the tag `latest`. A registry port (`host:5000/name`) is no tag.
fn unpinned(image: &str) -> Option<&'static str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => Some("no tag: the registry's `latest`"),
        Some((_, "latest")) => Some("`latest` changes"),
        Some(_) => None,
    }
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_identifier(s: &str) -> bool {
    super::is_identifier(s)
}

/// Kubernetes accepts `[-._a-zA-Z][-._a-zA-Z0-9]*` as an env var name.
fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '-' | '.'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// A Kubernetes quantity: a number with an optional suffix or exponent.
fn is_quantity(s: &str) -> bool {
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let num_ok = !num.is_empty()
        && num.parse::<f64>().is_ok_and(|n| n.is_finite() && n >= 0.0)
        && !num.starts_with('+');
    let suffix_ok = matches!(
        suffix,
        "" | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
            | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
    ) || (suffix.len() > 1
        && (suffix.starts_with('e') || suffix.starts_with('E'))
        && suffix[1..]
            .trim_start_matches(['+', '-'])
            .chars()
            .all(|c| c.is_ascii_digit())
        && suffix[1..].trim_start_matches(['+', '-']).len()
            == suffix[1..].len() - usize::from(suffix[1..].starts_with(['+', '-']))
        && !suffix[1..].trim_start_matches(['+', '-']).is_empty());
    num_ok && suffix_ok
}

/// A label or annotation key: `[prefix/]name`.
fn validate_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if !is_dns_subdomain(p) {
            return Err(format!("the prefix `{p}` is not a lowercase DNS subdomain"));
        }
    }
    if name.is_empty() || name.len() > 63 {
        return Err("the name part must be 1 to 63 characters".into());
    }
    validate_name_chars(name)
}

fn validate_name_chars(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_chars && ok_ends {
        Ok(())
    } else {
        Err(
            "use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
                .into(),
        )
    }
}

fn validate_label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(format!(
            "it is {} characters long; label values are at most 63",
            value.len()
        ));
    }
    validate_name_chars(value)
}

/// Validates a cron expression as Argo's scheduler (robfig/cron, standard
/// five-field parser with descriptors) reads it.
pub(crate) fn validate_cron(text: &str) -> Result<(), String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('@') {
        return match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"] => Ok(()),
            ["every", d] => crate::syntax::parse_duration(d)
                .filter(|s| *s > 0.0)
                .map(|_| ())
                .ok_or_else(|| format!("`{d}` is not a positive duration")),
            _ => Err(format!("`@{rest}` is not a known descriptor (@hourly, @daily, @weekly, @monthly, @yearly, @every DURATION)")),
        };
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day-of-month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day-of-week", 0, 6, DAYS, 0),
    ];
    for (field, (name, min, max, names, name_base)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            cron_part(
                part,
                min,
                max,
                names,
                name_base,
                name == "day-of-month" || name == "day-of-week",
            )
            .map_err(|e| format!("{name} `{field}`: {e}"))?;
        }
    }
    Ok(())
}

fn cron_part(
    part: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
    allow_question: bool,
) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s > 0 => {}
            _ => return Err(format!("`{step}` is not a positive step")),
        }
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + name_base);
        }
        let v: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    if range == "*" || (allow_question && range == "?") {
        return Ok(());
    }
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("the range {a}-{b} is backwards"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions() {
        assert!(validate_cron("0 3 * * 1-5").is_ok());
        assert!(validate_cron("*/15 * * * *").is_ok());
        assert!(validate_cron("0 0 1 JAN,JUL MON").is_ok());
        assert!(validate_cron("@daily").is_ok());
        assert!(validate_cron("@every 1h30m").is_ok());
        assert!(validate_cron("0 3 * *").is_err());
        assert!(validate_cron("61 * * * *").is_err());
        assert!(validate_cron("0 24 * * *").is_err());
        assert!(validate_cron("0 0 * * 5-1").is_err());
        assert!(validate_cron("@sometimes").is_err());
        assert!(validate_cron("*/0 * * * *").is_err());
    }

    #[test]
    fn pinned_images() {
        assert!(unpinned("trainer:1.4.2").is_none());
        assert!(unpinned("ghcr.io/acme/trainer@sha256:abc").is_none());
        assert!(unpinned("host:5000/team/trainer:2").is_none());
        assert!(unpinned("trainer").is_some());
        assert!(unpinned("trainer:latest").is_some());
        assert!(
            unpinned("host:5000/team/trainer").is_some(),
            "a port is not a tag"
        );
    }

    #[test]
    fn quantities_and_names() {
        assert!(is_quantity("64Gi"));
        assert!(is_quantity("500m"));
        assert!(is_quantity("1.5"));
        assert!(is_quantity("1e3"));
        assert!(!is_quantity("64GB"));
        assert!(!is_quantity(""));
        assert!(validate_qualified_name("app.kubernetes.io/name").is_ok());
        assert!(validate_qualified_name("team").is_ok());
        assert!(validate_qualified_name("Bad Key").is_err());
        assert!(validate_label_value("v1.2").is_ok());
        assert!(validate_label_value("-bad").is_err());
        assert_eq!(dns_name("Train_A"), "train-a");
    }
}
