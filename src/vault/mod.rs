//! ansible-vault compatible encryption (docs/vault.md): the vault text format 1.1/1.2 with the
//! AES256 cipher, byte-compatible both ways with ansible-core; the sources of vault passwords;
//! and the file handling `orc vault` needs (private atomic writes, a private scratch directory
//! for the editor).
//!
//! Layers, from the bottom: `hex` and `cipher` (the cryptography), `envelope` (the text around
//! it), `keyring` (which password opens what), `password` and `config` (where passwords come
//! from), `files` and `editor` (what the command writes). Nothing here prints: warnings are
//! returned, prompts go through a [`Prompter`] the caller gives.

mod cipher;
mod config;
mod editor;
mod envelope;
mod error;
mod files;
mod hex;
mod keyring;
mod password;
mod secret;

pub use config::VaultConfig;
pub use editor::{editor_command, run_editor, Scratch};
pub use envelope::{is_encrypted, DEFAULT_ID, HEADER};
pub use error::{IdList, Origin, PasswordError, VaultError};
pub use files::{write_atomic, Mode};
pub use keyring::{encrypt, Decrypted, Keyring};
pub use password::{load, Loaded, Prompter, Purpose, Request, Source, VaultId};
pub use secret::VaultSecret;
