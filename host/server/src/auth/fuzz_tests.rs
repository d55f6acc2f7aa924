//! Property-based fuzzing (issue 11) of bearer parsing and token verification:
//! arbitrary headers and tokens (random bytes, random base64url segments,
//! mutated valid tokens) are refused with a typed 401, never a panic; valid
//! tokens of every configured algorithm always verify; validly signed claims
//! get exactly the verdict the rules give them.
//!
//! Case counts are per target (CI runs them under plain `cargo test`);
//! `PROPTEST_CASES=N` raises every target to `N` for a longer local run.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use super::*;

const SECRET: &[u8] = b"a-fuzz-test-secret-of-more-than-32-bytes";

fn config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(ci_cases);
    Config { cases, ..Config::default() }
}

/// HS256, RS256 and EdDSA, keys from `tests/keys/` (test fixtures).
fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        Verifier::new(
            AuthConfig::new(SECRET)
                .with_rs256_public_key_pem(include_bytes!("../../tests/keys/rsa-public.pem").to_vec())
                .with_eddsa_public_key_pem(include_bytes!("../../tests/keys/ed25519-public.pem").to_vec()),
        )
        .expect("the test keys are usable")
    })
}

fn signing_key(alg: Algorithm) -> &'static EncodingKey {
    static KEYS: OnceLock<[EncodingKey; 3]> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        [
            EncodingKey::from_secret(SECRET).expect("HS256 test secret"),
            EncodingKey::from_rsa_pem(include_bytes!("../../tests/keys/rsa-private.pem")).expect("RSA test key"),
            EncodingKey::from_ed_pem(include_bytes!("../../tests/keys/ed25519-private.pem")).expect("Ed25519 test key"),
        ]
    });
    match alg {
        Algorithm::HS256 => &keys[0],
        Algorithm::RS256 => &keys[1],
        Algorithm::EdDSA => &keys[2],
        other => panic!("no test key for {other:?}"),
    }
}

fn sign(alg: Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, signing_key(alg)).expect("test claims sign")
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Far enough from now that the few seconds a run takes never change a verdict.
const MARGIN_SECS: u64 = 3600;

fn tenant() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,128}".prop_filter("`.` and `..` are refused", |t| t != "." && t != "..")
}

fn scope_claim() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(Scope::ALL.map(Scope::as_str).to_vec()).prop_map(str::to_string),
        "[a-z:]{1,12}",
    ];
    prop::collection::vec(word, 0..6).prop_map(|words| words.join(" "))
}

/// Claims every rule accepts, signed by one of the three algorithms.
fn valid_token() -> impl Strategy<Value = (Algorithm, Value)> {
    (
        prop::sample::select(vec![Algorithm::HS256, Algorithm::RS256, Algorithm::EdDSA]),
        tenant(),
        any::<String>().prop_filter("sub is required", |s| !s.is_empty()),
        scope_claim(),
        MARGIN_SECS..10_000_000,
        prop::option::of(MARGIN_SECS..10_000_000),
    )
        .prop_map(|(alg, tenant, sub, scope, ahead, before)| {
            let now = unix_now();
            let mut claims = json!({"sub": sub, "tenant": tenant, "scope": scope, "exp": now + ahead, "iat": now});
            if let Some(before) = before {
                claims["nbf"] = json!(now - before);
            }
            (alg, claims)
        })
}

/// One change to a token's text that no valid token survives.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at (position modulo length) with another of these.
    Replace(usize, char),
    /// Re-encode the header with this `alg`, keeping claims and signature.
    Alg(&'static str),
    DropSignature,
    Truncate(usize),
    Append(String),
    SwapHeaderAndClaims,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let replacement = prop::sample::select("AZaz09-_.=+/ é\u{0}".chars().collect::<Vec<_>>());
    prop_oneof![
        4 => (any::<usize>(), replacement).prop_map(|(at, c)| Mutation::Replace(at, c)),
        2 => prop::sample::select(vec!["none", "None", "NONE", "HS384", "HS512", "RS256", "EdDSA", "ES256", "PS256", "hs256", "HS256 ", ""])
            .prop_map(Mutation::Alg),
        1 => Just(Mutation::DropSignature),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => "[A-Za-z0-9_.-]{1,8}".prop_map(Mutation::Append),
        1 => Just(Mutation::SwapHeaderAndClaims),
    ]
}

