//! Knetic/govaluate as Argo's `when` uses it (Argo pins
//! `github.com/Knetic/govaluate v3.0.1-0.20171022003610-9aa49832a739` in
//! `go.mod`), and Argo's wrapper around it.
//!
//! Written from the upstream source, not copied:
//! - lexing: `parsing.go` `parseTokens` / `readToken` / `readUntilFalse` /
//!   `isNumeric` / `isNotQuote` / `isNotAlphanumeric` / `isVariableName` /
//!   `tryParseTime`, and `checkBalance`;
//! - the syntax check: `lexerState.go` `validLexerStates` /
//!   `checkExpressionSyntax`;
//! - planning: `stagePlanner.go` `planPrecedenceLevel` / `planValue` /
//!   `planPrefix` / `findTypeChecks` (and `reorderStages`, which turns the
//!   planner's right-leaning chains into left-associative ones: modelled
//!   directly as left-associative parsing);
//! - evaluation: `EvaluableExpression.go` `evaluateStage` (short circuits,
//!   then type checks) and `evaluationStage.go` (`comparatorTypeCheck`,
//!   `equalStage` = `reflect.DeepEqual`, `gteStage`, ...);
//! - Argo: `workflow/controller/steps.go` `shouldExecute`, which parses the
//!   substituted text, turns every VARIABLE token into a STRING token (so
//!   bare words are strings), re-plans with `NewEvaluableExpressionFromTokens`,
//!   evaluates with no parameters and requires a bool.
//!
//! Not modelled (never emitted by mlpc): regex operators (`=~`, `!~`),
//! bitwise operators, ternaries, `in`, functions, accessor method calls,
//! `0x` literals, and time formats other than the ISO dates listed in
//! [`parse_time`].

use std::fmt;

/// A token of `parsing.go` `readToken` (`TokenKind.go`).
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Numeric(f64),
    Boolean(bool),
    Str(String),
    /// A quoted string that `tryParseTime` accepted: Unix seconds.
    Time(f64),
    Variable(String),
    /// A variable with a `.` (`a.B`): `readToken` makes it an ACCESSOR.
    Accessor(Vec<String>),
    Clause,
    ClauseClose,
    Prefix(String),
    Modifier(String),
    Comparator(String),
    Logical(String),
    Ternary(String),
    Separator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Unknown,
    Numeric,
    Boolean,
    Str,
    Time,
    Variable,
    Accessor,
    Clause,
    ClauseClose,
    Prefix,
    Modifier,
    Comparator,
    Logical,
    Ternary,
    Separator,
}

impl Token {
    fn kind(&self) -> Kind {
        match self {
            Token::Numeric(_) => Kind::Numeric,
            Token::Boolean(_) => Kind::Boolean,
            Token::Str(_) => Kind::Str,
            Token::Time(_) => Kind::Time,
            Token::Variable(_) => Kind::Variable,
            Token::Accessor(_) => Kind::Accessor,
            Token::Clause => Kind::Clause,
            Token::ClauseClose => Kind::ClauseClose,
            Token::Prefix(_) => Kind::Prefix,
            Token::Modifier(_) => Kind::Modifier,
            Token::Comparator(_) => Kind::Comparator,
            Token::Logical(_) => Kind::Logical,
            Token::Ternary(_) => Kind::Ternary,
            Token::Separator => Kind::Separator,
        }
    }
}

