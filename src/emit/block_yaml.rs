//! A serde serializer that writes block YAML straight into a `String`.
//!
//! It writes what serde_yaml 0.9 (libyaml's emitter, unlimited width,
//! unicode on) writes for the same value, byte for byte, at a fraction of
//! the cost: serializing was a fifth of a large compile. The emitter below
//! mirrors libyaml's: the same indentation rules, the same column and
//! whitespace bookkeeping, the same scalar analysis and style choice.
//! `tests/yaml_writer.rs` compares the two on every example's workflow and
//! on generated strings.
//!
//! Where serde_yaml is wrong, this writer is not: a string holding U+2028 or
//! U+2029 is written double-quoted (libyaml 1.1 treats those as line breaks
//! and folds them), a one-entry map whose key starts with `!` stays a map
//! (serde_yaml reads such a key as a tag), and text that a YAML 1.1 reader
//! (kubectl, the argo CLI, the Argo controller, PyYAML) takes for a bool,
//! number, timestamp or null, such as `yes`, `on`, `y`, `1_000` or `12:30`,
//! is quoted where serde_yaml, a YAML 1.2 writer, leaves it plain
//! (`plain_reads_as_non_string`). The Argo model has neither
//! enum variants with data nor non-scalar map keys; both are errors here.

use std::fmt::Display;

use serde::ser::{self, Serialize};

/// Appends `value` as one YAML document (no `---`) to `out`, with `base`
/// spaces before every non-empty line: a document to splice into a list
/// whose items sit `base` columns in.
pub fn write<T: Serialize + ?Sized>(out: &mut String, value: &T, base: usize) -> Result<(), Error> {
    let mut emitter = Emitter {
        out,
        base,
        column: 0,
        indent: -1,
        indents: Vec::new(),
        whitespace: true,
        indention: true,
        mapping_context: false,
        simple_key_context: false,
    };
    value.serialize(&mut emitter)?;
    // libyaml's document end: finish the last line.
    emitter.write_indent();
    Ok(())
}

#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

const BEST_INDENT: isize = 2;
/// libyaml refuses implicit keys longer than this and writes `? key`.
const MAX_SIMPLE_KEY_LEN: usize = 128;

struct Emitter<'o> {
    out: &'o mut String,
    base: usize,
    /// In characters, not counting `base`.
    column: usize,
    indent: isize,
    indents: Vec<isize>,
    /// The last thing written was whitespace (or nothing on this line).
    whitespace: bool,
    /// Only indentation has been written on this line.
    indention: bool,
    /// Where the node being written sits (libyaml's `emit_node` flags).
    mapping_context: bool,
    simple_key_context: bool,
}

/// The style serde_yaml asks libyaml for; libyaml may pick a safer one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