/// `token` changed by `mutation`, or `None` when the change would be no change.
fn mutate(token: &str, mutation: &Mutation) -> Option<String> {
    let parts: Vec<&str> = token.split('.').collect();
    let mutated = match mutation {
        Mutation::Replace(at, c) => {
            let mut chars: Vec<char> = token.chars().collect();
            let at = at % chars.len().max(1);
            *chars.get_mut(at)? = *c;
            chars.into_iter().collect()
        }
        Mutation::Alg(alg) => {
            let mut header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).ok()?).ok()?;
            header["alg"] = json!(alg);
            format!("{}.{}.{}", b64(header.to_string().as_bytes()), parts.get(1)?, parts.get(2)?)
        }
        Mutation::DropSignature => format!("{}.{}.", parts[0], parts.get(1)?),
        Mutation::Truncate(at) => token.chars().take(at % token.chars().count().max(1)).collect(),
        Mutation::Append(tail) => format!("{token}{tail}"),
        Mutation::SwapHeaderAndClaims => format!("{}.{}.{}", parts.get(1)?, parts[0], parts.get(2)?),
    };
    (mutated != token).then_some(mutated)
}

/// What must be true of any refusal of a request's token.
fn assert_refused(result: Result<Principal, AuthError>) -> Result<AuthError, TestCaseError> {
    let error = match result {
        Ok(principal) => return Err(TestCaseError::fail(format!("accepted as {principal:?}"))),
        Err(error) => error,
    };
    prop_assert_eq!(error.status(), 401, "{:?}", error);
    prop_assert_eq!(error.code(), "unauthorized");
    Ok(error)
}

/// A header as it might arrive: some scheme, some spaces, some token text.
fn header_value() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("Bearer"), Just("bearer"), Just("BEARER"), Just("Basic"), Just(""), Just("Bearer:")];
    let spaces = prop::sample::select(vec!["", " ", "  ", "\t", " \u{a0}"]);
    (spaces.clone(), scheme, spaces.clone(), any::<String>(), spaces)
        .prop_map(|(a, scheme, b, token, c)| format!("{a}{scheme}{b}{token}{c}"))
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn parse_bearer_takes_exactly_one_word_after_a_bearer_scheme(header in prop_oneof![header_value(), any::<String>()]) {
        match parse_bearer(&header) {
            Ok(token) => {
                prop_assert!(!token.is_empty() && !token.contains(char::is_whitespace), "{:?}", token);
                let value = header.trim();
                let (scheme, rest) = value.split_once(' ').expect("an accepted header has a space");
                prop_assert!(scheme.eq_ignore_ascii_case("bearer"));
                prop_assert_eq!(rest.trim_start_matches(' '), token);
            }
            Err(error) => {
                prop_assert!(matches!(error, AuthError::MissingToken | AuthError::MalformedHeader), "{:?}", error);
                prop_assert_eq!(matches!(error, AuthError::MissingToken), header.trim().is_empty());
            }
        }
    }

    #[test]
    fn a_bearer_header_around_any_word_gives_that_word(token in "[!-~]{1,64}", scheme in "[bB][eE][aA][rR][eE][rR]", spaces in 1usize..4) {
        let header = format!("{scheme}{}{token}", " ".repeat(spaces));
        prop_assert_eq!(parse_bearer(&header), Ok(token.as_str()));
    }

    #[test]
    fn arbitrary_text_is_never_a_valid_token(token in prop_oneof![any::<String>(), "[A-Za-z0-9_.=-]{0,200}"]) {
        assert_refused(verifier().verify(&token))?;
    }

    #[test]
    fn random_base64url_segments_are_refused(
        alg in prop::sample::select(vec!["HS256", "RS256", "EdDSA", "none", "nOnE", "HS512", "ES256", "", "\u{0}"]),
        header_extra in prop::collection::btree_map("[a-z]{1,4}", any::<String>(), 0..3),
        claims in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64).prop_map(|bytes| b64(&bytes)),
            (tenant(), any::<String>(), any::<u64>()).prop_map(|(tenant, sub, exp)| {
                b64(json!({"sub": sub, "tenant": tenant, "exp": exp, "scope": "workflows:read"}).to_string().as_bytes())
            }),
        ],
        signature in prop::collection::vec(any::<u8>(), 0..300),
        header_bytes in prop::option::weighted(0.2, prop::collection::vec(any::<u8>(), 0..40)),
    ) {
        let generated_header = header_bytes.is_none();
        let header = match header_bytes {
            Some(bytes) => b64(&bytes),
            None => {
                let mut header = json!(header_extra);
                header["alg"] = json!(alg);
                header["typ"] = json!("JWT");
                b64(header.to_string().as_bytes())
            }
        };
        let token = format!("{header}.{claims}.{}", b64(&signature));
        let error = assert_refused(verifier().verify(&token))?;
        // Only a header object naming `none` is refused as such; random bytes
        // may decode to other JSON (`0`), which is merely malformed.
        if alg.eq_ignore_ascii_case("none") && generated_header {
            prop_assert_eq!(error, AuthError::AlgorithmNone);
        }
    }
}

