//! The `password_hash` filter: crypt(3)-style hashes as Ansible makes them with passlib, with
//! Ansible's default rounds (656000 for sha512, 535000 for sha256) so the same salt gives the same
//! string as Ansible.

use minijinja::value::{Kwargs, Value};
use minijinja::Error;

use super::filters::err;
use super::pyfmt;

/// Characters allowed in a crypt salt.
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `password_hash(hashtype='sha512', salt=None, salt_size=None, rounds=None)`.
pub(crate) fn password_hash(
    password: Value,
    hashtype: Option<String>,
    salt: Option<Value>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let salt = match salt {
        Some(s) => Some(s),
        None => kwargs.get::<Option<Value>>("salt")?,
    };
    let salt_size: Option<usize> = kwargs.get("salt_size")?;
    let rounds: Option<usize> = kwargs.get("rounds")?;
    let _: Option<Value> = kwargs.get("ident")?;
    kwargs.assert_all_used()?;
    let password = pyfmt::to_str(&password);
    let hashtype = hashtype.unwrap_or_else(|| "sha512".into());
    let salt = match salt.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) => pyfmt::to_str(&s),
        // sha256/sha512 crypt use at most 16 salt characters; a larger size changes nothing.
        None => random_salt(salt_size.unwrap_or(16).min(16)),
    };
    if !salt.bytes().all(|b| SALT_CHARS.contains(&b)) {
        return Err(err(format!("password_hash: invalid characters in salt '{salt}' (allowed: ./0-9A-Za-z)")));
    }
    crypt(&password, &hashtype, &salt, rounds)
}

/// A crypt(3) hash of `password` with `salt` (`sha512`/`sha512_crypt` or `sha256`/
/// `sha256_crypt`), with passlib's default rounds unless given.
pub(crate) fn crypt(password: &str, hashtype: &str, salt: &str, rounds: Option<usize>) -> Result<String, Error> {
    match hashtype {
        "sha512" | "sha512_crypt" => {
            let rounds = rounds.unwrap_or(656_000);
            let salt = &salt[..salt.len().min(16)];
            let params = sha_crypt::Sha512Params::new(rounds)
                .map_err(|_| err("password_hash: rounds must be between 1000 and 999999999"))?;
            let hash = sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                .map_err(|e| err(format!("password_hash: {e:?}")))?;
            Ok(format_crypt("6", rounds, salt, &hash))
        }
        "sha256" | "sha256_crypt" => {
            let rounds = rounds.unwrap_or(535_000);
            let salt = &salt[..salt.len().min(16)];
            let params = sha_crypt::Sha256Params::new(rounds)
                .map_err(|_| err("password_hash: rounds must be between 1000 and 999999999"))?;
            let hash = sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                .map_err(|e| err(format!("password_hash: {e:?}")))?;
            Ok(format_crypt("5", rounds, salt, &hash))
        }
        other => Err(err(format!("password_hash: unsupported hash type '{other}' (orc supports sha512 and sha256)"))),
    }
}

/// `$id$rounds=N$salt$hash`, leaving out the rounds when they are crypt's default 5000.
fn format_crypt(id: &str, rounds: usize, salt: &str, hash: &str) -> String {
    if rounds == 5000 {
        format!("${id}${salt}${hash}")
    } else {
        format!("${id}$rounds={rounds}${salt}${hash}")
    }
}

/// A random salt of `len` crypt characters.
pub(crate) fn random_salt(len: usize) -> String {
    (0..len).map(|_| SALT_CHARS[fastrand::usize(..SALT_CHARS.len())] as char).collect()
}
