//! Stage 3: the dependency graph of a pipeline's stages (petgraph).
//!
//! Nodes are stages in source order; an edge `a -> b` means `a` waits for
//! `b` (it reads an output of `b`, or lists `b` in `after`).
//!
//! [`PipelineGraph`] is built once per pipeline and answers both questions
//! the compiler asks of it: which cycles there are (sema reports them), and,
//! for a graph without any, what each stage waits for and what is
//! downstream of a set of stages (the plan's skip propagation). The
//! downstream closure is a search, not a walk in topological order, so it
//! is defined on any graph: nothing needs an order that might not exist.

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::diag::{Label, MlpError};
use crate::sema::hir::{Stage, StageId};
use crate::source::{SourceSet, Span};

/// The graph of one pipeline: node `i` is stage `i` (and weighs its
/// [`StageId`]), and an edge `a -> b` (weighted with the span where the
/// dependency is written, the first one if several) means `a` waits for `b`.
#[derive(Debug, Clone)]
pub struct PipelineGraph {
    graph: DiGraph<StageId, Span>,
}

impl PipelineGraph {
    pub fn new(stages: &[Stage]) -> Self {
        PipelineGraph {
            graph: build(stages),
        }
    }

    /// The petgraph graph (node weights are stage ids).
    pub fn graph(&self) -> &DiGraph<StageId, Span> {
        &self.graph
    }

    /// Each cycle once: a closed path of stages, starting at the stage
    /// that comes first in the source (`[a, b]` means a -> b -> a).
    pub fn cycles(&self) -> Vec<Vec<StageId>> {
        let graph = &self.graph;
        let mut found = Vec::new();
        // Kosaraju's algorithm in petgraph runs on its iterative DFS;
        // Tarjan's is recursive and overflows the stack on long chains.
        for scc in kosaraju_scc(graph) {
            let self_loop = scc.len() == 1 && graph.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let Some(&start) = scc.iter().min_by_key(|n| graph[**n]) else {
                continue;
            };
            if let Some(path) = path_back(graph, start, &scc) {
                found.push(path.into_iter().map(|n| graph[n]).collect());
            }
        }
        found.sort();
        found
    }

    /// Where the dependency `from -> to` is written, if there is one.
    pub fn edge_span(&self, from: StageId, to: StageId) -> Option<Span> {
        self.graph
            .find_edge(node(from), node(to))
            .map(|e| self.graph[e])
    }

    /// Every stage that `seeds` reach against the edges, the seeds
    /// included: the stages that wait for one of them, directly or not.
    /// A search over the reversed edges, so any graph has an answer.
    /// Indexed by [`StageId::index`].
    pub fn downstream_of(&self, seeds: impl IntoIterator<Item = StageId>) -> Vec<bool> {
        let mut reached = vec![false; self.graph.node_count()];
        let mut todo: Vec<StageId> = Vec::new();
        for s in seeds {
            if !reached[s.index()] {
                reached[s.index()] = true;
                todo.push(s);
            }
        }
        while let Some(s) = todo.pop() {
            for waiter in self.graph.neighbors_directed(node(s), Direction::Incoming) {
                let w = self.graph[waiter];
                if !reached[w.index()] {
                    reached[w.index()] = true;
                    todo.push(w);
                }
            }
        }
        reached
    }

    /// The stages `stage` waits for, directly or not (itself only if it is
    /// on a cycle).
    pub fn ancestors(&self, stage: StageId) -> std::collections::BTreeSet<StageId> {
        let mut out = std::collections::BTreeSet::new();
        let mut todo: Vec<StageId> = self
            .graph
            .neighbors(node(stage))
            .map(|n| self.graph[n])
            .collect();
        while let Some(s) = todo.pop() {
            if out.insert(s) {
                todo.extend(self.graph.neighbors(node(s)).map(|n| self.graph[n]));
            }
        }
        out
    }
}

/// The node of a stage: nodes are added in source order.
fn node(stage: StageId) -> NodeIndex {
    NodeIndex::new(stage.index())
}

