//! Applies a finished block run, fresh or from a checkpoint, to the execution.

use std::borrow::Cow;
use std::sync::atomic::Ordering;

use super::context::ExecutionContext;
use super::frame::NodeEnd;
use crate::request::{Checkpoint, CheckpointOutcome};
use crate::result::ResumeStatus;
use crate::runner::{BlockOutcome, BlockRunner};

impl<R: BlockRunner> ExecutionContext<R> {
    /// Applies a finished run to the execution: a checkpoint borrowed from the
    /// request is copied, a fresh run's is moved (its log and output are kept
    /// as they are, not copied once more).
    pub(super) fn replay(&self, checkpoint: Cow<'_, Checkpoint>) -> NodeEnd {
        if let Some((resume, pause)) = &self.resumed
            && resume.context_id == checkpoint.context_id
        {
            let mut resumed = pause.clone();
            resumed.resume_status = ResumeStatus::Resumed;
            self.pause_points.lock().expect("pause lock").push(resumed);
        }
        if let CheckpointOutcome::Succeeded { outcome: BlockOutcome::Done { .. } } = &checkpoint.outcome
            && self.is_response_block(&checkpoint.block_id)
        {
            // Sim's rule: the response ends the execution; what still
            // runs is stopped and nothing new starts.
            self.responded.store(true, Ordering::SeqCst);
            self.stop_runs.cancel();
        }
        match checkpoint {
            Cow::Borrowed(checkpoint) => {
                if let Some(log) = &checkpoint.log {
                    self.logs.lock().expect("logs lock").push(log.clone());
                }
                if let CheckpointOutcome::Succeeded { .. } = &checkpoint.outcome {
                    let mut variables = self.variables.lock().expect("variables lock");
                    for (name, value) in &checkpoint.variable_writes {
                        variables.insert(name.clone(), value.clone());
                    }
                }
                self.node_end(&checkpoint.block_id, checkpoint.outcome.clone(), checkpoint.pause.clone())
            }
            Cow::Owned(Checkpoint { block_id, outcome, variable_writes, log, pause, .. }) => {
                if let Some(log) = log {
                    self.logs.lock().expect("logs lock").push(log);
                }
                if let CheckpointOutcome::Succeeded { .. } = &outcome {
                    self.variables.lock().expect("variables lock").extend(variable_writes);
                }
                self.node_end(&block_id, outcome, pause)
            }
        }
    }

    /// How the node ended, given its run's outcome and pause point.
    fn node_end(
        &self,
        block_id: &str,
        outcome: CheckpointOutcome,
        pause: Option<crate::result::PausePoint>,
    ) -> NodeEnd {
        match outcome {
            CheckpointOutcome::Succeeded { outcome } => match outcome {
                BlockOutcome::Done { output } => NodeEnd::Succeeded { output, route: None },
                BlockOutcome::Route { route, output } => NodeEnd::Succeeded { output, route: Some(route) },
                BlockOutcome::Pause { .. } => {
                    if let Some(pause) = pause {
                        self.pause_points.lock().expect("pause lock").push(pause);
                    }
                    NodeEnd::Paused
                }
            },
            CheckpointOutcome::Failed { message, .. } => {
                NodeEnd::Failed { message: format!("{}: {message}", self.block_name(block_id)), output_error: message }
            }
        }
    }
}
