//! The AES256 vault cipher, as ansible-core's `VaultAES256` (docs/vault.md): PBKDF2-HMAC-SHA256
//! with 10,000 iterations derives 80 bytes from the password and a salt (an AES-256 key, an
//! HMAC-SHA256 key and a 16-byte counter block); the PKCS#7-padded plaintext is encrypted with
//! AES-256 in CTR mode; an HMAC-SHA256 of the ciphertext authenticates it. Decryption checks the
//! HMAC, in constant time, before decrypting anything.

use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::hex;

/// PBKDF2 iterations, fixed by the format.
const ITERATIONS: u32 = 10_000;
/// AES block size: the padding unit, and the length of the counter block.
const BLOCK: usize = 16;
/// Bytes of the AES key and of the HMAC key.
const KEY: usize = 32;
/// Length of the salt orc writes (ansible-core writes 32 random bytes).
pub(crate) const SALT_LEN: usize = 32;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// The keys derived from a password and a salt; zeroed when dropped.
struct Keys(Zeroizing<[u8; 2 * KEY + BLOCK]>);

impl Keys {
    /// Runs PBKDF2 (the expensive step: it is what makes guessing passwords slow).
    fn derive(password: &[u8], salt: &[u8]) -> Keys {
        let mut out = Zeroizing::new([0u8; 2 * KEY + BLOCK]);
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut out[..]);
        Keys(out)
    }

    fn cipher(&self) -> Aes256Ctr {
        Aes256Ctr::new(self.0[..KEY].into(), self.0[2 * KEY..].into())
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length: this cannot fail.
        match <HmacSha256 as Mac>::new_from_slice(&self.0[KEY..2 * KEY]) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC accepts keys of every length"),
        }
    }
}

/// The three parts of a vault payload, decoded from hexadecimal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Payload {
    /// The PBKDF2 salt.
    pub salt: Vec<u8>,
    /// HMAC-SHA256 of `ciphertext`.
    pub hmac: Vec<u8>,
    /// The encrypted, padded plaintext.
    pub ciphertext: Vec<u8>,
}

/// Why a payload did not open with a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The HMAC does not match: a wrong password, or altered data.
    HmacMismatch,
    /// The HMAC matched but the padding is invalid (data encrypted wrongly by some other tool).
    BadPadding,
}

/// Encrypts `plaintext` with `password` and `salt`; returns the payload text ansible-core
/// builds before its final hexlify: `hex(salt) \n hex(hmac) \n hex(ciphertext)`.
pub(crate) fn seal(plaintext: &[u8], password: &[u8], salt: &[u8]) -> Vec<u8> {
    let keys = Keys::derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut buf = Zeroizing::new(Vec::with_capacity(plaintext.len() + pad));
    buf.extend_from_slice(plaintext);
    buf.resize(plaintext.len() + pad, pad as u8);
    keys.cipher().apply_keystream(&mut buf);
    let mut mac = keys.mac();
    mac.update(&buf);
    let tag = mac.finalize().into_bytes();
    let mut out = hex::encode(salt);
    out.push(b'\n');
    out.extend_from_slice(&hex::encode(&tag));
    out.push(b'\n');
    out.extend_from_slice(&hex::encode(&buf));
    out
}

/// Checks the payload's HMAC with the keys `password` gives, then decrypts and unpads.
pub(crate) fn open(payload: &Payload, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let keys = Keys::derive(password, &payload.salt);
    let mut mac = keys.mac();
    mac.update(&payload.ciphertext);
    // Constant time: `verify_slice` compares without an early exit.
    mac.verify_slice(&payload.hmac).map_err(|_| OpenError::HmacMismatch)?;
    let mut buf = Zeroizing::new(payload.ciphertext.clone());
    keys.cipher().apply_keystream(&mut buf);
    let len = unpadded_len(&buf).ok_or(OpenError::BadPadding)?;
    buf.truncate(len);
    Ok(buf)
}

