//! Runs a scope as a DAG: nodes start when their last incoming edge is
//! decided and one fired; untaken branches are skipped transitively.

use std::borrow::Cow;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::json;

use super::context::ExecutionContext;
use super::frame::{Frame, NodeEnd, ScopeEnd};
use crate::graph::ScopeId;
use crate::model::Handle;
use crate::runner::BlockRunner;

/// Per node of a scope: incoming edges not yet decided, and those that fired.
struct EdgeTally<'a> {
    edges: HashMap<&'a str, Tally>,
}

#[derive(Debug, Clone, Copy)]
struct Tally {
    undecided: usize,
    fired: usize,
}

/// What a node becomes once its last incoming edge is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    Pending,
    Ready,
    Skipped,
}

impl<'a> EdgeTally<'a> {
    fn new(scope: &'a crate::graph::Scope) -> Self {
        let edges = scope
            .nodes
            .iter()
            .map(|n| (n.as_str(), Tally { undecided: scope.incoming.get(n).map_or(0, Vec::len), fired: 0 }))
            .collect();
        Self { edges }
    }

    /// Decides one edge into `target`: the node runs when its last edge is
    /// decided and at least one fired, and is skipped when none did.
    fn decide(&mut self, target: &str, fires: bool) -> Settled {
        let tally = self.edges.get_mut(target).expect("edge target in scope");
        tally.fired += usize::from(fires);
        tally.undecided -= 1;
        match (tally.undecided, tally.fired) {
            (0, 0) => Settled::Skipped,
            (0, _) => Settled::Ready,
            _ => Settled::Pending,
        }
    }
}

fn settle(settled: Settled, target: &str, ready: &mut Vec<String>, skipped: &mut Vec<String>) {
    match settled {
        Settled::Ready => ready.push(target.to_string()),
        Settled::Skipped => skipped.push(target.to_string()),
        Settled::Pending => {}
    }
}

/// Which outgoing edges of a finished node fire.
enum Fired {
    /// It succeeded, choosing `route` if it routes.
    Success { route: Option<String> },
    /// It failed into its error edges.
    Error,
}

impl Fired {
    fn fires(&self, handle: &Handle) -> bool {
        match (self, handle) {
            (Fired::Success { .. }, Handle::Source) => true,
            (Fired::Success { route }, Handle::Condition(id) | Handle::Router(id)) => {
                route.as_deref() == Some(id.as_str())
            }
            (Fired::Error, Handle::Error) => true,
            _ => false,
        }
    }
}

type NodeFuture<'a> = Pin<Box<dyn Future<Output = (String, NodeEnd)> + Send + 'a>>;

impl<R: BlockRunner> ExecutionContext<R> {
    /// Runs the nodes of `scope` in `frame` until nothing is runnable.
    pub(super) fn run_scope(
        self: Arc<Self>,
        scope: ScopeId,
        frame: Arc<Frame>,
    ) -> Pin<Box<dyn Future<Output = ScopeEnd> + Send>> {
        Box::pin(async move {
            let definition = self.graph.scope(&scope);
            let mut tally = EdgeTally::new(definition);
            // At the top level only `start` begins the run; other nodes without
            // incoming edges are unreachable. In a container every entry node starts.
            let mut ready: Vec<String> = Vec::new();
            let mut skipped: Vec<String> = Vec::new();
            for node in definition.entry_nodes() {
                let is_start = self.request.spec.state.blocks.get(&node).is_some_and(|b| b.block_type == "start");
                if scope.is_some() || is_start {
                    ready.push(node);
                } else {
                    skipped.push(node);
                }
            }
            let mut running: FuturesUnordered<NodeFuture<'_>> = FuturesUnordered::new();
            let mut paused = false;
            let mut failed: Option<String> = None;
            loop {
                // Deactivate untaken branches transitively.
                while let Some(node) = skipped.pop() {
                    for edge in definition.outgoing.get(&node).into_iter().flatten() {
                        let settled = tally.decide(&edge.target, false);
                        settle(settled, &edge.target, &mut ready, &mut skipped);
                    }
                }
                let stop = failed.is_some() || self.halted() || frame.stopped();
                for node in ready.drain(..) {
                    if stop {
                        continue;
                    }
                    let enabled = self.request.spec.state.blocks.get(&node).is_none_or(|b| b.is_enabled());
                    if !enabled {
                        skipped.push(node);
                        continue;
                    }
                    let (context, frame) = (self.clone(), frame.clone());
                    running.push(Box::pin(async move {
                        let end = context.run_node(&node, frame).await;
                        (node, end)
                    }));
                }
                if !skipped.is_empty() {
                    continue;
                }
                let Some((node, end)) = running.next().await else { break };
                let outgoing = definition.outgoing.get(&node).map(Vec::as_slice).unwrap_or_default();
                let has_error_edge = outgoing.iter().any(|e| e.handle() == Handle::Error);
                let fired = match end {
                    NodeEnd::Succeeded { output, route } => {
                        frame.outputs.lock().expect("outputs lock").insert(node.clone(), output);
                        if let Some(route) = &route
                            && frame.prefix.is_empty()
                        {
                            self.decisions.lock().expect("decisions lock").insert(node.clone(), route.clone());
                        }
                        Fired::Success { route }
                    }
                    NodeEnd::Failed { output_error, .. } if has_error_edge => {
                        frame
                            .outputs
                            .lock()
                            .expect("outputs lock")
                            .insert(node.clone(), json!({"error": output_error}));
                        Fired::Error
                    }
                    NodeEnd::Failed { message, .. } => {
                        failed.get_or_insert(message);
                        continue;
                    }
                    NodeEnd::Paused => {
                        paused = true;
                        continue;
                    }
                    NodeEnd::Halted => continue,
                };
                if frame.prefix.is_empty() {
                    self.executed.lock().expect("executed lock").push(node.clone());
                }
                for edge in outgoing {
                    let settled = tally.decide(&edge.target, fired.fires(&edge.handle()));
                    settle(settled, &edge.target, &mut ready, &mut skipped);
                }
            }
            if let Some(message) = failed {
                if scope.is_none() {
                    self.fail(message.clone());
                }
                return ScopeEnd::Failed(message);
            }
            if self.halted() {
                return ScopeEnd::Halted;
            }
            if paused { ScopeEnd::Paused } else { ScopeEnd::Finished }
        })
    }

    pub(super) async fn run_node(self: Arc<Self>, node: &str, frame: Arc<Frame>) -> NodeEnd {
        // A container's output carried over by a run from a block.
        if !self.memo.is_empty()
            && !self.request.spec.state.blocks.contains_key(node)
            && let Some(checkpoint) = self.memo.get(&format!("{}{node}", frame.prefix))
        {
            return self.replay(Cow::Borrowed(checkpoint));
        }
        if let Some(container) = self.request.spec.state.loops.get(node) {
            let container = container.clone();
            return self.run_loop(node, &container, frame).await;
        }
        if let Some(container) = self.request.spec.state.parallels.get(node) {
            let container = container.clone();
            return self.run_parallel(node, &container, frame).await;
        }
        self.run_block(node, frame).await
    }
}
