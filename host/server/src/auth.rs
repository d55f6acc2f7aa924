//! Authentication and scopes for the HTTP API: a bearer JWT in, a [`Principal`] out.
//!
//! The rules are SPEC §5's. Tokens are HS256 with the server's signing secret, or RS256 /
//! EdDSA with a configured public key. The key is chosen by the token header's `alg`, but
//! only among the algorithms this server was configured with, and each key is only ever
//! used with its own algorithm: that is what defeats the RS256→HS256 "algorithm confusion"
//! attack, where the attacker HMAC-signs with the (public) RSA key's PEM bytes.
//!
//! Clock skew: `exp` and `nbf` are checked with [`CLOCK_LEEWAY_SECS`] (5 s) of leeway, enough
//! for hosts kept in sync by NTP, small enough that an expired token is not usable for long.
//!
//! ```
//! use std::time::Duration;
//! use sandflow_server::auth::{AuthConfig, Scope, Verifier, issue_token};
//!
//! let secret = [7u8; 32];
//! let token = issue_token(&secret, "acme", "alice", &[Scope::WorkflowsRead],
//!                         Duration::from_secs(3600), None, None).unwrap();
//! let principal = Verifier::new(AuthConfig::new(secret)).unwrap().verify(&token).unwrap();
//! assert_eq!(principal.tenant, "acme");
//! assert!(principal.require(Scope::WorkflowsRead).is_ok());
//! assert_eq!(principal.require(Scope::WorkflowsWrite).unwrap_err().status(), 403);
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use self::verified_tokens::VerifiedTokens;

/// Seconds of clock skew tolerated when checking `exp` and `nbf`.
pub const CLOCK_LEEWAY_SECS: u64 = 5;

/// Shortest HS256 secret accepted: RFC 7518 §3.2 asks for a key as long as the hash (256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Longest tenant name accepted in a token.
pub const MAX_TENANT_LEN: usize = 128;

/// Longest token looked at; real tokens are a few hundred bytes, and this bounds the
/// base64 and JSON work an unauthenticated caller can make the server do.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Smallest RS256 modulus accepted, in bytes: RFC 7518 §3.3 requires 2048 bits or more.
const MIN_RSA_MODULUS_BYTES: usize = 256;

/// A permission a token grants, one word of its space-separated `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// `workflows:read`: read workflows, executions, their events, and the block catalogue.
    #[serde(rename = "workflows:read")]
    WorkflowsRead,
    /// `workflows:write`: create, edit, deploy and delete workflows; run inline workflows.
    #[serde(rename = "workflows:write")]
    WorkflowsWrite,
    /// `workflows:execute`: execute, resume and cancel.
    #[serde(rename = "workflows:execute")]
    WorkflowsExecute,
    /// `blocks:write`: register custom blocks.
    #[serde(rename = "blocks:write")]
    BlocksWrite,
}

impl Scope {
    /// Every scope, in the order `sandflow token` grants them by default.
    pub const ALL: [Scope; 4] =
        [Scope::WorkflowsRead, Scope::WorkflowsWrite, Scope::WorkflowsExecute, Scope::BlocksWrite];

    /// The scope's name as written in the `scope` claim.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::WorkflowsRead => "workflows:read",
            Scope::WorkflowsWrite => "workflows:write",
            Scope::WorkflowsExecute => "workflows:execute",
            Scope::BlocksWrite => "blocks:write",
        }
    }

    /// Reads a `scope` claim leniently: unknown words are ignored, so tokens minted by an
    /// identity provider for several services (with scopes of theirs) still work here.
    pub fn parse_claim(claim: &str) -> BTreeSet<Scope> {
        claim.split_whitespace().filter_map(|word| word.parse().ok()).collect()
    }

    /// Writes scopes as a `scope` claim: sorted, without duplicates, space-separated.
    pub fn to_claim(scopes: &[Scope]) -> String {
        let unique: BTreeSet<Scope> = scopes.iter().copied().collect();
        unique.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    /// Strict parse, for the CLI: a typo there should fail rather than mint a useless token.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| {
            let known = Scope::ALL.map(Scope::as_str).join(", ");
            format!("unknown scope {s:?} (known: {known})")
        })
    }
}

