//! The vault passwords of a run, and how they are chosen as ansible-core chooses them
//! (docs/vault.md): to decrypt, the passwords whose vault id is the data's label first, then
//! every other one in the order given (unless vault id matching is on); to encrypt, the one
//! `--encrypt-vault-id` names, or the only one.

use zeroize::Zeroizing;

use super::cipher::{self, OpenError};
use super::envelope::{self, DEFAULT_ID};
use super::error::{IdList, Origin, PasswordError, VaultError};
use super::secret::VaultSecret;

/// The vault passwords given for a run, in order.
#[derive(Debug, Clone)]
pub struct Keyring {
    secrets: Vec<VaultSecret>,
    /// The vault id of data without a label (`vault_identity`, normally `default`).
    default_id: String,
    /// Only the password of the data's own vault id is tried (`vault_id_match`).
    id_match: bool,
}

/// Decrypted data and the password that opened it.
#[derive(Debug)]
pub struct Decrypted<'a> {
    /// The plaintext (zeroed when dropped).
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The password that decrypted it.
    pub secret: &'a VaultSecret,
    /// The label of the data's header (None for format 1.1).
    pub label: Option<String>,
}

impl Keyring {
    /// The passwords `secrets`; `default_id` is the vault id of unlabelled data, `id_match` limits
    /// decryption to the data's own vault id.
    pub fn new(secrets: Vec<VaultSecret>, default_id: &str, id_match: bool) -> Keyring {
        Keyring { secrets, default_id: default_id.to_string(), id_match }
    }

    /// Whether no password was given.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The passwords, in order.
    pub fn secrets(&self) -> &[VaultSecret] {
        &self.secrets
    }

    /// Adds a password at the end.
    pub fn push(&mut self, secret: VaultSecret) {
        self.secrets.push(secret);
    }

    /// The vault ids given, in order.
    pub fn ids(&self) -> IdList {
        IdList(self.secrets.iter().map(|s| s.id().to_string()).collect())
    }

    /// Decrypts vault text. Format errors come before any password is tried; a wrong password
    /// costs one key derivation per password tried.
    pub fn decrypt(&self, data: &[u8], origin: &Origin) -> Result<Decrypted<'_>, VaultError> {
        let env = envelope::parse(data, origin)?;
        if self.secrets.is_empty() {
            return Err(VaultError::NoSecrets { origin: origin.clone() });
        }
        let label = env.label.clone().unwrap_or_else(|| self.default_id.clone());
        let own = self.secrets.iter().filter(|s| s.id() == label);
        let others = self.secrets.iter().filter(|s| s.id() != label && !self.id_match);
        let mut tried = Vec::new();
        for secret in own.clone().chain(others) {
            match cipher::open(&env.payload, secret.password()) {
                Ok(plaintext) => return Ok(Decrypted { plaintext, secret, label: env.label }),
                Err(OpenError::HmacMismatch) => {
                    if !tried.contains(&secret.id().to_string()) {
                        tried.push(secret.id().to_string());
                    }
                }
                Err(OpenError::BadPadding) => {
                    return Err(VaultError::BadPadding { origin: origin.clone(), id: secret.id().to_string() })
                }
            }
        }
        if own.count() == 0 {
            return Err(VaultError::MissingVaultId { origin: origin.clone(), label, tried: IdList(tried) });
        }
        Err(VaultError::WrongPassword { origin: origin.clone(), tried: IdList(tried) })
    }

    /// The password to encrypt with: the one whose id is `encrypt_id`, else the only one given
    /// (several without `--encrypt-vault-id` is an error, as in ansible-vault).
    pub fn encrypt_secret(&self, encrypt_id: Option<&str>) -> Result<&VaultSecret, PasswordError> {
        match encrypt_id {
            Some(id) => self
                .secrets
                .iter()
                .find(|s| s.id() == id)
                .ok_or_else(|| PasswordError::EncryptIdUnknown { id: id.to_string(), known: self.ids() }),
            None => match self.secrets.as_slice() {
                [] => Err(PasswordError::NoPassword),
                [one] => Ok(one),
                _ => Err(PasswordError::EncryptIdAmbiguous { known: self.ids() }),
            },
        }
    }
}

/// Encrypts `plaintext` with `secret` for vault id `id` (format 1.2 with that label unless it is
/// `default`), with a fresh random salt or the given one (`vault_encrypt_salt`, whose UTF-8 bytes
/// ansible-core uses as they are). Data that is already vault text is refused.
pub fn encrypt(
    plaintext: &[u8],
    secret: &VaultSecret,
    id: &str,
    salt: Option<&[u8]>,
    origin: &Origin,
) -> Result<String, VaultError> {
    if envelope::is_encrypted(plaintext) {
        return Err(VaultError::AlreadyEncrypted { origin: origin.clone() });
    }
    let fresh;
    let salt = match salt.filter(|s| !s.is_empty()) {
        Some(s) => s,
        None => {
            fresh = random_salt();
            &fresh[..]
        }
    };
    let payload = cipher::seal(plaintext, secret.password(), salt);
    Ok(envelope::format(&payload, if id.is_empty() { DEFAULT_ID } else { id }))
}

