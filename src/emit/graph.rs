//! `mlpc graph`: a pipeline as a picture, in Mermaid (which GitHub renders
//! in Markdown) or Graphviz DOT. Stages are nodes shaped by kind, groups
//! and `finally` are clusters, a data edge is labelled with the output it
//! carries, an `after` edge is dashed, and a stage or group with a `when`
//! is a gate (a hexagon, its condition under its name).
//!
//! Edges are drawn where they are written, from the producer to the
//! reader, not lifted to siblings as the run's DAGs hold them: the picture
//! shows what reads what.

use std::fmt::Write;

use crate::sema::hir::{
    refs_in_cond, refs_in_value, DepKind, GroupId, NodeId, Pipeline, Ref, StageId,
};
use crate::sema::schema::StageKind;
use crate::source::{SourceSet, Span};

/// What `mlpc graph` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Mermaid,
    Dot,
}

/// A pipeline drawn, as text in `format`.
pub fn render(pipeline: &Pipeline, sources: &SourceSet, format: GraphFormat) -> String {
    let picture = Picture::of(pipeline, sources);
    match format {
        GraphFormat::Mermaid => picture.mermaid(),
        GraphFormat::Dot => picture.dot(),
    }
}

/// A node: a stage, or a group's cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Id {
    Stage(usize),
    Group(usize),
    Finally,
}

impl Id {
    fn name(self) -> String {
        match self {
            Id::Stage(i) => format!("s{i}"),
            Id::Group(g) => format!("g{g}"),
            Id::Finally => "finally".into(),
        }
    }

    fn of(node: NodeId) -> Id {
        match node {
            NodeId::Stage(s) => Id::Stage(s.index()),
            NodeId::Group(g) => Id::Group(g.index()),
        }
    }
}

struct Stage {
    id: Id,
    kind: StageKind,
    label: String,
    when: Option<String>,
}

struct Cluster {
    id: Id,
    label: String,
    when: Option<String>,
    /// What it holds directly.
    members: Vec<Id>,
}

struct Edge {
    from: Id,
    to: Id,
    label: Option<String>,
    dashed: bool,
}

struct Picture {
    stages: Vec<Stage>,
    clusters: Vec<Cluster>,
    /// What the run holds outside any group and `finally`.
    top: Vec<Id>,
    edges: Vec<Edge>,
}

impl Picture {
    fn of(p: &Pipeline, sources: &SourceSet) -> Picture {
        let text = |s: Span| {
            sources
                .text(s)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let stages = p
            .stages_with_ids()
            .map(|(id, s)| Stage {
                id: Id::Stage(id.index()),
                kind: s.kind,
                label: format!("{} {}", s.kind.name(), s.name),
                when: s.when.as_ref().map(|w| text(w.span)),
            })
            .collect();
        let mut clusters: Vec<Cluster> = p
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| Cluster {
                id: Id::Group(g),
                label: match (&group.for_each, &group.uses) {
                    (Some(_), _) => format!("group {} (for_each)", group.name),
                    (None, Some(_)) => format!("group {} (template)", group.name),
                    (None, None) => format!("group {}", group.name),
                },
                when: group.when.as_ref().map(|w| text(w.span)),
                members: group.members.iter().map(|n| Id::of(*n)).collect(),
            })
            .collect();
        if !p.finally.is_empty() {
            clusters.push(Cluster {
                id: Id::Finally,
                label: "finally".into(),
                when: None,
                members: p.finally.iter().map(|n| Id::of(*n)).collect(),
            });
        }
        let mut edges = Vec::new();
        for (id, s) in p.stages_with_ids() {
            let reader = Id::Stage(id.index());
            let mut data = Vec::new();
            crate::plan::visit_refs(s, &mut |r| data.extend(producer(r)));
            for (from, label) in data {
                push_edge(&mut edges, from, reader, Some(label), false);
            }
            for d in s.deps.iter().filter(|d| d.kind == DepKind::Order) {
                push_edge(&mut edges, Id::of(d.on), reader, None, true);
            }
        }
        for (g, group) in p.groups.iter().enumerate() {
            let reader = Id::Group(g);
            let mut data = Vec::new();
            let mut note = |r: &Ref| data.extend(producer(r));
            if let Some(w) = &group.when {
                refs_in_cond(&w.value, &mut note);
            }
            if let Some(f) = &group.for_each {
                refs_in_value(&f.value, &mut note);
            }
            if let Some(u) = &group.uses {
                u.args
                    .values()
                    .for_each(|v| refs_in_value(&v.value, &mut note));
            }
            for (from, label) in data {
                push_edge(&mut edges, from, reader, Some(label), false);
            }
            for d in group.deps.iter().filter(|d| d.kind == DepKind::Order) {
                push_edge(&mut edges, Id::of(d.on), reader, None, true);
            }
        }
        Picture {
            stages,
            clusters,
            top: p.main.iter().map(|n| Id::of(*n)).collect(),
            edges,
        }
    }

