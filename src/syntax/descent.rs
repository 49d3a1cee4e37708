//! The fast path: a recursive-descent parser for well-formed files.
//!
//! pest is the definition of the language and the explainer of every syntax
//! error, but it spends most of a large compile building pairs. Most files
//! compile cleanly, so this parser reads `grammar/mlp.pest` by hand, byte by
//! byte, and builds exactly the AST that pest and `from_pest` build, spans
//! included (where pest's implicit whitespace ends up inside a span, it does
//! here too). At the first thing that is not plainly well-formed (a syntax
//! error, a bad literal, a limit) it gives up with `None`, and
//! pest parses the file and reports. `tests/parser_equivalence.rs` holds the
//! two to the same trees and the same verdicts.
//!
//! Each function is named after the grammar rule it reads and mirrors the
//! rule's ordered choices and implicit-whitespace points.
//!
//! Contract v2 adds no rule: groups are stages of kind `group`, `finally` is
//! a block holding stages, and a group template is a template of kind
//! `group`. `when` expressions (`expr`) are operands joined by `! && || ==
//! != < <= > >=` and parentheses; an operand is a literal, a reference or a
//! call such as `max(fit.metrics.auc)`, whose arguments are values read as
//! in a field (`call_or_reference`, shared with `value`).

use super::ast::*;
use super::literal::{self, Piece};
use super::{MAX_EXPR_OPERATORS, MAX_NESTING};
use crate::source::{SourceId, Span};

/// The AST of `text`, or `None` when pest must parse it (an error, or a
/// construct this path does not take).
pub(crate) fn file(text: &str, source: SourceId) -> Option<File> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        source,
        depth: 0,
        operators: 0,
    };
    p.file()
}

