//! Stages: template arguments, own outputs, required fields, and the
//! body shared with templates.

use crate::collections::{HashMap, HashSet, IndexMap};

use super::check::{Checker, Deps, Item, Node, PipelineCx, Scope};
use super::hir::{self, Cond, Fields, Spanned, Value};
use super::ids::{ModuleId, StageId, TemplateId};
use super::index::{DefKind, Definition, RefEntry};
use super::k8s::dns_name;
use super::schema::{self, StageKind};
use super::text::has_field;
use crate::diag::{closest, MlpError};
use crate::source::Span;
use crate::syntax::ast::{self, Entry, ExprKind, Ident, Text};

/// A stage as checked: every stage gets one, for the partial program.
pub(super) struct CheckedStage {
    pub(super) stage: hir::Stage,
    /// Its kind and template are known, so the checks that need the whole
    /// stage ran (a program with every stage whole is checked for cycles).
    pub(super) whole: bool,
}

impl Checker<'_> {
    pub(super) fn stage(
        &mut self,
        module: ModuleId,
        s: &ast::Stage,
        index: StageId,
        pcx: &PipelineCx,
        defaults: &Fields,
    ) -> CheckedStage {
        let errors_from = self.diags.items.len();
        let sig = &pcx.stages[index.index()];
        let kind = sig.kind;
        let (template, template_found) = match &s.uses {
            Some(r) => match self.template_ref_quiet(module, r) {
                Some(t) => {
                    let def = &self.templates[t.index()];
                    self.refs.push(RefEntry {
                        use_span: r.span,
                        def: Definition {
                            span: Some(def.name_span),
                            kind: DefKind::Template,
                            name: def.name.clone(),
                        },
                        ty: None,
                    });
                    (Some(t), true)
                }
                // Unknown or broken template: already reported. The body
                // is still checked, without it, for the partial program
                // and the reference index; what that finds wrong is noise
                // and is dropped below.
                None => (None, false),
            },
            None => (None, true),
        };
        if let (Some(kind), Some(t)) = (kind, template) {
            let tk = self.templates[t.index()].kind;
            if tk != kind {
                self.push(MlpError::TemplateKindMismatch {
                    src: self.src(s.kind.span),
                    at: s.kind.span,
                    stage_kind: kind.name().into(),
                    template: s.uses.as_ref().map(|r| r.display()).unwrap_or_default(),
                    template_kind: tk.name().into(),
                });
            }
        }
        let item_keys = literal_item_keys(&s.body).or_else(|| {
            let t = &self.templates[template?.index()];
            match &t.fields.get("for_each")?.value {
                Value::List(items) => Some(items.iter().map(|i| hir_item_keys(&i.value)).collect()),
                _ => None,
            }
        });
        let deps = Deps::default();
        let place = pcx.stage_places[index.index()];
        let scope = Scope::Pipeline {
            pcx,
            deps: Some(&deps),
            for_each: sig.for_each,
            item_keys: item_keys.as_deref(),
            place,
        };

        // Assignments that name a template input are arguments, not fields.
        let inputs: Vec<hir::Input> = template
            .map(|t| self.templates[t.index()].inputs.clone())
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
                            again: f.name.span,
                            first,
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
                self.default_inputs(&inputs, &supplied, &mut args, &s.name, &t_name, "stage");
                Some(hir::TemplateUse {
                    template: t,
                    args,
                    span: s.uses.as_ref().map_or(s.span, |r| r.span),
                })
            }
            None => None,
        };

        let where_ = place;
        let place = match kind {
            Some(k) => format!("`{}` stage `{}`", k.name(), s.name.name),
            None => format!("stage `{}`", s.name.name),
        };
        self.item_def = for_each_name(&s.body).or_else(|| {
            let t = &self.templates[template?.index()];
            t.fields.get("for_each").map(|f| f.span)
        });
        let (fields, when) = self.stage_body(&field_entries, kind, scope, &place, false);
        self.item_def = None;
        let mut outputs = Vec::new();
        for e in &field_entries {
            if let Entry::Output(d) = e {
                if kind.is_some_and(|k| !k.runs_user_container()) {
                    self.push(MlpError::FieldNotForKind {
                        src: self.src(d.span),
                        at: d.span,
                        field: "output".into(),
                        kind: kind.map(StageKind::name).unwrap_or_default().into(),
                        help: Some(format!(
                            "register and deploy stages have built-in outputs ({})",
                            [StageKind::Register, StageKind::Deploy]
                                .into_iter()
                                .flat_map(|k| schema::builtin_outputs(k, false))
                                .map(|(name, _)| format!("`{name}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
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
            let template_outputs = self.templates[t.index()].outputs.clone();
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
                        again,
                        first,
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
                    at: name.span,
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

        if let (Some(kind), true) = (kind, template_found) {
            self.required_fields(s, kind, &fields, template, defaults, sig.tracked);
        }
        if !template_found {
            self.diags.items.truncate(errors_from);
        }
        let whole = template_found && kind.is_some();
        let has_errors = !whole || self.errors_since(errors_from);
        let deps = deps.into_first_mentions();
        // Maps grow by doubling; a program holds one per stage.
        let mut fields = fields;
        fields.shrink_to_fit();
        let mut outputs = outputs;
        outputs.shrink_to_fit();
        let stage = hir::Stage {
            name: s.name.name.clone(),
            dns_name: dns_name(&s.name.name).into(),
            // An unknown kind (reported) is kept as the kind that assumes
            // the least, in the partial program only.
            kind: kind.unwrap_or(StageKind::Job),
            uses,
            fields,
            outputs,
            when,
            tracked: sig.tracked,
            place: where_,
            deps,
            span: s.span,
            has_errors,
        };
        CheckedStage { stage, whole }
    }

    pub(super) fn required_fields(
        &mut self,
        s: &ast::Stage,
        kind: StageKind,
        fields: &Fields,
        template: Option<TemplateId>,
        defaults: &Fields,
        tracked: bool,
    ) {
        for name in schema::required_stage_fields(kind) {
            let from_template =
                template.is_some_and(|t| self.templates[t.index()].fields.contains_key(*name));
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
                at: s.name.span,
                field: name.to_string(),
                context: format!("`{}` stage `{}`", kind.name(), s.name.name),
                help: Some(help),
            });
        }
        let script = fields.get("script").map(|f| f.span);
        let command = fields.get("command").map(|f| f.span);
        let template_keys: HashSet<Text> = template
            .map(|t| self.templates[t.index()].fields.keys().cloned().collect())
            .unwrap_or_default();
        let template_has = |name: &str| template_keys.contains(name);
        let shell = fields.get("shell").map(|f| f.span);
        let has_script =
            script.is_some() || template_has("script") || defaults.contains_key("script");
        let has_for_each = fields.contains_key("for_each") || template_has("for_each");
        if let (Some(shell), false) = (shell, has_script) {
            self.push(MlpError::InvalidValue {
                src: self.src(shell),
                at: shell,
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
                at: s.name.span,
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
                at: s.name.span,
                stage: s.name.name.to_string(),
            });
        }
        // A deploy stage is three tasks (resolve, apply, wait); a fan-out
        // would need them grouped per item, which comes with v2 groups.
        if let (StageKind::Deploy, Some(f)) = (kind, fields.get("for_each")) {
            self.push(MlpError::InvalidValue {
                src: self.src(f.span),
                at: f.span,
                field: "for_each".into(),
                reason: "a `deploy` stage cannot fan out".into(),
                help: Some("write one deploy stage per service; fanning out a resolve-apply-wait rollout per item comes with v2 groups".into()),
            });
        }
        let parallelism = fields.get("parallelism").map(|f| f.span);
        if let (Some(p), false) = (parallelism, has_for_each) {
            self.push(MlpError::InvalidValue {
                src: self.src(p),
                at: p,
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
    pub(super) fn stage_body(
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
        let mut sidecars: Vec<&ast::Stage> = Vec::new();
        for &entry in entries {
            let item = match entry {
                Entry::Stage(s) if s.kind.name == "sidecar" => {
                    sidecars.push(s);
                    continue;
                }
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
                    if let Some(checked) = self.when_entry(w, &mut when_span, scope) {
                        when = checked;
                    }
                    continue;
                }
                Entry::Output(_) | Entry::Input(_) if is_template => continue,
                Entry::Output(_) => continue,
                Entry::Input(_) | Entry::Param(_) | Entry::Stage(_) => {
                    let help = match entry {
                        Entry::Stage(_) => "stages go directly in a pipeline; in a stage, `sidecar NAME { ... }` adds a container beside it",
                        Entry::Param(_) => "`param` declares a pipeline parameter; templates take `input`",
                        _ => "`input` declares a template input; in a stage, supply it as `NAME = value`",
                    };
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(entry.span()),
                        at: entry.span(),
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
                    at: item.key.span,
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
                        at: item.key.span,
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
        if let Some(first) = sidecars.first() {
            self.sidecar_field(&sidecars, first, kind, scope, place, &mut fields);
        }
        if let (Some(script), Some(command)) = (fields.get("script"), fields.get("command")) {
            self.push(MlpError::ExclusiveFields {
                src: self.src(script.span),
                first: "command".into(),
                second: "script".into(),
                first_at: command.span,
                second_at: script.span,
                help: Some("a `script` is run by `shell` (default `sh`); a `command` runs as is. Keep one; pass arguments with `args`".into()),
            });
        }
        (fields, when)
    }
}

impl Checker<'_> {
    /// A body's `sidecar NAME { ... }` blocks as its `sidecars` field, on
    /// the kinds that run a container.
    pub(super) fn sidecar_field(
        &mut self,
        blocks: &[&ast::Stage],
        first: &ast::Stage,
        kind: Option<StageKind>,
        scope: Scope,
        place: &str,
        fields: &mut Fields,
    ) {
        if let Some(Err(kinds)) = schema::stage_field("sidecars", kind) {
            self.push(MlpError::FieldNotForKind {
                src: self.src(first.kind.span),
                at: first.kind.span,
                field: "sidecar".into(),
                kind: kind.map(StageKind::name).unwrap_or_default().into(),
                help: Some(format!(
                    "a sidecar runs beside the stage's own container; {} stages have one",
                    schema::kinds_names(kinds)
                )),
            });
            return;
        }
        if let Some(v) = self.sidecars(blocks, scope, place) {
            fields.insert("sidecars".into(), v);
        }
    }
}

/// Where `for_each` is named in a body.
pub(super) fn for_each_name(body: &ast::Body) -> Option<Span> {
    body.entries.iter().find_map(|e| match e {
        Entry::Field(f) if f.name.name == "for_each" => Some(f.name.span),
        _ => None,
    })
}

/// The keys of each item of a literal `for_each` list in a stage body.
pub(super) fn literal_item_keys(body: &ast::Body) -> Option<Vec<Vec<Text>>> {
    literal_item_keys_of(&body.entries)
}

/// The same, for the entries of a body (a group's own entries).
pub(super) fn literal_item_keys_of(entries: &[Entry]) -> Option<Vec<Vec<Text>>> {
    let value = entries.iter().find_map(|e| match e {
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
pub(super) fn hir_item_keys(v: &Value) -> Vec<Text> {
    match v {
        Value::Map(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}
