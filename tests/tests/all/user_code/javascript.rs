//! The `function` component runs ordinary JavaScript as Node 20 does (every expected value
//! below is what Node printed for the same body run as `(async function (input) {…})(input)`),
//! and its limits are the sandbox's: fuel, memory and the deadline, not counters of its own.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use sandflow_runtime::{BlockRun, BlockRunError, RunLimits, RunRequest, Runtime};
use sandflow_tests::runtime_with;
use serde_json::{Value, json};

use super::{failure, result, run_block, run_block_with};

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

/// Runs each body over `input` and checks its result against what Node 20 gives.
async fn assert_results(cases: &[(&str, Value)], input: Value) {
    let runtime = runtime_with(|_| {});
    for (code, expected) in cases {
        let run = function(&runtime, code, input.clone()).await;
        assert_eq!(result(&run), expected, "{code}");
    }
}

#[tokio::test]
async fn crypto_gives_v4_uuids_and_fills_arrays_with_random_bytes() {
    assert_results(
        &[
            (
                "const id = crypto.randomUUID(); const bytes = crypto.getRandomValues(new Uint8Array(8)); return [/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id), bytes.length];",
                json!([true, 8]),
            ),
            // getRandomValues fills the array it is given and returns it; two calls differ (32
            // random bytes twice alike, or all zero, is a 2^-256 event); every UUID is new.
            (
                "const a = new Uint8Array(32); const same = crypto.getRandomValues(a); const b = crypto.getRandomValues(new Uint8Array(32));
                 const ids = new Set(Array.from({length: 5}, () => crypto.randomUUID()));
                 return [same === a, a.some(x => x !== 0), a.join() !== b.join(), ids.size, crypto.getRandomValues(new Uint32Array(4)).length];",
                json!([true, true, true, 5, 4]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn btoa_and_atob_encode_base64_as_node_does() {
    assert_results(
        &[
            (
                "return [btoa('hello'), atob('aGVsbG8='), btoa(''), atob(btoa('\\u00ff\\u0001')) === '\\u00ff\\u0001', btoa('ab'), atob(' aGk= ')];",
                json!(["aGVsbG8=", "hello", "", true, "YWI=", "hi"]),
            ),
            // Outside Latin-1 and malformed base64 are DOMExceptions, as in Node.
            (
                "const name = (f) => { try { f(); return 'no error'; } catch (e) { return e.name; } }; return [name(() => btoa('é€')), name(() => atob('a'))];",
                json!(["InvalidCharacterError", "InvalidCharacterError"]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn text_encoder_and_decoder_speak_utf8() {
    assert_results(
        &[(
            "return [Array.from(new TextEncoder().encode('é')), new TextDecoder().decode(new Uint8Array([104, 105])), new TextEncoder().encode('€').length, new TextDecoder().decode(new TextEncoder().encode('héllo €')), new TextDecoder('utf-8').encoding, new TextDecoder().decode(new Uint8Array([0xff]))];",
            json!([[195, 169], "hi", 3, "héllo €", "utf-8", "\u{fffd}"]),
        )],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn structured_clone_copies_deeply() {
    assert_results(
        &[
            (
                "const o = {a: [1, {b: 2}], d: new Date(0)}; const c = structuredClone(o); c.a[1].b = 3; return [o.a[1].b, c.a[1].b, c.d instanceof Date];",
                json!([2, 3, true]),
            ),
            (
                "const m = structuredClone(new Map([['k', new Set([1, 2])]])); const cyc = {n: 1}; cyc.self = cyc; const c = structuredClone(cyc);
                 let e; try { structuredClone(() => 1); } catch (err) { e = err.name; }
                 return [m.get('k').has(2), c.self === c, c !== cyc, e];",
                json!([true, true, true, "DataCloneError"]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn url_and_url_search_params_parse_as_whatwg_says() {
    assert_results(
        &[
            (
                "const u = new URL('/path?q=1&q=2#h', 'https://example.com:8443'); u.searchParams.append('x', 'a b'); return [u.href, u.host, u.searchParams.getAll('q'), new URLSearchParams({a: '1', b: 'x y'}).toString()];",
                json!(["https://example.com:8443/path?q=1&q=2&x=a+b#h", "example.com:8443", ["1", "2"], "a=1&b=x+y"]),
            ),
            (
                "const u = new URL('https://user:pw@Example.COM/a/../b/c?x=%20y&z#frag'); const p = new URLSearchParams('a=1&b=2&a=3'); p.sort(); p.delete('b');
                 let bad; try { new URL('not a url'); } catch (e) { bad = e.name; }
                 return [u.hostname, u.pathname, u.search, u.hash, u.username, u.origin, u.searchParams.get('x'), p.toString(), [...p.keys()], bad];",
                json!([
                    "example.com",
                    "/b/c",
                    "?x=%20y&z",
                    "#frag",
                    "user",
                    "https://example.com",
                    " y",
                    "a=1&a=3",
                    ["a", "a"],
                    "TypeError"
                ]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn intl_formats_numbers_and_dates_for_us_and_european_locales() {
    assert_results(
        &[
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
                "return [new Intl.NumberFormat('en-US').format(1234567.891), new Intl.NumberFormat('de-DE').format(1234567.891), new Intl.NumberFormat('de-DE', {style: 'currency', currency: 'EUR'}).format(1234.5), new Intl.NumberFormat('en-US', {maximumFractionDigits: 0}).format(2.5), new Intl.NumberFormat('en-US', {style: 'percent'}).format(0.256), new Intl.NumberFormat('en-US', {minimumFractionDigits: 2}).format(3)];",
                json!(["1,234,567.891", "1.234.567,891", "1.234,50\u{a0}€", "3", "26%", "3.00"]),
            ),
            (
                "const d = new Date(Date.UTC(2024, 2, 15, 10, 30, 0));
                 return [new Intl.DateTimeFormat('en-US', {timeZone: 'UTC'}).format(d), new Intl.DateTimeFormat('en-US', {timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric'}).format(d), new Intl.DateTimeFormat('en-US', {timeZone: 'UTC', hour: 'numeric', minute: '2-digit'}).format(d), d.toLocaleDateString('en-US', {timeZone: 'UTC', weekday: 'long'}), d.toLocaleString('en-US', {timeZone: 'UTC'})];",
                json!(["3/15/2024", "March 15, 2024", "10:30 AM", "Friday", "3/15/2024, 10:30:00 AM"]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn locale_compare_honours_its_options() {
    assert_results(
        &[(
            "return ['a'.localeCompare('B'), 'a'.localeCompare('A', 'en', {sensitivity: 'base'}), 'a'.localeCompare('á', 'en', {sensitivity: 'base'}), 'a'.localeCompare('á', 'en', {sensitivity: 'accent'}) !== 0, ['item10', 'item2', 'item1'].sort((x, y) => x.localeCompare(y, undefined, {numeric: true})), ['b', 'a', 'C'].sort((x, y) => x.localeCompare(y, 'en', {sensitivity: 'base'}))];",
            json!([-1, 0, 0, true, ["item1", "item2", "item10"], ["a", "b", "C"]]),
        )],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn dates_parse_the_common_non_iso_forms() {
    assert_results(
        &[
            (
                "return ['2024-03-15 10:30:00Z', 'March 15, 2024 10:30:00 UTC', 'Fri, 15 Mar 2024 10:30:00 GMT'].map(s => new Date(s).toISOString());",
                json!(["2024-03-15T10:30:00.000Z", "2024-03-15T10:30:00.000Z", "2024-03-15T10:30:00.000Z"]),
            ),
            // A slash date is local midnight, in Node as here; nonsense is still an Invalid Date.
            (
                "const d = new Date('2024/03/15'); return [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), isNaN(new Date('2024-03-15 10:30:00Z')), isNaN(new Date('not a date'))];",
                json!([2024, 2, 15, 0, 0, false, true]),
            ),
        ],
        json!(null),
    )
    .await;
}

#[tokio::test]
async fn input_keeps_its_written_key_order() {
    assert_results(
        &[("return Object.keys(input);", json!(["n", "zulu", "alpha"]))],
        json!({"n": 41, "zulu": 1, "alpha": 2}),
    )
    .await;
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

#[tokio::test]
async fn runaway_recursion_ends_in_a_typed_recursion_error() {
    let runtime = runtime_with(|_| {});
    // JavaScript-to-JavaScript calls: the interpreter's recursion limit, reported as the block's error.
    let run = function(&runtime, "function f(n) { return f(n + 1) } return f(0);", json!(null)).await;
    let message = failure(&run);
    assert_eq!(message, "Uncaught RuntimeLimitError: reached the maximum number of recursive calls on this execution");
    // Through native code (a callback of `map`, a getter, a `sort` comparator, `toJSON`) each
    // level re-enters the interpreter on the wasm stack, which the host bounds: a typed stack
    // overflow, or the interpreter's recursion limit first; never a plain trap (with Rust's
    // default 1 MiB shadow stack these were out-of-bounds traps after ~1,300 levels).
    for code in [
        "function f(n) { return [n].map(x => f(x + 1)) } return f(0);",
        "const o = { get x() { return this.x } }; return o.x;",
        "function f() { return [2, 1].sort(() => f()) } return f();",
        "const o = { toJSON() { return JSON.stringify(o) } }; return JSON.stringify(o);",
    ] {
        let run = function(&runtime, code, json!(null)).await;
        match &run.outcome {
            Err(BlockRunError::StackOverflow) => {}
            Err(BlockRunError::Failed(message)) if message.starts_with("Uncaught RuntimeLimitError") => {}
            other => panic!("{code}: expected a stack overflow or the recursion limit, got {other:?}"),
        }
    }
    // The host stays healthy: the next run works.
    assert_eq!(result(&function(&runtime, "return 1 + 1;", json!(null)).await), &json!(2));
}

#[tokio::test]
async fn conditions_and_routes_recursing_through_native_code_end_in_a_typed_error() {
    let runtime = runtime_with(|_| {});
    let expression = "(() => { const o = { get x() { return this.x } }; return o.x; })()";
    let condition = run_block(
        &runtime,
        "condition",
        json!({"conditions": [{"id": "deep", "expression": expression}, {"id": "else"}]}),
    )
    .await;
    let route = run_block(&runtime, "router", json!({"routes": [{"id": "deep", "expression": expression}]})).await;
    for run in [condition, route] {
        match &run.outcome {
            Err(BlockRunError::StackOverflow) => {}
            Err(BlockRunError::Failed(message)) if message.contains("RuntimeLimitError") => {}
            other => panic!("expected a stack overflow or the recursion limit, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn input_reaches_the_code_as_data() {
    let runtime = runtime_with(|_| {});
    // As Node's JSON.parse makes it: `__proto__` is an own key, not the object's prototype.
    let input: Value =
        serde_json::from_str(r#"{"user": {"__proto__": {"isAdmin": true}}, "s": "\"); throw new Error(1); (\""}"#)
            .unwrap();
    let code = "return [input.user.isAdmin === undefined, Object.keys(input.user), Object.getPrototypeOf(input.user) === Object.prototype,
                        ({}).isAdmin === undefined, JSON.stringify(input.user), input.user.__proto__, input.s];";
    let run = function(&runtime, code, input).await;
    assert_eq!(
        result(&run),
        &json!([
            true,
            ["__proto__"],
            true,
            true,
            "{\"__proto__\":{\"isAdmin\":true}}",
            {"isAdmin": true},
            "\"); throw new Error(1); (\""
        ])
    );
    // An object with that key also comes back out as it went in.
    let run = function(
        &runtime,
        "return input.user;",
        serde_json::from_str(r#"{"user": {"__proto__": {"isAdmin": true}}}"#).unwrap(),
    )
    .await;
    assert_eq!(serde_json::to_string(result(&run)).unwrap(), r#"{"__proto__":{"isAdmin":true}}"#);
}

#[tokio::test]
async fn a_large_input_costs_little_fuel() {
    let runtime = runtime_with(|_| {});
    let code = "return input.rows.length;";
    let baseline = function(&runtime, code, json!({"rows": []})).await;
    assert_eq!(result(&baseline), &json!(0));
    let rows: Vec<Value> = (0..10_000).map(|v| json!({"v": v})).collect();
    let large = function(&runtime, code, json!({"rows": rows})).await;
    assert_eq!(result(&large), &json!(10_000), "10,000 rows run under the default limits");
    // Parsed natively, not pasted in as source text: that took 54% of the budget for these rows
    // (issue 12); as data it is about 11%. The bound leaves room for the interpreter to change.
    let extra = large.usage.fuel_consumed.saturating_sub(baseline.usage.fuel_consumed);
    let budget = RunLimits::default().fuel;
    assert!(extra < budget / 4, "binding 10,000 rows took {extra} of {budget} fuel");
}