/// `lexerState.go` `validLexerStates`: the kinds that may follow each kind,
/// and whether an expression may end on it (`isEOF`).
fn next_kinds(kind: Kind) -> (&'static [Kind], bool) {
    use Kind::*;
    const VALUES: &[Kind] = &[
        Modifier,
        Comparator,
        Logical,
        ClauseClose,
        Ternary,
        Separator,
    ];
    match kind {
        Unknown => (
            &[
                Prefix, Numeric, Boolean, Variable, Accessor, Str, Time, Clause,
            ],
            false,
        ),
        Clause => (
            &[
                Prefix,
                Numeric,
                Boolean,
                Variable,
                Accessor,
                Str,
                Time,
                Clause,
                ClauseClose,
            ],
            false,
        ),
        ClauseClose => (
            &[
                Comparator,
                Modifier,
                Numeric,
                Boolean,
                Variable,
                Str,
                Time,
                Clause,
                ClauseClose,
                Logical,
                Ternary,
                Separator,
            ],
            true,
        ),
        Numeric | Boolean | Str | Variable => (VALUES, true),
        Time => (
            &[Modifier, Comparator, Logical, ClauseClose, Separator],
            true,
        ),
        Accessor => (
            &[
                Clause,
                Modifier,
                Comparator,
                Logical,
                ClauseClose,
                Ternary,
                Separator,
            ],
            true,
        ),
        Modifier => (
            &[
                Prefix,
                Numeric,
                Variable,
                Accessor,
                Str,
                Boolean,
                Clause,
                ClauseClose,
            ],
            false,
        ),
        Comparator | Logical => (
            &[
                Prefix,
                Numeric,
                Boolean,
                Variable,
                Accessor,
                Str,
                Time,
                Clause,
                ClauseClose,
            ],
            false,
        ),
        Prefix => (
            &[Numeric, Boolean, Variable, Accessor, Clause, ClauseClose],
            false,
        ),
        Ternary => (
            &[
                Prefix, Numeric, Boolean, Str, Time, Variable, Accessor, Clause, Separator,
            ],
            false,
        ),
        Separator => (
            &[
                Prefix, Numeric, Boolean, Str, Time, Variable, Accessor, Clause,
            ],
            false,
        ),
    }
}

const PREFIX_SYMBOLS: &[&str] = &["-", "!", "~"];
const MODIFIER_SYMBOLS: &[&str] = &["+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"];
const LOGICAL_SYMBOLS: &[&str] = &["&&", "||"];
const COMPARATOR_SYMBOLS: &[&str] = &["==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"];
const TERNARY_SYMBOLS: &[&str] = &["?", ":", "??"];

/// `isNumeric`: a digit or `.`.
fn is_numeric(c: char) -> bool {
    c.is_ascii_digit() || c == '.'
}

/// `isNotQuote`: both `'` and `"` end a string, whichever opened it.
fn is_not_quote(c: char) -> bool {
    c != '\'' && c != '"'
}

/// `isNotAlphanumeric`: what a symbol run is made of.
fn is_not_alphanumeric(c: char) -> bool {
    !(c.is_alphanumeric() || c == '(' || c == ')' || c == '[' || c == ']' || !is_not_quote(c))
}

/// `isVariableName` (the version with accessors: `.` belongs to the name).
fn is_variable_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

struct Stream {
    chars: Vec<char>,
    pos: usize,
}

impl Stream {
    fn can_read(&self) -> bool {
        self.pos < self.chars.len()
    }
    fn read(&mut self) -> char {
        let c = self.chars[self.pos];
        self.pos += 1;
        c
    }

    /// `readUntilFalse`: backslash escapes any character; whitespace ends a
    /// non-empty run when `break_ws`, and is dropped unless `include_ws`.
    /// Returns the text and whether the condition (or whitespace) ended it
    /// before the input did.
    fn read_until_false(
        &mut self,
        include_ws: bool,
        break_ws: bool,
        cond: fn(char) -> bool,
    ) -> (String, bool) {
        let mut out = String::new();
        while self.can_read() {
            let mut c = self.read();
            if c == '\\' {
                if !self.can_read() {
                    break;
                }
                c = self.read();
                out.push(c);
                continue;
            }
            if c.is_whitespace() {
                if break_ws && !out.is_empty() {
                    return (out, true);
                }
                if !include_ws {
                    continue;
                }
            }
            if cond(c) {
                out.push(c);
            } else {
                self.pos -= 1;
                return (out, true);
            }
        }
        (out, false)
    }

    /// `readTokenUntilFalse`: re-reads the first character too.
    fn read_token_until_false(&mut self, cond: fn(char) -> bool) -> String {
        self.pos -= 1;
        self.read_until_false(false, true, cond).0
    }
}

