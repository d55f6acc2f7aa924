//! Secrets at rest: what the store keeps of an execution's environment
//! values is sealed with an AEAD (XChaCha20-Poly1305) under the server's
//! sealing key, never written in the clear.
//!
//! Sealed are the stored request's `env` (so a crashed or queued execution
//! can still run) and, for executions that carry environment values, every
//! checkpoint (a block's resolved params and outputs may hold a granted
//! value). Results are redacted instead, so they need no key to be read.
//!
//! The key is 32 random bytes, hex on one line, in `sealing-key` in the data
//! directory (created 0600 on first start, like the signing secret), or in
//! the file `--sealing-key-file` / `SANDFLOW_SEALING_KEY_FILE` names. In
//! distributed mode every server and worker must use the same file. Each
//! sealed value is bound (as associated data) to its tenant, execution and
//! purpose, so a ciphertext moved to another row does not open.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sandflow_engine::{Checkpoint, CheckpointOutcome, ExecutionSpec};
use sandflow_store::JsonText;
use serde_json::{Map, Value, json};

/// Prefix of every sealed text: the format version.
const SEALED_PREFIX: &str = "sf1.";
/// Bytes of the XChaCha20 nonce: large enough to draw at random for every seal.
const NONCE_BYTES: usize = 24;
/// Bytes of a sealing key.
pub const KEY_BYTES: usize = 32;
/// The stored request's field that holds its sealed environment values.
const SEALED_ENV_FIELD: &str = "sealedEnv";
/// The checkpoint field that holds the whole sealed checkpoint.
const SEALED_CHECKPOINT_FIELD: &str = "sealed";

/// Why a sealed value could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The text is not something [`Sealer::seal`] wrote.
    #[error("the sealed {what} is malformed")]
    Malformed { what: &'static str },
    /// Wrong key, or the row was altered or moved.
    #[error(
        "the sealed {what} does not open with this process's sealing key (servers and workers must share one \
         --sealing-key-file), or it was altered"
    )]
    WrongKey { what: &'static str },
    /// The opened JSON does not have the expected shape.
    #[error("the sealed {what} does not hold what was sealed: {message}")]
    Shape { what: &'static str, message: String },
}

/// Why the sealing key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SealingKeyError {
    #[error("sealing key {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("sealing key {path} must hold {KEY_BYTES} bytes as hex on one line")]
    Invalid { path: PathBuf },
}

