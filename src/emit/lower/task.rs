//! DAG tasks: references in task fields ([`TaskCtx`]), `depends`, `when`,
//! `for_each`, and a limited fan-out's own DAG.

use std::collections::{BTreeMap, BTreeSet};

use super::route::{item_field, Kind, Source, INDEX_KEY};
use super::{run_placeholder, when, Emitter, Order, Plan};
use crate::collections::IndexMap;
use crate::emit::argo::{
    Arguments, Artifact, Dag, DagTask, Inputs, KeyOnly, Parameter, Template, ValueFrom,
};
use crate::plan::literal::literal_text;
use crate::plan::Binding;
use crate::sema::hir::{conjuncts, Cond, NodeId, Ref, Spanned, StageId, StrPart, Value};
use crate::sema::types::Ty;
use crate::syntax::ast::{BinOp, Text};

impl<'a, 'p> Emitter<'a, 'p> {
    /// `after` and the stage's data dependencies, as task names.
    ///
    /// Each comes with the tasks of its own ancestors: an `after` target
    /// that was Omitted because one of them failed must block, not pass.
    pub(super) fn order_deps(&self, node: NodeId) -> Order {
        let plan = self.plan;
        plan.order_waits[plan.graph.index(node)]
            .iter()
            .map(|&target| {
                let upstream = plan
                    .ancestors(target)
                    .into_iter()
                    .flat_map(|a| plan.node_tasks(a))
                    .collect();
                (plan.node_done_task(target).to_string(), upstream)
            })
            .collect()
    }

    /// Adds a task; `data` are tasks whose outputs it reads (they must have
    /// succeeded), `order` those it only waits for (`after`).
    ///
    /// Argo expands a bare `t` to `t.Succeeded || t.Skipped || t.Daemoned`
    /// (workflow/common/ancestry.go, `expandDependency`): an Omitted `t` (its
    /// own `depends` failed) would omit this task too. For `after` a skipped
    /// or omitted stage does not block, so such a `t` also accepts Omitted.
    ///
    /// An Omitted `t` may also come from a failure above it: then Argo's
    /// `assessDAGPhase` would count the failure as handled by this task and
    /// report the run Succeeded. So `t.Omitted` passes only when none of
    /// `t`'s ancestors Failed or Errored.
    pub(super) fn push_task(&mut self, mut task: DagTask, data: BTreeSet<String>, order: Order) {
        enum Wait {
            Finished(BTreeSet<String>),
            Succeeded,
        }
        let mut terms: BTreeMap<String, Wait> = BTreeMap::new();
        for (d, upstream) in order {
            terms.insert(d, Wait::Finished(upstream));
        }
        for d in data {
            terms.insert(d, Wait::Succeeded);
        }
        terms.remove(&task.name);
        let skippable = &self.plan.skippable;
        let depends: Vec<String> = terms
            .into_iter()
            .map(|(t, wait)| match (wait, skippable.contains(&t)) {
                // Reading outputs of a task that cannot be skipped needs no
                // `.Succeeded`: a failure stops the DAG anyway.
                (_, false) => t,
                (Wait::Succeeded, true) => format!("{t}.Succeeded"),
                (Wait::Finished(upstream), true) if upstream.is_empty() => {
                    format!("({t} || {t}.Omitted)")
                }
                (Wait::Finished(upstream), true) => {
                    let failed: Vec<String> = upstream
                        .iter()
                        .flat_map(|a| [format!("{a}.Failed"), format!("{a}.Errored")])
                        .collect();
                    format!("({t} || ({t}.Omitted && !({})))", failed.join(" || "))
                }
            })
            .collect();
        task.depends = (!depends.is_empty()).then(|| depends.join(" && "));
        let dag = self.plan.at.get();
        self.tasks
            .entry(dag)
            .or_default()
            .push((self.order_key, task));
    }

