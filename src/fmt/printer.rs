//! The layout: walks the syntax tree and writes the canonical text.
//!
//! Structure comes from the tree; every literal, reference and name is
//! copied from the source through its span, so it is written exactly as it
//! was. What the tree does not hold is read from the source between nodes:
//! in a block, list, map or call only blanks, separators, line breaks and
//! comments can lie between two entries (a "gap"); in a `when` expression
//! also operators and parentheses. Each comment is written once, and the
//! caller checks that every comment was.
//!
//! docs/fmt.md states the rules this file implements.

use std::ops::Range;

use super::scan::{Comment, Scan};
use crate::syntax::ast::*;

/// Lines longer than this break lists, maps and calls one item per line.
pub const WIDTH: usize = 100;
const INDENT: &str = "  ";

/// A formatter bug: the text between nodes is not what the layout expects.
pub(super) type R<T = ()> = Result<T, String>;

pub(super) struct Printer<'s> {
    src: &'s str,
    comments: &'s [Comment],
    ml_strings: &'s [Range<usize>],
    /// How many times each comment was written (each must be, once).
    pub(super) written: Vec<u32>,
    pub(super) out: String,
    /// Where the text proper starts in `out` (after a byte-order mark).
    base: usize,
    indent: usize,
    /// `"\n"`, or `"\r\n"` when the file's first line ends so.
    newline: &'static str,
}

/// What lies between two nodes besides blanks and separators.
struct Gap {
    /// A comment on the line where the gap starts, after the node before it.
    trailing: Option<usize>,
    /// Comments on lines of their own, each with whether a blank line
    /// comes before it.
    own_line: Vec<(bool, usize)>,
    /// Whether a blank line comes before the node after the gap.
    blank_before_next: bool,
}

impl<'s> Printer<'s> {
    pub(super) fn new(src: &'s str, scan: &'s Scan) -> Self {
        let first_break = src.find('\n');
        let crlf = first_break.is_some_and(|n| n > 0 && src.as_bytes()[n - 1] == b'\r');
        Self {
            src,
            comments: &scan.comments,
            ml_strings: &scan.ml_strings,
            written: vec![0; scan.comments.len()],
            out: String::with_capacity(src.len() + src.len() / 8),
            base: 0,
            indent: 0,
            newline: if crlf { "\r\n" } else { "\n" },
        }
    }

    // ----- the source ------------------------------------------------------

