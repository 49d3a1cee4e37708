//! `mlpc graph`: the Mermaid drawing of every example read back — its
//! nesting is the program's (groups and `finally` as subgraphs), and its
//! edges, lifted to siblings as the compiler lifts dependencies, are
//! exactly the edges of the pipeline's dependency graph. The DOT drawing
//! holds the same nodes and edges.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use mlpc::emit::graph::{render, GraphFormat};
use mlpc::sema::hir::{GroupId, NodeId, Pipeline, StageId};

/// A drawing read back: each node's subgraph (`None` at the top), and the
/// edges (from, to, label, dashed).
#[derive(Default)]
struct Drawing {
    parent: BTreeMap<String, Option<String>>,
    edges: BTreeSet<(String, String, Option<String>, bool)>,
}

fn read_mermaid(text: &str) -> Drawing {
    let mut d = Drawing::default();
    let mut stack: Vec<String> = Vec::new();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart TB"));
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("subgraph ") {
            let id = rest.split('[').next().unwrap().to_string();
            d.parent.insert(id.clone(), stack.last().cloned());
            stack.push(id);
        } else if line == "end" {
            stack.pop().expect("an `end` closes a subgraph");
        } else if line.contains("-->") || line.contains("-.->") {
            let dashed = line.contains("-.->");
            let (from, rest) = line
                .split_once(if dashed { " -.->" } else { " -->" })
                .unwrap();
            let (label, to) = match rest.strip_prefix("|\"") {
                Some(r) => {
                    let (l, t) = r.split_once("\"| ").unwrap();
                    (Some(l.to_string()), t)
                }
                None => (None, rest.trim()),
            };
            d.edges
                .insert((from.to_string(), to.trim().to_string(), label, dashed));
        } else {
            let id: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(!id.is_empty(), "{line}");
            d.parent.insert(id, stack.last().cloned());
        }
    }
    assert!(stack.is_empty(), "every subgraph is closed");
    for (from, to, _, _) in &d.edges {
        assert!(
            d.parent.contains_key(from) && d.parent.contains_key(to),
            "{from} -> {to}: declared"
        );
    }
    d
}

fn node_of(id: &str) -> Option<NodeId> {
    let (kind, n) = id.split_at(1);
    let n: usize = n.parse().ok()?;
    match kind {
        "s" => Some(NodeId::Stage(StageId::new(n))),
        "g" => Some(NodeId::Group(GroupId::new(n))),
        _ => None,
    }
}

fn id_of(node: NodeId) -> String {
    match node {
        NodeId::Stage(s) => format!("s{}", s.index()),
        NodeId::Group(g) => format!("g{}", g.index()),
    }
}

/// The drawing's nesting is the program's.
fn same_nesting(p: &Pipeline, d: &Drawing) {
    for (id, parent) in &d.parent {
        let Some(node) = node_of(id) else {
            assert_eq!(id, "finally");
            continue;
        };
        let place = p.place(node);
        let want = match (place.group, place.finally) {
            (Some(g), _) => Some(id_of(NodeId::Group(g))),
            (None, true) => Some("finally".to_string()),
            (None, false) => None,
        };
        assert_eq!(parent, &want, "{}: {id}", p.name);
    }
    assert_eq!(
        d.parent.keys().filter(|k| k.starts_with('s')).count(),
        p.stages.len()
    );
}

/// Lifted to siblings, the drawn edges are the dependency graph's.
fn same_edges(p: &Pipeline, d: &Drawing) {
    let mut drawn: BTreeSet<(NodeId, NodeId)> = BTreeSet::new();
    for (from, to, _, _) in &d.edges {
        let (producer, reader) = (node_of(from).unwrap(), node_of(to).unwrap());
        if let Some((a, b)) = mlpc::graph::lift(
            &p.groups,
            (reader, p.place(reader)),
            (producer, p.place(producer)),
        ) {
            if a != b {
                drawn.insert((a, b));
            }
        }
    }
    let g = p.graph.graph();
    let graph: BTreeSet<(NodeId, NodeId)> = g
        .edge_indices()
        .map(|e| {
            let (a, b) = g.edge_endpoints(e).unwrap();
            (g[a], g[b])
        })
        .collect();
    assert_eq!(drawn, graph, "{}", p.name);
}