    /// `when`, `for_each` and `parallelism` of a stage's task; `item_args`
    /// tells, per argument parameter, whether it is the loop's item.
    pub(super) fn finish_task(
        &mut self,
        i: StageId,
        task: DagTask,
        item_args: Vec<bool>,
        deps: BTreeSet<String>,
        order: Order,
        bindings: Option<&IndexMap<Text, Spanned<Value>>>,
    ) {
        let plan = self.plan;
        let stage = plan.pipeline.stage(i);
        let template_when = stage
            .uses
            .as_ref()
            .and_then(|u| plan.program.template(u.template).when.as_ref());
        let merged = &plan.stage(i).fields;
        let for_each = merged.get("for_each").map(|f| &f.value);
        let parallelism = match merged.get("parallelism").map(|f| &f.value) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        };
        let conditions: Vec<&Cond> = [template_when, stage.when.as_ref()]
            .into_iter()
            .flatten()
            .map(|w| &w.value)
            .collect();
        let call = TaskCall {
            conditions,
            for_each,
            parallelism,
            item_args,
            bindings,
            collected: plan.collected_outputs(i),
            indexed: plan.indexed.get(&NodeId::Stage(i)),
        };
        self.finish(task, call, deps, order);
    }

    /// `when`, `for_each` and `parallelism` of a task that runs a stage
    /// or a group.
    pub(super) fn finish(
        &mut self,
        mut task: DagTask,
        call: TaskCall,
        mut deps: BTreeSet<String>,
        order: Order,
    ) {
        let plan = self.plan;
        let TaskCall {
            conditions,
            for_each,
            parallelism,
            item_args,
            bindings,
            collected,
            indexed,
        } = call;
        let fans_out = matches!(for_each, Some(Value::List(_) | Value::Ref(_)));
        let parallelism = parallelism.filter(|_| fans_out);
        // Each `&&` conjunct on its own: one that reads only DAG values is an
        // expression tag over them (see `when`); one that reads `item` stays
        // in Argo's text form, since Argo writes items into the task's text.
        let conjuncts: Vec<&Cond> = conditions.into_iter().flat_map(conjuncts).collect();
        let (on_item, on_dag): (Vec<&Cond>, Vec<&Cond>) = conjuncts
            .into_iter()
            .partition(|c| !when::reads_only_dag_values(c) || cond_reads_item(c, bindings));
        let mut ctx = TaskCtx {
            plan,
            bindings,
            deps: BTreeSet::new(),
            lifted: None,
            item_indexed: indexed.is_some(),
        };
        let dag_when = (!on_dag.is_empty()).then(|| ctx.when_expr(&on_dag));
        // A loop runs in a DAG of its own when its items in flight are
        // limited (Argo limits parallelism per template), and when its
        // outputs are collected under a condition that reads no item: Argo
        // decides a loop task's `when` per item, and a loop whose items
        // were all skipped is Succeeded with no outputs, so its readers
        // would fail to read them; decided once, on the task that calls the
        // loop's DAG, a false condition skips the loop and its readers.
        let wrapped =
            fans_out && (parallelism.is_some() || (dag_when.is_some() && !collected.is_empty()));
        // Inside that DAG the item conditions are decided, per item; other
        // tasks are out of scope there, so what they read enters as inputs.
        ctx.lifted = wrapped.then(Vec::new);
        let item_when = all_of(on_item.iter().map(|c| ctx.cond(c, false)).collect());
        task.when = match wrapped {
            true => dag_when.clone(),
            false => all_of(dag_when.iter().chain(&item_when).cloned().collect()),
        };
        let lifted = ctx.lifted.take();
        let mut items_from_tasks = false;
        match for_each {
            Some(Value::List(items)) => {
                task.with_items = Some(
                    items
                        .iter()
                        .enumerate()
                        .map(|(n, it)| {
                            let item = task_json(&mut ctx, &it.value);
                            match indexed {
                                Some(keys) => indexed_item(n, &item, keys),
                                None => item,
                            }
                        })
                        .collect(),
                );
            }
            Some(v @ Value::Ref(r)) => {
                items_from_tasks = ctx.reads_tasks(v);
                task.with_param = Some(match indexed {
                    Some(keys) => indexed_items(&ctx.operand_ref(r).0, keys),
                    None => ctx.text(v),
                });
            }
            _ => {}
        }
        deps.extend(ctx.deps);
        match wrapped {
            true => {
                let fan_out = LimitedFanOut {
                    parallelism,
                    item_args,
                    items_from_tasks,
                    item_when,
                    lifted,
                    collected,
                };
                self.fan_out_with_limit(task, deps, order, fan_out)
            }
            false => self.push_task(task, deps, order),
        }
    }

    /// A loop in a DAG of its own (see `finish`), fed by pass-through
    /// inputs: its items in flight limited, or its condition decided once.
    pub(super) fn fan_out_with_limit(
        &mut self,
        task: DagTask,
        deps: BTreeSet<String>,
        order: Order,
        fan_out: LimitedFanOut,
    ) {
        let LimitedFanOut {
            parallelism,
            item_args,
            items_from_tasks,
            item_when,
            lifted,
            collected,
        } = fan_out;
        let name = self.template_names.fresh(&format!("{}-fan-out", task.name));
        let mut outer = DagTask {
            name: task.name.clone(),
            template: name.clone(),
            ..Default::default()
        };
        let mut inner = task.clone();
        let mut inputs = Inputs::default();
        inner.arguments = Arguments::default();
        for (p, per_item) in task.arguments.parameters.iter().zip(item_args) {
            if per_item {
                inner.arguments.parameters.push(p.clone());
            } else {
                inputs.parameters.push(Parameter {
                    name: p.name.clone(),
                    ..Default::default()
                });
                outer.arguments.parameters.push(p.clone());
                inner.arguments.parameters.push(Parameter {
                    name: p.name.clone(),
                    value: Some(format!("{{{{inputs.parameters.{}}}}}", p.name)),
                    ..Default::default()
                });
            }
        }
        for a in &task.arguments.artifacts {
            inputs.artifacts.push(Artifact {
                name: a.name.clone(),
                ..Default::default()
            });
            outer.arguments.artifacts.push(a.clone());
            inner.arguments.artifacts.push(Artifact {
                name: a.name.clone(),
                from: Some(format!("{{{{inputs.artifacts.{}}}}}", a.name)),
                ..Default::default()
            });
        }
        if let Some(param) = task.with_param.clone().filter(|_| items_from_tasks) {
            inputs.parameters.push(Parameter {
                name: "mlp-items".into(),
                ..Default::default()
            });
            outer.arguments.parameters.push(Parameter {
                name: "mlp-items".into(),
                value: Some(param),
                ..Default::default()
            });
            inner.with_param = Some("{{inputs.parameters.mlp-items}}".into());
        }
        // The item conditions are decided per item, inside; the other
        // tasks' outputs they read come in as inputs. The rest is decided
        // once, on the outer task.
        outer.when = task.when.clone();
        inner.when = item_when;
        for (n, Lifted { value, .. }) in lifted.into_iter().flatten().enumerate() {
            let name = lifted_input(n);
            inputs.parameters.push(Parameter {
                name: name.clone(),
                ..Default::default()
            });
            outer.arguments.parameters.push(Parameter {
                name,
                value: Some(value),
                ..Default::default()
            });
        }
        inner.depends = None;
        // The loop's task aggregates each output into the list of every
        // item's value; the wrapper passes that list on.
        let outputs = Inputs {
            parameters: collected
                .iter()
                .map(|o| Parameter {
                    name: o.clone(),
                    value_from: Some(ValueFrom {
                        parameter: Some(format!(
                            "{{{{tasks.{}.outputs.parameters.{o}}}}}",
                            inner.name
                        )),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            artifacts: Vec::new(),
        };
        (self.sink)(Template {
            name,
            inputs,
            outputs,
            dag: Some(Dag { tasks: vec![inner] }),
            parallelism,
            ..Default::default()
        });
        self.push_task(outer, deps, order);
    }
}

/// What decides whether and how often a task runs.
pub(super) struct TaskCall<'v> {
    /// `when` conditions, all of which must hold.
    pub(super) conditions: Vec<&'v Cond>,
    pub(super) for_each: Option<&'v Value>,
    pub(super) parallelism: Option<i64>,
    /// Per argument parameter of the task: whether it is the loop's item.
    pub(super) item_args: Vec<bool>,
    /// A templated stage's input values, for its template's `when` and
    /// `for_each`.
    pub(super) bindings: Option<&'v IndexMap<Text, Spanned<Value>>>,
    /// The task's output parameters read outside its loop.
    pub(super) collected: Vec<String>,
    /// When an artifact made in the loop is collected: the item keys read
    /// inside (the items carry their index, see [`item_field`]).
    pub(super) indexed: Option<&'v BTreeSet<String>>,
}

/// A loop in a DAG of its own, and what that DAG needs to know.
pub(super) struct LimitedFanOut {
    /// At most this many items at once.
    pub(super) parallelism: Option<i64>,
    /// Per argument parameter of the task: whether it is the loop's item
    /// (stays on the inner task) or a value of the outer DAG (passed in).
    pub(super) item_args: Vec<bool>,
    /// Whether `withParam` reads another task's outputs (passed in).
    pub(super) items_from_tasks: bool,
    /// The conditions decided per item, inside.
    pub(super) item_when: Option<String>,
    /// Other tasks' values those conditions read.
    pub(super) lifted: Option<Vec<Lifted>>,
    /// The outputs of the looped task read outside the loop (fan-in).
    pub(super) collected: Vec<String>,
}

/// References in DAG-task fields (arguments, when, withParam).
pub(super) struct TaskCtx<'a, 'p> {
    pub(super) plan: &'a Plan<'p>,
    /// A templated stage's input values, for `when`/`for_each` of its template.
    pub(super) bindings: Option<&'a IndexMap<Text, Spanned<Value>>>,
    pub(super) deps: BTreeSet<String>,
    /// For a condition evaluated inside a fan-out's own DAG, where other
    /// tasks are out of scope: their outputs become inputs of that DAG
    /// (`mlp-when-N`, N - 1 the index).
    pub(super) lifted: Option<Vec<Lifted>>,
    /// Whether `item` is the item of an indexed loop (a map of strings:
    /// see [`item_field`]).
    pub(super) item_indexed: bool,
}

/// A value of another task that a fan-out's own DAG takes as an input.
pub(super) struct Lifted {
    pub(super) binding: Binding,
    /// The placeholder the outer task passes.
    pub(super) value: String,
}

/// Whether a reference reads a value of the DAG it is read in (another
/// task's output, or an input of the DAG's template: an enclosing group's
/// item or a group template's input), which a loop's own DAG must be given.
fn reads_the_dag(r: &Ref) -> bool {
    matches!(
        r,
        Ref::Output { .. }
            | Ref::Metric { .. }
            | Ref::GroupOutput { .. }
            | Ref::GroupItem { .. }
            | Ref::GroupInput(_)
    )
}

/// The name of the n-th (from 0) lifted input.
pub(super) fn lifted_input(n: usize) -> String {
    format!("mlp-when-{}", n + 1)
}

impl<'a, 'p> TaskCtx<'a, 'p> {
    pub(super) fn reference(&mut self, r: &Ref) -> String {
        let text = self.placeholder(r);
        match (&mut self.lifted, r) {
            (Some(lifted), r) if reads_the_dag(r) => {
                let binding = self.plan.binding(r);
                let n = match lifted.iter().position(|l| l.binding == binding) {
                    Some(n) => n,
                    None => {
                        lifted.push(Lifted {
                            binding,
                            value: text,
                        });
                        lifted.len() - 1
                    }
                };
                format!("{{{{inputs.parameters.{}}}}}", lifted_input(n))
            }
            _ => text,
        }
    }

    /// A task's artifact argument `name` bound to `value`: `from` what the
    /// value names, or, for a loop's collected artifacts, their key.
    pub(super) fn artifact_arg(&mut self, name: &str, value: &Value) -> Artifact {
        let plan = self.plan;
        if let Value::Ref(Ref::Output {
            stage,
            output,
            fan_in: true,
        }) = value
        {
            if plan
                .collected_artifacts
                .get(stage)
                .is_some_and(|c| c.contains(output.as_str()))
            {
                let indices: Vec<String> = plan
                    .shared_indices(*stage)
                    .into_iter()
                    .map(|(_, source)| source.placeholder())
                    .collect();
                let task = plan.done_task(*stage).to_string();
                self.deps
                    .extend(plan.routed_wait(plan.dag_of(NodeId::Stage(*stage)), &task));
                return Artifact {
                    name: name.to_string(),
                    s3: Some(KeyOnly {
                        key: plan.collected_key(*stage, output, &indices),
                    }),
                    ..Default::default()
                };
            }
        }
        Artifact {
            name: name.to_string(),
            from: Some(self.text(value)),
            ..Default::default()
        }
    }

    /// Whether `text` of `v` reads a value of the DAG (another task's
    /// output, an input of the DAG's template).
    pub(super) fn reads_tasks(&self, v: &Value) -> bool {
        let reads = reads_the_dag;
        text_reads(v, &mut |r| match r {
            // `text` renders a bound value with no bindings of its own.
            Ref::Input(name) => self
                .bindings
                .and_then(|b| b.get(name.as_str()))
                .is_some_and(|b| text_reads(&b.value, &mut |r| reads(r))),
            r => reads(r),
        })
    }

    pub(super) fn placeholder(&mut self, r: &Ref) -> String {
        let plan = self.plan;
        match r {
            Ref::Param(name) => format!("{{{{workflow.parameters.{}}}}}", plan.param_dns(name)),
            Ref::Input(name) => match self.bindings.and_then(|b| b.get(name.as_str())) {
                Some(v) => {
                    let saved = self.bindings.take();
                    let text = self.text(&v.value);
                    self.bindings = saved;
                    text
                }
                None => String::new(),
            },
            Ref::Output { stage, output, .. } => {
                let task = plan.done_task(*stage).to_string();
                let ty = plan
                    .stage(*stage)
                    .outputs
                    .get(output.as_str())
                    .map_or(Ty::String, |o| o.ty.clone());
                match ty {
                    Ty::ModelUri => {
                        let routed = plan.stage_output(*stage, &task, Kind::Parameter, "run_id");
                        self.deps.extend(routed.dep);
                        format!(
                            "runs:/{}/{}",
                            routed.source.placeholder(),
                            plan.model_path(*stage)
                        )
                    }
                    t => {
                        let kind = if t.is_artifact() {
                            Kind::Artifact
                        } else {
                            Kind::Parameter
                        };
                        let routed = plan.stage_output(*stage, &task, kind, output);
                        self.deps.extend(routed.dep);
                        routed.source.placeholder()
                    }
                }
            }
            Ref::Metric { stage, name, .. } => {
                let gate = plan.gate_task(*stage).to_string();
                let routed = plan.stage_output(*stage, &gate, Kind::Parameter, name);
                self.deps.extend(routed.dep);
                routed.source.placeholder()
            }
            Ref::GroupItem { group, key } => plan.routed_item(*group, key.as_deref()).placeholder(),
            Ref::GroupInput(name) => plan.routed_group_input(name).0.placeholder(),
            Ref::GroupOutput { group, output, .. } => {
                let (routed, _, model_path) = plan.routed_group_output(*group, output);
                self.deps.extend(routed.dep);
                match model_path {
                    Some(path) => format!("runs:/{}/{path}", routed.source.placeholder()),
                    None => routed.source.placeholder(),
                }
            }
            Ref::Item(k) => Source::Item(item_field(self.item_indexed, k.as_deref())).placeholder(),
            Ref::Run(f) => run_placeholder(*f).to_string(),
        }
    }

    pub(super) fn text(&mut self, v: &Value) -> String {
        match v {
            Value::Str(parts) => parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => t.clone(),
                    StrPart::Ref(r) => self.reference(r).into(),
                })
                .collect(),
            Value::Ref(r) => self.reference(r),
            other => literal_text(other),
        }
    }

    pub(super) fn ref_ty(&self, r: &Ref) -> Ty {
        match r {
            Ref::Param(name) => self.plan.param_ty(name),
            Ref::Output {
                stage,
                output,
                fan_in,
            } => {
                let ty = self
                    .plan
                    .stage(*stage)
                    .outputs
                    .get(output.as_str())
                    .map_or(Ty::Any, |o| o.ty.clone());
                if *fan_in {
                    Ty::List(Box::new(ty))
                } else {
                    ty
                }
            }
            Ref::Metric { fan_in: true, .. } => Ty::List(Box::new(Ty::Float)),
            Ref::GroupOutput {
                group,
                output,
                fan_in,
            } => {
                let ty = self
                    .plan
                    .group_output(*group, output)
                    .map_or(Ty::Any, |o| o.ty.clone());
                if *fan_in {
                    Ty::List(Box::new(ty))
                } else {
                    ty
                }
            }
            Ref::GroupInput(name) => self
                .plan
                .template_use_holding(self.plan.at.get())
                .and_then(|g| self.plan.pipeline.group(g).uses.as_ref())
                .and_then(|u| {
                    self.plan
                        .program
                        .group_template(u.template)
                        .inputs
                        .iter()
                        .find(|i| i.name == name)
                })
                .map_or(Ty::Any, |i| i.ty.clone()),
            Ref::Metric { .. } => Ty::Float,
            Ref::Run(_) => Ty::String,
            Ref::Item(_) | Ref::GroupItem { .. } => Ty::Any,
            Ref::Input(name) => match self
                .bindings
                .and_then(|b| b.get(name.as_str()))
                .map(|v| &v.value)
            {
                Some(Value::Ref(r)) => self.ref_ty(r),
                Some(Value::Str(_)) => Ty::String,
                Some(Value::Int(_)) => Ty::Int,
                Some(Value::Float(_)) => Ty::Float,
                Some(Value::Bool(_)) => Ty::Bool,
                _ => Ty::Any,
            },
        }
    }

    pub(super) fn is_stringy(&self, c: &Cond) -> bool {
        match c {
            Cond::Lit(Value::Str(_)) => true,
            Cond::Ref(r) => matches!(self.ref_ty(r), Ty::String | Ty::ModelUri),
            _ => false,
        }
    }

    /// A `when` in Argo's expression syntax (govaluate): strings quoted,
    /// numbers and bools bare, every operand parenthesised.
    pub(super) fn cond(&mut self, c: &Cond, quote: bool) -> String {
        match c {
            Cond::Lit(Value::Str(parts)) => {
                let text: String = parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => t.clone(),
                        StrPart::Ref(_) => String::new().into(),
                    })
                    .collect();
                quote_string(&text)
            }
            Cond::Lit(v) => literal_text(v),
            Cond::Ref(r) => {
                let text = self.reference(r);
                if quote {
                    quote_string(&text)
                } else {
                    text
                }
            }
            Cond::Unary { operand: inner, .. } => {
                format!("!({})", self.cond(inner, false))
            }
            // Never reached: a call reads no item, so its conjunct is an
            // expression tag (`when`), and the checker keeps calls out of
            // conjuncts that read one.
            Cond::Call { .. } => "false".into(),
            Cond::Binary { op, lhs, rhs } => {
                let quote_operands = matches!(op, BinOp::Eq | BinOp::Ne)
                    && (self.is_stringy(lhs) || self.is_stringy(rhs));
                let l = self.cond(lhs, quote_operands);
                let r = self.cond(rhs, quote_operands);
                format!("({l}) {} ({r})", op.symbol())
            }
        }
    }
}