struct Parser<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    source: SourceId,
    /// Open brackets, braces and parentheses (the pre-scan's count).
    depth: usize,
    /// Operators in the `when` expression being read.
    operators: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'t> Parser<'t> {
    fn peek(&self) -> u8 {
        self.bytes.get(self.pos).copied().unwrap_or(0)
    }

    fn peek_at(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn at(&self, literal: &str) -> bool {
        self.bytes[self.pos..].starts_with(literal.as_bytes())
    }

    /// Consumes `byte` or gives up.
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek() == byte).then(|| self.pos += 1)
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.source, start, end)
    }

    fn open(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_NESTING).then_some(())
    }

    fn close(&mut self, byte: u8) -> Option<()> {
        self.expect(byte)?;
        self.depth -= 1;
        Some(())
    }

    /// pest's implicit `(WHITESPACE | COMMENT)*` between tokens of
    /// non-atomic rules. A comment runs up to the line break.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                b'#' => self.skip_comment(),
                b'/' if self.peek_at(1) == b'/' => self.skip_comment(),
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        self.pos = self.bytes[self.pos..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(self.bytes.len(), |n| self.pos + n);
    }

    /// `sep?`: line breaks, commas and semicolons, with what `skip` takes
    /// between them. Where a separator ends is never part of a span.
    fn sep(&mut self) -> bool {
        let mut any = false;
        loop {
            match self.peek() {
                b'\n' | b',' | b';' => {
                    self.pos += 1;
                    any = true;
                }
                _ => return any,
            }
            self.skip();
        }
    }

    /// Moves past an identifier.
    fn ident_end(&mut self) -> Option<()> {
        if !is_ident_start(self.peek()) {
            return None;
        }
        self.pos += 1;
        while is_ident_char(self.peek()) {
            self.pos += 1;
        }
        Some(())
    }

    /// `ident`: the name and where it is.
    fn ident(&mut self) -> Option<Ident> {
        let start = self.pos;
        self.ident_end()?;
        Some(Ident {
            name: self.text[start..self.pos].into(),
            span: self.span(start, self.pos),
        })
    }

    /// The identifier-shaped word at the cursor, without consuming it: a
    /// keyword is such a word (`kw_* = @{ "..." ~ !ident_char }`).
    fn word(&self) -> &'t str {
        let rest = &self.bytes[self.pos..];
        let len = rest.iter().take_while(|b| is_ident_char(**b)).count();
        &self.text[self.pos..self.pos + len]
    }

    fn keyword(&mut self, keyword: &str) -> Option<()> {
        (self.word() == keyword).then(|| self.pos += keyword.len())
    }

    /// `file = { SOI ~ "\u{FEFF}"? ~ sep? ~ (item ~ sep?)* ~ EOI }`
    fn file(&mut self) -> Option<File> {
        self.skip();
        if self.at("\u{FEFF}") {
            self.pos += "\u{FEFF}".len();
        }
        self.skip();
        self.sep();
        let mut items = Vec::new();
        while self.pos < self.bytes.len() {
            items.push(match self.word() {
                "import" => Item::Import(self.import()?),
                "pipeline" => Item::Pipeline(self.pipeline()?),
                "template" => Item::Template(self.template()?),
                _ => return None,
            });
            self.skip();
            self.sep();
        }
        Some(File {
            items,
            span: self.span(0, self.bytes.len()),
        })
    }

    /// `import = { kw_import ~ (module_path | string) ~ (kw_as ~ ident)? }`:
    /// without an alias, the span takes the blanks after the target.
    fn import(&mut self) -> Option<Import> {
        let start = self.pos;
        self.keyword("import")?;
        self.skip();
        let target = if self.peek() == b'"' {
            let (path, span) = self.plain_string()?;
            ImportTarget::Path { path, span }
        } else {
            ImportTarget::Module(self.module_path()?)
        };
        self.skip();
        let alias = if self.word() == "as" {
            self.pos += 2;
            self.skip();
            Some(self.ident()?)
        } else {
            None
        };
        Some(Import {
            target,
            alias,
            span: self.span(start, self.pos),
        })
    }

    /// `module_path = ${ ident ~ ("." ~ ident)* }`
    fn module_path(&mut self) -> Option<Vec<Ident>> {
        let mut segments = vec![self.ident()?];
        while self.peek() == b'.' && is_ident_start(self.peek_at(1)) {
            self.pos += 1;
            segments.push(self.ident()?);
        }
        Some(segments)
    }

    /// `pipeline = { kw_pipeline ~ ident ~ body }`
    fn pipeline(&mut self) -> Option<Pipeline> {
        let start = self.pos;
        self.keyword("pipeline")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let body = self.body()?;
        Some(Pipeline {
            name,
            body,
            span: self.span(start, self.pos),
        })
    }

    /// `template = { kw_template ~ ident ~ ident ~ body }`
    fn template(&mut self) -> Option<Template> {
        let start = self.pos;
        self.keyword("template")?;
        self.skip();
        let kind = self.ident()?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        let body = self.body()?;
        Some(Template {
            kind,
            name,
            body,
            span: self.span(start, self.pos),
        })
    }

    /// The shared shape of `body`, `list`, `map` and `call`'s arguments,
    /// after the opening bracket: `sep? ~ (X ~ (sep ~ X)*)? ~ sep? ~ CLOSE`.
    fn separated<T>(
        &mut self,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Vec<T>> {
        self.skip();
        self.sep();
        let mut items = Vec::new();
        if self.peek() != close {
            items.push(item(self)?);
            loop {
                self.skip();
                let separated = self.sep();
                if self.peek() == close {
                    break;
                }
                if !separated {
                    return None;
                }
                items.push(item(self)?);
            }
        }
        self.close(close)?;
        items.shrink_to_fit();
        Some(items)
    }

    /// `body = { "{" ~ sep? ~ (entry ~ (sep ~ entry)*)? ~ sep? ~ "}" }`
    fn body(&mut self) -> Option<Body> {
        let start = self.pos;
        self.expect(b'{')?;
        self.open()?;
        let entries = self.separated(b'}', Self::entry)?;
        Some(Body {
            entries,
            span: self.span(start, self.pos),
        })
    }

    /// `entry = _{ field | block_field | stage | param_decl | input_decl |
    /// output_decl | when_clause }`. Every alternative starts with an
    /// identifier-shaped word; what follows it picks the one pest would.
    fn entry(&mut self) -> Option<Entry> {
        let start = self.pos;
        let first = self.ident()?;
        self.skip();
        match self.peek() {
            b'=' => {
                self.pos += 1;
                self.skip();
                let value = self.value()?;
                Some(Entry::Field(Field {
                    span: self.span(start, value.span.end as usize),
                    name: first,
                    value,
                }))
            }
            b'{' => {
                let body = self.body()?;
                Some(Entry::Block(BlockField {
                    name: first,
                    body,
                    span: self.span(start, self.pos),
                }))
            }
            _ => match first.name.as_str() {
                "param" => Some(Entry::Param(Box::new(self.decl(start, false)?))),
                "input" => Some(Entry::Input(Box::new(self.decl(start, false)?))),
                "output" => Some(Entry::Output(Box::new(self.decl(start, true)?))),
                "when" => self.when_clause(start).map(Entry::When),
                word if super::DECLARATION_KEYWORDS.contains(&word) => None,
                _ => self.stage(start, first).map(|s| Entry::Stage(Box::new(s))),
            },
        }
    }

    /// `param_decl`, `input_decl` (`= value` optional: without it the span
    /// takes the blanks after the type) and `output_decl` (`= value`
    /// required), after the keyword and its blanks.
    fn decl(&mut self, start: usize, value_required: bool) -> Option<Decl> {
        let name = self.ident()?;
        self.skip();
        self.expect(b':')?;
        self.skip();
        let ty = self.type_expr()?;
        self.skip();
        let value = if self.peek() == b'=' {
            self.pos += 1;
            self.skip();
            Some(self.value()?)
        } else if value_required {
            return None;
        } else {
            None
        };
        let end = value.as_ref().map_or(self.pos, |v| v.span.end as usize);
        Some(Decl {
            name,
            ty,
            value,
            span: self.span(start, end),
        })
    }

    /// `type_expr = { ident ~ ("[" ~ type_expr ~ "]")? }`
    fn type_expr(&mut self) -> Option<TypeExpr> {
        let start = self.pos;
        let name = self.ident()?;
        self.skip();
        let arg = if self.peek() == b'[' {
            self.pos += 1;
            self.open()?;
            self.skip();
            let inner = self.type_expr()?;
            self.skip();
            self.close(b']')?;
            Some(Box::new(inner))
        } else {
            None
        };
        Some(TypeExpr {
            name,
            arg,
            span: self.span(start, self.pos),
        })
    }

    /// `stage = { !keyword ~ ident ~ ident ~ uses_clause? ~ body }`, after
    /// the kind and its blanks.
    fn stage(&mut self, start: usize, kind: Ident) -> Option<Stage> {
        let name = self.ident()?;
        self.skip();
        let uses = if self.word() == "uses" {
            self.pos += "uses".len();
            self.skip();
            let r = self.template_ref()?;
            self.skip();
            Some(r)
        } else {
            None
        };
        let body = self.body()?;
        Some(Stage {
            kind,
            name,
            uses,
            body,
            span: self.span(start, self.pos),
        })
    }

    /// `template_ref = ${ ident ~ ("." ~ ident)? }`
    fn template_ref(&mut self) -> Option<TemplateRef> {
        let start = self.pos;
        let first = self.ident()?;
        let (module, name) = if self.peek() == b'.' && is_ident_start(self.peek_at(1)) {
            self.pos += 1;
            (Some(first), self.ident()?)
        } else {
            (None, first)
        };
        Some(TemplateRef {
            module,
            name,
            span: self.span(start, self.pos),
        })
    }

    /// `when_clause = { kw_when ~ expr }`, after the keyword and its blanks.
    fn when_clause(&mut self, start: usize) -> Option<When> {
        self.operators = 0;
        let (cond, end) = self.expr()?;
        Some(When {
            cond,
            span: self.span(start, end),
        })
    }

    /// `expr = { prefix* ~ primary ~ (infix ~ line_break* ~ prefix* ~ primary)* }`
    /// with the precedence of `from_pest`'s Pratt parser. Returns the tree
    /// and where pest's `expr` pair ends: after the last primary, or after
    /// the blanks that follow a lone primary.
    fn expr(&mut self) -> Option<(Expr, usize)> {
        let mut operands = vec![self.prefixed()?];
        let mut pending: Vec<BinOp> = Vec::new();
        self.skip();
        let mut end = self.pos;
        // `infix` leaves the cursor alone when no operator follows.
        while let Some(op) = self.infix() {
            self.count_operator()?;
            self.skip();
            while self.peek() == b'\n' {
                self.pos += 1;
                self.skip();
            }
            // Fold what binds at least as tightly: every operator is
            // left-associative.
            while let Some(&top) = pending.last() {
                if precedence(top) < precedence(op) {
                    break;
                }
                pending.pop();
                fold(&mut operands, top)?;
            }
            pending.push(op);
            operands.push(self.prefixed()?);
            end = self.pos;
            self.skip();
        }
        self.pos = end;
        while let Some(op) = pending.pop() {
            fold(&mut operands, op)?;
        }
        let tree = operands.pop()?;
        operands.is_empty().then_some((tree, end))
    }

    fn count_operator(&mut self) -> Option<()> {
        self.operators += 1;
        (self.operators <= MAX_EXPR_OPERATORS).then_some(())
    }

    /// `infix`, longest operator first.
    fn infix(&mut self) -> Option<BinOp> {
        let (op, len) = match (self.peek(), self.peek_at(1)) {
            (b'|', b'|') => (BinOp::Or, 2),
            (b'&', b'&') => (BinOp::And, 2),
            (b'=', b'=') => (BinOp::Eq, 2),
            (b'!', b'=') => (BinOp::Ne, 2),
            (b'<', b'=') => (BinOp::Le, 2),
            (b'>', b'=') => (BinOp::Ge, 2),
            (b'<', _) => (BinOp::Lt, 1),
            (b'>', _) => (BinOp::Gt, 1),
            _ => return None,
        };
        self.pos += len;
        Some(op)
    }

    /// `prefix* ~ primary`: `!` binds tighter than every infix operator.
    fn prefixed(&mut self) -> Option<Expr> {
        if self.peek() == b'!' {
            let start = self.pos;
            self.pos += 1;
            self.count_operator()?;
            self.skip();
            let operand = self.prefixed()?;
            let span = self.span(start, start + 1).to(operand.span);
            return Some(Expr {
                kind: ExprKind::Unary {
                    op: UnaryOp::Not,
                    operand: Box::new(operand),
                },
                span,
            });
        }
        self.primary()
    }

    /// `primary = _{ "(" ~ expr ~ ")" | ml_string | string | number |
    /// unit_number | boolean | call | reference }`
    fn primary(&mut self) -> Option<Expr> {
        match self.peek() {
            b'(' => {
                self.pos += 1;
                self.open()?;
                self.skip();
                let (inner, _) = self.expr()?;
                self.skip();
                self.close(b')')?;
                Some(inner)
            }
            b'"' => self.string_value(),
            b'-' | b'0'..=b'9' => self.number_value(),
            b if is_ident_start(b) => {
                let start = self.pos;
                if let Some(b) = self.boolean() {
                    return Some(Expr {
                        kind: ExprKind::Bool(b),
                        span: self.span(start, self.pos),
                    });
                }
                self.call_or_reference()
            }
            _ => None,
        }
    }

    /// `value = _{ ml_string | string | number | unit_number | boolean |
    /// call | reference | list | map }`
    fn value(&mut self) -> Option<Expr> {
        let start = self.pos;
        match self.peek() {
            b'"' => self.string_value(),
            b'-' | b'0'..=b'9' => self.number_value(),
            b'[' => {
                self.pos += 1;
                self.open()?;
                let items = self.separated(b']', Self::value)?;
                Some(Expr {
                    kind: ExprKind::List(items),
                    span: self.span(start, self.pos),
                })
            }
            b'{' => {
                self.pos += 1;
                self.open()?;
                let entries = self.separated(b'}', Self::map_entry)?;
                Some(Expr {
                    kind: ExprKind::Map(entries),
                    span: self.span(start, self.pos),
                })
            }
            b if is_ident_start(b) => {
                if let Some(b) = self.boolean() {
                    return Some(Expr {
                        kind: ExprKind::Bool(b),
                        span: self.span(start, self.pos),
                    });
                }
                self.call_or_reference()
            }
            _ => None,
        }
    }

    /// `call | reference`, in that order, as both `value` and `primary`
    /// try them: `call = { ident ~ "(" ~ sep? ~ (value ~ (sep ~ value)*)?
    /// ~ sep? ~ ")" }`, blanks allowed before the `(`. A name followed by
    /// a dot is never a call; when no call follows, the name is the first
    /// segment of a reference.
    fn call_or_reference(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.ident_end()?;
        let name_end = self.pos;
        if self.peek() != b'.' {
            self.skip();
            if self.peek() == b'(' {
                let name = Ident {
                    name: self.text[start..name_end].into(),
                    span: self.span(start, name_end),
                };
                self.pos += 1;
                self.open()?;
                let args = self.separated(b')', Self::value)?;
                return Some(Expr {
                    kind: ExprKind::Call(Box::new(Call { name, args })),
                    span: self.span(start, self.pos),
                });
            }
            self.pos = name_end;
        }
        let r = self.reference_rest(start)?;
        Some(Expr {
            span: r.span,
            kind: ExprKind::Ref(r),
        })
    }

    /// `boolean = @{ ("true" | "false") ~ !ident_char }`
    fn boolean(&mut self) -> Option<bool> {
        let value = match self.word() {
            "true" => true,
            "false" => false,
            _ => return None,
        };
        self.pos += if value { 4 } else { 5 };
        Some(value)
    }

    /// `reference = @{ ident ~ ("." ~ ident)* }`
    fn reference(&mut self) -> Option<Reference> {
        let start = self.pos;
        self.ident_end()?;
        self.reference_rest(start)
    }

    /// The rest of a reference whose first segment, from `start`, is read.
    fn reference_rest(&mut self, start: usize) -> Option<Reference> {
        while self.peek() == b'.' && is_ident_start(self.peek_at(1)) {
            self.pos += 1;
            self.ident_end()?;
        }
        Some(literal::reference(
            self.source,
            start,
            &self.text[start..self.pos],
        ))
    }

    /// `number`, else `unit_number`; a literal error leaves it to pest.
    fn number_value(&mut self) -> Option<Expr> {
        let start = self.pos;
        if self.peek() == b'-' {
            self.pos += 1;
        }
        self.digits()?;
        if self.peek() == b'.' && self.peek_at(1).is_ascii_digit() {
            self.pos += 1;
            self.digits()?;
        }
        let after_fraction = self.pos;
        // `number`: an exponent, then nothing identifier-like or a dot.
        if self.peek() == b'e' {
            let sign = usize::from(matches!(self.peek_at(1), b'+' | b'-'));
            if self.peek_at(1 + sign).is_ascii_digit() {
                self.pos += 1 + sign;
                self.digits()?;
            }
        }
        if !is_ident_char(self.peek()) && self.peek() != b'.' {
            let kind = literal::number(&self.text[start..self.pos]).ok()?;
            return Some(Expr {
                kind,
                span: self.span(start, self.pos),
            });
        }
        // `unit_number = @{ "-"? ~ digits ~ ("." ~ digits)? ~ ASCII_ALPHA ~
        // (ASCII_ALPHANUMERIC | ".")* }`
        self.pos = after_fraction;
        if !self.peek().is_ascii_alphabetic() {
            return None;
        }
        while self.peek().is_ascii_alphanumeric() || self.peek() == b'.' {
            self.pos += 1;
        }
        let unit = literal::unit_number(&self.text[start..self.pos]).ok()?;
        Some(Expr {
            kind: ExprKind::Unit(Box::new(unit)),
            span: self.span(start, self.pos),
        })
    }

    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while self.peek().is_ascii_digit() {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }

    /// `map_entry = { (ident | string) ~ "=" ~ value }`
    fn map_entry(&mut self) -> Option<MapEntry> {
        let start = self.pos;
        let key = if self.peek() == b'"' {
            let (name, span) = self.plain_string()?;
            Ident {
                name: name.into(),
                span,
            }
        } else {
            self.ident()?
        };
        self.skip();
        self.expect(b'=')?;
        self.skip();
        let value = self.value()?;
        Some(MapEntry {
            key,
            span: self.span(start, value.span.end as usize),
            value,
        })
    }

    /// `ml_string` when the text opens with `"""`, else `string`.
    fn string_value(&mut self) -> Option<Expr> {
        let start = self.pos;
        let parts = if self.at("\"\"\"") {
            self.ml_string()?
        } else {
            self.string()?
        };
        Some(Expr {
            kind: ExprKind::Str(parts),
            span: self.span(start, self.pos),
        })
    }

    /// A string that must be literal text (import paths, map keys).
    fn plain_string(&mut self) -> Option<(String, Span)> {
        let start = self.pos;
        let text = literal::plain_text(self.string()?).ok()?;
        Some((text, self.span(start, self.pos)))
    }

    /// `string = ${ "\"" ~ (str_text | str_escape | interp)* ~ "\"" }`:
    /// one line; only the escapes `literal::escape` knows.
    fn string(&mut self) -> Option<Vec<StrPart>> {
        self.expect(b'"')?;
        let content_start = self.pos;
        let mut pieces = Vec::new();
        loop {
            match self.peek() {
                b'"' => break,
                b'\\' => {
                    let at = self.pos;
                    let escaped = literal::escape(self.text.get(at..at + 2)?)?;
                    self.pos += 2;
                    pieces.push((at..self.pos, Piece::Text(escaped)));
                }
                b'$' if self.peek_at(1) == b'{' => {
                    let at = self.pos;
                    let r = self.interp()?;
                    pieces.push((at..self.pos, Piece::Interp(r)));
                }
                b'\n' => return None,
                _ if self.pos >= self.bytes.len() => return None,
                _ => self.pos += 1,
            }
        }
        let content = content_start..self.pos;
        self.pos += 1;
        Some(literal::string_parts(self.text, content, pieces))
    }

    /// `interp = !{ "${" ~ reference ~ "}" }` (blanks allowed inside).
    fn interp(&mut self) -> Option<Reference> {
        self.pos += 2;
        self.skip();
        let r = self.reference()?;
        self.skip();
        self.expect(b'}')?;
        Some(r)
    }

    /// `ml_string = ${ "\"\"\"" ~ (ml_text | ml_escape | interp)* ~ "\"\"\"" }`
    fn ml_string(&mut self) -> Option<Vec<StrPart>> {
        self.pos += 3;
        let content_start = self.pos;
        let mut pieces = Vec::new();
        loop {
            if self.pos >= self.bytes.len() {
                return None;
            }
            if self.at("\"\"\"") {
                break;
            }
            if self.at("\\$") {
                pieces.push((self.pos..self.pos + 2, Piece::Text("$")));
                self.pos += 2;
            } else if self.at("${") {
                let at = self.pos;
                let r = self.interp()?;
                pieces.push((at..self.pos, Piece::Interp(r)));
            } else {
                self.pos += 1;
            }
        }
        let content = content_start..self.pos;
        self.pos += 3;
        Some(literal::ml_string_parts(self.text, content, pieces))
    }
}

/// Binding power of an infix operator, as `from_pest`'s Pratt table has it.
fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And => 2,
        BinOp::Eq | BinOp::Ne => 3,
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
    }
}

/// Replaces the two last operands with `lhs op rhs`.
fn fold(operands: &mut Vec<Expr>, op: BinOp) -> Option<()> {
    let rhs = operands.pop()?;
    let lhs = operands.pop()?;
    let span = lhs.span.to(rhs.span);
    operands.push(Expr {
        kind: ExprKind::Binary {
            op,
            lhs: Box::new(lhs),
            rhs: Box::new(rhs),
        },
        span,
    });
    Some(())
}