/// The graph of one pipeline: node weights are stage ids, edge weights
/// the span where the dependency is written (the first one, if several).
pub fn build(stages: &[Stage]) -> DiGraph<StageId, Span> {
    let mut graph = DiGraph::with_capacity(stages.len(), stages.len());
    let nodes: Vec<NodeIndex> = StageId::all(stages.len())
        .map(|id| graph.add_node(id))
        .collect();
    for (i, stage) in stages.iter().enumerate() {
        let mut seen = std::collections::HashSet::new();
        for dep in &stage.deps {
            if seen.insert(dep.stage) {
                graph.add_edge(nodes[i], nodes[dep.stage.index()], dep.span);
            }
        }
    }
    graph
}

/// A path from `start` back to itself inside one strongly connected
/// component, found by an iterative depth-first search (no recursion, so
/// long chains cannot exhaust the stack). Neighbours are visited in source
/// order, so the result is deterministic.
fn path_back(
    graph: &DiGraph<StageId, Span>,
    start: NodeIndex,
    scc: &[NodeIndex],
) -> Option<Vec<NodeIndex>> {
    let in_scc = |n: NodeIndex| scc.contains(&n);
    let neighbours = |n: NodeIndex| {
        let mut next: Vec<NodeIndex> = graph
            .edges(n)
            .map(|e| e.target())
            .filter(|t| in_scc(*t))
            .collect();
        next.sort_by_key(|t| graph[*t]);
        next
    };
    let mut visited = std::collections::HashSet::new();
    let mut stack: Vec<(NodeIndex, Vec<NodeIndex>)> = vec![(start, neighbours(start))];
    visited.insert(start);
    while let Some((_, pending)) = stack.last_mut() {
        let Some(next) = (!pending.is_empty()).then(|| pending.remove(0)) else {
            stack.pop();
            continue;
        };
        if next == start {
            return Some(stack.iter().map(|(n, _)| *n).collect());
        }
        if visited.insert(next) {
            let more = neighbours(next);
            stack.push((next, more));
        }
    }
    None
}

/// Edges labelled in one cycle diagnostic; a longer cycle is summarised.
pub const MAX_CYCLE_LABELS: usize = 8;

impl PipelineGraph {
    /// The diagnostic for one cycle of this graph: the path in the
    /// message, a label on each edge (on the first [`MAX_CYCLE_LABELS`] of
    /// a long cycle).
    pub fn cycle_error(
        &self,
        sources: &SourceSet,
        stages: &[Stage],
        cycle: &[StageId],
    ) -> MlpError {
        let stage = |id: StageId| &stages[id.index()];
        let name = |id: StageId| stage(id).name.as_str();
        let path = if cycle.len() <= MAX_CYCLE_LABELS {
            let mut names: Vec<&str> = cycle.iter().map(|i| name(*i)).collect();
            names.push(name(cycle[0]));
            names.join(" -> ")
        } else {
            let head: Vec<&str> = cycle[..MAX_CYCLE_LABELS].iter().map(|i| name(*i)).collect();
            format!(
                "{} -> ... -> {} -> {} ({} stages)",
                head.join(" -> "),
                name(cycle[cycle.len() - 1]),
                name(cycle[0]),
                cycle.len()
            )
        };
        let mut edges = Vec::new();
        for (k, &from) in cycle.iter().enumerate().take(MAX_CYCLE_LABELS) {
            let to = cycle[(k + 1) % cycle.len()];
            let span = self.edge_span(from, to).unwrap_or(stage(from).span);
            let text = format!("`{}` waits for `{}`", stage(from).name, stage(to).name);
            let label = if k == 0 {
                Label::primary(span, text)
            } else {
                Label::secondary(span, text)
            };
            edges.push(label);
        }
        let source = stage(cycle[0]).span.source;
        MlpError::Cycle {
            src: sources.named(source),
            path,
            edges,
        }
    }
}
