//! Durations on the command line: `90s`, `1m30s`, `2m`, `1h`, `500ms`.

use std::time::Duration;

/// A duration: one or more `<number><unit>` parts (units ms, s, m, h), e.g. `90s`,
/// `1m30s`, `1h`, `500ms`; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {s:?}: use e.g. 90s, 1m30s, 2m, 1h or 500ms");
    let t = s.trim();
    if t.is_empty() {
        return Err(invalid());
    }
    if t.chars().all(|c| c.is_ascii_digit()) {
        return t.parse().map(Duration::from_secs).map_err(|_| invalid());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(invalid());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60).ok_or_else(invalid)?),
            "h" => Duration::from_secs(n.checked_mul(3600).ok_or_else(invalid)?),
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = total.checked_add(part).ok_or_else(invalid)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_forms() {
        let secs = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(secs("90s"), Ok(90_000));
        assert_eq!(secs("1m30s"), Ok(90_000));
        assert_eq!(secs("90"), Ok(90_000));
        assert_eq!(secs("2m"), Ok(120_000));
        assert_eq!(secs("1h2m3s"), Ok(3_723_000));
        assert_eq!(secs("1s500ms"), Ok(1_500));
        assert_eq!(secs("500ms"), Ok(500));
        for bad in [
            "",
            "s",
            "1x",
            "1.5s",
            "m1",
            "-1s",
            "1m 30s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }
}
