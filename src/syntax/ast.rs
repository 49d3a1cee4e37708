//! The syntax tree: what the file says, with a span on every node.
//!
//! Nothing is resolved here: field names, stage kinds and type names are plain
//! identifiers, checked by `sema`.

use serde::Serialize;

use crate::source::Span;

/// Names and short texts: held inline up to 24 bytes, so the many small
/// strings of a large file cost no allocation each.
pub type Text = compact_str::CompactString;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ident {
    pub name: Text,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum Item {
    Import(Import),
    Pipeline(Pipeline),
    Template(Template),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Pipeline(p) => p.span,
            Item::Template(t) => t.span,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Import {
    pub target: ImportTarget,
    pub alias: Option<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum ImportTarget {
    /// `std.terraform`: the dotted segments.
    Module(Vec<Ident>),
    /// `"lib/common.mlp"`: the path text (no interpolation) and its span.
    Path { path: String, span: Span },
}

#[derive(Debug, Clone, Serialize)]
pub struct Pipeline {
    pub name: Ident,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Template {
    pub kind: Ident,
    pub name: Ident,
    pub body: Body,
    pub span: Span,
}

/// The entries between braces, in source order.
#[derive(Debug, Clone, Serialize)]
pub struct Body {
    pub entries: Vec<Entry>,
    pub span: Span,
}

/// Large, rare variants are boxed so that the common `Field` sets the size.
#[derive(Debug, Clone, Serialize)]
pub enum Entry {
    Param(Box<Decl>),
    Input(Box<Decl>),
    Output(Box<Decl>),
    When(When),
    Stage(Box<Stage>),
    Block(BlockField),
    Field(Field),
}

impl Entry {
    pub fn span(&self) -> Span {
        match self {
            Entry::Param(d) | Entry::Input(d) | Entry::Output(d) => d.span,
            Entry::When(w) => w.span,
            Entry::Stage(s) => s.span,
            Entry::Block(b) => b.span,
            Entry::Field(f) => f.span,
        }
    }

    /// How a user would call this entry in a message.
    pub fn describe(&self) -> String {
        match self {
            Entry::Param(_) => "a `param` declaration".into(),
            Entry::Input(_) => "an `input` declaration".into(),
            Entry::Output(_) => "an `output` declaration".into(),
            Entry::When(_) => "a `when` condition".into(),
            Entry::Stage(s) => format!("a stage (`{} {}`)", s.kind.name, s.name.name),
            Entry::Block(b) => format!("the block `{}`", b.name.name),
            Entry::Field(f) => format!("the field `{}`", f.name.name),
        }
    }
}

/// `param`, `input` and `output` declarations share this shape; an output's
/// value is its path.
#[derive(Debug, Clone, Serialize)]
pub struct Decl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeExpr {
    pub name: Ident,
    pub arg: Option<Box<TypeExpr>>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct When {
    pub cond: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub kind: Ident,
    pub name: Ident,
    pub uses: Option<TemplateRef>,
    pub body: Body,
    pub span: Span,
}

/// `terraform.plan` or a local `my_template`.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateRef {
    pub module: Option<Ident>,
    pub name: Ident,
    pub span: Span,
}

impl TemplateRef {
    pub fn display(&self) -> String {
        match &self.module {
            Some(m) => format!("{}.{}", m.name, self.name.name),
            None => self.name.name.to_string(),
        }
    }
}

/// `resources { ... }`
#[derive(Debug, Clone, Serialize)]
pub struct BlockField {
    pub name: Ident,
    pub body: Body,
    pub span: Span,
}

/// `image = "..."`
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub enum ExprKind {
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    Unit(Box<UnitNumber>),
    Bool(bool),
    List(Vec<Expr>),
    Map(Vec<MapEntry>),
    /// Boxed: calls are rare and would double the size of every value.
    Call(Box<Call>),
    Ref(Reference),
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// A literal that could not be read; its error is already reported.
    Invalid,
}

impl ExprKind {
    /// What kind of literal or expression this is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            ExprKind::Str(_) => "a string",
            ExprKind::Int(_) => "an int",
            ExprKind::Float(_) => "a float",
            ExprKind::Unit(u) if u.quantity.is_some() && u.duration_secs.is_some() => {
                "a unit number"
            }
            ExprKind::Unit(u) if u.duration_secs.is_some() => "a duration",
            ExprKind::Unit(_) => "a quantity",
            ExprKind::Bool(_) => "a bool",
            ExprKind::List(_) => "a list",
            ExprKind::Map(_) => "a map",
            ExprKind::Call(_) => "a function call",
            ExprKind::Ref(_) => "a reference",
            ExprKind::Unary { .. } | ExprKind::Binary { .. } => "an expression",
            ExprKind::Invalid => "an invalid literal",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub name: Ident,
    pub args: Vec<Expr>,
}

#[derive(Debug, Clone, Serialize)]
pub enum StrPart {
    Text(Text),
    Interp(Reference),
}

/// A number with a unit: `64Gi`, `500m`, `30s`, `1h30m`.
#[derive(Debug, Clone, Serialize)]
pub struct UnitNumber {
    pub text: Text,
    /// The canonical Kubernetes quantity, when the unit is a quantity suffix.
    pub quantity: Option<Text>,
    /// Whole seconds, when the text is a duration.
    pub duration_secs: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MapEntry {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `name`, `stage.output`, `stage.metrics.name`, `run.uid`, `item.key`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reference {
    pub segments: Vec<Ident>,
    pub span: Span,
}

impl Reference {
    pub fn display(&self) -> String {
        self.segments
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnaryOp {
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
        }
    }
}
