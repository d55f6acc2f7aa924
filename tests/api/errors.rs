//! Authentication failures and malformed requests: the error envelope with
//! the status SPEC section 4 names.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::json;

use crate::flows;
use crate::harness::{Resp, scratch_dir, shared, token_for};

fn get_with_authorization(value: Option<&str>) -> Resp {
    let mut request = shared().request(Method::GET, "/v1/blocks", None);
    if let Some(value) = value {
        request = request.header(AUTHORIZATION, value);
    }
    Resp::from(request.send())
}

#[test]
fn no_token_is_401() {
    get_with_authorization(None).expect_error(401, "unauthorized");
    let server = shared();
    let response = Resp::from(server.request(Method::POST, "/v1/workflows/execute", None).json(&json!({})).send());
    response.expect_error(401, "unauthorized");
}

#[test]
fn a_malformed_token_is_401() {
    for header in ["Bearer not-a-jwt", "Bearer a.b.c", "Bearer ", "Basic dXNlcjpwYXNz", "garbage"] {
        let response = get_with_authorization(Some(header));
        assert_eq!(response.status, 401, "{header}: {}", response.text);
        response.expect_error(401, "unauthorized");
    }
    // A real token with its signature altered.
    let token = shared().token("err-tampered");
    let (head, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    get_with_authorization(Some(&format!("Bearer {tampered}"))).expect_error(401, "unauthorized");
}

#[test]
fn an_expired_token_is_401() {
    let server = shared();
    let token = server.token_ttl("err-expired", "1s");
    // `exp` is checked with 5 s of leeway for clock skew.
    std::thread::sleep(Duration::from_secs(8));
    server.get("/v1/blocks", &token).expect_error(401, "unauthorized");
}

#[test]
fn a_token_signed_by_another_server_is_401() {
    let other = scratch_dir("other-secret");
    let token = token_for(&other, "err-foreign", None, None);
    shared().get("/v1/blocks", &token).expect_error(401, "unauthorized");
    let _ = std::fs::remove_dir_all(other);
}

#[test]
fn a_missing_scope_is_403() {
    let server = shared();
    let reader = server.token_scoped("err-scope", "workflows:read");
    server
        .post("/v1/workflows", &reader, &json!({"id": "w", "name": "W", "state": flows::function("return 1;")}))
        .expect_error(403, "forbidden");
    server.execute(&reader, &flows::inline("w", flows::function("return 1;"))).expect_error(403, "forbidden");
    server.post("/v1/executions/any/cancel", &reader, &json!({})).expect_error(403, "forbidden");
    let executor = server.token_scoped("err-scope", "workflows:execute");
    server.get("/v1/workflows/w", &executor).expect_error(403, "forbidden");
    server.get("/v1/blocks", &executor).expect_error(403, "forbidden");
    // The scope that is there is enough.
    server.get("/v1/blocks", &reader).expect(200);
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let server = shared();
    let token = server.token("err-content-type");
    let body = json!({"id": "w", "name": "W", "state": flows::function("return 1;")}).to_string();
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = server.request(Method::POST, "/v1/workflows", Some(&token)).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        Resp::from(request.send()).expect_error(415, "unsupported_media_type");
    }
    server.get("/v1/workflows/w", &token).expect_error(404, "not_found");
}

#[test]
fn malformed_json_is_400() {
    let server = shared();
    let token = server.token("err-bad-json");
    let request = server
        .request(Method::POST, "/v1/workflows/execute", Some(&token))
        .header(CONTENT_TYPE, "application/json")
        .body("{\"workflowId\": ");
    Resp::from(request.send()).expect_error(400, "bad_request");
}

#[test]
fn a_body_over_4_mib_is_413() {
    let server = shared();
    let token = server.token("err-too-large");
    let filler = "x".repeat(4 << 20);
    let body = json!({"workflowId": "big", "options": {"input": {"filler": filler}}}).to_string();
    assert!(body.len() > 4 << 20);
    let request = server
        .request(Method::POST, "/v1/workflows/execute", Some(&token))
        .header(CONTENT_TYPE, "application/json")
        .body(body);
    Resp::from(request.send()).expect_error(413, "payload_too_large");
    // The server goes on answering.
    server.get("/v1/blocks", &token).expect(200);
}

#[test]
fn an_unknown_route_is_a_404_envelope() {
    let server = shared();
    let token = server.token("err-route");
    server.get("/v1/nothing", &token).expect_error(404, "not_found");
    server.get("/v2/workflows/x", &token).expect_error(404, "not_found");
    Resp::from(server.request(Method::GET, "/no/such/page", None).send()).expect_error(404, "not_found");
}

/// Checks the envelope without pinning the code.
#[track_caller]
fn assert_envelope(response: &Resp) {
    assert_eq!(response.json["success"], false, "not the error envelope: {:?} {}", response.headers, response.text);
    assert!(response.json["error"].is_string(), "{}", response.text);
    assert!(response.json["code"].as_str().is_some_and(|c| !c.is_empty()), "{}", response.text);
}

#[test]
fn a_wrong_method_is_405_in_the_envelope() {
    let server = shared();
    let token = server.token("err-method");
    let response = Resp::from(server.request(Method::DELETE, "/v1/blocks", Some(&token)).send());
    assert_eq!(response.status, 405, "{}", response.text);
    assert_envelope(&response);
    let response = Resp::from(server.request(Method::PATCH, "/v1/workflows/x", Some(&token)).send());
    assert_eq!(response.status, 405, "{}", response.text);
    assert_envelope(&response);
}

#[test]
fn a_path_id_that_is_not_utf8_is_answered_in_the_envelope() {
    let server = shared();
    let token = server.token("err-path");
    for path in ["/v1/workflows/%FF", "/v1/executions/%C3%28"] {
        let response = Resp::from(server.request(Method::GET, path, Some(&token)).send());
        assert!(matches!(response.status, 400 | 404), "{path}: {} {}", response.status, response.text);
        assert_envelope(&response);
    }
}

#[test]
fn json_with_a_charset_is_json() {
    let server = shared();
    let token = server.token("err-charset");
    let body = json!({"workflowId": "charset", "workflow": flows::function("return 'ok';")}).to_string();
    let request = server
        .request(Method::POST, "/v1/workflows/execute", Some(&token))
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .body(body);
    assert_eq!(Resp::from(request.send()).expect(200)["output"]["f"]["result"], "ok");
}