/// 32 bytes from the operating system's random source (`/dev/urandom`, as Python's
/// `os.urandom`), falling back to a time-seeded generator only if that cannot be read.
fn random_salt() -> [u8; cipher::SALT_LEN] {
    use std::io::Read;
    let mut salt = [0u8; cipher::SALT_LEN];
    let filled = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut salt)).is_ok();
    if !filled {
        let mut rng = fastrand::Rng::new();
        rng.fill(&mut salt);
    }
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(id: &str, pw: &str) -> VaultSecret {
        VaultSecret::new(id, Zeroizing::new(pw.as_bytes().to_vec()))
    }

    fn ring(secrets: &[(&str, &str)], id_match: bool) -> Keyring {
        Keyring::new(secrets.iter().map(|(i, p)| secret(i, p)).collect(), "default", id_match)
    }

    fn enc(id: &str, pw: &str) -> String {
        encrypt(b"top secret\n", &secret(id, pw), id, None, &Origin::file("f")).unwrap()
    }

    #[test]
    fn tries_the_label_first_then_every_other_password() {
        let o = Origin::file("f");
        let v = enc("prod", "p2");
        let r = ring(&[("dev", "p1"), ("prod", "p2")], false);
        let d = r.decrypt(v.as_bytes(), &o).unwrap();
        assert_eq!((&d.plaintext[..], d.secret.id(), d.label.as_deref()), (&b"top secret\n"[..], "prod", Some("prod")));
        // The label names no password given: the others are tried, and one works.
        let r = ring(&[("dev", "p1"), ("other", "p2")], false);
        assert_eq!(r.decrypt(v.as_bytes(), &o).unwrap().secret.id(), "other");
        // ... unless vault ids must match.
        let r = ring(&[("dev", "p1"), ("other", "p2")], true);
        let e = r.decrypt(v.as_bytes(), &o).unwrap_err().to_string();
        assert_eq!(e, "f is encrypted with vault id 'prod', and no password was given for that vault id");
    }

    #[test]
    fn wrong_and_missing_passwords_name_the_ids_tried_never_the_password() {
        let o = Origin::file("f");
        let v = enc("default", "right");
        let e = ring(&[("default", "wrong"), ("dev", "wrong2")], false).decrypt(v.as_bytes(), &o).unwrap_err();
        let msg = e.to_string();
        assert_eq!(msg, "f: decryption failed with vault ids 'default', 'dev': a wrong password, or the data was altered (the HMAC does not match)");
        assert!(!msg.contains("wrong2"));
        let v = enc("prod", "right");
        let e = ring(&[("dev", "wrong")], false).decrypt(v.as_bytes(), &o).unwrap_err().to_string();
        assert_eq!(e, "f is encrypted with vault id 'prod', and no password was given for that vault id (the passwords of vault id 'dev' do not decrypt it)");
        let e = ring(&[], false).decrypt(v.as_bytes(), &o).unwrap_err().to_string();
        assert_eq!(e, "f is vault-encrypted, and no vault password was given");
    }

    #[test]
    fn chooses_the_encryption_password_as_ansible_vault() {
        let r = ring(&[("dev", "1"), ("prod", "2")], false);
        assert_eq!(r.encrypt_secret(Some("prod")).unwrap().id(), "prod");
        assert!(matches!(r.encrypt_secret(None), Err(PasswordError::EncryptIdAmbiguous { .. })));
        assert_eq!(
            r.encrypt_secret(Some("qa")).unwrap_err().to_string(),
            "--encrypt-vault-id qa matches none of the vault ids given ('dev', 'prod')"
        );
        assert_eq!(ring(&[("dev", "1")], false).encrypt_secret(None).unwrap().id(), "dev");
    }

    #[test]
    fn refuses_to_encrypt_twice_and_salts_freshly() {
        let s = secret("default", "pw");
        let once = encrypt(b"x", &s, "default", None, &Origin::file("f")).unwrap();
        assert!(encrypt(once.as_bytes(), &s, "default", None, &Origin::file("f")).is_err());
        assert_ne!(once, encrypt(b"x", &s, "default", None, &Origin::file("f")).unwrap());
        let fixed = |salt: &[u8]| encrypt(b"x", &s, "default", Some(salt), &Origin::file("f")).unwrap();
        assert_eq!(fixed(b"salt"), fixed(b"salt"));
    }
}