/// `parseTokens` + `checkBalance`: the token list, or the lexing error.
pub fn lex(expression: &str) -> Result<Vec<Token>, String> {
    let mut stream = Stream {
        chars: expression.chars().collect(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    let mut state = Kind::Unknown;
    while stream.can_read() {
        match read_token(&mut stream, state)? {
            Some(token) => {
                state = token.kind();
                tokens.push(token);
            }
            None => break,
        }
    }
    check_balance(&tokens)?;
    Ok(tokens)
}

fn read_token(stream: &mut Stream, state: Kind) -> Result<Option<Token>, String> {
    while stream.can_read() {
        let c = stream.read();
        if c.is_whitespace() {
            continue;
        }
        if is_numeric(c) {
            let text = stream.read_token_until_false(is_numeric);
            return go_parse_float(&text)
                .map(|v| Some(Token::Numeric(v)))
                .ok_or_else(|| format!("Unable to parse numeric value '{text}' to float64\n"));
        }
        if c == ',' {
            return Ok(Some(Token::Separator));
        }
        if c == '[' {
            let (text, done) = stream.read_until_false(true, false, |c| c != ']');
            if !done {
                return Err("Unclosed parameter bracket".into());
            }
            stream.pos += 1;
            return Ok(Some(Token::Variable(text)));
        }
        if c.is_alphabetic() {
            let text = stream.read_token_until_false(is_variable_name);
            return Ok(Some(match text.as_str() {
                "true" => Token::Boolean(true),
                "false" => Token::Boolean(false),
                "in" | "IN" => Token::Comparator("in".into()),
                _ if text.find('.').is_some_and(|i| i > 0) => {
                    if text.ends_with('.') {
                        return Err(format!("Hanging accessor on token '{text}'"));
                    }
                    let parts: Vec<String> = text.split('.').map(String::from).collect();
                    for part in &parts[1..] {
                        if part.chars().next().is_some_and(|c| !c.is_uppercase()) {
                            return Err(format!(
                                "Unable to access unexported field '{part}' in token '{text}'"
                            ));
                        }
                    }
                    Token::Accessor(parts)
                }
                _ => Token::Variable(text),
            }));
        }
        if !is_not_quote(c) {
            let (text, done) = stream.read_until_false(true, false, is_not_quote);
            if !done {
                return Err("Unclosed string literal".into());
            }
            stream.pos += 1;
            return Ok(Some(match parse_time(&text) {
                Some(secs) => Token::Time(secs),
                None => Token::Str(text),
            }));
        }
        if c == '(' {
            return Ok(Some(Token::Clause));
        }
        if c == ')' {
            return Ok(Some(Token::ClauseClose));
        }
        let symbol = stream.read_token_until_false(is_not_alphanumeric);
        let s = symbol.as_str();
        if next_kinds(state).0.contains(&Kind::Prefix) && PREFIX_SYMBOLS.contains(&s) {
            return Ok(Some(Token::Prefix(symbol)));
        }
        if MODIFIER_SYMBOLS.contains(&s) {
            return Ok(Some(Token::Modifier(symbol)));
        }
        if LOGICAL_SYMBOLS.contains(&s) {
            return Ok(Some(Token::Logical(symbol)));
        }
        if COMPARATOR_SYMBOLS.contains(&s) {
            return Ok(Some(Token::Comparator(symbol)));
        }
        if TERNARY_SYMBOLS.contains(&s) {
            return Ok(Some(Token::Ternary(symbol)));
        }
        return Err(format!("Invalid token: '{symbol}'"));
    }
    Ok(None)
}

/// Go's `strconv.ParseFloat(s, 64)` on a run of digits and dots: one
/// optional dot, at least one digit.
fn go_parse_float(text: &str) -> Option<f64> {
    let dots = text.matches('.').count();
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if dots > 1 || digits == 0 {
        return None;
    }
    text.parse::<f64>().ok()
}

/// `tryParseTime` for the ISO layouts of its list (`2006-01-02`,
/// `2006-01-02 15:04`, `2006-01-02 15:04:05`, `2006-01-02T15:04:05Z`):
/// Unix seconds (UTC standing in for the controller's `time.Local`).
pub fn parse_time(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d < 1 || d > days_in[(m - 1) as usize] {
        return None;
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    match &text[10..] {
        "" => {}
        rest if rest.len() == 6 && rest.starts_with(' ') && rest.as_bytes()[3] == b':' => {
            hh = num(11..13)?;
            mm = num(14..16)?;
        }
        rest if rest.len() == 9
            && rest.starts_with(' ')
            && rest.as_bytes()[3] == b':'
            && rest.as_bytes()[6] == b':' =>
        {
            hh = num(11..13)?;
            mm = num(14..16)?;
            ss = num(17..19)?;
        }
        rest if rest.len() == 10
            && rest.starts_with('T')
            && rest.ends_with('Z')
            && rest.as_bytes()[3] == b':'
            && rest.as_bytes()[6] == b':' =>
        {
            hh = num(11..13)?;
            mm = num(14..16)?;
            ss = num(17..19)?;
        }
        _ => return None,
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    // Days from the civil date (proleptic Gregorian).
    let (yy, mo) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + hh * 3600 + mm * 60 + ss) as f64)
}

/// `checkBalance`.
fn check_balance(tokens: &[Token]) -> Result<(), String> {
    let mut depth = 0i64;
    for t in tokens {
        match t {
            Token::Clause => depth += 1,
            Token::ClauseClose => depth -= 1,
            _ => {}
        }
    }
    if depth != 0 {
        return Err("Unbalanced parenthesis".into());
    }
    Ok(())
}

/// `checkExpressionSyntax`: each token must be a valid successor of the
/// previous one, and the last must be able to end an expression.
pub fn check_syntax(tokens: &[Token]) -> Result<(), String> {
    let mut state = Kind::Unknown;
    let mut last: Option<&Token> = None;
    for t in tokens {
        let (next, _) = next_kinds(state);
        if !next.contains(&t.kind()) {
            if matches!(last, Some(Token::Variable(_))) && t.kind() == Kind::Clause {
                if let Some(Token::Variable(name)) = last {
                    return Err(format!("Undefined function {name}"));
                }
            }
            return Err(format!(
                "Cannot transition token types from {} [{}] to {} [{}]",
                kind_name(state),
                last.map_or("<nil>".into(), token_text),
                kind_name(t.kind()),
                token_text(t)
            ));
        }
        state = t.kind();
        last = Some(t);
    }
    if !next_kinds(state).1 {
        return Err("Unexpected end of expression".into());
    }
    Ok(())
}

/// `TokenKind.String()`.
fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Unknown => "UNKNOWN",
        Kind::Numeric => "NUMERIC",
        Kind::Boolean => "BOOLEAN",
        Kind::Str => "STRING",
        Kind::Time => "TIME",
        Kind::Variable => "VARIABLE",
        Kind::Accessor => "ACCESSOR",
        Kind::Clause => "CLAUSE",
        Kind::ClauseClose => "CLAUSE_CLOSE",
        Kind::Prefix => "PREFIX",
        Kind::Modifier => "MODIFIER",
        Kind::Comparator => "COMPARATOR",
        Kind::Logical => "LOGICALOP",
        Kind::Ternary => "TERNARY",
        Kind::Separator => "SEPARATOR",
    }
}

