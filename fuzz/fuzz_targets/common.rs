//! What every compile target checks of a program that compiles: the YAML
//! parses back, and each DAG's `depends` only names tasks of that DAG with
//! no cycle; the KFP IR of each pipeline (or its diagnostics) comes without
//! a panic and parses back.

use std::collections::{HashMap, HashSet};

/// Parses a YAML stream into JSON values, with serde_yaml as the tests do
/// (`tests/common/yaml.rs`).
fn parse_documents(text: &str) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).map_err(|e| e.to_string()))
        .collect()
}

pub fn check_output(source: &[u8]) {
    let analysis = mlpc::analyze("fuzz.mlp", None, source, &mlpc::FsLoader);
    let diags: Vec<_> = analysis.diagnostics.items.iter().collect();
    let _ = mlpc::diag::render::json(&diags);
    let _ = mlpc::diag::render::github(&diags);
    let _ = mlpc::diag::render::short(&diags);
    let _ = mlpc::diag::render::human(&diags, mlpc::diag::render::HumanOptions { color: false, width: 80 });
    let Some(program) = analysis.program.as_ref() else { return };
    // The KFP backend: never panics, and what it writes parses back.
    for p in &program.pipelines {
        let options = mlpc::emit::Options { pipeline: Some(p.name.to_string()), ..Default::default() };
        if let Some(Ok(Ok(doc))) = mlpc::kfp_document(&analysis, &options) {
            let yaml = doc.to_yaml().expect("the IR is written");
            parse_documents(&yaml).expect("the IR parses back");
        }
    }
    let yaml = match mlpc::yaml(program, &Default::default()) {
        Ok(y) => y,
        Err(mlpc::emit::EmitError::NoPipeline) => return,
        Err(e) => panic!("a checked program failed to emit: {e}"),
    };
    let docs = parse_documents(&yaml).expect("the YAML parses back");
    // MLPC_FUZZ_STATS=1: count how many inputs get this far.
    if std::env::var_os("MLPC_FUZZ_STATS").is_some() {
        eprintln!("mlpc-fuzz: compiled");
    }
    for doc in docs {
        let spec = doc["spec"].get("workflowSpec").unwrap_or(&doc["spec"]);
        for t in spec["templates"].as_array().expect("templates") {
            let Some(tasks) = t["dag"]["tasks"].as_array() else { continue };
            let names: HashSet<&str> = tasks.iter().map(|t| t["name"].as_str().unwrap()).collect();
            let mut edges: HashMap<&str, Vec<&str>> = HashMap::new();
            for task in tasks {
                let name = task["name"].as_str().unwrap();
                // Argo `depends`: task names joined by `&&`, `||`, `!` and
                // parentheses, each maybe with a result (`.Succeeded`); the
                // names inside `!(...)` (the Omitted guard) are ancestors.
                let expr = task["depends"].as_str().unwrap_or("");
                let mut seen: Vec<&str> = Vec::new();
                let terms = expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
                    .filter(|t| !t.is_empty());
                for term in terms {
                    let (dep, result) = term.split_once('.').unwrap_or((term, ""));
                    assert!(
                        result.is_empty()
                            || ["Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"]
                                .contains(&result),
                        "bad depends result {term} in {expr}"
                    );
                    if seen.contains(&dep) {
                        continue;
                    }
                    seen.push(dep);
                    assert!(names.contains(dep), "depends on unknown task {dep}");
                    edges.entry(name).or_default().push(dep);
                }
            }
            assert_acyclic(&names, &edges);
        }
    }
}

fn assert_acyclic(names: &HashSet<&str>, edges: &HashMap<&str, Vec<&str>>) {
    // Kahn's algorithm: every node must be removed.
    let mut indegree: HashMap<&str, usize> = names.iter().map(|n| (*n, 0)).collect();
    for deps in edges.values() {
        for d in deps {
            *indegree.get_mut(d).unwrap() += 1;
        }
    }
    let mut ready: Vec<&str> = indegree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
    let mut removed = 0;
    while let Some(n) = ready.pop() {
        removed += 1;
        for d in edges.get(n).into_iter().flatten() {
            let e = indegree.get_mut(d).unwrap();
            *e -= 1;
            if *e == 0 {
                ready.push(d);
            }
        }
    }
    assert_eq!(removed, names.len(), "the DAG has a cycle");
}
