//! `when` as a CEL expression: the `triggerPolicy.condition` that KFP's
//! driver evaluates (kubeflow/pipelines backend/src/v2/expression/
//! expression.go, cel-go) over the task's executor input, reading
//! `inputs.parameter_values['NAME']` for inputs the task passes.
//!
//! Numbers are written as CEL doubles: every number in a protobuf `Value`
//! is a double (`NumberValue`), so a parameter of type int reaches CEL as a
//! double, and CEL has no overloads that compare an int with a double.
//! Strings are single-quoted with `\\`, `\'` and control characters
//! escaped (kfp's own compiler does not escape them).

use crate::sema::hir::{Cond, ListFn, Ref, Value};
use crate::syntax::ast::{BinOp, UnaryOp};

/// What a condition reads, as the task input that carries it.
pub trait Operands {
    /// The name of the task input holding `r`'s value (added to the task).
    fn operand(&mut self, r: &Ref) -> Result<String, String>;
}

/// The CEL text of a condition; `Err` names what has no CEL form here.
pub fn condition(cond: &Cond, operands: &mut impl Operands) -> Result<String, String> {
    Ok(match cond {
        Cond::Lit(v) => literal(v)?,
        Cond::Ref(r) => read(&operands.operand(r)?),
        Cond::Call { func, .. } => {
            return Err(format!("`{}(...)` outside a comparison", func.name()));
        }
        Cond::Unary { op, operand } => match op {
            UnaryOp::Not => format!("!({})", condition(operand, operands)?),
        },
        Cond::Binary { op, lhs, rhs } if is_call(lhs) || is_call(rhs) => {
            list_call(*op, lhs, rhs, operands)?
        }
        Cond::Binary { op, lhs, rhs } => {
            // `.mlp` spells the operators as CEL does.
            let symbol = op.symbol();
            let side = |c: &Cond, o: &mut dyn FnMut(&Cond) -> Result<String, String>| {
                let text = o(c)?;
                Ok::<_, String>(if matches!(c, Cond::Binary { .. }) {
                    format!("({text})")
                } else {
                    text
                })
            };
            let mut render = |c: &Cond| condition(c, operands);
            let l = side(lhs, &mut render)?;
            let r = side(rhs, &mut render)?;
            format!("{l} {symbol} {r}")
        }
    })
}

fn is_call(c: &Cond) -> bool {
    matches!(c, Cond::Call { .. })
}

/// A comparison with `len`, `max` or `min` of a list on one side, in
/// CEL's standard macros: `max(L) >= c` holds when some item is `>= c`,
/// `max(L) <= c` when every item is; `min` the other way round. (`sum`
/// has no CEL form: KFP's CEL environment has no fold.)
fn list_call(
    op: BinOp,
    lhs: &Cond,
    rhs: &Cond,
    operands: &mut impl Operands,
) -> Result<String, String> {
    // The call on the left: `c OP f(L)` is `f(L) OP' c`.
    let (op, call, other) = match (lhs, rhs) {
        (Cond::Call { .. }, Cond::Call { .. }) => {
            return Err("a comparison of two list functions".into())
        }
        (Cond::Call { .. }, _) => (op, lhs, rhs),
        _ => (
            match op {
                BinOp::Lt => BinOp::Gt,
                BinOp::Le => BinOp::Ge,
                BinOp::Gt => BinOp::Lt,
                BinOp::Ge => BinOp::Le,
                other => other,
            },
            rhs,
            lhs,
        ),
    };
    let Cond::Call { func, arg } = call else {
        return Err("a list function".into());
    };
    if matches!(op, BinOp::And | BinOp::Or) {
        return Err("a list function as a boolean".into());
    }
    let sym = op.symbol();
    let list = read(&operands.operand(arg)?);
    let value = condition(other, operands)?;
    Ok(match func {
        ListFn::Len => format!("double(size({list})) {sym} {value}"),
        ListFn::Sum => return Err("`sum(...)` in a condition".into()),
        ListFn::Max | ListFn::Min => {
            let max = *func == ListFn::Max;
            // Whether "some item" (exists) or "every item" (all) decides.
            let some = match op {
                BinOp::Gt | BinOp::Ge => max,
                BinOp::Lt | BinOp::Le => !max,
                _ => {
                    // `max(L) == c`: c is an item and no item is above it.
                    let bound = if max { "<=" } else { ">=" };
                    let eq = format!(
                        "{list}.exists(x, x == {value}) && {list}.all(x, x {bound} {value})"
                    );
                    return Ok(if op == BinOp::Eq {
                        eq
                    } else {
                        format!("!({eq})")
                    });
                }
            };
            let macro_name = if some { "exists" } else { "all" };
            format!("{list}.{macro_name}(x, x {sym} {value})")
        }
    })
}

