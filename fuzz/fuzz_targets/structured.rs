#![no_main]
//! Structure-aware: well-formed programs from `arbitrary`, so that the
//! fuzzer gets past the parser into the checker and the lowering. Names
//! come from small tables, so references often resolve (and sometimes
//! form cycles, or point at the wrong kind of stage).
//!
//! Contract v2 (LANGUAGE.md §9): members may be groups, nested up to a few
//! levels past the limit of 8, with `for_each`/`parallelism`/`when`/`after`
//! and `uses` of a group template; a pipeline may end in `finally { ... }`;
//! conditions call `len max min sum` (and now and then an unknown function
//! or `config_map`); the new keywords `group finally volume sidecar` turn up
//! as names and kinds, where the checker must say what is wrong.

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
/// Rare kinds: the v2 keywords that are not stage kinds.
const ODD_KINDS: &[&str] = &["volume", "sidecar", "group", "finally"];
const FUNCTIONS: &[&str] = &["len", "max", "min", "sum", "len", "max", "config_map", "secret", "avg"];
/// Groups nest at most 8 deep (§9.1); one more level is generated now and then.
const MAX_GROUP_DEPTH: usize = 9;

#[derive(Arbitrary, Debug)]
struct Program {
    params: Vec<(u8, u8, Option<Lit>)>,
    mlflow: Option<bool>,
    defaults: Vec<Field>,
    template: Option<(u8, Vec<Field>, Vec<(u8, u8)>)>,
    group_template: Option<GroupTemplate>,
    stages: Vec<Member>,
    finally: Option<Vec<Member>>,
    schedule: Option<u8>,
}

/// `template group g { input ...; output NAME: TYPE = MEMBER.OUT; members }`
#[derive(Arbitrary, Debug)]
struct GroupTemplate {
    inputs: Vec<(u8, u8, Option<Lit>)>,
    /// (name, type, member stage, member output)
    outputs: Vec<(u8, u8, u8, u8)>,
    members: Vec<Member>,
}

#[derive(Arbitrary, Debug)]
enum Member {
    Stage(Stage),
    Group(Group),
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

/// `group NAME [uses g] { for_each parallelism when after inputs members }`
#[derive(Arbitrary, Debug)]
struct Group {
    name: u8,
    uses: bool,
    for_each: Option<Field>,
    parallelism: Option<u8>,
    when: Option<Cond>,
    after: Vec<u8>,
    /// Template inputs, when the group `uses` one.
    inputs: Vec<(u8, Val)>,
    members: Vec<Member>,
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
    /// `GROUP.item`: an enclosing group's item, or an error elsewhere.
    GroupItem(u8),
    /// A group template's declared output, `g0.auc`.
    GroupOutput(u8, u8),
    /// `run.status` / `run.failures`: only in `finally`.
    RunExit(bool),
}

#[derive(Arbitrary, Debug)]
enum Cond {
    Val(Val),
    Not(Box<Cond>),
    Cmp(u8, Val, Val),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    /// `max(fit.metrics.auc) >= 0.9`: a built-in function compared.
    CallCmp(u8, Vec<Val>, u8, Val),
    /// A call on its own, or under `!`: `!len(x)`.
    Call(u8, Vec<Val>),
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
    match i % 32 {
        30 => ODD_KINDS[(i / 32) as usize % ODD_KINDS.len()].into(),
        31 => "volume".into(),
        _ => format!("s{}", i % 6),
    }
}

fn group_name(i: u8) -> String {
    match i % 32 {
        31 => "sidecar".into(),
        _ => format!("g{}", i % 4),
    }
}

fn kind(k: u8) -> &'static str {
    match k % 64 {
        62 | 63 => ODD_KINDS[k as usize % ODD_KINDS.len()],
        _ => KINDS[k as usize % KINDS.len()],
    }
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
        Val::GroupItem(g) => format!("{}.item", group_name(*g)),
        Val::GroupOutput(g, o) => format!("{}.{}", group_name(*g), ["auc", "model", "o0", "item"][*o as usize % 4]),
        Val::RunExit(failures) => if *failures { "run.failures" } else { "run.status" }.into(),
    }
}

