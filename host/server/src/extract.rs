//! Request extractors that answer in the API's error envelope: the bearer
//! principal and JSON bodies with unknown fields refused.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::auth::{AuthError, Principal, Scope, parse_bearer};
use crate::error::ApiError;
use crate::state::{AppState, Tenant};

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
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
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
