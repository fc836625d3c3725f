//! The vault passwords of a run and the decryption the loaders call: whole vault files (the YAML
//! loader for group_vars, vars_files, include_vars, role vars, `-e @file`; `lookup('file')`,
//! `copy`/`template` sources) and inline `!vault` values. Every plaintext is registered for
//! censoring as it is decrypted.
//!
//! When passwords were given, data is decrypted where it is read, so a wrong password or
//! damaged data is exit 3 before anything runs. An inline value whose vault id has no password
//! (or any inline value when no password was given at all) stays locked: a placeholder that is
//! an error only where a template or a task uses it, so a play that never touches the secret
//! needs no password (docs/vault.md).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use zeroize::Zeroizing;

use crate::error::{Loc, OrcError};
use crate::vault::{Keyring, Origin, VaultError};

/// The run's passwords (none until ops installs them).
static KEYRING: RwLock<Option<Keyring>> = RwLock::new(None);

/// Why each locked inline value could not be decrypted, indexed by its placeholder.
static LOCKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether any value is locked (the check of rendered values is skipped otherwise).
static ANY_LOCKED: AtomicBool = AtomicBool::new(false);

/// The plaintexts of the inline `!vault` values decrypted this run, for the `vault_encrypted`
/// test (src/template/tests.rs): orc's values carry no origin, so a string equal to one of them
/// counts as vault-encrypted.
static VAULTED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether `s` is the value of an inline `!vault` scalar: its plaintext, or the placeholder of
/// one that stays locked (Ansible's `vault_encrypted` test; docs/differences.md).
pub fn is_vaulted(s: &str) -> bool {
    if s.starts_with(LOCKED_PREFIX) {
        return true;
    }
    VAULTED.lock().is_ok_and(|v| v.iter().any(|p| p == s))
}

/// Locked placeholders look like this, with the index after it.
const LOCKED_PREFIX: &str = "\u{1}orc-locked-vault-value:";

/// Sets the run's vault passwords (once per run, before anything is loaded).
pub fn install_keyring(keyring: Keyring) {
    if let Ok(mut k) = KEYRING.write() {
        *k = Some(keyring);
    }
}

fn decrypt(data: &[u8], origin: &Origin) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let guard = KEYRING.read().map_err(|_| VaultError::NoSecrets { origin: origin.clone() })?;
    match guard.as_ref() {
        Some(ring) => ring.decrypt(data, origin).map(|d| d.plaintext),
        None => {
            // The format is checked even without a password: a damaged file is named as such.
            Keyring::new(Vec::new(), crate::vault::DEFAULT_ID, false).decrypt(data, origin).map(|d| d.plaintext)
        }
    }
}

/// Decrypts a whole vault file's bytes (the caller checked `vault::is_encrypted`), registering
/// the plaintext for censoring.
pub fn open_bytes(path: &Path, data: &[u8]) -> Result<Zeroizing<Vec<u8>>, OrcError> {
    let plain = decrypt(data, &Origin::file(path))?;
    if let Ok(text) = std::str::from_utf8(&plain) {
        super::register(text);
    }
    Ok(plain)
}

/// Decrypts a vault file holding YAML: its text, for the YAML loader (which registers each
/// string value it then parses).
pub fn open_file_text(path: &Path, text: &str) -> Result<String, OrcError> {
    let plain = decrypt(text.as_bytes(), &Origin::file(path))?;
    String::from_utf8(plain.to_vec()).map_err(|_| {
        OrcError::input(format!("{}: the decrypted vault file is not UTF-8 text, so it cannot be YAML", path.display()))
    })
}

/// The value of an inline `!vault` scalar whose vault header is on line `header_line` of the
/// file of `loc`: the plaintext (registered), or a locked placeholder when no password given is
/// for its vault id. A wrong password, damaged data or an unknown format is an error at once.
pub fn decrypt_inline(vault_text: &str, loc: &Loc, header_line: usize) -> Result<String, OrcError> {
    let origin = Origin::inline(&loc.file.path, header_line);
    match decrypt(vault_text.trim_start().as_bytes(), &origin) {
        Ok(plain) => {
            let text = String::from_utf8(plain.to_vec())
                .map_err(|_| OrcError::input(format!("{origin}: the decrypted `!vault` value is not UTF-8 text")))?;
            super::register(&text);
            if let Ok(mut v) = VAULTED.lock() {
                if !v.contains(&text) {
                    v.push(text.clone());
                }
            }
            Ok(text)
        }
        Err(e @ (VaultError::NoSecrets { .. } | VaultError::MissingVaultId { .. })) => {
            let msg = match e.help() {
                Some(h) => format!("{e} ({h})"),
                None => e.to_string(),
            };
            let Ok(mut locked) = LOCKED.lock() else { return Err(e.into()) };
            locked.push(msg);
            ANY_LOCKED.store(true, Ordering::Relaxed);
            Ok(format!("{LOCKED_PREFIX}{}", locked.len() - 1))
        }
        Err(e) => Err(e.into()),
    }
}

/// For a locked placeholder: the error to report where it is used; `None` for any other string.
pub fn locked_error(s: &str) -> Option<String> {
    let idx: usize = s.strip_prefix(LOCKED_PREFIX)?.parse().ok()?;
    let locked = LOCKED.lock().ok()?;
    Some(locked.get(idx).cloned().unwrap_or_else(|| "a `!vault` value could not be decrypted".into()))
}

/// The error of the first locked placeholder inside a rendered value, if any.
pub fn find_locked(v: &serde_json::Value) -> Option<String> {
    if !ANY_LOCKED.load(Ordering::Relaxed) {
        return None;
    }
    match v {
        serde_json::Value::String(s) => locked_error(s),
        serde_json::Value::Array(items) => items.iter().find_map(find_locked),
        serde_json::Value::Object(map) => map.values().find_map(find_locked),
        _ => None,
    }
}
