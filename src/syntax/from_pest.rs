//! pest pairs -> AST: one builder function per grammar rule, named after it.

use std::sync::LazyLock;

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};

use super::ast::*;
use super::children::Children;
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
        self.file.named()
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
        name: p.as_str().to_string(),
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
                name: plain_string(cx, s, "a map key")?,
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
    let text = &cx.file.text;
    let mut parts = Vec::new();
    // Plain text has no pair of its own: it is what lies between the others.
    let mut cursor = outer.start() + 1;
    for part in Children::of(p, Rule::string)?.rest() {
        let span = part.as_span();
        push_text(&mut parts, &text[cursor..span.start()]);
        cursor = span.end();
        match part.as_rule() {
            Rule::str_escape => match str_escape(cx, part) {
                Ok(t) => push_text(&mut parts, t),
                Err(e) => cx.report(e),
            },
            Rule::interp => parts.push(StrPart::Interp(interp(cx, part)?)),
            other => return Err(MlpError::ice(format!("string: unexpected {other:?}"))),
        }
    }
    push_text(
        &mut parts,
        &text[cursor..outer.end().saturating_sub(1).max(cursor)],
    );
    parts.shrink_to_fit();
    Ok(parts)
}

fn str_escape(cx: &Cx, p: Pair<'_, Rule>) -> Result<&'static str> {
    match p.as_str() {
        "\\\"" => Ok("\""),
        "\\\\" => Ok("\\"),
        "\\n" => Ok("\n"),
        "\\t" => Ok("\t"),
        "\\$" => Ok("$"),
        other => Err(MlpError::UnknownEscape {
            src: cx.src(),
            at: cx.span(&p).into(),
            escape: other.escape_debug().to_string(),
        }),
    }
}

fn interp(cx: &Cx, p: Pair<'_, Rule>) -> Result<Reference> {
    let mut c = Children::of(p, Rule::interp)?;
    let r = reference(cx, c.expect(Rule::reference)?)?;
    c.finish()?;
    Ok(r)
}

/// A `"""` string: common leading indentation is stripped, a first line that
/// is blank and a last line of only blanks are dropped, and only `\$` is an
/// escape. The trailing newline before the closing `"""` is kept, so a
/// script ends with a newline as a shell expects.
fn ml_string(cx: &Cx, p: Pair<'_, Rule>) -> Result<Vec<StrPart>> {
    let outer = p.as_span();
    let (start, end) = (
        outer.start() + 3,
        outer.end().saturating_sub(3).max(outer.start() + 3),
    );
    let removed = dedent_ranges(&cx.file.text[start..end], start);
    let mut parts = Vec::new();
    let mut removed_cursor = RemovedCursor::new(&removed);
    let text = &cx.file.text;
    // Text between the escape and interpolation pairs, dedented.
    let mut cursor = start;
    for part in Children::of(p, Rule::ml_string)?.rest() {
        let span = part.as_span();
        let kept = removed_cursor.keep(cursor, &text[cursor..span.start()]);
        push_text(&mut parts, &kept);
        cursor = span.end();
        match part.as_rule() {
            Rule::ml_escape => push_text(&mut parts, "$"),
            Rule::interp => parts.push(StrPart::Interp(interp(cx, part)?)),
            other => return Err(MlpError::ice(format!("ml_string: unexpected {other:?}"))),
        }
    }
    let kept = removed_cursor.keep(cursor, &text[cursor..end.max(cursor)]);
    push_text(&mut parts, &kept);
    Ok(parts)
}

/// Byte ranges (absolute offsets) that dedenting removes from a `"""` body.
fn dedent_ranges(body: &str, base: usize) -> Vec<(usize, usize)> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in body.split('\n') {
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    let is_blank = |l: &str| l.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    let mut removed = Vec::new();
    let mut first = 0;
    let mut last = lines.len();
    if lines.len() > 1 && is_blank(lines[0].1) {
        removed.push((base, base + lines[0].1.len() + 1));
        first = 1;
    }
    if last - first > 1 && is_blank(lines[last - 1].1) {
        let (off, l) = lines[last - 1];
        removed.push((base + off, base + off + l.len()));
        last -= 1;
    }
    let kept = &lines[first..last];
    let indent = kept
        .iter()
        .filter(|(_, l)| !is_blank(l))
        .map(|(_, l)| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    for (off, line) in kept {
        let strip = if is_blank(line) {
            line.trim_end_matches('\r').len()
        } else {
            indent
        };
        if strip > 0 {
            removed.push((base + off, base + off + strip));
        }
    }
    removed.sort_unstable();
    removed
}

/// Walks text chunks in source order and drops the bytes in removed ranges.
struct RemovedCursor<'r> {
    removed: &'r [(usize, usize)],
    next: usize,
}

impl<'r> RemovedCursor<'r> {
    fn new(removed: &'r [(usize, usize)]) -> Self {
        Self { removed, next: 0 }
    }

    fn keep(&mut self, start: usize, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, ch) in text.char_indices() {
            let at = start + i;
            while self.next < self.removed.len() && self.removed[self.next].1 <= at {
                self.next += 1;
            }
            let inside = self
                .removed
                .get(self.next)
                .is_some_and(|(s, e)| *s <= at && at < *e);
            if !inside {
                out.push(ch);
            }
        }
        out
    }
}

fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(StrPart::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(StrPart::Text(text.to_string()));
    }
}

/// A string that must be literal text (import paths, map keys).
fn plain_string(cx: &Cx, p: Pair<'_, Rule>, what: &str) -> Result<String> {
    let mut text = String::new();
    for part in string(cx, p)? {
        match part {
            StrPart::Text(t) => text.push_str(&t),
            StrPart::Interp(r) => {
                return Err(MlpError::InvalidValue {
                    src: cx.src(),
                    at: r.span.into(),
                    field: what.to_string(),
                    reason: format!("{what} cannot be interpolated"),
                    help: Some(format!(
                        "write the text literally, or escape the dollar sign as `\\${{{}}}`",
                        r.display()
                    )),
                })
            }
        }
    }
    Ok(text)
}

fn number(cx: &Cx, p: Pair<'_, Rule>) -> Result<ExprKind> {
    let text = p.as_str();
    let bad = |reason: &str| MlpError::BadNumber {
        src: cx.src(),
        at: cx.span(&p).into(),
        text: text.to_string(),
        reason: reason.to_string(),
        help: None,
    };
    if text.contains(['.', 'e']) {
        let f: f64 = text.parse().map_err(|_| bad("not a number"))?;
        if !f.is_finite() {
            return Err(bad("out of range"));
        }
        Ok(ExprKind::Float(f))
    } else {
        text.parse::<i64>()
            .map(ExprKind::Int)
            .map_err(|_| bad("out of range for a 64-bit integer"))
    }
}

/// Kubernetes quantity suffixes (binary, decimal, and the small ones).
const QUANTITY_SUFFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
];

fn unit_number(cx: &Cx, p: Pair<'_, Rule>) -> Result<UnitNumber> {
    let text = p.as_str();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let quantity = QUANTITY_SUFFIXES
        .contains(&unit)
        .then(|| text.to_string())
        .filter(|_| digits.parse::<f64>().is_ok_and(f64::is_finite));
    let duration_secs = parse_duration(text);
    if quantity.is_none() && duration_secs.is_none() {
        let help = match unit {
            "GB" | "Gb" | "gb" => Some(format!("write `{digits}G` (10^9 bytes) or `{digits}Gi` (2^30 bytes)")),
            "MB" | "Mb" | "mb" => Some(format!("write `{digits}M` or `{digits}Mi`")),
            "KB" | "Kb" | "kb" => Some(format!("write `{digits}k` or `{digits}Ki`")),
            "min" | "mins" => Some(format!("write `{digits}m` for minutes")),
            "sec" | "secs" => Some(format!("write `{digits}s` for seconds")),
            "hr" | "hrs" => Some(format!("write `{digits}h` for hours")),
            _ => Some("quantities take m k M G T P E Ki Mi Gi Ti Pi Ei; durations take s m h d (e.g. 1h30m)".to_string()),
        };
        return Err(MlpError::BadNumber {
            src: cx.src(),
            at: cx.span(&p).into(),
            text: text.to_string(),
            reason: format!("unknown unit `{unit}`"),
            help,
        });
    }
    Ok(UnitNumber {
        text: text.to_string(),
        quantity,
        duration_secs,
    })
}

/// A duration such as `30s`, `10m`, `1h30m`, `1.5h`, `2d`, `500ms`: seconds.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, text),
    };
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let (unit_secs, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            match rest.chars().next()? {
                's' => (1.0, 1),
                'm' => (60.0, 1),
                'h' => (3600.0, 1),
                'd' => (86400.0, 1),
                _ => return None,
            }
        };
        rest = &rest[unit_len..];
        total += n * unit_secs;
    }
    total.is_finite().then_some(sign * total)
}

/// `a.b.c`: one atomic pair, split into its segments here.
fn reference(cx: &Cx, p: Pair<'_, Rule>) -> Result<Reference> {
    let span = cx.span(&p);
    let start = p.as_span().start();
    let mut segments = Vec::new();
    let mut offset = start;
    for name in p.as_str().split('.') {
        segments.push(Ident {
            name: name.to_string(),
            span: Span::new(cx.source, offset, offset + name.len()),
        });
        offset += name.len() + 1;
    }
    Ok(Reference { segments, span })
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
            at: cx.span(&op).into(),
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

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30.0));
        assert_eq!(parse_duration("10m"), Some(600.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("1d"), Some(86400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("64Gi"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1h30"), None);
    }
}
