//! `when` as one Argo expression (`{{= ... }}`), so that run-time values are
//! data the expression compares, never text spliced into it.
//!
//! Argo substitutes `{{...}}` in a `when` as raw text and evaluates the
//! result with govaluate (`workflow/controller/steps.go` `shouldExecute`):
//! a value holding a quote breaks the expression, one holding an operator
//! changes it, and govaluate's lexer reads neither `1e-05` nor `nan`. An
//! expression tag is evaluated by expr first
//! (`util/template/expression_template.go` `expressionReplace`), over the
//! values themselves; what reaches govaluate is then `true` or `false`.
//! Argo's own docs recommend this form for values that may hold quotes
//! (docs/walk-through/conditionals.md).
//!
//! Numbers are compared with `asFloat` (so `1e-05`, `nan` and `inf` compare
//! as floats: NaN compares false), bools as the text `true`, strings as
//! strings. Literal strings escape every character that expr or Argo's
//! template reader would take as syntax (`? :` make a ternary in
//! `expressionReplace`, `}}` ends the tag).

use super::route::Kind;
use super::task::TaskCtx;
use crate::sema::hir::{Cond, ListFn, Ref, RunField, StrPart, Value};
use crate::sema::types::Ty;
use crate::syntax::ast::BinOp;

impl TaskCtx<'_, '_> {
    /// Conditions (`&&` parts of one) as one expression tag.
    pub(super) fn when_expr(&mut self, conds: &[&Cond]) -> String {
        let parts: Vec<String> = conds.iter().map(|c| self.expr(c)).collect();
        let body = match parts.as_slice() {
            [one] => one.clone(),
            _ => parts
                .iter()
                .map(|p| format!("({p})"))
                .collect::<Vec<_>>()
                .join(" && "),
        };
        format!("{{{{={body}}}}}")
    }

    fn expr(&mut self, c: &Cond) -> String {
        match c {
            Cond::Lit(v) => self.literal(v),
            Cond::Ref(r) => {
                let (e, ty) = self.operand_ref(r);
                as_kind(e, &ty, false)
            }
            Cond::Unary { operand, .. } => format!("!({})", self.expr(operand)),
            Cond::Call { func, arg } => {
                let (list, _) = self.operand_ref(arg);
                list_call(*func, &list)
            }
            Cond::Binary { op, lhs, rhs } => {
                let numeric = !matches!(op, BinOp::And | BinOp::Or)
                    && (self.is_numeric(lhs) || self.is_numeric(rhs));
                let l = self.operand(lhs, numeric);
                let r = self.operand(rhs, numeric);
                format!("({l}) {} ({r})", op.symbol())
            }
        }
    }

    fn operand(&mut self, c: &Cond, numeric: bool) -> String {
        match c {
            Cond::Ref(r) => {
                let (e, ty) = self.operand_ref(r);
                as_kind(e, &ty, numeric)
            }
            other => self.expr(other),
        }
    }

    fn is_numeric(&self, c: &Cond) -> bool {
        match c {
            Cond::Lit(v) => matches!(v, Value::Int(_) | Value::Float(_)),
            Cond::Ref(r) => matches!(self.ref_ty(r), Ty::Int | Ty::Float),
            Cond::Call { .. } => true,
            _ => false,
        }
    }

    /// A reference as an expr operand, and its type. Records the task it
    /// reads, as rendering it as a placeholder does.
    pub(super) fn operand_ref(&mut self, r: &Ref) -> (String, Ty) {
        let ty = self.ref_ty(r);
        // Keeps dependencies and bindings in one place.
        let placeholder = self.reference(r);
        let e = match r {
            Ref::Param(name) => format!("workflow.parameters['{}']", self.plan.param_dns(name)),
            Ref::Output { stage, output, .. } => {
                let plan = self.plan;
                let task = &plan.stage(*stage).task;
                if ty == Ty::ModelUri {
                    let run = plan.stage_output(*stage, task, Kind::Parameter, "run_id");
                    format!(
                        "'runs:/' + {} + {}",
                        run.source.expression(),
                        string_literal(&format!("/{}", plan.model_path(*stage)))
                    )
                } else {
                    plan.stage_output(*stage, task, Kind::Parameter, output)
                        .source
                        .expression()
                }
            }
            Ref::Metric { stage, name, .. } => {
                let plan = self.plan;
                plan.stage_output(*stage, plan.gate_task(*stage), Kind::Parameter, name)
                    .source
                    .expression()
            }
            Ref::GroupInput(name) => plan_input(self, name),
            Ref::GroupOutput { group, output, .. } => {
                let (routed, _, model_path) = self.plan.routed_group_output(*group, output);
                match model_path {
                    Some(path) => format!(
                        "'runs:/' + {} + {}",
                        routed.source.expression(),
                        string_literal(&format!("/{path}"))
                    ),
                    None => routed.source.expression(),
                }
            }
            Ref::Run(RunField::Status) => "workflow.status".into(),
            Ref::Run(RunField::Failures) => "workflow.failures".into(),
            Ref::Run(RunField::Name) => "workflow.name".into(),
            Ref::Run(RunField::Uid) => "workflow.uid".into(),
            Ref::Run(RunField::Namespace) => "workflow.namespace".into(),
            Ref::Run(RunField::ScheduledTime) => "workflow.scheduledTime".into(),
            Ref::Input(name) => match self.bindings.and_then(|b| b.get(name.as_str())) {
                Some(v) => {
                    let v = v.value.clone();
                    let saved = self.bindings.take();
                    let e = match &v {
                        Value::Ref(inner) => self.operand_ref(inner).0,
                        other => self.literal(other),
                    };
                    self.bindings = saved;
                    e
                }
                None => "''".into(),
            },
            // Conditions that read these stay in govaluate form (see
            // `reads_only_dag_values`); never reached.
            Ref::Item(_) | Ref::GroupItem { .. } | Ref::Run(RunField::Pod) => {
                string_literal(&placeholder)
            }
        };
        (e, ty)
    }

