//! Which stages of a pipeline run, from the program's own semantics
//! (docs/compile.md, shared/spec/LANGUAGE.md), computed on mlpc's HIR and
//! never on the compiled YAML:
//!
//! - a stage runs iff its own `when` holds (for a `for_each` stage: for at
//!   least one item), every stage whose outputs it reads (including metrics,
//!   which go through generated helper steps) ran and succeeded, and every
//!   stage in its `after` list finished - a skipped `after` target does not
//!   block ("a skipped stage does not block");
//! - a stage downstream of a failed stage (through data or `after`) never
//!   runs, and the workflow fails when any stage fails.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use mlpc::sema::hir::{Cond, DepKind, Pipeline, Program, Ref, Stage, StrPart, Value};
use mlpc::sema::types::Ty;
use mlpc::syntax::ast::{BinOp, UnaryOp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Did not run: its `when` was false or a producer it reads did not run.
    Skipped,
    /// Did not run: something upstream failed.
    Blocked,
}

impl Outcome {
    pub fn ran(self) -> bool {
        matches!(self, Outcome::Succeeded | Outcome::Failed)
    }
}

/// What happens in a run, in program terms.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// Parameter values given at submit time (as Argo receives them: text).
    pub params: BTreeMap<String, String>,
    /// (stage, output) -> the value the stage writes.
    pub outputs: BTreeMap<(String, String), String>,
    /// (stage, metric) -> the value the run logged, as text.
    pub metrics: BTreeMap<(String, String), String>,
    /// Stages whose pods fail.
    pub fail: BTreeSet<String>,
    /// The value of any output or metric not listed.
    pub default_value: String,
}

/// A value of the `.mlp` language.
#[derive(Clone, Debug, PartialEq)]
enum V {
    Num(f64),
    Str(String),
    Bool(bool),
    List(Vec<V>),
    Map(BTreeMap<String, V>),
}

fn from_hir(v: &Value, ctx: &Ctx) -> V {
    match v {
        Value::Str(parts) => V::Str(
            parts
                .iter()
                .map(|p| match p {
                    StrPart::Text(t) => t.to_string(),
                    StrPart::Ref(r) => text_of(&ctx.reference(r)),
                })
                .collect(),
        ),
        Value::Int(i) => V::Num(*i as f64),
        Value::Float(f) => V::Num(*f),
        Value::Bool(b) => V::Bool(*b),
        Value::Duration { secs, .. } => V::Num(*secs),
        Value::Quantity(q) => V::Str(q.to_string()),
        Value::List(items) => V::List(items.iter().map(|i| from_hir(&i.value, ctx)).collect()),
        Value::Map(m) => V::Map(
            m.iter()
                .map(|(k, v)| (k.to_string(), from_hir(&v.value, ctx)))
                .collect(),
        ),
        Value::Ref(r) => ctx.reference(r),
        Value::Secret(_) | Value::Node(_) => V::Str(String::new()),
    }
}

fn text_of(v: &V) -> String {
    match v {
        V::Num(n) => n.to_string(),
        V::Str(s) => s.clone(),
        V::Bool(b) => b.to_string(),
        V::List(_) | V::Map(_) => String::new(),
    }
}

/// A text value read as the declared type says.
fn typed(text: &str, ty: &str) -> V {
    match ty {
        "int" | "float" => V::Num(text.trim().parse().unwrap_or(f64::NAN)),
        "bool" => V::Bool(text.trim() == "true"),
        _ if ty.starts_with("list") || ty.starts_with("map") => {
            let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
            from_json(&json)
        }
        _ => V::Str(text.to_string()),
    }
}

fn from_json(j: &serde_json::Value) -> V {
    match j {
        serde_json::Value::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::Bool(b) => V::Bool(*b),
        serde_json::Value::Array(a) => V::List(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => {
            V::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
        }
        other => V::Str(other.as_str().unwrap_or_default().to_string()),
    }
}

struct Ctx<'a> {
    pipeline: &'a Pipeline,
    program: &'a Program,
    facts: &'a Facts,
    item: Option<V>,
    /// The stage whose template inputs `Ref::Input` names.
    stage: Option<&'a Stage>,
}

