//! Artifact fan-in (§9.2) in the plan: which outputs read outside their
//! loop are artifacts, which loops must carry their items' index for them,
//! and which stages read them.

use std::collections::{BTreeMap, BTreeSet};

use super::{visit_refs, StagePlan};
use crate::sema::hir::{refs_in_cond, refs_in_value, NodeId, Pipeline, Ref, Stage, StageId};

/// Takes the artifacts out of the collected outputs.
pub(super) fn split_artifacts(
    collected: &mut BTreeMap<StageId, BTreeSet<String>>,
    stages: &[StagePlan],
) -> BTreeMap<StageId, BTreeSet<String>> {
    let mut out: BTreeMap<StageId, BTreeSet<String>> = BTreeMap::new();
    for (stage, outputs) in collected.iter_mut() {
        let is_artifact = |o: &String| {
            stages[stage.index()]
                .outputs
                .get(o.as_str())
                .is_some_and(|i| i.ty.is_artifact())
        };
        let artifacts: BTreeSet<String> =
            outputs.iter().filter(|o| is_artifact(o)).cloned().collect();
        outputs.retain(|o| !artifacts.contains(o));
        if !artifacts.is_empty() {
            out.insert(*stage, artifacts);
        }
    }
    collected.retain(|_, o| !o.is_empty());
    out
}

/// Every loop that makes a collected artifact (the producer's own and the
/// loop groups holding it), with the item keys read inside each.
pub(super) fn indexed_loops(
    pipeline: &Pipeline,
    collected_artifacts: &BTreeMap<StageId, BTreeSet<String>>,
    stages: &[StagePlan],
) -> BTreeMap<NodeId, BTreeSet<String>> {
    let mut out: BTreeMap<NodeId, BTreeSet<String>> = BTreeMap::new();
    for &stage in collected_artifacts.keys() {
        for l in index_loops(pipeline, stages, stage) {
            out.entry(l).or_default();
        }
    }
    if out.is_empty() {
        return out;
    }
    let mut note_key = |node: NodeId, key: &Option<crate::syntax::ast::Text>| {
        if let (Some(keys), Some(k)) = (out.get_mut(&node), key) {
            keys.insert(k.to_string());
        }
    };
    for (id, s) in pipeline.stages_with_ids() {
        visit_refs(s, &mut |r| match r {
            Ref::Item(key) => note_key(NodeId::Stage(id), key),
            Ref::GroupItem { group, key } => note_key(NodeId::Group(*group), key),
            _ => {}
        });
    }
    for g in &pipeline.groups {
        let mut f = |r: &Ref| {
            if let Ref::GroupItem { group, key } = r {
                note_key(NodeId::Group(*group), key);
            }
        };
        if let Some(w) = &g.when {
            refs_in_cond(&w.value, &mut f);
        }
        if let Some(u) = &g.uses {
            u.args
                .values()
                .for_each(|v| refs_in_value(&v.value, &mut f));
        }
    }
    out
}

/// The loops whose indices key a stage's collected artifacts, outermost
/// first: the loop groups holding it (inside the group template holding
/// it, if any) and its own `for_each`.
pub fn index_loops(pipeline: &Pipeline, stages: &[StagePlan], stage: StageId) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = pipeline
        .enclosing(NodeId::Stage(stage))
        .into_iter()
        .take_while(|g| pipeline.group(*g).uses.is_none())
        .filter(|g| pipeline.group(*g).for_each.is_some())
        .map(NodeId::Group)
        .collect();
    out.reverse();
    if stages[stage.index()].fan_out.is_some() {
        out.push(NodeId::Stage(stage));
    }
    out
}

/// Whether a stage reads an artifact collected from a loop.
pub(super) fn reads_collected_artifact(
    stage: &Stage,
    collected_artifacts: &BTreeMap<StageId, BTreeSet<String>>,
) -> bool {
    let mut found = false;
    visit_refs(stage, &mut |r| {
        if let Ref::Output {
            stage,
            output,
            fan_in: true,
        } = r
        {
            found |= collected_artifacts
                .get(stage)
                .is_some_and(|o| o.contains(output.as_str()));
        }
    });
    found
}
