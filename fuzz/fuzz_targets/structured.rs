#![no_main]
//! Structure-aware: well-formed programs from `arbitrary`, so that the
//! fuzzer gets past the parser into the checker and the lowering. Names
//! come from small tables, so references often resolve (and sometimes
//! form cycles, or point at the wrong kind of stage).

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

const STRINGS: &[&str] = &[
    "", "x", "yes", "null", "0755", ": #", "- a", "[", "~", "a\nb", "\t", "'q'", "\"dq\"", "back\\slash", "$(id)",
    "`id`", "a;b", "ünï 🚀", "{", "}", "models:/m/1", "runs:/r/model", "s3://bucket/p", "http://h:5000", "/tmp/out",
];
const TYPES: &[&str] = &["string", "int", "float", "bool", "duration", "quantity", "list[int]", "map", "file", "dataset"];
const KINDS: &[&str] = &["prep", "train", "register", "deploy", "job"];

#[derive(Arbitrary, Debug)]
struct Program {
    params: Vec<(u8, u8, Option<Lit>)>,
    mlflow: Option<bool>,
    defaults: Vec<Field>,
    template: Option<(u8, Vec<Field>, Vec<(u8, u8)>)>,
    stages: Vec<Stage>,
    schedule: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Stage {
    kind: u8,
    name: u8,
    uses: bool,
    fields: Vec<Field>,
    outputs: Vec<(u8, u8)>,
    when: Option<Cond>,
    after: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Lit {
    Str(u8),
    Int(i16),
    Float(i16),
    Bool(bool),
    Unit(u8, u8),
}

#[derive(Arbitrary, Debug)]
enum Val {
    Lit(Lit),
    Param(u8),
    Output(u8, u8),
    Metric(u8, u8),
    Item(Option<u8>),
    Run(u8),
    Interp(u8, Box<Val>),
}

#[derive(Arbitrary, Debug)]
enum Cond {
    Val(Val),
    Not(Box<Cond>),
    Cmp(u8, Val, Val),
    And(Box<Cond>, Box<Cond>),
}

#[derive(Arbitrary, Debug)]
enum Field {
    Image(u8),
    Command(Vec<Val>),
    Args(Vec<Val>),
    Script(Vec<Val>),
    Env(Vec<(u8, Val)>),
    Secret(u8),
    Resources(u8, u8, u8, bool),
    Retries(u8, Option<(u8, u8)>),
    Timeout(u8),
    Cache(Option<u8>),
    ForEach(Vec<Lit>, u8),
    Labels(u8, u8),
    Track(bool),
    Params(Vec<(u8, Val)>),
    Metrics(Vec<u8>),
    Model(Val),
    Name(u8),
    Alias(u8),
    Service(u8),
    Canary(u8),
    Security(bool),
}

use mlpc::syntax::quote_string as quote;

fn lit(l: &Lit) -> String {
    match l {
        Lit::Str(i) => quote(STRINGS[*i as usize % STRINGS.len()]),
        Lit::Int(i) => i.to_string(),
        Lit::Float(f) => format!("{}.5", f),
        Lit::Bool(b) => b.to_string(),
        Lit::Unit(n, u) => format!("{}{}", n % 100, ["m", "Gi", "s", "h", "Mi", "d", "k"][*u as usize % 7]),
    }
}

fn stage_name(i: u8) -> String {
    format!("s{}", i % 6)
}

fn val(v: &Val, depth: u8) -> String {
    match v {
        Val::Lit(l) => lit(l),
        Val::Param(i) => format!("p{}", i % 4),
        Val::Output(s, o) => format!("{}.{}", stage_name(*s), ["o0", "o1", "run_id", "model", "version", "model_uri", "url"][*o as usize % 7]),
        Val::Metric(s, m) => format!("{}.metrics.m{}", stage_name(*s), m % 3),
        Val::Item(None) => "item".into(),
        Val::Item(Some(k)) => format!("item.k{}", k % 2),
        Val::Run(f) => format!("run.{}", ["name", "uid", "namespace", "pod"][*f as usize % 4]),
        Val::Interp(i, inner) if depth < 2 => {
            let inner = val(inner, depth + 1);
            let text = STRINGS[*i as usize % STRINGS.len()].replace(['"', '\\', '\n', '\t', '$', '{', '}'], "_");
            if inner.starts_with('"') || inner.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-') {
                format!("\"{text}\"")
            } else {
                format!("\"{text}${{{inner}}}\"")
            }
        }
        Val::Interp(..) => "\"deep\"".into(),
    }
}

fn cond(c: &Cond, depth: u8) -> String {
    if depth > 3 {
        return "true".into();
    }
    match c {
        Cond::Val(v) => val(v, 0),
        Cond::Not(inner) => format!("!({})", cond(inner, depth + 1)),
        Cond::Cmp(op, a, b) => format!("{} {} {}", val(a, 0), ["==", "!=", "<", ">=", ">"][*op as usize % 5], val(b, 0)),
        Cond::And(a, b) => format!("({}) && ({})", cond(a, depth + 1), cond(b, depth + 1)),
    }
}

fn list(vals: &[Val]) -> String {
    format!("[{}]", vals.iter().take(6).map(|v| val(v, 0)).collect::<Vec<_>>().join(", "))
}

fn field(f: &Field) -> String {
    match f {
        Field::Image(i) => format!("image = \"{}\"", ["busybox:1.37", "trainer:latest", "reg:5000/x:1", "x"][*i as usize % 4]),
        Field::Command(v) => format!("command = {}", list(v)),
        Field::Args(v) => format!("args = {}", list(v)),
        Field::Script(v) => format!(
            "script = \"\"\"\n  echo {}\n  \"\"\"",
            v.iter().take(3).map(|x| match x {
                Val::Param(i) => format!("${{p{}}}", i % 4),
                Val::Run(_) => "${run.name}".into(),
                _ => "plain".into(),
            }).collect::<Vec<_>>().join(" ")
        ),
        Field::Env(v) => format!("env {{ {} }}", v.iter().take(4).map(|(k, x)| format!("E{} = {}", k % 4, val(x, 0))).collect::<Vec<_>>().join(", ")),
        Field::Secret(i) => format!("env {{ TOKEN = secret(\"s{}\", \"k\") }}", i % 2),
        Field::Resources(c, m, g, limits) => format!(
            "resources {{ cpu = {}m, memory = {}Mi, gpu = {}{} }}",
            u32::from(*c % 50) * 10 + 1,
            m % 64 + 1,
            g % 3,
            if *limits { ", limits { cpu = 2, memory = 1Gi }" } else { "" }
        ),
        Field::Retries(n, None) => format!("retries = {}", n % 5),
        Field::Retries(n, Some((b, f))) => format!("retries {{ limit = {}, backoff = {}s, factor = {}, policy = \"OnFailure\" }}", n % 5, b % 60 + 1, f % 3 + 1),
        Field::Timeout(t) => format!("timeout = {}m", t % 90 + 1),
        Field::Cache(None) => "cache = true".into(),
        Field::Cache(Some(h)) => format!("cache = {}h", h % 24 + 1),
        Field::ForEach(items, p) if items.is_empty() => format!("for_each = p{}", p % 4),
        Field::ForEach(items, _) => format!("for_each = [{}]", items.iter().take(4).map(lit).collect::<Vec<_>>().join(", ")),
        Field::Labels(k, v) => format!("labels = {{ l{} = {} }}", k % 3, quote(["a", "b-1", "bad value", ""][*v as usize % 4])),
        Field::Track(b) => format!("track = {b}"),
        Field::Params(v) => format!("params = {{ {} }}", v.iter().take(3).map(|(k, x)| format!("k{} = {}", k % 3, val(x, 0))).collect::<Vec<_>>().join(", ")),
        Field::Metrics(m) => format!("metrics = [{}]", m.iter().take(3).map(|i| format!("\"m{}\"", i % 3)).collect::<Vec<_>>().join(", ")),
        Field::Model(v) => format!("model = {}", val(v, 0)),
        Field::Name(i) => format!("name = {}", quote(["model", "a/b", "fraud \"x\" & co", ""][*i as usize % 4])),
        Field::Alias(i) => format!("alias = \"a{}\"", i % 2),
        Field::Service(i) => format!("service = \"{}\"", ["svc", "Bad Svc", "s-1"][*i as usize % 3]),
        Field::Canary(c) => format!("canary = {}", c % 120),
        Field::Security(r) => format!("security = \"{}\"", if *r { "restricted" } else { "default" }),
    }
}

fn render(p: &Program) -> String {
    let mut out = String::new();
    if let Some((kind, fields, inputs)) = &p.template {
        out.push_str(&format!("template {} t {{\n", KINDS[*kind as usize % KINDS.len()]));
        for (name, ty) in inputs.iter().take(3) {
            out.push_str(&format!("  input i{}: {}\n", name % 3, TYPES[*ty as usize % TYPES.len()]));
        }
        for f in fields.iter().take(6) {
            out.push_str(&format!("  {}\n", field(f)));
        }
        out.push_str("}\n");
    }
    out.push_str("pipeline fuzz {\n");
    for (name, ty, default) in p.params.iter().take(4) {
        let d = default.as_ref().map(|l| format!(" = {}", lit(l))).unwrap_or_default();
        out.push_str(&format!("  param p{}: {}{}\n", name % 4, TYPES[*ty as usize % 8], d));
    }
    if let Some(store) = p.mlflow {
        out.push_str("  mlflow { tracking_uri = \"http://mlflow:5000\", experiment = \"e\"");
        if store {
            out.push_str(", artifact_store = \"s3://a\"");
        }
        out.push_str(" }\n");
    }
    if let Some(s) = p.schedule {
        out.push_str(&format!("  schedule = \"{} 3 * * *\"\n", s % 70));
    }
    if !p.defaults.is_empty() {
        out.push_str(&format!("  defaults {{ {} }}\n", p.defaults.iter().take(3).map(field).collect::<Vec<_>>().join("; ")));
    }
    for s in p.stages.iter().take(8) {
        let uses = if s.uses && p.template.is_some() { " uses t" } else { "" };
        out.push_str(&format!("  {} {}{} {{\n", KINDS[s.kind as usize % KINDS.len()], stage_name(s.name), uses));
        for f in s.fields.iter().take(8) {
            out.push_str(&format!("    {}\n", field(f)));
        }
        for (name, ty) in s.outputs.iter().take(2) {
            out.push_str(&format!("    output o{}: {} = \"/tmp/outputs/o{}\"\n", name % 2, TYPES[*ty as usize % TYPES.len()], name % 2));
        }
        if let Some(c) = &s.when {
            out.push_str(&format!("    when {}\n", cond(c, 0)));
        }
        if !s.after.is_empty() {
            out.push_str(&format!("    after = [{}]\n", s.after.iter().take(3).map(|a| stage_name(*a)).collect::<Vec<_>>().join(", ")));
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

fuzz_target!(|p: Program| {
    common::check_output(render(&p).as_bytes());
});
