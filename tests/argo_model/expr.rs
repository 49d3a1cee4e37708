//! The part of expr-lang (`github.com/expr-lang/expr`) that Argo's
//! `{{=...}}` expression tags in mlpc's memoization keys use: string
//! literals, names, `.field`, `['key']`, `+` and calls of
//! `sprig.sha256sum` / `toJson`.
//!
//! The environment is built as in `util/expr/env/env.go` `GetFuncMap`:
//! the flat replace map (`inputs.parameters.x`, `workflow.parameters.y`, ...)
//! expanded into nested maps (`util/expand` `Expand`, which first drops a key
//! that is the prefix of another, so the JSON `inputs.parameters` list gives
//! way to the `inputs.parameters.x` entries), plus `sprig` and `toJson`.
//!
//! Rules modelled (expr-lang behaviour as Argo runs it through `expr.Compile`
//! with `expr.Env(env)` and `expr.Run`):
//! - a top-level name missing from the environment is a compile error
//!   (`unknown name`);
//! - `map.key` / `map['key']` of a missing key is `nil`, not an error;
//! - fetching from `nil` or from a string is a run-time error;
//! - `+` concatenates two strings and adds two numbers; anything else (e.g.
//!   `string + nil`) is a run-time error (`invalid operation`);
//! - calling `sha256sum` with a non-string is a run-time error.

use std::collections::BTreeMap;

use super::sha256;

#[derive(Clone, Debug, PartialEq)]
pub enum EValue {
    Nil,
    Str(String),
    Num(f64),
    Bool(bool),
    Map(BTreeMap<String, EValue>),
    Func(&'static str),
}

impl EValue {
    fn type_name(&self) -> &'static str {
        match self {
            EValue::Nil => "<nil>",
            EValue::Str(_) => "string",
            EValue::Num(_) => "float64",
            EValue::Bool(_) => "bool",
            EValue::Map(_) => "map[string]interface {}",
            EValue::Func(_) => "func",
        }
    }
}

/// `GetFuncMap`: expand a flat replace map into the expression environment.
pub fn env(flat: &BTreeMap<String, String>) -> BTreeMap<String, EValue> {
    // expand.Expand / removeConflicts: a key with a longer `key.` sibling goes.
    let keys: Vec<&String> = flat.keys().collect();
    let mut root: BTreeMap<String, EValue> = BTreeMap::new();
    for k in &keys {
        let prefix = format!("{k}.");
        if keys.iter().any(|other| other.starts_with(&prefix)) {
            continue;
        }
        let parts: Vec<&str> = k.split('.').collect();
        let mut node = &mut root;
        for p in &parts[..parts.len() - 1] {
            let entry = node
                .entry(p.to_string())
                .or_insert_with(|| EValue::Map(BTreeMap::new()));
            if !matches!(entry, EValue::Map(_)) {
                *entry = EValue::Map(BTreeMap::new());
            }
            let EValue::Map(m) = entry else {
                unreachable!()
            };
            node = m;
        }
        node.insert(
            parts[parts.len() - 1].to_string(),
            EValue::Str(flat[*k].clone()),
        );
    }
    let mut sprig = BTreeMap::new();
    sprig.insert("sha256sum".to_string(), EValue::Func("sha256sum"));
    root.insert("sprig".into(), EValue::Map(sprig));
    root.insert("toJson".into(), EValue::Func("toJson"));
    root
}