impl Emitter<'_> {
    fn number(&mut self, text: &str) -> Result<(), Error> {
        self.scalar(text, Style::Plain);
        Ok(())
    }

    fn start_line(&mut self) {
        if self.column == 0 && self.base > 0 {
            push_spaces(self.out, self.base);
        }
    }

    fn put(&mut self, c: char) {
        self.start_line();
        self.out.push(c);
        self.column += 1;
    }

    /// Writes text without line breaks.
    fn write_str(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.start_line();
        self.out.push_str(text);
        self.column += if text.is_ascii() {
            text.len()
        } else {
            text.chars().count()
        };
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.column < indent {
            self.start_line();
            push_spaces(self.out, indent - self.column);
            self.column = indent;
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// libyaml's `emit_scalar`: choose the style, then write.
    fn scalar(&mut self, value: &str, requested: Style) {
        let analysis = Analysis::of(value);
        let style = self.select_style(value, requested, &analysis);
        self.increase_indent(true, false);
        match style {
            Style::Plain => self.write_plain(value),
            Style::SingleQuoted => self.write_single_quoted(value),
            Style::DoubleQuoted => self.write_double_quoted(value),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn select_style(&self, value: &str, requested: Style, a: &Analysis) -> Style {
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain
            && (!a.block_plain_allowed || (value.is_empty() && self.simple_key_context))
        {
            style = Style::SingleQuoted;
        }
        if style == Style::SingleQuoted && !a.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!a.block_allowed || self.simple_key_context) {
            style = Style::DoubleQuoted;
        }
        if a.unicode_breaks {
            style = Style::DoubleQuoted;
        }
        style
    }

    fn write_plain(&mut self, value: &str) {
        if !self.whitespace && !value.is_empty() {
            self.put(' ');
        }
        self.write_str(value);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &str) {
        self.write_indicator("'", true, false, false);
        let mut rest = value;
        while let Some(quote) = rest.find('\'') {
            self.write_str(&rest[..=quote]);
            self.put('\'');
            rest = &rest[quote + 1..];
        }
        self.write_str(rest);
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, value: &str) {
        self.write_indicator("\"", true, false, false);
        let mut plain_from = 0;
        for (i, c) in value.char_indices() {
            let needs_escape =
                !is_printable(c) || c == '\u{feff}' || is_break(c) || c == '"' || c == '\\';
            if !needs_escape {
                continue;
            }
            let escape: Option<char> = match c {
                '\0' => Some('0'),
                '\u{7}' => Some('a'),
                '\u{8}' => Some('b'),
                '\t' => Some('t'),
                '\n' => Some('n'),
                '\u{b}' => Some('v'),
                '\u{c}' => Some('f'),
                '\r' => Some('r'),
                '\u{1b}' => Some('e'),
                '"' => Some('"'),
                '\\' => Some('\\'),
                '\u{85}' => Some('N'),
                '\u{2028}' => Some('L'),
                '\u{2029}' => Some('P'),
                _ => None,
            };
            self.write_str(&value[plain_from..i]);
            plain_from = i + c.len_utf8();
            self.put('\\');
            match escape {
                Some(e) => self.put(e),
                None => {
                    let code = u32::from(c);
                    let (marker, digits) = match code {
                        0..=0xFF => ('x', 2),
                        0x100..=0xFFFF => ('u', 4),
                        _ => ('U', 8),
                    };
                    self.put(marker);
                    self.write_str(&format!("{code:0digits$X}"));
                }
            }
        }
        self.write_str(&value[plain_from..]);
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an explicit indent when the text starts with
        // a blank, and the chomping that keeps its trailing breaks.
        if value.starts_with([' ', '\n']) {
            self.write_indicator("2", false, false, false);
        }
        let mut from_end = value.chars().rev();
        let chomp = match (from_end.next(), from_end.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for line in value.split_inclusive('\n') {
            let (text, has_break) = match line.strip_suffix('\n') {
                Some(text) => (text, true),
                None => (line, false),
            };
            if !text.is_empty() {
                if breaks {
                    self.write_indent();
                }
                self.write_str(text);
                self.indention = false;
                breaks = false;
            }
            if has_break {
                self.put_break();
                self.indention = true;
                breaks = true;
            }
        }
    }

    /// Before each item of a block sequence (`first`: the sequence's first).
    fn sequence_item(&mut self, first: bool, mapping_context: bool) {
        if first {
            let indentless = mapping_context && !self.indention;
            self.increase_indent(false, indentless);
        }
        self.write_indent();
        self.write_indicator("-", true, false, true);
        self.mapping_context = false;
        self.simple_key_context = false;
    }

    /// Writes a mapping key; returns whether it was a simple (`key:`) one.
    fn mapping_key(&mut self, first: bool, text: &str, style: Style) -> bool {
        if first {
            self.increase_indent(false, false);
        }
        self.write_indent();
        if style == Style::Plain && is_plain_safe(text) {
            let simple = text.len() <= MAX_SIMPLE_KEY_LEN;
            if !simple {
                self.write_indicator("?", true, false, true);
            }
            self.mapping_context = true;
            self.simple_key_context = simple;
            self.write_plain(text);
            return simple;
        }
        let analysis = Analysis::of(text);
        let simple = !analysis.multiline && text.len() <= MAX_SIMPLE_KEY_LEN;
        if !simple {
            self.write_indicator("?", true, false, true);
        }
        self.mapping_context = true;
        self.simple_key_context = simple;
        self.scalar(text, style);
        simple
    }

    fn mapping_value(&mut self, simple: bool) {
        if simple {
            self.write_indicator(":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(":", true, false, true);
        }
        self.mapping_context = true;
        self.simple_key_context = false;
    }

    /// An empty sequence or mapping: libyaml's flow form.
    fn empty_collection(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }
}

fn push_spaces(out: &mut String, count: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = count;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

/// What libyaml's `analyze_scalar` learns of a value (block context only).
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
    /// U+2028 or U+2029, which only double quotes keep intact.
    unicode_breaks: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blankz(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c == ' ' || c == '\t' || c == '\0' || is_break(c),
    }
}

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{10000}'..)
        || (('\u{e000}'..='\u{fffd}').contains(&c) && c != '\u{feff}')
}

impl Analysis {
    fn of(value: &str) -> Analysis {
        if value.is_empty() {
            return Analysis {
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
                unicode_breaks: false,
            };
        }
        // Most text is ASCII: walk its bytes as chars, sparing the decoding.
        if value.is_ascii() {
            Self::scan(value, value.bytes().map(char::from))
        } else {
            Self::scan(value, value.chars())
        }
    }

    fn scan(value: &str, mut chars: impl Iterator<Item = char>) -> Analysis {
        let mut block_indicators = value.starts_with("---") || value.starts_with("...");
        let (mut line_breaks, mut special_characters) = (false, false);
        let (mut leading_space, mut leading_break) = (false, false);
        let (mut trailing_space, mut trailing_break) = (false, false);
        let (mut break_space, mut space_break) = (false, false);
        let (mut previous_space, mut previous_break) = (false, false);
        let mut unicode_breaks = false;
        let mut preceded_by_whitespace = true;
        let mut first = true;
        let mut next = chars.next();
        while let Some(c) = next {
            next = chars.next();
            let followed_by_whitespace = is_blankz(next);
            if first {
                if matches!(
                    c,
                    '#' | ','
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '&'
                        | '*'
                        | '!'
                        | '|'
                        | '>'
                        | '\''
                        | '"'
                        | '%'
                        | '@'
                        | '`'
                ) || (matches!(c, '?' | ':' | '-') && followed_by_whitespace)
                {
                    block_indicators = true;
                }
            } else if (c == ':' && followed_by_whitespace) || (c == '#' && preceded_by_whitespace) {
                block_indicators = true;
            }
            if !is_printable(c) {
                special_characters = true;
            }
            if c == '\u{2028}' || c == '\u{2029}' {
                unicode_breaks = true;
            }
            let last = next.is_none();
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                previous_space = true;
                previous_break = false;
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                previous_space = false;
                previous_break = true;
            } else {
                previous_space = false;
                previous_break = false;
            }
            preceded_by_whitespace = is_blankz(Some(c));
            first = false;
        }
        let mut a = Analysis {
            multiline: line_breaks,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
            unicode_breaks,
        };
        if leading_space || leading_break || trailing_space || trailing_break {
            a.block_plain_allowed = false;
        }
        if trailing_space {
            a.block_allowed = false;
        }
        if break_space {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
        }
        if space_break || special_characters {
            a.block_plain_allowed = false;
            a.single_quoted_allowed = false;
            a.block_allowed = false;
        }
        if line_breaks || block_indicators {
            a.block_plain_allowed = false;
        }
        a
    }
}

/// Text that every rule writes plain, as most names, images, paths,
/// quantities and flags are: it holds only letters, digits, `_./-=+@%~` and
/// non-final colons (so no blank, break or `: `/` #` indicator), starts with
/// none of `-- . % @ ~` that would begin an indicator or a document marker
/// (a lone leading `-` is fine before a non-blank), and is not text that a
/// reader would take for something else (`plain_reads_as_non_string`).
/// `string_style` and `Analysis::of` choose plain for all of it; checking
/// here first spares their work on the common case.
fn is_plain_safe(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    let first_ok = first.is_ascii_alphanumeric()
        || first == b'_'
        || first == b'/'
        || (first == b'-' && bytes.len() > 1 && !value.starts_with("---"));
    first_ok
        && bytes.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'.' | b'/' | b'-' | b'=' | b'+' | b'@' | b'%' | b'~' | b':'
                )
        })
        && bytes.last() != Some(&b':')
        && !plain_reads_as_non_string(value)
}

