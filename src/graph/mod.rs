//! Stage 3: the dependency graph of a pipeline's stages and groups
//! (petgraph).
//!
//! Nodes are the stages in source order, then the groups in source order;
//! an edge `a -> b` means `a` waits for `b` (it reads an output of `b`, or
//! lists `b` in `after`). Edges join *siblings*: nodes held directly by the
//! same group (or both at the top of the run), as one Argo DAG holds them.
//! A dependency written between nodes at different depths is lifted to the
//! two siblings that hold them (`lift`): a stage outside a group that reads
//! a member waits for the whole group; a member that reads a stage outside
//! makes its group wait. A member that waits for a group holding it is a
//! self-loop, reported as a cycle.
//!
//! [`PipelineGraph`] is built once per pipeline and answers both questions
//! the compiler asks of it: which cycles there are (sema reports them), and,
//! for a graph without any, what each node waits for and what is
//! downstream of a set of nodes (the plan's skip propagation). The
//! downstream closure is a search, not a walk in topological order, so it
//! is defined on any graph: nothing needs an order that might not exist.

use petgraph::algo::kosaraju_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;

use crate::diag::{Label, MlpError};
use crate::sema::hir::{Group, NodeId, Place, Stage, StageId};
use crate::source::{SourceSet, Span};

/// The graph of one pipeline: node `i` is stage `i`, node `stages + g`
/// is group `g` (each weighs its [`NodeId`]), and an edge `a -> b`
/// (weighted with the span where the dependency is written, the first one
/// if several) means `a` waits for `b`.
#[derive(Debug, Clone, Default)]
pub struct PipelineGraph {
    graph: DiGraph<NodeId, Span>,
    stages: usize,
}

impl PipelineGraph {
    pub fn new(stages: &[Stage], groups: &[Group]) -> Self {
        PipelineGraph {
            graph: build(stages, groups),
            stages: stages.len(),
        }
    }

    /// The petgraph graph (node weights are node ids).
    pub fn graph(&self) -> &DiGraph<NodeId, Span> {
        &self.graph
    }

    /// A node's index in [`Self::downstream_of`]'s answer.
    pub fn index(&self, id: NodeId) -> usize {
        index(self.stages, id)
    }

