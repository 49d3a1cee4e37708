//! The emitted DAGs have exactly the program's shape: the same tree of
//! stages and groups (which DAG holds each: the main run, `finally`, or a
//! group's), the same loops (`for_each`, `parallelism`), the same `when`s,
//! and exactly the program's dependency edges between siblings — every edge
//! of the graph (references and `after`, lifted to the two siblings that
//! hold their ends) and nothing else.
//!
//! The program's side is read from the HIR (the tree from what each DAG
//! holds, the edges from [`Pipeline::graph`], cross-checked against a
//! lifting written here); the YAML's side is read back from the emitted
//! documents alone, by walking from the entrypoint (and `onExit`) through
//! DAG tasks into the DAG templates they call. Generated helper steps
//! (metric gates, deploy's resolve and wait steps) count as part of the
//! stage they serve; a fan-out's own DAG (a loop with `parallelism`, or one
//! whose condition is decided once) is followed to the loop task inside it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use mlpc::sema::hir::{NodeId, Pipeline, Place, Program, Value};
use serde_json::Value as Json;

const HELPER_SUFFIXES: [&str; 4] = ["-metrics", "-report", "-resolve", "-wait"];

/// The MLflow clean-up task at the end of `finally`'s DAG.
const CLEANUP: &str = "mlflow-cleanup";
/// The exit handler's deletion of a run's training jobs: it waits for
/// nothing (stopping a workflow leaves its jobs running).
const TRAINING_CLEANUP: &str = "delete-training-jobs";

/// The DAG that holds a node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Dag {
    Main,
    Finally,
    /// The group's DAG (by the group's task name).
    Group(String),
}

/// What a loop runs over.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Items {
    /// A literal list of this many items (`withItems`).
    List(usize),
    /// A reference (`withParam`).
    Reference,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    is_group: bool,
    dag: Dag,
    items: Option<Items>,
    parallelism: Option<i64>,
    when: bool,
}

/// One pipeline's shape: its nodes by task name, and its sibling edges
/// (waiter, waited for).
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    nodes: BTreeMap<String, Node>,
    edges: BTreeSet<(String, String)>,
}

// ---------------------------------------------------------------------------
// The program's side.

fn program_shapes(rel: &Path) -> Vec<Shape> {
    let analysis = analyze_file(rel);
    let program = analysis
        .program
        .unwrap_or_else(|| panic!("{} has errors", rel.display()));
    program
        .pipelines
        .iter()
        .map(|p| program_shape(&program, p))
        .collect()
}

/// A node's path: the groups holding it, outermost first, and its name (a
/// group template's members are held once per use).
fn name(p: &Pipeline, id: NodeId) -> String {
    let own = match id {
        NodeId::Stage(s) => p.stage(s).dns_name.to_string(),
        NodeId::Group(g) => p.group(g).dns_name.to_string(),
    };
    let mut path: Vec<String> = p
        .enclosing(id)
        .into_iter()
        .map(|g| p.group(g).dns_name.to_string())
        .collect();
    path.reverse();
    path.push(own);
    path.join("/")
}

fn items(for_each: Option<&Value>) -> Option<Items> {
    match for_each? {
        Value::List(items) => Some(Items::List(items.len())),
        Value::Ref(_) => Some(Items::Reference),
        other => panic!("for_each = {other:?}"),
    }
}