fn call(f: u8, args: &[Val]) -> String {
    let args = args.iter().take(3).map(|v| val(v, 0)).collect::<Vec<_>>().join(", ");
    format!("{}({args})", FUNCTIONS[f as usize % FUNCTIONS.len()])
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
        Cond::Or(a, b) => format!("{} || {}", cond(a, depth + 1), cond(b, depth + 1)),
        Cond::CallCmp(f, args, op, b) => {
            format!("{} {} {}", call(*f, args), [">=", ">", "<", "<=", "==", "!="][*op as usize % 6], val(b, 0))
        }
        Cond::Call(f, args) if f % 2 == 0 => call(*f / 2, args),
        Cond::Call(f, args) => format!("!{}", call(*f / 2, args)),
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
    if let Some(g) = &p.group_template {
        group_template(&mut out, g, Templates { stage: p.template.is_some(), group: true });
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
    let templates = Templates { stage: p.template.is_some(), group: p.group_template.is_some() };
    let mut budget = 24;
    for m in p.stages.iter().take(8) {
        member(&mut out, m, 1, templates, &mut budget);
    }
    if let Some(members) = &p.finally {
        out.push_str("  finally {\n");
        for m in members.iter().take(4) {
            member(&mut out, m, 2, templates, &mut budget);
        }
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// Which templates the program declares, so that `uses` mostly resolves.
#[derive(Clone, Copy)]
struct Templates {
    stage: bool,
    group: bool,
}

fn group_template(out: &mut String, g: &GroupTemplate, templates: Templates) {
    out.push_str("template group g {\n");
    for (name, ty, default) in g.inputs.iter().take(3) {
        let d = default.as_ref().map(|l| format!(" = {}", lit(l))).unwrap_or_default();
        out.push_str(&format!("  input i{}: {}{}\n", name % 3, TYPES[*ty as usize % TYPES.len()], d));
    }
    for (name, ty, stage, output) in g.outputs.iter().take(3) {
        out.push_str(&format!(
            "  output {}: {} = {}.{}\n",
            ["auc", "model", "o0"][*name as usize % 3],
            TYPES[*ty as usize % TYPES.len()],
            stage_name(*stage),
            ["o0", "o1", "model", "run_id"][*output as usize % 4]
        ));
    }
    let mut budget = 12;
    // A group template does not use itself.
    let inner = Templates { group: false, ..templates };
    for m in g.members.iter().take(6) {
        member(out, m, 1, inner, &mut budget);
    }
    out.push_str("}\n");
}

/// One stage or group at `depth` (1 = directly in the pipeline); `budget`
/// bounds the members of the whole program.
fn member(out: &mut String, m: &Member, depth: usize, templates: Templates, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    let pad = "  ".repeat(depth);
    match m {
        Member::Stage(s) => {
            let uses = if s.uses && templates.stage { " uses t" } else { "" };
            out.push_str(&format!("{pad}{} {}{} {{\n", kind(s.kind), stage_name(s.name), uses));
            for f in s.fields.iter().take(8) {
                out.push_str(&format!("{pad}  {}\n", field(f)));
            }
            for (name, ty) in s.outputs.iter().take(2) {
                out.push_str(&format!("{pad}  output o{}: {} = \"/tmp/outputs/o{}\"\n", name % 2, TYPES[*ty as usize % TYPES.len()], name % 2));
            }
            if let Some(c) = &s.when {
                out.push_str(&format!("{pad}  when {}\n", cond(c, 0)));
            }
            if !s.after.is_empty() {
                out.push_str(&format!("{pad}  after = [{}]\n", s.after.iter().take(3).map(|a| stage_name(*a)).collect::<Vec<_>>().join(", ")));
            }
        }
        Member::Group(g) => {
            let uses = if g.uses && templates.group { " uses g" } else { "" };
            out.push_str(&format!("{pad}group {}{} {{\n", group_name(g.name), uses));
            if let Some(f @ Field::ForEach(..)) = &g.for_each {
                out.push_str(&format!("{pad}  {}\n", field(f)));
            }
            if let Some(n) = g.parallelism {
                out.push_str(&format!("{pad}  parallelism = {}\n", n % 5));
            }
            if let Some(c) = &g.when {
                out.push_str(&format!("{pad}  when {}\n", cond(c, 0)));
            }
            if !g.after.is_empty() {
                out.push_str(&format!("{pad}  after = [{}]\n", g.after.iter().take(3).map(|a| stage_name(*a)).collect::<Vec<_>>().join(", ")));
            }
            if !uses.is_empty() {
                for (name, v) in g.inputs.iter().take(3) {
                    out.push_str(&format!("{pad}  i{} = {}\n", name % 3, val(v, 0)));
                }
            } else if depth <= MAX_GROUP_DEPTH {
                for m in g.members.iter().take(4) {
                    member(out, m, depth + 1, templates, budget);
                }
            }
        }
    }
    out.push_str(&format!("{pad}}}\n"));
}

fuzz_target!(|p: Program| {
    let text = render(&p);
    // MLPC_FUZZ_PRINT=1: show the generated programs.
    if std::env::var_os("MLPC_FUZZ_PRINT").is_some() {
        eprintln!("mlpc-fuzz: program\n{text}");
    }
    common::check_output(text.as_bytes());
});
