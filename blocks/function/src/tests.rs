//! Native tests of the `function` block. Every expected value comes from running the same body
//! in Node 20 as `(async function (input) { <body> })(input)`.

use super::*;
use serde_json::json;
use std::cell::{Cell, RefCell};

/// A host on a virtual clock: sleeping advances it at once, and fetches are answered by `reply`.
struct FakeHost {
    now_ms: Cell<u64>,
    slept_ms: RefCell<Vec<u64>>,
    requests: RefCell<Vec<HttpRequest>>,
    reply: fn(&HttpRequest) -> Result<HttpResponse, HttpError>,
}

impl FakeHost {
    fn new() -> Self {
        Self::answering(|request| Err(HttpError::Refused(format!("no network in tests: {}", request.url))))
    }

    fn answering(reply: fn(&HttpRequest) -> Result<HttpResponse, HttpError>) -> Self {
        Self { now_ms: Cell::new(1_000), slept_ms: RefCell::default(), requests: RefCell::default(), reply }
    }
}

impl Host for FakeHost {
    fn fetch(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.requests.borrow_mut().push(request.clone());
        (self.reply)(request)
    }

    fn sleep_ms(&self, ms: u64) -> bool {
        self.slept_ms.borrow_mut().push(ms);
        self.now_ms.set(self.now_ms.get() + ms);
        true
    }

    fn now_ms(&self) -> u64 {
        self.now_ms.get()
    }
}

fn run(code: &str, input: Value) -> Result<Value, String> {
    run_function(code, &input, &[], &FakeHost::new()).map(|out| out.result)
}

#[test]
fn returns_the_result_and_captures_console_output() {
    let out =
        run_function("console.log('n is', input.n); return input.n * 2;", &json!({"n": 21}), &[], &FakeHost::new())
            .unwrap();
    assert_eq!(out, Output { result: json!(42), stdout: "n is 21".into() });
}

#[test]
fn undefined_result_is_null_and_objects_come_back_as_json() {
    assert_eq!(run_function("let x = 1;", &json!(null), &[], &FakeHost::new()).unwrap().result, json!(null));
    let out = run_function(
        "return {sum: input.reduce((a, b) => a + b, 0), n: input.length};",
        &json!([1, 2, 3]),
        &[],
        &FakeHost::new(),
    )
    .unwrap();
    assert_eq!(out.result, json!({"sum": 6, "n": 3}));
}

#[test]
fn thrown_errors_and_syntax_errors_are_reported() {
    let error = run_function("throw new Error('boom');", &json!(null), &[], &FakeHost::new()).unwrap_err();
    assert!(error.starts_with("Error: boom"), "{error}");
    assert!(run_function("return (;", &json!(null), &[], &FakeHost::new()).unwrap_err().starts_with("SyntaxError"));
}

#[test]
fn console_output_is_bounded() {
    let out = run_function(
        "for (let i = 0; i < 700; i++) console.log('x'.repeat(100)); return 1;",
        &json!(null),
        &[],
        &FakeHost::new(),
    )
    .unwrap();
    assert!(out.stdout.len() <= STDOUT_LIMIT + 200, "{}", out.stdout.len());
    assert!(out.stdout.ends_with("[stdout truncated]"));
}

#[test]
fn input_is_bound_as_data_not_pasted_as_source() {
    // An object literal's `__proto__` would set the prototype; a parsed value keeps it as a key.
    let input = json!({"user": {"__proto__": {"isAdmin": true}}, "name": "\"}); globalThis.pwned = 1; ({\""});
    let out = run_function(
        "return [input.user.isAdmin === true, typeof globalThis.pwned, input.name];",
        &input,
        &[],
        &FakeHost::new(),
    )
    .unwrap();
    assert_eq!(out.result, json!([false, "undefined", input["name"]]));
    let out = run_function("input.n = 2; return input;", &json!({"n": 1}), &[], &FakeHost::new()).unwrap();
    assert_eq!(out.result, json!({"n": 2}), "input is an ordinary, mutable value");
}

#[test]
fn references_in_code_are_values() {
    let references = [json!({"__proto__": {"isAdmin": true}}), json!("bob")];
    let out = run_function(
        "return [__refs[0].isAdmin === true, __refs[1] === 'bob'];",
        &json!(null),
        &references,
        &FakeHost::new(),
    )
    .unwrap();
    assert_eq!(out.result, json!([false, true]));
}

// async/await and promises

#[test]
fn await_at_the_top_of_the_body_and_returned_promises_are_awaited() {
    assert_eq!(run("await null; return 1 + (await Promise.resolve(41));", json!(null)), Ok(json!(42)));
    assert_eq!(run("return Promise.resolve({a: 1});", json!(null)), Ok(json!({"a": 1})));
    let statuses =
        "const r = await Promise.allSettled([Promise.reject(new Error('x')), 1]); return r.map(x => x.status);";
    assert_eq!(run(statuses, json!(null)), Ok(json!(["rejected", "fulfilled"])));
}

