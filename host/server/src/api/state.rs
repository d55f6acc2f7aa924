//! What every request shares: the verifier of its token, the run context
//! (store, blocks, limits, metrics) and the dispatch that runs executions.

use std::sync::Arc;

use crate::api::deployed::DeployedStates;
use crate::auth::Verifier;
use crate::run::context::RunContext;
use crate::run::dispatch::Dispatch;

/// The state shared by every route.
pub struct AppState {
    pub verifier: Verifier,
    /// The store, the blocks, the settings, the limits and the metrics.
    pub run: Arc<RunContext>,
    /// Runs executions, here or on workers.
    pub dispatch: Dispatch,
    /// Deployed workflow states already parsed.
    pub deployed: DeployedStates,
}

impl AppState {
    /// The routes' state over `dispatch` and its run context.
    pub fn new(verifier: Verifier, dispatch: Dispatch) -> Self {
        Self { verifier, run: dispatch.context().clone(), dispatch, deployed: DeployedStates::default() }
    }
}