    /// Each cycle once: a closed path of nodes, starting at the one that
    /// comes first (stages before groups; `[a, b]` means a -> b -> a).
    pub fn cycles(&self) -> Vec<Vec<NodeId>> {
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
    pub fn edge_span(&self, from: NodeId, to: NodeId) -> Option<Span> {
        self.graph
            .find_edge(self.node(from), self.node(to))
            .map(|e| self.graph[e])
    }

    /// Every node that `seeds` reach against the edges, the seeds
    /// included: the siblings that wait for one of them, directly or not.
    /// A search over the reversed edges, so any graph has an answer.
    /// Indexed by [`Self::index`].
    pub fn downstream_of(&self, seeds: impl IntoIterator<Item = NodeId>) -> Vec<bool> {
        let mut reached = vec![false; self.graph.node_count()];
        let mut todo: Vec<NodeIndex> = Vec::new();
        for s in seeds {
            let n = self.node(s);
            if !reached[n.index()] {
                reached[n.index()] = true;
                todo.push(n);
            }
        }
        while let Some(n) = todo.pop() {
            for waiter in self.graph.neighbors_directed(n, Direction::Incoming) {
                if !reached[waiter.index()] {
                    reached[waiter.index()] = true;
                    todo.push(waiter);
                }
            }
        }
        reached
    }

    /// The siblings `node` waits for, directly or not (itself only if it
    /// is on a cycle).
    pub fn ancestors(&self, node: NodeId) -> std::collections::BTreeSet<NodeId> {
        let mut out = std::collections::BTreeSet::new();
        let mut todo: Vec<NodeIndex> = self.graph.neighbors(self.node(node)).collect();
        while let Some(n) = todo.pop() {
            if out.insert(self.graph[n]) {
                todo.extend(self.graph.neighbors(n));
            }
        }
        out
    }

    fn node(&self, id: NodeId) -> NodeIndex {
        NodeIndex::new(index(self.stages, id))
    }
}

/// Nodes are added stages first, then groups, each in source order.
fn index(stages: usize, id: NodeId) -> usize {
    match id {
        NodeId::Stage(s) => s.index(),
        NodeId::Group(g) => stages + g.index(),
    }
}

/// The siblings that a dependency of `from` on `to` joins: each node, or
/// the group holding it that sits beside the other's. `None` when one is
/// in `finally` and the other is not (the checker reports that).
pub fn lift(
    groups: &[Group],
    from: (NodeId, Place),
    to: (NodeId, Place),
) -> Option<(NodeId, NodeId)> {
    if from.1.finally != to.1.finally {
        return None;
    }
    // The common case (every v1 program): two nodes of one DAG.
    if from.1.group == to.1.group {
        return Some((from.0, to.0));
    }
    // Each chain: the node, then the groups holding it, innermost first.
    let chain = |(node, place): (NodeId, Place)| {
        let mut out = vec![node];
        let mut at = place.group;
        while let Some(g) = at {
            out.push(NodeId::Group(g));
            at = groups[g.index()].place.group;
        }
        out
    };
    let (a, b) = (chain(from), chain(to));
    // Strip the common tail (the groups holding both); what is left ends
    // with the siblings.
    let common = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let sibling = |c: &[NodeId]| c.get(c.len().saturating_sub(common + 1)).copied();
    match (common, a.len(), b.len()) {
        // One holds the other (a member waiting for its own group): the
        // group waits for itself.
        (n, la, lb) if n == la || n == lb => {
            let outer = if n == la { from.0 } else { to.0 };
            Some((outer, outer))
        }
        _ => Some((sibling(&a)?, sibling(&b)?)),
    }
}

/// The graph of one pipeline: node weights are node ids, edge weights the
/// span where the dependency is written (the first one, if several).
pub fn build(stages: &[Stage], groups: &[Group]) -> DiGraph<NodeId, Span> {
    let n = stages.len() + groups.len();
    let mut graph = DiGraph::with_capacity(n, n);
    for id in StageId::all(stages.len()) {
        graph.add_node(NodeId::Stage(id));
    }
    for g in 0..groups.len() {
        graph.add_node(NodeId::Group(crate::sema::hir::GroupId::new(g)));
    }
    let place = |id: NodeId| match id {
        NodeId::Stage(s) => stages[s.index()].place,
        NodeId::Group(g) => groups[g.index()].place,
    };
    let mut seen = std::collections::HashSet::new();
    let stage_deps =
        StageId::all(stages.len()).map(|id| (NodeId::Stage(id), &stages[id.index()].deps));
    let group_deps = groups.iter().enumerate().map(|(g, group)| {
        (
            NodeId::Group(crate::sema::hir::GroupId::new(g)),
            &group.deps,
        )
    });
    for (from, deps) in stage_deps.chain(group_deps) {
        for dep in deps {
            let Some((a, b)) = lift(groups, (from, place(from)), (dep.on, place(dep.on))) else {
                continue;
            };
            if seen.insert((a, b)) {
                graph.add_edge(
                    NodeIndex::new(index(stages.len(), a)),
                    NodeIndex::new(index(stages.len(), b)),
                    dep.span,
                );
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
    graph: &DiGraph<NodeId, Span>,
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
        groups: &[Group],
        cycle: &[NodeId],
    ) -> MlpError {
        let name = |id: NodeId| match id {
            NodeId::Stage(s) => stages[s.index()].name.as_str(),
            NodeId::Group(g) => groups[g.index()].name.as_str(),
        };
        let span_of = |id: NodeId| match id {
            NodeId::Stage(s) => stages[s.index()].span,
            NodeId::Group(g) => groups[g.index()].name_span,
        };
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
            let span = self.edge_span(from, to).unwrap_or(span_of(from));
            let text = if from == to {
                format!(
                    "`{}` waits for itself: a member waits for its own group",
                    name(from)
                )
            } else {
                format!("`{}` waits for `{}`", name(from), name(to))
            };
            let label = if k == 0 {
                Label::primary(span, text)
            } else {
                Label::secondary(span, text)
            };
            edges.push(label);
        }
        let source = span_of(cycle[0]).source;
        MlpError::Cycle {
            src: sources.named(source),
            path,
            edges,
        }
    }
}
