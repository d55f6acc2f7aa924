//! Resuming a pause point, the same for an embedded server and a worker:
//! claim the point (one winner among concurrent resumes), run the pass, then
//! complete the point, or release it when the pass was refused.

use sandflow_engine::{ExecuteError, ExecutionSpec, ResumeRequest};
use sandflow_store::{ClaimResult, ExecutionStatus as StoredStatus, PauseStatus};
use serde_json::Value;

use crate::run::context::RunContext;
use crate::run::error::RunError;
use crate::run::pass::{Ended, Hold, Pass, run_pass};
use crate::tenant::Tenant;

/// Which attempt at a resume this is, as far as its caller knows.
#[derive(Debug, Clone, Copy)]
pub enum Attempt {
    /// A resume run at once, with nothing read of the pause point yet: the claim tells.
    First,
    /// A queued job's attempt: whether an earlier attempt died, and the
    /// pause point's status read before the claim (`None`: no such point).
    Job { retried: bool, point: Option<PauseStatus> },
}

impl Attempt {
    fn retried(self) -> bool {
        matches!(self, Self::Job { retried: true, .. })
    }
}

/// Claims the pause point `context_id`. The execution is marked running
/// first: a crash before the claim leaves the pause point open for a retry
/// to claim, and a crash after it leaves a claim that the retry knows as its
/// own (the point `resuming`) or that recovery reopens. A claim lost to
/// another resume, or of an unknown point, is refused and the status put
/// back to `status_before`.
pub async fn claim(
    app: &RunContext,
    tenant: &Tenant,
    id: &str,
    status_before: StoredStatus,
    context_id: &str,
    attempt: Attempt,
) -> Result<(), RunError> {
    // Refused at once when it is plainly not open (a duplicate timer, a resume that lost),
    // without touching the status.
    let seen = match attempt {
        Attempt::First => None,
        Attempt::Job { retried, point } => {
            match point {
                Some(PauseStatus::Paused) => {}
                Some(PauseStatus::Resuming) if retried => {}
                Some(_) => return Err(RunError::AlreadyResumed(context_id.to_string())),
                None => return Err(RunError::UnknownPausePoint(context_id.to_string())),
            }
            point
        }
    };
    let store = &app.store;
    store.update_execution(tenant.as_str(), id, StoredStatus::Running, None).await?;
    let refusal = match store.claim_pause_point(tenant.as_str(), id, context_id).await? {
        ClaimResult::Claimed { .. } => return Ok(()),
        ClaimResult::AlreadyResumed if attempt.retried() && seen == Some(PauseStatus::Resuming) => return Ok(()),
        ClaimResult::AlreadyResumed => RunError::AlreadyResumed(context_id.to_string()),
        ClaimResult::Unknown => RunError::UnknownPausePoint(context_id.to_string()),
    };
    store.update_execution(tenant.as_str(), id, status_before, None).await?;
    Err(refusal)
}

/// Resumes a claimed pause point with `input` and completes it; when the
/// pass is refused before anything ran, the point opens again and the
/// execution is paused as before. A retried job whose pause point the
/// earlier attempt had already resumed continues from the checkpoints.
#[allow(clippy::too_many_arguments)]
pub async fn resume_claimed(
    app: &RunContext,
    tenant: &Tenant,
    id: &str,
    request: &ExecutionSpec,
    context_id: &str,
    input: Value,
    attempt: Attempt,
    hold: &dyn Hold,
) -> Result<Ended, RunError> {
    let store = &app.store;
    let resume = ResumeRequest { context_id: context_id.to_string(), input };
    let outcome = match run_pass(app, tenant, id, request, Pass::Resume(resume), hold).await {
        Err(RunError::Engine(ExecuteError::AlreadyResumed(_))) if attempt.retried() => {
            run_pass(app, tenant, id, request, Pass::Recover, hold).await
        }
        outcome => outcome,
    };
    match outcome {
        Ok(ended) => {
            store.complete_pause_point(tenant.as_str(), id, context_id).await?;
            Ok(ended)
        }
        // Nothing was stored: the execution is someone else's now.
        Err(lost @ RunError::HoldLost(_)) => Err(lost),
        Err(error) => {
            // Refused before anything ran: the pause point stays open.
            store.release_pause_point(tenant.as_str(), id, context_id).await?;
            store.update_execution(tenant.as_str(), id, StoredStatus::Paused, None).await?;
            Err(error)
        }
    }
}
