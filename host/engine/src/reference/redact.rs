//! Keeping environment values out of logs, outputs, errors and `finalState` (SPEC 4).
//!
//! Redaction is structural: it rewrites string values (and numbers whose text
//! is a secret), never object keys and never the JSON's own text, so it cannot
//! corrupt what it redacts. Choices where the spec is silent:
//! - values shorter than [`MIN_SECRET_CHARS`] characters are not redacted: a
//!   value such as `us` or `on` occurs in ordinary text everywhere, replacing it
//!   would destroy results without protecting anything (the `env` grant is the
//!   protection; redaction is the safety net);
//! - a JSON number whose decimal text equals a secret becomes the string
//!   `"[REDACTED]"`.

use aho_corasick::AhoCorasick;
use serde_json::Value;

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Secrets shorter than this many characters are left as they are.
pub const MIN_SECRET_CHARS: usize = 4;

/// Replaces every occurrence of a set of secrets; build once, apply to many values.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// `None` when there is no secret long enough, so redaction is a no-op.
    matcher: Option<AhoCorasick>,
    /// The secrets themselves, to recognise numbers that spell one.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values; those shorter than [`MIN_SECRET_CHARS`] are ignored.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Self {
        let mut patterns: Vec<String> = secrets
            .iter()
            .map(|s| s.as_ref())
            .filter(|s| s.chars().count() >= MIN_SECRET_CHARS)
            .map(str::to_string)
            .collect();
        patterns.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        patterns.dedup();
        let matcher = if patterns.is_empty() {
            None
        } else {
            Some(AhoCorasick::new(&patterns).expect("literal patterns of a bounded count always build"))
        };
        Self { matcher, secrets: patterns }
    }

    /// True when there is nothing to redact.
    pub fn is_noop(&self) -> bool {
        self.matcher.is_none()
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
        let mut markers = Vec::with_capacity(runs.len());
        for (start, end) in runs {
            out.push_str(&text[copied..start]);
            markers.push(out.len()..out.len() + REDACTED.len());
            out.push_str(REDACTED);
            copied = end;
        }
        out.push_str(&text[copied..]);
        // A secret that overlaps the marker can be rebuilt by the replacement
        // (`bR[R` in `bRbR[R` gives `bR[REDACTED]`): then nothing of the
        // string is kept, rather than pass again (which could never end). A
        // secret lying wholly inside one marker (`REDA`) shows nothing.
        let rebuilt = matcher
            .find_overlapping_iter(&out)
            .any(|m| !markers.iter().any(|marker| marker.start <= m.start() && m.end() <= marker.end));
        if rebuilt { REDACTED.to_string() } else { out }
    }

    /// Redacts, in place, every string value in `value` and every number whose
    /// text is a secret; object keys are left as they are.
    pub fn value(&self, value: &mut Value) {
        if self.matcher.is_none() {
            return;
        }
        // An explicit stack: a value nested deeper than the call stack allows
        // must not crash the host.
        let mut pending = vec![value];
        while let Some(value) = pending.pop() {
            match value {
                Value::String(text) => {
                    let redacted = self.text(text);
                    *text = redacted;
                }
                Value::Number(number) => {
                    let text = number.to_string();
                    if self.secrets.contains(&text) {
                        *value = Value::String(REDACTED.to_string());
                    }
                }
                Value::Array(items) => pending.extend(items.iter_mut()),
                Value::Object(map) => pending.extend(map.iter_mut().map(|(_, item)| item)),
                Value::Null | Value::Bool(_) => {}
            }
        }
    }

    /// Redacts an optional message in place.
    pub fn message(&self, message: &mut Option<String>) {
        if let Some(text) = message {
            *text = self.text(text);
        }
    }
}

/// Replaces every occurrence of every secret in any JSON string value of `value` (see [`Redactor::value`]).
pub fn redact(value: &mut Value, secrets: &[String]) {
    Redactor::new(secrets).value(value);
}

/// `text` with every occurrence of every secret of at least [`MIN_SECRET_CHARS`] replaced by `[REDACTED]`.
///
/// ```
/// let secrets = vec!["hunter2".to_string()];
/// assert_eq!(sandflow_engine::reference::redact_text("pw=hunter2", &secrets), "pw=[REDACTED]");
/// ```
pub fn redact_text(text: &str, secrets: &[String]) -> String {
    Redactor::new(secrets).text(text)
}