/// Conditions joined by `&&` (each parenthesised when there are several).
pub(super) fn all_of(parts: Vec<String>) -> Option<String> {
    match parts.len() {
        0 => None,
        1 => parts.into_iter().next(),
        _ => Some(
            parts
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" && "),
        ),
    }
}

/// Whether a condition reads `item` (directly, or through a template
/// input bound to a value that does).
pub(super) fn cond_reads_item(c: &Cond, bindings: Option<&IndexMap<Text, Spanned<Value>>>) -> bool {
    let reads = |r: &Ref| match r {
        Ref::Item(_) | Ref::GroupItem { .. } => true,
        Ref::Input(name) => bindings
            .and_then(|b| b.get(name.as_str()))
            .is_some_and(|v| value_reads_item(&v.value)),
        _ => false,
    };
    match c {
        Cond::Lit(v) => value_reads_item(v),
        Cond::Ref(r) | Cond::Call { arg: r, .. } => reads(r),
        Cond::Unary { operand, .. } => cond_reads_item(operand, bindings),
        Cond::Binary { lhs, rhs, .. } => {
            cond_reads_item(lhs, bindings) || cond_reads_item(rhs, bindings)
        }
    }
}

pub(super) fn value_reads_item(v: &Value) -> bool {
    text_reads(v, &mut |r| matches!(r, Ref::Item(_)))
}

