//! Deployed workflow states, parsed once per version: a version is frozen when
//! it is deployed, so an execute asks the store only which version is the
//! latest and reuses the state it parsed for that version before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sandflow_engine::WorkflowState;
use sandflow_store::Store;

use crate::api::error::ApiResult;
use crate::api::extract::parse_workflow_state;
use crate::tenant::Tenant;

/// Most versions kept; past it they are all dropped and parsed again on use.
const MAX_KEPT_VERSIONS: usize = 4_096;

/// A deployed version: the tenant, the workflow, its number and when it was
/// deployed (a workflow deleted and created again numbers from 1 again).
type VersionKey = (Tenant, String, u32, i128);

/// The parsed states of deployed versions.
#[derive(Default)]
pub struct DeployedStates {
    by_version: Mutex<HashMap<VersionKey, Arc<WorkflowState>>>,
}

impl DeployedStates {
    /// The latest deployed version of `tenant`'s workflow `id` and its state,
    /// `None` if it was never deployed or does not exist. A state read now is
    /// parsed (refused above `max_blocks` blocks, as any request's) and kept.
    pub async fn latest(
        &self,
        store: &dyn Store,
        tenant: &Tenant,
        id: &str,
        max_blocks: usize,
    ) -> ApiResult<Option<(u32, Arc<WorkflowState>)>> {
        let Some(latest) = store.latest_deployed_version(tenant.as_str(), id).await? else { return Ok(None) };
        let version = latest.version;
        let key = (tenant.clone(), id.to_string(), version, latest.deployed_at.unix_timestamp_nanos());
        if let Some(state) = self.by_version.lock().expect("deployed states").get(&key) {
            return Ok(Some((version, state.clone())));
        }
        // Deleted since the version was read: as if never deployed.
        let Some(stored) = store.get_workflow_version(tenant.as_str(), id, version).await? else { return Ok(None) };
        let state = Arc::new(parse_workflow_state(stored, max_blocks)?);
        let mut by_version = self.by_version.lock().expect("deployed states");
        if by_version.len() >= MAX_KEPT_VERSIONS {
            by_version.clear();
        }
        by_version.insert(key, state.clone());
        Ok(Some((version, state)))
    }
}
