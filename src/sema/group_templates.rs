//! Group templates (§9.3): `template group NAME { inputs, outputs,
//! members }`, checked once; and each `group G uses NAME`, which holds a
//! copy of the members with the pipeline's ids (`instantiate`).
//!
//! Inside, members see the template's inputs (`Ref::GroupInput`), each
//! other and `run.*`; outside, only the declared outputs
//! (`Ref::GroupOutput`). A member's `item` is a loop's inside the template
//! (a use's own loop item reaches the members through an input:
//! `lr = item`). Members are checked without the pipeline's `defaults`, so
//! a template's stages carry their required fields themselves.

use crate::collections::{HashMap, IndexMap};

use super::check::{Checker, Deps, PipelineCx, Scope, TemplateSlot};
use super::groups::Layout;
use super::hir::{
    self, Cond, Dep, Fields, GroupId, GroupOutput, GroupTemplate, NodeId, Place, Ref, Spanned,
    StageId, StrPart, Value,
};
use super::ids::{GroupTemplateId, ModuleId};
use super::k8s::dns_name;
use super::types::Ty;
use crate::diag::MlpError;
use crate::syntax::ast::{self, Entry, ExprKind, Ident};

impl Checker<'_> {
    /// Checks a module's group templates (after every stage template).
    pub(super) fn module_group_templates(&mut self, module: ModuleId, file: &ast::File) {
        for item in &file.items {
            let ast::Item::Template(t) = item else {
                continue;
            };
            // A name used twice is reported by `module_templates`.
            if t.kind.name != "group"
                || self
                    .template_index
                    .contains_key(&(module, t.name.name.clone()))
            {
                continue;
            }
            let checked = self.group_template(module, t);
            self.group_templates.push(checked);
            let slot = TemplateSlot::Group(GroupTemplateId(self.group_templates.len() - 1));
            self.template_index
                .insert((module, t.name.name.clone()), slot);
        }
    }

    fn group_template(&mut self, module: ModuleId, t: &ast::Template) -> GroupTemplate {
        let was = std::mem::replace(&mut self.in_group_template, true);
        let checked = self.group_template_body(module, t);
        self.in_group_template = was;
        checked
    }

    fn group_template_body(&mut self, module: ModuleId, t: &ast::Template) -> GroupTemplate {
        self.declare_name(&t.name, "a template");
        let (layout, rest) = self.layout(t.body.entries.clone());
        let Layout {
            stages: stage_decls,
            groups: group_decls,
            main,
            finally,
        } = layout;
        if !finally.is_empty() {
            // `layout` read a `finally` block: not in a template.
            self.push(MlpError::EntryNotAllowed {
                src: self.src(t.name.span),
                at: t.name.span,
                entry: "a `finally` block".into(),
                place: format!("group template `{}`", t.name.name),
                help: Some("`finally` belongs at the top of a pipeline".into()),
            });
        }
        let mut inputs: Vec<hir::Input> = Vec::new();
        let mut input_decls: Vec<&ast::Decl> = Vec::new();
        let mut output_decls: Vec<&ast::Decl> = Vec::new();
        for entry in &rest {
            match entry {
                Entry::Input(d) => input_decls.push(d),
                Entry::Output(d) => output_decls.push(d),
                other => self.push(MlpError::EntryNotAllowed {
                    src: self.src(other.span()),
                    at: other.span(),
                    entry: other.describe(),
                    place: format!("group template `{}`", t.name.name),
                    help: Some("a group template holds `input` and `output` declarations, stages and groups; fields such as `for_each` and `when` belong on the group that uses it".into()),
                }),
            }
        }
        // Inputs, stages and groups share one namespace.
        let input_names: Vec<&Ident> = input_decls.iter().map(|d| &d.name).collect();
        let duplicates = self.member_names(
            &input_names,
            &stage_decls,
            &group_decls,
            "an input, stage or group",
        );
        let mut group_inputs = IndexMap::default();
        for (i, d) in input_decls.iter().enumerate() {
            let Some(ty) = self.type_expr(&d.ty) else {
                continue;
            };
            let default = d
                .value
                .as_ref()
                .and_then(|v| self.literal_of_type(v, &ty, "a default"));
            if !duplicates.contains(&i) {
                group_inputs.insert(d.name.name.clone(), (ty.clone(), d.name.span));
            }
            inputs.push(hir::Input {
                name: d.name.name.clone(),
                ty,
                default,
                span: d.span,
                name_span: d.name.span,
            });
        }
        if main.is_empty() {
            self.invalid(
                t.name.span,
                "template group",
                "it holds no stage",
                Some("put the stages (or groups) it runs inside the braces".into()),
            );
        }
        let group_sigs = self.group_sigs(module, &group_decls);
        let mut pcx = PipelineCx {
            params: IndexMap::default(),
            param_spans: Vec::new(),
            stages: Vec::new(),
            stage_defs: Vec::with_capacity(stage_decls.len()),
            stage_index: HashMap::default(),
            stage_places: stage_decls.iter().map(|s| s.place).collect(),
            groups: group_sigs,
            group_index: HashMap::default(),
            group_inputs,
            group_template: true,
            scheduled: false,
        };
        self.member_sigs(
            module,
            &stage_decls,
            &group_decls,
            &duplicates,
            input_decls.len(),
            &mut pcx,
        );
        let was = std::mem::replace(&mut self.in_group_template, true);
        let (mut stages, mut groups, whole) = self.check_members(
            module,
            stage_decls,
            &group_decls,
            &pcx,
            &Fields::default(),
            None,
        );
        self.in_group_template = was;
        self.member_graph(&mut stages, &mut groups, whole);
        let output_names: Vec<&Ident> = output_decls.iter().map(|d| &d.name).collect();
        let duplicate_outputs = self.unique_names(&output_names, "output");
        let mut outputs = Vec::new();
        for (i, d) in output_decls.iter().enumerate() {
            if duplicate_outputs.contains(&i) || !self.declare_name(&d.name, "an output") {
                continue;
            }
            if let Some(o) = self.group_output(d, &pcx) {
                outputs.push(o);
            }
        }
        let qualifier = self.modules[module.index()].qualifier.as_deref();
        let dns = match qualifier {
            Some(q) => dns_name(&format!("{q}-{}", t.name.name)),
            None => dns_name(&t.name.name),
        };
        GroupTemplate {
            name: t.name.name.clone(),
            dns_name: dns.into(),
            inputs,
            outputs,
            stages,
            groups,
            main,
            span: t.span,
            name_span: t.name.span,
        }
    }

    /// `output NAME: TYPE = MEMBER.OUT`: a member's value output, artifact
    /// or metric (E0117 when it names none), of the declared type.
    fn group_output(&mut self, d: &ast::Decl, pcx: &PipelineCx) -> Option<GroupOutput> {
        let ty = self.type_expr(&d.ty)?;
        let value = d.value.as_ref()?;
        let missing = |this: &mut Self, found: String| {
            let members: Vec<String> = pcx
                .stages
                .iter()
                .flat_map(|s| s.outputs.keys().map(move |o| format!("`{}.{o}`", s.name)))
                .collect();
            this.push(MlpError::GroupOutputSource {
                src: this.src(value.span),
                at: value.span,
                output: d.name.name.to_string(),
                found,
                help: Some(if members.is_empty() {
                    "the members declare no outputs; add `output NAME: TYPE = \"/path\"` to a member".into()
                } else {
                    format!("the members' outputs are {}", members.join(", "))
                }),
            });
        };
        let ExprKind::Ref(r) = &value.kind else {
            missing(self, value.kind.describe().into());
            return None;
        };
        let names_member_output = match pcx.stage_index.get(r.segments[0].name.as_str()) {
            Some(s) => {
                let sig = &pcx.stages[s.index()];
                match r.segments.as_slice() {
                    [_, o] => sig.outputs.contains_key(o.name.as_str()),
                    [_, m, name] if m.name == "metrics" => sig.metrics.contains(&name.name),
                    _ => false,
                }
            }
            None => false,
        };
        if !names_member_output {
            missing(self, format!("`{}`", r.display()));
            return None;
        }
        let deps = Deps::default();
        let scope = Scope::Pipeline {
            pcx,
            deps: Some(&deps),
            for_each: false,
            item_keys: None,
            place: Place::default(),
        };
        let (source, found) = self.reference(r, scope)?;
        // `model` declares a train stage's model URI.
        let declared_model = ty == Ty::Artifact(super::types::ArtifactKind::Model);
        let ty = if found == Ty::ModelUri && declared_model {
            Ty::ModelUri
        } else {
            ty
        };
        if !super::types::assignable(&found, &ty) {
            self.push(MlpError::TypeMismatch {
                src: self.src(d.ty.span),
                at: d.ty.span,
                expected: found.describe(),
                found: ty.describe(),
                help: Some(format!(
                    "`{}` is {}; declare the output with its type",
                    r.display(),
                    found.describe()
                )),
            });
            return None;
        }
        // A model URI is passed as its run id whatever type names it; its
        // readers write the URI around it.
        let ty = if found == Ty::ModelUri {
            Ty::ModelUri
        } else {
            ty
        };
        Some(GroupOutput {
            name: d.name.name.clone(),
            ty,
            source,
            span: d.span,
            name_span: d.name.span,
        })
    }

    /// The group template `r` names, reporting what it cannot find.
    pub(super) fn resolve_group_template(
        &mut self,
        module: ModuleId,
        r: &ast::TemplateRef,
    ) -> Option<GroupTemplateId> {
        match self.template_slot(module, r) {
            Some(TemplateSlot::Group(g)) => Some(g),
            Some(TemplateSlot::Broken) => None,
            Some(TemplateSlot::Checked(_)) => {
                self.push(MlpError::TemplateKindMismatch {
                    src: self.src(r.span),
                    at: r.span,
                    stage_kind: "group".into(),
                    template: r.display(),
                    template_kind: "stage".into(),
                });
                None
            }
            None => {
                // Reports it as `uses` of a stage would (unknown name or import).
                self.resolve_template(module, r);
                None
            }
        }
    }

    /// Each group that uses a template gets a copy of its members: the
    /// template's stages and groups appended to the pipeline's, their ids
    /// moved past the pipeline's own, placed in the group.
    pub(super) fn instantiate(
        &mut self,
        stages: &mut Vec<hir::Stage>,
        groups: &mut Vec<hir::Group>,
        mlflow: Option<&Spanned<Value>>,
    ) {
        let mut first: HashMap<GroupTemplateId, GroupId> = HashMap::default();
        for g in 0..groups.len() {
            let Some(template) = groups[g].uses.as_ref().map(|u| u.template) else {
                continue;
            };
            let group = GroupId::new(g);
            let first_use = *first.entry(template).or_insert(group);
            let t = &self.group_templates[template.index()];
            let shift = Shift {
                stages: stages.len(),
                groups: groups.len(),
                holder: group,
                finally: groups[g].place.finally,
            };
            let mut copied_stages: Vec<hir::Stage> =
                t.stages.iter().map(|s| shift.stage(s)).collect();
            let copied_groups: Vec<hir::Group> = t.groups.iter().map(|x| shift.group(x)).collect();
            let members = t.main.iter().map(|n| shift.node(*n)).collect();
            let outputs = t
                .outputs
                .iter()
                .map(|o| GroupOutput {
                    source: shift.reference(&o.source),
                    ..o.clone()
                })
                .collect();
            // The template could not know the pipeline's `mlflow` block.
            let at = groups[g].name_span;
            for s in &mut copied_stages {
                self.needs_mlflow(s, at, mlflow);
            }
            if let Some(use_) = groups[g].uses.as_mut() {
                use_.first = first_use;
                use_.outputs = outputs;
            }
            groups[g].members = members;
            stages.extend(copied_stages);
            groups.extend(copied_groups);
        }
    }
}

