//! Whether two syntax trees are the same program: equal in everything but
//! their spans. [`super::ast_without_spans`] says the same through serde
//! (the tests use it); this walk allocates nothing, so checking a
//! formatted 1000-stage file costs a millisecond, not the better part of a
//! second. Every node is taken apart field by field, without `..`, so a
//! field added to the tree does not compile until it is compared here.

use crate::syntax::ast::*;

pub(super) trait Same {
    fn same(&self, other: &Self) -> bool;
}

impl<T: Same> Same for Vec<T> {
    fn same(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a.same(b))
    }
}

impl<T: Same> Same for Option<T> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl<T: Same> Same for Box<T> {
    fn same(&self, other: &Self) -> bool {
        (**self).same(other)
    }
}

impl Same for Ident {
    fn same(&self, other: &Self) -> bool {
        let Ident { name, span: _ } = self;
        *name == other.name
    }
}

impl Same for File {
    fn same(&self, other: &Self) -> bool {
        let File { items, span: _ } = self;
        items.same(&other.items)
    }
}

impl Same for Item {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Item::Import(a), Item::Import(b)) => {
                let Import {
                    target,
                    alias,
                    span: _,
                } = a;
                let target_same = match (target, &b.target) {
                    (ImportTarget::Module(x), ImportTarget::Module(y)) => x.same(y),
                    (
                        ImportTarget::Path { path: x, span: _ },
                        ImportTarget::Path { path: y, span: _ },
                    ) => x == y,
                    _ => false,
                };
                target_same && alias.same(&b.alias)
            }
            (Item::Pipeline(a), Item::Pipeline(b)) => {
                let Pipeline {
                    name,
                    body,
                    span: _,
                } = a;
                name.same(&b.name) && body.same(&b.body)
            }
            (Item::Template(a), Item::Template(b)) => {
                let Template {
                    kind,
                    name,
                    body,
                    span: _,
                } = a;
                kind.same(&b.kind) && name.same(&b.name) && body.same(&b.body)
            }
            _ => false,
        }
    }
}

impl Same for Body {
    fn same(&self, other: &Self) -> bool {
        let Body { entries, span: _ } = self;
        entries.same(&other.entries)
    }
}

impl Same for Entry {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Entry::Param(a), Entry::Param(b))
            | (Entry::Input(a), Entry::Input(b))
            | (Entry::Output(a), Entry::Output(b)) => a.same(b),
            (Entry::When(a), Entry::When(b)) => {
                let When { cond, span: _ } = a;
                cond.same(&b.cond)
            }
            (Entry::Stage(a), Entry::Stage(b)) => {
                let Stage {
                    kind,
                    name,
                    uses,
                    body,
                    span: _,
                } = &**a;
                kind.same(&b.kind) && name.same(&b.name) && uses.same(&b.uses) && body.same(&b.body)
            }
            (Entry::Block(a), Entry::Block(b)) => {
                let BlockField {
                    name,
                    body,
                    span: _,
                } = a;
                name.same(&b.name) && body.same(&b.body)
            }
            (Entry::Field(a), Entry::Field(b)) => {
                let Field {
                    name,
                    value,
                    span: _,
                } = a;
                name.same(&b.name) && value.same(&b.value)
            }
            _ => false,
        }
    }
}

impl Same for Decl {
    fn same(&self, other: &Self) -> bool {
        let Decl {
            name,
            ty,
            value,
            span: _,
        } = self;
        name.same(&other.name) && ty.same(&other.ty) && value.same(&other.value)
    }
}

impl Same for TypeExpr {
    fn same(&self, other: &Self) -> bool {
        let TypeExpr { name, arg, span: _ } = self;
        name.same(&other.name) && arg.same(&other.arg)
    }
}

impl Same for TemplateRef {
    fn same(&self, other: &Self) -> bool {
        let TemplateRef {
            module,
            name,
            span: _,
        } = self;
        module.same(&other.module) && name.same(&other.name)
    }
}

impl Same for Expr {
    fn same(&self, other: &Self) -> bool {
        let Expr { kind, span: _ } = self;
        match (kind, &other.kind) {
            (ExprKind::Str(a), ExprKind::Str(b)) => a.same(b),
            (ExprKind::Int(a), ExprKind::Int(b)) => a == b,
            // As serde would write them: -0.0 is not 0.0.
            (ExprKind::Float(a), ExprKind::Float(b)) => a.to_bits() == b.to_bits(),
            (ExprKind::Unit(a), ExprKind::Unit(b)) => {
                let UnitNumber {
                    text,
                    quantity,
                    duration_secs,
                } = &**a;
                *text == b.text
                    && *quantity == b.quantity
                    && duration_secs.map(f64::to_bits) == b.duration_secs.map(f64::to_bits)
            }
            (ExprKind::Bool(a), ExprKind::Bool(b)) => a == b,
            (ExprKind::List(a), ExprKind::List(b)) => a.same(b),
            (ExprKind::Map(a), ExprKind::Map(b)) => a.same(b),
            (ExprKind::Call(a), ExprKind::Call(b)) => {
                let Call { name, args } = &**a;
                name.same(&b.name) && args.same(&b.args)
            }
            (ExprKind::Ref(a), ExprKind::Ref(b)) => a.same(b),
            (
                ExprKind::Unary { op, operand },
                ExprKind::Unary {
                    op: op2,
                    operand: operand2,
                },
            ) => op == op2 && operand.same(operand2),
            (
                ExprKind::Binary { op, lhs, rhs },
                ExprKind::Binary {
                    op: op2,
                    lhs: lhs2,
                    rhs: rhs2,
                },
            ) => op == op2 && lhs.same(lhs2) && rhs.same(rhs2),
            (ExprKind::Invalid, ExprKind::Invalid) => true,
            _ => false,
        }
    }
}

impl Same for StrPart {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (StrPart::Text(a), StrPart::Text(b)) => a == b,
            (StrPart::Interp(a), StrPart::Interp(b)) => a.same(b),
            _ => false,
        }
    }
}

impl Same for MapEntry {
    fn same(&self, other: &Self) -> bool {
        let MapEntry {
            key,
            value,
            span: _,
        } = self;
        key.same(&other.key) && value.same(&other.value)
    }
}

impl Same for Reference {
    fn same(&self, other: &Self) -> bool {
        let Reference { segments, span: _ } = self;
        segments.same(&other.segments)
    }
}