/// The style we ask for a string: a literal block for text with newlines,
/// quotes for text that would read back as something else (see
/// `plain_reads_as_non_string`), else whatever libyaml finds safe.
fn string_style(value: &str) -> Style {
    if value.contains('\n') {
        Style::Literal
    } else if plain_reads_as_non_string(value) {
        Style::SingleQuoted
    } else {
        Style::Plain
    }
}

/// Whether `v`, written as a plain scalar, would be read back as anything
/// but this string by some reader of mlpc's output; such text is written
/// single-quoted (or double-quoted when libyaml's analysis asks for it).
///
/// Two families read the output. YAML 1.2 readers: serde_yaml and other
/// libyaml-based tools. YAML 1.1 readers: kubectl, the argo CLI and the
/// Argo controller go through sigs.k8s.io/yaml, which is go-yaml v2, and
/// Python tools use PyYAML. Text is quoted when any of them resolves it to
/// something other than a string:
///
/// - YAML 1.2, as serde_yaml reads it (`yaml12_reads_as_non_string`, the
///   quoting serde_yaml itself does): empty, `~`, `null`/`true`/`false` in
///   three spellings, decimal, `0x`, `0o` and `0b` ints, finite floats,
///   `.inf`/`.nan`, and digits with a leading zero.
/// - YAML 1.1 (`yaml11_reads_as_non_string`). Sources: go-yaml v2's
///   `resolve.go` (the words of its resolve table; `resolve`, which drops
///   every `_` before parsing a number, takes a base prefix as Go's
///   `ParseInt` with base 0 does, and reads digit strings that are no int
///   as floats; `parseTimestamp`) and PyYAML's implicit resolvers in
///   `lib/yaml/resolver.py` (bool, float, int, merge, null, timestamp and
///   value). Quoted are:
///   - the bool and null words `y n yes no on off true false null`, in any
///     case (the readers take `yes`, `Yes` and `YES`; odd mixes cost
///     nothing to quote), and `~`;
///   - `<<`, the merge key (go-yaml v2 merges under a plain `<<` key;
///     PyYAML's safe_load rejects it as a value) and `=`, PyYAML's value
///     tag, which safe_load cannot construct;
///   - numbers, with an optional sign and `_` anywhere: `0x`/`0X` hex,
///     `0o`/`0O` octal and `0b`/`0B` binary digits (`_` alone too: PyYAML
///     matches `0x_`, then fails to build it); decimal digits with at most
///     one `.` and an optional exponent `e`/`E`, sign, digits (`012`,
///     `1_000`, `.5`, `1.`, `1e5`, `1_000.5`); `.inf` and `.nan`, in any
///     case and with a sign;
///   - sexagesimal numbers (PyYAML): digits, then `:` and one digit or two
///     below 60, repeated, then an optional `.` fraction (`12:30`,
///     `1:20:30`, `190:20:30.15`);
///   - dates and timestamps: `YYYY-M-D` with one or two digits for month
///     and day (go-yaml v2 takes one), alone or followed by `T`, `t` or
///     blanks and a digit (`2001-12-14t21:59:43.10-05:00`).
///
/// Other text (names, paths, URLs, versions such as `3.0.1`, `{{...}}`
/// placeholders) is left to libyaml's analysis, as serde_yaml leaves it.
fn plain_reads_as_non_string(v: &str) -> bool {
    yaml12_reads_as_non_string(v) || yaml11_reads_as_non_string(v)
}