fn token_text(t: &Token) -> String {
    match t {
        Token::Numeric(v) | Token::Time(v) => go_float(*v),
        Token::Boolean(b) => b.to_string(),
        Token::Str(s) | Token::Variable(s) => s.clone(),
        Token::Accessor(p) => format!("[{}]", p.join(" ")),
        Token::Clause => "40".into(),
        Token::ClauseClose => "41".into(),
        Token::Prefix(s)
        | Token::Modifier(s)
        | Token::Comparator(s)
        | Token::Logical(s)
        | Token::Ternary(s) => s.clone(),
        Token::Separator => ",".into(),
    }
}

/// A govaluate value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Str(String),
    Bool(bool),
}

impl fmt::Display for Value {
    /// Go's `%v`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Num(v) => f.write_str(&go_float(*v)),
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(v, 'g', -1, 64)` with
/// `fmt`'s two-digit exponent): `1e-05`, `0.85`, `1e+06`.
pub fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("exponent");
    let exp: i32 = exp.parse().expect("exponent digits");
    // strconv's shortest 'g': %e when the exponent is < -4 or >= 6.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{v}")
}

/// An evaluation plan node (`evaluationStage`).
#[derive(Clone, Debug)]
enum Stage {
    Lit(Value),
    /// A VARIABLE that was not turned into a string: looked up in the
    /// (empty) parameters, which fails.
    Param(String),
    Accessor(Vec<String>),
    Binary(String, Box<Stage>, Box<Stage>),
    Prefix(String, Box<Stage>),
}

struct Planner<'t> {
    tokens: &'t [Token],
    pos: usize,
}

impl Planner<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    /// `planPrecedenceLevel`, one level per group of operators, from the
    /// loosest (`||`) to the tightest (`**`); left-associative as after
    /// `reorderStages`.
    fn level(&mut self, level: usize) -> Result<Stage, String> {
        const LEVELS: &[&[&str]] = &[
            &["||"],
            &["&&"],
            &["==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"],
            &["&", "|", "^"],
            &[">>", "<<"],
            &["+", "-"],
            &["*", "/", "%"],
            &["**"],
        ];
        if level == LEVELS.len() {
            return self.value();
        }
        let mut left = self.level(level + 1)?;
        loop {
            let op = match self.peek() {
                Some(Token::Logical(s) | Token::Comparator(s) | Token::Modifier(s))
                    if LEVELS[level].contains(&s.as_str()) =>
                {
                    s.clone()
                }
                _ => return Ok(left),
            };
            self.pos += 1;
            let right = self.level(level + 1)?;
            left = Stage::Binary(op, Box::new(left), Box::new(right));
        }
    }

    /// `planValue` (with `planPrefix`, whose operand is the next value only).
    fn value(&mut self) -> Result<Stage, String> {
        let Some(token) = self.peek().cloned() else {
            return Err("Unexpected end of expression".into());
        };
        self.pos += 1;
        match token {
            Token::Clause => {
                let inner = self.level(0)?;
                // The CLAUSE_CLOSE (balance was checked at parse time).
                self.pos += 1;
                Ok(inner)
            }
            Token::Numeric(v) | Token::Time(v) => Ok(Stage::Lit(Value::Num(v))),
            Token::Str(s) => Ok(Stage::Lit(Value::Str(s))),
            Token::Boolean(b) => Ok(Stage::Lit(Value::Bool(b))),
            Token::Variable(name) => Ok(Stage::Param(name)),
            Token::Accessor(parts) => Ok(Stage::Accessor(parts)),
            Token::Prefix(op) => {
                let operand = self.value()?;
                Ok(Stage::Prefix(op, Box::new(operand)))
            }
            other => Err(format!(
                "Unable to plan token kind: '{}', value: '{}'",
                kind_name(other.kind()),
                token_text(&other)
            )),
        }
    }
}

const COMPARATOR_ERROR: &str = "cannot be used with the comparator";

fn eval(stage: &Stage) -> Result<Value, String> {
    match stage {
        Stage::Lit(v) => Ok(v.clone()),
        Stage::Param(name) => Err(format!("No parameter '{name}' found.")),
        Stage::Accessor(parts) => Err(format!("No parameter '{}' found.", parts[0])),
        Stage::Prefix(op, operand) => {
            let v = eval(operand)?;
            match (op.as_str(), &v) {
                ("!", Value::Bool(b)) => Ok(Value::Bool(!b)),
                ("-", Value::Num(n)) => Ok(Value::Num(-n)),
                ("!", _) | ("-", _) | ("~", _) => {
                    Err(format!("Value '{v}' cannot be used with the prefix '{op}'"))
                }
                _ => Err(format!("model: prefix {op} not modelled")),
            }
        }
        Stage::Binary(op, l, r) => {
            let left = eval(l)?;
            // evaluateStage: short circuits before the right side and the type checks.
            match (op.as_str(), &left) {
                ("&&", Value::Bool(false)) => return Ok(Value::Bool(false)),
                ("||", Value::Bool(true)) => return Ok(Value::Bool(true)),
                _ => {}
            }
            let right = eval(r)?;
            binary(op, left, right)
        }
    }
}

fn binary(op: &str, left: Value, right: Value) -> Result<Value, String> {
    use Value::*;
    let logical = |v: &Value| -> Result<bool, String> {
        match v {
            Bool(b) => Ok(*b),
            other => Err(format!(
                "Value '{other}' cannot be used with the logical operator '{op}', it is not a bool"
            )),
        }
    };
    match op {
        "&&" => Ok(Bool(logical(&left)? && logical(&right)?)),
        "||" => Ok(Bool(logical(&left)? || logical(&right)?)),
        // equalStage / notEqualStage: reflect.DeepEqual, no type check.
        "==" => Ok(Bool(left == right)),
        "!=" => Ok(Bool(left != right)),
        ">" | ">=" | "<" | "<=" => {
            let ord = match (&left, &right) {
                (Num(a), Num(b)) => a.partial_cmp(b),
                (Str(a), Str(b)) => Some(a.cmp(b)),
                _ => {
                    return Err(format!(
                        "Value '{left}' {COMPARATOR_ERROR} '{op}', it is not a number"
                    ))
                }
            };
            use std::cmp::Ordering::*;
            Ok(Bool(matches!(
                (op, ord),
                (">", Some(Greater))
                    | (">=", Some(Greater | Equal))
                    | ("<", Some(Less))
                    | ("<=", Some(Less | Equal))
            )))
        }
        "+" => match (&left, &right) {
            (Num(a), Num(b)) => Ok(Num(a + b)),
            (Str(_), _) | (_, Str(_)) => Ok(Str(format!("{left}{right}"))),
            _ => Err(format!(
                "Value '{left}' cannot be used with the modifier '{op}', it is not a number"
            )),
        },
        "-" | "*" | "/" | "%" | "**" => match (&left, &right) {
            (Num(a), Num(b)) => Ok(Num(match op {
                "-" => a - b,
                "*" => a * b,
                "/" => a / b,
                "%" => a % b,
                _ => a.powf(*b),
            })),
            (Num(_), bad) | (bad, _) => Err(format!(
                "Value '{bad}' cannot be used with the modifier '{op}', it is not a number"
            )),
        },
        _ => Err(format!("model: operator {op} not modelled")),
    }
}

/// `NewEvaluableExpression` + `Evaluate(nil)` on the plain tokens
/// (variables stay variables): govaluate used directly.
pub fn evaluate(expression: &str) -> Result<Value, String> {
    let tokens = lex(expression)?;
    check_syntax(&tokens)?;
    evaluate_tokens(&tokens)
}

/// `NewEvaluableExpressionFromTokens` + `Evaluate(nil)`.
pub fn evaluate_tokens(tokens: &[Token]) -> Result<Value, String> {
    check_balance(tokens)?;
    check_syntax(tokens)?;
    if tokens.is_empty() {
        return Err("model: empty expression evaluates to nil".into());
    }
    // planTokens ignores what follows a complete expression (e.g. the
    // second clause of `(a) (b)`, which the syntax check lets through).
    let stage = Planner { tokens, pos: 0 }.level(0)?;
    eval(&stage)
}

/// Argo's `shouldExecute` (`workflow/controller/steps.go`): an empty `when`
/// runs; otherwise parse, turn VARIABLE tokens into STRING tokens,
/// evaluate, and require a bool. `Err` is what makes Argo mark the node
/// `Error` (see `simulate`).
pub fn should_execute(when: &str) -> Result<bool, String> {
    if when.is_empty() {
        return Ok(true);
    }
    let tokens = lex(when)
        .and_then(|t| check_syntax(&t).map(|()| t))
        .map_err(|e| {
            if e.contains("Invalid token") {
                format!("Invalid 'when' expression '{when}': {e} (hint: try wrapping the affected expression in quotes (\"))")
            } else {
                format!("Invalid 'when' expression '{when}': {e}")
            }
        })?;
    let tokens: Vec<Token> = tokens
        .into_iter()
        .map(|t| match t {
            Token::Variable(name) => Token::Str(name),
            other => other,
        })
        .collect();
    match evaluate_tokens(&tokens) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!(
            "Expected boolean evaluation for '{when}'. Got {other}"
        )),
        Err(e) => Err(format!("Failed to evaluate 'when' expresion '{when}': {e}")),
    }
}