proptest! {
    // RSA signing is slow in a debug build; these cases sign one token each.
    #![proptest_config(config(48))]

    #[test]
    fn valid_tokens_of_every_configured_algorithm_verify((alg, claims) in valid_token()) {
        let principal = verifier().verify(&sign(alg, &claims));
        let expected = Principal {
            subject: claims["sub"].as_str().unwrap().to_string(),
            tenant: claims["tenant"].as_str().unwrap().to_string(),
            scopes: Scope::parse_claim(claims["scope"].as_str().unwrap()),
        };
        prop_assert_eq!(principal, Ok(expected));
    }

    #[test]
    fn mutated_valid_tokens_are_refused((alg, claims) in valid_token(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let token = sign(alg, &claims);
        prop_assert!(verifier().verify(&token).is_ok());
        let mut mutated = token.clone();
        for mutation in &mutations {
            mutated = mutate(&mutated, mutation).unwrap_or(mutated);
        }
        prop_assume!(mutated != token);
        assert_refused(verifier().verify(&mutated))?;
    }

    /// Validly signed HS256 claims, each rule broken or kept at random: the
    /// verdict is the first broken rule's error, or the principal.
    #[test]
    fn validly_signed_claims_get_the_verdict_of_the_first_broken_rule(
        tenant in prop_oneof![tenant(), any::<String>(), Just(String::new()), Just("..".to_string())],
        sub in prop_oneof![any::<String>(), Just(String::new())],
        exp_ahead in prop_oneof![Just(None), (MARGIN_SECS..1_000_000).prop_map(|s| Some(s as i64)), (MARGIN_SECS..1_000_000).prop_map(|s| Some(-(s as i64)))],
        nbf_ahead in prop_oneof![Just(None), (MARGIN_SECS..1_000_000).prop_map(|s| Some(s as i64)), (MARGIN_SECS..1_000_000).prop_map(|s| Some(-(s as i64)))],
        aud in prop::option::weighted(0.1, "[a-z]{1,8}"),
    ) {
        let now = unix_now() as i64;
        let mut claims = json!({"sub": sub, "tenant": tenant, "scope": "workflows:read"});
        if let Some(ahead) = exp_ahead {
            claims["exp"] = json!(now + ahead);
        }
        if let Some(ahead) = nbf_ahead {
            claims["nbf"] = json!(now + ahead);
        }
        if let Some(aud) = &aud {
            claims["aud"] = json!(aud);
        }
        let expected = if exp_ahead.is_none() {
            Err(AuthError::MissingClaim("exp"))
        } else if exp_ahead.is_some_and(|a| a < 0) {
            Err(AuthError::Expired)
        } else if nbf_ahead.is_some_and(|a| a > 0) {
            Err(AuthError::NotYetValid)
        } else if aud.is_some() {
            Err(AuthError::WrongAudience)
        } else if sub.is_empty() {
            Err(AuthError::MissingClaim("sub"))
        } else if tenant.is_empty() {
            Err(AuthError::MissingClaim("tenant"))
        } else if validate_tenant(&tenant).is_err() {
            Err(AuthError::InvalidTenant)
        } else {
            Ok(Principal { subject: sub.clone(), tenant: tenant.clone(), scopes: [Scope::WorkflowsRead].into() })
        };
        prop_assert_eq!(verifier().verify(&sign(Algorithm::HS256, &claims)), expected);
    }
}
