//! The human renderer: miette's graphical report over our diagnostics.
//!
//! This adapter is the one place mlpc names miette. [`Report`] shows an
//! [`MlpError`] to miette as a [`Diagnostic`]: the code, severity, labels
//! and help come from the error's own methods, and the file from its
//! [`SourceRef`], which reads spans as [`SourceCode`].

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use super::HumanOptions;
use crate::diag::{Label, MlpError, Severity};
use crate::source::{SourceRef, Span};

/// Each diagnostic as miette's graphical handler draws it, followed by a
/// blank line.
pub(super) fn graphical(diags: &[&MlpError], options: HumanOptions) -> String {
    let theme = if options.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(options.width)
        .with_links(false);
    let mut out = String::new();
    for d in diags {
        if handler.render_report(&mut out, &Report(d)).is_err() {
            out.push_str(&format!("{}: {d}\n", d.code_str()));
        }
        out.push('\n');
    }
    out
}

/// An [`MlpError`] as miette sees it.
struct Report<'a>(&'a MlpError);

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0, f)
    }
}

impl std::error::Error for Report<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl Diagnostic for Report<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.0.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.0.severity() {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0
            .help()
            .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.0.src().map(|src| src as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self.0.labels();
        if labels.is_empty() {
            return None;
        }
        Some(Box::new(labels.into_iter().map(labeled_span)))
    }
}

fn labeled_span(label: Label) -> LabeledSpan {
    let span = source_span(label.span);
    if label.primary {
        LabeledSpan::new_primary_with_span(Some(label.text), span)
    } else {
        LabeledSpan::new_with_span(Some(label.text), span)
    }
}

fn source_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

/// What miette reads to draw a snippet: the text, under the file's name
/// (as `miette::NamedSource` does).
impl SourceCode for SourceRef {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}
