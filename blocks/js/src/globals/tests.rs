//! Each global against Node 20. Every expected value is what `node -e` printed for the same
//! expression here, run with `TZ=UTC` (the guest's only time zone), as `JSON.stringify` gave it.
//! Errors are caught in the expression and compared as `[name, message, code, instanceof
//! DOMException, instanceof Error]`.

use serde_json::Value;

/// Evaluates each expression in a fresh engine and fails listing every one whose value differs from Node's.
fn check(cases: &[(&str, &str)]) {
    let mismatches: Vec<String> = cases
        .iter()
        .filter_map(|(expression, node)| {
            let expected = as_floats(serde_json::from_str(node).expect("expected values are JSON"));
            let actual = crate::evaluate(expression, &[]).map(as_floats);
            (actual.as_ref() != Ok(&expected)).then(|| format!("{expression}\n  node: {expected}\n  ours: {actual:?}"))
        })
        .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from Node:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

/// Every number as a float: JSON from Node writes `0` where boa's conversion may give `0.0`.
fn as_floats(value: Value) -> Value {
    match value {
        Value::Number(number) => number.as_f64().map_or(Value::Number(number), Value::from),
        Value::Array(items) => Value::Array(items.into_iter().map(as_floats).collect()),
        Value::Object(fields) => Value::Object(fields.into_iter().map(|(key, item)| (key, as_floats(item))).collect()),
        other => other,
    }
}

/// Forgiving base64 and Node's InvalidCharacterError DOMExceptions.
#[test]
fn atob_and_btoa() {
    check(&[
        (r#"atob("aGVsbG8=")"#, r#""hello""#),
        (r#"atob(" aGVs\nbG8 ")"#, r#""hello""#),
        (r#"atob("aGVsbG8")"#, r#""hello""#),
        (r#"atob("//4=").split("").map(c => c.charCodeAt(0))"#, r#"[255, 254]"#),
        (r#"btoa("hello")"#, r#""aGVsbG8=""#),
        (r#"btoa("\u00ff\u00fe")"#, r#""//4=""#),
        (r#"btoa("")"#, r#""""#),
        (r#"btoa(null)"#, r#""bnVsbA==""#),
        (r#"atob(btoa("any carnal pleas"))"#, r#""any carnal pleas""#),
        (
            r#"(() => { try { atob("a"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "The string to be decoded is not correctly encoded.", 5, true, true]"#,
        ),
        (
            r#"(() => { try { atob("*"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"(() => { try { atob("aGVsbG8=="); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"(() => { try { atob("aGVsbA=x"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"(() => { try { btoa("\u20ac"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"(() => { try { atob(); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "The \"input\" argument must be specified", "ERR_MISSING_ARGS", false, true]"#,
        ),
        (r#"String(new DOMException("m", "InvalidCharacterError"))"#, r#""InvalidCharacterError: m""#),
        (r#"typeof atob"#, r#""function""#),
        (r#"atob(btoa("x".padEnd(120000, "x"))).length"#, r#"120000"#),
        (r#"atob("YR")"#, r#""a""#),
        (r#"atob("YQ")"#, r#""a""#),
        (r#"atob(" Y Q = = ")"#, r#""a""#),
        (
            r#"(() => { try { atob("YQ="); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"(() => { try { atob("Y==="); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["InvalidCharacterError", "Invalid character", 5, true, true]"#,
        ),
        (
            r#"btoa(String.fromCharCode(...Array.from({length: 256}, (_, i) => i)))"#,
            r#""AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==""#,
        ),
    ]);
}

/// UTF-8 both ways: BOM, replacement characters, fatal mode, views.
#[test]
fn text_encoder_and_decoder() {
    check(&[
        (r#"Array.from(new TextEncoder().encode("h€😀"))"#, r#"[104, 226, 130, 172, 240, 159, 152, 128]"#),
        (r#"new TextEncoder().encode("x") instanceof Uint8Array"#, r#"true"#),
        (r#"new TextEncoder().encoding"#, r#""utf-8""#),
        (r#"Array.from(new TextEncoder().encode("a\ud800b"))"#, r#"[97, 239, 191, 189, 98]"#),
        (r#"new TextEncoder().encode().length"#, r#"0"#),
        (r#"new TextDecoder().decode(new Uint8Array([0xEF,0xBB,0xBF,104,0xE2,0x82,0xAC]))"#, r#""h\u20ac""#),
        (r#"new TextDecoder().decode(new Uint8Array([104,0xff,105]).buffer)"#, r#""h\ufffdi""#),
        (r#"new TextDecoder("utf-8", {ignoreBOM: true}).decode(new Uint8Array([0xEF,0xBB,0xBF,104])).length"#, r#"2"#),
        (r#"new TextDecoder().decode(new Uint8Array([0, 104, 105, 0]).subarray(1, 3))"#, r#""hi""#),
        (r#"new TextDecoder().decode()"#, r#""""#),
        (r#"new TextDecoder("UTF8").encoding"#, r#""utf-8""#),
        (r#"new TextDecoder().decode(new Uint16Array([0x6968]))"#, r#""hi""#),
        (
            r#"(() => { try { new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xff])); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "The encoded data was not valid for encoding utf-8", "ERR_ENCODING_INVALID_ENCODED_DATA", false, true]"#,
        ),
        (r#"new TextDecoder().decode(new TextEncoder().encode("grüße 👋"))"#, r#""gr\u00fc\u00dfe \ud83d\udc4b""#),
        (
            r#"JSON.stringify(new TextEncoder().encodeInto("héllo", new Uint8Array(3)))"#,
            r#""{\"read\":2,\"written\":3}""#,
        ),
    ]);
}

/// Deep copies with Date, Map, Set, RegExp, cycles; DataCloneError for functions.
#[test]
fn structured_clone() {
    check(&[
        (
            r#"(() => { const o = {a: 1, b: [1, {c: 2}], d: new Date(0), m: new Map([[1, {x: 1}]]), s: new Set([1, 2])}; const c = structuredClone(o); return [c !== o, c.b[1] !== o.b[1], c.d instanceof Date, c.d.getTime(), c.m.get(1), [...c.s], c.m instanceof Map, c.m.get(1) !== o.m.get(1)]; })()"#,
            r#"[true, true, true, 0, {"x": 1}, [1, 2], true, true]"#,
        ),
        (
            r#"(() => { const a = {}; a.self = a; a.list = [a]; const c = structuredClone(a); return [c.self === c, c.list[0] === c, c !== a]; })()"#,
            r#"[true, true, true]"#,
        ),
        (
            r#"(() => { class P { constructor() { this.x = 1; } get y() { return 2; } } const c = structuredClone(new P()); return [Object.getPrototypeOf(c) === Object.prototype, c]; })()"#,
            r#"[true, {"x": 1}]"#,
        ),
        (
            r#"(() => { const c = structuredClone(/ab+c/gi); return [c.source, c.flags, c instanceof RegExp]; })()"#,
            r#"["ab+c", "gi", true]"#,
        ),
        (
            r#"(() => { const e = structuredClone(new RangeError("boom")); return [e instanceof RangeError, e.message, e.name]; })()"#,
            r#"[true, "boom", "RangeError"]"#,
        ),
        (
            r#"(() => { const c = structuredClone(new Uint8Array([1, 2])); return [c instanceof Uint8Array, Array.from(c)]; })()"#,
            r#"[true, [1, 2]]"#,
        ),
        (r#"structuredClone([1, , 3]).length"#, r#"3"#),
        (r#"structuredClone(null)"#, r#"null"#),
        (r#"structuredClone("s")"#, r#""s""#),
        (r#"structuredClone(new Number(3)) instanceof Number"#, r#"true"#),
        (
            r#"(() => { const x = {}; Object.defineProperty(x, "h", {value: 1, enumerable: false}); x[Symbol("s")] = 1; x.v = 2; return Object.keys(structuredClone(x)); })()"#,
            r#"["v"]"#,
        ),
        (
            r#"(() => { try { structuredClone(() => {}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["DataCloneError", "() => {} could not be cloned.", 25, true, true]"#,
        ),
        (
            r#"(() => { try { structuredClone({f() {}}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["DataCloneError", "f() {} could not be cloned.", 25, true, true]"#,
        ),
        (
            r#"(() => { try { structuredClone(Symbol("x")); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["DataCloneError", "Symbol(x) could not be cloned.", 25, true, true]"#,
        ),
        (
            r#"(() => { try { structuredClone(new WeakMap()); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r##"["DataCloneError", "#<WeakMap> could not be cloned.", 25, true, true]"##,
        ),
        (
            r#"(() => { try { structuredClone(); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "The value argument must be specified", "ERR_MISSING_ARGS", false, true]"#,
        ),
        (r#"structuredClone(Array.from({length: 110000}, (_, i) => i)).length"#, r#"110000"#),
    ]);
}

/// WHATWG parsing and relative resolution, as Node's URL.
#[test]
fn url_components_and_resolution() {
    check(&[
        (
            r#"(() => { const u = new URL("https://user:pw@Example.com:8080/a/b/../c?x=1&y=%20#frag"); return [u.href, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash, u.origin]; })()"#,
            r##"["https://user:pw@example.com:8080/a/c?x=1&y=%20#frag", "https:", "user", "pw", "example.com:8080", "example.com", "8080", "/a/c", "?x=1&y=%20", "#frag", "https://example.com:8080"]"##,
        ),
        (r#"new URL("../d?q", "https://example.com/a/b/c").href"#, r#""https://example.com/a/d?q""#),
        (r#"new URL("//other.org/x", "https://example.com/").href"#, r#""https://other.org/x""#),
        (r#"new URL("?z=2", "https://example.com/p?q=1#h").href"#, r#""https://example.com/p?z=2""#),
        (r#"new URL("https://example.com:443/").port"#, r#""""#),
        (r#"new URL("HTTP://EXAMPLE.com").href"#, r#""http://example.com/""#),
        (r#"new URL("https://example.com/ä b").pathname"#, r#""/%C3%A4%20b""#),
        (r#"new URL("https://münchen.de/").hostname"#, r#""xn--mnchen-3ya.de""#),
        (r#"String(new URL("https://example.com/x"))"#, r#""https://example.com/x""#),
        (r#"JSON.stringify({u: new URL("https://example.com/x")})"#, r#""{\"u\":\"https://example.com/x\"}""#),
        (r#"new URL("file:///tmp/a.txt").origin"#, r#""null""#),
        (r#"new URL("mailto:a@b.c").pathname"#, r#""a@b.c""#),
        (
            r#"(() => { try { new URL("not a url"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Invalid URL", "ERR_INVALID_URL", false, true]"#,
        ),
        (
            r#"(() => { try { new URL("/path"); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Invalid URL", "ERR_INVALID_URL", false, true]"#,
        ),
        (r#"URL.canParse("https://x.y")"#, r#"true"#),
        (r#"URL.canParse("nope")"#, r#"false"#),
        (
            r#"(() => { const u = new URL("https://example.com/a?x=1"); u.pathname = "/b c"; u.hash = "h"; u.search = "?y=2"; u.port = "81"; return [u.href, u.searchParams.get("y")]; })()"#,
            r#"["https://example.com:81/b%20c?y=2#h", "2"]"#,
        ),
        (
            r#"(() => { const u = new URL("https://example.com/"); u.href = "http://other.org/z"; return [u.host, u.pathname]; })()"#,
            r#"["other.org", "/z"]"#,
        ),
        (
            r#"(() => { try { new URL("https://example.com/").href = "nope"; return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Invalid URL", "ERR_INVALID_URL", false, true]"#,
        ),
    ]);
}

/// Construction from string, object and pairs; every method; the link to its URL.
#[test]
fn url_search_params() {
    check(&[
        (r#"new URLSearchParams("?a=1&b=2&a=3").getAll("a")"#, r#"["1", "3"]"#),
        (r#"new URLSearchParams("a=1").get("missing")"#, r#"null"#),
        (r#"new URLSearchParams({x: "1", y: 2}).toString()"#, r#""x=1&y=2""#),
        (r#"new URLSearchParams([["a", "1"], ["b", "x y"]]).toString()"#, r#""a=1&b=x+y""#),
        (
            r#"new URLSearchParams("q=a+b%20c&e=%E2%82%AC").get("q") + "|" + new URLSearchParams("e=%E2%82%AC").get("e")"#,
            r#""a b c|\u20ac""#,
        ),
        (
            r#"(() => { const p = new URLSearchParams("a=1&b=2&a=3"); p.set("a", "9"); p.append("c", "&="); p.delete("b"); return [p.toString(), p.has("a"), p.has("b"), p.size]; })()"#,
            r#"["a=9&c=%26%3D", true, false, 2]"#,
        ),
        (
            r#"(() => { const p = new URLSearchParams("b=2&a=1&c=3&a=0"); p.sort(); return [...p]; })()"#,
            r#"[["a", "1"], ["a", "0"], ["b", "2"], ["c", "3"]]"#,
        ),
        (
            r#"(() => { const out = []; new URLSearchParams("a=1&b=2").forEach((v, k) => out.push(k + "=" + v)); return out; })()"#,
            r#"["a=1", "b=2"]"#,
        ),
        (r#"[...new URLSearchParams("a=1&b=2").entries()]"#, r#"[["a", "1"], ["b", "2"]]"#),
        (r#"[...new URLSearchParams("a=1&b=2").keys()]"#, r#"["a", "b"]"#),
        (r#"[...new URLSearchParams("a=1&b=2").values()]"#, r#"["1", "2"]"#),
        (r#"new URLSearchParams("a=~*-._!'()").toString()"#, r#""a=%7E*-._%21%27%28%29""#),
        (r#"new URLSearchParams({k: "é ü/?"}).toString()"#, r#""k=%C3%A9+%C3%BC%2F%3F""#),
        (
            r#"(() => { const u = new URL("https://example.com/?a=1"); u.searchParams.append("b", "two words"); u.searchParams.delete("a"); return u.href; })()"#,
            r#""https://example.com/?b=two+words""#,
        ),
        (
            r#"(() => { const u = new URL("https://example.com/?a=1"); u.searchParams.delete("a"); return u.href; })()"#,
            r#""https://example.com/""#,
        ),
        (
            r#"(() => { const u = new URL("https://example.com/?a=1"); const p = u.searchParams; u.search = "?z=5"; return [p.get("z"), p === u.searchParams]; })()"#,
            r#"["5", true]"#,
        ),
        (
            r#"(() => { try { new URLSearchParams([["a"]]); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Each query pair must be an iterable [name, value] tuple", "ERR_INVALID_TUPLE", false, true]"#,
        ),
        (
            r#"(() => { const p = new URLSearchParams(); const seen = []; p.append("x", "1"); p.forEach((v, k, self) => seen.push(k, v, self === p)); return seen; })()"#,
            r#"["x", "1", true]"#,
        ),
        (r#"new URLSearchParams(new URLSearchParams("x=1")).toString()"#, r#""x=1""#),
        (r#"Object.prototype.toString.call(new URLSearchParams())"#, r#""[object URLSearchParams]""#),
    ]);
}

/// Shapes and errors of crypto; the values themselves are random.
#[test]
fn crypto_random_values_and_uuid() {
    check(&[
        (
            r#"/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())"#,
            r#"true"#,
        ),
        (r#"crypto.randomUUID() !== crypto.randomUUID()"#, r#"true"#),
        (r#"(() => { const a = new Uint8Array(8); return crypto.getRandomValues(a) === a; })()"#, r#"true"#),
        (r#"crypto.getRandomValues(new Uint32Array(16384)).length"#, r#"16384"#),
        (
            r#"(() => { const a = new Uint8Array(4096); crypto.getRandomValues(a); return new Set(a).size > 100; })()"#,
            r#"true"#,
        ),
        (r#"crypto.getRandomValues(new BigInt64Array(2)).length"#, r#"2"#),
        (
            r#"(() => { try { crypto.getRandomValues(new Uint8Array(65537)); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["QuotaExceededError", "The requested length exceeds 65,536 bytes", 22, true, true]"#,
        ),
        (
            r#"(() => { try { crypto.getRandomValues(new Uint32Array(16385)); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["QuotaExceededError", "The requested length exceeds 65,536 bytes", 22, true, true]"#,
        ),
        (
            r#"(() => { try { crypto.getRandomValues(new Float32Array(2)); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeMismatchError", "The data argument must be an integer-type TypedArray", 17, true, true]"#,
        ),
        (
            r#"(() => { try { crypto.getRandomValues([1]); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeMismatchError", "The data argument must be an integer-type TypedArray", 17, true, true]"#,
        ),
    ]);
}

/// The Intl namespace: services callable without new, locale lists.
#[test]
fn intl_object() {
    check(&[
        (r#"Intl.NumberFormat("de").format(1234.5)"#, r#""1.234,5""#),
        (r#"Intl.DateTimeFormat("en-GB", {dateStyle: "medium"}).format(0)"#, r#""1 Jan 1970""#),
        (r#"["b", "a"].sort(Intl.Collator("en").compare)"#, r#"["a", "b"]"#),
        (r#"new Intl.NumberFormat() instanceof Intl.NumberFormat"#, r#"true"#),
        (r#"Intl.NumberFormat === Intl.NumberFormat"#, r#"true"#),
        (r#"Intl.getCanonicalLocales(["EN-us", "de"])"#, r#"["en-US", "de"]"#),
        (r#"Intl.NumberFormat.supportedLocalesOf(["de-AT", "xx", "fr"])"#, r#"["de-AT", "fr"]"#),
        (r#"Object.prototype.toString.call(Intl)"#, r#""[object Intl]""#),
    ]);
}

/// Intl.NumberFormat and toLocaleString: grouping, decimals, currency, percent, locales.
#[test]
fn number_formatting() {
    check(&[
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("en-US"))"#,
            r#"["1,234,567.891", "1,234", "-0.5", "0", "12,345", "1,000,000,000,000,000,000,000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("en-GB"))"#,
            r#"["1,234,567.891", "1,234", "-0.5", "0", "12,345", "1,000,000,000,000,000,000,000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("de-DE"))"#,
            r#"["1.234.567,891", "1.234", "-0,5", "0", "12.345", "1.000.000.000.000.000.000.000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("fr-FR"))"#,
            r#"["1\u202f234\u202f567,891", "1\u202f234", "-0,5", "0", "12\u202f345", "1\u202f000\u202f000\u202f000\u202f000\u202f000\u202f000\u202f000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("es-ES"))"#,
            r#"["1.234.567,891", "1234", "-0,5", "0", "12.345", "1.000.000.000.000.000.000.000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("it-IT"))"#,
            r#"["1.234.567,891", "1234", "-0,5", "0", "12.345", "1.000.000.000.000.000.000.000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"[1234567.891, 1234, -0.5, 0, 12345, 1e21, NaN, -Infinity].map(n => n.toLocaleString("nl-NL"))"#,
            r#"["1.234.567,891", "1.234", "-0,5", "0", "12.345", "1.000.000.000.000.000.000.000", "NaN", "-\u221e"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("en-US", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-$1,234.50", "-\u20ac1,234.50", "-\u00a31,234.50"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("en-GB", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-US$1,234.50", "-\u20ac1,234.50", "-\u00a31,234.50"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("de-DE", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-1.234,50\u00a0$", "-1.234,50\u00a0\u20ac", "-1.234,50\u00a0\u00a3"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("fr-FR", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-1\u202f234,50\u00a0$US", "-1\u202f234,50\u00a0\u20ac", "-1\u202f234,50\u00a0\u00a3GB"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("es-ES", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-1234,50\u00a0US$", "-1234,50\u00a0\u20ac", "-1234,50\u00a0GBP"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("it-IT", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["-1234,50\u00a0USD", "-1234,50\u00a0\u20ac", "-1234,50\u00a0\u00a3"]"#,
        ),
        (
            r#"["USD", "EUR", "GBP"].map(c => new Intl.NumberFormat("nl-NL", {style: "currency", currency: c}).format(-1234.5))"#,
            r#"["US$\u00a0-1.234,50", "\u20ac\u00a0-1.234,50", "\u00a3\u00a0-1.234,50"]"#,
        ),
        (r#"[0.256, -0.5, 1].map(n => n.toLocaleString("en-US", {style: "percent"}))"#, r#"["26%", "-50%", "100%"]"#),
        (
            r#"[0.256, -0.5, 1].map(n => n.toLocaleString("de-DE", {style: "percent"}))"#,
            r#"["26\u00a0%", "-50\u00a0%", "100\u00a0%"]"#,
        ),
        (
            r#"[0.256, -0.5, 1].map(n => n.toLocaleString("fr-FR", {style: "percent"}))"#,
            r#"["26\u00a0%", "-50\u00a0%", "100\u00a0%"]"#,
        ),
        (
            r#"[0.256, -0.5, 1].map(n => n.toLocaleString("es-ES", {style: "percent"}))"#,
            r#"["26\u00a0%", "-50\u00a0%", "100\u00a0%"]"#,
        ),
        (r#"[0.256, -0.5, 1].map(n => n.toLocaleString("it-IT", {style: "percent"}))"#, r#"["26%", "-50%", "100%"]"#),
        (r#"[0.256, -0.5, 1].map(n => n.toLocaleString("nl-NL", {style: "percent"}))"#, r#"["26%", "-50%", "100%"]"#),
        (r#"(1234.5678).toLocaleString()"#, r#""1,234.568""#),
        (r#"(1.005).toLocaleString("en-US", {maximumFractionDigits: 2})"#, r#""1.01""#),
        (r#"(2.5).toLocaleString("en-US", {maximumFractionDigits: 0})"#, r#""3""#),
        (r#"(1234.5).toLocaleString("de-DE", {minimumFractionDigits: 2})"#, r#""1.234,50""#),
        (r#"(0.1).toLocaleString("en-US", {minimumFractionDigits: 3, maximumFractionDigits: 5})"#, r#""0.100""#),
        (r#"(123.456).toLocaleString("en-US", {maximumFractionDigits: 1})"#, r#""123.5""#),
        (r#"(9.999).toLocaleString("en-US", {maximumFractionDigits: 2})"#, r#""10""#),
        (r#"(1e-7).toLocaleString("en-US", {maximumFractionDigits: 10})"#, r#""0.0000001""#),
        (r#"(1234567).toLocaleString("en-US", {useGrouping: false})"#, r#""1234567""#),
        (r#"(5).toLocaleString("en-US", {minimumIntegerDigits: 3})"#, r#""005""#),
        (
            r#"new Intl.NumberFormat("en-US", {style: "currency", currency: "EUR", maximumFractionDigits: 0}).format(1234.56)"#,
            r#""\u20ac1,235""#,
        ),
        (
            r#"new Intl.NumberFormat("de", {style: "currency", currency: "EUR"}).format(1000)"#,
            r#""1.000,00\u00a0\u20ac""#,
        ),
        (r#"new Intl.NumberFormat("en-US", {style: "currency", currency: "usd"}).format(3)"#, r#""$3.00""#),
        (
            r#"new Intl.NumberFormat("en-US", {style: "currency", currency: "USD", currencyDisplay: "code"}).format(3)"#,
            r#""USD\u00a03.00""#,
        ),
        (
            r#"new Intl.NumberFormat("en-US", {style: "percent", maximumFractionDigits: 1}).format(0.12345)"#,
            r#""12.3%""#,
        ),
        (r#"[1, 22, 333].map(new Intl.NumberFormat("de-DE").format)"#, r#"["1", "22", "333"]"#),
        (
            r#"(() => { try { new Intl.NumberFormat("en-US", {style: "currency"}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Currency code is required with currency style.", null, false, true]"#,
        ),
        (
            r#"(() => { try { new Intl.NumberFormat("en-US", {minimumFractionDigits: 3, maximumFractionDigits: 1}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["RangeError", "maximumFractionDigits value is out of range.", null, false, true]"#,
        ),
        (
            r#"(() => { try { (1).toLocaleString("en-US", {maximumFractionDigits: 101}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["RangeError", "maximumFractionDigits value is out of range.", null, false, true]"#,
        ),
        (
            r#"(() => { const o = new Intl.NumberFormat("fr-FR", {style: "currency", currency: "EUR"}).resolvedOptions(); return [o.locale, o.style, o.currency, o.minimumFractionDigits, o.maximumFractionDigits]; })()"#,
            r#"["fr-FR", "currency", "EUR", 2, 2]"#,
        ),
    ]);
}

/// Intl.DateTimeFormat and Date's locale methods, in UTC.
#[test]
fn date_formatting() {
    check(&[
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("en-US"), d.toLocaleTimeString("en-US"), d.toLocaleString("en-US"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("en-US", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("en-US", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("en-US", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("en-US", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["3/5/2024", "2:07:09 PM", "3/5/2024, 2:07:09 PM", "Tuesday, March 5, 2024", "March 5, 2024", "Mar 5, 2024", "3/5/24", "2:07:09 PM Coordinated Universal Time", "2:07:09 PM UTC", "2:07:09 PM", "2:07 PM", "Mar 5, 2024, 2:07 PM", "Tuesday, March 5, 2024 at 2:07:09 PM UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("en-GB"), d.toLocaleTimeString("en-GB"), d.toLocaleString("en-GB"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("en-GB", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("en-GB", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("en-GB", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("en-GB", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["05/03/2024", "14:07:09", "05/03/2024, 14:07:09", "Tuesday, 5 March 2024", "5 March 2024", "5 Mar 2024", "05/03/2024", "14:07:09 Coordinated Universal Time", "14:07:09 UTC", "14:07:09", "14:07", "5 Mar 2024, 14:07", "Tuesday, 5 March 2024 at 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("de-DE"), d.toLocaleTimeString("de-DE"), d.toLocaleString("de-DE"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("de-DE", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("de-DE", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("de-DE", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("de-DE", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["5.3.2024", "14:07:09", "5.3.2024, 14:07:09", "Dienstag, 5. M\u00e4rz 2024", "5. M\u00e4rz 2024", "05.03.2024", "05.03.24", "14:07:09 Koordinierte Weltzeit", "14:07:09 UTC", "14:07:09", "14:07", "05.03.2024, 14:07", "Dienstag, 5. M\u00e4rz 2024 um 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("fr-FR"), d.toLocaleTimeString("fr-FR"), d.toLocaleString("fr-FR"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("fr-FR", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("fr-FR", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("fr-FR", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("fr-FR", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["05/03/2024", "14:07:09", "05/03/2024 14:07:09", "mardi 5 mars 2024", "5 mars 2024", "5 mars 2024", "05/03/2024", "14:07:09 temps universel coordonn\u00e9", "14:07:09 UTC", "14:07:09", "14:07", "5 mars 2024, 14:07", "mardi 5 mars 2024 \u00e0 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("es-ES"), d.toLocaleTimeString("es-ES"), d.toLocaleString("es-ES"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("es-ES", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("es-ES", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("es-ES", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("es-ES", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["5/3/2024", "14:07:09", "5/3/2024, 14:07:09", "martes, 5 de marzo de 2024", "5 de marzo de 2024", "5 mar 2024", "5/3/24", "14:07:09 (tiempo universal coordinado)", "14:07:09 UTC", "14:07:09", "14:07", "5 mar 2024, 14:07", "martes, 5 de marzo de 2024, 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("it-IT"), d.toLocaleTimeString("it-IT"), d.toLocaleString("it-IT"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("it-IT", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("it-IT", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("it-IT", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("it-IT", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["05/03/2024", "14:07:09", "05/03/2024, 14:07:09", "marted\u00ec 5 marzo 2024", "5 marzo 2024", "5 mar 2024", "05/03/24", "14:07:09 Tempo coordinato universale", "14:07:09 UTC", "14:07:09", "14:07", "5 mar 2024, 14:07", "marted\u00ec 5 marzo 2024 alle ore 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9)); return [d.toLocaleDateString("nl-NL"), d.toLocaleTimeString("nl-NL"), d.toLocaleString("nl-NL"), ...["full", "long", "medium", "short"].map(s => d.toLocaleDateString("nl-NL", {dateStyle: s})), ...["full", "long", "medium", "short"].map(s => d.toLocaleTimeString("nl-NL", {timeStyle: s, timeZone: "UTC"})), new Intl.DateTimeFormat("nl-NL", {dateStyle: "medium", timeStyle: "short", timeZone: "UTC"}).format(d), new Intl.DateTimeFormat("nl-NL", {dateStyle: "full", timeStyle: "long"}).format(d)]; })()"#,
            r#"["5-3-2024", "14:07:09", "5-3-2024, 14:07:09", "dinsdag 5 maart 2024", "5 maart 2024", "5 mrt 2024", "05-03-2024", "14:07:09 geco\u00f6rdineerde wereldtijd", "14:07:09 UTC", "14:07:09", "14:07", "5 mrt 2024, 14:07", "dinsdag 5 maart 2024 om 14:07:09 UTC"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("en-US", o)); })()"#,
            r#"["March 5, 2024", "Mar 5, 2024", "Tuesday, March 5, 2024", "Tue, Mar 5, 2024", "03/05/2024", "March", "Tuesday", "March 2024", "Mar 5", "04:07 AM", "4:07 AM", "04:07", "2024", "3/5/2024, 4:07 AM"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("en-GB", o)); })()"#,
            r#"["5 March 2024", "5 Mar 2024", "Tuesday, 5 March 2024", "Tue, 5 Mar 2024", "05/03/2024", "March", "Tuesday", "March 2024", "5 Mar", "04:07", "4:07 am", "4:07", "2024", "05/03/2024, 04:07"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("de-DE", o)); })()"#,
            r#"["5. M\u00e4rz 2024", "5. M\u00e4rz 2024", "Dienstag, 5. M\u00e4rz 2024", "Di., 5. M\u00e4rz 2024", "05.03.2024", "M\u00e4rz", "Dienstag", "M\u00e4rz 2024", "5. M\u00e4rz", "04:07", "4:07 AM", "4:07", "2024", "5.3.2024, 04:07"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("fr-FR", o)); })()"#,
            r#"["5 mars 2024", "5 mars 2024", "mardi 5 mars 2024", "mar. 5 mars 2024", "05/03/2024", "mars", "mardi", "mars 2024", "5 mars", "04:07", "4:07 AM", "4:07", "2024", "05/03/2024 04:07"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("es-ES", o)); })()"#,
            r#"["5 de marzo de 2024", "5 mar 2024", "martes, 5 de marzo de 2024", "mar, 5 mar 2024", "05/03/2024", "marzo", "martes", "marzo de 2024", "5 mar", "04:07", "4:07 a. m.", "4:07", "2024", "5/3/2024, 4:07"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("it-IT", o)); })()"#,
            r#"["5 marzo 2024", "5 mar 2024", "marted\u00ec 5 marzo 2024", "mar 5 mar 2024", "05/03/2024", "marzo", "marted\u00ec", "marzo 2024", "5 mar", "04:07", "4:07 AM", "4:07", "2024", "05/03/2024, 04:07"]"#,
        ),
        (
            r#"(() => { const d = new Date(Date.UTC(2024, 2, 5, 4, 7, 9)); return [{year: "numeric", month: "long", day: "numeric"}, {year: "numeric", month: "short", day: "numeric"}, {weekday: "long", year: "numeric", month: "long", day: "numeric"}, {weekday: "short", year: "numeric", month: "short", day: "numeric"}, {year: "numeric", month: "2-digit", day: "2-digit"}, {month: "long"}, {weekday: "long"}, {month: "long", year: "numeric"}, {month: "short", day: "numeric"}, {hour: "2-digit", minute: "2-digit"}, {hour: "numeric", minute: "2-digit", hour12: true}, {hour: "numeric", minute: "2-digit", hour12: false}, {year: "numeric"}, {year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric"}].map(o => d.toLocaleString("nl-NL", o)); })()"#,
            r#"["5 maart 2024", "5 mrt 2024", "dinsdag 5 maart 2024", "di 5 mrt 2024", "05-03-2024", "maart", "dinsdag", "maart 2024", "5 mrt", "04:07", "4:07 a.m.", "4:07", "2024", "5-3-2024, 04:07"]"#,
        ),
        (r#"new Date(Date.UTC(2024, 11, 31, 23, 59, 59)).toLocaleString()"#, r#""12/31/2024, 11:59:59 PM""#),
        (r#"new Date(Date.UTC(2024, 0, 1, 0, 0, 0)).toLocaleTimeString("en-US")"#, r#""12:00:00 AM""#),
        (r#"new Date(Date.UTC(2024, 0, 1, 12, 0, 0)).toLocaleTimeString("en-US")"#, r#""12:00:00 PM""#),
        (r#"new Intl.DateTimeFormat("en-US").format(Date.UTC(2020, 1, 29))"#, r#""2/29/2020""#),
        (
            r#"new Intl.DateTimeFormat("de-DE", {dateStyle: "long"}).format(new Date(Date.UTC(1999, 11, 31)))"#,
            r#""31. Dezember 1999""#,
        ),
        (r#"new Date(NaN).toLocaleString()"#, r#""Invalid Date""#),
        (
            r#"new Date(Date.UTC(2024, 2, 5)).toLocaleDateString("en-US", {timeZone: "UTC", year: "2-digit", month: "2-digit", day: "2-digit"})"#,
            r#""03/05/24""#,
        ),
        (
            r#"(() => { try { new Intl.DateTimeFormat("en-US").format(new Date(NaN)); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["RangeError", "Invalid time value", null, false, true]"#,
        ),
        (
            r#"(() => { try { new Intl.DateTimeFormat("en-US", {timeZone: "Mars/Olympus"}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["RangeError", "Invalid time zone specified: Mars/Olympus", null, false, true]"#,
        ),
        (
            r#"(() => { try { new Intl.DateTimeFormat("en-US", {dateStyle: "long", month: "long"}); return 'no error'; } catch (e) { return [e.name, e.message, e.code, e instanceof DOMException, e instanceof Error]; } })()"#,
            r#"["TypeError", "Can't set option month when dateStyle is used", null, false, true]"#,
        ),
        (r#"new Intl.DateTimeFormat("en-US", {timeZone: "UTC"}).resolvedOptions().timeZone"#, r#""UTC""#),
    ]);
}

/// localeCompare and Intl.Collator: base letters first, then accents, then case; numeric.
#[test]
fn locale_compare() {
    check(&[
        (r#""a".localeCompare("b")"#, r#"-1"#),
        (r#""b".localeCompare("a")"#, r#"1"#),
        (r#""a".localeCompare("a")"#, r#"0"#),
        (r#""a".localeCompare("B")"#, r#"-1"#),
        (r#""a".localeCompare("A")"#, r#"-1"#),
        (r#""résumé".localeCompare("resume")"#, r#"1"#),
        (r#""résumé".localeCompare("resume", "en", {sensitivity: "base"})"#, r#"0"#),
        (r#""a".localeCompare("A", "en", {sensitivity: "base"})"#, r#"0"#),
        (r#""a".localeCompare("á", "en", {sensitivity: "base"})"#, r#"0"#),
        (r#""a".localeCompare("á", "en", {sensitivity: "accent"})"#, r#"-1"#),
        (r#""a".localeCompare("A", "en", {sensitivity: "accent"})"#, r#"0"#),
        (r#""a".localeCompare("A", "en", {sensitivity: "case"})"#, r#"-1"#),
        (r#""a".localeCompare("á", "en", {sensitivity: "case"})"#, r#"0"#),
        (r#""a10".localeCompare("a2")"#, r#"-1"#),
        (r#""a10".localeCompare("a2", undefined, {numeric: true})"#, r#"1"#),
        (r#""item 007".localeCompare("item 7", "en", {numeric: true})"#, r#"0"#),
        (
            r#"["b", "a", "C", "á", "A", "c"].sort((x, y) => x.localeCompare(y))"#,
            r#"["a", "A", "\u00e1", "b", "c", "C"]"#,
        ),
        (
            r#"["z10", "z9", "z1", "Z2"].sort(new Intl.Collator("en", {numeric: true}).compare)"#,
            r#"["z1", "Z2", "z9", "z10"]"#,
        ),
        (
            r#"["Äpfel", "Zebra", "apfel", "Ähre"].sort(new Intl.Collator("de-DE").compare)"#,
            r#"["\u00c4hre", "apfel", "\u00c4pfel", "Zebra"]"#,
        ),
        (r#"["ñu", "nube", "oso"].sort(new Intl.Collator("es-ES").compare)"#, r#"["nube", "\u00f1u", "oso"]"#),
        (r#"["ñu", "nube", "oso"].sort(new Intl.Collator("en-US").compare)"#, r#"["\u00f1u", "nube", "oso"]"#),
        (r#""a b".localeCompare("ab")"#, r#"-1"#),
        (r#""1".localeCompare("a")"#, r#"-1"#),
        (r#""a".localeCompare("A", "en", {caseFirst: "upper"})"#, r#"1"#),
        (r#""".localeCompare("a")"#, r#"-1"#),
    ]);
}

/// Non-ISO forms Node's Date reads; ISO stays boa's. The guest's local time zone is UTC.
#[test]
fn lenient_date_parsing() {
    check(&[
        (
            r#"(() => { const t = Date.parse('2024-03-15 10:30:00Z'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15 10:30:00Z').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15 10:30:00'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15 10:30:00').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15T10:30:00'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15T10:30:00').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('March 15, 2024 10:30:00 UTC'); return [t, Number.isNaN(t) ? null : new Date('March 15, 2024 10:30:00 UTC').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024/03/15'); return [t, Number.isNaN(t) ? null : new Date('2024/03/15').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('15 Mar 2024'); return [t, Number.isNaN(t) ? null : new Date('15 Mar 2024').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Fri, 15 Mar 2024 10:30:00 GMT'); return [t, Number.isNaN(t) ? null : new Date('Fri, 15 Mar 2024 10:30:00 GMT').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Fri, 15 Mar 2024 10:30:00 +0100'); return [t, Number.isNaN(t) ? null : new Date('Fri, 15 Mar 2024 10:30:00 +0100').toISOString()]; })()"#,
            r#"[1710495000000, "2024-03-15T09:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Mar 15 2024'); return [t, Number.isNaN(t) ? null : new Date('Mar 15 2024').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('3/15/2024'); return [t, Number.isNaN(t) ? null : new Date('3/15/2024').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('03/15/2024 14:05'); return [t, Number.isNaN(t) ? null : new Date('03/15/2024 14:05').toISOString()]; })()"#,
            r#"[1710511500000, "2024-03-15T14:05:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024/3/5 7:08:09'); return [t, Number.isNaN(t) ? null : new Date('2024/3/5 7:08:09').toISOString()]; })()"#,
            r#"[1709622489000, "2024-03-05T07:08:09.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('March 15, 2024'); return [t, Number.isNaN(t) ? null : new Date('March 15, 2024').toISOString()]; })()"#,
            r#"[1710460800000, "2024-03-15T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('15 March 2024 10:30'); return [t, Number.isNaN(t) ? null : new Date('15 March 2024 10:30').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Fri Mar 15 2024 10:30:00 GMT+0000 (Coordinated Universal Time)'); return [t, Number.isNaN(t) ? null : new Date('Fri Mar 15 2024 10:30:00 GMT+0000 (Coordinated Universal Time)').toISOString()]; })()"#,
            r#"[1710498600000, "2024-03-15T10:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15 10:30:00.250Z'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15 10:30:00.250Z').toISOString()]; })()"#,
            r#"[1710498600250, "2024-03-15T10:30:00.250Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15 10:30:00+02:00'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15 10:30:00+02:00').toISOString()]; })()"#,
            r#"[1710491400000, "2024-03-15T08:30:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('December 25, 2023 11:59 PM'); return [t, Number.isNaN(t) ? null : new Date('December 25, 2023 11:59 PM').toISOString()]; })()"#,
            r#"[1703548740000, "2023-12-25T23:59:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Dec 25, 2023 12:00 AM'); return [t, Number.isNaN(t) ? null : new Date('Dec 25, 2023 12:00 AM').toISOString()]; })()"#,
            r#"[1703462400000, "2023-12-25T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('hello'); return [t, Number.isNaN(t) ? null : new Date('hello').toISOString()]; })()"#,
            r#"[null, null]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-13-01 10:00'); return [t, Number.isNaN(t) ? null : new Date('2024-13-01 10:00').toISOString()]; })()"#,
            r#"[null, null]"#,
        ),
        (
            r#"(() => { const t = Date.parse('Feb 30 2024'); return [t, Number.isNaN(t) ? null : new Date('Feb 30 2024').toISOString()]; })()"#,
            r#"[1709251200000, "2024-03-01T00:00:00.000Z"]"#,
        ),
        (
            r#"(() => { const t = Date.parse('15 Foo 2024'); return [t, Number.isNaN(t) ? null : new Date('15 Foo 2024').toISOString()]; })()"#,
            r#"[null, null]"#,
        ),
        (
            r#"(() => { const t = Date.parse('2024-03-15 25:00'); return [t, Number.isNaN(t) ? null : new Date('2024-03-15 25:00').toISOString()]; })()"#,
            r#"[null, null]"#,
        ),
        (
            r#"(() => { const t = Date.parse('March 15, 2024 10:30:00 GMT+0530'); return [t, Number.isNaN(t) ? null : new Date('March 15, 2024 10:30:00 GMT+0530').toISOString()]; })()"#,
            r#"[1710478800000, "2024-03-15T05:00:00.000Z"]"#,
        ),
        (r#"new Date("nope").getTime()"#, r#"null"#),
        (r#"new Date(2024, 0, 2).toISOString()"#, r#""2024-01-02T00:00:00.000Z""#),
        (r#"new Date(0) instanceof Date"#, r#"true"#),
        (r#"typeof Date()"#, r#""string""#),
        (r#"Date.length"#, r#"7"#),
        (
            r#"(() => { class D extends Date {} const d = new D("15 Mar 2024"); return [d instanceof D, d instanceof Date, d.getTime()]; })()"#,
            r#"[true, true, 1710460800000]"#,
        ),
        (r#"new Date("2024-03-15").constructor === Date"#, r#"true"#),
        (r#"Date.UTC(2024, 2, 15)"#, r#"1710460800000"#),
        (r#"typeof Date.now()"#, r#""number""#),
        (r#"new Date(new Date(5)).getTime()"#, r#"5"#),
    ]);
}

/// Node's web globals are non-enumerable and writable (here they stay accessors, see `mod.rs`).
#[test]
fn globals_are_hidden_and_replaceable() {
    check(&[
        ("Object.getOwnPropertyDescriptor(globalThis, 'URL').enumerable", "false"),
        ("(() => { URL = 5; return URL; })()", "5"),
        ("typeof Object.getOwnPropertyDescriptor(globalThis, 'atob').value", r#""undefined""#),
    ]);
}

/// The wide sweep `node_sweep.py` recorded from Node: 49 numbers under seven option sets,
/// five dates under ten option sets, each in every locale; 22 date strings; collation of 31
/// strings under five option sets in four locales.
#[test]
fn node_sweep() {
    let recorded: Vec<(String, Value)> =
        serde_json::from_str(include_str!("node_sweep.json")).expect("the sweep is JSON");
    let cases: Vec<(&str, String)> =
        recorded.iter().map(|(expression, value)| (expression.as_str(), value.to_string())).collect();
    let cases: Vec<(&str, &str)> = cases.iter().map(|(expression, value)| (*expression, value.as_str())).collect();
    check(&cases);
}