/// Text we quote that serde_yaml writes plain: what only a YAML 1.1
/// reader misreads (`tests/yaml_writer.rs` allows exactly this deviation).
pub(crate) fn quoted_only_for_yaml11(v: &str) -> bool {
    yaml11_reads_as_non_string(v) && !yaml12_reads_as_non_string(v)
}

/// YAML 1.1's readings of a plain scalar (see `plain_reads_as_non_string`).
fn yaml11_reads_as_non_string(v: &str) -> bool {
    match v.as_bytes().first() {
        None => true,
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
            is_yaml11_number(v) || is_yaml11_timestamp(v) || is_inf_or_nan_word(v)
        }
        Some(_) => {
            v.len() <= 5
                && [
                    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "=",
                ]
                .iter()
                .any(|word| v.eq_ignore_ascii_case(word))
        }
    }
}

/// `.inf` or `.nan`, in any case, with or without a sign.
fn is_inf_or_nan_word(v: &str) -> bool {
    let unsigned = v.strip_prefix(['+', '-']).unwrap_or(v);
    unsigned.eq_ignore_ascii_case(".inf") || unsigned.eq_ignore_ascii_case(".nan")
}

/// A YAML 1.1 int or float, sexagesimal ones included; `_` is ignored
/// wherever it stands, as go-yaml v2 ignores it.
fn is_yaml11_number(v: &str) -> bool {
    let body = v.strip_prefix(['+', '-']).unwrap_or(v);
    let radix_digit: Option<fn(u8) -> bool> = match body.as_bytes() {
        [b'0', b'x' | b'X', _, ..] => Some(|b| b.is_ascii_hexdigit()),
        [b'0', b'o' | b'O', _, ..] => Some(|b| matches!(b, b'0'..=b'7')),
        [b'0', b'b' | b'B', _, ..] => Some(|b| matches!(b, b'0' | b'1')),
        _ => None,
    };
    if let Some(digit) = radix_digit {
        return body.bytes().skip(2).all(|b| b == b'_' || digit(b));
    }
    let mut rest = body.bytes().filter(|&b| b != b'_').peekable();
    let (mut digits, mut dot) = (0, false);
    while let Some(&b) = rest.peek() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot => dot = true,
            _ => break,
        }
        rest.next();
    }
    if digits == 0 {
        return false;
    }
    match rest.next() {
        None => true,
        Some(b'e' | b'E') => {
            rest.next_if(|&b| b == b'+' || b == b'-');
            rest.peek().is_some() && rest.all(|b| b.is_ascii_digit())
        }
        Some(b':') if !dot => is_sexagesimal_tail(rest),
        Some(_) => false,
    }
}