fn program_shape(program: &Program, p: &Pipeline) -> Shape {
    let mut shape = Shape::default();
    // The tree, from what each DAG holds; each node's place must agree.
    let mut todo: Vec<(NodeId, Dag, Place)> = Vec::new();
    let top = |finally| Place {
        group: None,
        finally,
    };
    todo.extend(p.main.iter().map(|&n| (n, Dag::Main, top(false))));
    todo.extend(p.finally.iter().map(|&n| (n, Dag::Finally, top(true))));
    while let Some((id, dag, place)) = todo.pop() {
        assert_eq!(p.place(id), place, "{}", p.node_name(id));
        let node = match id {
            NodeId::Stage(s) => {
                let stage = p.stage(s);
                let fields =
                    mlpc::sema::effective::effective_fields(&program.templates, &p.defaults, stage);
                let template = stage.uses.as_ref().map(|u| program.template(u.template));
                let items = items(fields.get("for_each").map(|f| &f.value));
                Node {
                    is_group: false,
                    dag,
                    parallelism: match fields.get("parallelism").map(|f| &f.value) {
                        Some(Value::Int(n)) if items.is_some() => Some(*n),
                        _ => None,
                    },
                    items,
                    when: stage.when.is_some() || template.is_some_and(|t| t.when.is_some()),
                }
            }
            NodeId::Group(g) => {
                let group = p.group(g);
                let inner = Place {
                    group: Some(g),
                    finally: place.finally,
                };
                let dag_name = Dag::Group(name(p, id));
                todo.extend(group.members.iter().map(|&m| (m, dag_name.clone(), inner)));
                let items = items(group.for_each.as_ref().map(|f| &f.value));
                Node {
                    is_group: true,
                    dag,
                    parallelism: group
                        .parallelism
                        .as_ref()
                        .map(|n| n.value)
                        .filter(|_| items.is_some()),
                    items,
                    when: group.when.is_some(),
                }
            }
        };
        let old = shape.nodes.insert(name(p, id), node);
        assert!(old.is_none(), "{} is held twice", p.node_name(id));
    }
    assert_eq!(
        shape.nodes.len(),
        p.stages.len() + p.groups.len(),
        "every stage and group sits in exactly one DAG"
    );
    // The edges: the graph's, which must be the dependencies lifted.
    let graph = p.graph.graph();
    shape.edges = graph
        .raw_edges()
        .iter()
        .map(|e| (name(p, graph[e.source()]), name(p, graph[e.target()])))
        .collect();
    assert_eq!(shape.edges, lifted_deps(p), "Pipeline::graph");
    shape
}

/// Every dependency of a stage or group, lifted to the two siblings that
/// hold its ends: the first node on the waiter's chain (itself, then the
/// groups holding it, innermost first) whose DAG also holds a node of the
/// other's chain.
fn lifted_deps(p: &Pipeline) -> BTreeSet<(String, String)> {
    let chain = |id: NodeId| {
        let mut out = vec![id];
        out.extend(p.enclosing(id).into_iter().map(NodeId::Group));
        out
    };
    let stages = p
        .stages_with_ids()
        .map(|(id, s)| (NodeId::Stage(id), &s.deps));
    let groups = (0..p.groups.len()).map(|g| {
        let id = NodeId::Group(mlpc::sema::hir::GroupId::new(g));
        (id, &p.group(mlpc::sema::hir::GroupId::new(g)).deps)
    });
    let mut edges = BTreeSet::new();
    for (from, deps) in stages.chain(groups) {
        for dep in deps {
            let (a, b) = (chain(from), chain(dep.on));
            let pair = a
                .iter()
                .find_map(|&x| {
                    b.iter()
                        .find(|&&y| p.place(y) == p.place(x))
                        .map(|&y| (x, y))
                })
                .unwrap_or_else(|| panic!("{} -> {}", p.node_name(from), p.node_name(dep.on)));
            edges.insert((name(p, pair.0), name(p, pair.1)));
        }
    }
    edges
}

// ---------------------------------------------------------------------------
// The YAML's side.

fn yaml_shapes(rel: &Path) -> Vec<Shape> {
    compile_docs(rel, &Default::default())
        .iter()
        .map(yaml_shape)
        .collect()
}

