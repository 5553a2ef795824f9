//! Key templates such as `"{network}:{account}"` or `"otp:{0}"`.

/// One piece of a template.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Fixed text.
    Literal(String),
    /// A field, by name or tuple index.
    Field(String),
}

/// The pieces of `template`, or a message saying what is wrong with it.
pub(crate) fn parse(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        match c {
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => {
                            return Err(format!("unclosed `{{` in key template `{template}`"));
                        }
                        Some(c) => name.push(c),
                    }
                }
                let name = name.trim().to_owned();
                if name.is_empty() {
                    return Err(format!(
                        "empty `{{}}` in key template `{template}`: name a field"
                    ));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Field(name));
            }
            '}' => return Err(format!("unmatched `}}` in key template `{template}`")),
            c if matches!(c, '*' | '?' | '[' | ']' | '\\') => {
                return Err(format!(
                    "`{c}` in key template `{template}` would be a glob in prefix scans"
                ));
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// The first two fields of `pieces` that nothing keeps apart in a rendered key: adjacent, or
/// with only text between them that an escaped field value can also contain. Field values are
/// escaped so that they never hold a `:`; any other separator (`-`, `.`, none) lets two keys
/// render the same text: `{a}-{b}` renders `x-y-z` for both (`x-y`, `z`) and (`x`, `y-z`).
pub(crate) fn ambiguous_neighbours(pieces: &[Piece]) -> Option<(&str, &str)> {
    let mut previous: Option<&str> = None;
    let mut separated = true;
    for piece in pieces {
        match piece {
            Piece::Literal(text) => separated |= text.contains(':'),
            Piece::Field(field) => {
                if let Some(before) = previous
                    && !separated
                {
                    return Some((before, field));
                }
                previous = Some(field);
                separated = false;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_must_be_kept_apart_by_a_colon() {
        let neighbours =
            |t: &str| ambiguous_neighbours(&parse(t).unwrap()).map(|(a, b)| format!("{a} {b}"));
        assert_eq!(neighbours("{a}-{b}").as_deref(), Some("a b"));
        assert_eq!(neighbours("{a}{b}").as_deref(), Some("a b"));
        assert_eq!(neighbours("x:{a}.{b}:{c}").as_deref(), Some("a b"));
        assert_eq!(neighbours("{a}:{b}"), None);
        assert_eq!(neighbours("{a}-x:y-{b}"), None);
        assert_eq!(neighbours("otp:attempts:{0}"), None);
        assert_eq!(neighbours("{network}:{account}:{media}"), None);
    }

    #[test]
    fn layouts_other_services_use() {
        assert_eq!(
            parse("{network}:{account}").unwrap(),
            [
                Piece::Field("network".into()),
                Piece::Literal(":".into()),
                Piece::Field("account".into())
            ]
        );
        assert_eq!(
            parse("otp:attempts:{0}").unwrap(),
            [
                Piece::Literal("otp:attempts:".into()),
                Piece::Field("0".into())
            ]
        );
    }

    #[test]
    fn mistakes() {
        assert!(parse("{a").unwrap_err().contains("unclosed"));
        assert!(parse("a}").unwrap_err().contains("unmatched"));
        assert!(parse("{}").unwrap_err().contains("empty"));
        // A template of no field is the one key of a unit struct (a leaderboard, a queue);
        // a struct with fields must name each of them, which the derive checks.
        assert_eq!(
            parse("leaderboard:referrals").unwrap(),
            [Piece::Literal("leaderboard:referrals".into())]
        );
        assert!(parse("x*{a}").unwrap_err().contains("glob"));
    }
}
