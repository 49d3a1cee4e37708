//! The resolved program: names bound, types checked, fields typed.
//!
//! A stage keeps its own fields apart from its template's and the pipeline's
//! `defaults`, so the lowering can share one Argo template between all the
//! stages that use a template.

use crate::collections::IndexMap;
use serde::Serialize;

pub use super::ids::{GroupId, GroupTemplateId, NodeId, StageId, TemplateId};
use super::schema::StageKind;
use super::types::Ty;
use crate::graph::PipelineGraph;
use crate::source::Span;
use crate::syntax::ast::{BinOp, Text, UnaryOp};

#[derive(Debug, Clone, Serialize)]
pub struct Program {
    pub pipelines: Vec<Pipeline>,
    pub templates: Vec<Template>,
    pub group_templates: Vec<GroupTemplate>,
}

impl Program {
    pub fn template(&self, id: TemplateId) -> &Template {
        &self.templates[id.index()]
    }

    pub fn group_template(&self, id: GroupTemplateId) -> &GroupTemplate {
        &self.group_templates[id.index()]
    }
}

/// `template group NAME { ... }` (§9.3): inputs, outputs naming members'
/// outputs, and the members, checked once. Each `group G uses NAME` holds a
/// copy of the members (in its pipeline's `stages` and `groups`); every
/// use shares one Argo DAG template.
#[derive(Debug, Clone, Serialize)]
pub struct GroupTemplate {
    /// As a group names it: `lib.train_and_check`, or `NAME` in the same file.
    pub name: Text,
    /// DNS-1123 form of the qualified name: the shared DAG template's.
    pub dns_name: Text,
    pub inputs: Vec<Input>,
    pub outputs: Vec<GroupOutput>,
    /// The members, with ids of their own (a use remaps them).
    pub stages: Vec<Stage>,
    pub groups: Vec<Group>,
    /// What the template holds directly.
    pub main: Vec<NodeId>,
    pub span: Span,
    #[serde(skip)]
    pub name_span: Span,
}

/// `output NAME: TYPE = MEMBER.OUT` of a group template.
#[derive(Debug, Clone, Serialize)]
pub struct GroupOutput {
    pub name: Text,
    pub ty: Ty,
    /// The member's output (or metric) it is.
    pub source: Ref,
    pub span: Span,
    #[serde(skip)]
    pub name_span: Span,
}

