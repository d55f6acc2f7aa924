//! `router`: takes the first route whose JavaScript expression is truthy.

#[cfg(test)]
mod tests;

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome, Value};
use serde::{Deserialize, Serialize};

/// The `router` block.
pub struct Router;

/// Params of the `router` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Tried in order; the first truthy one wins, one without an expression is the default route.
    pub routes: Vec<Route>,
}

/// One route: its `router-<id>` edges fire when it wins.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The route id.
    pub id: String,
    /// A JavaScript expression; absent or blank for the default route. The engine writes each
    /// workflow reference in it as `__refs[i]`.
    #[serde(default)]
    pub expression: Option<String>,
    /// The values `__refs[0]`, `__refs[1]`, … of `expression` stand for, bound as data.
    #[serde(default)]
    pub references: Vec<Value>,
}

/// Output of the `router` block.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// The id of the winning route.
    pub selected_route: String,
}

impl Block for Router {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "router";
    const DESCRIPTION: &'static str =
        "Takes the first route whose JavaScript expression is truthy, else the default route";

    fn run(_ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let route = select(&params)?;
        Ok(Outcome::Route { output: Output { selected_route: route.clone() }, route })
    }
}

/// The winning route id.
pub fn select(params: &Params) -> Result<String, BlockError> {
    if params.routes.is_empty() {
        return Err(BlockError::invalid_input("routes: must not be empty"));
    }
    let branches = params.routes.iter().map(|r| (r.id.as_str(), r.expression.as_deref(), r.references.as_slice()));
    match sandflow_js::select_branch(branches) {
        Ok(Some((id, _))) => Ok(id.to_string()),
        Ok(None) => Err(BlockError::failed("no route matched and there is no default route")),
        Err((id, message)) => Err(BlockError::failed(format!("route {id:?}: {message}"))),
    }
}

/// Builds the JavaScript context the run will use, before the snapshot is taken.
fn prepare() {
    sandflow_js::prepare().expect("a fresh JavaScript context builds");
}

sandflow_sdk::export_block!(Router, init = prepare);
