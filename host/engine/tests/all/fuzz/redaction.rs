//! Redaction over values laced with secrets: no secret of at least
//! `MIN_SECRET_CHARS` characters survives in a string value, keys and shape
//! are untouched (a number spelling a secret is the one scalar that changes),
//! redacting twice equals once, and a redacted `ExecutionResult` still
//! serializes and reads back as the same result.

use proptest::prelude::*;
use sandflow_engine::reference::{MIN_SECRET_CHARS, REDACTED, Redactor, redact, redact_text};
use sandflow_engine::result::{BlockLog, BlockState, ContainerScope, FinalState};
use sandflow_engine::{ExecutionResult, ExecutionStatus, GuestLog, PauseKind, PausePoint, ResumeStatus};
use serde_json::{Map, Number, Value, json};

use super::strategies::{config, key, number, strings};

/// Secrets over `alphabet`, some shorter than [`MIN_SECRET_CHARS`], some numeric.
fn secrets(alphabet: &'static str) -> impl Strategy<Value = Vec<String>> {
    let chars: Vec<char> = alphabet.chars().collect();
    let word =
        prop::collection::vec(prop::sample::select(chars), 1..8).prop_map(|cs| cs.into_iter().collect::<String>());
    let numeric =
        prop_oneof![(0u32..100_000).prop_map(|n| n.to_string()), Just("12.5".to_string()), Just("-1000".to_string())];
    prop::collection::vec(prop_oneof![4 => word, 1 => numeric], 0..5)
}

/// Text made of secrets, pieces of them and filler, so that secrets occur
/// whole, adjacent, overlapping and cut.
fn laced_text(secrets: Vec<String>) -> BoxedStrategy<String> {
    let mut pieces: Vec<String> = vec!["".into(), " ".into(), "x".into(), "é".into(), "\"".into(), "{".into()];
    for secret in &secrets {
        let chars: Vec<char> = secret.chars().collect();
        pieces.push(secret.clone());
        pieces.push(chars[..chars.len() / 2].iter().collect());
        pieces.push(chars[chars.len() / 2..].iter().collect());
    }
    prop::collection::vec(prop::sample::select(pieces), 0..8).prop_map(|p| p.concat()).boxed()
}

/// JSON whose strings (and some keys and numbers) are laced with `secrets`.
fn laced_json(secrets: Vec<String>) -> BoxedStrategy<Value> {
    let numbers: Vec<Number> = secrets.iter().filter_map(|s| serde_json::from_str::<Number>(s).ok()).collect();
    let secret_number = if numbers.is_empty() {
        number().boxed()
    } else {
        prop_oneof![prop::sample::select(numbers), number()].boxed()
    };
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => secret_number.prop_map(Value::Number),
        3 => laced_text(secrets.clone()).prop_map(Value::String),
    ];
    let keys = prop_oneof![key(), laced_text(secrets)];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..5)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
    .boxed()
}

fn secrets_and_value(alphabet: &'static str) -> impl Strategy<Value = (Vec<String>, Value)> {
    secrets(alphabet).prop_flat_map(|secrets| (Just(secrets.clone()), laced_json(secrets)))
}

/// The secrets redaction acts on.
fn long(secrets: &[String]) -> Vec<&String> {
    secrets.iter().filter(|s| s.chars().count() >= MIN_SECRET_CHARS).collect()
}

