//! Write Sandflow workflow blocks in plain Rust.
//!
//! A block is one type implementing [`Block`]: serde-typed params in, a
//! serde-typed output (or a route, or a pause) out. [`export_block!`] turns it
//! into a `sandflow:block` component; the WIT contract and wit-bindgen stay
//! inside this crate.
//!
//! ```ignore
//! use sandflow_sdk::{Block, BlockError, Context, Outcome, JsonSchema};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Params { name: String }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct Greeting { text: String }
//!
//! struct Greet;
//!
//! impl Block for Greet {
//!     type Params = Params;
//!     type Output = Greeting;
//!     const NAME: &'static str = "greet";
//!     const DESCRIPTION: &'static str = "Says hello";
//!
//!     fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Greeting>, BlockError> {
//!         ctx.info(&format!("greeting {}", params.name));
//!         Ok(Outcome::Done(Greeting { text: format!("Hello, {}!", params.name) }))
//!     }
//! }
//!
//! sandflow_sdk::export_block!(Greet);
//! ```

// The generated bindings name this crate by its public path, from inside it too.
extern crate self as sandflow_sdk;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use schemars::{self, JsonSchema};
pub use serde;
pub use serde_json::{self, Value};

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "sandflow:block/block-with-init",
        pub_export_macro: true,
        export_macro_name: "__export_block_world",
        default_bindings_module: "::sandflow_sdk::bindings",
        runtime_path: "::sandflow_sdk::__private::wit_bindgen::rt",
    });
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

use bindings::sandflow::block::capabilities::{self as caps, Env, Variables};
use bindings::sandflow::block::http as wit_http;
use bindings::sandflow::block::timer;
use bindings::sandflow::block::types as wit;

/// Identity of the current run.
pub type BlockInfo = wit::BlockInfo;

/// A workflow block: the one type a block author writes.
pub trait Block {
    /// The block's params, after the engine resolved references.
    type Params: DeserializeOwned + JsonSchema;
    /// The block's output when it finishes.
    type Output: Serialize + JsonSchema;
    /// The block type name, e.g. `transform`.
    const NAME: &'static str;
    /// One line on what the block does.
    const DESCRIPTION: &'static str = "";
    /// The block's version; [`export_block!`] does not set it, so set it when you publish.
    const VERSION: &'static str = "0.1.0";

    /// Runs the block once.
    fn run(ctx: &mut Context, params: Self::Params) -> Result<Outcome<Self::Output>, BlockError>;
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// Finished with an output.
    Done(T),
    /// Finished and took a route: only edges of that route fire.
    Route { route: String, output: T },
    /// Stop this branch until the pause point is resumed (by a person, or by the
    /// host after `resume_after_ms`). The resume input arrives in
    /// [`Context::resume_input`] when the block runs again. When `input_schema`
    /// is set, the host refuses a resume whose input does not match it and the
    /// pause point stays open.
    Pause { response: Value, resume_after_ms: Option<u64>, input_schema: Option<Value> },
}

/// A failure the block reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The params are unusable; the message says which one and why.
    InvalidInput(String),
    /// The block ran and failed.
    Failed(String),
}

impl BlockError {
    /// Shorthand for [`BlockError::Failed`].
    pub fn failed(message: impl std::fmt::Display) -> Self {
        Self::Failed(message.to_string())
    }
    /// Shorthand for [`BlockError::InvalidInput`].
    pub fn invalid_input(message: impl std::fmt::Display) -> Self {
        Self::InvalidInput(message.to_string())
    }
}

/// An outbound HTTP request; see [`Context::fetch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// Capped by the server's maximum and by the run's remaining time.
    pub timeout_ms: Option<u32>,
}

/// The response to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why [`Context::fetch`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The destination is not allowed by the server's policy.
    Refused(String),
    /// The request is unusable (bad URL, method or header).
    InvalidRequest(String),
    /// No complete response within the timeout.
    Timeout(String),
    /// The response body is over the server's cap.
    TooLarge(String),
    /// Connection, TLS or protocol failure.
    Failed(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Refused(m) => write!(f, "request refused: {m}"),
            Self::InvalidRequest(m) => write!(f, "invalid request: {m}"),
            Self::Timeout(m) => write!(f, "request timed out: {m}"),
            Self::TooLarge(m) => write!(f, "response too large: {m}"),
            Self::Failed(m) => write!(f, "request failed: {m}"),
        }
    }
}