#[test]
fn a_rejection_is_the_error() {
    assert_eq!(run("throw new Error('boom')", json!(null)).unwrap_err().split(" (").next(), Some("Error: boom"));
    let error = run("await null; throw new TypeError('late')", json!(null)).unwrap_err();
    assert!(error.starts_with("TypeError: late"), "{error}");
}

// timers

#[test]
fn microtasks_run_before_timers_in_node_order() {
    let code = "const order = []; setTimeout(() => order.push('t'), 0); queueMicrotask(() => order.push('m')); \
                Promise.resolve().then(() => order.push('p')); order.push('s'); \
                await new Promise(r => setTimeout(r, 10)); return order;";
    assert_eq!(run(code, json!(null)), Ok(json!(["s", "m", "p", "t"])));
}

#[test]
fn set_timeout_inside_promise_all_waits_on_the_host() {
    let host = FakeHost::new();
    let code = "const wait = (ms, v) => new Promise(r => setTimeout(() => r(v), ms)); \
                return await Promise.all([wait(30, 'a'), wait(10, 'b'), 3]);";
    assert_eq!(run_function(code, &json!(null), &[], &host).unwrap().result, json!(["a", "b", 3]));
    // Two waits, the second only for what is left of the first: the loop never spins.
    assert_eq!(*host.slept_ms.borrow(), vec![10, 20]);
}

#[test]
fn intervals_and_clears() {
    let code = "let n = 0; await new Promise(r => { const id = setInterval(() => { n++; if (n === 3) { clearInterval(id); r(); } }, 5); }); \
                const t = setTimeout(() => { n = 100 }, 1); clearTimeout(t); await new Promise(r => setTimeout(r, 5)); return n;";
    assert_eq!(run(code, json!(null)), Ok(json!(3)));
}

// fetch, with the fake host answering

fn echo(request: &HttpRequest) -> Result<HttpResponse, HttpError> {
    let body = json!({
        "method": request.method,
        "url": request.url,
        "contentType": request.headers.iter().find(|(n, _)| n == "content-type").map(|(_, v)| v),
        "body": request.body.as_ref().map(|b| String::from_utf8_lossy(b).to_string()),
    });
    Ok(HttpResponse {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into()), ("x-id".into(), "7".into())],
        body: body.to_string().into_bytes(),
    })
}

#[test]
fn fetch_returns_a_whatwg_response() {
    let host = FakeHost::answering(echo);
    let code = "const res = await fetch('https://api.example.com/items', {method: 'POST', \
                headers: {'Content-Type': 'application/json'}, body: JSON.stringify({n: 1})}); \
                const seen = []; res.headers.forEach((v, k) => seen.push(k)); \
                return {status: res.status, ok: res.ok, statusText: res.statusText, id: res.headers.get('X-Id'), \
                has: res.headers.has('content-type'), entries: [...res.headers.entries()].length, seen, json: await res.json()};";
    let result = run_function(code, &json!(null), &[], &host).unwrap().result;
    assert_eq!(result["status"], json!(201));
    assert_eq!(result["ok"], json!(true));
    assert_eq!(result["statusText"], json!("Created"));
    assert_eq!(result["id"], json!("7"));
    assert_eq!(result["has"], json!(true));
    assert_eq!(result["entries"], json!(2));
    assert_eq!(result["seen"], json!(["content-type", "x-id"]));
    assert_eq!(
        result["json"],
        json!({"method": "POST", "url": "https://api.example.com/items", "contentType": "application/json", "body": "{\"n\":1}"})
    );
    assert_eq!(host.requests.borrow().len(), 1);
}

#[test]
fn text_bodies_and_the_headers_constructor() {
    let host = FakeHost::answering(echo);
    let code = "const h = new Headers({Accept: 'text/plain'}); h.append('X-A', '1'); \
                const text = await (await fetch('https://e.com/', {headers: h})).text(); \
                return [typeof text, h.get('accept'), h.has('x-a')];";
    assert_eq!(run_function(code, &json!(null), &[], &host).unwrap().result, json!(["string", "text/plain", true]));
}

#[test]
fn a_refused_fetch_rejects_with_a_type_error_naming_the_reason() {
    let code =
        "try { await fetch('http://169.254.169.254/'); } catch (e) { return [e instanceof TypeError, e.message]; }";
    let result = run(code, json!(null)).unwrap();
    assert_eq!(result[0], json!(true));
    let message = result[1].as_str().unwrap();
    assert!(message.starts_with("fetch failed: request refused:") && message.contains("169.254.169.254"), "{message}");
}

