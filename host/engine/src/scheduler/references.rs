//! What references resolve to from inside one frame.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::context::ExecutionContext;
use super::frame::{Binding, ContainerKind, Frame};
use crate::reference::{BlockLookup, ContainerField, EnvLookup, Found, KeyMatch, ReferenceScope, follow_path};
use crate::runner::BlockRunner;

/// What references resolve to from inside one frame.
pub(super) struct FrameScope<'a, R> {
    pub context: &'a ExecutionContext<R>,
    pub frame: &'a Frame,
    /// The environment variables `{{NAME}}` may resolve to here: the block's `env`.
    pub grants: &'a [String],
}

impl<'a, R> FrameScope<'a, R> {
    /// A scope with no grants, for container fields (`forEachItems`, `whileCondition`, …).
    pub fn ungranted(context: &'a ExecutionContext<R>, frame: &'a Frame) -> Self {
        Self { context, frame, grants: &[] }
    }
}

impl<R: BlockRunner> ReferenceScope for FrameScope<'_, R> {
    fn block(&self, key: &str) -> BlockLookup<'_> {
        self.block_at(key, &[])
    }

    fn block_at(&self, key: &str, path: &[String]) -> BlockLookup<'_> {
        let KeyMatch::Found(id) = self.context.blocks.resolve(key) else {
            return BlockLookup::Unknown;
        };
        let mut frame = Some(self.frame);
        while let Some(current) = frame {
            if let Some(output) = current.outputs.lock().expect("outputs lock").get(id) {
                return BlockLookup::Output(Cow::Owned(follow_path(Cow::Borrowed(output), path).into_owned()));
            }
            frame = current.parent.as_deref();
        }
        BlockLookup::NotRun
    }

    fn variable(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.context.variables.lock().expect("variables lock").get(name).cloned().map(Cow::Owned)
    }

    fn loop_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        binding_value(self.frame.binding_of(ContainerKind::Loop)?, field).map(Cow::Owned)
    }

    fn parallel_value(&self, field: ContainerField) -> Option<Cow<'_, Value>> {
        binding_value(self.frame.binding_of(ContainerKind::Parallel)?, field).map(Cow::Owned)
    }

    fn found_in(&self, text: &str) -> Option<&[Found]> {
        self.context.found.get(text).map(Vec::as_slice)
    }

    fn env(&self, name: &str) -> EnvLookup {
        match self.context.request.spec.env.get(name) {
            None => EnvLookup::NotProvided,
            Some(value) if self.grants.iter().any(|g| g == name) => EnvLookup::Granted(value.clone()),
            Some(_) => EnvLookup::NotGranted,
        }
    }
}

fn binding_value(binding: &Binding, field: ContainerField) -> Option<Value> {
    Some(match field {
        ContainerField::Index => json!(binding.index),
        ContainerField::CurrentItem => binding.current_item.clone(),
        ContainerField::Items => Value::clone(&binding.items),
    })
}
