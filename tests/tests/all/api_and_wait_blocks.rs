//! The `api` and `wait` standard blocks through the real runtime: HTTP to a
//! real local server, the destination policy (literal addresses, DNS names,
//! redirects), timeouts and size caps; host-side waits and timed pauses.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get};
use sandflow_runtime::{BlockOutcome, BlockRun, BlockRunError, CancelFlag, RunRequest, Runtime};
use sandflow_stdblocks::standard_block;
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

/// Starts a local HTTP server on a free port; it lives as long as the test's runtime.
async fn serve() -> SocketAddr {
    let app =
        Router::new()
            .route("/json", get(|| async { axum::Json(json!({"hello": "world", "n": 3})) }))
            .route(
                "/echo",
                any(|method: Method, headers: HeaderMap, body: Bytes| async move {
                    let headers: serde_json::Map<String, Value> =
                        headers.iter().map(|(n, v)| (n.to_string(), json!(v.to_str().unwrap_or_default()))).collect();
                    axum::Json(json!({
                        "method": method.as_str(),
                        "headers": headers,
                        "body": String::from_utf8_lossy(&body),
                    }))
                }),
            )
            .route(
                "/status/{code}",
                get(|Path(code): Path<u16>| async move { (StatusCode::from_u16(code).unwrap(), "nope") }),
            )
            .route("/text", get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "plain words") }))
            .route("/big", get(|| async { "x".repeat(2 << 20) }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/redirect/{target}",
                get(|Path(target): Path<String>| async move {
                    Redirect::temporary(&target.replace('~', "/")).into_response()
                }),
            );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn allowing(entries: &[&str]) -> Runtime {
    runtime_with(|config| {
        config.http.allow = entries.iter().map(|e| e.parse().unwrap()).collect();
        config.http.max_response_bytes = 1 << 20;
    })
}

async fn run_block(runtime: &Runtime, block_type: &str, params: Value) -> BlockRun {
    let block = standard_block(block_type).unwrap();
    let loaded = runtime.load(block.component).await.expect("standard block loads");
    runtime.run(&loaded, RunRequest { params, ..Default::default() }).await
}

fn failure(run: &BlockRun) -> String {
    match &run.outcome {
        Err(BlockRunError::Failed(message)) => message.clone(),
        other => panic!("expected a block failure, got {other:?}"),
    }
}

#[tokio::test]
async fn api_gets_json_from_an_allow_listed_local_server() {
    let addr = serve().await;
    let runtime = allowing(&["127.0.0.1"]);
    let run = run_block(&runtime, "api", json!({"url": format!("http://{addr}/json")})).await;
    let Ok(BlockOutcome::Done(output)) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(output["status"], 200);
    assert_eq!(output["data"], json!({"hello": "world", "n": 3}));
    assert_eq!(output["headers"]["content-type"], "application/json");

    let run = run_block(&runtime, "api", json!({"url": format!("http://{addr}/text")})).await;
    let Ok(BlockOutcome::Done(output)) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(output["data"], "plain words");
}

#[tokio::test]
async fn api_sends_method_headers_query_and_a_json_body() {
    let addr = serve().await;
    let runtime = allowing(&["127.0.0.1"]);
    let params = json!({
        "url": format!("http://{addr}/echo"),
        "method": "post",
        "headers": {"X-Token": "abc"},
        "query": {"q": "a b&c", "n": 2},
        "body": {"order": 7}
    });
    let run = run_block(&runtime, "api", params).await;
    let Ok(BlockOutcome::Done(output)) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!(output["data"]["method"], "POST");
    assert_eq!(output["data"]["headers"]["x-token"], "abc");
    assert_eq!(output["data"]["headers"]["content-type"], "application/json");
    assert_eq!(output["data"]["body"], r#"{"order":7}"#);
}

#[tokio::test]
async fn internal_destinations_are_refused_unless_allow_listed() {
    let addr = serve().await;
    let runtime = allowing(&[]);
    let port = addr.port();
    for (url, expected) in [
        (format!("http://127.0.0.1:{port}/json"), "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/".to_string(), "169.254.169.254 is a link-local"),
        ("http://10.0.0.1/".to_string(), "10.0.0.1 is a private address"),
        (format!("http://[::1]:{port}/json"), "::1 is a loopback address"),
        (format!("http://localhost:{port}/json"), "`localhost` resolves to"),
        ("file:///etc/passwd".to_string(), "scheme `file` is not allowed"),
    ] {
        let run = run_block(&runtime, "api", json!({"url": url})).await;
        let message = failure(&run);
        assert!(message.contains("request refused") && message.contains(expected), "{url}: {message}");
    }
}

#[tokio::test]
async fn a_redirect_to_an_internal_address_is_refused() {
    let addr = serve().await;
    // The name is allow-listed, the literal loopback address it redirects to is not.
    let runtime = allowing(&["localhost"]);
    let port = addr.port();
    let ok = run_block(&runtime, "api", json!({"url": format!("http://localhost:{port}/redirect/~json")})).await;
    let Ok(BlockOutcome::Done(output)) = &ok.outcome else { panic!("{:?}", ok.outcome) };
    assert_eq!(output["data"]["hello"], "world", "a same-host redirect is followed");

    let target = format!("http:~~127.0.0.1:{port}~json");
    let run = run_block(&runtime, "api", json!({"url": format!("http://localhost:{port}/redirect/{target}")})).await;
    let message = failure(&run);
    assert!(message.contains("request refused") && message.contains("127.0.0.1 is a loopback"), "{message}");
    let metadata = "http:~~169.254.169.254~latest";
    let run = run_block(&runtime, "api", json!({"url": format!("http://localhost:{port}/redirect/{metadata}")})).await;
    assert!(failure(&run).contains("169.254.169.254"));
}

#[tokio::test]
async fn api_enforces_timeout_size_cap_and_error_statuses() {
    let addr = serve().await;
    let runtime = allowing(&["127.0.0.1"]);
    let run = run_block(&runtime, "api", json!({"url": format!("http://{addr}/slow"), "timeoutMs": 200})).await;
    assert!(failure(&run).contains("timed out"), "{:?}", run.outcome);

    let run = run_block(&runtime, "api", json!({"url": format!("http://{addr}/big")})).await;
    assert!(failure(&run).contains("over the limit of 1048576 bytes"), "{:?}", run.outcome);

    let run = run_block(&runtime, "api", json!({"url": format!("http://{addr}/status/404")})).await;
    assert_eq!(failure(&run), "HTTP 404: nope");
    let params = json!({"url": format!("http://{addr}/status/503"), "failOnErrorStatus": false});
    let run = run_block(&runtime, "api", params).await;
    let Ok(BlockOutcome::Done(output)) = &run.outcome else { panic!("{:?}", run.outcome) };
    assert_eq!((output["status"].clone(), output["data"].clone()), (json!(503), json!("nope")));
}

#[tokio::test]
async fn api_params_that_make_no_request_are_invalid_input() {
    let runtime = allowing(&[]);
    for (params, expected) in [
        (json!({"method": "GET"}), "missing field `url`"),
        (json!({"url": "not a url"}), "url `not a url`"),
        (json!({"url": "http://example.com", "method": "GE T"}), "not an HTTP method"),
        (json!({"url": "http://example.com", "headers": {"Host": "evil"}}), "set by the host"),
        (json!({"url": "http://example.com", "verb": "GET"}), "unknown field `verb`"),
    ] {
        let run = run_block(&runtime, "api", params.clone()).await;
        match &run.outcome {
            Err(BlockRunError::InvalidInput(message)) => assert!(message.contains(expected), "{params}: {message}"),
            other => panic!("{params}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_short_wait_sleeps_in_the_host_without_burning_fuel() {
    let runtime = runtime_with(|_| {});
    let idle = run_block(&runtime, "wait", json!({"durationMs": 0})).await;
    let started = Instant::now();
    let run = run_block(&runtime, "wait", json!({"durationMs": 300})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(run.outcome, Ok(BlockOutcome::Done(json!({"waitedMs": 300, "mode": "slept"}))));
    // Waiting 300 ms costs no more fuel than not waiting (within a small margin).
    assert!(run.usage.fuel_consumed < idle.usage.fuel_consumed + 50_000, "{run:?} vs {idle:?}");
}

#[tokio::test]
async fn a_wait_beyond_the_threshold_becomes_a_timed_pause_and_resumes() {
    let runtime = runtime_with(|config| config.max_in_run_wait = Duration::from_millis(100));
    let run = run_block(&runtime, "wait", json!({"durationMs": 60_000})).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Pause {
            response: json!({"durationMs": 60_000}),
            resume_after_ms: Some(60_000),
            input_schema: None
        })
    );
    let block = runtime.load(standard_block("wait").unwrap().component).await.unwrap();
    let mut request = RunRequest { params: json!({"durationMs": 60_000}), ..Default::default() };
    request.info.resume_input = Some(json!({}));
    let resumed = runtime.run(&block, request).await;
    assert_eq!(resumed.outcome, Ok(BlockOutcome::Done(json!({"waitedMs": 60_000, "mode": "paused"}))));

    let run = run_block(&runtime, "wait", json!({"durationMs": -1})).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::InvalidInput(m)) if m.contains("durationMs")), "{run:?}");
}

#[tokio::test]
async fn a_waiting_block_stops_at_once_when_cancelled() {
    let runtime = runtime_with(|_| {});
    let block = runtime.load(standard_block("wait").unwrap().component).await.unwrap();
    let cancel = CancelFlag::default();
    let request =
        RunRequest { params: json!({"durationMs": 4_000}), cancel: Some(cancel.clone()), ..Default::default() };
    let run = tokio::spawn(async move { runtime.run(&block, request).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    cancel.cancel();
    // Cancelled, not done: the 4 s wait did not run out.
    assert_eq!(run.await.unwrap().outcome, Err(BlockRunError::Cancelled));
}

#[tokio::test]
async fn human_in_the_loop_hands_its_input_schema_to_the_host() {
    let runtime = runtime_with(|_| {});
    let schema = json!({"type": "object", "required": ["approved"]});
    let run = run_block(&runtime, "human_in_the_loop", json!({"response": {"q": "ok?"}, "inputSchema": schema})).await;
    assert_eq!(
        run.outcome,
        Ok(BlockOutcome::Pause { response: json!({"q": "ok?"}), resume_after_ms: None, input_schema: Some(schema) })
    );
}
