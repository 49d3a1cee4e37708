//! Groups (§9.1) and `finally` (§9.4): where each stage and group of a
//! pipeline sits, and the fields of a group.
//!
//! A pipeline's body is taken apart once ([`Checker::layout`]): every
//! stage, wherever it is written, joins one flat list (its id is its place
//! in source order), and so does every group; each remembers the group
//! that holds it and whether it is in `finally`. References then resolve
//! by name across the whole pipeline, as names share one namespace.

use crate::collections::{HashMap, HashSet, IndexMap};

use super::check::{Checker, Deps, GroupSig, Item, Node, PipelineCx, Scope};
use super::hir::{self, Place, Spanned, Value};
use super::ids::{GroupId, GroupTemplateId, ModuleId, NodeId, StageId};
use super::k8s::dns_name;
use super::schema;
use crate::diag::MlpError;
use crate::source::Span;
use crate::syntax::ast::{self, Entry, Ident, Text};

/// Groups hold one another at most this deep.
pub const MAX_GROUP_DEPTH: usize = 8;

/// The fields a group has; everything else in it is a stage or a group.
const GROUP_FIELDS: &[&str] = &["for_each", "parallelism", "after"];

/// A stage as written, and where it sits.
pub(super) struct StageDecl {
    pub(super) stage: Box<ast::Stage>,
    pub(super) place: Place,
}

/// A group as written, without its members (they are in the layout).
pub(super) struct GroupDecl {
    pub(super) name: Ident,
    pub(super) span: Span,
    pub(super) uses: Option<ast::TemplateRef>,
    pub(super) place: Place,
    /// Its own entries: fields and `when`.
    pub(super) entries: Vec<Entry>,
    pub(super) members: Vec<NodeId>,
}

/// Every stage and group of a pipeline, in source order.
#[derive(Default)]
pub(super) struct Layout {
    pub(super) stages: Vec<StageDecl>,
    pub(super) groups: Vec<GroupDecl>,
    /// What the main run holds directly.
    pub(super) main: Vec<NodeId>,
    /// What `finally` holds directly.
    pub(super) finally: Vec<NodeId>,
}

/// Whether an entry is a group (`group NAME { ... }`).
fn is_group(s: &ast::Stage) -> bool {
    s.kind.name == "group"
}

