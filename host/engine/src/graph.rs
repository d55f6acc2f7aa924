//! The workflow as a graph of scopes: the top level and one scope per
//! container (loop or parallel), each a DAG of its direct nodes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::model::{Edge, WorkflowState};

/// One problem found in a workflow; validation reports all of them at once.
/// The API answers with it as an entry of an error's `details`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ErrorDetail))]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of one block's field.
    pub fn at(block_id: &str, field: &str, message: impl Into<String>) -> Self {
        Self { block_id: Some(block_id.into()), field: Some(field.into()), message: message.into() }
    }
    /// A problem of one block (or container).
    pub fn block(block_id: &str, message: impl Into<String>) -> Self {
        Self { block_id: Some(block_id.into()), field: None, message: message.into() }
    }
    /// A problem of the workflow as a whole.
    pub fn workflow(field: &str, message: impl Into<String>) -> Self {
        Self { block_id: None, field: Some(field.into()), message: message.into() }
    }
}

/// Which scope a node lives in: the top level or a container.
pub type ScopeId = Option<String>;

/// The direct nodes of one scope and the edges between them.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Block and container IDs directly in this scope, sorted.
    pub nodes: BTreeSet<String>,
    /// Edges whose both ends are in this scope, by target.
    pub incoming: HashMap<String, Vec<Edge>>,
    /// Edges whose both ends are in this scope, by source.
    pub outgoing: HashMap<String, Vec<Edge>>,
}

impl Scope {
    /// Nodes with no incoming edge: where a container's iteration starts.
    pub fn entry_nodes(&self) -> Vec<String> {
        self.nodes.iter().filter(|n| !self.incoming.contains_key(*n)).cloned().collect()
    }

    /// A topological order, or the nodes left on a cycle.
    pub fn topological_order(&self) -> Result<Vec<String>, Vec<String>> {
        let mut indegree: BTreeMap<&str, usize> =
            self.nodes.iter().map(|n| (n.as_str(), self.incoming.get(n).map_or(0, Vec::len))).collect();
        let mut ready: VecDeque<&str> = indegree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(node) = ready.pop_front() {
            order.push(node.to_string());
            for edge in self.outgoing.get(node).into_iter().flatten() {
                let degree = indegree.get_mut(edge.target.as_str()).expect("edge targets are nodes of the scope");
                *degree -= 1;
                if *degree == 0 {
                    ready.push_back(edge.target.as_str());
                }
            }
        }
        if order.len() == self.nodes.len() {
            Ok(order)
        } else {
            let done: BTreeSet<_> = order.iter().map(String::as_str).collect();
            Err(self.nodes.iter().filter(|n| !done.contains(n.as_str())).cloned().collect())
        }
    }

    /// Whether `ancestor` has a path to `node` inside this scope: one entry of
    /// [`Scope::ancestors`], found without building the whole set.
    pub fn has_ancestor(&self, node: &str, ancestor: &str) -> bool {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut queue = vec![node];
        while let Some(current) = queue.pop() {
            for edge in self.incoming.get(current).into_iter().flatten() {
                if edge.source == ancestor {
                    return true;
                }
                if seen.insert(edge.source.as_str()) {
                    queue.push(edge.source.as_str());
                }
            }
        }
        false
    }

    /// Every node with a path to `node` inside this scope.
    pub fn ancestors(&self, node: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = vec![node.to_string()];
        while let Some(current) = queue.pop() {
            for edge in self.incoming.get(&current).into_iter().flatten() {
                if seen.insert(edge.source.clone()) {
                    queue.push(edge.source.clone());
                }
            }
        }
        seen
    }
}

/// Container membership and per-scope DAGs of a workflow.
#[derive(Debug, Clone, Default)]
pub struct WorkflowGraph {
    /// The container each block or container belongs to, if any.
    pub container_of: HashMap<String, String>,
    pub scopes: HashMap<ScopeId, Scope>,
}

