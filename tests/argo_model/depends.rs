//! DAG `depends` expressions.
//!
//! - Which tasks an expression names, and how a bare task name is expanded:
//!   `workflow/common/ancestry.go` `GetTaskDependencies` (the `taskNameRegex`
//!   `([a-zA-Z0-9][-a-zA-Z0-9]*?\.[A-Z][a-zA-Z]+)|([a-zA-Z0-9][-a-zA-Z0-9]*)`,
//!   matches replaced from the last to the first) and `expandDependency`
//!   (a bare `t` becomes `(t.Succeeded || t.Skipped || t.Daemoned)`, plus
//!   `t.Errored` / `t.Failed` when `t` has `continueOn.error` / `.failed`).
//!   `Omitted` is *not* part of the expansion.
//! - Evaluation: `workflow/controller/dag.go` `evaluateDependsLogic`: every
//!   dependency must be fulfilled first; `-` becomes `_` in names and in
//!   the expression, which `util/expr/argoexpr` `EvalBool` (expr-lang)
//!   evaluates over a `TaskResults` per dependency (`Succeeded`, `Failed`,
//!   `Errored`, `Skipped`, `Omitted`, `Daemoned`, and for a TaskGroup
//!   `AnySucceeded` / `AllFailed` over its children). An evaluation error
//!   marks the task `Error`; `false` marks it `Omitted` ("omitted: depends
//!   condition not met") - see `simulate`.

use std::collections::{BTreeMap, BTreeSet};

use super::Phase;

/// The fields of `dag.go` `TaskResults` for one dependency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskResults {
    pub succeeded: bool,
    pub failed: bool,
    pub errored: bool,
    pub skipped: bool,
    pub omitted: bool,
    pub daemoned: bool,
    pub any_succeeded: bool,
    pub all_failed: bool,
}

impl TaskResults {
    /// From a node's phase and, for a TaskGroup, its children's phases.
    pub fn of(phase: Phase, children: Option<&[Phase]>) -> TaskResults {
        let (any_succeeded, all_failed) = match children {
            Some(kids) => (
                kids.contains(&Phase::Succeeded),
                !kids.is_empty() && kids.iter().all(|p| *p == Phase::Failed),
            ),
            None => (false, false),
        };
        TaskResults {
            succeeded: phase == Phase::Succeeded,
            failed: phase == Phase::Failed,
            errored: phase == Phase::Error,
            skipped: phase == Phase::Skipped,
            omitted: phase == Phase::Omitted,
            daemoned: false,
            any_succeeded,
            all_failed,
        }
    }

    fn field(&self, name: &str) -> Option<bool> {
        Some(match name {
            "Succeeded" => self.succeeded,
            "Failed" => self.failed,
            "Errored" => self.errored,
            "Skipped" => self.skipped,
            "Omitted" => self.omitted,
            "Daemoned" => self.daemoned,
            "AnySucceeded" => self.any_succeeded,
            "AllFailed" => self.all_failed,
            _ => return None,
        })
    }
}

/// A match of `taskNameRegex`: a task name, and the `.Result` after it if any.
#[derive(Debug, PartialEq)]
struct NameMatch {
    start: usize,
    end: usize,
    name: String,
    result: Option<String>,
}

fn name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// `taskNameRegex.FindAllStringSubmatchIndex`: leftmost, non-overlapping.
/// The lazy name of the first alternative can only stop at a `.`, which is
/// not a name character, so it is the whole name run.
fn name_matches(s: &str) -> Vec<NameMatch> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let mut k = i + 1;
        while k < b.len() && name_char(b[k]) {
            k += 1;
        }
        let name = s[i..k].to_string();
        // `\.[A-Z][a-zA-Z]+`
        if b.get(k) == Some(&b'.')
            && b.get(k + 1).is_some_and(u8::is_ascii_uppercase)
            && b.get(k + 2).is_some_and(u8::is_ascii_alphabetic)
        {
            let mut e = k + 2;
            while e < b.len() && b[e].is_ascii_alphabetic() {
                e += 1;
            }
            out.push(NameMatch {
                start: i,
                end: e,
                name,
                result: Some(s[k + 1..e].to_string()),
            });
            i = e;
        } else {
            out.push(NameMatch {
                start: i,
                end: k,
                name,
                result: None,
            });
            i = k;
        }
    }
    out
}

/// The task names a `depends` expression refers to (`GetTaskDependencies`'s
/// first result).
pub fn dependencies(depends: &str) -> BTreeSet<String> {
    name_matches(depends).into_iter().map(|m| m.name).collect()
}