// errors and positions

#[test]
fn errors_give_the_users_line_and_column() {
    let error = run("const a = 1;\nthrow new Error('boom');", json!(null)).unwrap_err();
    assert_eq!(error, "Error: boom (line 2, column 7)");
    let error = run("return (;", json!(null)).unwrap_err();
    assert!(error.starts_with("SyntaxError:") && error.ends_with("(line 1, column 9)"), "{error}");
    let error = run("const a = 1;\n  return x + a;", json!(null)).unwrap_err();
    assert!(error.starts_with("ReferenceError: x is not defined"), "{error}");
}

// limits

#[test]
fn ordinary_recursion_and_long_loops_complete() {
    assert_eq!(
        run("function f(n) { return n === 0 ? 0 : 1 + f(n - 1) } return f(5000);", json!(null)),
        Ok(json!(5000))
    );
    let loops = "let s = 0; for (let i = 0; i < 200000; i++) s += i; let t = 0; for (let i = 0; i < 200000; i++) t ^= i; return [s, t];";
    assert_eq!(run(loops, json!(null)), Ok(json!([19_999_900_000_u64, 0])));
    let rows: Vec<u32> = (0..20_000).collect();
    let code = "return input.rows.filter(r => r % 3 === 0).map(r => r * 2).length;";
    assert_eq!(run(code, json!({"rows": rows})), Ok(json!(6667)));
}

#[test]
fn runaway_recursion_ends_in_an_error() {
    let error = run("function f() { return f() } return f();", json!(null)).unwrap_err();
    assert!(error.contains("RuntimeLimitError") && error.contains("recursive"), "{error}");
}

// language features

#[test]
#[ignore = "boa 0.22.0 bug: an object rest after a nested pattern keeps the nested key (rest has `b`)"]
fn nested_destructuring_with_rest() {
    assert_eq!(
        run("const { b: { c }, ...rest } = {b: {c: 2}, e: 5}; return {c, rest};", json!(null)),
        Ok(json!({"c": 2, "rest": {"e": 5}}))
    );
}

#[test]
fn classes() {
    let code = "class A { #x = 1; static n = 2; get x() { return this.#x } inc() { this.#x++; return this } } \
                class B extends A { toString() { return `B${this.x}` } } \
                return [new B().inc().x, A.n, String(new B()), new B() instanceof A];";
    assert_eq!(run(code, json!(null)), Ok(json!([2, 2, "B1", true])));
}

#[test]
fn json() {
    let code = r#"return [JSON.stringify({b: 1, a: [undefined, () => 1]}), JSON.stringify("é\n"), JSON.stringify({x: 1}, null, 2)];"#;
    assert_eq!(run(code, json!(null)), Ok(json!(["{\"b\":1,\"a\":[null,null]}", "\"é\\n\"", "{\n  \"x\": 1\n}"])));
}

#[test]
fn string_and_array_methods() {
    let code = r#"return ["  hi ".trim().padStart(5, "*"), "a-b-c".split("-").reverse().join("+"), "abc".at(-1), "x".repeat(3), [3,1,2].toSorted(), [1,[2,[3,[4]]]].flat(Infinity), Object.entries({a:1}).flat(), [1,2,3,4].findLast(n => n % 2), "Hello".replaceAll("l", "L"), [..."héllo"].length];"#;
    assert_eq!(
        run(code, json!(null)),
        Ok(json!(["***hi", "c+b+a", "c", "xxx", [1, 2, 3], [1, 2, 3, 4], ["a", 1], 3, "HeLLo", 5]))
    );
}

#[test]
fn regular_expressions() {
    let code = r#"const m = "2024-03-05 and 2025-12-31".matchAll(/(?<y>\d{4})-(?<m>\d\d)-(\d\d)/g); return [[...m].map(x => x.groups.y + x[3]), "aBc".replace(/b/i, s => s.toLowerCase()), /^\p{Lu}/u.test("Émile"), "a1b22".split(/\d+/)];"#;
    assert_eq!(run(code, json!(null)), Ok(json!([["202405", "202531"], "abc", true, ["a", "b", ""]])));
}

#[test]
fn iso_dates() {
    let code = r#"const d = new Date("2024-02-29T12:34:56.789Z"); return [d.toISOString(), d.getTime(), d.getUTCDay(), new Date(0).toISOString(), JSON.stringify(new Date(Date.UTC(2020, 0, 1)))];"#;
    assert_eq!(
        run(code, json!(null)),
        Ok(json!([
            "2024-02-29T12:34:56.789Z",
            1_709_210_096_789_u64,
            4,
            "1970-01-01T00:00:00.000Z",
            "\"2020-01-01T00:00:00.000Z\""
        ]))
    );
}