/// Whether a reference that the text of `v` renders (a string's or a bare
/// reference; lists and maps become literal JSON) is one `f` accepts.
pub(super) fn text_reads(v: &Value, f: &mut dyn FnMut(&Ref) -> bool) -> bool {
    match v {
        Value::Ref(r) => f(r),
        Value::Str(parts) => parts.iter().any(|p| match p {
            StrPart::Ref(r) => f(r),
            StrPart::Text(_) => false,
        }),
        _ => false,
    }
}

pub(super) fn quote_string(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The `n`-th item of an indexed loop (see [`item_field`]), from the item
/// as a `withItems` entry: its index, the item, and each key read inside.
/// The item and its keys keep their JSON values: Argo writes a map item's
/// value with `Item.String()` (`pkg/apis/workflow/v1alpha1/item.go`), a
/// string as it is and anything else as compact JSON, which is what
/// `{{item}}` of a plain loop gives; a value stored as JSON *text* would
/// arrive with its quotes escaped (argo-workflows#16061).
fn indexed_item(n: usize, item: &serde_json::Value, keys: &BTreeSet<String>) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    out.insert(INDEX_KEY.into(), n.to_string().into());
    out.insert("mlp-item".into(), item.clone());
    for k in keys {
        let value = item.get(k).cloned().unwrap_or_default();
        out.insert(format!("mlp-key-{k}"), value);
    }
    out.into()
}