/// `continueOn` of a task: (error, failed).
pub type ContinueOn = (bool, bool);

/// `expandDependency`.
pub fn expand_dependency(name: &str, continue_on: ContinueOn) -> String {
    let mut terms = vec![
        format!("{name}.Succeeded"),
        format!("{name}.Skipped"),
        format!("{name}.Daemoned"),
    ];
    if continue_on.0 {
        terms.push(format!("{name}.Errored"));
    }
    if continue_on.1 {
        terms.push(format!("{name}.Failed"));
    }
    format!("({})", terms.join(" || "))
}

/// `GetTaskDependencies`' second result: bare names expanded, last first.
pub fn expand(depends: &str, continue_on: &dyn Fn(&str) -> ContinueOn) -> String {
    let mut out = depends.to_string();
    let mut bare: Vec<NameMatch> = name_matches(depends)
        .into_iter()
        .filter(|m| m.result.is_none())
        .collect();
    bare.sort_by_key(|m| std::cmp::Reverse(m.start));
    for m in bare {
        out.replace_range(
            m.start..m.end,
            &expand_dependency(&m.name, continue_on(&m.name)),
        );
    }
    out
}

/// The expr-lang subset the expanded logic uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Term { task: String, result: String },
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

struct Parser<'s> {
    toks: Vec<&'s str>,
    pos: usize,
}

fn tokenize(s: &str) -> Result<Vec<&str>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'(' || c == b')' || c == b'.' {
            out.push(&s[i..i + 1]);
            i += 1;
        } else if s[i..].starts_with("&&") || s[i..].starts_with("||") {
            out.push(&s[i..i + 2]);
            i += 2;
        } else if c == b'!' {
            out.push("!");
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' {
            let st = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(&s[st..i]);
        } else {
            return Err(format!("unexpected token {:?}", c as char));
        }
    }
    Ok(out)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).copied()
    }
    fn eat(&mut self, t: &str) -> bool {
        if self.peek() == Some(t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat("||") || self.eat("or") {
            l = Expr::Or(Box::new(l), Box::new(self.and()?));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.unary()?;
        while self.eat("&&") || self.eat("and") {
            l = Expr::And(Box::new(l), Box::new(self.unary()?));
        }
        Ok(l)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("!") || self.eat("not") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let e = self.or()?;
            if !self.eat(")") {
                return Err("unexpected token: expected )".into());
            }
            return Ok(e);
        }
        let task = self
            .peek()
            .ok_or("unexpected end of expression")?
            .to_string();
        self.pos += 1;
        if !self.eat(".") {
            // A struct value is not a bool (EvalBool fails to cast it).
            return Err(format!("unable to cast expression result '{task}' to bool"));
        }
        let result = self
            .peek()
            .ok_or("unexpected end of expression")?
            .to_string();
        self.pos += 1;
        Ok(Expr::Term { task, result })
    }
}

/// Parses expanded logic in which `-` has already become `_`.
pub fn parse(logic: &str) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokenize(logic)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

/// `evaluateDependsLogic` once every dependency is fulfilled: `Ok(true)`
/// runs the task, `Ok(false)` omits it, `Err` errors it.
pub fn evaluate(
    depends: &str,
    continue_on: &dyn Fn(&str) -> ContinueOn,
    results: &BTreeMap<String, TaskResults>,
) -> Result<bool, String> {
    let logic = expand(depends, continue_on).replace('-', "_");
    let scope: BTreeMap<String, TaskResults> = results
        .iter()
        .map(|(k, v)| (k.replace('-', "_"), *v))
        .collect();
    let expr =
        parse(&logic).map_err(|e| format!("unable to evaluate expression '{logic}': {e}"))?;
    eval(&expr, &scope).map_err(|e| format!("unable to evaluate expression '{logic}': {e}"))
}

fn eval(e: &Expr, scope: &BTreeMap<String, TaskResults>) -> Result<bool, String> {
    Ok(match e {
        Expr::Term { task, result } => {
            let r = scope
                .get(task)
                .ok_or_else(|| format!("unknown name {task}"))?;
            r.field(result)
                .ok_or_else(|| format!("type TaskResults has no field {result}"))?
        }
        Expr::Not(x) => !eval(x, scope)?,
        Expr::And(a, b) => eval(a, scope)? && eval(b, scope)?,
        Expr::Or(a, b) => eval(a, scope)? || eval(b, scope)?,
    })
}