/// The `aud` claim: RFC 7519 allows one string or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences; the token is for this server if any of them matches.
    Many(Vec<String>),
}

/// The claims of a Sandflow token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token is for (a user or a service); empty is refused.
    // Defaulted so that a token without `sub` is reported as such, not as malformed JSON.
    #[serde(default)]
    pub sub: String,
    /// The tenant every request made with this token acts in.
    #[serde(default)]
    pub tenant: String,
    /// Space-separated scopes; see [`Scope`].
    #[serde(default)]
    pub scope: String,
    /// Expiry, seconds since the Unix epoch; required.
    pub exp: u64,
    /// Not valid before, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Issuer; checked when the server is configured with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience; checked when the server is configured with one, refused when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// Who is calling: the verified outcome of a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// The tenant the caller acts in; every stored object is looked up within it.
    pub tenant: String,
    /// The known scopes the token grants.
    pub scopes: BTreeSet<Scope>,
}

impl Principal {
    /// Whether the token grants `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// `Ok` if the token grants `scope`, else [`AuthError::MissingScope`] (403).
    pub fn require(&self, scope: Scope) -> Result<(), AuthError> {
        if self.has(scope) { Ok(()) } else { Err(AuthError::MissingScope(scope)) }
    }
}

/// Why a request was not authenticated or authorised, or why auth could not be set up.
///
/// Messages are shown to API callers: they say what was wrong with the token and never
/// include keys, secrets or the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or an empty one.
    #[error("authorization header is missing; send 'Authorization: Bearer <token>'")]
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("authorization header must be 'Bearer <token>'")]
    MalformedHeader,
    /// Not three base64url parts, undecodable header or claims, or claims of the wrong type.
    #[error("token is malformed")]
    MalformedToken,
    /// An unsigned token (`alg: none`).
    #[error("algorithm none is not accepted")]
    AlgorithmNone,
    /// An algorithm this server is not configured for (shown only if it is a plain name).
    #[error("token algorithm {0} is not accepted")]
    AlgorithmNotAccepted(String),
    /// The signature does not verify with the key of the token's algorithm.
    #[error("token signature is invalid")]
    InvalidSignature,
    /// `exp` is in the past.
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("token is not valid yet (nbf is in the future)")]
    NotYetValid,
    /// A required claim (`exp`, `sub`, `tenant`, or `iss`/`aud` when configured) is absent or
    /// empty; an `exp` that is not a number counts as absent.
    #[error("token has no {0} claim")]
    MissingClaim(&'static str),
    /// A registered claim of the wrong JSON type, e.g. a string `nbf`.
    #[error("token claim {0} is malformed")]
    MalformedClaim(&'static str),
    /// `iss` is not the configured issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// `aud` does not name the configured audience, or names one when none is configured.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// The tenant is not 1 to 128 characters of `A-Z a-z 0-9 _ . -` (or is `.` or `..`).
    #[error("tenant must be 1 to 128 characters from A-Z a-z 0-9 _ . - and not '.' or '..'")]
    InvalidTenant,
    /// The token is valid but does not grant the scope the route needs (403).
    #[error("token lacks scope {0}")]
    MissingScope(Scope),
    /// The server's auth configuration is unusable (a startup error, never a request's).
    #[error("auth configuration is invalid: {0}")]
    InvalidConfig(String),
    /// A token could not be issued.
    #[error("cannot issue token: {0}")]
    Issue(String),
}

impl AuthError {
    /// The HTTP status this error maps to: 401, 403, or 500 for configuration and issuing.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingScope(_) => 403,
            AuthError::InvalidConfig(_) | AuthError::Issue(_) => 500,
            _ => 401,
        }
    }

    /// The snake_case `code` of the API's error body.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingScope(_) => "forbidden",
            AuthError::InvalidConfig(_) => "auth_misconfigured",
            AuthError::Issue(_) => "token_issue_failed",
            _ => "unauthorized",
        }
    }
}

