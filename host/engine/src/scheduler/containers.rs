//! Loops and parallels: containers that run their own scope once per
//! iteration or branch and output every run's outputs.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};

use super::context::ExecutionContext;
use super::frame::{Binding, ContainerKind, Frame, NodeEnd, ScopeEnd};
use super::references::FrameScope;
use crate::model::{LoopDef, LoopType, ParallelDef, ParallelType};
use crate::reference::{self, Syntax};
use crate::runner::BlockRunner;

impl<R: BlockRunner> ExecutionContext<R> {
    /// Resolves a container's item source (an array, an object, or a reference to one).
    fn container_items(&self, source: Option<&Value>, frame: &Frame, container: &str) -> Result<Vec<Value>, String> {
        let resolved = match source {
            Some(Value::String(text)) => reference::resolve_string(text, &FrameScope::ungranted(self, frame))
                .map_err(|e| format!("{container}: {e}"))?,
            Some(other) => other.clone(),
            None => Value::Null,
        };
        // Sim accepts a collection written as JSON text (`"[1, 2, 3]"`), directly
        // or through a reference to a string; other text stays an error.
        let resolved = match resolved {
            Value::String(text) => match serde_json::from_str::<Value>(text.trim()) {
                Ok(parsed @ (Value::Array(_) | Value::Object(_))) => parsed,
                _ => {
                    return Err(format!(
                        "{container}: items must be an array, an object or JSON text of one, got the string {:?}",
                        text.chars().take(80).collect::<String>()
                    ));
                }
            },
            other => other,
        };
        match resolved {
            Value::Array(items) => Ok(items),
            Value::Object(map) => Ok(map.into_iter().map(|(k, v)| json!([k, v])).collect()),
            Value::Null => Ok(Vec::new()),
            other => Err(format!("{container}: items must be an array or an object, got {other}")),
        }
    }

    pub(super) async fn run_loop(self: Arc<Self>, id: &str, definition: &LoopDef, frame: Arc<Frame>) -> NodeEnd {
        let cap = self.loop_cap;
        let items = match definition.loop_type {
            LoopType::ForEach => match self.container_items(definition.for_each_items.as_ref(), &frame, id) {
                Ok(items) => items,
                Err(message) => return NodeEnd::failed(message),
            },
            _ => Vec::new(),
        };
        let items_value = Arc::new(Value::Array(items.clone()));
        let scope = Some(id.to_string());
        let mut results: Vec<Value> = Vec::new();
        let mut last_outputs: HashMap<String, Value> = HashMap::new();
        let mut index: u64 = 0;
        loop {
            let more = match definition.loop_type {
                LoopType::For => index < definition.iterations.unwrap_or(0),
                LoopType::ForEach => (index as usize) < items.len(),
                LoopType::While | LoopType::DoWhile => {
                    if definition.loop_type == LoopType::DoWhile && index == 0 {
                        true
                    } else {
                        // The condition sees the next index and the members' latest outputs.
                        let binding = self.binding(id, ContainerKind::Loop, index, Value::Null, items_value.clone());
                        let probe = frame.child(binding, frame.stop.clone());
                        *probe.outputs.lock().expect("outputs lock") = last_outputs.clone();
                        let expression = definition.while_condition.as_deref().unwrap_or("false");
                        match self.condition(expression, &probe, id).await {
                            Ok(truthy) => truthy,
                            Err(end) => return end,
                        }
                    }
                }
            };
            if !more {
                break;
            }
            if index >= cap {
                return NodeEnd::failed(format!("{id}: loop exceeded {cap} iterations"));
            }
            let current_item = items.get(index as usize).cloned().unwrap_or(json!(index));
            let binding = self.binding(id, ContainerKind::Loop, index, current_item, items_value.clone());
            let child = frame.child(binding, frame.stop.clone());
            match self.clone().run_scope(scope.clone(), child.clone()).await {
                ScopeEnd::Finished => {
                    last_outputs = child.outputs.lock().expect("outputs lock").clone();
                    results.push(Value::Object(last_outputs.clone().into_iter().collect()));
                }
                ScopeEnd::Paused => return NodeEnd::Paused,
                ScopeEnd::Failed(message) => return NodeEnd::failed(message),
                ScopeEnd::Halted => return NodeEnd::Halted,
            }
            index += 1;
        }
        NodeEnd::Succeeded { output: json!({"results": results}), route: None }
    }

    pub(super) async fn run_parallel(
        self: Arc<Self>,
        id: &str,
        definition: &ParallelDef,
        frame: Arc<Frame>,
    ) -> NodeEnd {
        let items = match definition.parallel_type {
            ParallelType::Count => (0..definition.count.unwrap_or(0)).map(|i| json!(i)).collect(),
            ParallelType::Collection => match self.container_items(definition.distribution.as_ref(), &frame, id) {
                Ok(items) => items,
                Err(message) => return NodeEnd::failed(message),
            },
        };
        let items_value = Arc::new(Value::Array(items.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let scope = Some(id.to_string());
        let branches: FuturesUnordered<_> = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| {
                let binding = self.binding(id, ContainerKind::Parallel, index as u64, item, items_value.clone());
                let child = frame.child(binding, stop.clone());
                let (context, scope, stop) = (self.clone(), scope.clone(), stop.clone());
                async move {
                    let end = context.run_scope(scope, child.clone()).await;
                    if matches!(end, ScopeEnd::Failed(_)) {
                        // A failed branch fails the container: start nothing new in its siblings.
                        stop.store(true, Ordering::SeqCst);
                    }
                    (index, end, child)
                }
            })
            .collect();
        let mut ends: Vec<(usize, ScopeEnd, Arc<Frame>)> = branches.collect().await;
        ends.sort_by_key(|(index, ..)| *index);
        if let Some((_, ScopeEnd::Failed(message), _)) =
            ends.iter().find(|(_, end, _)| matches!(end, ScopeEnd::Failed(_)))
        {
            return NodeEnd::failed(message.clone());
        }
        if ends.iter().any(|(_, end, _)| *end == ScopeEnd::Halted) {
            return NodeEnd::Halted;
        }
        if ends.iter().any(|(_, end, _)| *end == ScopeEnd::Paused) {
            return NodeEnd::Paused;
        }
        let results: Vec<Value> = ends
            .into_iter()
            .map(|(_, _, child)| {
                Value::Object(child.outputs.lock().expect("outputs lock").clone().into_iter().collect())
            })
            .collect();
        NodeEnd::Succeeded { output: json!({"results": results}), route: None }
    }

    fn binding(
        &self,
        container: &str,
        kind: ContainerKind,
        index: u64,
        current_item: Value,
        items: Arc<Value>,
    ) -> Binding {
        Binding { kind, container: container.to_string(), index, current_item, items }
    }

    /// Evaluates a `while` condition in the loop's next iteration's frame.
    async fn condition(&self, expression: &str, frame: &Frame, id: &str) -> Result<bool, NodeEnd> {
        let script = reference::resolve_script(expression, &FrameScope::ungranted(self, frame), Syntax::JavaScript)
            .map_err(|e| NodeEnd::failed(format!("{id}: whileCondition: {e}")))?;
        let value = tokio::select! {
            value = self.runner.evaluate(&script.source, &script.references, self.stop_runs.clone()) => value,
            () = self.stop_runs.cancelled() => return Err(NodeEnd::Halted),
        };
        match value {
            Ok(value) => Ok(truthy(&value)),
            Err(message) => Err(NodeEnd::failed(format!("{id}: whileCondition: {message}"))),
        }
    }
}

/// JavaScript truthiness of a JSON value.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