    fn text(&self, start: usize, end: usize) -> R<&'s str> {
        self.src
            .get(start..end)
            .ok_or_else(|| format!("span {start}..{end} is not in the text"))
    }

    fn span_text(&self, span: crate::Span) -> R<&'s str> {
        self.text(span.start as usize, span.end as usize)
    }

    /// `end` moved back over blanks and comments that a span took in
    /// (pest keeps the implicit whitespace after a lone `when` operand, an
    /// import without alias or a declaration without value).
    fn tight_end(&self, start: usize, mut end: usize) -> usize {
        let b = self.src.as_bytes();
        loop {
            while end > start && matches!(b[end - 1], b' ' | b'\t' | b'\r' | b'\n') {
                end -= 1;
            }
            match self.comments.binary_search_by_key(&end, |c| c.end) {
                Ok(i) if self.comments[i].start >= start && end > start => {
                    end = self.comments[i].start;
                }
                _ => return end,
            }
        }
    }

    fn comment_starting_at(&self, at: usize) -> Option<usize> {
        self.comments.binary_search_by_key(&at, |c| c.start).ok()
    }

    fn any_comment_in(&self, start: usize, end: usize) -> bool {
        let i = self.comments.partition_point(|c| c.start < start);
        self.comments.get(i).is_some_and(|c| c.start < end)
    }

    /// Whether the source breaks a line between `start` and `end`, outside
    /// `"""` strings: a list, map or call written over several lines.
    fn breaks_line(&self, start: usize, end: usize) -> bool {
        let Some(text) = self.src.get(start..end) else {
            return false;
        };
        text.match_indices('\n').any(|(n, _)| {
            let at = start + n;
            let i = self.ml_strings.partition_point(|r| r.end <= at);
            self.ml_strings.get(i).is_none_or(|r| r.start > at)
        })
    }

    /// Reads the gap `start..end`: only blanks, separators, line breaks and
    /// comments may be there. `after_node`: whether something was written
    /// just before `start` on its line (a comment there is trailing).
    fn gap(&self, start: usize, end: usize, after_node: bool) -> R<Gap> {
        let b = self.src.as_bytes();
        let mut g = Gap {
            trailing: None,
            own_line: Vec::new(),
            blank_before_next: false,
        };
        let mut breaks = 0;
        let mut i = start;
        while i < end {
            if let Some(c) = self.comment_starting_at(i) {
                if breaks == 0 && after_node && g.trailing.is_none() && g.own_line.is_empty() {
                    g.trailing = Some(c);
                } else {
                    g.own_line.push((breaks >= 2, c));
                }
                breaks = 0;
                i = self.comments[c].end;
                continue;
            }
            match b[i] {
                b'\n' => breaks += 1,
                b' ' | b'\t' | b'\r' | b',' | b';' => {}
                other => {
                    return Err(format!(
                        "unexpected {:?} at byte {i} between nodes",
                        other as char
                    ))
                }
            }
            i += 1;
        }
        g.blank_before_next = breaks >= 2;
        Ok(g)
    }

    // ----- writing ----------------------------------------------------------

    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Ends the line (unless nothing is written yet), with a blank line
    /// when asked, and indents the next.
    fn start_line(&mut self, blank: bool) {
        if self.out.len() > self.base {
            self.out.push_str(self.newline);
            if blank {
                self.out.push_str(self.newline);
            }
        }
        for _ in 0..self.indent {
            self.out.push_str(INDENT);
        }
    }

    fn comment(&mut self, i: usize) {
        let text = self.comments[i].text(self.src);
        self.out.push_str(text);
        self.written[i] += 1;
    }

    fn trailing(&mut self, g: &Gap) {
        if let Some(c) = g.trailing {
            self.push(" ");
            self.comment(c);
        }
    }

    /// The column the next character goes to, in characters.
    fn column(&self) -> usize {
        let line = match self.out.rfind('\n') {
            Some(n) => &self.out[n + 1..],
            None => &self.out[self.base..],
        };
        line.chars().count()
    }

    // ----- sequences: the file, blocks, lists, maps, arguments --------------

    /// Writes `items` one per line at the current indentation, with the
    /// comments of the gaps `from..` first item `..` next item `..to`.
    /// `after_opener`: `from` follows a `{`, `[` or `(` (a comment on its
    /// line stays there). `comma`: each item is followed by `,`.
    fn sequence<T: Element>(
        &mut self,
        from: usize,
        to: usize,
        items: &[T],
        after_opener: bool,
        comma: bool,
    ) -> R {
        let mut cursor = from;
        let mut first_line = true;
        let mut prev: Option<&T> = None;
        for item in items {
            let (start, end) = item.extent();
            let g = self.gap(cursor, start, prev.is_some() || after_opener)?;
            self.trailing(&g);
            let mut due = prev.is_some_and(|p| T::blank_between(p, item));
            for &(blank, c) in &g.own_line {
                self.start_line(!first_line && (blank || due));
                self.comment(c);
                first_line = false;
                due = false;
            }
            self.start_line(!first_line && (g.blank_before_next || due));
            first_line = false;
            item.print(self)?;
            if comma {
                self.push(",");
            }
            cursor = self.tight_end(start, end);
            prev = Some(item);
        }
        let g = self.gap(cursor, to, prev.is_some() || after_opener)?;
        self.trailing(&g);
        for &(blank, c) in &g.own_line {
            self.start_line(!first_line && blank);
            self.comment(c);
            first_line = false;
        }
        Ok(())
    }

    /// A bracketed sequence written one item per line: the opener is
    /// written; this writes the items and the closer on its own line.
    fn broken<T: Element>(
        &mut self,
        from: usize,
        to: usize,
        items: &[T],
        comma: bool,
        closer: &str,
    ) -> R {
        self.indent += 1;
        self.sequence(from, to, items, true, comma)?;
        self.indent -= 1;
        self.start_line(false);
        self.push(closer);
        Ok(())
    }

    pub(super) fn file(&mut self, file: &File) -> R {
        let bom = if self.src.starts_with('\u{FEFF}') {
            self.push("\u{FEFF}");
            '\u{FEFF}'.len_utf8()
        } else {
            0
        };
        self.base = self.out.len();
        self.sequence(bom, self.src.len(), &file.items, false, false)?;
        if self.out.len() > self.base {
            self.out.push_str(self.newline);
        }
        Ok(())
    }

    fn item(&mut self, item: &Item) -> R {
        match item {
            Item::Import(i) => {
                self.push("import ");
                let target = match &i.target {
                    ImportTarget::Module(segments) => match (segments.first(), segments.last()) {
                        (Some(a), Some(b)) => {
                            self.text(a.span.start as usize, b.span.end as usize)?
                        }
                        _ => return Err("an import without a module".into()),
                    },
                    ImportTarget::Path { span, .. } => self.span_text(*span)?,
                };
                self.push(target);
                if let Some(alias) = &i.alias {
                    self.push(" as ");
                    self.push(&alias.name);
                }
                Ok(())
            }
            Item::Pipeline(p) => {
                self.push("pipeline ");
                self.push(&p.name.name);
                self.push(" ");
                self.body(&p.body)
            }
            Item::Template(t) => {
                self.push("template ");
                self.push(&t.kind.name);
                self.push(" ");
                self.push(&t.name.name);
                self.push(" ");
                self.body(&t.body)
            }
        }
    }

    /// `{ ... }` of a pipeline, template, stage or block: one entry per
    /// line, `{}` when there is nothing inside.
    fn body(&mut self, body: &Body) -> R {
        let (open, close) = self.brackets(body.span, b'{', b'}')?;
        if body.entries.is_empty() && !self.any_comment_in(open, close) {
            self.push("{}");
            return Ok(());
        }
        self.push("{");
        self.broken(open + 1, close, &body.entries, false, "}")
    }

    /// The positions of the opening and closing bracket of `span`.
    fn brackets(&self, span: crate::Span, open: u8, close: u8) -> R<(usize, usize)> {
        let (start, end) = (span.start as usize, span.end as usize);
        let b = self.src.as_bytes();
        if end <= start || b.get(start) != Some(&open) || b.get(end - 1) != Some(&close) {
            return Err(format!(
                "expected `{}`...`{}` at {start}..{end}",
                open as char, close as char
            ));
        }
        Ok((start, end - 1))
    }

    fn entry(&mut self, entry: &Entry) -> R {
        match entry {
            Entry::Field(f) => {
                self.push(&f.name.name);
                self.push(" = ");
                self.value(&f.value)
            }
            Entry::Param(d) => self.decl("param", d),
            Entry::Input(d) => self.decl("input", d),
            Entry::Output(d) => self.decl("output", d),
            Entry::When(w) => self.when(w),
            Entry::Stage(s) => {
                self.push(&s.kind.name);
                self.push(" ");
                self.push(&s.name.name);
                if let Some(uses) = &s.uses {
                    self.push(" uses ");
                    if let Some(module) = &uses.module {
                        self.push(&module.name);
                        self.push(".");
                    }
                    self.push(&uses.name.name);
                }
                self.push(" ");
                self.body(&s.body)
            }
            Entry::Block(b) => {
                self.push(&b.name.name);
                self.push(" ");
                self.body(&b.body)
            }
        }
    }

    fn decl(&mut self, keyword: &str, d: &Decl) -> R {
        self.push(keyword);
        self.push(" ");
        self.push(&d.name.name);
        self.push(": ");
        self.type_expr(&d.ty);
        if let Some(v) = &d.value {
            self.push(" = ");
            self.value(v)?;
        }
        Ok(())
    }

    fn type_expr(&mut self, t: &TypeExpr) {
        self.push(&t.name.name);
        if let Some(arg) = &t.arg {
            self.push("[");
            self.type_expr(arg);
            self.push("]");
        }
    }

    // ----- values -------------------------------------------------------------

    fn value(&mut self, e: &Expr) -> R {
        match &e.kind {
            ExprKind::List(items) => {
                let (open, close) = self.brackets(e.span, b'[', b']')?;
                self.bracketed(e, open + 1..close, items, LIST)
            }
            ExprKind::Map(entries) => {
                let (open, close) = self.brackets(e.span, b'{', b'}')?;
                self.bracketed(e, open + 1..close, entries, MAP)
            }
            ExprKind::Call(call) => {
                let name_end = call.name.span.end as usize;
                let close = (e.span.end as usize).saturating_sub(1);
                let open = self
                    .text(name_end, close)?
                    .find('(')
                    .map(|n| name_end + n)
                    .filter(|_| self.src.as_bytes().get(close) == Some(&b')'))
                    .ok_or("a call without `(`...`)`")?;
                self.push(&call.name.name);
                self.bracketed(e, open + 1..close, &call.args, ARGS)
            }
            ExprKind::Unary { .. } | ExprKind::Binary { .. } => {
                Err("an operator outside a `when` expression".into())
            }
            ExprKind::Str(_)
            | ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Unit(_)
            | ExprKind::Bool(_)
            | ExprKind::Ref(_)
            | ExprKind::Invalid => {
                let text = self.span_text(e.span)?;
                self.push(text);
                Ok(())
            }
        }
    }

    /// A list, map or argument list: inline (`[a, b]`, `{ k = v }`,
    /// `f(a, b)`) when the source wrote it on one line and it fits in
    /// [`WIDTH`]; otherwise one item per line, each followed by `,`.
    fn bracketed<T: Element + Inline>(
        &mut self,
        whole: &Expr,
        inside: Range<usize>,
        items: &[T],
        b: Brackets,
    ) -> R {
        let (from, to) = (inside.start, inside.end);
        let has_comments = self.any_comment_in(from, to);
        if items.is_empty() && !has_comments {
            self.push(b.open);
            self.push(b.close);
            return Ok(());
        }
        if !has_comments && !self.breaks_line(whole.span.start as usize, whole.span.end as usize) {
            let mut inline = String::new();
            inline.push_str(b.open);
            if b.padded {
                inline.push(' ');
            }
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    inline.push_str(", ");
                }
                item.inline(self, &mut inline)?;
            }
            if b.padded {
                inline.push(' ');
            }
            inline.push_str(b.close);
            if self.column() + inline.chars().count() <= WIDTH {
                self.push(&inline);
                return Ok(());
            }
        }
        self.push(b.open);
        self.broken(from, to, items, true, b.close)
    }

    /// A value on one line (the caller knows no line break is inside).
    fn inline(&self, e: &Expr, out: &mut String) -> R {
        match &e.kind {
            ExprKind::List(items) => {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    self.inline(item, out)?;
                }
                out.push(']');
            }
            ExprKind::Map(entries) if entries.is_empty() => out.push_str("{}"),
            ExprKind::Map(entries) => {
                out.push_str("{ ");
                for (n, entry) in entries.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    entry.inline(self, out)?;
                }
                out.push_str(" }");
            }
            ExprKind::Call(call) => {
                out.push_str(&call.name.name);
                out.push('(');
                for (n, arg) in call.args.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    self.inline(arg, out)?;
                }
                out.push(')');
            }
            ExprKind::Unary { .. } | ExprKind::Binary { .. } => {
                return Err("an operator outside a `when` expression".into())
            }
            _ => out.push_str(self.span_text(e.span)?),
        }
        Ok(())
    }

    // ----- `when` expressions ---------------------------------------------------

    /// `when EXPR`: operands are values, written as values are; between
    /// them the source's operators, parentheses, comments and line breaks
    /// (after an operator), with single spaces around binary operators and
    /// none inside parentheses or after `!`. A line broken after an
    /// operator goes on one level deeper.
    fn when(&mut self, w: &When) -> R {
        let start = w.span.start as usize;
        if self.src.get(start..start + 4) != Some("when") {
            return Err(format!("no `when` at {start}"));
        }
        let end = self.tight_end(start, w.span.end as usize);
        let mut operands = Vec::new();
        leaves(&w.cond, &mut operands);
        self.push("when");
        let base = self.indent;
        let mut st = ExprState {
            space: true,
            line_start: false,
            continued: false,
        };
        let mut cursor = start + 4;
        for operand in operands {
            self.operators(cursor, operand.span.start as usize, base, &mut st)?;
            if st.space && !st.line_start {
                self.push(" ");
            }
            self.indent = if st.continued { base + 1 } else { base };
            self.value(operand)?;
            self.indent = base;
            st.space = false;
            st.line_start = false;
            cursor = operand.span.end as usize;
        }
        self.operators(cursor, end, base, &mut st)?;
        self.indent = base;
        Ok(())
    }

    /// The text between two operands of a `when` expression.
    fn operators(&mut self, start: usize, end: usize, base: usize, st: &mut ExprState) -> R {
        let b = self.src.as_bytes();
        let mut i = start;
        while i < end {
            if let Some(c) = self.comment_starting_at(i) {
                if !st.line_start {
                    self.push(" ");
                }
                self.comment(c);
                st.line_start = false;
                i = self.comments[c].end;
                continue;
            }
            let two = self.src.get(i..i + 2).unwrap_or("");
            let token: &str = match b[i] {
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'\n' => {
                    if !st.line_start {
                        self.indent = base + 1;
                        self.start_line(false);
                        self.indent = base;
                        st.line_start = true;
                        st.continued = true;
                        st.space = false;
                    }
                    i += 1;
                    continue;
                }
                b'(' | b')' => &self.src[i..i + 1],
                b'!' if two != "!=" => "!",
                _ if matches!(two, "||" | "&&" | "==" | "!=" | "<=" | ">=") => two,
                b'<' | b'>' => &self.src[i..i + 1],
                other => {
                    return Err(format!(
                        "unexpected {:?} at byte {i} in a `when` expression",
                        other as char
                    ))
                }
            };
            i += token.len();
            match token {
                ")" => {
                    self.push(")");
                    st.line_start = false;
                }
                "(" | "!" => {
                    if st.space && !st.line_start {
                        self.push(" ");
                    }
                    self.push(token);
                    st.space = false;
                    st.line_start = false;
                }
                op => {
                    if !st.line_start {
                        self.push(" ");
                    }
                    self.push(op);
                    st.space = true;
                    st.line_start = false;
                }
            }
        }
        Ok(())
    }
}