/// Whether `after` is `before` redacted as promised: same keys in the same
/// order, same array lengths, same scalars except that a number spelling a
/// secret became `"[REDACTED]"`; a string without a secret is unchanged and one
/// with a secret changed.
fn redacted_shape(before: &Value, after: &Value, secrets: &[&String]) -> Result<(), String> {
    match (before, after) {
        (Value::String(a), Value::String(b)) => {
            let holds = secrets.iter().any(|s| a.contains(s.as_str()));
            match (holds, a == b) {
                (false, false) => Err(format!("{a:?} holds no secret but became {b:?}")),
                (true, true) => Err(format!("{a:?} holds a secret but was left as it was")),
                (true, false) if !b.contains(REDACTED) => Err(format!("{a:?} became {b:?}, without {REDACTED}")),
                _ => Ok(()),
            }
        }
        (Value::Number(n), Value::String(s)) if s == REDACTED && secrets.iter().any(|x| **x == n.to_string()) => Ok(()),
        (Value::Number(n), Value::Number(m)) if n == m => {
            if secrets.iter().any(|x| **x == n.to_string()) {
                Err(format!("number {n} spells a secret but was kept"))
            } else {
                Ok(())
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).try_for_each(|(x, y)| redacted_shape(x, y, secrets))
        }
        (Value::Object(a), Value::Object(b)) if a.len() == b.len() => {
            a.iter().zip(b).try_for_each(|((ka, va), (kb, vb))| {
                if ka != kb {
                    return Err(format!("key {ka:?} became {kb:?}"));
                }
                redacted_shape(va, vb, secrets)
            })
        }
        (a, b) if a == b && !a.is_string() && !a.is_number() => Ok(()),
        (a, b) => Err(format!("{a} became {b}")),
    }
}

/// Whether some secret overlaps the marker: inside it, or straddling one of its ends.
fn overlaps_marker(secret: &str) -> bool {
    let marker = REDACTED;
    marker.contains(secret)
        || (1..marker.len()).any(|i| secret.starts_with(&marker[i..]) || secret.ends_with(&marker[..i]))
}

/// Lower case and digits only: no secret can overlap `[REDACTED]`.
const SAFE: &str = "abcxyz019é日";
/// The marker's own characters: secrets that overlap it are common.
const MARKERISH: &str = "[]REDACTabx";

fn check_redaction(secrets: &[String], value: &Value) -> Result<Value, TestCaseError> {
    let redactor = Redactor::new(secrets);
    let mut once = value.clone();
    redactor.value(&mut once);
    let long = long(secrets);
    if long.is_empty() {
        prop_assert!(redactor.is_noop());
        prop_assert_eq!(&once, value, "secrets shorter than MIN_SECRET_CHARS changed the value");
    }
    if let Err(message) = redacted_shape(value, &once, &long) {
        return Err(TestCaseError::fail(format!("{message}\nsecrets {secrets:?}\nbefore {value}\nafter {once}")));
    }
    // The free functions and the string entry point agree with the redactor.
    let mut via_fn = value.clone();
    redact(&mut via_fn, secrets);
    prop_assert_eq!(&via_fn, &once);
    for text in strings(value) {
        prop_assert_eq!(&redact_text(text, secrets), &redactor.text(text));
        let mut alone = Value::String(text.to_string());
        redactor.value(&mut alone);
        prop_assert_eq!(alone, Value::String(redactor.text(text)));
    }
    Ok(once)
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn no_secret_survives_in_a_string_value_and_the_shape_is_kept((secrets, value) in secrets_and_value(SAFE)) {
        let once = check_redaction(&secrets, &value)?;
        for text in strings(&once) {
            for secret in long(&secrets) {
                prop_assert!(!text.contains(secret.as_str()), "{secret:?} survives in {text:?}");
            }
        }
    }

    #[test]
    fn redacting_twice_equals_redacting_once((secrets, value) in secrets_and_value(SAFE)) {
        let redactor = Redactor::new(&secrets);
        let mut once = value.clone();
        redactor.value(&mut once);
        let mut twice = once.clone();
        redactor.value(&mut twice);
        prop_assert_eq!(twice, once);
    }

    /// With secrets drawn from the marker's own characters: whatever overlaps
    /// `[REDACTED]` is excluded (see HARDENING.md), everything else must hold.
    #[test]
    fn secrets_made_of_the_markers_characters_are_redacted_too((secrets, value) in secrets_and_value(MARKERISH)) {
        prop_assume!(!long(&secrets).iter().any(|s| overlaps_marker(s)));
        let once = check_redaction(&secrets, &value)?;
        for text in strings(&once) {
            for secret in long(&secrets) {
                prop_assert!(!text.contains(secret.as_str()), "{secret:?} survives in {text:?}");
            }
        }
        let mut twice = once.clone();
        Redactor::new(&secrets).value(&mut twice);
        prop_assert_eq!(twice, once);
    }
}

