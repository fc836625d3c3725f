//! The vault settings Ansible reads from its environment variables and ansible.cfg's
//! `[defaults]` section. The environment wins over ansible.cfg, as in Ansible.
//!
//! ansible.cfg: [`VaultConfig::resolve`] takes a lookup of `[defaults]` keys; `orc play`, `orc run`
//! and `orc vault` pass `Settings::vault_ini` (src/config/mod.rs), which resolves
//! `vault_password_file` relative to the directory of the ansible.cfg it came from and expands `~`,
//! as Ansible's `type: path` does. [`VaultConfig::from_env`] reads the environment alone.

use std::path::PathBuf;

use super::envelope::DEFAULT_ID;

/// Vault settings from the environment and ansible.cfg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultConfig {
    /// The vault id of passwords given without a label and of 1.1 data
    /// (`ANSIBLE_VAULT_IDENTITY`, `vault_identity`; default `default`).
    pub identity: String,
    /// Vault ids used as if given first with `--vault-id`
    /// (`ANSIBLE_VAULT_IDENTITY_LIST`, `vault_identity_list`: comma-separated).
    pub identity_list: Vec<String>,
    /// A password file used as if given last with `--vault-password-file`
    /// (`ANSIBLE_VAULT_PASSWORD_FILE`, `vault_password_file`).
    pub password_file: Option<PathBuf>,
    /// The vault id to encrypt with when `--encrypt-vault-id` is not given
    /// (`ANSIBLE_VAULT_ENCRYPT_IDENTITY`, `vault_encrypt_identity`).
    pub encrypt_identity: Option<String>,
    /// Only the password of data's own vault id is tried (`ANSIBLE_VAULT_ID_MATCH`, `vault_id_match`).
    pub id_match: bool,
    /// Ask for a vault password as if `--ask-vault-pass` were given (`ANSIBLE_ASK_VAULT_PASS`,
    /// `ask_vault_pass`).
    pub ask_vault_pass: bool,
    /// A fixed salt for encryption instead of a random one (`ANSIBLE_VAULT_ENCRYPT_SALT`,
    /// `vault_encrypt_salt`): only for reproducible output, it weakens nothing else.
    pub encrypt_salt: Option<String>,
}

impl Default for VaultConfig {
    fn default() -> Self {
        VaultConfig {
            identity: DEFAULT_ID.to_string(),
            identity_list: Vec::new(),
            password_file: None,
            encrypt_identity: None,
            id_match: false,
            ask_vault_pass: false,
            encrypt_salt: None,
        }
    }
}

/// One setting: its environment variable and its ansible.cfg key.
struct Setting {
    env: &'static str,
    ini: &'static str,
}

const IDENTITY: Setting = Setting { env: "ANSIBLE_VAULT_IDENTITY", ini: "vault_identity" };
const IDENTITY_LIST: Setting = Setting { env: "ANSIBLE_VAULT_IDENTITY_LIST", ini: "vault_identity_list" };
const PASSWORD_FILE: Setting = Setting { env: "ANSIBLE_VAULT_PASSWORD_FILE", ini: "vault_password_file" };
const ENCRYPT_IDENTITY: Setting = Setting { env: "ANSIBLE_VAULT_ENCRYPT_IDENTITY", ini: "vault_encrypt_identity" };
const ID_MATCH: Setting = Setting { env: "ANSIBLE_VAULT_ID_MATCH", ini: "vault_id_match" };
const ASK_VAULT_PASS: Setting = Setting { env: "ANSIBLE_ASK_VAULT_PASS", ini: "ask_vault_pass" };
const ENCRYPT_SALT: Setting = Setting { env: "ANSIBLE_VAULT_ENCRYPT_SALT", ini: "vault_encrypt_salt" };

impl VaultConfig {
    /// The settings from this process's environment only.
    pub fn from_env() -> VaultConfig {
        VaultConfig::resolve(|k| std::env::var(k).ok(), |_| None)
    }

    /// The settings from `env` (environment variables) over `ini` (ansible.cfg `[defaults]`
    /// keys); empty values count as unset.
    pub fn resolve(env: impl Fn(&str) -> Option<String>, ini: impl Fn(&str) -> Option<String>) -> VaultConfig {
        let get = |s: &Setting| env(s.env).or_else(|| ini(s.ini)).filter(|v| !v.trim().is_empty());
        let d = VaultConfig::default();
        VaultConfig {
            identity: get(&IDENTITY).map(|v| v.trim().to_string()).unwrap_or(d.identity),
            identity_list: get(&IDENTITY_LIST)
                .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
            password_file: get(&PASSWORD_FILE).map(|v| expand_home(v.trim())),
            encrypt_identity: get(&ENCRYPT_IDENTITY).map(|v| v.trim().to_string()),
            id_match: get(&ID_MATCH).is_some_and(|v| boolean(&v)),
            ask_vault_pass: get(&ASK_VAULT_PASS).is_some_and(|v| boolean(&v)),
            encrypt_salt: get(&ENCRYPT_SALT),
        }
    }
}

/// Ansible's boolean strings (`yes`, `on`, `1`, `true`, `t`, `y`, any case).
fn boolean(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "y" | "yes" | "on" | "1" | "true" | "t")
}

/// `~/x` to `$HOME/x` (Ansible expands `~` in password paths; a shell does not expand it after
/// `LABEL@`).
pub(crate) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_over_ansible_cfg() {
        let env = |k: &str| match k {
            "ANSIBLE_VAULT_IDENTITY_LIST" => Some("dev@a, prod@b".to_string()),
            "ANSIBLE_VAULT_ID_MATCH" => Some("True".to_string()),
            _ => None,
        };
        let ini = |k: &str| match k {
            "vault_identity_list" => Some("x@y".to_string()),
            "vault_password_file" => Some("/etc/pw".to_string()),
            _ => None,
        };
        let c = VaultConfig::resolve(env, ini);
        assert_eq!(c.identity_list, vec!["dev@a", "prod@b"]);
        assert_eq!(c.password_file, Some(PathBuf::from("/etc/pw")));
        assert!(c.id_match);
        assert_eq!(c.identity, "default");
        assert_eq!(VaultConfig::resolve(|_| None, |_| None), VaultConfig::default());
    }
}
