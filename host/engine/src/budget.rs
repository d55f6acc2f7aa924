//! Per-execution budgets (SPEC 4 "Budgets"): what one execution may produce in
//! all, summed over every block run, loop iteration and parallel branch.
//!
//! A single block run is bounded by the runtime's per-run limits; without these
//! totals a 300-byte request fanning out to 200 branches of 1 MiB each still
//! produced a 594 MB response. Exceeding a budget fails the execution (error
//! edges do not catch it: retrying downstream would spend more of the same
//! budget) with a message naming the limit.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use crate::request::{Checkpoint, CheckpointOutcome};
use crate::runner::{BlockOutcome, BlockReport};

/// Deepest JSON a request, a resume input, a block output or a variable may
/// nest. Stored documents wrap such values in a few levels of their own and are
/// read back with serde_json's limit of 128, so one bound holds on the way in
/// and on the way back from the store.
pub const MAX_JSON_DEPTH: usize = 64;

/// Longest timed pause a block may ask for (`resume-after-ms`): 366 days. A
/// longer one fails the block rather than overflow the clock arithmetic.
pub const MAX_TIMED_PAUSE_MS: u64 = 366 * 24 * 60 * 60 * 1000;

/// Limits on what one execution may produce in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionBudgets {
    /// Bytes of JSON all block outputs (and pause responses) may total.
    pub max_output_bytes: u64,
    /// Bytes of JSON all variable writes may total.
    pub max_variable_bytes: u64,
    /// Guest log entries all block runs may write in all.
    pub max_log_entries: u64,
    /// Bytes of guest log messages all block runs may write in all.
    pub max_log_bytes: u64,
    /// Deepest nesting of a block output or variable value.
    pub max_json_depth: usize,
}

impl Default for ExecutionBudgets {
    /// 16 MiB of outputs, 16 MiB of variable writes, 10,000 log entries, 1 MiB of logs, depth 64.
    fn default() -> Self {
        Self {
            max_output_bytes: 16 << 20,
            max_variable_bytes: 16 << 20,
            max_log_entries: 10_000,
            max_log_bytes: 1 << 20,
            max_json_depth: MAX_JSON_DEPTH,
        }
    }
}

/// What an execution has spent of its [`ExecutionBudgets`] so far.
#[derive(Debug, Default)]
pub(crate) struct Spent {
    output_bytes: AtomicU64,
    variable_bytes: AtomicU64,
    log_entries: AtomicU64,
    log_bytes: AtomicU64,
}

impl Spent {
    /// Charges one finished block run; `Err` names the budget it broke.
    pub fn charge(&self, budgets: &ExecutionBudgets, report: &BlockReport) -> Result<(), String> {
        let output = match &report.outcome {
            Ok(BlockOutcome::Done { output } | BlockOutcome::Route { output, .. }) => Some(output),
            Ok(BlockOutcome::Pause { response, .. }) => Some(response),
            Err(_) => None,
        };
        let output_bytes = output.map_or(0, json_size);
        let variable_bytes: u64 = report.variable_writes.values().map(json_size).sum();
        let log_bytes: u64 = report.logs.iter().map(|l| l.message.len() as u64).sum();
        let add =
            |counter: &AtomicU64, amount: u64| counter.fetch_add(amount, Ordering::Relaxed).saturating_add(amount);
        let totals = [
            (
                add(&self.output_bytes, output_bytes),
                budgets.max_output_bytes,
                "bytes of block output",
                "maxOutputBytes",
            ),
            (
                add(&self.variable_bytes, variable_bytes),
                budgets.max_variable_bytes,
                "bytes of variable writes",
                "maxVariableBytes",
            ),
            (add(&self.log_entries, report.logs.len() as u64), budgets.max_log_entries, "log entries", "maxLogEntries"),
            (add(&self.log_bytes, log_bytes), budgets.max_log_bytes, "bytes of log messages", "maxLogBytes"),
        ];
        for (total, limit, what, name) in totals {
            if total > limit {
                return Err(format!(
                    "execution budget exceeded: the execution produced more than {limit} {what} (limit `{name}`)"
                ));
            }
        }
        Ok(())
    }
}