/// Time per run of a trivial body, engine creation included: `cargo test -p sandflow-block-function -- --ignored bench --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn bench_trivial_body() {
    let runs = 50;
    let start = std::time::Instant::now();
    for n in 0..runs {
        assert_eq!(run("return input.n * 2", json!({"n": n})), Ok(json!(n * 2)));
    }
    println!("bench: {:?} per run of `return input.n * 2`", start.elapsed() / runs);
}

#[test]
fn runaway_recursion_through_native_callbacks_ends_in_an_error() {
    // Each level re-enters the interpreter on the native stack: 2,000 levels overflow a test
    // thread's 2 MiB in a debug build. The guest's bound is the host's wasm stack (a component test's).
    let code = "function f(n) { return [n].map(x => f(x + 1)) } return f(0);";
    let deep_stack = std::thread::Builder::new().stack_size(1 << 30).spawn(move || run(code, json!(null)));
    let error = deep_stack.unwrap().join().unwrap().unwrap_err();
    assert!(error.contains("RuntimeLimitError"), "{error}");
}

#[test]
fn a_promise_that_can_never_settle_is_an_error_not_a_hang() {
    let error = run("await new Promise(() => {}); return 1;", json!(null)).unwrap_err();
    assert!(error.contains("never settled"), "{error}");
}

/// One run of a trivial body from a prepared engine, as a run from the snapshot does it (init's
/// work is not counted): `cargo test --release -p sandflow-block-function -- --ignored
/// bench_run_from_prepared --exact`, under `valgrind --tool=callgrind
/// --toggle-collect='*one_run_from_prepared*'` for the instructions of the run alone.
#[test]
#[ignore = "a measurement, not a check"]
fn bench_run_from_prepared() {
    #[inline(never)]
    fn one_run_from_prepared(host: &FakeHost) -> Output {
        run_function("return input.n * 2", &json!({"n": 21}), &[], host).unwrap()
    }
    // A fresh thread: its PREPARED is empty until `prepare` fills it, as in the component's init.
    std::thread::spawn(|| {
        let host = FakeHost::new();
        prepare();
        let start = std::time::Instant::now();
        let out = one_run_from_prepared(&host);
        let elapsed = start.elapsed();
        assert_eq!(out, Output { result: json!(42), stdout: String::new() });
        println!("bench: {elapsed:?} for one run of `return input.n * 2` from a prepared engine");
    })
    .join()
    .unwrap();
}

/// What a body can see of the global scope: the same from a context prepared ahead (as the
/// snapshot holds it) as from one built in the run, and with or without references.
#[test]
fn a_prepared_context_looks_like_a_fresh_one() {
    let code = "const d = Object.getOwnPropertyDescriptor(globalThis, '__refs'); \
                return [Object.keys(globalThis), Object.getOwnPropertyNames(globalThis).slice(-3), \
                [d.writable, d.enumerable, d.configurable], Object.isFrozen(__refs), __refs, \
                typeof __stdout, typeof __print, typeof console.log];";
    let expected = |references: Value| {
        let keys = ["Headers", "Request", "Response", "Headers Iterator", "fetch", "queueMicrotask", "console"];
        json!([
            keys,
            ["queueMicrotask", "console", "__refs"],
            [false, false, true],
            true,
            references,
            "object",
            "function",
            "function"
        ])
    };
    let seen = |prepared: bool, references: Vec<Value>| {
        std::thread::spawn(move || {
            if prepared {
                prepare();
            }
            run_function(code, &json!(null), &references, &FakeHost::new()).unwrap().result
        })
        .join()
        .unwrap()
    };
    for prepared in [false, true] {
        assert_eq!(seen(prepared, vec![]), expected(json!([])), "prepared: {prepared}");
        assert_eq!(seen(prepared, vec![json!(1)]), expected(json!([1])), "prepared: {prepared}");
    }
}

/// A primitive result (converted natively) is what JSON.stringify makes of it, as an element of
/// an array (which still goes through JSON.stringify) shows.
#[test]
fn primitive_results_are_what_json_stringify_writes() {
    for value in [
        "42",
        "-7",
        "-0",
        "0.1 + 0.2",
        "1.5",
        "2 ** 31",
        "-(2 ** 31) - 1",
        "2 ** 53",
        "-(2 ** 53)",
        "2 ** 53 + 2",
        "2 ** 64",
        "1e21",
        "NaN",
        "Infinity",
        "-Infinity",
        "true",
        "false",
        "null",
        "undefined",
    ] {
        let alone = run(&format!("return {value};"), json!(null)).unwrap();
        let in_array = run(&format!("return [{value}];"), json!(null)).unwrap();
        assert_eq!(alone, in_array[0], "{value}");
        assert_eq!(alone.to_string(), in_array[0].to_string(), "{value}");
    }
}
