//! The type system: value types, artifact types and assignability.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ArtifactKind {
    Dataset,
    Model,
    File,
    Dir,
    Artifact,
}

impl ArtifactKind {
    pub fn name(self) -> &'static str {
        match self {
            ArtifactKind::Dataset => "dataset",
            ArtifactKind::Model => "model",
            ArtifactKind::File => "file",
            ArtifactKind::Dir => "dir",
            ArtifactKind::Artifact => "artifact",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Ty {
    String,
    Int,
    Float,
    Bool,
    Duration,
    Quantity,
    List(Box<Ty>),
    Map,
    Artifact(ArtifactKind),
    /// A train stage's `model`: the MLflow URI `runs:/<run_id>/<model_path>`.
    ModelUri,
    /// Not known at compile time (`item` of a fan-out over a runtime list).
    Any,
}

/// The names a declaration may use, for "did you mean".
pub const TYPE_NAMES: &[&str] = &[
    "string", "int", "float", "bool", "duration", "quantity", "list", "map", "dataset", "model",
    "file", "dir", "artifact",
];

impl Ty {
    /// The type named in a declaration; `None` for an unknown name.
    pub fn from_name(name: &str, arg: Option<Ty>) -> Option<Ty> {
        Some(match (name, arg) {
            ("list", Some(elem)) => Ty::List(Box::new(elem)),
            ("list", None) => Ty::List(Box::new(Ty::Any)),
            (_, Some(_)) => return None,
            ("string", None) => Ty::String,
            ("int", None) => Ty::Int,
            ("float", None) => Ty::Float,
            ("bool", None) => Ty::Bool,
            ("duration", None) => Ty::Duration,
            ("quantity", None) => Ty::Quantity,
            ("map", None) => Ty::Map,
            ("dataset", None) => Ty::Artifact(ArtifactKind::Dataset),
            ("model", None) => Ty::Artifact(ArtifactKind::Model),
            ("file", None) => Ty::Artifact(ArtifactKind::File),
            ("dir", None) => Ty::Artifact(ArtifactKind::Dir),
            ("artifact", None) => Ty::Artifact(ArtifactKind::Artifact),
            _ => return None,
        })
    }

    /// How messages name a value of this type: "a string", "an artifact of type `file`".
    pub fn describe(&self) -> String {
        match self {
            Ty::String => "a string".into(),
            Ty::Int => "an int".into(),
            Ty::Float => "a float".into(),
            Ty::Bool => "a bool".into(),
            Ty::Duration => "a duration".into(),
            Ty::Quantity => "a quantity".into(),
            Ty::List(elem) if **elem == Ty::Any => "a list".into(),
            Ty::List(elem) => format!("a list of {}", elem.name()),
            Ty::Map => "a map".into(),
            Ty::Artifact(k) => format!("an artifact of type `{}`", k.name()),
            Ty::ModelUri => "an MLflow model URI".into(),
            Ty::Any => "a value".into(),
        }
    }

    /// The type as written in a declaration.
    pub fn name(&self) -> String {
        match self {
            Ty::String => "string".into(),
            Ty::Int => "int".into(),
            Ty::Float => "float".into(),
            Ty::Bool => "bool".into(),
            Ty::Duration => "duration".into(),
            Ty::Quantity => "quantity".into(),
            Ty::List(elem) => format!("list[{}]", elem.name()),
            Ty::Map => "map".into(),
            Ty::Artifact(k) => k.name().into(),
            Ty::ModelUri => "model URI".into(),
            Ty::Any => "any".into(),
        }
    }

    pub fn is_artifact(&self) -> bool {
        matches!(self, Ty::Artifact(_))
    }

    /// A value that has one textual form: what a command line can carry.
    pub fn is_scalar(&self) -> bool {
        matches!(
            self,
            Ty::String
                | Ty::Int
                | Ty::Float
                | Ty::Bool
                | Ty::Duration
                | Ty::Quantity
                | Ty::ModelUri
                | Ty::Any
        )
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }
}

/// Whether a value of type `found` may stand where `expected` is declared.
/// Scalars become strings (Argo parameters are strings); ints widen to
/// floats and quantities; any artifact fits `artifact`.
pub fn assignable(found: &Ty, expected: &Ty) -> bool {
    match (found, expected) {
        (Ty::Any, _) | (_, Ty::Any) => true,
        (f, e) if f == e => true,
        (f, Ty::String) => f.is_scalar(),
        (Ty::Int, Ty::Float | Ty::Quantity) => true,
        (Ty::Float, Ty::Quantity) => true,
        (Ty::List(f), Ty::List(e)) => assignable(f, e),
        (Ty::Artifact(f), Ty::Artifact(e)) => {
            f == e || *e == ArtifactKind::Artifact || *f == ArtifactKind::Artifact
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignability() {
        assert!(assignable(&Ty::Int, &Ty::Float));
        assert!(!assignable(&Ty::Float, &Ty::Int));
        assert!(assignable(&Ty::Int, &Ty::String));
        assert!(!assignable(&Ty::String, &Ty::Int));
        assert!(!assignable(&Ty::Artifact(ArtifactKind::File), &Ty::String));
        assert!(!assignable(&Ty::String, &Ty::Artifact(ArtifactKind::File)));
        assert!(assignable(
            &Ty::Artifact(ArtifactKind::Dataset),
            &Ty::Artifact(ArtifactKind::Artifact)
        ));
        assert!(!assignable(
            &Ty::Artifact(ArtifactKind::Dataset),
            &Ty::Artifact(ArtifactKind::Model)
        ));
        assert!(assignable(
            &Ty::List(Box::new(Ty::Int)),
            &Ty::List(Box::new(Ty::Float))
        ));
    }
}