/// What follows the first `:` of a sexagesimal number: groups of one digit
/// or two below 60, split by `:`, then an optional `.` and digits.
fn is_sexagesimal_tail(mut rest: impl Iterator<Item = u8>) -> bool {
    loop {
        let Some(first @ b'0'..=b'9') = rest.next() else {
            return false;
        };
        let mut next = rest.next();
        if let Some(b'0'..=b'9') = next {
            if first > b'5' {
                return false;
            }
            next = rest.next();
        }
        match next {
            None => return true,
            Some(b':') => {}
            Some(b'.') => return rest.all(|b| b.is_ascii_digit()),
            Some(_) => return false,
        }
    }
}

/// A YAML 1.1 date or timestamp: `YYYY-M-D` (one or two digits each for
/// month and day), alone or followed by `T`, `t` or blanks and a digit.
fn is_yaml11_timestamp(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    // One or two digits from `at`; where they end.
    let field = |at: usize| match (b.get(at), b.get(at + 1)) {
        (Some(d), Some(e)) if d.is_ascii_digit() && e.is_ascii_digit() => Some(at + 2),
        (Some(d), _) if d.is_ascii_digit() => Some(at + 1),
        _ => None,
    };
    let Some(month_end) = field(5) else {
        return false;
    };
    if b.get(month_end) != Some(&b'-') {
        return false;
    }
    let Some(end) = field(month_end + 1) else {
        return false;
    };
    let time = match b.get(end) {
        None => return true,
        Some(b'T' | b't') => &b[end + 1..],
        Some(b' ' | b'\t') => v[end..].trim_start_matches([' ', '\t']).as_bytes(),
        Some(_) => return false,
    };
    time.first().is_some_and(u8::is_ascii_digit)
}

