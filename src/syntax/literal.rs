//! Reading literals: escapes, strings, numbers, units and references. Both
//! parsers (pest's builders in `from_pest` and the fast path in `descent`)
//! call these, so a literal means the same whichever one read it.

use std::ops::Range;

use super::ast::{ExprKind, Ident, Reference, StrPart, Text, UnitNumber};
use crate::source::{SourceId, Span};

/// Something inside a string literal that is not plain text.
pub(crate) enum Piece {
    /// What an escape stands for (empty when the escape was invalid and
    /// has been reported).
    Text(&'static str),
    Interp(Reference),
}

/// The text an escape (`\"`, `\n`, ...) in a `"..."` string stands for.
pub(crate) fn escape(escape: &str) -> Option<&'static str> {
    match escape {
        "\\\"" => Some("\""),
        "\\\\" => Some("\\"),
        "\\n" => Some("\n"),
        "\\t" => Some("\t"),
        "\\$" => Some("$"),
        _ => None,
    }
}

/// The parts of a `"..."` string whose content (between the quotes) is
/// `content`, given the escapes and interpolations found in it, in order.
/// Plain text is what lies between them.
pub(crate) fn string_parts(
    text: &str,
    content: Range<usize>,
    pieces: Vec<(Range<usize>, Piece)>,
) -> Vec<StrPart> {
    let mut parts = Vec::new();
    let mut cursor = content.start;
    for (at, piece) in pieces {
        push_text(&mut parts, &text[cursor..at.start]);
        cursor = at.end;
        push_piece(&mut parts, piece);
    }
    push_text(&mut parts, &text[cursor..content.end.max(cursor)]);
    parts.shrink_to_fit();
    parts
}

/// The parts of a `"""` string: common leading indentation is stripped, a
/// first line that is blank and a last line of only blanks are dropped, and
/// only `\$` is an escape. The trailing newline before the closing `"""` is
/// kept, so a script ends with a newline as a shell expects.
pub(crate) fn ml_string_parts(
    text: &str,
    content: Range<usize>,
    pieces: Vec<(Range<usize>, Piece)>,
) -> Vec<StrPart> {
    let removed = dedent_ranges(&text[content.clone()], content.start);
    let mut parts = Vec::new();
    let mut removed_cursor = RemovedCursor::new(&removed);
    // Text between the escape and interpolation pieces, dedented.
    let mut cursor = content.start;
    for (at, piece) in pieces {
        let kept = removed_cursor.keep(cursor, &text[cursor..at.start]);
        push_text(&mut parts, &kept);
        cursor = at.end;
        push_piece(&mut parts, piece);
    }
    let kept = removed_cursor.keep(cursor, &text[cursor..content.end.max(cursor)]);
    push_text(&mut parts, &kept);
    parts
}

/// The text of a string that must not interpolate (import paths, map
/// keys), or the first interpolation it holds.
pub(crate) fn plain_text(parts: Vec<StrPart>) -> Result<String, Reference> {
    let mut text = String::new();
    for part in parts {
        match part {
            StrPart::Text(t) => text.push_str(&t),
            StrPart::Interp(r) => return Err(r),
        }
    }
    Ok(text)
}

fn push_piece(parts: &mut Vec<StrPart>, piece: Piece) {
    match piece {
        Piece::Text(t) => push_text(parts, t),
        Piece::Interp(r) => parts.push(StrPart::Interp(r)),
    }
}

fn push_text(parts: &mut Vec<StrPart>, text: &str) {
    if text.is_empty() {
        return;
    }
    if let Some(StrPart::Text(last)) = parts.last_mut() {
        last.push_str(text);
    } else {
        parts.push(StrPart::Text(text.into()));
    }
}

/// Byte ranges (absolute offsets) that dedenting removes from a `"""` body.
fn dedent_ranges(body: &str, base: usize) -> Vec<(usize, usize)> {
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut offset = 0;
    for line in body.split('\n') {
        lines.push((offset, line));
        offset += line.len() + 1;
    }
    let is_blank = |l: &str| l.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
    let mut removed = Vec::new();
    let mut first = 0;
    let mut last = lines.len();
    if lines.len() > 1 && is_blank(lines[0].1) {
        removed.push((base, base + lines[0].1.len() + 1));
        first = 1;
    }
    if last - first > 1 && is_blank(lines[last - 1].1) {
        let (off, l) = lines[last - 1];
        removed.push((base + off, base + off + l.len()));
        last -= 1;
    }
    let kept = &lines[first..last];
    let indent = kept
        .iter()
        .filter(|(_, l)| !is_blank(l))
        .map(|(_, l)| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    for (off, line) in kept {
        let strip = if is_blank(line) {
            line.trim_end_matches('\r').len()
        } else {
            indent
        };
        if strip > 0 {
            removed.push((base + off, base + off + strip));
        }
    }
    removed.sort_unstable();
    removed
}

/// Walks text chunks in source order and drops the bytes in removed ranges.
struct RemovedCursor<'r> {
    removed: &'r [(usize, usize)],
    next: usize,
}

