//! The trivial block: its output is its params. Used to measure per-run overhead.

use sandflow_sdk::{Block, BlockError, Context, Outcome, Value};

struct Echo;

impl Block for Echo {
    type Params = Value;
    type Output = Value;
    const NAME: &'static str = "echo";
    const DESCRIPTION: &'static str = "Returns its params";

    fn run(_ctx: &mut Context, params: Value) -> Result<Outcome<Value>, BlockError> {
        Ok(Outcome::Done(params))
    }
}

sandflow_sdk::export_block!(Echo);