impl std::error::Error for HttpError {}

/// The capabilities of one run: identity, granted environment, workflow
/// variables and the run log.
pub struct Context<'a> {
    info: &'a BlockInfo,
    env: &'a Env,
    vars: &'a Variables,
}

impl Context<'_> {
    /// Identity of this run (execution, workflow, block, attempt).
    pub fn run_info(&self) -> &BlockInfo {
        self.info
    }

    /// The input sent with the resume, when this run resumes a pause point.
    pub fn resume_input(&self) -> Option<Value> {
        self.info.resume_input.as_deref().and_then(|text| serde_json::from_str(text).ok())
    }

    /// An environment variable the workflow granted this block; `None` when it
    /// is unset or was not granted (the two are indistinguishable on purpose).
    pub fn env(&self, name: &str) -> Option<String> {
        self.env.get(name)
    }

    /// A workflow variable, including writes made earlier in this run.
    pub fn variable(&self, name: &str) -> Option<Value> {
        self.vars.get(name).and_then(|text| serde_json::from_str(&text).ok())
    }

    /// Sets a workflow variable; later blocks see it as `<variable.name>`.
    pub fn set_variable(&mut self, name: &str, value: &impl Serialize) -> Result<(), BlockError> {
        let text = serde_json::to_string(value).map_err(BlockError::failed)?;
        self.vars.set(name, &text).map_err(BlockError::Failed)
    }

    /// Sends an HTTP request through the host, which enforces the server's
    /// destination policy, timeout and response-size cap.
    pub fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let request = wit_http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers: request.headers.clone(),
            body: request.body.clone(),
            timeout_ms: request.timeout_ms,
        };
        match wit_http::fetch(&request) {
            Ok(response) => {
                Ok(HttpResponse { status: response.status, headers: response.headers, body: response.body })
            }
            Err(wit_http::HttpError::Refused(m)) => Err(HttpError::Refused(m)),
            Err(wit_http::HttpError::InvalidRequest(m)) => Err(HttpError::InvalidRequest(m)),
            Err(wit_http::HttpError::Timeout(m)) => Err(HttpError::Timeout(m)),
            Err(wit_http::HttpError::TooLarge(m)) => Err(HttpError::TooLarge(m)),
            Err(wit_http::HttpError::Failed(m)) => Err(HttpError::Failed(m)),
        }
    }

    /// Waits `ms` milliseconds in the host, burning no fuel. Returns false at
    /// once when the wait is longer than one run may block; pause with
    /// `resume_after_ms` instead.
    pub fn sleep_ms(&self, ms: u64) -> bool {
        timer::sleep(ms)
    }

    /// Logs at trace level.
    pub fn trace(&self, message: &str) {
        caps::log(wit::LogLevel::Trace, message)
    }
    /// Logs at debug level.
    pub fn debug(&self, message: &str) {
        caps::log(wit::LogLevel::Debug, message)
    }
    /// Logs at info level.
    pub fn info(&self, message: &str) {
        caps::log(wit::LogLevel::Info, message)
    }
    /// Logs at warn level.
    pub fn warn(&self, message: &str) {
        caps::log(wit::LogLevel::Warn, message)
    }
    /// Logs at error level.
    pub fn error(&self, message: &str) {
        caps::log(wit::LogLevel::Error, message)
    }
}

/// Glue between [`Block`] and the generated WIT exports; used by [`export_block!`].
#[doc(hidden)]
pub fn __describe<B: Block>() -> wit::Manifest {
    wit::Manifest {
        name: B::NAME.to_string(),
        version: B::VERSION.to_string(),
        description: B::DESCRIPTION.to_string(),
        input_schema: schema_text::<B::Params>(),
        output_schema: schema_text::<B::Output>(),
    }
}

