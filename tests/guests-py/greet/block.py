from dataclasses import dataclass
from sandflow_block import block, Context, InvalidInput

@dataclass
class Params:
    name: str

@dataclass
class Greeting:
    text: str

@block(name="greet", version="0.1.0", description="Says hello")
def run(params: Params, ctx: Context) -> Greeting:
    if not params.name:
        raise InvalidInput("name: must not be empty")
    ctx.log.info(f"greeting {params.name}")
    return Greeting(text=f"Hello, {params.name}!")
