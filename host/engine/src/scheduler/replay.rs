//! Applies a finished block run, fresh or from a checkpoint, to the execution.

use std::sync::atomic::Ordering;

use super::context::ExecutionContext;
use super::frame::NodeEnd;
use crate::request::{Checkpoint, CheckpointOutcome};
use crate::result::ResumeStatus;
use crate::runner::{BlockOutcome, BlockRunner};

impl<R: BlockRunner> ExecutionContext<R> {
    /// Applies a finished run (fresh or from a checkpoint) to the execution.
    pub(super) fn replay(&self, checkpoint: &Checkpoint) -> NodeEnd {
        if let Some(log) = &checkpoint.log {
            self.logs.lock().expect("logs lock").push(log.clone());
        }
        if let Some((resume, pause)) = &self.resumed
            && resume.context_id == checkpoint.context_id
        {
            let mut resumed = pause.clone();
            resumed.resume_status = ResumeStatus::Resumed;
            self.pause_points.lock().expect("pause lock").push(resumed);
        }
        match &checkpoint.outcome {
            CheckpointOutcome::Succeeded { outcome } => {
                if matches!(outcome, BlockOutcome::Done { .. }) && self.is_response_block(&checkpoint.block_id) {
                    // Sim's rule: the response ends the execution; what still
                    // runs is stopped and nothing new starts.
                    self.responded.store(true, Ordering::SeqCst);
                    self.stop_runs.cancel();
                }
                let mut variables = self.variables.lock().expect("variables lock");
                for (name, value) in &checkpoint.variable_writes {
                    variables.insert(name.clone(), value.clone());
                }
                match outcome {
                    BlockOutcome::Done { output } => NodeEnd::Succeeded { output: output.clone(), route: None },
                    BlockOutcome::Route { route, output } => {
                        NodeEnd::Succeeded { output: output.clone(), route: Some(route.clone()) }
                    }
                    BlockOutcome::Pause { .. } => {
                        if let Some(pause) = &checkpoint.pause {
                            self.pause_points.lock().expect("pause lock").push(pause.clone());
                        }
                        NodeEnd::Paused
                    }
                }
            }
            CheckpointOutcome::Failed { message, .. } => NodeEnd::Failed {
                message: format!("{}: {message}", self.block_name(&checkpoint.block_id)),
                output_error: message.clone(),
            },
        }
    }
}