#[derive(Clone, Debug)]
enum Node {
    Str(String),
    Num(f64),
    Name(String),
    Member(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    Call(Box<Node>, Vec<Node>),
    Add(Box<Node>, Box<Node>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Str(String),
    Num(f64),
    Ident(String),
    Sym(char),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&d) = chars.get(i) else {
                    return Err("literal not terminated".into());
                };
                i += 1;
                if d == c {
                    break;
                }
                if d == '\\' {
                    let e = *chars.get(i).ok_or("literal not terminated")?;
                    i += 1;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    s.push(d);
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit() {
            let st = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[st..i].iter().collect();
            out.push(Tok::Num(
                text.parse().map_err(|_| format!("bad number {text}"))?,
            ));
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            let st = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[st..i].iter().collect()));
        } else if "+.[](),".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            return Err(format!("model: unsupported character {c:?}"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn add(&mut self) -> Result<Node, String> {
        let mut l = self.postfix()?;
        while self.sym('+') {
            l = Node::Add(Box::new(l), Box::new(self.postfix()?));
        }
        Ok(l)
    }
    fn postfix(&mut self) -> Result<Node, String> {
        let mut n = self.primary()?;
        loop {
            if self.sym('.') {
                match self.peek().cloned() {
                    Some(Tok::Ident(f)) => {
                        self.pos += 1;
                        n = Node::Member(Box::new(n), f);
                    }
                    _ => return Err("expected name after .".into()),
                }
            } else if self.sym('[') {
                let idx = self.add()?;
                if !self.sym(']') {
                    return Err("expected ]".into());
                }
                n = Node::Index(Box::new(n), Box::new(idx));
            } else if self.sym('(') {
                let mut args = Vec::new();
                if !self.sym(')') {
                    loop {
                        args.push(self.add()?);
                        if self.sym(')') {
                            break;
                        }
                        if !self.sym(',') {
                            return Err("expected , or )".into());
                        }
                    }
                }
                n = Node::Call(Box::new(n), args);
            } else {
                return Ok(n);
            }
        }
    }
    fn primary(&mut self) -> Result<Node, String> {
        let t = self.peek().cloned().ok_or("unexpected end of expression")?;
        self.pos += 1;
        match t {
            Tok::Str(s) => Ok(Node::Str(s)),
            Tok::Num(v) => Ok(Node::Num(v)),
            Tok::Ident(n) => Ok(Node::Name(n)),
            Tok::Sym('(') => {
                let e = self.add()?;
                if !self.sym(')') {
                    return Err("expected )".into());
                }
                Ok(e)
            }
            other => Err(format!("unexpected token {other:?}")),
        }
    }
}

fn names(n: &Node, out: &mut Vec<String>) {
    match n {
        Node::Name(x) => out.push(x.clone()),
        Node::Member(a, _) => names(a, out),
        Node::Index(a, b) | Node::Add(a, b) => {
            names(a, out);
            names(b, out);
        }
        Node::Call(f, args) => {
            names(f, out);
            args.iter().for_each(|a| names(a, out));
        }
        Node::Str(_) | Node::Num(_) => {}
    }
}

/// `expr.Compile` with `expr.Env(env)`: parse, then every top-level name
/// must be in the environment.
fn compile(src: &str, env: &BTreeMap<String, EValue>) -> Result<Node, String> {
    let mut p = Parser {
        toks: lex(src)?,
        pos: 0,
    };
    let node = p.add()?;
    if p.pos != p.toks.len() {
        return Err(format!("unexpected token {:?}", p.toks[p.pos]));
    }
    let mut ns = Vec::new();
    names(&node, &mut ns);
    if let Some(missing) = ns.iter().find(|n| !env.contains_key(*n)) {
        return Err(format!("unknown name {missing}"));
    }
    Ok(node)
}

fn fetch(from: EValue, key: &str) -> Result<EValue, String> {
    match from {
        EValue::Map(m) => Ok(m.get(key).cloned().unwrap_or(EValue::Nil)),
        other => Err(format!("cannot fetch {key} from {}", other.type_name())),
    }
}

fn run(n: &Node, env: &BTreeMap<String, EValue>) -> Result<EValue, String> {
    match n {
        Node::Str(s) => Ok(EValue::Str(s.clone())),
        Node::Num(v) => Ok(EValue::Num(*v)),
        Node::Name(x) => Ok(env.get(x).cloned().unwrap_or(EValue::Nil)),
        Node::Member(a, f) => fetch(run(a, env)?, f),
        Node::Index(a, i) => {
            let base = run(a, env)?;
            match run(i, env)? {
                EValue::Str(k) => fetch(base, &k),
                other => Err(format!("model: index by {}", other.type_name())),
            }
        }
        Node::Add(a, b) => match (run(a, env)?, run(b, env)?) {
            (EValue::Str(x), EValue::Str(y)) => Ok(EValue::Str(x + &y)),
            (EValue::Num(x), EValue::Num(y)) => Ok(EValue::Num(x + y)),
            (x, y) => Err(format!(
                "invalid operation: {} + {}",
                x.type_name(),
                y.type_name()
            )),
        },
        Node::Call(f, args) => {
            let func = run(f, env)?;
            let args: Vec<EValue> = args.iter().map(|a| run(a, env)).collect::<Result<_, _>>()?;
            match (func, args.as_slice()) {
                (EValue::Func("sha256sum"), [EValue::Str(s)]) => {
                    Ok(EValue::Str(sha256::hex(s.as_bytes())))
                }
                (EValue::Func("sha256sum"), [other]) => Err(format!(
                    "reflect: Call using {} as type string",
                    other.type_name()
                )),
                (EValue::Func("toJson"), [v]) => Ok(EValue::Str(to_json(v))),
                (EValue::Func(name), _) => Err(format!("model: call of {name} not modelled")),
                (other, _) => Err(format!("{} is not callable", other.type_name())),
            }
        }
    }
}

fn to_json(v: &EValue) -> String {
    match v {
        EValue::Nil => "null".into(),
        EValue::Str(s) => serde_json::Value::String(s.clone()).to_string(),
        EValue::Num(n) => serde_json::json!(n).to_string(),
        EValue::Bool(b) => b.to_string(),
        EValue::Map(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", serde_json::Value::String(k.clone()), to_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        EValue::Func(_) => "null".into(),
    }
}

/// Compile and run; `Err` is a compile or run-time error.
pub fn eval(src: &str, env: &BTreeMap<String, EValue>) -> Result<EValue, String> {
    let node = compile(src, env)?;
    run(&node, env)
}
