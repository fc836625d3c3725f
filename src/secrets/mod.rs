//! Secrets during a run (docs/vault.md, docs/architecture.md "Secrets"): the run's vault
//! passwords and the decryption the loaders call (`run_keyring`), the run-wide registry of secret
//! plaintexts with the censor every output goes through (`censor`, `writer`), and `no_log`
//! scopes (`no_log`).
//!
//! Values stay plain `serde_json::Value`s in the engine: what marks a value as secret is that its
//! text is in the registry, so every printer, the tracing layer and error reports, all writing
//! through [`CensorWriter`], replace it wherever it appears.

mod censor;
mod no_log;
mod run_keyring;
mod writer;

pub use censor::{censor, censor_bytes, register, register_result, register_value, MASK, MIN_SECRET_LEN};
pub use no_log::{in_no_log, NoLogScope, NO_LOG_TRACE};
pub use run_keyring::{
    decrypt_inline, find_locked, install_keyring, is_vaulted, locked_error, open_bytes, open_file_text,
};
pub use writer::CensorWriter;
