//! Routes without a token: liveness, metrics, the OpenAPI document.

use reqwest::Method;

use crate::flows;
use crate::harness::{Resp, shared};

fn open_get(path: &str) -> Resp {
    Resp::from(shared().request(Method::GET, path, None).send())
}

#[test]
fn healthz_answers_200() {
    let health = open_get("/healthz").expect(200);
    assert_eq!(health["status"], "ok", "{health}");
}

#[test]
fn metrics_count_executions_and_block_durations() {
    let server = shared();
    let token = server.token("ops-metrics");
    server.execute(&token, &flows::inline("metered", flows::function("return 1;"))).expect(200);
    let metrics = open_get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(metrics.content_type().starts_with("text/plain"), "{:?}", metrics.headers);
    assert!(metrics.text.contains("sandflow_executions_total"), "{}", metrics.text);
    assert!(metrics.text.contains("sandflow_block_duration_seconds"), "{}", metrics.text);
    let completed = metrics
        .text
        .lines()
        .find(|line| line.starts_with("sandflow_executions_total") && line.contains("status=\"completed\""))
        .unwrap_or_else(|| panic!("no completed count: {}", metrics.text));
    let count: f64 = completed.rsplit(' ').next().unwrap().parse().expect("a number");
    assert!(count >= 1.0, "{completed}");
}

#[test]
fn the_openapi_document_is_served() {
    let document = open_get("/openapi.json");
    assert_eq!(document.status, 200, "{}", document.text);
    assert!(document.content_type().starts_with("application/json"), "{:?}", document.headers);
    assert!(document.json["openapi"].as_str().is_some_and(|v| v.starts_with('3')), "{}", document.text);
    assert!(document.json["paths"].is_object(), "{}", document.text);
}