/// The length without PKCS#7 padding, or None when the padding is invalid.
fn unpadded_len(buf: &[u8]) -> Option<usize> {
    let &n = buf.last()?;
    let n = usize::from(n);
    if n == 0 || n > BLOCK || n > buf.len() || !buf.len().is_multiple_of(BLOCK) {
        return None;
    }
    buf[buf.len() - n..].iter().all(|&b| usize::from(b) == n).then_some(buf.len() - n)
}

/// Splits the payload text (`hex \n hex \n hex`) into its decoded parts; the error says which
/// part is wrong.
pub(crate) fn split_payload(text: &[u8]) -> Result<Payload, &'static str> {
    let mut parts = text.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(hmac), Some(ciphertext)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("it does not hold a salt, an HMAC and a ciphertext");
    };
    let salt = hex::decode(salt).map_err(|_| "its salt is not hexadecimal")?;
    let hmac = hex::decode(hmac).map_err(|_| "its HMAC is not hexadecimal")?;
    let ciphertext = hex::decode(ciphertext).map_err(|_| "its ciphertext is not hexadecimal, or was cut")?;
    if salt.is_empty() {
        return Err("its salt is empty");
    }
    if hmac.len() != 32 {
        return Err("its HMAC is not 32 bytes");
    }
    if ciphertext.is_empty() || !ciphertext.len().is_multiple_of(BLOCK) {
        return Err("its ciphertext is not a whole number of AES blocks");
    }
    Ok(Payload { salt, hmac, ciphertext })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(text: &[u8]) -> Payload {
        split_payload(text).unwrap()
    }

    #[test]
    fn seals_and_opens_across_the_padding_boundaries() {
        for len in [0usize, 1, 15, 16, 17, 31, 32, 33, 1000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let sealed = seal(&plain, b"pw", &[9u8; SALT_LEN]);
            let p = payload(&sealed);
            assert_eq!(p.ciphertext.len(), (len / BLOCK + 1) * BLOCK, "padding always adds a block part");
            assert_eq!(&open(&p, b"pw").unwrap()[..], &plain[..]);
        }
    }

    #[test]
    fn a_wrong_password_or_a_flipped_bit_is_an_hmac_mismatch() {
        let p = payload(&seal(b"secret", b"pw", &[1u8; SALT_LEN]));
        assert_eq!(open(&p, b"other"), Err(OpenError::HmacMismatch));
        let mut tampered = p.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(open(&tampered, b"pw"), Err(OpenError::HmacMismatch));
        let mut tampered = p;
        tampered.salt[0] ^= 1;
        assert_eq!(open(&tampered, b"pw"), Err(OpenError::HmacMismatch));
    }

    /// A known answer, computed by ansible-core 2.19's VaultAES256.encrypt with this password
    /// and salt (python: VaultAES256.encrypt(b"hello\n", VaultSecret(b"pw"), salt=b"s"*32)).
    #[test]
    fn matches_ansible_core_for_a_fixed_salt() {
        let ours = seal(b"hello\n", b"pw", &[b's'; SALT_LEN]);
        assert_eq!(String::from_utf8(ours).unwrap(), KNOWN);
    }

    const KNOWN: &str = "7373737373737373737373737373737373737373737373737373737373737373\n\
        4efdacbea874fdaea13729eb93b1a4bb30eac48a030e55222be0177f4ace9b02\n\
        3753622f0d17e5728303aecb4270d8b7";

    #[test]
    fn payload_parts_are_checked() {
        assert!(split_payload(b"00\n00").is_err());
        assert!(split_payload(b"zz\n00\n00").is_err());
        let good = seal(b"x", b"pw", &[1u8; SALT_LEN]);
        let cut = &good[..good.len() - 2];
        assert_eq!(split_payload(cut), Err("its ciphertext is not a whole number of AES blocks"));
        assert_eq!(unpadded_len(&[1u8; 16]), Some(15));
        assert_eq!(unpadded_len(&[0u8; 16]), None);
        assert_eq!(unpadded_len(&[17u8; 16]), None);
    }
}
