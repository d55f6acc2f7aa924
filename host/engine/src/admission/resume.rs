//! Admitting a resume: the pause point it names is open, and its input fits
//! the schema the pause point declared.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::ExecuteError;
use crate::request::{Checkpoint, ResumeRequest};
use crate::result::{PauseKind, PausePoint, ResumeStatus};

/// Takes the checkpoint of the pause point `resume` names out of `memo` (it
/// runs again), with why its input is refused when the pause is timed: a
/// caller is told and may retry, a timer would retry for ever, so that block
/// fails instead.
pub(super) fn resumed_pause(
    memo: &mut HashMap<String, Checkpoint>,
    resume: &ResumeRequest,
) -> Result<(PausePoint, Option<(String, String)>), ExecuteError> {
    let checkpoint =
        memo.remove(&resume.context_id).ok_or_else(|| ExecuteError::UnknownPausePoint(resume.context_id.clone()))?;
    // A later checkpoint of the same context replaces the paused one once it is resumed.
    let pause = match checkpoint.pause {
        Some(pause) if pause.resume_status == ResumeStatus::Paused => pause,
        _ => return Err(ExecuteError::AlreadyResumed(resume.context_id.clone())),
    };
    let mut timer_refused = None;
    if let Some(schema) = &pause.input_schema
        && let Err(error) = check_resume_input(&resume.context_id, schema, &resume.input)
    {
        if pause.pause_kind != PauseKind::Time {
            return Err(error);
        }
        timer_refused = Some((resume.context_id.clone(), error.to_string()));
    }
    Ok((pause, timer_refused))
}

/// Checks a resume input against the schema its pause point declared: the
/// engine does so before a resume runs, and a server may do it earlier.
pub fn check_resume_input(context_id: &str, schema: &Value, input: &Value) -> Result<(), ExecuteError> {
    let invalid = |problems| ExecuteError::ResumeInputInvalid { context_id: context_id.to_string(), problems };
    // Before compiling: a schema that refers back to itself in place would never finish.
    crate::validate::check_schema_bounds(schema)
        .map_err(|refused| invalid(vec![format!("the input schema is refused: {refused}")]))?;
    let validator =
        jsonschema::validator_for(schema).map_err(|e| invalid(vec![format!("the input schema is unusable: {e}")]))?;
    let problems: Vec<String> = validator
        .iter_errors(input)
        .take(20)
        .map(|e| {
            let path = e.instance_path.as_str().to_string();
            if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
        })
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(invalid(problems)) }
}