    fn stage(&self, id: Id) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }

    fn cluster(&self, id: Id) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.id == id)
    }

    fn mermaid(&self) -> String {
        let mut out = String::from("flowchart TB\n");
        for id in &self.top {
            self.mermaid_node(&mut out, *id, 1);
        }
        if let Some(f) = self.cluster(Id::Finally) {
            self.mermaid_cluster(&mut out, f, 1);
        }
        for e in &self.edges {
            let arrow = if e.dashed { "-.->" } else { "-->" };
            let _ = match &e.label {
                Some(l) => writeln!(
                    out,
                    "  {} {arrow}|\"{}\"| {}",
                    e.from.name(),
                    mermaid_text(l),
                    e.to.name()
                ),
                None => writeln!(out, "  {} {arrow} {}", e.from.name(), e.to.name()),
            };
        }
        out
    }

    fn mermaid_node(&self, out: &mut String, id: Id, depth: usize) {
        let pad = "  ".repeat(depth);
        if let Some(c) = self.cluster(id) {
            return self.mermaid_cluster(out, c, depth);
        }
        let Some(s) = self.stage(id) else { return };
        let label = match &s.when {
            Some(w) => mermaid_text(&format!("{}<br/>when {w}", s.label)),
            None => mermaid_text(&s.label),
        };
        // Shapes: a gate is a hexagon; otherwise by kind.
        let (open, close) = match (&s.when, s.kind) {
            (Some(_), _) => ("{{", "}}"),
            (None, StageKind::Train) => ("[[", "]]"),
            (None, StageKind::Register) => ("[(", ")]"),
            (None, StageKind::Deploy) => (">", "]"),
            (None, StageKind::Job) => ("(", ")"),
            (None, StageKind::Prep) => ("[", "]"),
        };
        let _ = writeln!(out, "{pad}{}{open}\"{label}\"{close}", id.name());
    }

    fn mermaid_cluster(&self, out: &mut String, c: &Cluster, depth: usize) {
        let pad = "  ".repeat(depth);
        let label = match &c.when {
            Some(w) => format!("{} when {w}", c.label),
            None => c.label.clone(),
        };
        let _ = writeln!(
            out,
            "{pad}subgraph {}[\"{}\"]",
            c.id.name(),
            mermaid_text(&label)
        );
        for m in &c.members {
            self.mermaid_node(out, *m, depth + 1);
        }
        let _ = writeln!(out, "{pad}end");
    }

    fn dot(&self) -> String {
        let mut out = String::from(
            "digraph pipeline {\n  rankdir=TB;\n  compound=true;\n  node [fontname=\"Helvetica\"];\n",
        );
        for id in &self.top {
            self.dot_node(&mut out, *id, 1);
        }
        if let Some(f) = self.cluster(Id::Finally) {
            self.dot_cluster(&mut out, f, 1);
        }
        for e in &self.edges {
            let mut attrs = Vec::new();
            if let Some(l) = &e.label {
                attrs.push(format!("label={}", dot_text(l)));
            }
            if e.dashed {
                attrs.push("style=dashed".into());
            }
            // An edge from or to a cluster is drawn to one of its nodes,
            // clipped at the cluster's border (`compound=true`).
            let (from, ltail) = self.dot_anchor(e.from);
            let (to, lhead) = self.dot_anchor(e.to);
            attrs.extend(ltail.map(|c| format!("ltail=cluster_{c}")));
            attrs.extend(lhead.map(|c| format!("lhead=cluster_{c}")));
            let _ = match attrs.is_empty() {
                true => writeln!(out, "  {from} -> {to};"),
                false => writeln!(out, "  {from} -> {to} [{}];", attrs.join(", ")),
            };
        }
        out.push_str("}\n");
        out
    }

    /// A node to draw an edge at: a stage, or a cluster's first stage.
    fn dot_anchor(&self, id: Id) -> (String, Option<String>) {
        let mut at = id;
        while let Some(c) = self.cluster(at) {
            match c.members.first() {
                Some(m) => at = *m,
                None => break,
            }
        }
        (at.name(), (at != id).then(|| id.name()))
    }

    fn dot_node(&self, out: &mut String, id: Id, depth: usize) {
        let pad = "  ".repeat(depth);
        if let Some(c) = self.cluster(id) {
            return self.dot_cluster(out, c, depth);
        }
        let Some(s) = self.stage(id) else { return };
        let shape = match (&s.when, s.kind) {
            (Some(_), _) => "hexagon",
            (None, StageKind::Train) => "box3d",
            (None, StageKind::Register) => "cylinder",
            (None, StageKind::Deploy) => "cds",
            (None, StageKind::Job) => "ellipse",
            (None, StageKind::Prep) => "box",
        };
        let label = match &s.when {
            Some(w) => format!("{}\nwhen {w}", s.label),
            None => s.label.clone(),
        };
        let _ = writeln!(
            out,
            "{pad}{} [label={}, shape={shape}];",
            id.name(),
            dot_text(&label)
        );
    }

    fn dot_cluster(&self, out: &mut String, c: &Cluster, depth: usize) {
        let pad = "  ".repeat(depth);
        let label = match &c.when {
            Some(w) => format!("{}\nwhen {w}", c.label),
            None => c.label.clone(),
        };
        let _ = writeln!(out, "{pad}subgraph cluster_{} {{", c.id.name());
        let _ = writeln!(out, "{pad}  label={};", dot_text(&label));
        if c.id == Id::Finally {
            let _ = writeln!(out, "{pad}  style=dashed;");
        }
        for m in &c.members {
            self.dot_node(out, *m, depth + 1);
        }
        let _ = writeln!(out, "{pad}}}");
    }
}