#[test]
fn every_example_draws_its_graph() {
    let mut drawn = 0;
    for path in mlp_files(&root().join("examples")) {
        let rel = relative(&path);
        let analysis = mlpc::analyze(
            &rel.display().to_string(),
            Some(&rel),
            &std::fs::read(&path).unwrap(),
            &mlpc::FsLoader,
        );
        let program = analysis.program.as_ref().unwrap();
        for p in &program.pipelines {
            let mermaid = render(p, &analysis.sources, GraphFormat::Mermaid);
            let d = read_mermaid(&mermaid);
            same_nesting(p, &d);
            same_edges(p, &d);
            // The DOT drawing: the same stages, clusters and edges.
            let dot = render(p, &analysis.sources, GraphFormat::Dot);
            assert!(dot.starts_with("digraph pipeline {") && dot.ends_with("}\n"));
            assert_eq!(
                dot.matches(" -> ").count(),
                d.edges.len(),
                "{}: {dot}",
                rel.display()
            );
            assert_eq!(
                dot.matches("subgraph cluster_").count(),
                d.parent.keys().filter(|k| !k.starts_with('s')).count()
            );
            drawn += 1;
        }
    }
    assert!(drawn >= 8, "{drawn}");
}

/// What the drawing shows of one program: shapes by kind, gates with
/// their condition, labels on data edges, dashed `after` edges, `finally`.
#[test]
fn shapes_labels_and_styles() {
    let source = r#"pipeline p {
  prep a { image = "busybox:1.37", command = ["sh", "-c", "echo 1 > /tmp/n"]
    output n: int = "/tmp/n" }
  train t { image = "busybox:1.37", command = ["echo", a.n], after = [a], track = false }
  job j { image = "busybox:1.37", command = ["echo"], after = [t]
    when a.n > 0 }
  finally {
    job f { image = "busybox:1.37", command = ["echo", "${run.status}"] }
  }
}
"#;
    let analysis = mlpc::analyze("p.mlp", None, source.as_bytes(), &mlpc::FsLoader);
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
    let p = &analysis.program.as_ref().unwrap().pipelines[0];
    let mermaid = render(p, &analysis.sources, GraphFormat::Mermaid);
    for line in [
        "  s0[\"prep a\"]",
        "  s1[[\"train t\"]]",
        "  s2{{\"job j<br/>when a.n #gt; 0\"}}",
        "  subgraph finally[\"finally\"]",
        "    s3(\"job f\")",
        "  s0 -->|\"n\"| s1",
        "  s1 -.-> s2",
        "  s0 -->|\"n\"| s2",
    ] {
        assert!(mermaid.lines().any(|l| l == line), "{line}\n{mermaid}");
    }
    let dot = render(p, &analysis.sources, GraphFormat::Dot);
    for line in [
        "  s2 [label=\"job j\\nwhen a.n > 0\", shape=hexagon];",
        "  s0 -> s1 [label=\"n\"];",
        "  s1 -> s2 [style=dashed];",
    ] {
        assert!(dot.lines().any(|l| l == line), "{line}\n{dot}");
    }
}

#[test]
fn the_command_draws_one_pipeline() {
    let out = run_mlpc(&["graph", "examples/terraform_optimization.mlp"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("flowchart TB\n"));
    let out = run_mlpc(&[
        "graph",
        "--format",
        "dot",
        "examples/terraform_optimization.mlp",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph pipeline {"));
    // `--format mermaid` belongs to `graph`.
    let out = run_mlpc(&[
        "check",
        "--format",
        "mermaid",
        "examples/terraform_optimization.mlp",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// The README shows the flagship's drawing as `mlpc graph` draws it.
#[test]
fn the_readme_shows_the_flagships_graph() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let block = readme
        .split("```mermaid\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a mermaid block in the README");
    let out = run_mlpc(&["graph", "examples/terraform_optimization.mlp"]);
    assert_eq!(block, String::from_utf8_lossy(&out.stdout));
}
