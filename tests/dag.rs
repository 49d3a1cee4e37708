//! The emitted DAG has exactly the program's dependency edges: every edge of
//! the graph (references and `after`) and nothing else. Generated helper
//! steps (metric gates, deploy's resolve and wait steps, fan-out wrappers) count as
//! part of the stage they serve.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;

type Edges = BTreeSet<(String, String)>;

const HELPER_SUFFIXES: [&str; 3] = ["-metrics", "-resolve", "-wait"];

fn program_edges(rel: &std::path::Path) -> Edges {
    let analysis = analyze_file(rel);
    let program = analysis.program.expect("clean");
    let mut edges = Edges::new();
    for p in &program.pipelines {
        for s in &p.stages {
            for d in &s.deps {
                edges.insert((
                    s.dns_name.to_string(),
                    p.node_name(d.on).replace("_", "-").to_lowercase(),
                ));
            }
        }
    }
    edges
}

/// Task -> stage: helper tasks are named `<stage>-metrics`, `<stage>-resolve`
/// or `<stage>-wait`.
fn stage_of(task: &str, stages: &BTreeSet<String>) -> String {
    if stages.contains(task) {
        return task.to_string();
    }
    for suffix in HELPER_SUFFIXES {
        if let Some(stage) = task.strip_suffix(suffix) {
            if stages.contains(stage) {
                return stage.to_string();
            }
        }
    }
    panic!("task {task} belongs to no stage");
}

fn yaml_edges(rel: &std::path::Path) -> Edges {
    let docs = compile_docs(rel, &Default::default());
    let mut edges = Edges::new();
    for doc in docs {
        let spec = doc["spec"].get("workflowSpec").unwrap_or(&doc["spec"]);
        let entry = spec["entrypoint"].as_str().unwrap();
        let templates: BTreeMap<&str, &serde_json::Value> = spec["templates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap(), t))
            .collect();
        let tasks = templates[entry]["dag"]["tasks"].as_array().unwrap();
        let stages: BTreeSet<String> = tasks
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .filter(|n| !HELPER_SUFFIXES.iter().any(|s| n.ends_with(s)))
            .collect();
        for t in tasks {
            let consumer = stage_of(t["name"].as_str().unwrap(), &stages);
            let Some(depends) = t["depends"].as_str() else {
                continue;
            };
            for term in top_level_terms(depends) {
                // `t`, `t.Succeeded`, or for `after` `(t || t.Omitted)` and
                // `(t || (t.Omitted && !(a.Failed || ...)))`, whose guard
                // names t's ancestors, not new edges: the first name counts.
                let producer_task = term
                    .trim_start_matches(['(', '!', ' '])
                    .split([' ', ')'])
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches(".Succeeded");
                let producer = stage_of(producer_task, &stages);
                if producer != consumer {
                    edges.insert((consumer.clone(), producer));
                }
            }
        }
    }
    edges
}

/// The `&&`-separated terms of a `depends`, outside parentheses.
fn top_level_terms(depends: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    let bytes = depends.as_bytes();
    for (i, c) in depends.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '&' if depth == 0 && bytes.get(i + 1) == Some(&b'&') => {
                terms.push(depends[start..i].trim());
                start = i + 2;
            }
            _ => {}
        }
    }
    terms.push(depends[start..].trim());
    terms
}

#[test]
fn dag_edges_equal_the_dependency_graph() {
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        assert_eq!(yaml_edges(&rel), program_edges(&rel), "{}", rel.display());
    }
}