impl Checker<'_> {
    /// Takes a pipeline's stages, groups and `finally` out of its entries;
    /// returns them, and the entries left (settings, parameters, ...).
    pub(super) fn layout(&mut self, entries: Vec<Entry>) -> (Layout, Vec<Entry>) {
        let mut layout = Layout::default();
        let mut rest = Vec::new();
        let mut main = Vec::new();
        let mut finally_at: Option<Span> = None;
        for entry in entries {
            match entry {
                Entry::Block(b) if b.name.name == "finally" => {
                    if let Some(first) = finally_at {
                        self.push(MlpError::Duplicate {
                            src: self.src(b.name.span),
                            what: "block".into(),
                            name: "finally".into(),
                            again: b.name.span,
                            first,
                        });
                    }
                    finally_at.get_or_insert(b.name.span);
                    let place = Place {
                        group: None,
                        finally: true,
                    };
                    let mut members = Vec::new();
                    let mut own = Vec::new();
                    self.collect(
                        b.body.entries,
                        place,
                        0,
                        &mut layout,
                        &mut members,
                        &mut own,
                    );
                    for e in own {
                        self.not_in_finally(&e);
                    }
                    layout.finally.extend(members);
                }
                // Run volumes are the pipeline's own entries.
                Entry::Stage(s) if s.kind.name == "volume" => rest.push(Entry::Stage(s)),
                Entry::Stage(s) => {
                    self.member(s, Place::default(), 0, &mut layout, &mut main);
                }
                other => rest.push(other),
            }
        }
        layout.main = main;
        (layout, rest)
    }

    /// Stages and groups of `entries` join the layout as members at
    /// `place`; other entries go to `own`.
    fn collect(
        &mut self,
        entries: Vec<Entry>,
        place: Place,
        depth: usize,
        layout: &mut Layout,
        members: &mut Vec<NodeId>,
        own: &mut Vec<Entry>,
    ) {
        for entry in entries {
            match entry {
                Entry::Stage(s) => self.member(s, place, depth, layout, members),
                other => own.push(other),
            }
        }
    }

    /// One stage or group (with everything it holds) at `place`.
    fn member(
        &mut self,
        s: Box<ast::Stage>,
        place: Place,
        depth: usize,
        layout: &mut Layout,
        members: &mut Vec<NodeId>,
    ) {
        if matches!(s.kind.name.as_str(), "volume" | "sidecar") {
            let help = match s.kind.name.as_str() {
                "volume" => "declare run volumes at the top of the pipeline, beside its parameters; any stage can mount them",
                _ => "a sidecar runs beside one stage's container: write it inside that stage (or in `defaults` for every stage)",
            };
            self.push(MlpError::EntryNotAllowed {
                src: self.src(s.kind.span),
                at: s.kind.span,
                entry: format!("`{} {}`", s.kind.name, s.name.name),
                place: match place.group {
                    Some(_) => "a group".into(),
                    None if place.finally => "`finally`".into(),
                    None => "the pipeline's stages".into(),
                },
                help: Some(help.into()),
            });
            return;
        }
        if !is_group(&s) {
            members.push(NodeId::Stage(StageId::new(layout.stages.len())));
            layout.stages.push(StageDecl { stage: s, place });
            return;
        }
        let id = GroupId::new(layout.groups.len());
        members.push(NodeId::Group(id));
        if depth + 1 == MAX_GROUP_DEPTH + 1 {
            self.push(MlpError::GroupTooDeep {
                src: self.src(s.name.span),
                at: s.name.span,
                depth: depth + 1,
                limit: MAX_GROUP_DEPTH,
            });
        }
        let ast::Stage {
            name,
            uses,
            body,
            span,
            ..
        } = *s;
        layout.groups.push(GroupDecl {
            name,
            span,
            uses,
            place,
            entries: Vec::new(),
            members: Vec::new(),
        });
        let inner = Place {
            group: Some(id),
            finally: place.finally,
        };
        let mut own = Vec::new();
        let mut inner_members = Vec::new();
        self.collect(
            body.entries,
            inner,
            depth + 1,
            layout,
            &mut inner_members,
            &mut own,
        );
        let decl = &mut layout.groups[id.index()];
        decl.entries = own;
        decl.members = inner_members;
    }

    /// An entry of `finally` that is no stage or group.
    fn not_in_finally(&mut self, e: &Entry) {
        self.push(MlpError::EntryNotAllowed {
            src: self.src(e.span()),
            at: e.span(),
            entry: e.describe(),
            place: "`finally`".into(),
            help: Some("`finally` holds stages and groups; set fields on them".into()),
        });
    }

    /// What references see of each group, before any body is checked.
    pub(super) fn group_sigs(&mut self, module: ModuleId, groups: &[GroupDecl]) -> Vec<GroupSig> {
        groups
            .iter()
            .map(|g| {
                let outputs = g
                    .uses
                    .as_ref()
                    .filter(|_| !self.in_group_template)
                    .and_then(|r| self.resolve_group_template(module, r))
                    .map(|t| {
                        self.group_templates[t.index()]
                            .outputs
                            .iter()
                            .map(|o| (o.name.clone(), o.ty.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                GroupSig {
                    name: g.name.name.clone(),
                    name_span: g.name.span,
                    place: g.place,
                    for_each: g.entries.iter().find_map(|e| match e {
                        Entry::Field(f) if f.name.name == "for_each" => Some(f.span),
                        _ => None,
                    }),
                    outputs,
                    item_keys: super::stages::literal_item_keys_of(&g.entries),
                }
            })
            .collect()
    }

    /// A group's own fields: `for_each`, `parallelism`, `when`, `after`.
    pub(super) fn group(
        &mut self,
        module: ModuleId,
        decl: &GroupDecl,
        pcx: &PipelineCx,
    ) -> hir::Group {
        let errors_from = self.diags.items.len();
        let place_text = format!("group `{}`", decl.name.name);
        let template = match &decl.uses {
            Some(uses) if self.in_group_template => {
                self.push(MlpError::EntryNotAllowed {
                    src: self.src(uses.span),
                    at: uses.span,
                    entry: format!("`uses {}`", uses.display()),
                    place: "a group template".into(),
                    help: Some("a group template's groups hold their stages themselves; group templates used inside group templates come after contract v2".into()),
                });
                None
            }
            // Reported when the signatures were made.
            Some(uses) => self.group_template_quiet(module, uses),
            None => None,
        };
        if let (Some(_), Some(first)) = (&decl.uses, decl.members.first()) {
            let at = match first {
                NodeId::Stage(_) | NodeId::Group(_) => decl.name.span,
            };
            self.push(MlpError::EntryNotAllowed {
                src: self.src(at),
                at,
                entry: "stages or groups".into(),
                place: format!("{place_text}, which uses a template"),
                help: Some("a group that `uses` a template runs the template's members; put more stages beside it, or in the template".into()),
            });
        }
        let inputs: Vec<hir::Input> = template
            .map(|t| self.group_templates[t.index()].inputs.clone())
            .unwrap_or_default();
        let deps = Deps::default();
        let loops = decl
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Field(f) if f.name.name == "for_each"));
        // The group's fields are decided on the task that calls it, in the
        // group's parent: references resolve there. Only `when` sees the
        // group's own item, as a looping stage's `when` does.
        let scope = |for_each| Scope::Pipeline {
            pcx,
            deps: Some(&deps),
            for_each,
            item_keys: None,
            place: decl.place,
        };
        let mut for_each = None;
        let mut parallelism = None;
        let mut when: Option<Spanned<hir::Cond>> = None;
        let mut when_span: Option<Span> = None;
        let mut seen: HashMap<&str, Span> = HashMap::default();
        let mut args: IndexMap<Text, Spanned<Value>> = IndexMap::default();
        let mut supplied: HashSet<String> = HashSet::default();
        for entry in &decl.entries {
            match entry {
                // An input of the template: the calling task passes it, so
                // it reads what the group's parent sees, `item` included.
                Entry::Field(f) if inputs.iter().any(|i| i.name == f.name.name) => {
                    if !self.first_time(&mut seen, &f.name, "input") {
                        continue;
                    }
                    supplied.insert(f.name.name.to_string());
                    let input = inputs.iter().find(|i| i.name == f.name.name).cloned();
                    if let Some(input) = input {
                        if let Some(v) = self.assign(
                            &f.value,
                            &input.ty,
                            scope(loops),
                            &format!("input `{}`", input.name),
                        ) {
                            args.insert(
                                f.name.name.clone(),
                                Spanned {
                                    value: v,
                                    span: f.span,
                                },
                            );
                        }
                    }
                }
                Entry::Field(f) if GROUP_FIELDS.contains(&f.name.name.as_str()) => {
                    if !self.first_time(&mut seen, &f.name, "field") {
                        continue;
                    }
                    let value = match f.name.name.as_str() {
                        "for_each" => self.for_each(&f.value, scope(false)),
                        "after" => self.after(&f.value, scope(false)),
                        _ => schema::stage_field("parallelism", None)
                            .and_then(Result::ok)
                            .and_then(|spec| {
                                self.field(
                                    spec,
                                    Item {
                                        key: &f.name,
                                        node: Node::Expr(&f.value),
                                        span: f.span,
                                    },
                                    scope(false),
                                )
                            })
                            .map(|v| v.value),
                    };
                    let Some(value) = value else { continue };
                    let spanned = Spanned {
                        value,
                        span: f.value.span,
                    };
                    match f.name.name.as_str() {
                        "for_each" => for_each = Some(spanned),
                        "parallelism" => {
                            if let Value::Int(n) = spanned.value {
                                parallelism = Some(Spanned {
                                    value: n,
                                    span: spanned.span,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                Entry::When(w) => {
                    if let Some(checked) = self.when_entry(w, &mut when_span, scope(loops)) {
                        when = checked;
                    }
                }
                Entry::Field(f) => self.unknown_field(&f.name, &place_text, GROUP_FIELDS),
                Entry::Block(b) if b.name.name == "finally" => {
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(b.name.span),
                        at: b.name.span,
                        entry: "a `finally` block".into(),
                        place: place_text.clone(),
                        help: Some("`finally` belongs at the top of a pipeline; a group's own `finally` comes after contract v2".into()),
                    });
                }
                Entry::Block(b) => self.unknown_field(&b.name, &place_text, GROUP_FIELDS),
                other => {
                    self.push(MlpError::EntryNotAllowed {
                        src: self.src(other.span()),
                        at: other.span(),
                        entry: other.describe(),
                        place: place_text.clone(),
                        help: Some("a group holds `for_each`, `parallelism`, `when`, `after`, stages and groups; declare outputs in its stages".into()),
                    });
                }
            }
        }
        let uses = match (template, &decl.uses) {
            (Some(t), Some(r)) => {
                self.default_inputs(
                    &inputs,
                    &supplied,
                    &mut args,
                    &decl.name,
                    &r.display(),
                    "group",
                );
                Some(hir::GroupUse {
                    template: t,
                    args,
                    // Set when the members are copied in (`instantiate`).
                    first: GroupId::new(0),
                    outputs: Vec::new(),
                    span: r.span,
                })
            }
            _ => None,
        };
        if decl.members.is_empty() && decl.uses.is_none() {
            self.invalid(
                decl.name.span,
                "group",
                "it holds no stage",
                Some("put stages (or groups) inside the braces; a group runs what it holds".into()),
            );
        }
        if let (Some(p), None) = (&parallelism, &for_each) {
            self.invalid(
                p.span,
                "parallelism",
                "the group has no `for_each`; `parallelism` limits how many of its items run at once",
                Some("add `for_each = [...]`, or remove `parallelism`".into()),
            );
        }
        hir::Group {
            name: decl.name.name.clone(),
            dns_name: dns_name(&decl.name.name).into(),
            place: decl.place,
            for_each,
            parallelism,
            when,
            deps: deps.into_first_mentions(),
            members: decl.members.clone(),
            uses,
            span: decl.span,
            name_span: decl.name.span,
            has_errors: self.errors_since(errors_from),
        }
    }

    /// The group template `r` names, without reporting (the signatures
    /// did).
    fn group_template_quiet(
        &self,
        module: ModuleId,
        r: &ast::TemplateRef,
    ) -> Option<GroupTemplateId> {
        match self.template_slot(module, r)? {
            super::check::TemplateSlot::Group(g) => Some(g),
            _ => None,
        }
    }
}
