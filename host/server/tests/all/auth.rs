//! Bearer-token authentication and scopes (SPEC §5), with real HS256, RS256 and EdDSA tokens.
//!
//! The RSA and Ed25519 keys under `tests/keys/` were made once with `openssl genpkey` and
//! are test fixtures only.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sandflow_server::auth::{
    AuthConfig, AuthError, CLOCK_LEEWAY_SECS, Principal, Scope, SigningSecret, Verifier, issue_token, parse_bearer,
    parse_ttl, validate_tenant,
};
use serde_json::{Value, json};

const SECRET: &[u8] = b"a-test-secret-of-more-than-32-bytes-long";

fn key(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/keys").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// Valid claims for tenant `acme`, changed by `edit`.
fn claims(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut claims = json!({
        "sub": "alice",
        "tenant": "acme",
        "scope": "workflows:read workflows:execute",
        "exp": now() + 600,
    });
    edit(claims.as_object_mut().unwrap());
    claims
}

fn valid_claims() -> Value {
    claims(|_| {})
}

fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET).unwrap(), claims)
}

fn rs256(claims: &Value) -> String {
    sign(Algorithm::RS256, &EncodingKey::from_rsa_pem(&key("rsa-private.pem")).unwrap(), claims)
}

fn eddsa(claims: &Value) -> String {
    sign(Algorithm::EdDSA, &EncodingKey::from_ed_pem(&key("ed25519-private.pem")).unwrap(), claims)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn hs_only() -> Verifier {
    Verifier::new(AuthConfig::new(SECRET)).unwrap()
}

fn all_algorithms() -> Verifier {
    Verifier::new(
        AuthConfig::new(SECRET)
            .with_rs256_public_key_pem(key("rsa-public.pem"))
            .with_eddsa_public_key_pem(key("ed25519-public.pem")),
    )
    .unwrap()
}

/// Asserts a 401 with exactly `expected`.
fn assert_unauthorized(result: Result<Principal, AuthError>, expected: AuthError) {
    let error = result.expect_err("token should have been refused");
    assert_eq!(error, expected);
    assert_eq!(error.status(), 401, "{error}");
    assert_eq!(error.code(), "unauthorized");
}

#[test]
fn valid_hs256_token_gives_subject_tenant_and_scopes() {
    let principal = hs_only().verify(&hs256(&valid_claims())).unwrap();
    assert_eq!(principal.subject, "alice");
    assert_eq!(principal.tenant, "acme");
    assert_eq!(principal.scopes.into_iter().collect::<Vec<_>>(), [Scope::WorkflowsRead, Scope::WorkflowsExecute]);
}

#[test]
fn issued_token_is_accepted_and_carries_iat_nbf_exp() {
    let before = now();
    let token = issue_token(
        SECRET,
        "acme",
        "cli",
        &[Scope::BlocksWrite, Scope::WorkflowsRead, Scope::WorkflowsRead],
        Duration::from_secs(3600),
        Some("sandflow"),
        Some("sandflow-api"),
    )
    .unwrap();
    let verifier =
        Verifier::new(AuthConfig::new(SECRET).with_issuer("sandflow").with_audience("sandflow-api")).unwrap();
    let principal = verifier.verify(&token).unwrap();
    assert_eq!((principal.subject.as_str(), principal.tenant.as_str()), ("cli", "acme"));
    assert_eq!(principal.scopes.into_iter().collect::<Vec<_>>(), [Scope::WorkflowsRead, Scope::BlocksWrite]);

    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(&token).unwrap();
    let (iat, nbf, exp) =
        (claims["iat"].as_u64().unwrap(), claims["nbf"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
    assert!(iat >= before && iat <= now(), "iat {iat}");
    assert_eq!(nbf, iat);
    assert_eq!(exp, iat + 3600);
    assert_eq!(claims["scope"], "workflows:read blocks:write");
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::HS256);
}

#[test]
fn issue_token_refuses_bad_tenant_short_secret_empty_subject_and_zero_ttl() {
    let hour = Duration::from_secs(3600);
    let all = &Scope::ALL;
    assert_eq!(issue_token(SECRET, "a/b", "cli", all, hour, None, None), Err(AuthError::InvalidTenant));
    assert_eq!(issue_token(SECRET, "", "cli", all, hour, None, None), Err(AuthError::InvalidTenant));
    for result in [
        issue_token(&SECRET[..31], "acme", "cli", all, hour, None, None),
        issue_token(SECRET, "acme", "", all, hour, None, None),
        issue_token(SECRET, "acme", "cli", all, Duration::from_millis(900), None, None),
        issue_token(SECRET, "acme", "cli", all, Duration::from_secs(u64::MAX), None, None),
    ] {
        let error = result.expect_err("should not issue");
        assert!(matches!(error, AuthError::Issue(_)), "{error:?}");
        assert_eq!(error.status(), 500);
    }
}

#[test]
fn alg_none_token_is_refused() {
    let payload = b64(&valid_claims());
    for alg in ["none", "None", "NONE"] {
        let token = format!("{}.{payload}.", b64(&json!({"alg": alg, "typ": "JWT"})));
        assert_unauthorized(all_algorithms().verify(&token), AuthError::AlgorithmNone);
    }
    assert_eq!(AuthError::AlgorithmNone.to_string(), "algorithm none is not accepted");
}

#[test]
fn hs256_signed_with_the_rsa_public_pem_is_refused_when_rs256_is_configured() {
    // The classic algorithm-confusion attack: the RSA public key is public, so an attacker
    // can HMAC-sign with its PEM bytes and hope the server verifies HS256 with "the key".
    let forged = sign(Algorithm::HS256, &EncodingKey::from_secret(&key("rsa-public.pem")).unwrap(), &valid_claims());
    assert_unauthorized(all_algorithms().verify(&forged), AuthError::InvalidSignature);
    // The same with the DER inside the PEM, in case a verifier keeps the key decoded.
    let pem = String::from_utf8(key("rsa-public.pem")).unwrap();
    let der_b64: String = pem.lines().filter(|line| !line.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(der_b64).unwrap();
    let forged = sign(Algorithm::HS256, &EncodingKey::from_secret(&der).unwrap(), &valid_claims());
    assert_unauthorized(all_algorithms().verify(&forged), AuthError::InvalidSignature);
}

#[test]
fn rs256_token_is_accepted_when_configured() {
    let principal = all_algorithms().verify(&rs256(&valid_claims())).unwrap();
    assert_eq!(principal.tenant, "acme");
    assert!(principal.has(Scope::WorkflowsExecute));
}

#[test]
fn rs256_token_is_refused_when_not_configured() {
    assert_unauthorized(hs_only().verify(&rs256(&valid_claims())), AuthError::AlgorithmNotAccepted("RS256".into()));
}

#[test]
fn eddsa_token_is_accepted_when_configured_and_refused_when_not() {
    let token = eddsa(&valid_claims());
    assert_eq!(all_algorithms().verify(&token).unwrap().subject, "alice");
    assert_unauthorized(hs_only().verify(&token), AuthError::AlgorithmNotAccepted("EdDSA".into()));
}

#[test]
fn other_algorithms_are_refused_even_with_the_right_secret() {
    let key = EncodingKey::from_secret(SECRET).unwrap();
    for (alg, name) in [(Algorithm::HS384, "HS384"), (Algorithm::HS512, "HS512")] {
        assert_unauthorized(
            all_algorithms().verify(&sign(alg, &key, &valid_claims())),
            AuthError::AlgorithmNotAccepted(name.into()),
        );
    }
    let token = format!("{}.{}.c2ln", b64(&json!({"alg": "XX<script>"})), b64(&valid_claims()));
    let error = hs_only().verify(&token).unwrap_err();
    assert_eq!(error, AuthError::AlgorithmNotAccepted("(unrecognised)".into()));
}

#[test]
fn token_signed_with_another_key_or_tampered_is_refused() {
    let other = EncodingKey::from_secret(b"another-secret-of-more-than-32-bytes!!").unwrap();
    assert_unauthorized(
        hs_only().verify(&sign(Algorithm::HS256, &other, &valid_claims())),
        AuthError::InvalidSignature,
    );

    // A genuine token whose claims were swapped for another tenant's.
    let genuine = hs256(&valid_claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    let evil = claims(|c| {
        c.insert("tenant".into(), json!("victim"));
    });
    let tampered = format!("{}.{}.{}", parts[0], b64(&evil), parts[2]);
    assert_unauthorized(hs_only().verify(&tampered), AuthError::InvalidSignature);

    // An RS256 token signed by some other RSA key: the Ed25519 one cannot, so reuse the
    // signature of a different message instead.
    let rs = rs256(&valid_claims());
    let rs_parts: Vec<&str> = rs.split('.').collect();
    let spliced = format!("{}.{}.{}", rs_parts[0], b64(&evil), rs_parts[2]);
    assert_unauthorized(all_algorithms().verify(&spliced), AuthError::InvalidSignature);

    let error = AuthError::InvalidSignature.to_string();
    assert_eq!(error, "token signature is invalid");
    assert!(!error.contains(std::str::from_utf8(SECRET).unwrap()));
}

#[test]
fn expired_token_is_refused() {
    let expired = claims(|c| {
        c.insert("exp".into(), json!(now() - CLOCK_LEEWAY_SECS - 2));
    });
    assert_unauthorized(hs_only().verify(&hs256(&expired)), AuthError::Expired);
    assert_eq!(AuthError::Expired.to_string(), "token expired");
}

#[test]
fn exp_just_past_within_the_clock_leeway_is_accepted() {
    let just_past = claims(|c| {
        c.insert("exp".into(), json!(now() - 2));
    });
    assert!(hs_only().verify(&hs256(&just_past)).is_ok());
}

#[test]
fn token_without_exp_is_refused() {
    let no_exp = claims(|c| {
        c.remove("exp");
    });
    assert_unauthorized(hs_only().verify(&hs256(&no_exp)), AuthError::MissingClaim("exp"));
    let string_exp = claims(|c| {
        c.insert("exp".into(), json!("tomorrow"));
    });
    // jsonwebtoken counts an exp that is not a number as absent.
    assert_unauthorized(hs_only().verify(&hs256(&string_exp)), AuthError::MissingClaim("exp"));
}

#[test]
fn nbf_in_the_future_is_refused() {
    let early = claims(|c| {
        c.insert("nbf".into(), json!(now() + 120));
    });
    assert_unauthorized(hs_only().verify(&hs256(&early)), AuthError::NotYetValid);
    let string_nbf = claims(|c| {
        c.insert("nbf".into(), json!("later"));
    });
    assert_unauthorized(hs_only().verify(&hs256(&string_nbf)), AuthError::MalformedClaim("nbf"));
    let started = claims(|c| {
        c.insert("nbf".into(), json!(now() - 1));
    });
    assert!(hs_only().verify(&hs256(&started)).is_ok());
}

#[test]
fn wrong_or_missing_issuer_is_refused_when_configured() {
    let verifier = Verifier::new(AuthConfig::new(SECRET).with_issuer("https://idp.example")).unwrap();
    let with_iss = |iss: &str| {
        hs256(&claims(|c| {
            c.insert("iss".into(), json!(iss));
        }))
    };
    assert!(verifier.verify(&with_iss("https://idp.example")).is_ok());
    assert_unauthorized(verifier.verify(&with_iss("https://evil.example")), AuthError::WrongIssuer);
    assert_unauthorized(verifier.verify(&hs256(&valid_claims())), AuthError::MissingClaim("iss"));
}

#[test]
fn wrong_or_missing_audience_is_refused_when_configured() {
    let verifier = Verifier::new(AuthConfig::new(SECRET).with_audience("sandflow")).unwrap();
    let with_aud = |aud: Value| {
        hs256(&claims(|c| {
            c.insert("aud".into(), aud);
        }))
    };
    assert!(verifier.verify(&with_aud(json!("sandflow"))).is_ok());
    assert!(verifier.verify(&with_aud(json!(["billing", "sandflow"]))).is_ok());
    assert_unauthorized(verifier.verify(&with_aud(json!("billing"))), AuthError::WrongAudience);
    assert_unauthorized(verifier.verify(&with_aud(json!(["billing"]))), AuthError::WrongAudience);
    assert_unauthorized(verifier.verify(&hs256(&valid_claims())), AuthError::MissingClaim("aud"));
}

#[test]
fn token_for_another_audience_is_refused_when_none_is_configured() {
    let for_billing = claims(|c| {
        c.insert("aud".into(), json!("billing"));
    });
    assert_unauthorized(hs_only().verify(&hs256(&for_billing)), AuthError::WrongAudience);
}

#[test]
fn token_without_tenant_or_subject_is_refused() {
    let no_tenant = claims(|c| {
        c.remove("tenant");
    });
    assert_unauthorized(hs_only().verify(&hs256(&no_tenant)), AuthError::MissingClaim("tenant"));
    let empty_tenant = claims(|c| {
        c.insert("tenant".into(), json!(""));
    });
    assert_unauthorized(hs_only().verify(&hs256(&empty_tenant)), AuthError::MissingClaim("tenant"));
    let number_tenant = claims(|c| {
        c.insert("tenant".into(), json!(42));
    });
    assert_unauthorized(hs_only().verify(&hs256(&number_tenant)), AuthError::MalformedToken);
    let no_sub = claims(|c| {
        c.remove("sub");
    });
    assert_unauthorized(hs_only().verify(&hs256(&no_sub)), AuthError::MissingClaim("sub"));
}

#[test]
fn tenant_with_characters_outside_the_alphabet_or_too_long_is_refused() {
    let long = "t".repeat(129);
    for tenant in ["acme/other", "a b", "../x", "..", ".", "café", "acme\n", "a:b", long.as_str()] {
        let token = hs256(&claims(|c| {
            c.insert("tenant".into(), json!(tenant));
        }));
        assert_unauthorized(hs_only().verify(&token), AuthError::InvalidTenant);
    }
    for tenant in ["Acme-corp_1.eu", "t".repeat(128).as_str(), "a..b"] {
        assert_eq!(validate_tenant(tenant), Ok(()), "{tenant:?}");
        let token = hs256(&claims(|c| {
            c.insert("tenant".into(), json!(tenant));
        }));
        assert_eq!(hs_only().verify(&token).unwrap().tenant, tenant);
    }
}

#[test]
fn missing_scope_is_forbidden() {
    let principal = hs_only().verify(&hs256(&valid_claims())).unwrap();
    assert_eq!(principal.require(Scope::WorkflowsRead), Ok(()));
    let error = principal.require(Scope::WorkflowsWrite).unwrap_err();
    assert_eq!(error, AuthError::MissingScope(Scope::WorkflowsWrite));
    assert_eq!(error.status(), 403);
    assert_eq!(error.code(), "forbidden");
    assert_eq!(error.to_string(), "token lacks scope workflows:write");
    assert!(principal.require(Scope::BlocksWrite).is_err());
}

#[test]
fn unknown_scopes_are_ignored() {
    let token = hs256(&claims(|c| {
        c.insert("scope".into(), json!("admin  workflows:read\tWORKFLOWS:WRITE openid blocks:write"));
    }));
    let principal = hs_only().verify(&token).unwrap();
    assert_eq!(principal.scopes.into_iter().collect::<Vec<_>>(), [Scope::WorkflowsRead, Scope::BlocksWrite]);
    let no_scope = hs256(&claims(|c| {
        c.remove("scope");
    }));
    assert!(hs_only().verify(&no_scope).unwrap().scopes.is_empty());
}

#[test]
fn scope_names_parse_strictly_and_round_trip() {
    for scope in Scope::ALL {
        assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        assert_eq!(scope.to_string(), scope.as_str());
        assert_eq!(serde_json::to_value(scope).unwrap(), json!(scope.as_str()));
    }
    let error = "workflow:read".parse::<Scope>().unwrap_err();
    assert!(error.contains("workflow:read") && error.contains("workflows:read"), "{error}");
}

#[test]
fn malformed_tokens_are_refused() {
    let good = hs256(&valid_claims());
    let cases = [
        String::new(),
        "abc".into(),
        "a.b".into(),
        format!("{good}.extra"),
        format!("!!!.{}", &good[good.find('.').unwrap() + 1..]),
        format!("{}.{}.sig", b64(&json!(["HS256"])), b64(&valid_claims())),
        format!("{}.{}.sig", b64(&json!({"typ": "JWT"})), b64(&valid_claims())),
        "x".repeat(20_000),
    ];
    for token in cases {
        assert_unauthorized(hs_only().verify(&token), AuthError::MalformedToken);
    }
}

#[test]
fn bearer_header_is_parsed() {
    assert_eq!(parse_bearer("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
    assert_eq!(parse_bearer("bearer abc"), Ok("abc"));
    assert_eq!(parse_bearer("  BEARER   abc  "), Ok("abc"));
    assert_eq!(parse_bearer(""), Err(AuthError::MissingToken));
    assert_eq!(parse_bearer("   "), Err(AuthError::MissingToken));
    for bad in ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearerabc", "Bearer a b", "Token abc"] {
        let error = parse_bearer(bad).unwrap_err();
        assert_eq!(error, AuthError::MalformedHeader, "{bad:?}");
        assert_eq!(error.status(), 401);
    }
    assert_eq!(AuthError::MissingToken.status(), 401);
}

#[test]
fn verifier_refuses_unusable_configuration() {
    let config_error = |config: AuthConfig| {
        let error = Verifier::new(config).expect_err("config should be refused");
        assert!(matches!(error, AuthError::InvalidConfig(_)), "{error:?}");
        assert_eq!(error.status(), 500);
        error.to_string()
    };
    config_error(AuthConfig::new(&SECRET[..31]));
    config_error(AuthConfig::new(SECRET).with_rs256_public_key_pem(key("rsa-private.pem")));
    config_error(AuthConfig::new(SECRET).with_rs256_public_key_pem(key("ed25519-public.pem")));
    config_error(AuthConfig::new(SECRET).with_rs256_public_key_pem(b"not a pem".to_vec()));
    let small = config_error(AuthConfig::new(SECRET).with_rs256_public_key_pem(key("rsa1024-public.pem")));
    assert!(small.contains("2048"), "{small}");
    config_error(AuthConfig::new(SECRET).with_eddsa_public_key_pem(key("rsa-public.pem")));
    config_error(AuthConfig::new(SECRET).with_eddsa_public_key_pem(key("ed25519-private.pem")));
    // An Ed25519 SPKI whose key is cut short: must be an error, not a panic.
    let short = "-----BEGIN PUBLIC KEY-----\nMBowBQYDK2VwAxEAAQIDBAUGBwgJCgsMDQ4PEA==\n-----END PUBLIC KEY-----\n";
    config_error(AuthConfig::new(SECRET).with_eddsa_public_key_pem(short.as_bytes().to_vec()));
}

#[test]
fn auth_config_debug_does_not_show_the_secret() {
    let shown = format!("{:?}", AuthConfig::new(SECRET));
    assert!(!shown.contains("a-test-secret"), "{shown}");
    assert!(!shown.contains(&format!("{:?}", &SECRET[..4])), "{shown}");
}

#[test]
fn signing_secret_is_created_once_with_mode_0600_and_stable_across_loads() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let data_dir = root.path().join("nested/data");
    let first = SigningSecret::load_or_create(&data_dir).unwrap();
    assert!(first.len() >= 32);
    assert!(first.iter().any(|&b| b != 0));
    let path = data_dir.join(SigningSecret::FILE_NAME);
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&data_dir).unwrap().permissions().mode() & 0o077, 0);
    assert_eq!(SigningSecret::load_or_create(&data_dir).unwrap(), first);
    // Only the secret is left behind, no temporary file.
    let names: Vec<_> = std::fs::read_dir(&data_dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [SigningSecret::FILE_NAME]);

    let elsewhere = SigningSecret::load_or_create(&root.path().join("other")).unwrap();
    assert_ne!(elsewhere, first);

    // A token issued with the stored secret verifies after a "restart".
    let token = issue_token(&first, "acme", "cli", &Scope::ALL, Duration::from_secs(60), None, None).unwrap();
    let reloaded = SigningSecret::load_or_create(&data_dir).unwrap();
    assert!(Verifier::new(AuthConfig::new(reloaded)).unwrap().verify(&token).is_ok());
}

#[test]
fn signing_secret_that_is_short_or_not_hex_is_refused_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(SigningSecret::FILE_NAME);
    for contents in ["abcd\n", "not hex at all, but certainly longer than thirty-two bytes"] {
        std::fs::write(&path, contents).unwrap();
        let error = SigningSecret::load_or_create(dir.path()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), contents);
    }
    let hand_made = "ab".repeat(40);
    std::fs::write(&path, format!("{hand_made}\n")).unwrap();
    assert_eq!(SigningSecret::load_or_create(dir.path()).unwrap(), vec![0xab; 40]);
}

#[test]
fn parse_ttl_accepts_whole_units() {
    assert_eq!(parse_ttl("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
    assert_eq!(parse_ttl("3600s"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
    assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_ttl(" 15m "), Ok(Duration::from_secs(900)));
}

#[test]
fn parse_ttl_rejects_zero_unknown_units_and_nonsense() {
    for bad in
        ["", "h", "0", "0h", "5x", "-1h", "1.5h", "1h30m", "1 h", "1H", "99999999999999999999d", "999999999999999999d"]
    {
        assert!(parse_ttl(bad).is_err(), "{bad:?} should be refused");
    }
}
