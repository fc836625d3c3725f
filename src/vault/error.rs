//! What can go wrong with vault data (exit 3) and with vault passwords (exit 64). Every message
//! names the file (and line, for a value inside a file) and the vault ids tried; none ever holds a
//! password or a byte of plaintext.

use std::fmt;
use std::path::Path;

use crate::error::OrcError;

/// Where vault data came from, for messages: a file (or standard input), and for an encrypted
/// value inside a file, the line its `$ANSIBLE_VAULT` header is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as the user named it, or `<stdin>`.
    pub path: String,
    /// For a value inside a file: the line of its header (1-based).
    pub line: Option<usize>,
}

impl Origin {
    /// A whole file.
    pub fn file(path: impl AsRef<Path>) -> Origin {
        Origin { path: path.as_ref().display().to_string(), line: None }
    }

    /// A value inside a file whose vault header is on `line` (1-based).
    pub fn inline(path: impl AsRef<Path>, line: usize) -> Origin {
        Origin { path: path.as_ref().display().to_string(), line: Some(line) }
    }

    /// Standard input.
    pub fn stdin() -> Origin {
        Origin { path: "<stdin>".into(), line: None }
    }

    /// `path:line` of line `n` (0 = the header) of the vault text.
    pub(crate) fn line_of(&self, n: usize) -> String {
        format!("{}:{}", self.path, self.line.unwrap_or(1) + n)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// Vault ids, printed as `'dev', 'prod'`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdList(pub Vec<String>);

impl fmt::Display for IdList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|id| format!("'{id}'")).collect();
        f.write_str(&quoted.join(", "))
    }
}

impl IdList {
    /// "id" or "ids", to agree with the list.
    fn noun(&self) -> &'static str {
        if self.0.len() == 1 {
            "vault id"
        } else {
            "vault ids"
        }
    }
}

/// Vault data that cannot be decrypted (or encrypted): bad input, exit 3.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The data does not start with the vault header.
    #[error("{origin} is not vault-encrypted: it does not start with $ANSIBLE_VAULT")]
    NotEncrypted {
        /// Where the data came from.
        origin: Origin,
    },
    /// The header line has too few fields.
    #[error("{origin}: the vault header {header:?} is not valid; expected $ANSIBLE_VAULT;1.1;AES256 or $ANSIBLE_VAULT;1.2;AES256;LABEL")]
    BadHeader {
        /// Where the data came from.
        origin: Origin,
        /// The header line as found.
        header: String,
    },
    /// A format version other than 1.1 and 1.2.
    #[error("{origin}: vault format version {version} is not supported; orc reads 1.1 and 1.2, the versions ansible-vault writes")]
    UnknownVersion {
        /// Where the data came from.
        origin: Origin,
        /// The version field.
        version: String,
    },
    /// A cipher other than AES256.
    #[error("{origin}: vault cipher {cipher} is not supported; orc reads AES256, the cipher ansible-vault writes")]
    UnknownCipher {
        /// Where the data came from.
        origin: Origin,
        /// The cipher field.
        cipher: String,
    },
    /// A character that is not a hex digit in the body.
    #[error("{at}: the vault text is not hexadecimal (column {col}); the file was altered or is not a vault file")]
    NotHex {
        /// `path:line` of the offending line.
        at: String,
        /// 1-based column of the first bad character.
        col: usize,
    },
    /// The body is cut short or its parts are malformed.
    #[error("{origin}: the vault text is truncated or damaged: {what}")]
    Truncated {
        /// Where the data came from.
        origin: Origin,
        /// Which part is wrong.
        what: &'static str,
    },
    /// No password given opens the data.
    #[error("{origin}: decryption failed with {} {tried}: a wrong password, or the data was altered (the HMAC does not match)", tried.noun())]
    WrongPassword {
        /// Where the data came from.
        origin: Origin,
        /// The vault ids whose passwords were tried.
        tried: IdList,
    },
    /// The data names a vault id no password was given for, and no other password opens it.
    #[error("{origin} is encrypted with vault id '{label}', and no password was given for that vault id{}",
        if tried.0.is_empty() { String::new() } else { format!(" (the passwords of {} {tried} do not decrypt it)", tried.noun()) })]
    MissingVaultId {
        /// Where the data came from.
        origin: Origin,
        /// The label in the header.
        label: String,
        /// The other vault ids tried.
        tried: IdList,
    },
    /// Encrypted data, and no password at all.
    #[error("{origin} is vault-encrypted, and no vault password was given")]
    NoSecrets {
        /// Where the data came from.
        origin: Origin,
    },
    /// Data to encrypt that is already encrypted.
    #[error("{origin} is already vault-encrypted")]
    AlreadyEncrypted {
        /// Where the data came from.
        origin: Origin,
    },
    /// The HMAC matched but the padding is invalid: the data was encrypted wrongly.
    #[error(
        "{origin}: the data decrypted with vault id '{id}' has invalid padding; it was not written by ansible-vault"
    )]
    BadPadding {
        /// Where the data came from.
        origin: Origin,
        /// The vault id whose password matched the HMAC.
        id: String,
    },
}