fn yaml_shape(doc: &Json) -> Shape {
    let spec = spec(doc);
    let templates: BTreeMap<&str, &Json> = spec["templates"]
        .as_array()
        .expect("templates")
        .iter()
        .map(|t| (t["name"].as_str().expect("a template name"), t))
        .collect();
    let mut shape = Shape::default();
    let entry = spec["entrypoint"].as_str().expect("an entrypoint");
    // Each DAG template with the path of the tasks that call it (a group
    // template's DAG is walked once per use).
    let mut todo = vec![(entry, Dag::Main, String::new())];
    // `onExit` is `finally`'s DAG, or (without `finally`) the clean-up's
    // container.
    if let Some(exit) = spec["onExit"].as_str() {
        if templates[exit].get("dag").is_some() {
            todo.push((exit, Dag::Finally, String::new()));
        }
    }
    while let Some((template, dag, prefix)) = todo.pop() {
        let tasks = templates[template]["dag"]["tasks"]
            .as_array()
            .unwrap_or_else(|| panic!("template {template} is not a DAG"));
        let names: BTreeSet<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
        let is_cleanup =
            |task: &str| dag == Dag::Finally && (task == CLEANUP || task == TRAINING_CLEANUP);
        // A kept run volume's claim step comes before everything else in
        // the main DAG (and `finally`'s): no node of the program's graph.
        let makes_claim = |task: &str| {
            tasks.iter().any(|t| {
                t["name"] == task
                    && templates[t["template"].as_str().unwrap()]["resource"]["manifest"]
                        .as_str()
                        .is_some_and(|m| m.contains("kind: PersistentVolumeClaim"))
            })
        };
        // A task's node: itself, or the stage it helps (by path).
        let node_of = |task: &str| -> String {
            let stage = HELPER_SUFFIXES
                .iter()
                .filter_map(|s| task.strip_suffix(s))
                .find(|stage| names.contains(stage));
            assert!(
                names.contains(task),
                "`depends` names {task}, not in template {template}"
            );
            format!("{prefix}{}", stage.unwrap_or(task))
        };
        let mut edges = BTreeSet::new();
        let mut guards = Vec::new();
        for task in tasks {
            let task_name = task["name"].as_str().unwrap();
            if makes_claim(task_name) {
                continue;
            }
            let depends = task["depends"].as_str().map(parse_depends);
            if is_cleanup(task_name) && task_name == TRAINING_CLEANUP {
                assert!(
                    task["depends"].is_null(),
                    "{TRAINING_CLEANUP} waits for nothing"
                );
                continue;
            }
            if is_cleanup(task_name) {
                // It waits for everything `finally` holds, however it ended.
                let waits: BTreeSet<String> = depends
                    .iter()
                    .flat_map(|d| d.positives())
                    .map(|t| node_of(&t))
                    .collect();
                let held: BTreeSet<String> = names
                    .iter()
                    .filter(|t| !is_cleanup(t) && node_of(t) == format!("{prefix}{t}"))
                    .map(|t| format!("{prefix}{t}"))
                    .collect();
                assert_eq!(waits, held, "{CLEANUP} waits for all of `finally`");
                continue;
            }
            let consumer = node_of(task_name);
            for term in depends.iter().flat_map(Expr::conjuncts) {
                for waited in term.positives() {
                    if makes_claim(&waited) {
                        continue;
                    }
                    let producer = node_of(&waited);
                    for guard in term.negatives() {
                        guards.push((task_name, producer.clone(), node_of(&guard)));
                    }
                    if producer != consumer {
                        edges.insert((consumer.clone(), producer));
                    }
                }
            }
            let key = format!("{prefix}{task_name}");
            if node_of(task_name) != key {
                continue; // a helper step: its edges are its stage's
            }
            let node = yaml_node(task, &templates, dag.clone(), &prefix, &mut todo);
            let old = shape.nodes.insert(key.clone(), node);
            assert!(old.is_none(), "{key} is held twice");
        }
        // The guard of `(t || (t.Omitted && !(u.Failed || ...)))` names
        // tasks upstream of `t` (so that a failure above `t` blocks):
        // never new edges.
        for (task, t, u) in guards {
            assert!(
                upstream(&edges, &t).contains(&u),
                "{task}: the guard on {t} names {u}, which is not upstream of it"
            );
        }
        shape.edges.extend(edges);
    }
    shape
}