/// serde_yaml's reading of a plain scalar: null, bool, int or float.
fn yaml12_reads_as_non_string(v: &str) -> bool {
    match v.as_bytes().first() {
        None => true,
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => {
            // Ints and finite floats hold only digits, signs, dots, hex
            // letters (exponents included) and the `0x`/`0o` prefixes; the
            // other numbers serde_yaml reads are the `.inf`/`.nan` words.
            if v.bytes()
                .all(|b| b.is_ascii_hexdigit() || matches!(b, b'x' | b'o' | b'+' | b'-' | b'.'))
            {
                digits_but_not_number(v) || is_int(v) || is_float(v)
            } else {
                matches!(
                    v,
                    ".inf"
                        | ".Inf"
                        | ".INF"
                        | "+.inf"
                        | "+.Inf"
                        | "+.INF"
                        | "-.inf"
                        | "-.Inf"
                        | "-.INF"
                        | ".nan"
                        | ".NaN"
                        | ".NAN"
                )
            }
        }
        Some(_) => matches!(
            v,
            "~" | "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
        ),
    }
}

/// A leading zero followed by digits is a string in YAML 1.2.
fn digits_but_not_number(v: &str) -> bool {
    let v = v.strip_prefix(['-', '+']).unwrap_or(v);
    v.len() > 1 && v.starts_with('0') && v[1..].bytes().all(|b| b.is_ascii_digit())
}

fn is_int(v: &str) -> bool {
    let radix_digits = |rest: &str, radix: u32| {
        !rest.starts_with(['+', '-']) && u128::from_str_radix(rest, radix).is_ok()
    };
    let negative_radix =
        |rest: &str, radix: u32| i128::from_str_radix(&format!("-{rest}"), radix).is_ok();
    let unsigned = v.strip_prefix('+').unwrap_or(v);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unsigned.strip_prefix(prefix) {
            if radix_digits(rest, radix) {
                return true;
            }
        }
        if let Some(rest) = v.strip_prefix('-').and_then(|r| r.strip_prefix(prefix)) {
            if negative_radix(rest, radix) {
                return true;
            }
        }
    }
    if digits_but_not_number(v) {
        return false;
    }
    (!unsigned.starts_with(['+', '-']) && unsigned.parse::<u128>().is_ok())
        || v.parse::<i128>().is_ok()
}

fn is_float(v: &str) -> bool {
    let unsigned = match v.strip_prefix('+') {
        Some(u) if u.starts_with(['+', '-']) => return false,
        Some(u) => u,
        None => v,
    };
    matches!(unsigned, ".inf" | ".Inf" | ".INF")
        || matches!(v, "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN")
        || unsigned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// A map key, read before it is written: libyaml must know its length and
/// lines to choose between `key:` and `? key`.
struct ScalarKey {
    text: String,
    style: Style,
}

/// serde has a method per integer width; every one is written as its
/// decimal text, a plain scalar (`Self::number` says where to).
macro_rules! integers_as_text {
    ($ok:ty) => {
        integers_as_text!($ok; serialize_i8 i8, serialize_i16 i16, serialize_i32 i32,
            serialize_i64 i64, serialize_i128 i128, serialize_u8 u8, serialize_u16 u16,
            serialize_u32 u32, serialize_u64 u64, serialize_u128 u128);
    };
    ($ok:ty; $($method:ident $int:ty),*) => {
        $(
            fn $method(self, v: $int) -> Result<$ok, Error> {
                self.number(itoa::Buffer::new().format(v))
            }
        )*
    };
}

impl<'a, 'o> ser::Serializer for &'a mut Emitter<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Collection<'a, 'o>;
    type SerializeTuple = Collection<'a, 'o>;
    type SerializeTupleStruct = Collection<'a, 'o>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Collection<'a, 'o>;
    type SerializeStruct = Collection<'a, 'o>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" }, Style::Plain);
        Ok(())
    }

    integers_as_text!(());

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.serialize_f64(v.into())
    }

    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        let mut buffer = ryu::Buffer::new();
        let text = if v.is_nan() {
            ".nan"
        } else if v.is_infinite() {
            if v.is_sign_positive() {
                ".inf"
            } else {
                "-.inf"
            }
        } else {
            buffer.format_finite(v)
        };
        self.scalar(text, Style::Plain);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar(v.encode_utf8(&mut [0; 4]), Style::SingleQuoted);
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if is_plain_safe(v) {
            // What `scalar` would write, without the analysis.
            self.write_plain(v);
        } else {
            self.scalar(v, string_style(v));
        }
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error("bytes cannot be written as YAML".into()))
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null", Style::Plain);
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(unsupported_variant(name, variant))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Collection<'a, 'o>, Error> {
        Ok(Collection::new(self))
    }

    fn serialize_tuple(self, _: usize) -> Result<Collection<'a, 'o>, Error> {
        Ok(Collection::new(self))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Collection<'a, 'o>, Error> {
        Ok(Collection::new(self))
    }

    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported_variant(name, variant))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Collection<'a, 'o>, Error> {
        Ok(Collection::new(self))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Collection<'a, 'o>, Error> {
        Ok(Collection::new(self))
    }

    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported_variant(name, variant))
    }
}