impl VaultError {
    /// What would be valid, for the `= help:` line.
    pub fn help(&self) -> Option<String> {
        match self {
            VaultError::WrongPassword { .. } => Some(
                "check the vault password source (--vault-id LABEL@SOURCE, --vault-password-file, ANSIBLE_VAULT_PASSWORD_FILE)"
                    .into(),
            ),
            VaultError::MissingVaultId { label, .. } => {
                Some(format!("give its password with --vault-id {label}@FILE (or {label}@prompt)"))
            }
            VaultError::NoSecrets { .. } => {
                Some("give a password with --vault-id, --vault-password-file, --ask-vault-pass or ANSIBLE_VAULT_PASSWORD_FILE".into())
            }
            _ => None,
        }
    }
}

impl From<VaultError> for OrcError {
    fn from(e: VaultError) -> OrcError {
        let help = e.help();
        let err = OrcError::input(e.to_string());
        match help {
            Some(h) => err.help(h),
            None => err,
        }
    }
}

/// A vault password that could not be obtained, or vault ids given wrongly: a usage error, exit 64.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// A vault id with `;` (it would break the header).
    #[error("'{spec}' is not a valid vault id: the character ';' is not allowed in vault ids")]
    InvalidVaultId {
        /// The `--vault-id` value.
        spec: String,
    },
    /// The password file does not exist.
    #[error("the vault password file {path} was not found (vault id '{id}')")]
    FileMissing {
        /// The file.
        path: String,
        /// The vault id it was given for.
        id: String,
    },
    /// The password file cannot be read.
    #[error("could not read the vault password file {path} (vault id '{id}'): {source}")]
    FileUnreadable {
        /// The file.
        path: String,
        /// The vault id it was given for.
        id: String,
        /// Why.
        source: std::io::Error,
    },
    /// The password file is vault-encrypted and the passwords given before it do not open it.
    #[error("the vault password file {path} (vault id '{id}') is itself vault-encrypted, and: {source}")]
    EncryptedFile {
        /// The file.
        path: String,
        /// The vault id it was given for.
        id: String,
        /// Why it did not decrypt.
        source: Box<VaultError>,
    },
    /// The password is empty.
    #[error("the vault password from {from} is empty (vault id '{id}')")]
    Empty {
        /// Its source: `file F`, `script S`, `the prompt`.
        from: String,
        /// The vault id.
        id: String,
    },
    /// The password script could not be started.
    #[error("could not run the vault password script {path} (vault id '{id}'): {source}")]
    ScriptStart {
        /// The script.
        path: String,
        /// The vault id.
        id: String,
        /// Why.
        source: std::io::Error,
    },
    /// The password script failed.
    #[error("the vault password script {path} failed ({status}) for vault id '{id}'{}", stderr_suffix(stderr))]
    ScriptFailed {
        /// The script.
        path: String,
        /// The vault id.
        id: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr (client scripts only; others print to the terminal).
        stderr: String,
    },
    /// A client script said (exit 2) that it has no password for the vault id.
    #[error("the vault password client script {path} has no password for vault id '{id}'{}", stderr_suffix(stderr))]
    ClientUnknownId {
        /// The script.
        path: String,
        /// The vault id.
        id: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// A prompt is needed and there is no terminal.
    #[error("a vault password is needed for vault id '{id}', and there is no terminal to ask for it")]
    NoTerminal {
        /// The vault id.
        id: String,
    },
    /// Reading from the terminal failed (end of input, ...).
    #[error("could not read the vault password for vault id '{id}' from the terminal: {source}")]
    Prompt {
        /// The vault id.
        id: String,
        /// Why.
        source: std::io::Error,
    },
    /// A new password and its confirmation differ.
    #[error("the vault passwords typed for vault id '{id}' do not match")]
    Mismatch {
        /// The vault id.
        id: String,
    },
    /// No password source at all.
    #[error("a vault password is required and none was given")]
    NoPassword,
    /// `--encrypt-vault-id` names no vault id given.
    #[error("--encrypt-vault-id {id} matches none of the vault ids given ({known})")]
    EncryptIdUnknown {
        /// The requested id.
        id: String,
        /// The ids given.
        known: IdList,
    },
    /// Several vault ids and no `--encrypt-vault-id`.
    #[error("the vault ids {known} are all available to encrypt with; choose one with --encrypt-vault-id")]
    EncryptIdAmbiguous {
        /// The ids given.
        known: IdList,
    },
}

/// `: <first line of stderr>` when a script said something, shortened.
fn stderr_suffix(stderr: &str) -> String {
    let line = stderr.trim();
    if line.is_empty() {
        return String::new();
    }
    let short: String = line.chars().take(200).collect();
    format!(": {short}")
}

impl PasswordError {
    /// What would be valid, for the `= help:` line.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            PasswordError::NoTerminal { .. } | PasswordError::NoPassword => Some(
                "use --vault-password-file FILE, --vault-id LABEL@FILE or ANSIBLE_VAULT_PASSWORD_FILE (FILE: a file holding the password, or an executable printing it)",
            ),
            _ => None,
        }
    }
}

impl From<PasswordError> for OrcError {
    fn from(e: PasswordError) -> OrcError {
        match e.help() {
            Some(h) => OrcError::Usage(format!("{e}\n  = help: {h}")),
            None => OrcError::Usage(e.to_string()),
        }
    }
}
