//! The tenant every stored row and every running execution belongs to.

use crate::auth::Principal;

/// A tenant name taken from a verified token (or from the store, for work
/// the server does on its own): the key of every stored row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant of a verified principal.
    pub fn of(principal: &Principal) -> Self {
        Self(principal.tenant.clone())
    }

    /// A tenant read back from the store.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// The tenant's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