/// How a list, map or argument list is bracketed; a map is padded
/// inside its braces on one line (`{ k = v }`).
#[derive(Clone, Copy)]
struct Brackets {
    open: &'static str,
    close: &'static str,
    padded: bool,
}

const LIST: Brackets = Brackets {
    open: "[",
    close: "]",
    padded: false,
};
const MAP: Brackets = Brackets {
    open: "{",
    close: "}",
    padded: true,
};
const ARGS: Brackets = Brackets {
    open: "(",
    close: ")",
    padded: false,
};

struct ExprState {
    /// A space is due before the next operand or `(`.
    space: bool,
    /// Nothing is written yet on the current line but its indentation.
    line_start: bool,
    /// The expression went on to a new line.
    continued: bool,
}

/// The operands of an expression, left to right.
fn leaves<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Unary { operand, .. } => leaves(operand, out),
        ExprKind::Binary { lhs, rhs, .. } => {
            leaves(lhs, out);
            leaves(rhs, out);
        }
        _ => out.push(e),
    }
}

/// Something written one per line in a sequence.
trait Element {
    /// Its start and end in the source (the end may take in blanks and a
    /// comment after it; the printer trims them).
    fn extent(&self) -> (usize, usize);
    fn print(&self, p: &mut Printer<'_>) -> R;
    /// Whether a blank line is due between `a` and `b`, whatever the
    /// source had.
    fn blank_between(_a: &Self, _b: &Self) -> bool {
        false
    }
}

/// An item of a list, map or argument list, which may go on one line.
trait Inline {
    fn inline(&self, p: &Printer<'_>, out: &mut String) -> R;
}

fn extent(span: crate::Span) -> (usize, usize) {
    (span.start as usize, span.end as usize)
}

impl Element for Item {
    fn extent(&self) -> (usize, usize) {
        extent(self.span())
    }
    fn print(&self, p: &mut Printer<'_>) -> R {
        p.item(self)
    }
    /// Pipelines and templates stand apart; imports go together.
    fn blank_between(a: &Self, b: &Self) -> bool {
        !(matches!(a, Item::Import(_)) && matches!(b, Item::Import(_)))
    }
}

impl Element for Entry {
    fn extent(&self) -> (usize, usize) {
        extent(self.span())
    }
    fn print(&self, p: &mut Printer<'_>) -> R {
        p.entry(self)
    }
    /// A stage (or group) stands apart from what is around it.
    fn blank_between(a: &Self, b: &Self) -> bool {
        matches!(a, Entry::Stage(_)) || matches!(b, Entry::Stage(_))
    }
}

impl Element for Expr {
    fn extent(&self) -> (usize, usize) {
        extent(self.span)
    }
    fn print(&self, p: &mut Printer<'_>) -> R {
        p.value(self)
    }
}

impl Inline for Expr {
    fn inline(&self, p: &Printer<'_>, out: &mut String) -> R {
        p.inline(self, out)
    }
}

impl Element for MapEntry {
    fn extent(&self) -> (usize, usize) {
        extent(self.span)
    }
    fn print(&self, p: &mut Printer<'_>) -> R {
        let key = p.span_text(self.key.span)?;
        p.push(key);
        p.push(" = ");
        p.value(&self.value)
    }
}

impl Inline for MapEntry {
    fn inline(&self, p: &Printer<'_>, out: &mut String) -> R {
        out.push_str(p.span_text(self.key.span)?);
        out.push_str(" = ");
        p.inline(&self.value, out)
    }
}
