//! Handler rules checked in process, through the router alone (no socket,
//! no binary): what the black-box suite checks too, but here in milliseconds.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sandflow_server::{ServerLimits, TokenKeys};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::support::embedded_server;

/// The router over a fresh embedded state, and a token of tenant `acme`.
async fn router() -> (axum::Router, String, tempfile::TempDir) {
    let (app, token, data) = embedded_server(ServerLimits::default(), TokenKeys::default()).await;
    (sandflow_server::router(app), token, data)
}

/// Sends `request` and returns the status and the JSON body.
async fn send(router: axum::Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn execute(token: Option<&str>, body: &Value) -> Request<Body> {
    let mut request = Request::post("/v1/workflows/execute").header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_token_is_401_in_the_envelope() {
    let (router, _token, _data) = router().await;
    let (status, body) = send(router, execute(None, &json!({"workflowId": "w"}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!((&body["success"], &body["code"]), (&json!(false), &json!("unauthorized")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_404_and_a_wrong_method_405() {
    let (router, token, _data) = router().await;
    let request = Request::get("/v1/nothing-here").header(header::AUTHORIZATION, format!("Bearer {token}"));
    let (status, body) = send(router.clone(), request.body(Body::empty()).unwrap()).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{body}");
    let request = Request::delete("/v1/workflows/execute").header(header::AUTHORIZATION, format!("Bearer {token}"));
    let (status, body) = send(router, request.body(Body::empty()).unwrap()).await;
    assert_eq!((status, &body["code"]), (StatusCode::METHOD_NOT_ALLOWED, &json!("method_not_allowed")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_execute_body_is_400_naming_the_field() {
    let (router, token, _data) = router().await;
    let (status, body) = send(router.clone(), execute(Some(&token), &json!({"workflowId": "w", "bogus": 1}))).await;
    assert_eq!((status, &body["code"]), (StatusCode::BAD_REQUEST, &json!("bad_request")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("bogus"), "{body}");
    let (status, body) = send(router, execute(Some(&token), &json!({"workflowId": 5}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("workflowId"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executing_an_unknown_workflow_is_404() {
    let (router, token, _data) = router().await;
    let (status, body) = send(router, execute(Some(&token), &json!({"workflowId": "nowhere"}))).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{body}");
    assert_eq!(body["error"], "workflow `nowhere` not found", "{body}");
}