/// Glue between [`Block`] and the generated WIT exports; used by [`export_block!`].
#[doc(hidden)]
pub fn __run<B: Block>(
    info: BlockInfo,
    params: String,
    env: &Env,
    vars: &Variables,
) -> Result<wit::Outcome, wit::BlockError> {
    // The path names the offending field, e.g. `params.durationMs: invalid value …`.
    let params: B::Params = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&params))
        .map_err(|e| {
            let path = e.path().to_string();
            let place = if path == "." { "params".to_string() } else { format!("params.{path}") };
            wit::BlockError::InvalidInput(format!("{place}: {}", e.inner()))
        })?;
    let mut ctx = Context { info: &info, env, vars };
    let outcome = B::run(&mut ctx, params).map_err(|e| match e {
        BlockError::InvalidInput(m) => wit::BlockError::InvalidInput(m),
        BlockError::Failed(m) => wit::BlockError::Failed(m),
    })?;
    let to_json = |output: &B::Output| {
        serde_json::to_string(output)
            .map_err(|e| wit::BlockError::Failed(format!("output is not serializable: {e}")))
    };
    Ok(match outcome {
        Outcome::Done(output) => wit::Outcome::Done(to_json(&output)?),
        Outcome::Route { route, output } => {
            wit::Outcome::Route(wit::Routed { route, output: to_json(&output)? })
        }
        Outcome::Pause { response, resume_after_ms, input_schema } => wit::Outcome::Pause(wit::PauseRequest {
            response: response.to_string(),
            resume_after_ms,
            input_schema: input_schema.map(|schema| schema.to_string()),
        }),
    })
}

fn schema_text<T: JsonSchema>() -> String {
    serde_json::to_string(&schemars::schema_for!(T)).expect("a JSON Schema serializes")
}

/// Exports a [`Block`] type as the component's `sandflow:block/block` world.
///
/// `export_block!(MyBlock, init = prepare)` also names a function `fn()` that
/// builds, once, what every run needs (a parsed grammar, compiled templates,
/// a lookup table). It runs when the block is built or uploaded, and the
/// memory it leaves becomes the starting state of every run; each run still
/// gets its own fresh copy. Keep what it builds in a `thread_local!` (or a
/// `static`) that `run` takes from, and build it in `run` when it is missing,
/// so the block also works when it was not pre-initialized. Every import
/// traps during `init`: no logging, clock, randomness or capability there.
/// Without `init`, the component is still pre-initialized (Rust's start-up
/// runs once, at build time).
///
/// ```ignore
/// thread_local! {
///     static TABLE: std::cell::OnceCell<Table> = const { std::cell::OnceCell::new() };
/// }
/// fn prepare() {
///     TABLE.with(|table| { table.get_or_init(Table::build); });
/// }
/// sandflow_sdk::export_block!(Lookup, init = prepare);
/// ```
#[macro_export]
macro_rules! export_block {
    ($block:ty) => {
        $crate::export_block!($block, init = $crate::__no_init);
    };
    ($block:ty, init = $init:path) => {
        #[doc(hidden)]
        struct __SandflowBlockExport;

        impl $crate::bindings::Guest for __SandflowBlockExport {
            fn describe() -> $crate::bindings::sandflow::block::types::Manifest {
                $crate::__describe::<$block>()
            }

            fn run(
                info: $crate::bindings::sandflow::block::types::BlockInfo,
                params: ::std::string::String,
                env: &$crate::bindings::sandflow::block::capabilities::Env,
                vars: &$crate::bindings::sandflow::block::capabilities::Variables,
            ) -> ::std::result::Result<
                $crate::bindings::sandflow::block::types::Outcome,
                $crate::bindings::sandflow::block::types::BlockError,
            > {
                $crate::__run::<$block>(info, params, env, vars)
            }

            fn wizer_initialize() {
                let init: fn() = $init;
                init();
            }
        }

        $crate::bindings::__export_block_world!(__SandflowBlockExport);
    };
}

/// The init of a block exported without one.
#[doc(hidden)]
pub fn __no_init() {}
