//! Templates: their inputs, outputs and body, and how a stage's `uses`
//! finds one (in its own module or through an import).

use super::check::{Checker, Scope, TemplateSlot};
use super::hir::{self};
use super::ids::{ModuleId, TemplateId};
use super::k8s::dns_name;
use super::schema::{self, StageKind};
use super::text::has_field;
use super::types::{Ty, TYPE_NAMES};
use crate::diag::{closest, did_you_mean, MlpError};
use crate::syntax::ast::{self, Entry, Expr, ExprKind, Ident};

impl Checker<'_> {
    pub(super) fn module_templates(&mut self, module: ModuleId, file: &ast::File) {
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
            // Group templates are checked after every stage template
            // (`module_group_templates`): their members may use any.
            if duplicates.contains(&i) || t.kind.name == "group" {
                continue;
            }
            let slot = match self.template(module, t) {
                Some(checked) => {
                    self.templates.push(checked);
                    TemplateSlot::Checked(TemplateId(self.templates.len() - 1))
                }
                None => TemplateSlot::Broken,
            };
            self.template_index
                .insert((module, t.name.name.clone()), slot);
        }
    }

    pub(super) fn template(
        &mut self,
        module: ModuleId,
        t: &ast::Template,
    ) -> Option<hir::Template> {
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
                            at: decl.name.span,
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
                        name_span: decl.name.span,
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
        self.item_def = super::stages::for_each_name(&t.body);
        let (fields, when) = self.stage_body(&entries, kind, scope, &place, true);
        self.item_def = None;
        let kind = kind?;
        let qualifier = self.modules[module.index()].qualifier.as_deref();
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
            name_span: t.name.span,
        })
    }

    pub(super) fn stage_kind(&mut self, kind: &Ident) -> Option<StageKind> {
        let found = StageKind::from_name(&kind.name);
        if found.is_none() {
            self.push(MlpError::UnknownStageKind {
                src: self.src(kind.span),
                at: kind.span,
                kind: kind.name.to_string(),
                help: did_you_mean(&kind.name, schema::STAGE_KINDS.iter().copied()).or_else(|| {
                    Some(format!(
                        "the stage kinds are {}",
                        schema::kinds_names(schema::ALL)
                    ))
                }),
            });
        }
        found
    }

    pub(super) fn type_expr(&mut self, t: &ast::TypeExpr) -> Option<Ty> {
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
                at: t.name.span,
                name: t.name.name.to_string(),
                help,
            });
        }
        ty
    }

    pub(super) fn output_decl(&mut self, decl: &ast::Decl) -> Option<hir::Output> {
        let usable = self.declare_name(&decl.name, "an output");
        // Value outputs are read from their file as text (lists and maps as
        // JSON, which `for_each` takes).
        let ty = self.type_expr(&decl.ty)?;
        let value = decl.value.as_ref()?;
        let path = self.path_literal(value)?;
        if path == "/mlflow" || path.starts_with("/mlflow/") {
            self.push(MlpError::BadOutputPath {
                src: self.src(value.span),
                at: value.span,
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
            name_span: decl.name.span,
        })
    }

    /// A literal absolute path (output paths, volume mount paths).
    pub(super) fn path_literal(&mut self, value: &Expr) -> Option<String> {
        let text = match &value.kind {
            ExprKind::Str(parts) => {
                match parts.as_slice() {
                    [] => String::new(),
                    [ast::StrPart::Text(t)] => t.to_string(),
                    _ => {
                        self.push(MlpError::BadOutputPath {
                        src: self.src(value.span),
                        at: value.span,
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
                    at: value.span,
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
                at: value.span,
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

    /// The template a stage's `uses` names, reporting a name that finds
    /// none. `None` also for a template in a module that did not load, or
    /// one too broken to use (both reported already).
    pub(super) fn resolve_template(
        &mut self,
        module: ModuleId,
        r: &ast::TemplateRef,
    ) -> Option<TemplateId> {
        let target_module = match &r.module {
            None => module,
            Some(alias) => {
                let found = self.modules[module.index()]
                    .imports
                    .iter()
                    .find(|i| i.alias.name == alias.name)
                    .map(|i| i.module);
                match found {
                    Some(m) => m,
                    None => {
                        let aliases: Vec<&str> = self.modules[module.index()]
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
                            at: r.span,
                            name: r.display(),
                            help,
                        });
                        return None;
                    }
                }
            }
        };
        if !self.loaded[target_module.index()] {
            // The module failed to load or parse; that is reported already.
            return None;
        }
        match self
            .template_index
            .get(&(target_module, r.name.name.clone()))
        {
            Some(TemplateSlot::Checked(t)) => Some(*t),
            Some(TemplateSlot::Broken) => None,
            Some(TemplateSlot::Group(_)) => {
                self.push(MlpError::TemplateKindMismatch {
                    src: self.src(r.span),
                    at: r.span,
                    stage_kind: "stage".into(),
                    template: r.display(),
                    template_kind: "group".into(),
                });
                None
            }
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
                    at: r.span,
                    name: r.display(),
                    help,
                });
                None
            }
        }
    }

    /// Like `resolve_template`, without reporting again (the signature pass did).
    pub(super) fn template_ref_quiet(
        &self,
        module: ModuleId,
        r: &ast::TemplateRef,
    ) -> Option<TemplateId> {
        match self.template_slot(module, r)? {
            TemplateSlot::Checked(t) => Some(t),
            TemplateSlot::Broken | TemplateSlot::Group(_) => None,
        }
    }

    /// What `r` names (a stage or group template, or a broken one), found
    /// quietly: through its module's imports, or in `module` itself.
    pub(super) fn template_slot(
        &self,
        module: ModuleId,
        r: &ast::TemplateRef,
    ) -> Option<TemplateSlot> {
        let target = match &r.module {
            None => module,
            Some(alias) => {
                self.modules[module.index()]
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

    /// The inputs of a template that a use (`what`: a stage or a group)
    /// did not supply: their defaults, or E0208 at the use's name.
    pub(super) fn default_inputs(
        &mut self,
        inputs: &[hir::Input],
        supplied: &crate::collections::HashSet<String>,
        args: &mut crate::collections::IndexMap<crate::syntax::ast::Text, hir::Spanned<hir::Value>>,
        at: &Ident,
        template: &str,
        what: &str,
    ) {
        for input in inputs {
            if supplied.contains(input.name.as_str()) {
                continue;
            }
            match &input.default {
                Some(d) => {
                    args.insert(input.name.clone(), d.clone());
                }
                None => self.push(MlpError::MissingInput {
                    src: self.src(at.span),
                    at: at.span,
                    template: template.to_string(),
                    input: input.name.to_string(),
                    help: Some(format!(
                        "add `{} = ...` ({}) to the {what}",
                        input.name,
                        input.ty.describe()
                    )),
                }),
            }
        }
    }
}