/// The node a task calls, following a fan-out's own DAG (one task of the
/// same name inside, with the loop) to the loop task; a group's DAG is
/// queued to be walked.
fn yaml_node<'a>(
    task: &'a Json,
    templates: &BTreeMap<&'a str, &'a Json>,
    dag: Dag,
    prefix: &str,
    todo: &mut Vec<(&'a str, Dag, String)>,
) -> Node {
    let name = task["name"].as_str().unwrap();
    let called = templates[task["template"].as_str().unwrap()];
    let wrapped = called["dag"]["tasks"]
        .as_array()
        .filter(|tasks| tasks.len() == 1 && tasks[0]["name"] == name)
        .map(|tasks| &tasks[0]);
    let inner = wrapped.unwrap_or(task);
    if wrapped.is_some() {
        for field in ["withItems", "withParam"] {
            assert!(task.get(field).is_none(), "{name}: {field} outside");
        }
        assert!(inner.get("depends").is_none(), "{name}: depends inside");
    }
    let items = match (inner.get("withItems"), inner.get("withParam")) {
        (Some(list), None) => Some(Items::List(list.as_array().expect("a list").len())),
        (None, Some(_)) => Some(Items::Reference),
        (None, None) => None,
        _ => panic!("{name}: both withItems and withParam"),
    };
    let parallelism = wrapped.and_then(|_| called["parallelism"].as_i64());
    let when = task.get("when").is_some() || wrapped.is_some_and(|t| t.get("when").is_some());
    let target = inner["template"].as_str().unwrap();
    // A tracked distributed stage's DAG (src/emit/lower/distributed.rs):
    // its run's start, its training job, its run's end. A stage, not a group.
    let steps: Vec<&str> = templates[target]["dag"]["tasks"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let distributed = steps == ["mlflow-start", "job", "mlflow-end"];
    let is_group = templates[target].get("dag").is_some() && !distributed;
    if is_group {
        let path = format!("{prefix}{name}");
        todo.push((target, Dag::Group(path.clone()), format!("{path}/")));
    }
    Node {
        is_group,
        dag,
        items,
        parallelism,
        when,
    }
}

/// The nodes `node` waits for, directly or not.
fn upstream(edges: &BTreeSet<(String, String)>, node: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![node.to_string()];
    while let Some(n) = todo.pop() {
        for (_, to) in edges.iter().filter(|(from, _)| *from == n) {
            if out.insert(to.clone()) {
                todo.push(to.clone());
            }
        }
    }
    out
}

/// An Argo `depends` expression: task results joined by `&&`, `||`, `!`
/// and parentheses (`&&` binding tighter).
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// `t` or `t.Result`: the task `t`.
    Task(String),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    /// The top-level `&&` terms.
    fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::And(terms) => terms.iter().collect(),
            other => vec![other],
        }
    }

    /// The tasks that must have ended (in some state) for it to hold: a
    /// task named outside any `!` in each alternative of an `||`.
    fn positives(&self) -> BTreeSet<String> {
        match self {
            Expr::Task(t) => BTreeSet::from([t.clone()]),
            Expr::Not(_) => BTreeSet::new(),
            Expr::And(terms) => terms.iter().flat_map(Expr::positives).collect(),
            Expr::Or(alternatives) => {
                let mut sets = alternatives.iter().map(Expr::positives);
                let first = sets.next().unwrap_or_default();
                sets.fold(first, |a, b| a.intersection(&b).cloned().collect())
            }
        }
    }

    /// The tasks named under a `!`.
    fn negatives(&self) -> BTreeSet<String> {
        match self {
            Expr::Task(_) => BTreeSet::new(),
            Expr::Not(e) => e.names(),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().flat_map(Expr::negatives).collect(),
        }
    }

    fn names(&self) -> BTreeSet<String> {
        match self {
            Expr::Task(t) => BTreeSet::from([t.clone()]),
            Expr::Not(e) => e.names(),
            Expr::And(terms) | Expr::Or(terms) => terms.iter().flat_map(Expr::names).collect(),
        }
    }
}

fn parse_depends(text: &str) -> Expr {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let len = if rest.starts_with("&&") || rest.starts_with("||") {
            2
        } else if rest.starts_with(['(', ')', '!']) {
            1
        } else {
            rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
                .unwrap_or(rest.len())
        };
        assert!(len > 0, "cannot read `depends: {text}` at `{rest}`");
        tokens.push(&rest[..len]);
        rest = rest[len..].trim_start();
    }
    let mut at = 0;
    let expr = parse_or(&tokens, &mut at, text);
    assert_eq!(at, tokens.len(), "trailing text in `depends: {text}`");
    expr
}

fn parse_or(tokens: &[&str], at: &mut usize, text: &str) -> Expr {
    let mut alternatives = vec![parse_and(tokens, at, text)];
    while tokens.get(*at) == Some(&"||") {
        *at += 1;
        alternatives.push(parse_and(tokens, at, text));
    }
    match alternatives.len() {
        1 => alternatives.remove(0),
        _ => Expr::Or(alternatives),
    }
}