impl Spent {
    /// Charges a run replayed from its checkpoint (after a crash, or for a
    /// resume), so the budgets count the whole execution; never fails it.
    pub fn charge_replayed(&self, checkpoint: &Checkpoint) {
        let output = match &checkpoint.outcome {
            CheckpointOutcome::Succeeded {
                outcome: BlockOutcome::Done { output } | BlockOutcome::Route { output, .. },
            } => json_size(output),
            CheckpointOutcome::Succeeded { outcome: BlockOutcome::Pause { response, .. } } => json_size(response),
            CheckpointOutcome::Failed { .. } => 0,
        };
        let logs = checkpoint.log.as_ref().map_or(&[][..], |log| &log.guest_logs[..]);
        self.output_bytes.fetch_add(output, Ordering::Relaxed);
        self.variable_bytes.fetch_add(checkpoint.variable_writes.values().map(json_size).sum(), Ordering::Relaxed);
        self.log_entries.fetch_add(logs.len() as u64, Ordering::Relaxed);
        self.log_bytes.fetch_add(logs.iter().map(|l| l.message.len() as u64).sum(), Ordering::Relaxed);
    }
}

/// Checks that a value a block produced nests no deeper than `max`.
pub(crate) fn check_depth(what: &str, value: &Value, max: usize) -> Result<(), String> {
    if exceeds_depth(value, max) {
        Err(format!("{what} is nested deeper than {max} levels (limit `maxJsonDepth`)"))
    } else {
        Ok(())
    }
}

/// True when `value` nests deeper than `max` levels (a scalar is depth 0,
/// `[1]` depth 1). Iterative, so any value can be measured.
pub fn exceeds_depth(value: &Value, max: usize) -> bool {
    // Most values are flat (an object or array of scalars): measured without a stack.
    let is_scalar = |v: &Value| !matches!(v, Value::Array(_) | Value::Object(_));
    match value {
        Value::Array(items) if items.iter().all(is_scalar) => return max < 1,
        Value::Object(map) if map.values().all(is_scalar) => return max < 1,
        Value::Array(_) | Value::Object(_) => {}
        _ => return false,
    }
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(_) | Value::Object(_) if depth + 1 > max => return true,
            Value::Array(items) => pending.extend(items.iter().map(|child| (child, depth + 1))),
            Value::Object(map) => pending.extend(map.values().map(|child| (child, depth + 1))),
            _ => {}
        }
    }
    false
}

/// [`exceeds_depth`] of JSON text, measured on the text itself (brackets
/// inside strings do not count): one pass over the bytes, nothing parsed, for
/// a request body before it is parsed or a result already serialized.
pub fn text_exceeds_depth(json: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Bytes of `value` as compact JSON, without building the text.
pub fn json_size(value: &Value) -> u64 {
    struct Counter(u64);
    impl io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn depth_counts_containers_not_scalars() {
        assert!(!exceeds_depth(&json!(1), 0));
        assert!(exceeds_depth(&json!([1]), 0));
        assert!(!exceeds_depth(&json!([1]), 1));
        assert!(!exceeds_depth(&json!({"a": [{"b": 1}]}), 3));
        assert!(exceeds_depth(&json!({"a": [{"b": []}]}), 3));
    }

    #[test]
    fn depth_of_text_is_the_depth_of_its_value() {
        let values = [
            json!(1),
            json!([1]),
            json!({"a": [{"b": 1}]}),
            json!({"a": [{"b": []}]}),
            json!({"[[[": "{{\\\"[", "k": ["]]]", {"x": "\\"}]}),
            json!([[[], [[]]], {}]),
        ];
        for value in values {
            let text = serde_json::to_string(&value).unwrap();
            for max in 0..5 {
                assert_eq!(text_exceeds_depth(text.as_bytes(), max), exceeds_depth(&value, max), "{text} at {max}");
            }
        }
    }

    #[test]
    fn size_is_the_compact_json_length() {
        let value = json!({"a": [1, "x"], "b": null});
        assert_eq!(json_size(&value), serde_json::to_vec(&value).unwrap().len() as u64);
    }
}
