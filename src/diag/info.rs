//! What is asked of one diagnostic: its code, its severity, its file, and
//! the internal-error constructor.

use super::codes::{self, Code};
use super::{MlpError, Src};
use crate::source::SourceId;

/// How bad a diagnostic is; it follows from the code (`W` codes warn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl MlpError {
    /// An internal compiler error: the grammar and a builder disagree.
    pub fn ice(message: impl Into<String>) -> Self {
        MlpError::Internal {
            message: message.into(),
        }
    }

    /// The registry code.
    pub fn code(&self) -> Code {
        use MlpError::*;
        match self {
            Syntax { .. } => codes::E0001,
            UnterminatedString { .. } => codes::E0002,
            UnknownEscape { .. } => codes::E0003,
            BadNumber { .. } => codes::E0004,
            TooDeep { .. } => codes::E0005,
            NotUtf8 { .. } => codes::E0006,
            NulByte { .. } => codes::E0007,
            ImportAfterItem { .. } => codes::E0008,
            UnknownName { .. } => codes::E0101,
            ReservedName { .. } => codes::E0102,
            Duplicate { .. } => codes::E0103,
            DnsCollision { .. } => codes::E0104,
            UnknownModule { .. } => codes::E0105,
            ImportNotFound { .. } => codes::E0106,
            ImportCycle { .. } => codes::E0107,
            UnknownTemplate { .. } => codes::E0108,
            UnknownOutput { .. } => codes::E0109,
            ItemOutsideForEach { .. } => codes::E0110,
            UndeclaredMetric { .. } => codes::E0111,
            StageAsValue { .. } => codes::E0112,
            UnknownField { .. } => codes::E0201,
            MissingField { .. } => codes::E0202,
            ExclusiveFields { .. } => codes::E0203,
            TypeMismatch { .. } => codes::E0204,
            WrongUnit { .. } => codes::E0205,
            FieldNotForKind { .. } => codes::E0206,
            TemplateKindMismatch { .. } => codes::E0207,
            MissingInput { .. } => codes::E0208,
            EntryNotAllowed { .. } => codes::E0209,
            TrackingNeedsMlflow { .. } => codes::E0210,
            BadTrackingUri { .. } => codes::E0211,
            RegisterModelSource { .. } => codes::E0212,
            DeployModelSource { .. } => codes::E0213,
            InvalidCron { .. } => codes::E0214,
            ArgoPlaceholder { .. } => codes::E0215,
            InvalidValue { .. } => codes::E0216,
            UnknownType { .. } => codes::E0217,
            ArtifactValueMismatch { .. } => codes::E0218,
            BadSecret { .. } => codes::E0219,
            UnknownFunction { .. } => codes::E0220,
            BadCondition { .. } => codes::E0221,
            BadOutputPath { .. } => codes::E0222,
            InputShadowsField { .. } => codes::E0223,
            UnknownStageKind { .. } => codes::E0224,
            FanInNotSupported { .. } => codes::E0225,
            VolumeKind { .. } => codes::E0233,
            UnknownVolume { .. } => codes::E0234,
            MountPathTaken { .. } => codes::E0235,
            ContainerNameTaken { .. } => codes::E0236,
            UnusedVolume { .. } => codes::W0208,
            NotDistributable { .. } => codes::E0237,
            NodesCannotReceive { .. } => codes::E0238,
            ReservedTrainingEnv { .. } => codes::E0239,
            UnwaitableRuntime { .. } => codes::E0240,
            TrainingNameTooLong { .. } => codes::E0404,
            DistributedWithoutTimeout { .. } => codes::W0210,
            VolumeSharedAtOnce { .. } => codes::W0209,
            KeywordAsName { .. } => codes::E0113,
            GroupOutputSource { .. } => codes::E0117,
            ItemOfOtherLoop { .. } => codes::E0114,
            RunStatusOutsideFinally { .. } => codes::E0115,
            AcrossFinally { .. } => codes::E0116,
            GroupTooDeep { .. } => codes::E0231,
            ListFunctionType { .. } => codes::E0232,
            CompileTimeValue { .. } => codes::E0226,
            UnknownItemKey { .. } => codes::E0227,
            OutputShadowsBuiltin { .. } => codes::E0228,
            ValueInCode { .. } => codes::E0229,
            ImageWithoutDigest { .. } => codes::E0230,
            Cycle { .. } => codes::E0301,
            InvalidK8sName { .. } => codes::E0401,
            InvalidMetadata { .. } => codes::E0402,
            RbacNamespaceUnknown { .. } => codes::E0403,
            KfpNoForm { .. } => codes::E0501,
            KfpNotYet { .. } => codes::E0502,
            DeployWithoutArtifactStore { .. } => codes::W0201,
            WorkflowTooLarge { .. } => codes::W0401,
            UnpinnedImage { .. } => codes::W0202,
            NoCommand { .. } => codes::W0203,
            UnknownGpuType { .. } => codes::W0204,
            RunTimeIdentity { .. } => codes::W0205,
            PlainHttpCredentials { .. } => codes::W0206,
            CredentialsInUrl { .. } => codes::W0207,
            Internal { .. } => codes::E9001,
        }
    }

    /// The registry code, e.g. `mlp::E0101`.
    pub fn code_str(&self) -> String {
        self.code().to_string()
    }

    pub fn severity(&self) -> Severity {
        if self.code().is_warning() {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity() == Severity::Error
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
            | MlpError::VolumeKind { src, .. }
            | MlpError::UnknownVolume { src, .. }
            | MlpError::MountPathTaken { src, .. }
            | MlpError::ContainerNameTaken { src, .. }
            | MlpError::UnusedVolume { src, .. }
            | MlpError::NotDistributable { src, .. }
            | MlpError::NodesCannotReceive { src, .. }
            | MlpError::ReservedTrainingEnv { src, .. }
            | MlpError::UnwaitableRuntime { src, .. }
            | MlpError::TrainingNameTooLong { src, .. }
            | MlpError::DistributedWithoutTimeout { src, .. }
            | MlpError::VolumeSharedAtOnce { src, .. }
            | MlpError::KeywordAsName { src, .. }
            | MlpError::GroupOutputSource { src, .. }
            | MlpError::ItemOfOtherLoop { src, .. }
            | MlpError::RunStatusOutsideFinally { src, .. }
            | MlpError::AcrossFinally { src, .. }
            | MlpError::GroupTooDeep { src, .. }
            | MlpError::ListFunctionType { src, .. }
            | MlpError::CompileTimeValue { src, .. }
            | MlpError::UnknownItemKey { src, .. }
            | MlpError::OutputShadowsBuiltin { src, .. }
            | MlpError::ValueInCode { src, .. }
            | MlpError::ImageWithoutDigest { src, .. }
            | MlpError::Cycle { src, .. }
            | MlpError::InvalidK8sName { src, .. }
            | MlpError::InvalidMetadata { src, .. }
            | MlpError::RbacNamespaceUnknown { src, .. }
            | MlpError::KfpNoForm { src, .. }
            | MlpError::KfpNotYet { src, .. }
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
