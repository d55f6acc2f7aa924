//! Request extractors that answer in the API's error envelope: the bearer
//! principal, JSON bodies with unknown fields refused, and the workflow
//! state a body carries.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use sandflow_engine::budget::text_exceeds_depth;
use sandflow_engine::{MAX_JSON_DEPTH, WorkflowState};

use crate::api::error::{ApiError, ApiResult};
use crate::api::state::AppState;
use crate::auth::{AuthError, Principal, Scope, parse_bearer};
use crate::tenant::Tenant;

/// The verified caller of a `/v1` route.
pub struct Caller(pub Principal);

impl Caller {
    /// The caller's tenant.
    pub fn tenant(&self) -> Tenant {
        Tenant::of(&self.0)
    }

    /// Fails with 403 unless the token carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        Ok(self.0.require(scope)?)
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or(AuthError::MissingToken)?;
        let header = header.to_str().map_err(|_| AuthError::MalformedHeader)?;
        let token = parse_bearer(header)?;
        Ok(Self(state.verifier.verify(token)?))
    }
}

/// A JSON body; a wrong content type, bad JSON, unknown fields and an
/// oversized body get the error envelope (415, 400, 413).
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(json_rejection(JsonRejection::MissingJsonContentType(Default::default())));
        }
        let bytes = match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) => return Err(json_rejection(JsonRejection::BytesRejection(rejection))),
        };
        // Checked before parsing, so a deep body costs a scan, not a parse.
        if text_exceeds_depth(&bytes, MAX_BODY_DEPTH) {
            return Err(ApiError::bad_request(format!(
                "the request body nests deeper than {MAX_BODY_DEPTH} levels (values such as `options.input` at most {MAX_JSON_DEPTH})"
            )));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// Deepest request body: an execute's `options.input` (two levels down) or a
/// resume's `input` may then nest [`MAX_JSON_DEPTH`], the depth the engine
/// holds block outputs to, so whatever is accepted is read back from the store.
pub const MAX_BODY_DEPTH: usize = MAX_JSON_DEPTH + 2;

/// `application/json` or any `+json` type, as axum's own `Json` requires.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be application/json",
        ),
        JsonRejection::JsonDataError(error) => ApiError::bad_request(body_text(&error.body_text())),
        JsonRejection::JsonSyntaxError(error) => ApiError::bad_request(body_text(&error.body_text())),
        JsonRejection::BytesRejection(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// axum's message without its generic prefix, e.g. `options: unknown field `x``.
fn body_text(text: &str) -> String {
    text.strip_prefix("Failed to deserialize the JSON body into the target type: ").unwrap_or(text).to_string()
}

/// A workflow state as a request carries it: parsed, and refused with a 400
/// above `max_blocks` blocks before anything more costly looks at it.
pub fn parse_workflow_state(state: Value, max_blocks: usize) -> ApiResult<WorkflowState> {
    let parsed: WorkflowState = serde_json::from_value(state).map_err(|e| {
        ApiError::invalid_workflow(&[sandflow_engine::Problem {
            block_id: None,
            field: None,
            message: format!("not a workflow state: {e}"),
        }])
    })?;
    if parsed.blocks.len() > max_blocks {
        return Err(ApiError::bad_request(format!(
            "the workflow has {} blocks, over the limit of {max_blocks}",
            parsed.blocks.len()
        )));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use sandflow_engine::budget::text_exceeds_depth as nests_deeper_than;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert!(!nests_deeper_than(br#"{"a": [1, {"b": "[[[[["}]}"#, 3));
        assert!(nests_deeper_than(br#"{"a": [1, {"b": []}]}"#, 3));
        assert!(!nests_deeper_than(br#"["\"[[[[", 1]"#, 1));
        assert!(nests_deeper_than(br#"[[]]"#, 1));
    }
}