/// How a template's ids become a pipeline's: each moved past the
/// pipeline's own, the template's top level placed in the using group.
struct Shift {
    stages: usize,
    groups: usize,
    holder: GroupId,
    finally: bool,
}

impl Shift {
    fn stage_id(&self, s: StageId) -> StageId {
        StageId::new(s.index() + self.stages)
    }

    fn group_id(&self, g: GroupId) -> GroupId {
        GroupId::new(g.index() + self.groups)
    }

    fn node(&self, n: NodeId) -> NodeId {
        match n {
            NodeId::Stage(s) => NodeId::Stage(self.stage_id(s)),
            NodeId::Group(g) => NodeId::Group(self.group_id(g)),
        }
    }

    fn place(&self, p: Place) -> Place {
        Place {
            group: Some(p.group.map_or(self.holder, |g| self.group_id(g))),
            finally: self.finally,
        }
    }

    fn deps(&self, deps: &[Dep]) -> Vec<Dep> {
        deps.iter()
            .map(|d| Dep {
                on: self.node(d.on),
                ..d.clone()
            })
            .collect()
    }

    fn stage(&self, s: &hir::Stage) -> hir::Stage {
        let mut out = s.clone();
        out.place = self.place(s.place);
        out.deps = self.deps(&s.deps);
        out.fields = self.fields(&s.fields);
        out.when = s.when.as_ref().map(|w| self.spanned_cond(w));
        if let Some(u) = &mut out.uses {
            u.args = u
                .args
                .iter()
                .map(|(k, v)| (k.clone(), self.spanned(v)))
                .collect();
        }
        out
    }

