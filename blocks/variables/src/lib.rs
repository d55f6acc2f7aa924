//! `variables`: writes workflow variables; later blocks read them as `<variable.name>`.

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use sandflow_sdk::{Block, BlockError, Context, Outcome, Value};
use serde::{Deserialize, Serialize};

/// The `variables` block.
pub struct Variables;

/// Params of the `variables` block.
#[derive(Debug, Deserialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The writes, in order; a later assignment to the same name wins.
    pub assignments: Vec<Assignment>,
}

/// One variable write.
#[derive(Debug, Deserialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The variable name; must not be empty or blank.
    pub name: String,
    /// Any JSON value.
    pub value: Value,
}

/// Output of the `variables` block.
#[derive(Debug, PartialEq, Serialize, sandflow_sdk::JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    /// The final value of every variable written, by name.
    pub assigned: BTreeMap<String, Value>,
}

/// Checks every assignment before any is written, so bad params write nothing.
pub fn check(assignments: &[Assignment]) -> Result<(), BlockError> {
    for (i, a) in assignments.iter().enumerate() {
        if a.name.trim().is_empty() {
            return Err(BlockError::invalid_input(format!("assignments[{i}].name: must not be empty or blank")));
        }
    }
    Ok(())
}

impl Block for Variables {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "variables";
    const DESCRIPTION: &'static str = "Sets workflow variables that later blocks read as <variable.name>";

    fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        check(&params.assignments)?;
        let mut assigned = BTreeMap::new();
        for Assignment { name, value } in params.assignments {
            ctx.set_variable(&name, &value)?;
            assigned.insert(name, value);
        }
        Ok(Outcome::Done(Output { assigned }))
    }
}

sandflow_sdk::export_block!(Variables);