/// Extracts the token from an `Authorization` header value (`Bearer <token>`).
///
/// The scheme is matched case-insensitively (RFC 7235); the token must be one word.
pub fn parse_bearer(header_value: &str) -> Result<&str, AuthError> {
    let value = header_value.trim();
    if value.is_empty() {
        return Err(AuthError::MissingToken);
    }
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::MalformedHeader)?;
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(char::is_whitespace) {
        return Err(AuthError::MalformedHeader);
    }
    Ok(token)
}

/// Checks a tenant name: 1 to [`MAX_TENANT_LEN`] characters of `[A-Za-z0-9_.-]`, not `.` or `..`.
///
/// Tenants may end up in file names and log lines, hence the narrow alphabet and the ban on
/// the two path-traversal names.
pub fn validate_tenant(tenant: &str) -> Result<(), AuthError> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    if tenant.is_empty()
        || tenant.len() > MAX_TENANT_LEN
        || !tenant.bytes().all(allowed)
        || tenant == "."
        || tenant == ".."
    {
        return Err(AuthError::InvalidTenant);
    }
    Ok(())
}

/// What the server accepts tokens from.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// The HS256 secret (the data dir's signing secret); at least [`MIN_SECRET_BYTES`].
    pub hs256_secret: Vec<u8>,
    /// An RS256 public key (PEM, `PUBLIC KEY` or `RSA PUBLIC KEY`); enables RS256.
    pub rs256_public_key_pem: Option<Vec<u8>>,
    /// An Ed25519 public key (PEM, `PUBLIC KEY`); enables EdDSA.
    pub eddsa_public_key_pem: Option<Vec<u8>>,
    /// When set, tokens must carry exactly this `iss`.
    pub issuer: Option<String>,
    /// When set, tokens must name this audience in `aud`.
    pub audience: Option<String>,
}

impl AuthConfig {
    /// HS256 only, with `secret`, no issuer or audience check.
    pub fn new(hs256_secret: impl Into<Vec<u8>>) -> Self {
        AuthConfig { hs256_secret: hs256_secret.into(), ..AuthConfig::default() }
    }

    /// Also accepts RS256 tokens verified with this PEM public key.
    pub fn with_rs256_public_key_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.rs256_public_key_pem = Some(pem.into());
        self
    }

    /// Also accepts EdDSA tokens verified with this PEM Ed25519 public key.
    pub fn with_eddsa_public_key_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.eddsa_public_key_pem = Some(pem.into());
        self
    }

    /// Requires `iss` to be `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Requires `aud` to name `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }
}