/// What the marker-alphabet target found (HARDENING.md, finding 3): a secret
/// whose end is the start of `[REDACTED]` is rebuilt by the replacement, as
/// `bR[R` in `bRbR[R` → `bR[REDACTED]`; such a string is now redacted whole.
#[test]
fn a_secret_overlapping_the_marker_is_not_rebuilt_by_redaction() {
    let mut value = json!(["bRbR[R"]);
    Redactor::new(&["bR[R"]).value(&mut value);
    assert!(!value[0].as_str().unwrap().contains("bR[R"), "{value}");
}

fn status() -> impl Strategy<Value = ExecutionStatus> {
    prop::sample::select(vec![
        ExecutionStatus::Queued,
        ExecutionStatus::Running,
        ExecutionStatus::Completed,
        ExecutionStatus::Failed,
        ExecutionStatus::Paused,
        ExecutionStatus::Cancelled,
    ])
}

fn scope(text: BoxedStrategy<String>) -> impl Strategy<Value = Option<ContainerScope>> {
    prop::option::of((text, any::<u64>()).prop_map(|(container_id, index)| ContainerScope { container_id, index }))
}

fn pause_point(text: BoxedStrategy<String>, value: BoxedStrategy<Value>) -> impl Strategy<Value = PausePoint> {
    (
        (text.clone(), text.clone(), text.clone()),
        prop::sample::select(vec![PauseKind::Human, PauseKind::Time]),
        value.clone(),
        (text.clone(), prop::option::of(text.clone())),
        prop::sample::select(vec![ResumeStatus::Paused, ResumeStatus::Resumed]),
        (scope(text.clone()), scope(text)),
        prop::option::of(value),
    )
        .prop_map(
            |(
                (context_id, block_id, block_name),
                pause_kind,
                response,
                (registered_at, resume_at),
                resume_status,
                (loop_scope, parallel_scope),
                input_schema,
            )| PausePoint {
                context_id,
                block_id,
                block_name,
                pause_kind,
                response,
                registered_at,
                resume_at,
                resume_status,
                loop_scope,
                parallel_scope,
                // `Some(null)` reads back as `None` (HARDENING.md, finding 2); a schema is an object or a boolean.
                input_schema: input_schema.filter(|schema| !schema.is_null()),
            },
        )
}

fn block_log(text: BoxedStrategy<String>, value: BoxedStrategy<Value>) -> impl Strategy<Value = BlockLog> {
    let guest_log = (text.clone(), text.clone()).prop_map(|(level, message)| GuestLog { level, message });
    (
        (text.clone(), text.clone(), text.clone(), any::<u64>()),
        (text.clone(), text.clone(), any::<u64>(), any::<bool>()),
        (value.clone(), prop::option::of(value), prop::option::of(text.clone()), any::<bool>()),
        (prop::option::of(text.clone()), prop::option::of(text), prop::option::of(any::<u64>())),
        (any::<u64>(), any::<u64>(), prop::collection::vec(guest_log, 0..3)),
    )
        .prop_map(|(ids, times, data, containers, costs)| {
            let (block_id, block_name, block_type, execution_order) = ids;
            let (started_at, ended_at, duration_ms, success) = times;
            let (input, output, error, error_handled) = data;
            let (loop_id, parallel_id, iteration_index) = containers;
            let (fuel_consumed, memory_peak_bytes, guest_logs) = costs;
            BlockLog {
                block_id,
                block_name,
                block_type,
                execution_order,
                started_at,
                ended_at,
                duration_ms,
                success,
                input,
                output,
                error,
                error_handled,
                loop_id,
                parallel_id,
                iteration_index,
                fuel_consumed,
                memory_peak_bytes,
                guest_logs,
            }
        })
}

fn final_state(text: BoxedStrategy<String>, value: BoxedStrategy<Value>) -> impl Strategy<Value = FinalState> {
    let block_state = (value.clone(), any::<bool>(), any::<u64>())
        .prop_map(|(output, executed, execution_time_ms)| BlockState { output, executed, execution_time_ms });
    (
        prop::collection::btree_map(text.clone(), block_state, 0..3),
        prop::collection::vec(text.clone(), 0..3),
        prop::collection::btree_map(text.clone(), text.clone(), 0..3),
        prop::collection::btree_map(text, value, 0..3),
    )
        .prop_map(|(block_states, executed_blocks, decisions, variables)| FinalState {
            block_states,
            executed_blocks,
            decisions,
            variables,
        })
}