fn unsupported_variant(name: &str, variant: &str) -> Error {
    Error(format!(
        "internal error: `{name}::{variant}` is an enum variant with data, which has no YAML form here"
    ))
}

/// A sequence or mapping being written. Nothing is written when it starts:
/// libyaml looks at the next event first, and an empty collection becomes
/// `[]` or `{}`.
struct Collection<'a, 'o> {
    emitter: &'a mut Emitter<'o>,
    /// `mapping_context` when the collection started (for indentless
    /// sequences under a key).
    mapping_context: bool,
    first: bool,
    /// Whether the last key was written as `key:` rather than `? key`.
    simple_key: bool,
}

impl<'a, 'o> Collection<'a, 'o> {
    fn new(emitter: &'a mut Emitter<'o>) -> Self {
        Collection {
            mapping_context: emitter.mapping_context,
            emitter,
            first: true,
            simple_key: true,
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.emitter.sequence_item(self.first, self.mapping_context);
        self.first = false;
        value.serialize(&mut *self.emitter)
    }

    fn end_sequence(self) -> Result<(), Error> {
        self.end("[]")
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = key.serialize(KeyReader)?;
        self.text_key(&key.text, key.style);
        Ok(())
    }

    fn text_key(&mut self, text: &str, style: Style) {
        self.simple_key = self.emitter.mapping_key(self.first, text, style);
        self.first = false;
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.emitter.mapping_value(self.simple_key);
        value.serialize(&mut *self.emitter)
    }

    fn end_mapping(self) -> Result<(), Error> {
        self.end("{}")
    }

    /// Closes the collection: an empty one is written in its flow form
    /// (`empty`), a block one just ends its indentation.
    fn end(self, empty: &str) -> Result<(), Error> {
        if self.first {
            self.emitter.empty_collection(&empty[..1], &empty[1..]);
        } else {
            self.emitter.pop_indent();
        }
        Ok(())
    }
}

/// serde's three sequence traits differ only in a method name; all write a
/// block sequence.
macro_rules! sequence_trait {
    ($trait:ident, $method:ident) => {
        impl ser::$trait for Collection<'_, '_> {
            type Ok = ();
            type Error = Error;

            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }

            fn end(self) -> Result<(), Error> {
                self.end_sequence()
            }
        }
    };
}

sequence_trait!(SerializeSeq, serialize_element);
sequence_trait!(SerializeTuple, serialize_element);
sequence_trait!(SerializeTupleStruct, serialize_field);

impl ser::SerializeMap for Collection<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.end_mapping()
    }
}

impl ser::SerializeStruct for Collection<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // Field names are known text: no need to read them through serde.
        self.text_key(key, string_style(key));
        self.value(value)
    }

    fn end(self) -> Result<(), Error> {
        self.end_mapping()
    }
}

/// Reads a map key into text and the style serde_yaml would ask for.
struct KeyReader;

impl KeyReader {
    fn number(self, text: &str) -> Result<ScalarKey, Error> {
        Self::text(text, Style::Plain)
    }

