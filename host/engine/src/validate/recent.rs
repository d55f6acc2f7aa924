//! The workflows an engine validated most recently, with what validation
//! worked out for them: a server checks an execution before storing it and
//! validates it again when it runs, and runs the same workflow many times.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::ValidationSettings;
use crate::graph::WorkflowGraph;
use crate::model::WorkflowState;
use crate::reference::{BlockIndex, FoundByText};

/// What validating a workflow worked out that an execution uses: its graph,
/// its block index and the references of its texts.
pub(crate) type WorkedOut = (Arc<WorkflowGraph>, Arc<BlockIndex>, Arc<FoundByText>);

/// How many valid workflows an engine remembers.
const REMEMBERED: usize = 16;

/// A workflow that passed validation, and everything its validation depended
/// on: the same inputs give the same verdict, so it need not be found again.
struct Validated {
    state: Arc<WorkflowState>,
    input_schemas: Arc<HashMap<String, Value>>,
    settings: ValidationSettings,
    provided_env: BTreeSet<String>,
    graph: Arc<WorkflowGraph>,
    index: Arc<BlockIndex>,
    found: Arc<FoundByText>,
}

impl Validated {
    fn is_for(
        &self,
        state: &Arc<WorkflowState>,
        input_schemas: &HashMap<String, Value>,
        settings: &ValidationSettings,
        provided_env: &BTreeSet<String>,
    ) -> bool {
        // An engine hands in the same schemas every time: the address settles it.
        let same_schemas = std::ptr::eq(&*self.input_schemas, input_schemas) || *self.input_schemas == *input_schemas;
        // A deployed version's executions share its state: the address settles that too.
        let same_state = Arc::ptr_eq(&self.state, state) || *self.state == **state;
        self.settings == *settings && self.provided_env == *provided_env && same_schemas && same_state
    }
}

/// The last [`REMEMBERED`] valid workflows, most recently used first. Invalid
/// ones are not kept: they are refused before anything runs, and rarely sent twice.
#[derive(Default)]
pub(crate) struct RecentWorkflows {
    recent: Mutex<VecDeque<Arc<Validated>>>,
}

impl RecentWorkflows {
    /// The graph and block index of `state` if an identical workflow was
    /// validated with identical inputs before.
    pub(crate) fn find(
        &self,
        state: &Arc<WorkflowState>,
        input_schemas: &HashMap<String, Value>,
        settings: &ValidationSettings,
        provided_env: &BTreeSet<String>,
    ) -> Option<WorkedOut> {
        // Compared outside the lock: a comparison walks the whole workflow.
        let candidates: Vec<Arc<Validated>> = self.recent.lock().expect("recent lock").iter().cloned().collect();
        let found = candidates.iter().find(|v| v.is_for(state, input_schemas, settings, provided_env))?;
        let mut recent = self.recent.lock().expect("recent lock");
        if let Some(at) = recent.iter().position(|v| Arc::ptr_eq(v, found)) {
            let entry = recent.remove(at).expect("position is in range");
            recent.push_front(entry);
        }
        Some((found.graph.clone(), found.index.clone(), found.found.clone()))
    }

    /// Remembers a valid workflow and what its validation worked out. An
    /// execution hands its workflow over when it ends, so nothing is copied.
    pub(crate) fn remember(
        &self,
        state: Arc<WorkflowState>,
        input_schemas: Arc<HashMap<String, Value>>,
        settings: ValidationSettings,
        provided_env: BTreeSet<String>,
        (graph, index, found): WorkedOut,
    ) {
        let validated = Arc::new(Validated { state, input_schemas, settings, provided_env, graph, index, found });
        let mut recent = self.recent.lock().expect("recent lock");
        recent.push_front(validated);
        recent.truncate(REMEMBERED);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn state(name: &str) -> Arc<WorkflowState> {
        Arc::new(serde_json::from_value(json!({"blocks": {"start": {"type": "start", "name": name}}})).unwrap())
    }

    #[test]
    fn a_workflow_is_found_again_only_with_every_input_identical() {
        let recent = RecentWorkflows::default();
        let schemas: Arc<HashMap<String, Value>> = Arc::new([("start".to_string(), json!({"type": "object"}))].into());
        let settings = ValidationSettings::default();
        let env = BTreeSet::new();
        let remember = |state: Arc<WorkflowState>| {
            let index = Arc::new(BlockIndex::new(&state));
            let graph = Arc::new(WorkflowGraph::build(&state).0);
            recent.remember(state, schemas.clone(), settings, env.clone(), (graph, index, Arc::default()));
        };
        remember(state("Start"));
        assert!(recent.find(&state("Start"), &schemas, &settings, &env).is_some());
        let equal_schemas = (*schemas).clone();
        assert!(recent.find(&state("Start"), &equal_schemas, &settings, &env).is_some(), "equal, not the same");
        assert!(recent.find(&state("Begin"), &schemas, &settings, &env).is_none());
        let other_schemas: HashMap<String, Value> = [("start".to_string(), json!({"type": "array"}))].into();
        assert!(recent.find(&state("Start"), &other_schemas, &settings, &env).is_none());
        let fewer_blocks = ValidationSettings { max_blocks: 0, ..settings };
        assert!(recent.find(&state("Start"), &schemas, &fewer_blocks, &env).is_none());
        let provided: BTreeSet<String> = ["TOKEN".to_string()].into();
        assert!(recent.find(&state("Start"), &schemas, &settings, &provided).is_none());

        for i in 0..REMEMBERED {
            remember(state(&format!("Start {i}")));
        }
        assert!(recent.find(&state("Start"), &schemas, &settings, &env).is_none(), "the oldest is forgotten");
        assert!(recent.find(&state("Start 0"), &schemas, &settings, &env).is_some());
    }
}