impl fmt::Debug for AuthConfig {
    // Hand-written so the secret never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("hs256_secret", &format_args!("[{} bytes redacted]", self.hs256_secret.len()))
            .field("rs256", &self.rs256_public_key_pem.is_some())
            .field("eddsa", &self.eddsa_public_key_pem.is_some())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// One accepted algorithm: its key and the claim checks that go with it.
struct AcceptedKey {
    key: DecodingKey,
    validation: Validation,
}

/// Checks bearer tokens against an [`AuthConfig`]; cheap to share behind an `Arc`.
pub struct Verifier {
    hs256: AcceptedKey,
    rs256: Option<AcceptedKey>,
    eddsa: Option<AcceptedKey>,
    verified: VerifiedTokens,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &true)
            .field("rs256", &self.rs256.is_some())
            .field("eddsa", &self.eddsa.is_some())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Loads and checks the configured keys; a key that could never verify is refused here,
    /// at startup, rather than turning every request into "signature invalid".
    pub fn new(config: AuthConfig) -> Result<Verifier, AuthError> {
        let bad = |message: &str| AuthError::InvalidConfig(message.to_owned());
        if config.hs256_secret.len() < MIN_SECRET_BYTES {
            return Err(bad("the HS256 secret must be at least 32 bytes"));
        }
        let provider = CryptoProvider::try_get_default().ok_or_else(|| bad("no JWT crypto provider is available"))?;
        let validation = |algorithm| claim_checks(algorithm, &config);

        let hs256 = AcceptedKey {
            key: DecodingKey::from_secret(&config.hs256_secret).map_err(|_| bad("the HS256 secret is unusable"))?,
            validation: validation(Algorithm::HS256),
        };

        let rs256 = match &config.rs256_public_key_pem {
            None => None,
            Some(pem) => {
                let not_rsa = || bad("the RS256 key is not a PEM RSA public key");
                let key = DecodingKey::from_rsa_pem(pem).map_err(|_| not_rsa())?;
                // jsonwebtoken parses the DER only when verifying; parse it now so a private
                // key or garbage is caught at startup, and check its size while at it.
                let der = key.try_get_as_bytes().map_err(|_| not_rsa())?;
                let (modulus, _exponent) =
                    (provider.key_utils.rsa_pub_components_from_public_key)(der).map_err(|_| not_rsa())?;
                if modulus.len() < MIN_RSA_MODULUS_BYTES {
                    return Err(bad("the RS256 key must be at least 2048 bits"));
                }
                Some(AcceptedKey { key, validation: validation(Algorithm::RS256) })
            }
        };

        let eddsa = match &config.eddsa_public_key_pem {
            None => None,
            Some(pem) => {
                let not_ed = || bad("the EdDSA key is not a PEM Ed25519 public key");
                let key = DecodingKey::from_ed_pem(pem).map_err(|_| not_ed())?;
                // The backend slices the first 32 bytes without checking the length (a panic
                // on a short key), so the length is checked here before it ever sees the key.
                if key.try_get_as_bytes().map_err(|_| not_ed())?.len() != 32 {
                    return Err(not_ed());
                }
                (provider.verifier_factory)(&Algorithm::EdDSA, &key).map_err(|_| not_ed())?;
                Some(AcceptedKey { key, validation: validation(Algorithm::EdDSA) })
            }
        };

        Ok(Verifier { hs256, rs256, eddsa, verified: VerifiedTokens::default() })
    }

    /// Verifies a bearer token (without the `Bearer ` prefix) and returns who it is for.
    pub fn verify(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        let now = unix_now();
        if let Some(principal) = self.verified.get(bearer_token, now) {
            return Ok(principal);
        }
        let alg = header_algorithm(bearer_token)?;
        // The header picks among configured keys only; each key is bound to one algorithm.
        let accepted = match alg.as_str() {
            "HS256" => Some(&self.hs256),
            "RS256" => self.rs256.as_ref(),
            "EdDSA" => self.eddsa.as_ref(),
            other if other.eq_ignore_ascii_case("none") => return Err(AuthError::AlgorithmNone),
            _ => None,
        };
        let Some(accepted) = accepted else {
            return Err(AuthError::AlgorithmNotAccepted(printable_alg(&alg)));
        };

        // Signature first, then exp/nbf/iss/aud: a forged token learns nothing about claims.
        let data = jsonwebtoken::decode::<serde_json::Value>(bearer_token, &accepted.key, &accepted.validation)
            .map_err(|error| jwt_error(error.kind()))?;
        let claims: Claims = serde_json::from_value(data.claims).map_err(|_| AuthError::MalformedToken)?;
        let exp = claims.exp;
        let principal = principal_from(claims)?;
        self.verified.remember(bearer_token, &principal, exp, now);
        Ok(principal)
    }
}

/// The claim checks for tokens of `algorithm` under `config`.
fn claim_checks(algorithm: Algorithm, config: &AuthConfig) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.leeway = CLOCK_LEEWAY_SECS;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    // jsonwebtoken only compares iss/aud when present, so configured ones are also required.
    let mut required = vec!["exp"];
    if let Some(issuer) = &config.issuer {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    if let Some(audience) = &config.audience {
        validation.set_audience(&[audience]);
        required.push("aud");
    }
    // With no audience configured, validate_aud stays on: a token addressed to some
    // other service is refused here (RFC 7519 §4.1.3).
    validation.set_required_spec_claims(&required);
    validation
}