/// The producer a reference reads, and what it reads of it.
fn producer(r: &Ref) -> Option<(Id, String)> {
    match r {
        Ref::Output { stage, output, .. } => Some((stage_id(*stage), output.to_string())),
        Ref::Metric { stage, name, .. } => Some((stage_id(*stage), format!("metrics.{name}"))),
        Ref::GroupOutput { group, output, .. } => Some((group_id(*group), output.to_string())),
        _ => None,
    }
}

fn stage_id(s: StageId) -> Id {
    Id::Stage(s.index())
}

fn group_id(g: GroupId) -> Id {
    Id::Group(g.index())
}

/// One edge per producer, reader and label.
fn push_edge(edges: &mut Vec<Edge>, from: Id, to: Id, label: Option<String>, dashed: bool) {
    if from == to
        || edges
            .iter()
            .any(|e| e.from == from && e.to == to && e.label == label && e.dashed == dashed)
    {
        return;
    }
    edges.push(Edge {
        from,
        to,
        label,
        dashed,
    });
}

/// Text inside a Mermaid `"..."` label: quotes and angle brackets as
/// entities (Mermaid's `#quot;` form), so no label ends the string.
fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace("<br/>", "\u{0}")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
        .replace('\u{0}', "<br/>")
}

/// A DOT string literal.
fn dot_text(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}
