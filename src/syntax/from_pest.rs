//! pest pairs -> AST: one builder function per grammar rule, named after it.
//!
//! `when` expressions go through a Pratt parser (`expr`): its primaries are
//! nested `expr`s (parentheses) and values, calls included, built by `value`
//! as in a field, so `max(fit.metrics.auc)` is an `ExprKind::Call` wherever
//! it stands. The v2 constructs are built by the v1 builders: `group` is a
//! stage kind, `finally` a block, `template group` a template kind.

use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::children::Children;
use super::literal::{self, Piece};
use super::{Rule, MAX_EXPR_OPERATORS};
use crate::diag::{MlpError, Src};
use crate::source::{SourceFile, SourceId, Span};

type Result<T> = std::result::Result<T, MlpError>;

pub(crate) struct Cx<'a> {
    pub source: SourceId,
    pub file: &'a SourceFile,
    /// Errors in literals (escapes, units, numbers): recorded so that the
    /// rest of the file is still built and checked.
    pub literal_errors: std::cell::RefCell<Vec<MlpError>>,
}

impl Cx<'_> {
    fn report(&self, e: MlpError) {
        self.literal_errors.borrow_mut().push(e);
    }

    fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.source, s.start(), s.end())
    }

    fn src(&self) -> Src {
        self.file.src(self.source)
    }
}

pub(crate) fn file(cx: &Cx, p: Pair<'_, Rule>) -> Result<File> {
    let span = cx.span(&p);
    let mut items = Vec::new();
    for child in Children::of(p, Rule::file)?.rest() {
        items.push(match child.as_rule() {
            Rule::import => Item::Import(import(cx, child)?),
            Rule::pipeline => Item::Pipeline(pipeline(cx, child)?),
            Rule::template => Item::Template(template(cx, child)?),
            Rule::EOI => continue,
            other => return Err(MlpError::ice(format!("file: unexpected {other:?}"))),
        });
    }
    Ok(File { items, span })
}

fn import(cx: &Cx, p: Pair<'_, Rule>) -> Result<Import> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::import)?;
    let target = match c.optional(Rule::module_path) {
        Some(m) => ImportTarget::Module(module_path(cx, m)?),
        None => {
            let s = c.expect(Rule::string)?;
            let s_span = cx.span(&s);
            let path = plain_string(cx, s, "an import path")?;
            ImportTarget::Path { path, span: s_span }
        }
    };
    let alias = c.optional(Rule::ident).map(|i| ident(cx, i));
    c.finish()?;
    Ok(Import {
        target,
        alias,
        span,
    })
}