/// The header's `alg`, read before jsonwebtoken does so that `none` gets its own answer
/// (jsonwebtoken has no `none` and would report a generic parse error).
fn header_algorithm(token: &str) -> Result<String, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::MalformedToken);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_claims), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken);
    };
    let json = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::MalformedToken)?;
    let header: serde_json::Value = serde_json::from_slice(&json).map_err(|_| AuthError::MalformedToken)?;
    match header.get("alg") {
        Some(serde_json::Value::String(alg)) => Ok(alg.clone()),
        _ => Err(AuthError::MalformedToken),
    }
}

/// The `alg` as it may be echoed in an error message: a short plain name, or a placeholder.
fn printable_alg(alg: &str) -> String {
    if !alg.is_empty() && alg.len() <= 16 && alg.bytes().all(|b| b.is_ascii_alphanumeric()) {
        alg.to_owned()
    } else {
        "(unrecognised)".to_owned()
    }
}

/// Maps jsonwebtoken's error to ours.
fn jwt_error(kind: &ErrorKind) -> AuthError {
    let claim = |name: &str| match name {
        "exp" => Some("exp"),
        "nbf" => Some("nbf"),
        "iss" => Some("iss"),
        "aud" => Some("aud"),
        "sub" => Some("sub"),
        _ => None,
    };
    match kind {
        ErrorKind::InvalidSignature => AuthError::InvalidSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(name) => claim(name).map_or(AuthError::MalformedToken, AuthError::MissingClaim),
        ErrorKind::InvalidClaimFormat(name) => claim(name).map_or(AuthError::MalformedToken, AuthError::MalformedClaim),
        ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            AuthError::MalformedToken
        }
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
            AuthError::AlgorithmNotAccepted("(unrecognised)".to_owned())
        }
        // Anything else (key errors included) means the token could not be verified.
        _ => AuthError::InvalidSignature,
    }
}

/// The checks jsonwebtoken does not do: subject, tenant, scopes.
fn principal_from(claims: Claims) -> Result<Principal, AuthError> {
    if claims.sub.is_empty() {
        return Err(AuthError::MissingClaim("sub"));
    }
    if claims.tenant.is_empty() {
        return Err(AuthError::MissingClaim("tenant"));
    }
    validate_tenant(&claims.tenant)?;
    Ok(Principal { scopes: Scope::parse_claim(&claims.scope), subject: claims.sub, tenant: claims.tenant })
}

/// Signs an HS256 token for `sandflow token`, valid from now for `ttl` (whole seconds).
pub fn issue_token(
    secret: &[u8],
    tenant: &str,
    subject: &str,
    scopes: &[Scope],
    ttl: Duration,
    issuer: Option<&str>,
    audience: Option<&str>,
) -> Result<String, AuthError> {
    let fail = |message: &str| AuthError::Issue(message.to_owned());
    if secret.len() < MIN_SECRET_BYTES {
        return Err(fail("the signing secret must be at least 32 bytes"));
    }
    validate_tenant(tenant)?;
    if subject.is_empty() {
        return Err(fail("the subject must not be empty"));
    }
    if ttl.as_secs() == 0 {
        return Err(fail("the ttl must be at least one second"));
    }
    let now = unix_now();
    let exp = now.checked_add(ttl.as_secs()).ok_or_else(|| fail("the ttl is too long"))?;
    let claims = Claims {
        sub: subject.to_owned(),
        tenant: tenant.to_owned(),
        scope: Scope::to_claim(scopes),
        exp,
        nbf: Some(now),
        iat: Some(now),
        iss: issuer.map(str::to_owned),
        aud: audience.map(|aud| Audience::One(aud.to_owned())),
    };
    let key = EncodingKey::from_secret(secret).map_err(|_| fail("the signing secret is unusable"))?;
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)
        .map_err(|error| AuthError::Issue(error.to_string()))
}

