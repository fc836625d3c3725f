//! One vault password and the vault id (label) it was given for.

use std::fmt;

use zeroize::Zeroizing;

/// A vault password with its vault id. The bytes are zeroed when dropped and never printed
/// (`Debug` shows the id only).
#[derive(Clone)]
pub struct VaultSecret {
    id: String,
    password: Zeroizing<Vec<u8>>,
}

impl VaultSecret {
    /// A password for vault id `id`.
    pub fn new(id: impl Into<String>, password: Zeroizing<Vec<u8>>) -> VaultSecret {
        VaultSecret { id: id.into(), password }
    }

    /// The vault id (label) this password was given for.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The password bytes, for the key derivation only.
    pub(crate) fn password(&self) -> &[u8] {
        &self.password
    }
}

impl fmt::Debug for VaultSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultSecret({}, ***)", self.id)
    }
}