fn module_path(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<Ident>> {
    let c = Children::of(p, Rule::module_path)?;
    Ok(c.rest().map(|i| ident(cx, i)).collect())
}

fn pipeline(cx: &Cx, p: Pair<'_, Rule>) -> Result<Pipeline> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::pipeline)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let body = body(cx, c.expect(Rule::body)?)?;
    c.finish()?;
    Ok(Pipeline { name, body, span })
}

fn template(cx: &Cx, p: Pair<'_, Rule>) -> Result<Template> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::template)?;
    let kind = ident(cx, c.expect(Rule::ident)?);
    let name = ident(cx, c.expect(Rule::ident)?);
    let body = body(cx, c.expect(Rule::body)?)?;
    c.finish()?;
    Ok(Template {
        kind,
        name,
        body,
        span,
    })
}

fn body(cx: &Cx, p: Pair<'_, Rule>) -> Result<Body> {
    let span = cx.span(&p);
    let mut entries = Vec::new();
    for child in Children::of(p, Rule::body)?.rest() {
        entries.push(match child.as_rule() {
            Rule::param_decl => Entry::Param(Box::new(decl(cx, child, Rule::param_decl)?)),
            Rule::input_decl => Entry::Input(Box::new(decl(cx, child, Rule::input_decl)?)),
            Rule::output_decl => Entry::Output(Box::new(decl(cx, child, Rule::output_decl)?)),
            Rule::when_clause => Entry::When(when_clause(cx, child)?),
            Rule::stage => Entry::Stage(Box::new(stage(cx, child)?)),
            Rule::block_field => Entry::Block(block_field(cx, child)?),
            Rule::field => Entry::Field(field(cx, child)?),
            other => return Err(MlpError::ice(format!("body: unexpected {other:?}"))),
        });
    }
    // Bodies and strings are built by pushing; trimming the spare capacity
    // matters when a file holds thousands of stages.
    entries.shrink_to_fit();
    Ok(Body { entries, span })
}

/// `param_decl`, `input_decl` and `output_decl` share one shape.
fn decl(cx: &Cx, p: Pair<'_, Rule>, rule: Rule) -> Result<Decl> {
    let span = cx.span(&p);
    let mut c = Children::of(p, rule)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let ty = type_expr(cx, c.expect(Rule::type_expr)?)?;
    let value = c.rest().next().map(|v| value(cx, v)).transpose()?;
    Ok(Decl {
        name,
        ty,
        value,
        span,
    })
}

fn type_expr(cx: &Cx, p: Pair<'_, Rule>) -> Result<TypeExpr> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::type_expr)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let arg = c
        .optional(Rule::type_expr)
        .map(|t| type_expr(cx, t).map(Box::new))
        .transpose()?;
    c.finish()?;
    Ok(TypeExpr { name, arg, span })
}

fn when_clause(cx: &Cx, p: Pair<'_, Rule>) -> Result<When> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::when_clause)?;
    let cond = expr(cx, c.expect(Rule::expr)?)?;
    c.finish()?;
    Ok(When { cond, span })
}

fn stage(cx: &Cx, p: Pair<'_, Rule>) -> Result<Stage> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::stage)?;
    let kind = ident(cx, c.expect(Rule::ident)?);
    let name = ident(cx, c.expect(Rule::ident)?);
    let uses = c
        .optional(Rule::uses_clause)
        .map(|u| uses_clause(cx, u))
        .transpose()?;
    let body = body(cx, c.expect(Rule::body)?)?;
    c.finish()?;
    Ok(Stage {
        kind,
        name,
        uses,
        body,
        span,
    })
}

fn uses_clause(cx: &Cx, p: Pair<'_, Rule>) -> Result<TemplateRef> {
    let mut c = Children::of(p, Rule::uses_clause)?;
    let r = template_ref(cx, c.expect(Rule::template_ref)?)?;
    c.finish()?;
    Ok(r)
}

fn template_ref(cx: &Cx, p: Pair<'_, Rule>) -> Result<TemplateRef> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::template_ref)?;
    let first = ident(cx, c.expect(Rule::ident)?);
    let second = c.optional(Rule::ident).map(|i| ident(cx, i));
    c.finish()?;
    Ok(match second {
        Some(name) => TemplateRef {
            module: Some(first),
            name,
            span,
        },
        None => TemplateRef {
            module: None,
            name: first,
            span,
        },
    })
}

fn block_field(cx: &Cx, p: Pair<'_, Rule>) -> Result<BlockField> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::block_field)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let body = body(cx, c.expect(Rule::body)?)?;
    c.finish()?;
    Ok(BlockField { name, body, span })
}

fn field(cx: &Cx, p: Pair<'_, Rule>) -> Result<Field> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::field)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let value = value(cx, c.next_any()?)?;
    c.finish()?;
    Ok(Field { name, value, span })
}

fn ident(cx: &Cx, p: Pair<'_, Rule>) -> Ident {
    Ident {
        name: p.as_str().into(),
        span: cx.span(&p),
    }
}

/// `value` is a silent rule: dispatch on the alternative that matched.
fn value(cx: &Cx, p: Pair<'_, Rule>) -> Result<Expr> {
    let span = cx.span(&p);
    let kind = match p.as_rule() {
        Rule::list => ExprKind::List(list(cx, p)?),
        Rule::map => ExprKind::Map(map(cx, p)?),
        Rule::call => return call(cx, p),
        Rule::ml_string => ExprKind::Str(ml_string(cx, p)?),
        Rule::string => ExprKind::Str(string(cx, p)?),
        Rule::number => number(cx, p).unwrap_or_else(|e| {
            cx.report(e);
            ExprKind::Invalid
        }),
        Rule::unit_number => match unit_number(cx, p) {
            Ok(u) => ExprKind::Unit(Box::new(u)),
            Err(e) => {
                cx.report(e);
                ExprKind::Invalid
            }
        },
        Rule::boolean => ExprKind::Bool(p.as_str() == "true"),
        Rule::reference => ExprKind::Ref(reference(cx, p)?),
        other => return Err(MlpError::ice(format!("value: unexpected {other:?}"))),
    };
    Ok(Expr { kind, span })
}

fn list(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<Expr>> {
    Children::of(p, Rule::list)?
        .rest()
        .map(|v| value(cx, v))
        .collect()
}

fn map(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<MapEntry>> {
    Children::of(p, Rule::map)?
        .rest()
        .map(|e| map_entry(cx, e))
        .collect()
}

fn map_entry(cx: &Cx, p: Pair<'_, Rule>) -> Result<MapEntry> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::map_entry)?;
    let key = match c.optional(Rule::ident) {
        Some(i) => ident(cx, i),
        None => {
            let s = c.expect(Rule::string)?;
            let key_span = cx.span(&s);
            Ident {
                name: plain_string(cx, s, "a map key")?.into(),
                span: key_span,
            }
        }
    };
    let value = value(cx, c.next_any()?)?;
    c.finish()?;
    Ok(MapEntry { key, value, span })
}

fn call(cx: &Cx, p: Pair<'_, Rule>) -> Result<Expr> {
    let span = cx.span(&p);
    let mut c = Children::of(p, Rule::call)?;
    let name = ident(cx, c.expect(Rule::ident)?);
    let args = c.rest().map(|v| value(cx, v)).collect::<Result<_>>()?;
    Ok(Expr {
        kind: ExprKind::Call(Box::new(Call { name, args })),
        span,
    })
}

fn string(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<StrPart>> {
    let outer = p.as_span();
    let content = outer.start() + 1..outer.end().saturating_sub(1).max(outer.start() + 1);
    let mut pieces = Vec::new();
    for part in Children::of(p, Rule::string)?.rest() {
        let at = part.as_span().start()..part.as_span().end();
        let piece = match part.as_rule() {
            Rule::str_escape => match literal::escape(part.as_str()) {
                Some(t) => Piece::Text(t),
                None => {
                    cx.report(MlpError::UnknownEscape {
                        src: cx.src(),
                        at: cx.span(&part),
                        escape: part.as_str().escape_debug().to_string(),
                    });
                    Piece::Text("")
                }
            },
            Rule::interp => Piece::Interp(interp(cx, part)?),
            other => return Err(MlpError::ice(format!("string: unexpected {other:?}"))),
        };
        pieces.push((at, piece));
    }
    Ok(literal::string_parts(&cx.file.text, content, pieces))
}

fn interp(cx: &Cx, p: Pair<'_, Rule>) -> Result<Reference> {
    let mut c = Children::of(p, Rule::interp)?;
    let r = reference(cx, c.expect(Rule::reference)?)?;
    c.finish()?;
    Ok(r)
}

/// A `"""` string (see `literal::ml_string_parts` for what is stripped).
fn ml_string(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<StrPart>> {
    let outer = p.as_span();
    let content = outer.start() + 3..outer.end().saturating_sub(3).max(outer.start() + 3);
    let mut pieces = Vec::new();
    for part in Children::of(p, Rule::ml_string)?.rest() {
        let at = part.as_span().start()..part.as_span().end();
        let piece = match part.as_rule() {
            Rule::ml_escape => Piece::Text("$"),
            Rule::interp => Piece::Interp(interp(cx, part)?),
            other => return Err(MlpError::ice(format!("ml_string: unexpected {other:?}"))),
        };
        pieces.push((at, piece));
    }
    Ok(literal::ml_string_parts(&cx.file.text, content, pieces))
}

/// A string that must be literal text (import paths, map keys).
fn plain_string(cx: &Cx, p: Pair<'_, Rule>, what: &str) -> Result<String> {
    literal::plain_text(string(cx, p)?).map_err(|r| MlpError::InvalidValue {
        src: cx.src(),
        at: r.span,
        field: what.to_string(),
        reason: format!("{what} cannot be interpolated"),
        help: Some(format!(
            "write the text literally, or escape the dollar sign as `\\${{{}}}`",
            r.display()
        )),
    })
}

fn number(cx: &Cx, p: Pair<'_, Rule>) -> Result<ExprKind> {
    literal::number(p.as_str()).map_err(|reason| MlpError::BadNumber {
        src: cx.src(),
        at: cx.span(&p),
        text: p.as_str().to_string(),
        reason: reason.to_string(),
        help: None,
    })
}

fn unit_number(cx: &Cx, p: Pair<'_, Rule>) -> Result<UnitNumber> {
    literal::unit_number(p.as_str()).map_err(|bad| MlpError::BadNumber {
        src: cx.src(),
        at: cx.span(&p),
        text: p.as_str().to_string(),
        reason: bad.reason,
        help: Some(bad.help),
    })
}

/// `a.b.c`: one atomic pair, split into its segments here.
fn reference(cx: &Cx, p: Pair<'_, Rule>) -> Result<Reference> {
    Ok(literal::reference(
        cx.source,
        p.as_span().start(),
        p.as_str(),
    ))
}

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::infix(Rule::op_eq, Assoc::Left) | Op::infix(Rule::op_ne, Assoc::Left))
        .op(Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
});

/// A `when` expression. The number of operators is bounded so that the
/// tree, and every recursive pass over it, stays shallow.
fn expr(cx: &Cx, p: Pair<'_, Rule>) -> Result<Expr> {
    let operators = p
        .clone()
        .into_inner()
        .flatten()
        .filter(|q| q.as_rule().is_operator());
    if let Some(op) = operators.clone().nth(MAX_EXPR_OPERATORS) {
        cx.report(MlpError::TooDeep {
            src: cx.src(),
            at: cx.span(&op),
            limit: MAX_EXPR_OPERATORS,
        });
        return Ok(Expr {
            kind: ExprKind::Invalid,
            span: cx.span(&p),
        });
    }
    expr_unchecked(cx, p)
}

fn expr_unchecked(cx: &Cx, p: Pair<'_, Rule>) -> Result<Expr> {
    let pairs = Children::of(p, Rule::expr)?.rest();
    PRATT
        .map_primary(|q| match q.as_rule() {
            Rule::expr => expr_unchecked(cx, q),
            _ => value(cx, q),
        })
        .map_prefix(|op, operand| {
            let operand = operand?;
            let span = cx.span(&op).to(operand.span);
            Ok(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(operand),
                },
                span,
            })
        })
        .map_infix(|lhs, op, rhs| {
            let (lhs, rhs) = (lhs?, rhs?);
            let op = match op.as_rule() {
                Rule::op_or => BinOp::Or,
                Rule::op_and => BinOp::And,
                Rule::op_eq => BinOp::Eq,
                Rule::op_ne => BinOp::Ne,
                Rule::op_lt => BinOp::Lt,
                Rule::op_le => BinOp::Le,
                Rule::op_gt => BinOp::Gt,
                Rule::op_ge => BinOp::Ge,
                other => return Err(MlpError::ice(format!("expr: unexpected {other:?}"))),
            };
            let span = lhs.span.to(rhs.span);
            Ok(Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            })
        })
        .parse(pairs)
}

impl Rule {
    fn is_operator(self) -> bool {
        matches!(
            self,
            Rule::op_not
                | Rule::op_or
                | Rule::op_and
                | Rule::op_eq
                | Rule::op_ne
                | Rule::op_lt
                | Rule::op_le
                | Rule::op_gt
                | Rule::op_ge
        )
    }
}