/// `withParam` of an indexed loop over a run-time JSON list (`list`, an
/// expr operand): the same maps as [`indexed_item`], built by an expression
/// tag when the task is resolved. Argo's expr (>= 3.6, expr-lang v1.16):
/// `fromJSON`, `len`, `map` with `#`, the range `a..b`, `string`; Argo's own
/// `toJson` (compact `json.Marshal`, so numbers are written as Go writes a
/// float64). An empty list is `[]` without a range.
fn indexed_items(list: &str, keys: &BTreeSet<String>) -> String {
    let items = format!("fromJSON({list})");
    let item = format!("{items}[#]");
    let mut fields = vec![
        format!("'{INDEX_KEY}': string(#)"),
        format!("'mlp-item': {item}"),
    ];
    for k in keys {
        fields.push(format!("'mlp-key-{k}': {item}[{}]", quote_string(k)));
    }
    format!(
        "{{{{=len({items}) == 0 ? '[]' : toJson(map(0..(len({items}) - 1), {{ {{{}}} }}))}}}}",
        fields.join(", ")
    )
}

/// A `withItems` entry: literals as JSON, text with placeholders as strings.
pub(super) fn task_json(ctx: &mut TaskCtx, v: &Value) -> serde_json::Value {
    match v {
        Value::Int(i) => (*i).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into)
        }
        Value::Bool(b) => (*b).into(),
        Value::List(items) => items.iter().map(|i| task_json(ctx, &i.value)).collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.to_string(), task_json(ctx, &v.value)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        other => ctx.text(other).into(),
    }
}