    fn text(text: impl Into<String>, style: Style) -> Result<ScalarKey, Error> {
        Ok(ScalarKey {
            text: text.into(),
            style,
        })
    }
}

fn non_scalar_key() -> Error {
    Error("internal error: a map key that is not a scalar".into())
}

impl ser::Serializer for KeyReader {
    type Ok = ScalarKey;
    type Error = Error;
    type SerializeSeq = ser::Impossible<ScalarKey, Error>;
    type SerializeTuple = ser::Impossible<ScalarKey, Error>;
    type SerializeTupleStruct = ser::Impossible<ScalarKey, Error>;
    type SerializeTupleVariant = ser::Impossible<ScalarKey, Error>;
    type SerializeMap = ser::Impossible<ScalarKey, Error>;
    type SerializeStruct = ser::Impossible<ScalarKey, Error>;
    type SerializeStructVariant = ser::Impossible<ScalarKey, Error>;

    fn serialize_bool(self, v: bool) -> Result<ScalarKey, Error> {
        Self::text(if v { "true" } else { "false" }, Style::Plain)
    }

    integers_as_text!(ScalarKey);

    fn serialize_f32(self, _: f32) -> Result<ScalarKey, Error> {
        Err(non_scalar_key())
    }

    fn serialize_f64(self, _: f64) -> Result<ScalarKey, Error> {
        Err(non_scalar_key())
    }

    fn serialize_char(self, v: char) -> Result<ScalarKey, Error> {
        Self::text(v, Style::SingleQuoted)
    }

    fn serialize_str(self, v: &str) -> Result<ScalarKey, Error> {
        Self::text(v, string_style(v))
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<ScalarKey, Error> {
        Err(non_scalar_key())
    }

    fn serialize_none(self) -> Result<ScalarKey, Error> {
        Self::text("null", Style::Plain)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<ScalarKey, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<ScalarKey, Error> {
        Self::text("null", Style::Plain)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<ScalarKey, Error> {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<ScalarKey, Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<ScalarKey, Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<ScalarKey, Error> {
        Err(non_scalar_key())
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(non_scalar_key())
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(non_scalar_key())
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(non_scalar_key())
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(non_scalar_key())
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(non_scalar_key())
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(non_scalar_key())
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(non_scalar_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_yaml11_reader_misreads_is_quoted_and_other_text_is_not() {
        for v in [
            "y",
            "N",
            "yes",
            "Yes",
            "YES",
            "yEs",
            "no",
            "on",
            "ON",
            "off",
            "Off",
            "~",
            "",
            "<<",
            "=",
            "1_000",
            "+12",
            "-0",
            "012",
            "09",
            "0b101",
            "-0B1",
            "0o17",
            "0x1F",
            "0X_1f",
            "0x_",
            "1:20",
            "12:30",
            "1:20:30",
            "190:20:30.15",
            "+1:05",
            ".5",
            "1.",
            "1e5",
            "1_000.5",
            "-1E-3",
            "1e_5",
            "-_1",
            ".inf",
            "-.Inf",
            "+.INF",
            ".NaN",
            "2024-01-01",
            "2024-1-1",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
        ] {
            assert!(plain_reads_as_non_string(v), "{v:?} is not quoted");
        }
        for v in [
            "yess",
            "non",
            "nan",
            "inf",
            "-inf",
            "infinity",
            "n/a",
            "=x",
            "<<x",
            "_1",
            "0x",
            "0xZZ",
            "0o8",
            "0b2",
            "1.2.3",
            "3.0.1",
            "v1.2",
            "1e",
            "1e+",
            "1-2",
            "12:60",
            "1:2:",
            "127.0.0.1:8080",
            "1.5:30",
            "2024-01",
            "2024-01-01x",
            "2024-01-01 notes",
            "20240-01-01",
            "trainer:1.0",
            "http://x:5000",
            "{{inputs.parameters.x}}",
            "a:b",
            "s3://bucket/path",
        ] {
            assert!(!plain_reads_as_non_string(v), "{v:?} is quoted");
        }
    }
}
