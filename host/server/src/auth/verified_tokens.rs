//! Tokens already verified, remembered until they expire: a client sends the same token with
//! every request, and checking its signature again each time is the largest cost of a small
//! request. Only tokens that passed every check are kept, so a refusal is always worked out
//! afresh and says why.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{CLOCK_LEEWAY_SECS, Principal};

/// Most tokens remembered at once; past it the expired ones go, and if that is not enough,
/// all of them (they are verified again on their next use).
const MAX_REMEMBERED: usize = 10_000;

/// Verified tokens and who they are for.
#[derive(Default)]
pub(super) struct VerifiedTokens {
    by_token: Mutex<HashMap<Box<str>, Remembered>>,
}

struct Remembered {
    principal: Principal,
    /// The last second (Unix time) at which the token still passes the `exp` check.
    valid_until: u64,
}

impl VerifiedTokens {
    /// Who `token` is for, if it was verified before and is not expired at `now`.
    pub(super) fn get(&self, token: &str, now: u64) -> Option<Principal> {
        let mut by_token = self.by_token.lock().expect("verified tokens");
        let remembered = by_token.get(token)?;
        if now > remembered.valid_until {
            by_token.remove(token);
            return None;
        }
        Some(remembered.principal.clone())
    }

    /// Remembers that `token`, expiring at `exp`, was verified for `principal`. A token that
    /// passed `nbf` once passes it later too: time only moves forward.
    pub(super) fn remember(&self, token: &str, principal: &Principal, exp: u64, now: u64) {
        // The same comparison as the verifier's: expired once `exp` is more than the leeway past.
        let valid_until = exp.saturating_add(CLOCK_LEEWAY_SECS);
        let mut by_token = self.by_token.lock().expect("verified tokens");
        if by_token.len() >= MAX_REMEMBERED {
            by_token.retain(|_, remembered| remembered.valid_until >= now);
            if by_token.len() >= MAX_REMEMBERED {
                by_token.clear();
            }
        }
        by_token.insert(token.into(), Remembered { principal: principal.clone(), valid_until });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn principal(tenant: &str) -> Principal {
        Principal { subject: "s".into(), tenant: tenant.into(), scopes: BTreeSet::new() }
    }

    #[test]
    fn a_remembered_token_is_found_until_its_expiry_plus_the_leeway() {
        let tokens = VerifiedTokens::default();
        tokens.remember("t", &principal("acme"), 1_000, 900);
        assert_eq!(tokens.get("t", 1_000).map(|p| p.tenant), Some("acme".into()));
        assert!(tokens.get("t", 1_000 + CLOCK_LEEWAY_SECS).is_some());
        assert!(tokens.get("t", 1_001 + CLOCK_LEEWAY_SECS).is_none());
        // Forgotten once expired, not only hidden.
        assert!(tokens.get("t", 1_000).is_none());
        assert!(tokens.get("other", 900).is_none());
    }

    #[test]
    fn a_full_memory_drops_expired_tokens_first() {
        let tokens = VerifiedTokens::default();
        for n in 0..MAX_REMEMBERED {
            tokens.remember(&format!("old{n}"), &principal("acme"), 10, 0);
        }
        tokens.remember("kept", &principal("acme"), 1_000, 0);
        tokens.remember("new", &principal("acme"), 1_000, 100);
        assert!(tokens.get("new", 100).is_some());
        assert!(tokens.get("kept", 100).is_some());
        assert_eq!(tokens.by_token.lock().unwrap().len(), 2);
    }
}