fn parse_and(tokens: &[&str], at: &mut usize, text: &str) -> Expr {
    let mut terms = vec![parse_unary(tokens, at, text)];
    while tokens.get(*at) == Some(&"&&") {
        *at += 1;
        terms.push(parse_unary(tokens, at, text));
    }
    match terms.len() {
        1 => terms.remove(0),
        _ => Expr::And(terms),
    }
}

fn parse_unary(tokens: &[&str], at: &mut usize, text: &str) -> Expr {
    let token = *tokens
        .get(*at)
        .unwrap_or_else(|| panic!("`depends: {text}` ends early"));
    *at += 1;
    match token {
        "!" => Expr::Not(Box::new(parse_unary(tokens, at, text))),
        "(" => {
            let inner = parse_or(tokens, at, text);
            assert_eq!(tokens.get(*at), Some(&")"), "unbalanced `depends: {text}`");
            *at += 1;
            inner
        }
        "&&" | "||" | ")" => panic!("unexpected `{token}` in `depends: {text}`"),
        task => {
            let (name, result) = task.split_once('.').unwrap_or((task, "Succeeded"));
            assert!(
                [
                    "Succeeded",
                    "Failed",
                    "Errored",
                    "Skipped",
                    "Omitted",
                    "Daemoned",
                    "AnySucceeded",
                    "AllFailed"
                ]
                .contains(&result),
                "`{task}` in `depends: {text}`"
            );
            Expr::Task(name.to_string())
        }
    }
}

// ---------------------------------------------------------------------------
// The tests.

fn group_fixtures() -> Vec<std::path::PathBuf> {
    mlp_files(&root().join("tests/fixtures/groups"))
}

fn assert_same_shape(path: &Path) {
    let rel = relative(path);
    let (program, yaml) = (program_shapes(&rel), yaml_shapes(&rel));
    assert_eq!(
        yaml.len(),
        program.len(),
        "{}: one document per pipeline",
        rel.display()
    );
    for (yaml, program) in yaml.iter().zip(&program) {
        assert_eq!(yaml.nodes, program.nodes, "{}: the tree", rel.display());
        assert_eq!(yaml.edges, program.edges, "{}: the edges", rel.display());
    }
}

#[test]
fn example_dags_equal_the_programs_graph() {
    for path in mlp_files(&root().join("examples")) {
        assert_same_shape(&path);
    }
}

#[test]
fn group_dags_equal_the_programs_graph() {
    let fixtures = group_fixtures();
    assert!(fixtures.len() >= 4, "{fixtures:?}");
    for path in fixtures {
        assert_same_shape(&path);
    }
}

/// The fixtures hold what this test is meant to cover.
#[test]
fn the_group_fixtures_cover_nesting_loops_and_finally() {
    let shapes: Vec<Shape> = group_fixtures()
        .iter()
        .flat_map(|p| program_shapes(&relative(p)))
        .collect();
    // Per group holding a node, innermost first: whether it loops.
    fn depth<'a>(shape: &'a Shape, mut node: &'a Node) -> Vec<bool> {
        let mut loops = Vec::new();
        while let Dag::Group(g) = &node.dag {
            node = &shape.nodes[g];
            loops.push(node.items.is_some());
        }
        loops
    }
    let any = |f: &dyn Fn(&Shape, &str, &Node) -> bool| {
        shapes
            .iter()
            .any(|s| s.nodes.iter().any(|(n, node)| f(s, n, node)))
    };
    assert!(
        any(&|s, _, n| depth(s, n).iter().filter(|l| **l).count() >= 3),
        "loop groups 3 deep"
    );
    assert!(
        any(&|_, _, n| n.is_group && n.dag == Dag::Finally),
        "a group in `finally`"
    );
    assert!(
        any(&|_, _, n| !n.is_group && n.parallelism.is_some() && n.dag != Dag::Main),
        "a `for_each` stage with `parallelism` in a group"
    );
    assert!(
        any(&|s, a, n| n.is_group && s.edges.iter().any(|(x, y)| x == a && s.nodes[y].is_group)),
        "a group waiting for a sibling group"
    );
    assert!(
        any(&|s, a, n| !n.is_group
            && n.dag == Dag::Main
            && s.edges
                .iter()
                .any(|(x, y)| x == a && s.nodes[y].items.is_some())),
        "a stage reading a loop group (fan-in)"
    );
    assert!(
        any(&|_, _, n| n.is_group && n.items == Some(Items::Reference) && n.parallelism.is_some()),
        "a loop group over a reference, with parallelism"
    );
    assert!(
        any(&|s, a, n| n.is_group
            && n.dag != Dag::Main
            && s.edges.iter().any(|(x, y)| x == a && s.nodes[y].is_group)),
        "groups in a group, one waiting for the other"
    );
}

