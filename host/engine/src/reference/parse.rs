//! Finding references in text without mistaking HTML or comparisons for them.

use super::{ContainerField, Found, Reference};

/// Every reference candidate in `text`, in order and without overlaps.
///
/// A single-segment `<word>` is returned as a bare [`Reference::Block`]; whether
/// it is a reference or literal text depends on whether `word` names a block.
///
/// ```
/// use sandflow_engine::reference::{Reference, find_references};
///
/// let found = find_references("if a < b: <Fetch Data.items.0> {{TOKEN}}");
/// assert_eq!(found.len(), 2);
/// assert_eq!(found[0].reference, Reference::Block { key: "Fetch Data".into(), path: vec!["items".into(), "0".into()] });
/// assert_eq!(found[1].reference, Reference::Env { name: "TOKEN".into() });
/// ```
pub fn find_references(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let hit = match bytes[at] {
            b'<' => angle_at(text, at),
            b'{' if bytes.get(at + 1) == Some(&b'{') => env_at(text, at),
            _ => None,
        };
        match hit {
            Some((end, reference)) => {
                found.push(Found { span: at..end, reference });
                at = end;
            }
            None => at += 1,
        }
    }
    found
}

/// Whether `name` may be used as an environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` can be one segment of a reference path (no spaces, no dots).
pub fn is_segment(text: &str) -> bool {
    !text.is_empty() && text.chars().all(is_segment_char)
}

fn is_segment_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// `<content>` starting at byte `start`: the end of the span and the reference.
fn angle_at(text: &str, start: usize) -> Option<(usize, Reference)> {
    let rest = &text[start + 1..];
    // Scanning stops at the first character no reference may contain, so a
    // `<` in ordinary text costs only the run of word characters after it.
    let stop = rest.find(|c: char| !(is_segment_char(c) || c == '.' || c == ' '))?;
    if !rest[stop..].starts_with('>') {
        return None;
    }
    let reference = parse_angle(&rest[..stop])?;
    Some((start + 1 + stop + 1, reference))
}

fn parse_angle(content: &str) -> Option<Reference> {
    let segments: Vec<&str> = content.split('.').collect();
    let (first, rest) = segments.split_first()?;
    // Block names may contain spaces (`<Fetch Data.items>`), but not at the
    // edges, which keeps `a < b > c` literal.
    let name_ok = !first.is_empty()
        && !first.starts_with(' ')
        && !first.ends_with(' ')
        && first.chars().all(|c| is_segment_char(c) || c == ' ');
    if !name_ok || !rest.iter().all(|s| is_segment(s)) {
        return None;
    }
    let path = |from: usize| rest[from..].iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let block = || Reference::Block { key: first.to_string(), path: path(0) };
    // Keywords win over block names; a keyword with an unknown field falls
    // back to a block lookup so that the error names what was written.
    Some(match (*first, rest.first()) {
        ("variable", Some(name)) => Reference::Variable { name: name.to_string(), path: path(1) },
        ("loop", Some(field)) => match ContainerField::parse(field) {
            Some(field) => Reference::Loop { field, path: path(1) },
            None => block(),
        },
        ("parallel", Some(field)) => match ContainerField::parse(field) {
            Some(field) => Reference::Parallel { field, path: path(1) },
            None => block(),
        },
        _ => block(),
    })
}

/// `{{NAME}}` starting at byte `start`.
fn env_at(text: &str, start: usize) -> Option<(usize, Reference)> {
    let rest = &text[start + 2..];
    let stop = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let name = &rest[..stop];
    if !is_env_name(name) || !rest[stop..].starts_with("}}") {
        return None;
    }
    Some((start + 2 + stop + 2, Reference::Env { name: name.to_string() }))
}
