//! `when` conditions: operands typed, comparisons checked.

use super::check::{Checker, Scope};
use super::hir::{conjuncts, refs_in_cond};
use super::hir::{Cond, ListFn, Ref, Spanned};
use super::types::Ty;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, BinOp, Expr, ExprKind};

impl Checker<'_> {
    // ----- when -----------------------------------------------------------------

    /// A body's `when` entry: `None` when the body has had one already
    /// (E0103 at this one, the first kept in `first`), else the condition
    /// as checked.
    pub(super) fn when_entry(
        &mut self,
        w: &ast::When,
        first: &mut Option<Span>,
        scope: Scope,
    ) -> Option<Option<Spanned<Cond>>> {
        if let Some(first) = *first {
            self.push(MlpError::Duplicate {
                src: self.src(w.span),
                what: "condition".into(),
                name: "when".into(),
                again: w.span,
                first,
            });
            return None;
        }
        *first = Some(w.span);
        Some(self.condition(&w.cond, scope).map(|c| Spanned {
            value: c,
            span: w.cond.span,
        }))
    }

    pub(super) fn condition(&mut self, expr: &Expr, scope: Scope) -> Option<Cond> {
        let (cond, ty) = self.cond(expr, scope)?;
        if ty != Ty::Bool && ty != Ty::Any {
            self.push(MlpError::BadCondition {
                src: self.src(expr.span),
                at: expr.span,
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
                Ref::Item(_) | Ref::GroupItem { .. } => item = true,
                Ref::Output { .. } | Ref::Metric { .. } => output = true,
                _ => {}
            });
            item && (output || has_call(c))
        };
        if conjuncts(&cond).into_iter().any(mixes) {
            self.push(MlpError::BadCondition {
                src: self.src(expr.span),
                at: expr.span,
                reason: "a comparison on `item` cannot also read another stage's output".into(),
                help: Some("Argo writes items into the condition's text, so the output would be spliced in as text too; keep them in separate `&&` parts (`when up.mode == \"go\" && item != \"b\"` is fine), filter the list upstream and fan out over it (`for_each = STAGE.OUTPUT`), or let the stage skip the item itself".into()),
            });
            return None;
        }
        Some(cond)
    }

    pub(super) fn cond(&mut self, expr: &Expr, scope: Scope) -> Option<(Cond, Ty)> {
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
                                at: expr.span,
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
                                    at: side.span,
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
                let (reference, ty) = self.reference(r, scope)?;
                if reference == Ref::Run(super::hir::RunField::Pod) {
                    self.push(MlpError::BadCondition {
                        src: self.src(r.span),
                        at: r.span,
                        reason: "`run.pod` is the name of the stage's own pod, which does not exist yet when its condition is decided".into(),
                        help: Some("compare the run's identity instead (`run.name`, `run.uid`)".into()),
                    });
                    return None;
                }
                if ty.is_artifact()
                    || matches!(
                        ty,
                        Ty::List(_) | Ty::Map | Ty::ModelUri | Ty::Duration | Ty::Quantity
                    )
                {
                    self.push(MlpError::BadCondition {
                        src: self.src(r.span),
                        at: r.span,
                        reason: format!("`{}` is {}, which a condition cannot read", r.display(), ty.describe()),
                        help: Some("conditions compare strings, numbers and bools: parameters, value outputs and metrics".into()),
                    });
                    return None;
                }
                Some((Cond::Ref(reference), ty))
            }
            ExprKind::Call(call) => self.list_call(expr, call, scope),
            ExprKind::Str(parts) => {
                if parts.iter().any(|p| matches!(p, ast::StrPart::Interp(_))) {
                    self.push(MlpError::BadCondition {
                        src: self.src(expr.span),
                        at: expr.span,
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
                    at: expr.span,
                    reason: format!("{} cannot be used in a condition", other.describe()),
                    help: Some("conditions compare strings, numbers and bools".into()),
                });
                None
            }
        }
    }

    pub(super) fn cond_operand(
        &mut self,
        side: &Expr,
        ty: &Ty,
        wanted: &Ty,
        op: &str,
    ) -> Option<()> {
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
            at: side.span,
            reason: format!("{op} needs {want}, but this is {}", ty.describe()),
            help: None,
        });
        None
    }

    /// `len(x)`, `max(x)`, `min(x)`, `sum(x)` of a list reference (§9.2):
    /// `len` of any list is an int; the others take numbers and give one
    /// of the same type.
    fn list_call(&mut self, expr: &Expr, call: &ast::Call, scope: Scope) -> Option<(Cond, Ty)> {
        let Some(func) = ListFn::by_name(&call.name.name) else {
            self.push(MlpError::UnknownFunction {
                src: self.src(call.name.span),
                at: call.name.span,
                name: call.name.name.to_string(),
            });
            return None;
        };
        let name = func.name();
        let wanted = match func {
            ListFn::Len => "a list",
            _ => "a list of numbers",
        };
        let [arg] = call.args.as_slice() else {
            self.push(MlpError::ListFunctionType {
                src: self.src(expr.span),
                at: expr.span,
                func: name.into(),
                arg: "it".into(),
                wanted: format!("one argument, {wanted}"),
                found: format!("given {}", call.args.len()),
                help: Some(format!("write `{name}(STAGE.OUTPUT)`")),
            });
            return None;
        };
        let ExprKind::Ref(r) = &arg.kind else {
            self.push(MlpError::ListFunctionType {
                src: self.src(arg.span),
                at: arg.span,
                func: name.into(),
                arg: "its argument".into(),
                wanted: format!("{wanted} reference"),
                found: arg.kind.describe().into(),
                help: Some("pass a list parameter or a loop's output (outside the loop, the list of every item's value)".into()),
            });
            return None;
        };
        let (reference, ty) = self.reference(r, scope)?;
        let element = match &ty {
            Ty::List(element) => Some(element.as_ref().clone()),
            _ => None,
        };
        let result = match (func, &element) {
            (ListFn::Len, Some(_)) => Some(Ty::Int),
            (_, Some(e @ (Ty::Int | Ty::Float))) => Some(e.clone()),
            _ => None,
        };
        let Some(result) = result else {
            let help = match &element {
                None => format!("`{}` is not a list; outside a loop, an output of a stage in the loop is the list of every item's value", r.display()),
                Some(_) => format!("`{name}` compares numbers; `len({})` counts the items", r.display()),
            };
            self.push(MlpError::ListFunctionType {
                src: self.src(arg.span),
                at: arg.span,
                func: name.into(),
                arg: format!("`{}`", r.display()),
                wanted: wanted.into(),
                found: ty.describe(),
                help: Some(help),
            });
            return None;
        };
        Some((
            Cond::Call {
                func,
                arg: reference,
            },
            result,
        ))
    }
}

/// Whether a condition calls a list function.
fn has_call(c: &Cond) -> bool {
    match c {
        Cond::Call { .. } => true,
        Cond::Unary { operand, .. } => has_call(operand),
        Cond::Binary { lhs, rhs, .. } => has_call(lhs) || has_call(rhs),
        Cond::Lit(_) | Cond::Ref(_) => false,
    }
}
