//! `start`: the entry block of every workflow. Its output is the execution's input.

use sandflow_sdk::{Block, BlockError, Context, Outcome, Value};

struct Start;

impl Block for Start {
    type Params = Value;
    type Output = Value;
    const NAME: &'static str = "start";
    const DESCRIPTION: &'static str = "Entry point of a workflow; outputs the execution input";

    fn run(_ctx: &mut Context, input: Value) -> Result<Outcome<Value>, BlockError> {
        Ok(Outcome::Done(input))
    }
}

sandflow_sdk::export_block!(Start);
