//! Policies a user opts into on the command line, applied to a checked
//! program: `--require-digests`.

use super::hir::{Fields, Spanned, StrPart, Value};
use super::Analysis;
use crate::diag::MlpError;

/// `--require-digests`: every image written in the program is pinned by
/// digest (`name@sha256:...`), so a re-run, a retry or a cached step runs the
/// same code, whatever a tag points to since. Each other image is E0230;
/// with any, the program is dropped as with any error.
pub fn require_digests(analysis: &mut Analysis) {
    let Some(program) = &analysis.program else {
        return;
    };
    let mut images: Vec<&Spanned<Value>> = Vec::new();
    for t in &program.templates {
        images.extend(image_of(&t.fields));
    }
    for p in &program.pipelines {
        images.extend(image_of(&p.defaults));
        for s in &p.stages {
            images.extend(image_of(&s.fields));
        }
        if let Some(Spanned {
            value: Value::Map(mlflow),
            ..
        }) = p.settings.get("mlflow")
        {
            images.extend(mlflow.get("image"));
        }
    }
    let mut errors = Vec::new();
    for image in images {
        let Value::Str(parts) = &image.value else {
            continue;
        };
        let text: String = parts
            .iter()
            .filter_map(|p| match p {
                StrPart::Text(t) => Some(t.as_str()),
                StrPart::Ref(_) => None,
            })
            .collect();
        let pinned = parts.iter().all(|p| matches!(p, StrPart::Text(_)))
            && text
                .split_once("@sha256:")
                .is_some_and(|(_, d)| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
        if !pinned {
            errors.push(MlpError::ImageWithoutDigest {
                src: analysis.sources.named(image.span.source),
                at: image.span,
                image: text,
            });
        }
    }
    if !errors.is_empty() {
        analysis.diagnostics.items.extend(errors);
        analysis.diagnostics.sort_by_position();
        analysis.partial = analysis.program.take();
    }
}

fn image_of(fields: &Fields) -> Option<&Spanned<Value>> {
    fields.get("image")
}
