//! `api`: one HTTP request through the host's outbound capability, which
//! enforces the server's destination policy, timeout and response-size cap.

use std::collections::BTreeMap;

use sandflow_sdk::{Block, BlockError, Context, HttpError, HttpRequest, JsonSchema, Outcome, Value};
use serde::{Deserialize, Serialize};

/// The `api` block.
pub struct Api;

/// Params of the `api` block.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// An absolute http or https URL.
    pub url: String,
    /// GET when absent.
    #[serde(default = "get")]
    pub method: String,
    /// Request headers, name to value.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Query parameters appended to the URL, name to value.
    #[serde(default)]
    pub query: BTreeMap<String, Value>,
    /// A string is sent as it is; any other JSON value is sent as JSON.
    #[serde(default)]
    pub body: Option<Value>,
    /// Per-request timeout; the server caps it.
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// When true (the default), a 4xx or 5xx status fails the block, so its
    /// error edge can take over; when false it is an ordinary output.
    #[serde(default = "yes")]
    pub fail_on_error_status: bool,
}

fn get() -> String {
    "GET".into()
}

fn yes() -> bool {
    true
}

/// Output of the `api` block.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(crate = "sandflow_sdk::schemars")]
pub struct Output {
    pub status: u16,
    /// Lower-case header names; repeated headers are joined with ", ".
    pub headers: BTreeMap<String, String>,
    /// The body: parsed when it is JSON, text otherwise.
    pub data: Value,
}

/// Builds the request the params describe.
pub fn request(params: &Params) -> Result<HttpRequest, BlockError> {
    let mut url = params.url.trim().to_string();
    if url.is_empty() {
        return Err(BlockError::invalid_input("url: must not be empty"));
    }
    if !params.query.is_empty() {
        let pairs: Vec<String> = params
            .query
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                format!("{}={}", encode(name), encode(&text))
            })
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&pairs.join("&"));
    }
    let mut headers: Vec<(String, String)> = params.headers.clone().into_iter().collect();
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let body = match &params.body {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone().into_bytes()),
        Some(json) => {
            if !has(&headers, "content-type") {
                headers.push(("content-type".into(), "application/json".into()));
            }
            Some(json.to_string().into_bytes())
        }
    };
    Ok(HttpRequest { method: params.method.clone(), url, headers, body, timeout_ms: params.timeout_ms })
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Turns the response into the block's output.
pub fn output(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Output {
    let mut joined: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        joined.entry(name).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
    }
    let is_json = joined.get("content-type").is_some_and(|t| t.contains("json"));
    let data = if body.is_empty() {
        Value::Null
    } else if is_json {
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    } else {
        Value::String(String::from_utf8_lossy(&body).into_owned())
    };
    Output { status, headers: joined, data }
}

impl Block for Api {
    type Params = Params;
    type Output = Output;
    const NAME: &'static str = "api";
    const DESCRIPTION: &'static str = "Sends an HTTP request (allow-listed by the server); outputs status, headers and data";

    fn run(ctx: &mut Context, params: Params) -> Result<Outcome<Output>, BlockError> {
        let request = request(&params)?;
        ctx.debug(&format!("{} {}", request.method, request.url));
        let response = ctx.fetch(&request).map_err(|e| match e {
            HttpError::InvalidRequest(m) => BlockError::invalid_input(m),
            other => BlockError::failed(other),
        })?;
        let output = output(response.status, response.headers, response.body);
        if params.fail_on_error_status && output.status >= 400 {
            let detail = match &output.data {
                Value::Null => String::new(),
                Value::String(text) => format!(": {}", text.chars().take(200).collect::<String>()),
                other => format!(": {}", other.to_string().chars().take(200).collect::<String>()),
            };
            return Err(BlockError::failed(format!("HTTP {}{detail}", output.status)));
        }
        Ok(Outcome::Done(output))
    }
}

sandflow_sdk::export_block!(Api);