/// How CEL reads a task input.
pub fn read(input: &str) -> String {
    format!("inputs.parameter_values['{}']", escape(input))
}

fn literal(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => double(*i as f64),
        Value::Float(f) => double(*f),
        Value::Duration { secs, .. } => double(*secs),
        Value::Str(_) | Value::Quantity(_) => {
            format!("'{}'", escape(&crate::plan::literal::literal_text(v)))
        }
        other => return Err(format!("the value {other:?} in a condition")),
    })
}

/// A CEL double literal: always with a `.` or an exponent.
fn double(f: f64) -> String {
    let text = format!("{f:?}");
    if text.contains(['.', 'e', 'E']) || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}

/// The text of a single-quoted CEL string.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sema::hir::StrPart;

    struct Names;
    impl Operands for Names {
        fn operand(&mut self, r: &Ref) -> Result<String, String> {
            match r {
                Ref::Param(p) => Ok(format!("pipelinechannel--{p}")),
                _ => Err("other".into()),
            }
        }
    }

    fn param(p: &str) -> Box<Cond> {
        Box::new(Cond::Ref(Ref::Param(p.into())))
    }

    #[test]
    fn numbers_are_doubles_and_strings_are_escaped() {
        let c = Cond::Binary {
            op: BinOp::And,
            lhs: Box::new(Cond::Binary {
                op: BinOp::Ge,
                lhs: param("n"),
                rhs: Box::new(Cond::Lit(Value::Int(3))),
            }),
            rhs: Box::new(Cond::Unary {
                op: UnaryOp::Not,
                operand: Box::new(Cond::Binary {
                    op: BinOp::Eq,
                    lhs: param("env"),
                    rhs: Box::new(Cond::Lit(Value::Str(vec![StrPart::Text(
                        "it's \\ \n".into(),
                    )]))),
                }),
            }),
        };
        assert_eq!(
            condition(&c, &mut Names).unwrap(),
            "(inputs.parameter_values['pipelinechannel--n'] >= 3.0) && \
             !(inputs.parameter_values['pipelinechannel--env'] == 'it\\'s \\\\ \\n')"
        );
        let max = |op| Cond::Binary {
            op,
            lhs: Box::new(Cond::Call {
                func: ListFn::Max,
                arg: Ref::Param("scores".into()),
            }),
            rhs: Box::new(Cond::Lit(Value::Float(0.9))),
        };
        let l = "inputs.parameter_values['pipelinechannel--scores']";
        assert_eq!(
            condition(&max(BinOp::Ge), &mut Names).unwrap(),
            format!("{l}.exists(x, x >= 0.9)")
        );
        assert_eq!(
            condition(&max(BinOp::Lt), &mut Names).unwrap(),
            format!("{l}.all(x, x < 0.9)")
        );
        // `0.9 <= min(L)`: every item is at least 0.9.
        let flipped = Cond::Binary {
            op: BinOp::Le,
            lhs: Box::new(Cond::Lit(Value::Float(0.9))),
            rhs: Box::new(Cond::Call {
                func: ListFn::Min,
                arg: Ref::Param("scores".into()),
            }),
        };
        assert_eq!(
            condition(&flipped, &mut Names).unwrap(),
            format!("{l}.all(x, x >= 0.9)")
        );
        assert_eq!(double(0.1), "0.1");
        assert_eq!(double(1e-5), "1e-5");
        assert_eq!(double(2.0), "2.0");
    }
}
