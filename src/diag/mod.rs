//! Diagnostics: the one error enum, its code registry and its renderers.
//!
//! Every variant has a stable code from [`codes::CODES`], named fields, a
//! primary label and help where a fix is known. Each variant carries the
//! source of the file it points into, so diagnostics for the user's file,
//! imported files and the standard library can be mixed in one report.
//!
//! - `error.rs`: the enum, [`MlpError`], with every variant and message;
//! - `info.rs`: what is asked of one diagnostic (code, severity, file);
//! - `labels.rs`: its [`Label`]s and help;
//! - `collection.rs`: [`Diagnostics`], the diagnostics of one run;
//! - `suggest.rs`: "did you mean" suggestions;
//! - `codes.rs`: the code registry; `render.rs`: one renderer per format
//!   (`render/` is the only place that knows how the human report is drawn).

pub mod codes;
mod collection;
mod error;
mod info;
mod labels;
pub mod render;
mod suggest;

pub use collection::Diagnostics;
pub use error::MlpError;
pub use info::Severity;
pub use labels::Label;
pub use suggest::{closest, did_you_mean};

/// The file a diagnostic points into: its [`SourceId`](crate::SourceId)
/// and a shared handle to its name, text and line index (what the renderers
/// read to draw snippets and count lines).
pub type Src = crate::source::SourceRef;
