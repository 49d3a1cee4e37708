//! Cron schedules as Argo's scheduler reads them.

/// Validates a cron expression as Argo's scheduler (robfig/cron, standard
/// five-field parser with descriptors) reads it.
pub(crate) fn validate_cron(text: &str) -> Result<(), String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('@') {
        return match rest.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"] => Ok(()),
            ["every", d] => crate::syntax::parse_duration(d)
                .filter(|s| *s > 0.0)
                .map(|_| ())
                .ok_or_else(|| format!("`{d}` is not a positive duration")),
            _ => Err(format!("`@{rest}` is not a known descriptor (@hourly, @daily, @weekly, @monthly, @yearly, @every DURATION)")),
        };
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
            fields.len()
        ));
    }
    const MONTHS: &[&str] = &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let specs: [(&str, u32, u32, &[&str], u32); 5] = [
        ("minute", 0, 59, &[], 0),
        ("hour", 0, 23, &[], 0),
        ("day-of-month", 1, 31, &[], 0),
        ("month", 1, 12, MONTHS, 1),
        ("day-of-week", 0, 6, DAYS, 0),
    ];
    for (field, (name, min, max, names, name_base)) in fields.iter().zip(specs) {
        for part in field.split(',') {
            cron_part(
                part,
                min,
                max,
                names,
                name_base,
                name == "day-of-month" || name == "day-of-week",
            )
            .map_err(|e| format!("{name} `{field}`: {e}"))?;
        }
    }
    Ok(())
}

pub(super) fn cron_part(
    part: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
    allow_question: bool,
) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(s) if s > 0 => {}
            _ => return Err(format!("`{step}` is not a positive step")),
        }
    }
    let value = |s: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(i as u32 + name_base);
        }
        let v: u32 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
        if v < min || v > max {
            return Err(format!("{v} is outside {min}-{max}"));
        }
        Ok(v)
    };
    if range == "*" || (allow_question && range == "?") {
        return Ok(());
    }
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("the range {a}-{b} is backwards"));
            }
        }
        None => {
            value(range)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    pub(super) fn cron_expressions() {
        assert!(validate_cron("0 3 * * 1-5").is_ok());
        assert!(validate_cron("*/15 * * * *").is_ok());
        assert!(validate_cron("0 0 1 JAN,JUL MON").is_ok());
        assert!(validate_cron("@daily").is_ok());
        assert!(validate_cron("@every 1h30m").is_ok());
        assert!(validate_cron("0 3 * *").is_err());
        assert!(validate_cron("61 * * * *").is_err());
        assert!(validate_cron("0 24 * * *").is_err());
        assert!(validate_cron("0 0 * * 5-1").is_err());
        assert!(validate_cron("@sometimes").is_err());
        assert!(validate_cron("*/0 * * * *").is_err());
    }
}