impl WorkflowGraph {
    /// Builds the graph, reporting dangling edges, edges that cross a
    /// container boundary, and inconsistent container membership.
    pub fn build(state: &WorkflowState) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut container_of: HashMap<String, String> = HashMap::new();
        let containers = state
            .loops
            .iter()
            .map(|(id, l)| (id, &l.nodes))
            .chain(state.parallels.iter().map(|(id, p)| (id, &p.nodes)));
        for (container, nodes) in containers {
            if state.blocks.contains_key(container) {
                problems.push(Problem::block(container, "a container ID must not also be a block ID"));
            }
            if state.loops.contains_key(container) && state.parallels.contains_key(container) {
                problems.push(Problem::block(container, "an ID cannot be both a loop and a parallel"));
            }
            if nodes.is_empty() {
                problems.push(Problem::at(container, "nodes", "a container needs at least one node"));
            }
            for node in nodes {
                let known = state.blocks.contains_key(node)
                    || state.loops.contains_key(node)
                    || state.parallels.contains_key(node);
                if !known {
                    problems.push(Problem::at(container, "nodes", format!("`{node}` is not a block or container")));
                } else if node == container {
                    problems.push(Problem::at(container, "nodes", "a container cannot contain itself"));
                } else if let Some(other) = container_of.insert(node.clone(), container.clone()) {
                    problems.push(Problem::block(node, format!("is a node of both `{other}` and `{container}`")));
                }
            }
        }
        for (id, block) in &state.blocks {
            if let Some(parent) = &block.parent_id
                && container_of.get(id) != Some(parent)
            {
                problems.push(Problem::at(id, "parentId", format!("`{parent}` does not list this block in its nodes")));
            }
        }
        // Containers nested in a cycle of membership would never finish.
        for start in container_of.keys() {
            let mut seen = BTreeSet::new();
            let mut current = start.clone();
            while let Some(parent) = container_of.get(&current) {
                if !seen.insert(parent.clone()) {
                    problems.push(Problem::block(start, "containers are nested in a cycle"));
                    break;
                }
                current = parent.clone();
            }
        }

        let mut scopes: HashMap<ScopeId, Scope> = HashMap::new();
        let all_nodes = state.blocks.keys().chain(state.loops.keys()).chain(state.parallels.keys());
        for node in all_nodes {
            scopes.entry(container_of.get(node).cloned()).or_default().nodes.insert(node.clone());
        }
        scopes.entry(None).or_default();
        for (index, edge) in state.edges.iter().enumerate() {
            let field = format!("edges[{index}]");
            let exists = |id: &str| scopes.values().any(|s| s.nodes.contains(id));
            let mut dangling = false;
            for end in [&edge.source, &edge.target] {
                if !exists(end) {
                    problems.push(Problem::workflow(&field, format!("`{end}` is not a block or container")));
                    dangling = true;
                }
            }
            if dangling {
                continue;
            }
            let (from, to) = (container_of.get(&edge.source), container_of.get(&edge.target));
            if from != to {
                problems.push(Problem::workflow(
                    &field,
                    format!(
                        "`{}` → `{}` crosses a container boundary; connect the container instead",
                        edge.source, edge.target
                    ),
                ));
                continue;
            }
            let scope = scopes.get_mut(&from.cloned()).expect("scope of an existing node");
            scope.incoming.entry(edge.target.clone()).or_default().push(edge.clone());
            scope.outgoing.entry(edge.source.clone()).or_default().push(edge.clone());
        }
        (Self { container_of, scopes }, problems)
    }

    /// The scope a node lives in.
    pub fn scope_of(&self, node: &str) -> ScopeId {
        self.container_of.get(node).cloned()
    }

    /// The scope of a container's members (empty when it has none).
    pub fn scope(&self, id: &ScopeId) -> &Scope {
        static EMPTY: std::sync::OnceLock<Scope> = std::sync::OnceLock::new();
        self.scopes.get(id).unwrap_or_else(|| EMPTY.get_or_init(Scope::default))
    }

    /// The containers around `node`, innermost first.
    pub fn enclosing_containers(&self, node: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = node;
        while let Some(parent) = self.container_of.get(current) {
            if chain.contains(parent) {
                break;
            }
            chain.push(parent.clone());
            current = parent;
        }
        chain
    }

    /// The nodes whose outputs `node` may reference: its ancestors in its own
    /// scope, then the ancestors of each enclosing container in theirs (the
    /// containers themselves are still running, so they are not included).
    pub fn upstream(&self, node: &str) -> BTreeSet<String> {
        let mut upstream = self.scope(&self.scope_of(node)).ancestors(node);
        for container in self.enclosing_containers(node) {
            upstream.extend(self.scope(&self.scope_of(&container)).ancestors(&container));
        }
        upstream
    }

    /// Whether `target` is in [`WorkflowGraph::upstream`] of `node`, without building that
    /// set: validation asks this once per reference, and the sets of a chain of n blocks
    /// hold n²/2 IDs in all.
    pub fn is_upstream(&self, node: &str, target: &str) -> bool {
        self.scope(&self.scope_of(node)).has_ancestor(node, target)
            || self
                .enclosing_containers(node)
                .iter()
                .any(|container| self.scope(&self.scope_of(container)).has_ancestor(container, target))
    }
}
