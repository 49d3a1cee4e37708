//! What is asked of one diagnostic: its code, its severity, its file, and
//! the internal-error constructor.

use miette::{Diagnostic, Severity};

use super::{MlpError, Src};
use crate::source::SourceId;

impl MlpError {
    /// An internal compiler error: the grammar and a builder disagree.
    pub fn ice(message: impl Into<String>) -> Self {
        MlpError::Internal {
            message: message.into(),
        }
    }

    /// The registry code, e.g. `mlp::E0101`.
    pub fn code_str(&self) -> String {
        self.code().map(|c| c.to_string()).unwrap_or_default()
    }

    pub fn is_error(&self) -> bool {
        !matches!(
            self.severity(),
            Some(Severity::Warning) | Some(Severity::Advice)
        )
    }

    /// The file the diagnostic points into; `None` for an internal error.
    pub fn src(&self) -> Option<&Src> {
        match self {
            MlpError::Syntax { src, .. }
            | MlpError::UnterminatedString { src, .. }
            | MlpError::UnknownEscape { src, .. }
            | MlpError::BadNumber { src, .. }
            | MlpError::TooDeep { src, .. }
            | MlpError::NotUtf8 { src, .. }
            | MlpError::NulByte { src, .. }
            | MlpError::ImportAfterItem { src, .. }
            | MlpError::UnknownName { src, .. }
            | MlpError::ReservedName { src, .. }
            | MlpError::Duplicate { src, .. }
            | MlpError::DnsCollision { src, .. }
            | MlpError::UnknownModule { src, .. }
            | MlpError::ImportNotFound { src, .. }
            | MlpError::ImportCycle { src, .. }
            | MlpError::UnknownTemplate { src, .. }
            | MlpError::UnknownOutput { src, .. }
            | MlpError::ItemOutsideForEach { src, .. }
            | MlpError::UndeclaredMetric { src, .. }
            | MlpError::StageAsValue { src, .. }
            | MlpError::UnknownField { src, .. }
            | MlpError::MissingField { src, .. }
            | MlpError::ExclusiveFields { src, .. }
            | MlpError::TypeMismatch { src, .. }
            | MlpError::WrongUnit { src, .. }
            | MlpError::FieldNotForKind { src, .. }
            | MlpError::TemplateKindMismatch { src, .. }
            | MlpError::MissingInput { src, .. }
            | MlpError::EntryNotAllowed { src, .. }
            | MlpError::TrackingNeedsMlflow { src, .. }
            | MlpError::BadTrackingUri { src, .. }
            | MlpError::RegisterModelSource { src, .. }
            | MlpError::DeployModelSource { src, .. }
            | MlpError::InvalidCron { src, .. }
            | MlpError::ArgoPlaceholder { src, .. }
            | MlpError::InvalidValue { src, .. }
            | MlpError::UnknownType { src, .. }
            | MlpError::ArtifactValueMismatch { src, .. }
            | MlpError::BadSecret { src, .. }
            | MlpError::UnknownFunction { src, .. }
            | MlpError::BadCondition { src, .. }
            | MlpError::BadOutputPath { src, .. }
            | MlpError::InputShadowsField { src, .. }
            | MlpError::UnknownStageKind { src, .. }
            | MlpError::FanInNotSupported { src, .. }
            | MlpError::CompileTimeValue { src, .. }
            | MlpError::UnknownItemKey { src, .. }
            | MlpError::OutputShadowsBuiltin { src, .. }
            | MlpError::ValueInCode { src, .. }
            | MlpError::ImageWithoutDigest { src, .. }
            | MlpError::Cycle { src, .. }
            | MlpError::InvalidK8sName { src, .. }
            | MlpError::InvalidMetadata { src, .. }
            | MlpError::RbacNamespaceUnknown { src, .. }
            | MlpError::DeployWithoutArtifactStore { src, .. }
            | MlpError::WorkflowTooLarge { src, .. }
            | MlpError::UnpinnedImage { src, .. }
            | MlpError::NoCommand { src, .. }
            | MlpError::UnknownGpuType { src, .. }
            | MlpError::RunTimeIdentity { src, .. }
            | MlpError::PlainHttpCredentials { src, .. }
            | MlpError::CredentialsInUrl { src, .. } => Some(src),
            MlpError::Internal { .. } => None,
        }
    }

    /// The id of the file the diagnostic points into.
    pub fn source_id(&self) -> Option<SourceId> {
        self.src().map(Src::id)
    }

    /// Errors about the file itself rather than its program: exit code 2.
    pub fn is_io(&self) -> bool {
        matches!(self, MlpError::NotUtf8 { .. })
    }
}