/// Seals and opens the secrets the store keeps.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// The key's file name inside the data directory.
    pub const FILE_NAME: &'static str = "sealing-key";

    /// A sealer over a 32-byte key.
    pub fn new(key: &[u8; KEY_BYTES]) -> Self {
        Self { cipher: XChaCha20Poly1305::new(key.into()) }
    }

    /// A sealer over a random key nobody else has: for a state that never
    /// outlives the process (a server or worker loads the configured one).
    pub fn ephemeral() -> Self {
        let mut key = [0u8; KEY_BYTES];
        getrandom::fill(&mut key).expect("the OS gives random bytes");
        Self::new(&key)
    }

    /// Reads the key in `path`, creating it (0600, random) when `create` and
    /// it does not exist yet; creation is atomic, as the signing secret's.
    pub fn load(path: &Path, create: bool) -> Result<Self, SealingKeyError> {
        let io_error = |source| SealingKeyError::Io { path: path.to_path_buf(), source };
        let bytes = if create {
            crate::auth::load_or_create_secret_file(path, KEY_BYTES)
        } else {
            crate::auth::read_secret_file(path)
        }
        .map_err(|error| match error.kind() {
            io::ErrorKind::InvalidData => SealingKeyError::Invalid { path: path.to_path_buf() },
            _ => io_error(error),
        })?;
        let key: [u8; KEY_BYTES] =
            bytes.try_into().map_err(|_| SealingKeyError::Invalid { path: path.to_path_buf() })?;
        Ok(Self::new(&key))
    }

    /// `plaintext` encrypted and authenticated, bound to `context`, as text.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).expect("the OS gives random bytes");
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .expect("XChaCha20-Poly1305 seals any length the store takes");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What [`seal`](Self::seal) sealed under the same `context`.
    pub fn open(&self, what: &'static str, context: &[u8], sealed: &str) -> Result<Vec<u8>, SealError> {
        let malformed = SealError::Malformed { what };
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
            .filter(|bytes| bytes.len() > NONCE_BYTES)
            .ok_or(malformed)?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: context })
            .map_err(|_| SealError::WrongKey { what })
    }

    /// The request as the store keeps it: its environment values sealed.
    pub fn seal_request(&self, tenant: &str, execution_id: &str, request: &ExecutionSpec) -> JsonText {
        if request.env.is_empty() {
            // Nothing to seal: straight to text.
            return JsonText::of(request).expect("a stored request is JSON");
        }
        let mut value = serde_json::to_value(request).expect("a stored request is JSON");
        if let Some(fields) = value.as_object_mut() {
            let env = serde_json::to_vec(&request.env).expect("environment values are JSON");
            fields.remove("env");
            let sealed = self.seal(&request_context(tenant, execution_id), &env);
            fields.insert(SEALED_ENV_FIELD.into(), Value::String(sealed));
        }
        value.into()
    }

    /// A stored request read back, its environment values opened. Rows
    /// stored in the clear (before sealing existed) read as they are.
    pub fn open_request(&self, tenant: &str, execution_id: &str, stored: Value) -> Result<ExecutionSpec, SealError> {
        let what = "stored request";
        let mut stored = stored;
        if let Some(fields) = stored.as_object_mut()
            && let Some(sealed) = fields.remove(SEALED_ENV_FIELD)
        {
            let sealed = sealed.as_str().ok_or(SealError::Malformed { what })?;
            let env = self.open(what, &request_context(tenant, execution_id), sealed)?;
            let env: HashMap<String, String> =
                serde_json::from_slice(&env).map_err(|e| SealError::Shape { what, message: e.to_string() })?;
            fields.insert("env".into(), json!(env));
        }
        serde_json::from_value(stored).map_err(|e| SealError::Shape { what, message: e.to_string() })
    }

    /// A checkpoint as the store keeps it: when `secret` (its execution has
    /// environment values) the whole checkpoint sealed, beside the few plain
    /// fields the event stream shows (context, block, success, duration).
    pub fn seal_checkpoint(&self, tenant: &str, execution_id: &str, checkpoint: &Checkpoint, secret: bool) -> JsonText {
        if !secret {
            return JsonText::of(checkpoint).expect("a checkpoint is JSON");
        }
        let bytes = serde_json::to_vec(checkpoint).expect("a checkpoint is JSON");
        let context = checkpoint_context(tenant, execution_id, &checkpoint.context_id);
        let kind = match checkpoint.outcome {
            CheckpointOutcome::Succeeded { .. } => "succeeded",
            CheckpointOutcome::Failed { .. } => "failed",
        };
        let mut fields = Map::new();
        fields.insert("contextId".into(), json!(checkpoint.context_id));
        fields.insert("blockId".into(), json!(checkpoint.block_id));
        fields.insert("outcome".into(), json!({"kind": kind}));
        fields.insert("log".into(), json!({"durationMs": checkpoint.log.as_ref().map(|log| log.duration_ms)}));
        if checkpoint.pause.is_some() {
            fields.insert("pause".into(), json!(true));
        }
        fields.insert(SEALED_CHECKPOINT_FIELD.into(), Value::String(self.seal(&context, &bytes)));
        Value::Object(fields).into()
    }

    /// A stored checkpoint read back, opened if it was sealed.
    pub fn open_checkpoint(&self, tenant: &str, execution_id: &str, stored: Value) -> Result<Checkpoint, SealError> {
        let what = "checkpoint";
        let shape = |e: serde_json::Error| SealError::Shape { what, message: e.to_string() };
        let Some(sealed) = stored.get(SEALED_CHECKPOINT_FIELD) else {
            return serde_json::from_value(stored).map_err(shape);
        };
        let sealed = sealed.as_str().ok_or(SealError::Malformed { what })?;
        let context_id = stored.get("contextId").and_then(Value::as_str).ok_or(SealError::Malformed { what })?;
        let bytes = self.open(what, &checkpoint_context(tenant, execution_id, context_id), sealed)?;
        let checkpoint: Checkpoint = serde_json::from_slice(&bytes).map_err(shape)?;
        // The plain context ID chose the associated data, so it matches what was sealed.
        Ok(checkpoint)
    }
}

/// Associated data of a stored request's environment values.
fn request_context(tenant: &str, execution_id: &str) -> Vec<u8> {
    context(&["request-env", tenant, execution_id])
}

/// Associated data of a checkpoint.
fn checkpoint_context(tenant: &str, execution_id: &str, context_id: &str) -> Vec<u8> {
    context(&["checkpoint", tenant, execution_id, context_id])
}

/// Parts joined with NUL, which none of them may hold (IDs are checked
/// charsets), so two different tuples never give the same bytes.
fn context(parts: &[&str]) -> Vec<u8> {
    let mut bytes = b"sandflow/sealed/v1".to_vec();
    for part in parts {
        bytes.push(0);
        bytes.extend_from_slice(part.as_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_under_its_own_context_and_key() {
        let sealer = Sealer::ephemeral();
        let sealed = sealer.seal(b"a", b"hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(sealer.open("x", b"a", &sealed).unwrap(), b"hunter2");
        assert!(matches!(sealer.open("x", b"b", &sealed), Err(SealError::WrongKey { .. })));
        assert!(matches!(Sealer::ephemeral().open("x", b"a", &sealed), Err(SealError::WrongKey { .. })));
        assert!(matches!(sealer.open("x", b"a", "sf1.AAAA"), Err(SealError::Malformed { .. })));
        // A fresh nonce each time: the same value never seals to the same text.
        assert_ne!(sealed, sealer.seal(b"a", b"hunter2"));
    }

    #[test]
    fn a_key_file_is_created_0600_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(Sealer::FILE_NAME);
        assert!(matches!(Sealer::load(&path, false), Err(SealingKeyError::Io { .. })));
        let first = Sealer::load(&path, true).unwrap();
        let sealed = first.seal(b"c", b"v");
        let again = Sealer::load(&path, false).unwrap();
        assert_eq!(again.open("x", b"c", &sealed).unwrap(), b"v");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::write(&path, "abcd\n").unwrap();
        assert!(matches!(Sealer::load(&path, false), Err(SealingKeyError::Invalid { .. })));
    }
}
