//! One running instance of a scope (the top level, a loop iteration, a
//! parallel branch), the values it binds, and how its nodes and it end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// The values a loop iteration or parallel branch binds.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub kind: ContainerKind,
    pub container: String,
    pub index: u64,
    pub current_item: Value,
    /// Shared by every iteration or branch: copying it per branch would make a
    /// fan-out quadratic in its width.
    pub items: Arc<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerKind {
    Loop,
    Parallel,
}

/// One running instance of a scope.
pub(crate) struct Frame {
    /// Prefix of the context IDs of the runs in this frame, e.g. `loop1[2].`.
    pub prefix: String,
    pub binding: Option<Binding>,
    /// Outputs of the nodes of this frame that finished (handled errors included).
    pub outputs: Mutex<HashMap<String, Value>>,
    pub parent: Option<Arc<Frame>>,
    /// Raised when a sibling branch failed: start nothing new in this frame.
    pub stop: Arc<AtomicBool>,
}

impl Frame {
    pub(super) fn top() -> Self {
        Self { prefix: String::new(), binding: None, outputs: Mutex::default(), parent: None, stop: Arc::default() }
    }

    pub(super) fn child(self: &Arc<Self>, binding: Binding, stop: Arc<AtomicBool>) -> Arc<Self> {
        let prefix = format!("{}{}[{}].", self.prefix, binding.container, binding.index);
        Arc::new(Self { prefix, binding: Some(binding), outputs: Mutex::default(), parent: Some(self.clone()), stop })
    }

    /// The innermost binding of a kind, searching outwards.
    pub(super) fn binding_of(&self, kind: ContainerKind) -> Option<&Binding> {
        let mut frame = Some(self);
        while let Some(current) = frame {
            if let Some(binding) = &current.binding
                && binding.kind == kind
            {
                return Some(binding);
            }
            frame = current.parent.as_deref();
        }
        None
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || self.parent.as_ref().is_some_and(|p| p.stopped())
    }
}

/// How a node (block or container) of a scope ended.
#[derive(Debug, Clone)]
pub(crate) enum NodeEnd {
    Succeeded {
        output: Value,
        route: Option<String>,
    },
    /// `message` is `"<blockName>: <message>"`, for the execution's error;
    /// `output_error` is what an error edge's `{"error": ...}` output carries.
    Failed {
        message: String,
        output_error: String,
    },
    Paused,
    /// Stopped because the execution failed or was cancelled.
    Halted,
}

impl NodeEnd {
    /// A container's failure: the message is already attributed to a block.
    pub(super) fn failed(message: String) -> Self {
        Self::Failed { output_error: message.clone(), message }
    }
}

/// How a scope ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ScopeEnd {
    Finished,
    Paused,
    Failed(String),
    Halted,
}
