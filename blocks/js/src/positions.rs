//! Error positions relative to the user's body rather than the source it was wrapped in.

/// `error` with the position boa appends — `(unknown at :L:C)` for a thrown error, `at line L,
/// col C` for a syntax error — shown as `(line L, column C)` of a body that starts
/// `head_chars` characters into line 1 (so only line 1's columns shift).
pub(crate) fn relative_to_body(error: &str, head_chars: usize) -> String {
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
