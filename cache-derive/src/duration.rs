//! Durations written as `"300ms"`, `"5s"`, `"10m"`, `"24h"` or `"7d"`.

/// Milliseconds in `text`, or a message saying what is wrong with it.
pub(crate) fn parse_millis(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let unit = unit.trim();
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a duration: write a number and a unit, such as \"5m\""
        ));
    }
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is too large"))?;
    let scale: u64 = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "" => return Err(format!("`{text}` has no unit: add one of ms, s, m, h, d")),
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use ms, s, m, h or d"
            ));
        }
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_millis;

    #[test]
    fn units() {
        assert_eq!(parse_millis("300ms"), Ok(300));
        assert_eq!(parse_millis("5s"), Ok(5_000));
        assert_eq!(parse_millis("10m"), Ok(600_000));
        assert_eq!(parse_millis("24h"), Ok(86_400_000));
        assert_eq!(parse_millis("7d"), Ok(604_800_000));
    }

    #[test]
    fn mistakes() {
        assert!(parse_millis("5").unwrap_err().contains("no unit"));
        assert!(
            parse_millis("5 years")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_millis("h").unwrap_err().contains("not a duration"));
        assert!(
            parse_millis("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }
}