/// The comparison sees a change: a task that loses a dependency, a task
/// moved to another DAG, and a loop dropped.
#[test]
fn a_changed_dag_is_told_apart() {
    let rel = relative(&root().join("tests/fixtures/groups/nested_loops.mlp"));
    let program = program_shapes(&rel).remove(0);
    let doc = compile_docs(&rel, &Default::default()).remove(0);
    assert_eq!(yaml_shape(&doc), program);
    let edit = |f: &dyn Fn(&mut Vec<Json>)| {
        let mut doc = doc.clone();
        for t in doc["spec"]["templates"].as_array_mut().unwrap() {
            // (`get_mut`: indexing a JSON object mutably adds the key.)
            let tasks = t.get_mut("dag").and_then(|d| d.get_mut("tasks"));
            if let Some(tasks) = tasks.and_then(Json::as_array_mut) {
                f(tasks);
            }
        }
        yaml_shape(&doc)
    };
    let no_depends = edit(&|tasks: &mut Vec<Json>| {
        for t in tasks.iter_mut().filter(|t| t["name"] == "report") {
            t.as_object_mut().unwrap().remove("depends");
        }
    });
    assert_ne!(no_depends.edges, program.edges);
    let no_loop = edit(&|tasks: &mut Vec<Json>| {
        for t in tasks.iter_mut().filter(|t| t["name"] == "inner") {
            t.as_object_mut().unwrap().remove("withItems");
        }
    });
    assert_ne!(no_loop.nodes, program.nodes);
    let moved = edit(&|tasks: &mut Vec<Json>| tasks.retain(|t| t["name"] != "tally"));
    assert_ne!(moved.nodes, program.nodes);
}

#[test]
fn depends_expressions_name_the_tasks_waited_for() {
    let waited = |text: &str| parse_depends(text).positives();
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(waited("a"), set(&["a"]));
    assert_eq!(waited("a.Succeeded && b"), set(&["a", "b"]));
    assert_eq!(waited("(a || a.Omitted)"), set(&["a"]));
    let guarded = "(a || (a.Omitted && !(u.Failed || u.Errored || v.Failed))) && b.Succeeded";
    assert_eq!(waited(guarded), set(&["a", "b"]));
    let e = parse_depends(guarded);
    assert_eq!(e.conjuncts()[0].negatives(), set(&["u", "v"]));
    assert_eq!(
        waited("(t || t.Failed || t.Errored || t.Omitted) && (s || s.Omitted)"),
        set(&["s", "t"])
    );
    // An `||` between different tasks waits for neither alone.
    assert_eq!(waited("a || b"), set(&[]));
}

/// Every group fixture passes ../shared/tools/validate_argo.py, as a
/// Workflow and as a WorkflowTemplate.
#[test]
fn group_fixtures_pass_the_argo_validator() {
    use mlpc::emit::{Options, OutputKind};
    let Some((python, script)) = validator() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for path in group_fixtures() {
        let rel = relative(&path);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        for (kind, suffix) in [
            (OutputKind::Workflow, "workflow"),
            (OutputKind::WorkflowTemplate, "template"),
        ] {
            let out = dir.path().join(format!("{stem}.{suffix}.yaml"));
            let options = Options {
                kind,
                pipeline: None,
                ..Default::default()
            };
            std::fs::write(&out, compile(&rel, &options)).unwrap();
            files.push(out);
        }
    }
    common::assert_validator_accepts(&python, &script, &files);
}
