//! Syntax errors: a lexical pre-scan for problems pest would report poorly
//! (NUL bytes, runaway nesting, unterminated strings), and the mapping of
//! pest's error to `mlp::E0001` in words a user knows.

use pest::error::{Error as PestError, ErrorVariant, InputLocation};

use super::{Rule, MAX_NESTING};
use crate::diag::MlpError;
use crate::source::{SourceFile, SourceId, Span};

/// What the pre-scan found. Strings and comments are skipped the way the
/// grammar reads them, so brackets inside them do not count.
pub(crate) struct Prescan {
    pub fatal: Option<MlpError>,
    /// Start and line end of the first string that is not closed.
    pub unterminated: Option<(usize, usize)>,
}

pub(crate) fn prescan(file: &SourceFile, id: SourceId) -> Prescan {
    let text = file.text.as_bytes();
    let at = |start: usize, end: usize| Span::new(id, start, end);
    let mut depth = 0usize;
    let mut unterminated = None;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            0 => {
                return Prescan {
                    fatal: Some(MlpError::NulByte {
                        src: file.src(id),
                        at: at(i, i + 1),
                    }),
                    unterminated,
                }
            }
            b'#' => i = line_end(text, i),
            b'/' if text.get(i + 1) == Some(&b'/') => i = line_end(text, i),
            b'"' if text[i..].starts_with(b"\"\"\"") => match find(text, i + 3, b"\"\"\"") {
                Some(close) => i = close + 3,
                None => {
                    unterminated.get_or_insert((i, line_end(text, i)));
                    i = text.len();
                }
            },
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match text.get(i) {
                        None | Some(b'\n') => {
                            unterminated.get_or_insert((start, line_end(text, start)));
                            break;
                        }
                        Some(b'\\') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Prescan {
                        fatal: Some(MlpError::TooDeep {
                            src: file.src(id),
                            at: at(i, i + 1),
                            limit: MAX_NESTING,
                        }),
                        unterminated,
                    };
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    Prescan {
        fatal: None,
        unterminated,
    }
}

fn line_end(text: &[u8], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(text.len(), |p| from + p)
}

fn find(text: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    text.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Turns pest's error into E0001, or E0002 when an unterminated string comes
/// first: pest would otherwise blame a later line.
pub(crate) fn syntax_error(
    file: &SourceFile,
    id: SourceId,
    err: &PestError<Rule>,
    unterminated: Option<(usize, usize)>,
) -> MlpError {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some((start, end)) = unterminated {
        if start <= pos {
            return MlpError::UnterminatedString {
                src: file.src(id),
                at: Span::new(id, start, end),
            };
        }
    }
    if let ErrorVariant::CustomError { message } = &err.variant {
        // pest's own resource guards ("stack limit reached", ...).
        return MlpError::TooDeep {
            src: file.src(id),
            at: Span::new(id, pos, pos),
            limit: MAX_NESTING,
        }
        .with_ice_fallback(message);
    }
    // pest's classic position tracks only non-silent rules; the detailed
    // attempts also see literals such as `,` and `]`, which often reach
    // further. Report at the furthest point, with what was expected there.
    let attempts = err.parse_attempts();
    let pos = attempts.as_ref().map_or(pos, |a| a.max_position.max(pos));
    let mut expected: Vec<String> = Vec::new();
    if let Some(attempts) = &attempts {
        // A call stack names the rule that made the attempt, which for a
        // literal is its container (`list` for `,`); only leaf rules say
        // what could stand here.
        for stack in attempts.call_stacks() {
            if let Some(rule) = stack.deepest.get_rule().copied().filter(|r| is_leaf(*r)) {
                if let Some(words) = describe(rule) {
                    push_unique(&mut expected, words.to_string());
                }
            }
        }
        // `ParsingToken` is not exported; its Display is the literal text,
        // `a..z` for a range, or `BUILTIN_RULE`.
        for token in attempts.expected_tokens() {
            if let Some(words) = describe_token(&token.to_string()) {
                push_unique(&mut expected, words);
            }
        }
    }
    if let (ErrorVariant::ParsingError { positives, .. }, None) = (&err.variant, &attempts) {
        {
            for rule in positives {
                if let Some(words) = describe(*rule) {
                    push_unique(&mut expected, words.to_string());
                }
            }
        }
    }
    // `,` separates list items and call arguments; in blocks a newline is
    // the usual separator, so `,` there is noise.
    if !expected.iter().any(|e| e == "`]`" || e == "`)`") {
        expected.retain(|e| e != "`,`");
    }
    collapse_values(&mut expected);
    if expected.is_empty() {
        expected.push("something else".to_string());
    }
    let (found, found_len) = found_at(&file.text, pos);
    let help = shell_syntax_help(&file.text, pos).or_else(|| help_for(&expected, &found));
    MlpError::Syntax {
        src: file.src(id),
        at: Span::new(id, pos, pos + found_len),
        expected: join_or(&expected),
        found,
        help,
    }
}

impl MlpError {
    /// Keeps `self` for the known guard messages, else reports an ICE.
    fn with_ice_fallback(self, message: &str) -> MlpError {
        if message.contains("limit") {
            self
        } else {
            MlpError::ice(format!("parser: {message}"))
        }
    }
}

fn is_leaf(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::ident
            | Rule::reference
            | Rule::module_path
            | Rule::template_ref
            | Rule::type_expr
            | Rule::number
            | Rule::unit_number
            | Rule::boolean
            | Rule::string
            | Rule::ml_string
    )
}

/// Where any value may stand, the list of every way to start one is noise:
/// say "a value" instead; where an operand of a condition may stand, name
/// the kinds of operand.
fn collapse_values(expected: &mut Vec<String>) {
    let starts_value = |e: &str| {
        matches!(
            e,
            "`[`" | "`{`" | "a string" | "`true`" | "`false`" | "a name" | "a number" | "`!`"
        ) || e.starts_with("a number with a unit")
    };
    let is_value_context =
        expected.iter().any(|e| e == "`[`") && expected.iter().any(|e| e == "a string");
    if is_value_context {
        let first = expected.iter().position(|e| starts_value(e)).unwrap_or(0);
        expected.retain(|e| !starts_value(e));
        expected.insert(first.min(expected.len()), "a value".to_string());
        return;
    }
    // An operand of a `when` expression: pest names only some of its
    // starts (the atomic `number` and `reference` leave no attempt behind).
    let is_operand_context =
        expected.iter().any(|e| e == "`!`") && expected.iter().any(|e| e == "a string");
    if is_operand_context {
        expected.retain(|e| !starts_value(e) && e != "`(`");
        let operand = [
            "a name",
            "a literal",
            "a call such as `len(x)`",
            "`(`",
            "`!`",
        ];
        expected.splice(0..0, operand.map(String::from));
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// What stands at `pos`, as a user would name it, and its length in bytes.
fn found_at(text: &str, pos: usize) -> (String, usize) {
    let rest = text.get(pos..).unwrap_or_default();
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".to_string(), 0);
    };
    if c == '\n' || rest.starts_with("\r\n") {
        return ("the end of the line".to_string(), 0);
    }
    if c.is_ascii_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .take(40)
            .collect();
        return (format!("`{word}`"), word.len());
    }
    if c == '"' {
        return ("a string".to_string(), 1);
    }
    (format!("`{}`", c.escape_debug()), c.len_utf8())
}

/// `${PATH:-/bin}` in a string: shell syntax inside an interpolation. The
/// fix is the escape that makes `$` literal.
fn shell_syntax_help(text: &str, pos: usize) -> Option<String> {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let open = line_start + text[line_start..pos].rfind("${")?;
    if text[open..pos].contains('}') || text[..open].ends_with('\\') {
        return None;
    }
    let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
    let close = text[pos..line_end].find('}').map(|i| pos + i + 1)?;
    let written = &text[open..close];
    Some(format!(
        "`${{...}}` reads a pipeline value; for shell syntax write `\\{written}` (`\\$` is a literal `$`)"
    ))
}

fn help_for(expected: &[String], found: &str) -> Option<String> {
    let wants = |s: &str| expected.iter().any(|e| e == s);
    let at_end = found == "the end of the line" || found == "the end of the file";
    // `)` with `,`: inside a call's arguments (a parenthesized condition
    // never takes a `,`).
    if wants("`)`") && wants("`,`") {
        let operator = ["`=", "`!", "`<", "`>", "`&", "`|"]
            .iter()
            .any(|op| found.starts_with(op));
        return Some(if operator {
            "a call's arguments are values, not conditions: close the call before the operator, as in `max(fit.metrics.auc) >= 0.9`".to_string()
        } else if found == "the end of the file" {
            "a `(` is not closed; add the missing `)`".to_string()
        } else {
            "separate a call's arguments with `,` and close the call with `)`".to_string()
        });
    }
    if wants("`)`") && at_end {
        return Some("a `(` is not closed; add the missing `)`".to_string());
    }
    if wants("`,`") && !at_end {
        return Some("separate entries with a newline, `,` or `;`".to_string());
    }
    if wants("`}`") && found == "the end of the file" {
        return Some("a `{` is not closed; add the missing `}`".to_string());
    }
    if wants("`]`") && found == "the end of the file" {
        return Some("a `[` is not closed; add the missing `]`".to_string());
    }
    None
}

/// Literal tokens worth naming; layout tokens are implied by the rest.
fn describe_token(token: &str) -> Option<String> {
    match token {
        " " | "\t" | "\r" | "\n" | "\r\n" | "\u{FEFF}" | "#" | "//" | ";" | "\\" | "-" | "."
        | "e" | "_" | "+" => None,
        "\"\"\"" | "BUILTIN_RULE" => None,
        t if t.chars().count() == 4
            && t.chars().nth(1) == Some('.')
            && t.chars().nth(2) == Some('.') =>
        {
            None
        }
        "\"" => Some("a string".to_string()),
        t => Some(format!("`{t}`")),
    }
}

/// Each grammar rule in words a user knows. Exhaustive, with no `_` arm, so
/// every new rule forces a decision about its wording; `None` hides rules
/// that only make sense as part of something else.
pub(crate) fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE | Rule::COMMENT | Rule::line_break | Rule::sep | Rule::ident_char => {
            return None
        }
        Rule::kw_import => "`import`",
        Rule::kw_as => "`as`",
        Rule::kw_pipeline => "`pipeline`",
        Rule::kw_template => "`template`",
        Rule::kw_uses => "`uses`",
        Rule::kw_param => "`param`",
        Rule::kw_input => "`input`",
        Rule::kw_output => "`output`",
        Rule::kw_when => "`when`",
        Rule::file | Rule::item => "`import`, `pipeline` or `template`",
        Rule::import => "an `import` line",
        Rule::module_path => "a module such as `std.terraform`",
        Rule::pipeline => "a `pipeline`",
        Rule::template => "a `template`",
        Rule::body => "`{`",
        Rule::entry => "a field, a stage or a declaration",
        Rule::param_decl => "a `param` declaration",
        Rule::input_decl => "an `input` declaration",
        Rule::output_decl => "an `output` declaration",
        Rule::when_clause => "a `when` condition",
        Rule::stage => "a stage such as `train NAME { ... }`",
        Rule::uses_clause => "`uses TEMPLATE`",
        Rule::template_ref => "a template name such as `terraform.plan`",
        Rule::block_field => "a block such as `resources { ... }`",
        Rule::field => "a field such as `image = \"...\"`",
        Rule::type_expr => "a type such as `string` or `list[int]`",
        Rule::value => "a value",
        Rule::list => "a list `[...]`",
        Rule::map => "a map `{ key = value }`",
        Rule::map_entry => "a map entry `key = value`",
        Rule::call => "a call such as `secret(\"name\", \"key\")`",
        Rule::string | Rule::ml_string => "a string",
        Rule::str_text | Rule::ml_text => "string text",
        Rule::str_escape | Rule::ml_escape => "an escape sequence",
        Rule::interp => "an interpolation `${name}`",
        Rule::number => "a number",
        Rule::unit_number => "a number with a unit such as `64Gi` or `30s`",
        Rule::boolean => "`true` or `false`",
        Rule::reference => "a name",
        Rule::ident => "a name",
        Rule::expr => "an expression",
        Rule::primary => "a value",
        Rule::prefix => "`!`",
        Rule::infix => "an operator such as `==` or `&&`",
        Rule::op_not => "`!`",
        Rule::op_or => "`||`",
        Rule::op_and => "`&&`",
        Rule::op_eq => "`==`",
        Rule::op_ne => "`!=`",
        Rule::op_le => "`<=`",
        Rule::op_ge => "`>=`",
        Rule::op_lt => "`<`",
        Rule::op_gt => "`>`",
    })
}