/// `group G uses T { inputs... }`.
#[derive(Debug, Clone, Serialize)]
pub struct GroupUse {
    pub template: GroupTemplateId,
    /// Every input of the template, supplied or defaulted, as the task
    /// that runs the group passes it (read in the group's parent).
    pub args: IndexMap<Text, Spanned<Value>>,
    /// The pipeline's first group that uses the template: the one whose
    /// members are lowered into the shared DAG template.
    pub first: GroupId,
    /// The template's outputs, each naming a member of this group's copy.
    pub outputs: Vec<GroupOutput>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

pub type Fields = IndexMap<Text, Spanned<Value>>;

#[derive(Debug, Clone, Serialize)]
pub struct Template {
    /// As a stage names it: `terraform.plan`, or `NAME` in the same file.
    pub name: Text,
    /// DNS-1123 form of the qualified name, unique across the program.
    pub dns_name: Text,
    pub kind: StageKind,
    pub inputs: Vec<Input>,
    pub outputs: Vec<Output>,
    pub fields: Fields,
    pub when: Option<Spanned<Cond>>,
    pub span: Span,
    /// Where the name is written (the reference index's definition).
    #[serde(skip)]
    pub name_span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub name: Text,
    pub ty: Ty,
    pub default: Option<Spanned<Value>>,
    pub span: Span,
    /// Where the name is written (the reference index's definition).
    #[serde(skip)]
    pub name_span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub name: Text,
    pub ty: Ty,
    pub path: Text,
    pub span: Span,
    /// Where the name is written (the reference index's definition).
    #[serde(skip)]
    pub name_span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub name: Text,
    /// Where the name is written, for diagnostics about the whole pipeline.
    pub name_span: Span,
    pub dns_name: Text,
    pub params: Vec<Param>,
    /// `description`, `schedule`, `namespace`, `mlflow`, ...
    pub settings: Fields,
    /// `defaults { ... }`: applied to every stage that has the field and does
    /// not set it, itself or through its template.
    pub defaults: Fields,
    /// Every stage, in source order: in the main run, in groups and in
    /// `finally` ([`Stage::place`] says where).
    pub stages: Vec<Stage>,
    /// Every group (§9.1), in source order.
    pub groups: Vec<Group>,
    /// What the main run holds directly (outside every group), in source
    /// order.
    pub main: Vec<NodeId>,
    /// What `finally` holds directly, in source order; empty without one.
    pub finally: Vec<NodeId>,
    pub span: Span,
    /// `volume NAME { ... }`: claims made for each run (§9.5).
    pub volumes: Vec<RunVolume>,
    /// The dependency graph of stages and groups, built once by the
    /// checker (which looks for cycles in it) and read by the plan.
    #[serde(skip)]
    pub graph: PipelineGraph,
}

/// A pipeline's `volume NAME { size, storage_class?, access?, keep? }`: a
/// PersistentVolumeClaim made for each run.
#[derive(Debug, Clone, Serialize)]
pub struct RunVolume {
    pub name: Text,
    pub dns_name: Text,
    /// The storage it requests (a Kubernetes quantity).
    pub size: Text,
    pub storage_class: Option<Text>,
    /// One of `schema::ACCESS_MODES`; `ReadWriteOnce` when not written.
    pub access: Text,
    /// Kept when the run ends (deleted with the Workflow object).
    pub keep: bool,
    pub span: Span,
    pub name_span: Span,
}

impl Pipeline {
    pub fn stage(&self, id: StageId) -> &Stage {
        &self.stages[id.index()]
    }

    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id.index()]
    }

    /// Every stage with its id, in source order.
    pub fn stages_with_ids(&self) -> impl Iterator<Item = (StageId, &Stage)> {
        StageId::all(self.stages.len()).zip(&self.stages)
    }

    /// Where a stage or group sits.
    pub fn place(&self, node: NodeId) -> Place {
        match node {
            NodeId::Stage(s) => self.stage(s).place,
            NodeId::Group(g) => self.group(g).place,
        }
    }

    /// A stage's or group's name.
    pub fn node_name(&self, node: NodeId) -> &Text {
        match node {
            NodeId::Stage(s) => &self.stage(s).name,
            NodeId::Group(g) => &self.group(g).name,
        }
    }

    /// The groups that hold a node, innermost first.
    pub fn enclosing(&self, node: NodeId) -> Vec<GroupId> {
        let mut out = Vec::new();
        let mut at = self.place(node).group;
        while let Some(g) = at {
            out.push(g);
            at = self.group(g).place.group;
        }
        out
    }

    /// What a node holds directly: a group's members, or nothing.
    pub fn members(&self, node: NodeId) -> &[NodeId] {
        match node {
            NodeId::Group(g) => &self.group(g).members,
            NodeId::Stage(_) => &[],
        }
    }
}

/// Where a stage or group sits in its pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Place {
    /// The group that holds it directly; `None` at the top of the main run
    /// or of `finally`.
    pub group: Option<GroupId>,
    /// Inside `finally`.
    pub finally: bool,
}

