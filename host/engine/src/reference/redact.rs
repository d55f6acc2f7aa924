//! Keeping environment values out of logs, outputs, errors and `finalState` (SPEC 4).

use aho_corasick::AhoCorasick;
use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every occurrence of a set of secrets; build once, apply to many values.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// `None` when there is no non-empty secret, so redaction is a no-op.
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    /// A redactor for these secret values; empty ones are ignored.
    pub fn new(secrets: &[String]) -> Self {
        let mut patterns: Vec<&str> = secrets.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
        patterns.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        patterns.dedup();
        let matcher = if patterns.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&patterns).expect("literal patterns of a bounded count always build"))
        };
        Self { matcher }
    }

    /// `text` with every secret replaced by `[REDACTED]`.
    ///
    /// Overlapping occurrences (one secret containing or straddling another)
    /// are merged and replaced as one run, so no fragment of a longer secret is
    /// left behind when a shorter one matches first.
    pub fn text(&self, text: &str) -> String {
        let Some(matcher) = &self.matcher else { return text.to_string() };
        // Overlapping matches arrive ordered by where they end, not where they start.
        let mut hits: Vec<(usize, usize)> = matcher.find_overlapping_iter(text).map(|m| (m.start(), m.end())).collect();
        hits.sort_unstable();
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (start, end) in hits {
            match runs.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => runs.push((start, end)),
            }
        }
        if runs.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for (start, end) in runs {
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        out.push_str(&text[copied..]);
        out
    }

    /// Redacts every string in `value`, object keys included, in place.
    pub fn value(&self, value: &mut Value) {
        if self.matcher.is_none() {
            return;
        }
        match value {
            Value::String(text) => {
                let redacted = self.text(text);
                *text = redacted;
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.value(&mut item);
                    map.insert(self.text(&key), item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// Replaces every occurrence of every non-empty secret in any JSON string of `value`.
pub fn redact(value: &mut Value, secrets: &[String]) {
    Redactor::new(secrets).value(value);
}

/// `text` with every occurrence of every non-empty secret replaced by `[REDACTED]`.
///
/// ```
/// let secrets = vec!["hunter2".to_string()];
/// assert_eq!(sandflow_engine::reference::redact_text("pw=hunter2", &secrets), "pw=[REDACTED]");
/// ```
pub fn redact_text(text: &str, secrets: &[String]) -> String {
    Redactor::new(secrets).text(text)
}