    fn group(&self, g: &hir::Group) -> hir::Group {
        let mut out = g.clone();
        out.place = self.place(g.place);
        out.deps = self.deps(&g.deps);
        out.members = g.members.iter().map(|n| self.node(*n)).collect();
        out.for_each = g.for_each.as_ref().map(|f| self.spanned(f));
        out.when = g.when.as_ref().map(|w| self.spanned_cond(w));
        out
    }

    fn fields(&self, fields: &Fields) -> Fields {
        fields
            .iter()
            .map(|(k, v)| (k.clone(), self.spanned(v)))
            .collect()
    }

    fn spanned(&self, v: &Spanned<Value>) -> Spanned<Value> {
        Spanned {
            value: self.value(&v.value),
            span: v.span,
        }
    }

    fn spanned_cond(&self, c: &Spanned<Cond>) -> Spanned<Cond> {
        Spanned {
            value: self.cond(&c.value),
            span: c.span,
        }
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::Ref(r) => Value::Ref(self.reference(r)),
            Value::Str(parts) => Value::Str(
                parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Ref(r) => StrPart::Ref(self.reference(r)),
                        text => text.clone(),
                    })
                    .collect(),
            ),
            Value::List(items) => Value::List(items.iter().map(|i| self.spanned(i)).collect()),
            Value::Map(m) => Value::Map(Box::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.spanned(v)))
                    .collect(),
            )),
            Value::Node(n) => Value::Node(self.node(*n)),
            other => other.clone(),
        }
    }

    fn cond(&self, c: &Cond) -> Cond {
        match c {
            Cond::Lit(v) => Cond::Lit(self.value(v)),
            Cond::Ref(r) => Cond::Ref(self.reference(r)),
            Cond::Call { func, arg } => Cond::Call {
                func: *func,
                arg: self.reference(arg),
            },
            Cond::Unary { op, operand } => Cond::Unary {
                op: *op,
                operand: Box::new(self.cond(operand)),
            },
            Cond::Binary { op, lhs, rhs } => Cond::Binary {
                op: *op,
                lhs: Box::new(self.cond(lhs)),
                rhs: Box::new(self.cond(rhs)),
            },
        }
    }

    fn reference(&self, r: &Ref) -> Ref {
        match r {
            Ref::Output {
                stage,
                output,
                fan_in,
            } => Ref::Output {
                stage: self.stage_id(*stage),
                output: output.clone(),
                fan_in: *fan_in,
            },
            Ref::Metric {
                stage,
                name,
                fan_in,
            } => Ref::Metric {
                stage: self.stage_id(*stage),
                name: name.clone(),
                fan_in: *fan_in,
            },
            Ref::GroupItem { group, key } => Ref::GroupItem {
                group: self.group_id(*group),
                key: key.clone(),
            },
            Ref::GroupOutput {
                group,
                output,
                fan_in,
            } => Ref::GroupOutput {
                group: self.group_id(*group),
                output: output.clone(),
                fan_in: *fan_in,
            },
            other => other.clone(),
        }
    }
}