/// Seconds since the Unix epoch.
fn unix_now() -> u64 {
    // A clock before 1970 is a broken host; 0 then makes every token look expired.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The server's HS256 signing secret, kept in the data dir as `signing-secret`.
///
/// The file holds the secret hex-encoded on one line, so that an editor's trailing newline
/// or a copy to another machine cannot silently change it.
pub enum SigningSecret {}

impl SigningSecret {
    /// The secret's file name inside the data dir.
    pub const FILE_NAME: &'static str = "signing-secret";

    /// Random bytes in a new secret.
    pub const NEW_SECRET_BYTES: usize = 32;

    /// Reads `data_dir/signing-secret`, creating the dir (0700) and the file (0600, 32
    /// random bytes) on first start.
    ///
    /// Creation is atomic: the secret is written to a temporary file and hard-linked into
    /// place, so a crash never leaves a half-written secret, and two servers starting at
    /// once both end up with the one that was linked first.
    pub fn load_or_create(data_dir: &Path) -> io::Result<Vec<u8>> {
        load_or_create_secret_file(&data_dir.join(Self::FILE_NAME), Self::NEW_SECRET_BYTES)
    }
}

/// Reads the hex secret in `path`, creating its directory (0700) and the file
/// (0600, `new_bytes` random bytes) when it does not exist yet. Creation is
/// atomic (a temporary file hard-linked into place). Also the sealing key's.
pub(crate) fn load_or_create_secret_file(path: &Path, new_bytes: usize) -> io::Result<Vec<u8>> {
    match read_secret(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        other => return other,
    }
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let mut secret = vec![0u8; new_bytes];
    getrandom::fill(&mut secret).map_err(io::Error::other)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = write_private_file(&temporary, format!("{}\n", hex::encode(&secret)).as_bytes()).and_then(|()| {
        match fs::hard_link(&temporary, path) {
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        }
    });
    let _ = fs::remove_file(&temporary);
    written?;
    read_secret(path)
}

/// Reads a secret file written by [`load_or_create_secret_file`] (or by hand).
pub(crate) fn read_secret_file(path: &Path) -> io::Result<Vec<u8>> {
    read_secret(path)
}

/// Reads and decodes a secret file, refusing one too short to be a real secret.
fn read_secret(path: &Path) -> io::Result<Vec<u8>> {
    let text = fs::read_to_string(path)?;
    let invalid = |what: &str| {
        io::Error::new(io::ErrorKind::InvalidData, format!("{} {what}; delete it to make a new one", path.display()))
    };
    let secret = hex::decode(text.trim()).map_err(|_| invalid("is not hex"))?;
    if secret.len() < MIN_SECRET_BYTES {
        return Err(invalid("holds fewer than 32 bytes"));
    }
    Ok(secret)
}

/// Creates `dir` and its parents; new ones readable by the owner only (the secret lives there).
fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes a new file readable by the owner only, flushed to disk.
fn write_private_file(path: &Path, contents: &[u8]) -> io::Result<()> {
    // A leftover from a crashed process with the same pid would make create_new fail.
    let _ = fs::remove_file(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Parses a `--ttl`: a whole number with unit `s`, `m`, `h` or `d` (`3600s`, `30m`, `1h`,
/// `2d`); a bare number is seconds. Zero is refused.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    if digits.is_empty() {
        return Err(format!("invalid ttl {text:?}: expected a number and a unit, like 1h, 30m, 3600s or 2d"));
    }
    let unit_secs: u64 = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        other => return Err(format!("invalid ttl unit {other:?}: use s, m, h or d")),
    };
    let secs = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_secs))
        .ok_or_else(|| format!("ttl {text:?} is too long"))?;
    if secs == 0 {
        return Err("ttl must be positive".to_owned());
    }
    Ok(Duration::from_secs(secs))
}

mod verified_tokens;

#[cfg(test)]
mod fuzz_tests;
