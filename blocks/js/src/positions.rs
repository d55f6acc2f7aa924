//! Error positions relative to the user's body rather than the source it was wrapped in.

/// `error` with the position boa appends — `(unknown at :L:C)` for a thrown error, `at line L,
/// col C` for a syntax error — shown as `(line L, column C)` of a body that starts
/// `head_chars` characters into line 1 (so only line 1's columns shift).
///
/// Boa gives no position for reading an unresolvable name: `ReferenceError: x is not defined`
/// is shown at the first place `body` uses `x` as a name (outside strings and comments). As
/// the name is defined nowhere, every such place is a use of the undefined name; the first
/// written is the first run unless it sits in a function called later.
pub(crate) fn relative_to_body(error: &str, head_chars: usize, body: &str) -> String {
    let error = located_by_boa(error, head_chars);
    if error.contains(" (line ") {
        return error;
    }
    let undefined = error.strip_prefix("ReferenceError: ").and_then(|rest| rest.split_once(" is not defined"));
    match undefined.and_then(|(name, _)| first_use(body, name)) {
        Some((line, column)) => {
            let end = error.find(" is not defined").map_or(error.len(), |at| at + " is not defined".len());
            format!("{} (line {line}, column {column}){}", &error[..end], &error[end..])
        }
        None => error,
    }
}

/// Line and column (1-based, in characters) of the first identifier `name` in `source`, skipping
/// string literals, template text and comments, and property names after a `.`.
fn first_use(source: &str, name: &str) -> Option<(usize, usize)> {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    let chars: Vec<char> = source.chars().collect();
    let wanted: Vec<char> = name.chars().collect();
    let (mut line, mut column, mut i) = (1, 1, 0);
    let mut previous_significant = ' ';
    while i < chars.len() {
        let c = chars[i];
        let skip_to = |end: &str, from: usize| -> usize {
            let end: Vec<char> = end.chars().collect();
            let mut j = from;
            while j < chars.len() {
                if chars[j] == '\\' && end != ['\n'] {
                    j += 2;
                    continue;
                }
                if chars[j..].starts_with(&end) {
                    return j + end.len();
                }
                j += 1;
            }
            chars.len()
        };
        let next = match c {
            '/' if chars.get(i + 1) == Some(&'/') => skip_to("\n", i + 2),
            '/' if chars.get(i + 1) == Some(&'*') => skip_to("*/", i + 2),
            '\'' | '"' | '`' => skip_to(&c.to_string(), i + 1),
            _ if is_ident(c) => {
                let mut j = i;
                while j < chars.len() && is_ident(chars[j]) {
                    j += 1;
                }
                if chars[i..j] == wanted[..] && previous_significant != '.' {
                    return Some((line, column));
                }
                j
            }
            _ => i + 1,
        };
        for &skipped in &chars[i..next.min(chars.len())] {
            if skipped == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        if !c.is_whitespace() {
            previous_significant = if is_ident(c) { 'a' } else { c };
        }
        i = next;
    }
    None
}

fn located_by_boa(error: &str, head_chars: usize) -> String {
    // A position inside the head says only "somewhere in the body": boa gives one for errors
    // it does not map to an expression (e.g. an unresolved name).
    let located = |line: usize, column: usize| match line {
        1 if column <= head_chars => String::new(),
        1 => format!(" (line 1, column {})", column - head_chars),
        _ => format!(" (line {line}, column {column})"),
    };
    let parse = |text: &str, separator: &str| {
        let (line, column) = text.split_once(separator)?;
        Some((line.trim().parse::<usize>().ok()?, column.trim().parse::<usize>().ok()?))
    };
    if let Some(start) = error.find(" (unknown at :")
        && let Some(end) = error[start..].find(')')
        && let Some((line, column)) = parse(&error[start + " (unknown at :".len()..start + end], ":")
    {
        return format!("{}{}{}", &error[..start], located(line, column), &error[start + end + 1..]);
    }
    if let Some(start) = error.find(" at line ")
        && let Some(end) = error[start..].find(" (native)")
        && let Some((line, column)) = parse(&error[start + " at line ".len()..start + end], ", col")
    {
        return format!("{}{}", &error[..start], located(line, column));
    }
    error.to_string()
}

#[cfg(test)]
mod tests {
    use super::{first_use, relative_to_body};

    #[test]
    fn an_undefined_name_is_found_where_the_body_first_uses_it() {
        let body = "// missing here is a comment\nconst s = 'missing';\nconst o = {}; o.missing;\nreturn 1 + missing;";
        assert_eq!(first_use(body, "missing"), Some((4, 12)));
        assert_eq!(first_use("const a = `missing`; /* missing */ return a;", "missing"), None);
        assert_eq!(first_use("return missingly + 1", "missing"), None, "whole names only");
        assert_eq!(
            relative_to_body("ReferenceError: missing is not defined", 10, body),
            "ReferenceError: missing is not defined (line 4, column 12)"
        );
    }
}
