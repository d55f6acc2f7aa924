//! The `function` component runs ordinary JavaScript as Node 20 does (every expected value
//! below is what Node printed for the same body run as `(async function (input) {…})(input)`),
//! and its limits are the sandbox's: fuel, memory and the deadline, not counters of its own.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use sandflow_runtime::{BlockOutcome, BlockRun, BlockRunError, RunLimits, RunRequest, Runtime};
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

use super::{run_block, run_block_with};

/// The function's `result`, or a panic naming what happened instead.
#[track_caller]
fn result(run: &BlockRun) -> &Value {
    match &run.outcome {
        Ok(BlockOutcome::Done(output)) => &output["result"],
        other => panic!("expected a result, got {other:?}"),
    }
}

#[track_caller]
fn failure(run: &BlockRun) -> &str {
    match &run.outcome {
        Err(BlockRunError::Failed(message)) => message,
        other => panic!("expected the block to fail, got {other:?}"),
    }
}

async fn function(runtime: &Runtime, code: &str, input: Value) -> BlockRun {
    run_block(runtime, "function", json!({"code": code, "input": input})).await
}

/// A local server the function fetches from.
async fn serve() -> SocketAddr {
    let app = Router::new()
        .route(
            "/orders",
            get(|| async { axum::Json(json!({"orders": [{"id": 1, "total": 30}, {"id": 2, "total": 120}]})) }),
        )
        .route(
            "/echo",
            post(|headers: HeaderMap, body: Bytes| async move {
                let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                axum::Json(json!({"contentType": kind, "body": String::from_utf8_lossy(&body)}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn the_body_is_async_and_a_returned_promise_is_awaited() {
    let runtime = runtime_with(|_| {});
    let input = json!({"n": 41});
    let code = "const wait = (v) => new Promise(r => r(v)); const a = await wait(2); return a * (await wait(21));";
    assert_eq!(result(&function(&runtime, code, input.clone()).await), &json!(42));
    assert_eq!(result(&function(&runtime, "return Promise.resolve(input.n + 1);", input.clone()).await), &json!(42));
    let rejected = function(&runtime, "await Promise.reject(new Error('nope'));", input).await;
    assert!(failure(&rejected).starts_with("Error: nope"), "{:?}", rejected.outcome);
}

#[tokio::test]
async fn timers_run_inside_promise_all_and_intervals_can_be_cleared() {
    let runtime = runtime_with(|_| {});
    let code = "const later = (ms, v) => new Promise(r => setTimeout(() => r(v), ms));
                return await Promise.all([later(30, 'a'), later(10, 'b'), later(20, 'c')]);";
    let started = Instant::now();
    assert_eq!(result(&function(&runtime, code, json!(null)).await), &json!(["a", "b", "c"]));
    assert!(started.elapsed() >= Duration::from_millis(30), "the timers really waited");
    let code = "const seen = []; queueMicrotask(() => seen.push('micro'));
                await new Promise(r => { let n = 0; const id = setInterval(() => { seen.push(n); if (++n === 3) { clearInterval(id); r(); } }, 5); });
                const t = setTimeout(() => seen.push('never'), 5); clearTimeout(t);
                await new Promise(r => setTimeout(r, 20));
                return seen;";
    assert_eq!(result(&function(&runtime, code, json!(null)).await), &json!(["micro", 0, 1, 2]));
}

#[tokio::test]
async fn fetch_reaches_an_allow_listed_local_server() {
    let addr = serve().await;
    let runtime = runtime_with(|config| config.http.allow = vec!["127.0.0.1".parse().unwrap()]);
    let code = format!(
        "const res = await fetch('http://{addr}/orders');
         const data = await res.json();
         const echo = await fetch('http://{addr}/echo', {{method: 'POST', headers: {{'Content-Type': 'application/json'}}, body: JSON.stringify({{id: 7}})}});
         return [res.status, res.ok, res.headers.get('content-type'), data.orders.filter(o => o.total > 100).map(o => o.id), await echo.json()];"
    );
    let run = function(&runtime, &code, json!(null)).await;
    assert_eq!(
        result(&run),
        &json!([200, true, "application/json", [2], {"contentType": "application/json", "body": "{\"id\":7}"}])
    );
}

#[tokio::test]
async fn fetch_of_the_metadata_address_is_refused_and_catchable() {
    let runtime = runtime_with(|_| {});
    let code = "try { await fetch('http://169.254.169.254/latest/meta-data/'); return 'fetched'; }
                catch (e) { return [e instanceof TypeError, String(e.message)]; }";
    let run = function(&runtime, code, json!(null)).await;
    let got = result(&run);
    assert_eq!(got[0], true, "a refused fetch rejects with a TypeError, as Node's does: {got}");
    assert!(got[1].as_str().unwrap().contains("169.254.169.254"), "the reason names the address: {got}");
    let uncaught = function(&runtime, "await fetch('http://169.254.169.254/');", json!(null)).await;
    assert!(failure(&uncaught).contains("TypeError"), "{:?}", uncaught.outcome);
}

#[tokio::test]
async fn web_globals_behave_as_in_node() {
    let runtime = runtime_with(|_| {});
    let cases = [
        (
            "return [btoa('hello'), atob('aGVsbG8='), Array.from(new TextEncoder().encode('é')), new TextDecoder().decode(new Uint8Array([104, 105]))];",
            json!(["aGVsbG8=", "hello", [195, 169], "hi"]),
        ),
        (
            "const o = {a: [1, {b: 2}], d: new Date(0)}; const c = structuredClone(o); c.a[1].b = 3; return [o.a[1].b, c.a[1].b, c.d instanceof Date];",
            json!([2, 3, true]),
        ),
        (
            "const u = new URL('/path?q=1&q=2#h', 'https://example.com:8443'); u.searchParams.append('x', 'a b'); return [u.href, u.host, u.searchParams.getAll('q'), new URLSearchParams({a: '1', b: 'x y'}).toString()];",
            json!(["https://example.com:8443/path?q=1&q=2&x=a+b#h", "example.com:8443", ["1", "2"], "a=1&b=x+y"]),
        ),
        (
            "const id = crypto.randomUUID(); const bytes = crypto.getRandomValues(new Uint8Array(8)); return [/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), bytes.length];",
            json!([true, 8]),
        ),
        (
            "return [(1234567.891).toLocaleString('en-US'), (1234567.891).toLocaleString('de-DE'), new Intl.NumberFormat('en-US', {style: 'currency', currency: 'USD'}).format(1234.5), new Intl.NumberFormat('fr-FR', {style: 'currency', currency: 'EUR'}).format(1234.5), ['b', 'a', 'C'].sort((x, y) => x.localeCompare(y, 'en', {sensitivity: 'base'})), new Date(Date.UTC(2024, 2, 15)).toLocaleDateString('en-US', {timeZone: 'UTC'})];",
            json!([
                "1,234,567.891",
                "1.234.567,891",
                "$1,234.50",
                "1\u{202f}234,50\u{a0}€",
                ["a", "b", "C"],
                "3/15/2024"
            ]),
        ),
        (
            "return ['2024-03-15 10:30:00Z', 'March 15, 2024 10:30:00 UTC', 'Fri, 15 Mar 2024 10:30:00 GMT'].map(s => new Date(s).toISOString());",
            json!(["2024-03-15T10:30:00.000Z", "2024-03-15T10:30:00.000Z", "2024-03-15T10:30:00.000Z"]),
        ),
        ("return Object.keys(input);", json!(["n", "zulu", "alpha"])),
    ];
    for (code, expected) in cases {
        let run = function(&runtime, code, json!({"n": 41, "zulu": 1, "alpha": 2})).await;
        assert_eq!(result(&run), &expected, "{code}");
    }
}

#[tokio::test]
async fn errors_name_the_users_line_and_column() {
    let runtime = runtime_with(|_| {});
    let run = function(&runtime, "const a = 1;\nreturn a + missing;", json!(null)).await;
    let message = failure(&run);
    assert!(message.starts_with("ReferenceError: missing is not defined"), "{message}");
    assert!(message.contains("line 2"), "the user's second line, not the wrapper's: {message}");
    let run = function(&runtime, "let x = 1;\nlet y = (;", json!(null)).await;
    let message = failure(&run);
    assert!(message.starts_with("SyntaxError") && message.contains("line 2"), "{message}");
}

#[tokio::test]
async fn ordinary_work_fits_the_default_limits() {
    let runtime = runtime_with(|_| {});
    let rows: Vec<Value> = (0..20_000).map(|v| json!({"v": v, "name": format!("row {v}")})).collect();
    let code =
        "return input.rows.filter(r => r.v % 3 === 0).map(r => ({id: r.v, label: r.name.toUpperCase()})).length;";
    assert_eq!(result(&function(&runtime, code, json!({"rows": rows})).await), &json!(6667));
    let code =
        "let a = 0; for (let i = 0; i < 200000; i++) a += i % 7; let b = 0; while (b < 200000) b++; return [a, b];";
    assert_eq!(result(&function(&runtime, code, json!(null)).await), &json!([599994, 200000]));
    let code = "const depth = (n) => n === 0 ? 0 : 1 + depth(n - 1); return depth(2000);";
    assert_eq!(result(&function(&runtime, code, json!(null)).await), &json!(2000));
}

#[tokio::test]
async fn runaway_code_still_ends_in_a_typed_error() {
    let runtime = runtime_with(|_| {});
    let limits = RunLimits { timeout: Duration::from_secs(5), ..RunLimits::default() };
    let request =
        |code: &str| RunRequest { params: json!({"code": code}), limits: Some(limits.clone()), ..Default::default() };

    let started = Instant::now();
    let run = run_block_with(&runtime, "function", request("while (true) {}")).await;
    assert!(
        matches!(run.outcome, Err(BlockRunError::OutOfFuel { .. } | BlockRunError::Timeout { .. })),
        "{:?}",
        run.outcome
    );
    // The deadline ends it (or fuel first); the slack is for a loaded machine, not a figure.
    assert!(started.elapsed() < limits.timeout + Duration::from_secs(15), "ended only after {:?}", started.elapsed());

    // A 1 GiB typed array: one allocation, past the run's memory limit.
    let run =
        run_block_with(&runtime, "function", request("const a = new Float64Array(1 << 27); return a.length;")).await;
    assert!(matches!(&run.outcome, Err(BlockRunError::MemoryLimit { .. })), "{:?}", run.outcome);

    let run = run_block_with(&runtime, "function", request("const f = (n) => f(n + 1) + 1; return f(0);")).await;
    assert!(run.outcome.is_err(), "runaway recursion is an error: {:?}", run.outcome);
    // The host stays healthy: the next run works.
    let run = function(&runtime, "return 1 + 1;", json!(null)).await;
    assert_eq!(result(&run), &json!(2));
}
