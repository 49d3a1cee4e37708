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

use crate::sema::hir::{Cond, Ref, Value};
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
            return Err(format!("`{}(...)` in a condition", func.name()));
        }
        Cond::Unary { op, operand } => match op {
            UnaryOp::Not => format!("!({})", condition(operand, operands)?),
        },
        Cond::Binary { op, lhs, rhs } => {
            let symbol = match op {
                BinOp::Or => "||",
                BinOp::And => "&&",
                BinOp::Eq => "==",
                BinOp::Ne => "!=",
                BinOp::Lt => "<",
                BinOp::Le => "<=",
                BinOp::Gt => ">",
                BinOp::Ge => ">=",
            };
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
        assert_eq!(double(0.1), "0.1");
        assert_eq!(double(1e-5), "1e-5");
        assert_eq!(double(2.0), "2.0");
    }
}
