//! The stages and groups of a body — a pipeline's, or a group template's
//! (§9.3) — checked the same way: their signatures first (references may
//! point forward), then each group's fields and each stage, then the
//! graph's cycles.

use crate::collections::HashSet;

use super::check::{Checker, PipelineCx};
use super::groups::{GroupDecl, StageDecl};
use super::hir::{self, Fields, NodeId, Spanned, Value};
use super::ids::{GroupId, ModuleId, StageId};
use super::schema::StageKind;
use super::stages::CheckedStage;
use crate::diag::MlpError;
use crate::graph::PipelineGraph;
use crate::syntax::ast::Ident;

impl Checker<'_> {
    /// The body's names — `before` (its parameters or inputs), then its
    /// stages, then its groups — in one namespace: each unique, not
    /// reserved, a DNS-1123 label. The indexes (in that order) of those
    /// defined twice.
    pub(super) fn member_names(
        &mut self,
        before: &[&Ident],
        stage_decls: &[StageDecl],
        group_decls: &[GroupDecl],
        what: &str,
    ) -> HashSet<usize> {
        let names: Vec<&Ident> = before
            .iter()
            .copied()
            .chain(stage_decls.iter().map(|s| &s.stage.name))
            .chain(group_decls.iter().map(|g| &g.name))
            .collect();
        let duplicates = self.unique_names(&names, "name");
        for name in &names {
            if self.declare_name(name, what) {
                self.dns_label(name, 63);
            }
        }
        duplicates
    }

    /// Every member's signature, and the index from names to members.
    /// `duplicates` numbers the body's names with `before` names (its
    /// parameters or inputs) ahead of the stages, then the groups.
    pub(super) fn member_sigs(
        &mut self,
        module: ModuleId,
        stage_decls: &[StageDecl],
        group_decls: &[GroupDecl],
        duplicates: &HashSet<usize>,
        before: usize,
        pcx: &mut PipelineCx,
    ) {
        for (i, s) in stage_decls.iter().enumerate() {
            let (sig, defs) = self.stage_sig(module, &s.stage);
            if !duplicates.contains(&(i + before)) {
                pcx.stage_index
                    .insert(s.stage.name.name.clone(), StageId::new(pcx.stages.len()));
            }
            pcx.stages.push(sig);
            pcx.stage_defs.push(defs);
        }
        let groups_from = before + stage_decls.len();
        for (i, g) in group_decls.iter().enumerate() {
            if !duplicates.contains(&(groups_from + i)) {
                pcx.group_index.insert(g.name.name.clone(), GroupId::new(i));
            }
        }
    }

    /// Checks every group and stage of a body. `mlflow` is the pipeline's
    /// `mlflow` block (`Some(None)` without one); `None` in a group
    /// template, whose uses are checked for it. Returns the stages, the
    /// groups, and whether every stage is whole (kind and template known).
    pub(super) fn check_members(
        &mut self,
        module: ModuleId,
        stage_decls: Vec<StageDecl>,
        group_decls: &[GroupDecl],
        pcx: &PipelineCx,
        defaults: &Fields,
        mlflow: Option<Option<&Spanned<Value>>>,
    ) -> (Vec<hir::Stage>, Vec<hir::Group>, bool) {
        let groups: Vec<hir::Group> = group_decls
            .iter()
            .map(|g| self.group(module, g, pcx))
            .collect();
        let mut stages = Vec::with_capacity(stage_decls.len());
        // Every stage is whole (kind and template known): only then are
        // cycles looked for, as a stage that is not may lack dependencies.
        let mut every_stage_whole = true;
        for (i, decl) in stage_decls.into_iter().enumerate() {
            let s = decl.stage;
            let CheckedStage { mut stage, whole } =
                self.stage(module, &s, StageId::new(i), pcx, defaults);
            every_stage_whole &= whole;
            if let (true, Some(mlflow)) = (whole, mlflow) {
                let errors_from = self.diags.items.len();
                self.needs_mlflow(&stage, s.name.span, mlflow);
                stage.has_errors |= self.errors_since(errors_from);
            }
            stages.push((stage, whole));
        }
        for (stage, _) in stages.iter_mut().filter(|(_, whole)| *whole) {
            let errors_from = self.diags.items.len();
            self.values_in_code(stage, defaults);
            stage.has_errors |= self.errors_since(errors_from);
        }
        let stages = stages.into_iter().map(|(s, _)| s).collect();
        (stages, groups, every_stage_whole)
    }

    /// E0210 for a stage that needs the pipeline's MLflow block it lacks,
    /// W0201 for a deploy stage without an artifact store.
    pub(super) fn needs_mlflow(
        &mut self,
        stage: &hir::Stage,
        at: crate::source::Span,
        mlflow: Option<&Spanned<Value>>,
    ) {
        let needs = match stage.kind {
            _ if stage.tracked => Some("it is tracked"),
            StageKind::Register => Some("`register` stages use the MLflow Model Registry"),
            StageKind::Deploy => {
                Some("`deploy` stages find the model in the MLflow Model Registry")
            }
            _ => None,
        };
        if let (Some(reason), None) = (needs, mlflow) {
            self.push(MlpError::TrackingNeedsMlflow {
                src: self.src(at),
                at,
                stage: stage.name.to_string(),
                reason: reason.into(),
                tracked: stage.tracked,
            });
        }
        if stage.kind == StageKind::Deploy {
            let has_store = matches!(mlflow, Some(Spanned { value: Value::Map(m), .. }) if m.contains_key("artifact_store"));
            if !has_store {
                self.push(MlpError::DeployWithoutArtifactStore {
                    src: self.src(at),
                    at,
                    stage: stage.name.to_string(),
                });
            }
        }
    }

    /// The graph of a body's members; its cycles are reported (when every
    /// stage is whole) and their nodes marked.
    pub(super) fn member_graph(
        &mut self,
        stages: &mut [hir::Stage],
        groups: &mut [hir::Group],
        every_stage_whole: bool,
    ) -> PipelineGraph {
        let graph = PipelineGraph::new(stages, groups);
        if every_stage_whole {
            for cycle in graph.cycles() {
                self.push(graph.cycle_error(self.sources, stages, groups, &cycle));
                for &node in &cycle {
                    match node {
                        NodeId::Stage(i) => stages[i.index()].has_errors = true,
                        NodeId::Group(g) => groups[g.index()].has_errors = true,
                    }
                }
            }
        }
        graph
    }
}