    fn literal(&mut self, v: &Value) -> String {
        match v {
            Value::Str(parts) => {
                let pieces: Vec<String> = parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => string_literal(t),
                        StrPart::Ref(r) => self.operand_ref(r).0,
                    })
                    .collect();
                match pieces.len() {
                    0 => "''".into(),
                    1 => pieces.into_iter().next().unwrap_or_default(),
                    _ => format!("({})", pieces.join(" + ")),
                }
            }
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) if f.is_finite() => f.to_string(),
            other => string_literal(&crate::plan::literal::literal_text(other)),
        }
    }
}

/// A group template's input as an expr operand.
fn plan_input(ctx: &TaskCtx, name: &str) -> String {
    ctx.plan.routed_group_input(name).0.expression()
}

/// Whether a condition can be one expression tag: it reads no `item` (Argo
/// substitutes items into the task text) and no `run.pod` (no pod yet).
pub(super) fn reads_only_dag_values(c: &Cond) -> bool {
    let ok = |r: &Ref| {
        !matches!(
            r,
            Ref::Item(_) | Ref::GroupItem { .. } | Ref::Run(RunField::Pod)
        )
    };
    match c {
        Cond::Lit(Value::Str(parts)) => parts.iter().all(|p| match p {
            StrPart::Ref(r) => ok(r),
            StrPart::Text(_) => true,
        }),
        Cond::Lit(_) => true,
        Cond::Ref(r) | Cond::Call { arg: r, .. } => ok(r),
        Cond::Unary { operand, .. } => reads_only_dag_values(operand),
        Cond::Binary { lhs, rhs, .. } => reads_only_dag_values(lhs) && reads_only_dag_values(rhs),
    }
}

/// An operand as the comparison needs it: numbers through `asFloat`, a bool
/// parameter or output (text) as `true` or `false` in any case. Any other
/// text (`yes`, `1`) fails the tag through `asInt` of a word, so the task
/// errors instead of the condition being silently false: `argo submit -p`
/// drops a parameter's `enum` before validating (`workflow/util/util.go`
/// `overrideParameters`), so the enum alone does not keep such values out.
fn as_kind(e: String, ty: &Ty, numeric: bool) -> String {
    match ty {
        _ if numeric => format!("asFloat({e})"),
        Ty::Bool => format!(
            "((lower({e}) == 'true') || ((lower({e}) != 'false') && (asInt('not-true-or-false') == 0)))"
        ),
        _ => e,
    }
}

/// A list function over `list`, an expression whose value is a JSON list
/// (an aggregated output, or a list parameter). The items are read with
/// `fromJSON`; an item whose producer was skipped is the empty text (its
/// group's output default) and is not counted; numbers are read with
/// `asFloat`, as every other number in a condition.
///
/// Needs Argo 3.6 or later (expr-lang v1.16.9: `max`/`min` of an array
/// came with expr PR #576; `sum`, `map` and `fromJSON` are older). A
/// `max` or `min` of no items is `nil`, which no comparison accepts: the
/// task then ends in Error, as Argo ends a task that reads the outputs of
/// a loop none of whose items succeeded.
fn list_call(func: ListFn, list: &str) -> String {
    let items = format!("filter(fromJSON({list}), {{# != ''}})");
    let numbers = format!("map({items}, {{asFloat(#)}})");
    match func {
        ListFn::Len => format!("len({items})"),
        ListFn::Max => format!("max({numbers})"),
        ListFn::Min => format!("min({numbers})"),
        ListFn::Sum => format!("sum({numbers})"),
    }
}

/// An expr string literal whose text no reader can take as syntax.
pub(super) fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_ascii_alphanumeric() || " -_./@=+,;!#%&*()[]<>^~|$".contains(c) => {
                out.push(c)
            }
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::string_literal;

    #[test]
    fn literals_hold_no_syntax() {
        let lit = string_literal("a'b\\c?d:e}}f{{g\"h\n");
        for bad in ['?', ':', '}', '{', '"', '\n'] {
            assert!(!lit.contains(bad), "{lit}");
        }
        assert_eq!(string_literal("it's"), "'it\\'s'");
    }
}