/// `group NAME { ... }` (§9.1): stages and groups that run as one node of
/// the pipeline's graph, once or once per `for_each` item.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: Text,
    pub dns_name: Text,
    pub place: Place,
    /// The items it runs once for: a literal list or a reference to a list.
    pub for_each: Option<Spanned<Value>>,
    /// At most this many items at once.
    pub parallelism: Option<Spanned<i64>>,
    pub when: Option<Spanned<Cond>>,
    /// What it waits for: `after` entries, and the stages its `when` and
    /// `for_each` read.
    pub deps: Vec<Dep>,
    /// Its stages and groups, in source order (for a group that `uses` a
    /// template: its copy of the template's).
    pub members: Vec<NodeId>,
    pub uses: Option<GroupUse>,
    pub span: Span,
    /// Where the name is written.
    #[serde(skip)]
    pub name_span: Span,
    /// As [`Stage::has_errors`].
    #[serde(skip)]
    pub has_errors: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Param {
    pub name: Text,
    pub dns_name: Text,
    pub ty: Ty,
    pub default: Option<Spanned<Value>>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: Text,
    pub dns_name: Text,
    pub kind: StageKind,
    pub uses: Option<TemplateUse>,
    /// The stage's own fields (overriding its template's).
    pub fields: Fields,
    /// The stage's own `output` declarations (its template's are on the template).
    pub outputs: Vec<Output>,
    pub when: Option<Spanned<Cond>>,
    pub tracked: bool,
    pub place: Place,
    /// Stages and groups this one waits for, in source order of first
    /// mention.
    pub deps: Vec<Dep>,
    pub span: Span,
    /// The stage has errors: only in [`super::Analysis::partial`], where
    /// the fields that failed to check are left out, a stage whose
    /// template is unknown has none of it, and one of unknown kind is kept
    /// as a `job` (so each stage keeps its index). Never set in a program
    /// without errors.
    #[serde(skip)]
    pub has_errors: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateUse {
    /// Which of [`Program::templates`].
    pub template: TemplateId,
    /// Every input of the template, supplied or defaulted.
    pub args: IndexMap<Text, Spanned<Value>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DepKind {
    /// The stage reads an output of the other.
    Data,
    /// `after = [...]`.
    Order,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dep {
    /// The stage or group waited for. A data dependency is on a stage
    /// (the one whose output is read), wherever it sits.
    pub on: NodeId,
    pub kind: DepKind,
    /// Where the dependency is written (the reference or the `after` entry).
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum Value {
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Duration {
        secs: f64,
        text: Text,
    },
    Quantity(Text),
    List(Vec<Spanned<Value>>),
    /// Boxed, as the rare `Secret` is: a value is then no bigger than a
    /// reference, and a large program holds hundreds of thousands of them.
    Map(Box<IndexMap<Text, Spanned<Value>>>),
    Ref(Ref),
    Secret(Box<SecretRef>),
    /// A stage or group named in `after`.
    Node(NodeId),
}

/// `secret("name", "key")`, or `config_map("name", "key")` where a field
/// accepts one.
#[derive(Debug, Clone, Serialize)]
pub struct SecretRef {
    pub source: KeySource,
    pub name: Text,
    pub key: Option<Text>,
}

/// The kind of Kubernetes object a [`SecretRef`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum KeySource {
    Secret,
    ConfigMap,
}

impl KeySource {
    /// The function that names it in a program.
    pub fn function(self) -> &'static str {
        match self {
            KeySource::Secret => "secret",
            KeySource::ConfigMap => "config_map",
        }
    }

    /// The Kubernetes kind, as diagnostics say it.
    pub fn kind(self) -> &'static str {
        match self {
            KeySource::Secret => "Secret",
            KeySource::ConfigMap => "ConfigMap",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum StrPart {
    Text(Text),
    Ref(Ref),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Ref {
    Param(Text),
    Input(Text),
    /// A declared or built-in output of a stage (`run_id`, `model`, `version`, ...).
    /// `fan_in`: read from outside a loop that runs the stage, so the list
    /// of every item's value (§9.2).
    Output {
        stage: StageId,
        output: Text,
        fan_in: bool,
    },
    Metric {
        stage: StageId,
        name: Text,
        fan_in: bool,
    },
    /// The current element of the stage's own `for_each`, or one key of it.
    Item(Option<Text>),
    /// The current element of an enclosing loop group (`item` in a member
    /// of the innermost one, `GROUP.item` for any), or one key of it.
    GroupItem {
        group: GroupId,
        key: Option<Text>,
    },
    /// An input of the group template whose copy holds the reader.
    GroupInput(Text),
    /// A declared output of a group that uses a template (`fan_in` as for
    /// stage outputs).
    GroupOutput {
        group: GroupId,
        output: Text,
        fan_in: bool,
    },
    Run(RunField),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunField {
    Name,
    Uid,
    Namespace,
    Pod,
    /// When a scheduled run was due (Argo's `workflow.scheduledTime`).
    ScheduledTime,
    /// How the run ended (`Succeeded`, `Failed`, `Error`): in `finally` only.
    Status,
    /// Argo's JSON list of the failed steps: in `finally` only.
    Failures,
}

impl RunField {
    pub const ALL: [RunField; 7] = [
        RunField::Name,
        RunField::Uid,
        RunField::Namespace,
        RunField::Pod,
        RunField::ScheduledTime,
        RunField::Status,
        RunField::Failures,
    ];

    /// As a reference names it: `run.NAME`.
    pub fn name(self) -> &'static str {
        match self {
            RunField::Name => "name",
            RunField::Uid => "uid",
            RunField::Namespace => "namespace",
            RunField::Pod => "pod",
            RunField::ScheduledTime => "scheduled_time",
            RunField::Status => "status",
            RunField::Failures => "failures",
        }
    }
}

/// The functions of a list in `when` (§9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ListFn {
    Len,
    Max,
    Min,
    Sum,
}

impl ListFn {
    pub const ALL: [ListFn; 4] = [ListFn::Len, ListFn::Max, ListFn::Min, ListFn::Sum];

    pub fn name(self) -> &'static str {
        match self {
            ListFn::Len => "len",
            ListFn::Max => "max",
            ListFn::Min => "min",
            ListFn::Sum => "sum",
        }
    }

    pub fn by_name(name: &str) -> Option<ListFn> {
        ListFn::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, Clone, Serialize)]
pub enum Cond {
    Lit(Value),
    Ref(Ref),
    /// `len(x)`, `max(x)`, ... of a list reference.
    Call {
        func: ListFn,
        arg: Ref,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Cond>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Cond>,
        rhs: Box<Cond>,
    },
}

/// Calls `f` on every reference in a value.
pub fn refs_in_value(v: &Value, f: &mut impl FnMut(&Ref)) {
    match v {
        Value::Ref(r) => f(r),
        Value::Str(parts) => parts.iter().for_each(|p| {
            if let StrPart::Ref(r) = p {
                f(r)
            }
        }),
        Value::List(items) => items.iter().for_each(|i| refs_in_value(&i.value, f)),
        Value::Map(m) => m.values().for_each(|i| refs_in_value(&i.value, f)),
        _ => {}
    }
}

/// Calls `f` on every reference in a condition.
pub fn refs_in_cond(c: &Cond, f: &mut impl FnMut(&Ref)) {
    match c {
        Cond::Lit(v) => refs_in_value(v, f),
        Cond::Ref(r) | Cond::Call { arg: r, .. } => f(r),
        Cond::Unary { operand, .. } => refs_in_cond(operand, f),
        Cond::Binary { lhs, rhs, .. } => {
            refs_in_cond(lhs, f);
            refs_in_cond(rhs, f)
        }
    }
}

/// The `&&` conjuncts of a condition, outermost first.
pub fn conjuncts(c: &Cond) -> Vec<&Cond> {
    match c {
        Cond::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => {
            let mut out = conjuncts(lhs);
            out.extend(conjuncts(rhs));
            out
        }
        other => vec![other],
    }
}