impl<'r> RemovedCursor<'r> {
    fn new(removed: &'r [(usize, usize)]) -> Self {
        Self { removed, next: 0 }
    }

    fn keep(&mut self, start: usize, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, ch) in text.char_indices() {
            let at = start + i;
            while self.next < self.removed.len() && self.removed[self.next].1 <= at {
                self.next += 1;
            }
            let inside = self
                .removed
                .get(self.next)
                .is_some_and(|(s, e)| *s <= at && at < *e);
            if !inside {
                out.push(ch);
            }
        }
        out
    }
}

/// The value of a `number` token, or why it has none.
pub(crate) fn number(text: &str) -> Result<ExprKind, &'static str> {
    if text.contains(['.', 'e']) {
        let f: f64 = text.parse().map_err(|_| "not a number")?;
        if !f.is_finite() {
            return Err("out of range");
        }
        Ok(ExprKind::Float(f))
    } else {
        text.parse::<i64>()
            .map(ExprKind::Int)
            .map_err(|_| "out of range for a 64-bit integer")
    }
}

/// Kubernetes quantity suffixes (binary, decimal, and the small ones).
const QUANTITY_SUFFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
];

/// Why a `unit_number` token is not a quantity or a duration.
pub(crate) struct BadUnit {
    pub reason: String,
    pub help: String,
}

/// The value of a `unit_number` token (`64Gi`, `500m`, `1h30m`).
pub(crate) fn unit_number(text: &str) -> Result<UnitNumber, BadUnit> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let quantity = QUANTITY_SUFFIXES
        .contains(&unit)
        .then(|| Text::from(text))
        .filter(|_| digits.parse::<f64>().is_ok_and(f64::is_finite));
    let duration_secs = parse_duration(text);
    if quantity.is_none() && duration_secs.is_none() {
        let help = match unit {
            "GB" | "Gb" | "gb" => format!("write `{digits}G` (10^9 bytes) or `{digits}Gi` (2^30 bytes)"),
            "MB" | "Mb" | "mb" => format!("write `{digits}M` or `{digits}Mi`"),
            "KB" | "Kb" | "kb" => format!("write `{digits}k` or `{digits}Ki`"),
            "min" | "mins" => format!("write `{digits}m` for minutes"),
            "sec" | "secs" => format!("write `{digits}s` for seconds"),
            "hr" | "hrs" => format!("write `{digits}h` for hours"),
            _ => "quantities take m k M G T P E Ki Mi Gi Ti Pi Ei; durations take s m h d (e.g. 1h30m)".to_string(),
        };
        return Err(BadUnit {
            reason: format!("unknown unit `{unit}`"),
            help,
        });
    }
    Ok(UnitNumber {
        text: text.into(),
        quantity,
        duration_secs,
    })
}

/// A duration such as `30s`, `10m`, `1h30m`, `1.5h`, `2d`, `500ms`: seconds.
pub(crate) fn parse_duration(text: &str) -> Option<f64> {
    let (sign, mut rest) = match text.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, text),
    };
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let (unit_secs, unit_len) = if rest.starts_with("ms") {
            (0.001, 2)
        } else {
            match rest.chars().next()? {
                's' => (1.0, 1),
                'm' => (60.0, 1),
                'h' => (3600.0, 1),
                'd' => (86400.0, 1),
                _ => return None,
            }
        };
        rest = &rest[unit_len..];
        total += n * unit_secs;
    }
    total.is_finite().then_some(sign * total)
}

/// A `reference` token (`a.b.c`, starting at byte `start`) split into its
/// segments.
pub(crate) fn reference(source: SourceId, start: usize, text: &str) -> Reference {
    let mut segments = Vec::new();
    let mut offset = start;
    for name in text.split('.') {
        segments.push(Ident {
            name: name.into(),
            span: Span::new(source, offset, offset + name.len()),
        });
        offset += name.len() + 1;
    }
    Reference {
        segments,
        span: Span::new(source, start, start + text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(30.0));
        assert_eq!(parse_duration("10m"), Some(600.0));
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("1d"), Some(86400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("64Gi"), None);
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1h30"), None);
    }
}
