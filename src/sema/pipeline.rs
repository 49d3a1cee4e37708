//! Pipelines: parameters, settings, `defaults`, and the stages in order;
//! then the checks that need every stage (code values, cycles).

use crate::collections::{HashMap, IndexMap};

use super::argv;
use super::check::{Checker, Item, Node, PipelineCx, Scope};
use super::effective::effective_fields;
use super::groups::Layout;
use super::hir::{self, Fields, Spanned, StrPart, Value};
use super::ids::ModuleId;
use super::k8s::dns_name;
use super::schema::{self, FieldTy};
use super::settings::is_time_zone_name;
use super::signature::PipelineSigs;
use super::text::plain_text;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, Entry, Ident};

impl Checker<'_> {
    /// Takes the pipeline's AST: each stage's syntax is dropped as soon as
    /// its HIR is built, so a large program never holds both whole.
    /// The pipeline, and its stages' signatures (kept for the analysis).
    pub(super) fn pipeline(
        &mut self,
        module: ModuleId,
        p: ast::Pipeline,
    ) -> (hir::Pipeline, PipelineSigs) {
        self.declare_name(&p.name, "a pipeline");
        let dns = self.dns_label(&p.name, 52);
        // Stages and groups are taken out, wherever they are written, to be
        // checked (stages dropped one by one).
        let (layout, entries) = self.layout(p.body.entries);
        let Layout {
            stages: stage_decls,
            groups: group_decls,
            main,
            finally,
        } = layout;
        let mut param_decls = Vec::new();
        let mut volume_decls: Vec<&ast::Stage> = Vec::new();
        let mut setting_items = Vec::new();
        let mut defaults_block: Option<Item> = None;
        for entry in &entries {
            match entry {
                Entry::Param(d) => param_decls.push(d),
                // Stages and groups were taken out above; run volumes stay.
                Entry::Stage(s) => volume_decls.push(s),
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
                        at: entry.span(),
                        entry: entry.describe(),
                        place: format!("pipeline `{}`", p.name.name),
                        help: Some(help.into()),
                    });
                }
            }
        }

        // One namespace for parameters, stages and groups: all are
        // referenced by name.
        let param_names: Vec<&Ident> = param_decls.iter().map(|d| &d.name).collect();
        let duplicates = self.member_names(
            &param_names,
            &stage_decls,
            &group_decls,
            "a parameter, stage or group",
        );

        if main.is_empty() {
            self.invalid(
                p.name.span,
                "pipeline",
                "it has no stage outside `finally`",
                Some("a run is at least one stage; `finally` runs after it".into()),
            );
        }
        let scheduled = setting_items.iter().any(|i| i.key.name == "schedule");
        if scheduled {
            // A CronWorkflow starts runs itself: nobody supplies a value.
            for d in param_decls.iter().filter(|d| d.value.is_none()) {
                self.invalid(
                    d.name.span,
                    "param",
                    "a scheduled pipeline starts its runs itself, so every parameter needs a default",
                    Some(format!("give it one: `param {}: {} = ...`", d.name.name, d.ty.name.name)),
                );
            }
        }
        let mut params = Vec::new();
        let mut param_types = IndexMap::default();
        let mut param_spans = Vec::new();
        for (i, d) in param_decls.iter().enumerate() {
            let Some(ty) = self.type_expr(&d.ty) else {
                continue;
            };
            if ty.is_artifact() {
                self.push(MlpError::ArtifactValueMismatch {
                    src: self.src(d.ty.span),
                    at: d.ty.span,
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
                param_spans.push(d.name.span);
            }
            params.push(hir::Param {
                name: d.name.name.clone(),
                dns_name: dns_name(&d.name.name).into(),
                ty,
                default,
                span: d.span,
            });
        }

        let group_sigs = self.group_sigs(module, &group_decls);
        let mut pcx = PipelineCx {
            params: param_types,
            param_spans,
            stages: Vec::new(),
            stage_defs: Vec::with_capacity(stage_decls.len()),
            stage_index: HashMap::default(),
            stage_places: stage_decls.iter().map(|s| s.place).collect(),
            groups: group_sigs,
            group_index: HashMap::default(),
            group_inputs: Default::default(),
            group_template: false,
            scheduled,
        };
        self.member_sigs(
            module,
            &stage_decls,
            &group_decls,
            &duplicates,
            param_decls.len(),
            &mut pcx,
        );

        let place = format!("pipeline `{}`", p.name.name);
        let settings = self.record(
            &setting_items,
            schema::PIPELINE,
            Scope::Pipeline {
                pcx: &pcx,
                deps: None,
                for_each: false,
                item_keys: None,
                place: hir::Place::default(),
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
        let volumes = self.run_volumes(
            &volume_decls,
            Scope::Pipeline {
                pcx: &pcx,
                deps: None,
                for_each: false,
                item_keys: None,
                place: hir::Place::default(),
            },
        );

        let mlflow = settings.get("mlflow");
        let (mut stages, mut groups, whole) = self.check_members(
            module,
            stage_decls,
            &group_decls,
            &pcx,
            &defaults,
            Some(mlflow),
        );
        self.instantiate(&mut stages, &mut groups, mlflow);
        let graph = self.member_graph(&mut stages, &mut groups, whole);
        let pipeline = hir::Pipeline {
            name: p.name.name.clone(),
            name_span: p.name.span,
            dns_name: dns.into(),
            params,
            settings,
            defaults,
            stages,
            groups,
            main,
            finally,
            span: p.span,
            volumes,
            graph,
        };
        self.pod_surface(&pipeline);
        self.distributed_stages(&pipeline, &pcx.stage_defs);
        let sigs = PipelineSigs {
            pipeline: p.name.name,
            stages: pcx.stages,
        };
        (pipeline, sigs)
    }

    /// E0229: a reference in code that no shell runs (`python -c "...${x}"`,
    /// a `script` with `shell = "python3"`). Checked on the effective fields
    /// (a template's command with a stage's args); each place once.
    pub(super) fn values_in_code(&mut self, stage: &hir::Stage, defaults: &Fields) {
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
            at: span,
            interpreter,
            help: Some("pass it in `env { NAME = value }` and read the environment variable in the code (`os.environ[\"NAME\"]`, `process.env.NAME`, `$ENV{NAME}`)".into()),
        });
    }

    pub(super) fn defaults_item<'i>(
        &mut self,
        item: Item<'i>,
        previous: Option<Item<'i>>,
    ) -> Item<'i> {
        if let Some(first) = previous {
            self.push(MlpError::Duplicate {
                src: self.src(item.key.span),
                what: "block".into(),
                name: "defaults".into(),
                again: item.key.span,
                first: first.key.span,
            });
        }
        item
    }

    /// `defaults { ... }`: any stage field, with no stage outputs in it.
    pub(super) fn defaults(&mut self, item: Item, pcx: &PipelineCx) -> Fields {
        // `sidecar NAME { ... }` blocks give every container stage a sidecar.
        let (node, sidecars): (Node, Vec<&ast::Stage>) = match item.node {
            Node::Block(body) => (
                Node::Block(body),
                body.entries
                    .iter()
                    .filter_map(|e| match e {
                        Entry::Stage(s) if s.kind.name == "sidecar" => Some(&**s),
                        _ => None,
                    })
                    .collect(),
            ),
            other => (other, Vec::new()),
        };
        let Some(items) = self.record_items_except_sidecars(node, "`defaults`") else {
            return Fields::default();
        };
        let scope = Scope::Pipeline {
            pcx,
            deps: None,
            for_each: false,
            item_keys: None,
            place: hir::Place::default(),
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
                            at: it.key.span,
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
        if let Some(first) = sidecars.first() {
            self.sidecar_field(&sidecars, first, None, scope, "`defaults`", &mut fields);
        }
        fields
    }
}