fn execution_result(secrets: Vec<String>) -> impl Strategy<Value = ExecutionResult> {
    let (text, value) = (laced_text(secrets.clone()), laced_json(secrets));
    (
        (any::<bool>(), status(), text.clone()),
        prop::collection::btree_map(text.clone(), value.clone(), 0..4),
        prop::option::of(text.clone()),
        prop::collection::vec(pause_point(text.clone(), value.clone()), 0..3),
        prop::collection::vec(block_log(text.clone(), value.clone()), 0..3),
        final_state(text, value),
    )
        .prop_map(|((success, status, execution_id), output, error, pause_points, logs, final_state)| {
            ExecutionResult { success, status, execution_id, output, error, pause_points, logs, final_state }
        })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn a_redacted_execution_result_serializes_and_reads_back_unchanged(
        (secrets, result) in secrets(SAFE).prop_flat_map(|s| (Just(s.clone()), execution_result(s)))
    ) {
        let mut redacted = result.clone();
        redacted.redact(&Redactor::new(&secrets));
        let text = serde_json::to_string(&redacted).expect("a result serializes");
        let back: ExecutionResult = serde_json::from_str(&text).expect("a serialized result parses");
        // Compared as JSON: `Some(null)` and `None` (a log's `output`) are both `null` there.
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text, "the redacted result changed in a serde round trip");

        let (before, after) = (serde_json::to_value(&result).unwrap(), serde_json::to_value(&redacted).unwrap());
        // Shape: every string may have changed, but keys, lengths and other scalars hold.
        let long = long(&secrets);
        let mut pending = vec![(&before, &after)];
        while let Some((a, b)) = pending.pop() {
            match (a, b) {
                (Value::Object(x), Value::Object(y)) => {
                    prop_assert!(x.keys().eq(y.keys()), "keys changed: {a} / {b}");
                    pending.extend(x.values().zip(y.values()));
                }
                (Value::Array(x), Value::Array(y)) => {
                    prop_assert_eq!(x.len(), y.len());
                    pending.extend(x.iter().zip(y));
                }
                (Value::String(_), Value::String(_)) => {}
                (Value::Number(n), Value::String(s)) => {
                    prop_assert!(s == REDACTED && long.iter().any(|x| **x == n.to_string()), "{n} became {s:?}");
                }
                (x, y) => prop_assert_eq!(x, y),
            }
        }
        // The result's own fields are never rewritten.
        prop_assert_eq!(&redacted.execution_id, &result.execution_id);
        prop_assert_eq!((redacted.success, redacted.status), (result.success, result.status));
        for (a, b) in redacted.logs.iter().zip(&result.logs) {
            prop_assert_eq!((&a.block_id, &a.block_name, &a.started_at), (&b.block_id, &b.block_name, &b.started_at));
        }
        for (a, b) in redacted.pause_points.iter().zip(&result.pause_points) {
            prop_assert_eq!((&a.context_id, &a.block_id, &a.registered_at), (&b.context_id, &b.block_id, &b.registered_at));
        }
        // What carries data holds no secret any more.
        let mut data: Vec<&Value> = redacted.output.values().collect();
        data.extend(redacted.logs.iter().flat_map(|log| std::iter::once(&log.input).chain(&log.output)));
        data.extend(redacted.pause_points.iter().map(|p| &p.response));
        data.extend(redacted.final_state.block_states.values().map(|s| &s.output));
        data.extend(redacted.final_state.variables.values());
        let mut texts: Vec<&str> = data.into_iter().flat_map(strings).collect();
        texts.extend(redacted.error.as_deref());
        texts.extend(redacted.logs.iter().flat_map(|log| log.error.as_deref()));
        texts.extend(redacted.logs.iter().flat_map(|log| log.guest_logs.iter().map(|l| l.message.as_str())));
        texts.extend(redacted.final_state.decisions.values().map(String::as_str));
        for text in texts {
            for secret in &long {
                prop_assert!(!text.contains(secret.as_str()), "{secret:?} survives in {text:?}");
            }
        }
    }
}
