//! `condition`: takes the branch of the first condition whose JavaScript expression is truthy.

#[cfg(test)]
mod tests;

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome, Value};
use serde::{Deserialize, Serialize};

/// The `condition` block.
pub struct Condition;

/// Params of the `condition` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Tried in order; the first truthy one wins, one without an expression is the else branch.
    pub conditions: Vec<Branch>,
}

/// One condition: its `condition-<id>` edges fire when it wins.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// The branch id.
    pub id: String,
    /// A JavaScript expression; absent or blank for the else branch. The engine writes each
    /// workflow reference in it as `__refs[i]`.
    #[serde(default)]
    pub expression: Option<String>,
    /// The values `__refs[0]`, `__refs[1]`, … of `expression` stand for, bound as data.
    #[serde(default)]
    pub references: Vec<Value>,
}

/// Output of the `condition` block.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The id of the winning condition.
    pub selected_condition: String,
    /// True when an expression matched, false when the else branch was taken.
    pub condition_result: bool,
}

impl Block for Condition {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "condition";
    const DESCRIPTION: &'static str = "Takes the branch of the first condition whose JavaScript expression is truthy";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let (route, condition_result) = select(&params)?;
        let output = Output { selected_condition: route.clone(), condition_result };
        Ok(Outcome::Route { route, output })
    }
}

/// The winning condition id and whether its expression (rather than the else branch) matched.
pub fn select(params: &Params) -> Result<(String, bool), BlockError> {
    if params.conditions.is_empty() {
        return Err(BlockError::invalid_input("conditions: must not be empty"));
    }
    let branches = params.conditions.iter().map(|c| (c.id.as_str(), c.expression.as_deref(), c.references.as_slice()));
    match sandflow_js::select_branch(branches) {
        Ok(Some((id, matched))) => Ok((id.to_string(), matched)),
        Ok(None) => Err(BlockError::failed("no condition matched and there is no else branch")),
        Err((id, message)) => Err(BlockError::failed(format!("condition {id:?}: {message}"))),
    }
}

/// Builds the JavaScript context the run will use, before the snapshot is taken.
fn prepare() {
    sandflow_js::prepare().expect("a fresh JavaScript context builds");
}

sandflow_sdk::export_block!(Condition, init = prepare);
