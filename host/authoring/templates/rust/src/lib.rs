//! The {{name}} block. Build it with `sandflow blocks build`, run its cases
//! with `sandflow blocks test`, upload `dist/{{name}}.wasm` with `POST /v1/blocks`.

use sandflow_sdk::{Block, BlockError, Context, JsonSchema, Outcome};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
struct Params {
    name: String,
}

#[derive(Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
struct Greeting {
    text: String,
}

struct Greet;

impl Block for Greet {
    type Params = Params;
    type Output = Greeting;
    const NAME: &'static str = "{{name}}";
    const DESCRIPTION: &'static str = "Says hello";

    fn run(ctx: &mut Context, p: Params) -> Result<Outcome<Greeting>, BlockError> {
        if p.name.is_empty() {
            return Err(BlockError::invalid_input("name: must not be empty"));
        }
        ctx.info(&format!("greeting {}", p.name));
        Ok(Outcome::Done(Greeting { text: format!("Hello, {}!", p.name) }))
    }
}

sandflow_sdk::export_block!(Greet);
