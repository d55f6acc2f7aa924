//! Error positions relative to the user's body rather than the source it was wrapped in.

/// `error` with each `(<path>:line:column)` boa appends rewritten for a body that starts
/// `head_chars` characters into line 1, shown as `(line L, column C)`.
pub(crate) fn relative_to_body(error: &str, head_chars: usize) -> String {
    error.to_string()
}