impl Ctx<'_> {
    fn reference(&self, r: &Ref) -> V {
        match r {
            Ref::Param(name) => {
                let p = self
                    .pipeline
                    .params
                    .iter()
                    .find(|p| p.name == *name)
                    .expect("declared param");
                match self.facts.params.get(name.as_str()) {
                    Some(text) => typed(text, &ty_name(&p.ty)),
                    None => p
                        .default
                        .as_ref()
                        .map_or(V::Str(String::new()), |d| from_hir(&d.value, self)),
                }
            }
            Ref::Output { stage, output, .. } => {
                let s = self.pipeline.stage(*stage);
                let ty = output_ty(self.program, s, output)
                    .map_or("string".to_string(), |t| ty_name(&t));
                let text = self
                    .facts
                    .outputs
                    .get(&(s.name.to_string(), output.to_string()))
                    .cloned()
                    .unwrap_or_else(|| self.facts.default_value.clone());
                typed(&text, &ty)
            }
            Ref::Metric { stage, name, .. } => {
                let s = self.pipeline.stage(*stage);
                let text = self
                    .facts
                    .metrics
                    .get(&(s.name.to_string(), name.to_string()))
                    .cloned()
                    .unwrap_or_else(|| self.facts.default_value.clone());
                // A metric is a float; Python writes nan / inf / 1e-05.
                V::Num(text.trim().parse().unwrap_or(f64::NAN))
            }
            Ref::Item(key) => match (&self.item, key) {
                (Some(V::Map(m)), Some(k)) => {
                    m.get(k.as_str()).cloned().unwrap_or(V::Str(String::new()))
                }
                (Some(v), None) => v.clone(),
                _ => V::Str(String::new()),
            },
            Ref::Run(_) => V::Str("run".into()),
            Ref::GroupItem { .. } | Ref::GroupInput(_) | Ref::GroupOutput { .. } => {
                panic!("the oracle models v1 programs (no groups)")
            }
            Ref::Input(name) => {
                let arg = self
                    .stage
                    .and_then(|s| s.uses.as_ref())
                    .and_then(|u| u.args.get(name.as_str()));
                arg.map_or(V::Str(String::new()), |a| from_hir(&a.value, self))
            }
        }
    }

    fn truth(&self, c: &Cond) -> bool {
        matches!(self.eval(c), V::Bool(true))
    }

    fn eval(&self, c: &Cond) -> V {
        match c {
            Cond::Call { .. } => panic!("the oracle models v1 conditions (no calls)"),
            Cond::Lit(v) => from_hir(v, self),
            Cond::Ref(r) => self.reference(r),
            Cond::Unary {
                op: UnaryOp::Not,
                operand,
            } => V::Bool(!self.truth(operand)),
            Cond::Binary { op, lhs, rhs } => {
                let ord = |a: &V, b: &V| match (a, b) {
                    (V::Num(x), V::Num(y)) => x.partial_cmp(y),
                    (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
                    (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
                    (x, y) => Some(text_of(x).cmp(&text_of(y))),
                };
                use std::cmp::Ordering::*;
                V::Bool(match op {
                    BinOp::And => self.truth(lhs) && self.truth(rhs),
                    BinOp::Or => self.truth(lhs) || self.truth(rhs),
                    BinOp::Eq => ord(&self.eval(lhs), &self.eval(rhs)) == Some(Equal),
                    BinOp::Ne => ord(&self.eval(lhs), &self.eval(rhs)) != Some(Equal),
                    BinOp::Lt => ord(&self.eval(lhs), &self.eval(rhs)) == Some(Less),
                    BinOp::Le => {
                        matches!(ord(&self.eval(lhs), &self.eval(rhs)), Some(Less | Equal))
                    }
                    BinOp::Gt => ord(&self.eval(lhs), &self.eval(rhs)) == Some(Greater),
                    BinOp::Ge => {
                        matches!(ord(&self.eval(lhs), &self.eval(rhs)), Some(Greater | Equal))
                    }
                })
            }
        }
    }
}

fn ty_name(t: &Ty) -> String {
    match t {
        Ty::Int | Ty::Float | Ty::Duration => "float",
        Ty::Bool => "bool",
        Ty::List(_) => "list",
        Ty::Map => "map",
        _ => "string",
    }
    .into()
}

/// The declared type of a stage's output (on the stage or its template).
pub fn output_ty(program: &Program, stage: &Stage, output: &str) -> Option<Ty> {
    let template = stage.uses.as_ref().map(|u| program.template(u.template));
    stage
        .outputs
        .iter()
        .chain(template.into_iter().flat_map(|t| t.outputs.iter()))
        .find(|o| o.name == output)
        .map(|o| o.ty.clone())
}

/// The `when` of a stage (its own, else its template's).
pub fn stage_when<'p>(program: &'p Program, stage: &'p Stage) -> Option<&'p Cond> {
    stage.when.as_ref().map(|w| &w.value).or_else(|| {
        stage
            .uses
            .as_ref()
            .and_then(|u| program.template(u.template).when.as_ref())
            .map(|w| &w.value)
    })
}

fn for_each<'p>(program: &'p Program, stage: &'p Stage) -> Option<&'p Value> {
    stage.fields.get("for_each").map(|v| &v.value).or_else(|| {
        stage
            .uses
            .as_ref()
            .and_then(|u| program.template(u.template).fields.get("for_each"))
            .map(|v| &v.value)
    })
}

/// The outcome of every stage, by stage name.
pub fn outcomes(
    program: &Program,
    pipeline: &Pipeline,
    facts: &Facts,
) -> BTreeMap<String, Outcome> {
    let n = pipeline.stages.len();
    let mut out: Vec<Option<Outcome>> = vec![None; n];
    while out.iter().any(Option::is_none) {
        let mut progressed = false;
        for (i, stage) in pipeline.stages.iter().enumerate() {
            if out[i].is_some() || stage.deps.iter().any(|d| out[v1_stage(d.on)].is_none()) {
                continue;
            }
            progressed = true;
            let dep = |kind: Option<DepKind>| {
                stage
                    .deps
                    .iter()
                    .filter(move |d| kind.is_none_or(|k| d.kind == k))
                    .map(|d| out[v1_stage(d.on)].expect("decided"))
            };
            out[i] = Some(
                if dep(None).any(|o| matches!(o, Outcome::Failed | Outcome::Blocked)) {
                    Outcome::Blocked
                } else if dep(Some(DepKind::Data)).any(|o| o != Outcome::Succeeded)
                    || !when_holds(program, pipeline, stage, facts)
                {
                    Outcome::Skipped
                } else if facts.fail.contains(stage.name.as_str()) {
                    Outcome::Failed
                } else {
                    Outcome::Succeeded
                },
            );
        }
        assert!(progressed, "dependency cycle");
    }
    pipeline
        .stages
        .iter()
        .zip(out)
        .map(|(s, o)| (s.name.to_string(), o.expect("decided")))
        .collect()
}

fn when_holds(program: &Program, pipeline: &Pipeline, stage: &Stage, facts: &Facts) -> bool {
    let ctx = |item| Ctx {
        pipeline,
        program,
        facts,
        item,
        stage: Some(stage),
    };
    let items: Option<Vec<V>> = for_each(program, stage).map(|v| match from_hir(v, &ctx(None)) {
        V::List(items) => items,
        V::Str(text) => match typed(&text, "list") {
            V::List(items) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    });
    let Some(cond) = stage_when(program, stage) else {
        // A fan-out over no items runs nothing.
        return items.is_none_or(|i| !i.is_empty());
    };
    match items {
        None => ctx(None).truth(cond),
        Some(items) => items.into_iter().any(|item| ctx(Some(item)).truth(cond)),
    }
}

/// Whether the run fails.
pub fn fails(outcomes: &BTreeMap<String, Outcome>) -> bool {
    outcomes.values().any(|o| *o == Outcome::Failed)
}

/// The stage a v1 dependency names (the oracle models v1 programs: no
/// groups).
fn v1_stage(node: mlpc::sema::hir::NodeId) -> usize {
    match node {
        mlpc::sema::hir::NodeId::Stage(s) => s.index(),
        mlpc::sema::hir::NodeId::Group(_) => panic!("the oracle models v1 programs (no groups)"),
    }
}
