//! The error envelope of every non-result answer:
//! `{"success": false, "error": "...", "code": "...", "details"?: [...]}`.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sandflow_engine::{ExecuteError, Problem};
use sandflow_store::StoreError;
use serde_json::{Value, json};

use crate::auth::AuthError;
use crate::run::error::RunError;

/// An API failure with its HTTP status and snake_case code.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub message: String,
    /// Boxed: a `Value` (an ordered map) would make every `Result<_, ApiError>` large.
    pub details: Option<Box<Value>>,
}

impl ApiError {
    /// A failure with no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code: Cow::Borrowed(code), message: message.into(), details: None }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`: the same answer for a missing row and another tenant's.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} `{id}` not found"))
    }

    /// 409 with a code.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 409 `already_resumed`: another resume won the pause point.
    pub fn already_resumed(context_id: &str) -> Self {
        Self::conflict("already_resumed", format!("pause point `{context_id}` was already resumed"))
    }

    /// 409 `execution_finished`: the execution is over (`status` says how).
    pub fn execution_finished(execution_id: &str, status: &str) -> Self {
        Self::conflict("execution_finished", format!("execution `{execution_id}` is already {status}"))
    }

    /// 500 `internal`; the cause goes to the server log, not to the caller.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    /// 400 `invalid_workflow` with every problem.
    pub fn invalid_workflow(problems: &[Problem]) -> Self {
        // A problem serializes as the API's detail: `blockId` and `field` when set, and `message`.
        let details = serde_json::to_value(problems).expect("problems are JSON");
        Self {
            details: Some(Box::new(details)),
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_workflow",
                format!("the workflow has {} problem(s)", problems.len()),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"success": false, "error": self.message, "code": self.code});
        if let Some(details) = self.details {
            body["details"] = *details;
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
        Self::new(status, error.code(), error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(message) => Self::conflict("conflict", message),
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "not_found", "not found"),
            other => Self::internal(other),
        }
    }
}

impl From<ExecuteError> for ApiError {
    fn from(error: ExecuteError) -> Self {
        match &error {
            ExecuteError::Invalid(problems) => Self::invalid_workflow(problems),
            ExecuteError::MaxParallelNodes { .. } => Self::bad_request(error.to_string()),
            ExecuteError::UnknownPausePoint(_) => Self::new(StatusCode::NOT_FOUND, "not_found", error.to_string()),
            ExecuteError::AlreadyResumed(_) => Self::conflict("already_resumed", error.to_string()),
            ExecuteError::ResumeInputInvalid { problems, .. } => Self {
                details: Some(Box::new(json!(problems.iter().map(|p| json!({"message": p})).collect::<Vec<_>>()))),
                ..Self::new(StatusCode::BAD_REQUEST, "invalid_resume_input", error.to_string())
            },
            ExecuteError::RunFrom(_) => Self::bad_request(error.to_string()),
            ExecuteError::WorkflowCycle(_) => Self::conflict("workflow_cycle", error.to_string()),
            ExecuteError::CallChainTooDeep(_) => Self::bad_request(error.to_string()),
            ExecuteError::Internal(message) => Self::internal(message),
        }
    }
}

/// The one place where the run layer's errors become HTTP answers.
impl From<RunError> for ApiError {
    fn from(error: RunError) -> Self {
        match error {
            RunError::UnknownExecution(id) => Self::not_found("execution", &id),
            RunError::UnknownPausePoint(id) => Self::not_found("pause point", &id),
            RunError::AlreadyResumed(id) => Self::already_resumed(&id),
            RunError::Finished { execution_id, status } => Self::execution_finished(&execution_id, &status),
            RunError::ExecutionExists(_) => Self::conflict("execution_exists", error.to_string()),
            RunError::Overloaded { .. } | RunError::TenantOverloaded { .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, "overloaded", error.to_string())
            }
            RunError::StillRunning { ref execution_id, .. } => Self {
                details: Some(Box::new(json!({"executionId": execution_id}))),
                ..Self::new(StatusCode::GATEWAY_TIMEOUT, "still_running", error.to_string())
            },
            RunError::Engine(error) => error.into(),
            RunError::Store(error) => error.into(),
            RunError::HoldLost(_) | RunError::Internal(_) => Self::internal(error),
            RunError::Relayed { status, code, message, details } => Self {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                code: Cow::Owned(code),
                message,
                details: details.map(Box::new),
            },
        }
    }
}

/// The result type of route handlers.
pub type ApiResult<T> = Result<T, ApiError>;
