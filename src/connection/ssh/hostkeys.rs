//! Host key checking against an OpenSSH `known_hosts` file.
//!
//! Why our own reader instead of libssh2's: libssh2's check ignores the key type, so a host known
//! by its ed25519 key that offers an ecdsa key would look "changed". OpenSSH instead asks the server
//! for a key type it already knows; orc does the same by reading the known types first
//! ([`known_types`]) and preferring them in the handshake. Entries may be plain (`host`,
//! `[host]:port`, comma lists, `*`/`?` wildcards, `!` negations) or hashed (`|1|salt|hmac`);
//! `@cert-authority` lines are ignored and `@revoked` keys are refused.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use sha1::{Digest, Sha1};
use sha2::Sha256;

use super::config::wildcard;

/// What known_hosts says about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KnownState {
    /// The key is listed for the host.
    Match,
    /// The host is listed with another key of the same type (at this 1-based line), or the key
    /// is revoked: possibly an attack, never accepted.
    Changed(usize),
    /// The host has no key of this type listed.
    Unknown,
}

/// The name under which known_hosts lists `host` reached on `port` (`[host]:port` unless 22).
pub fn host_entry_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// One parsed known_hosts line.
struct Entry<'a> {
    line: usize,
    revoked: bool,
    hosts: &'a str,
    key_type: &'a str,
    key: Vec<u8>,
}

/// The usable entries of a known_hosts text.
fn entries(text: &str) -> impl Iterator<Item = Entry<'_>> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let mut fields = line.split_whitespace();
        let mut first = fields.next()?;
        if first.starts_with('#') {
            return None;
        }
        let mut revoked = false;
        if let Some(marker) = first.strip_prefix('@') {
            if marker != "revoked" {
                return None;
            }
            revoked = true;
            first = fields.next()?;
        }
        let key_type = fields.next()?;
        let key = base64::engine::general_purpose::STANDARD.decode(fields.next()?).ok()?;
        Some(Entry { line: i + 1, revoked, hosts: first, key_type, key })
    })
}

/// Whether a known_hosts host field (`a,b,[c]:2222`, wildcards, `!neg`, or `|1|salt|hash`)
/// names `name`.
fn hosts_match(field: &str, name: &str) -> bool {
    if let Some(hashed) = field.strip_prefix("|1|") {
        let Some((salt, hash)) = hashed.split_once('|') else {
            return false;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes()) == hash.as_slice();
    }
    let mut matched = false;
    for pattern in field.split(',') {
        if let Some(neg) = pattern.strip_prefix('!') {
            if wildcard(neg, name) {
                return false;
            }
        } else if wildcard(pattern, name) {
            matched = true;
        }
    }
    matched
}

/// HMAC-SHA1, the hash of OpenSSH's hashed known_hosts names.
fn hmac_sha1(key: &[u8], msg: &[u8]) -> [u8; 20] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha1::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha1::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// The key types known_hosts lists for `name`, in file order without repeats.
pub fn known_types(text: &str, name: &str) -> Vec<String> {
    let mut types: Vec<String> = Vec::new();
    for e in entries(text) {
        if !e.revoked && hosts_match(e.hosts, name) && !types.iter().any(|t| t == e.key_type) {
            types.push(e.key_type.to_string());
        }
    }
    types
}

/// The libssh2 host key algorithms that yield keys of the known_hosts types `types`, for
/// `Session::method_pref(MethodType::HostKey, ..)`.
pub fn algorithms_for(types: &[String]) -> String {
    let mut algs: Vec<&str> = Vec::new();
    for t in types {
        match t.as_str() {
            "ssh-rsa" => algs.extend(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]),
            other => algs.push(other),
        }
    }
    algs.join(",")
}

/// OpenSSH's host key algorithm order, used after the known types.
const OPENSSH_ORDER: [&str; 7] = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
];

/// The host key algorithm preference for the handshake: algorithms of the `known` key types
/// first, then OpenSSH's order, then anything else libssh2 `supported`; only supported ones
/// (all of ours when `supported` is empty), without repeats.
pub fn preference(known: &[String], supported: &[&str]) -> String {
    let known = algorithms_for(known);
    let mut out: Vec<&str> = Vec::new();
    let candidates = known.split(',').chain(OPENSSH_ORDER).chain(supported.iter().copied());
    for alg in candidates {
        let ok = !alg.is_empty() && (supported.is_empty() || supported.contains(&alg));
        if ok && !out.contains(&alg) {
            out.push(alg);
        }
    }
    out.join(",")
}

/// Checks the server key `blob` (the raw SSH wire key) of `name` against a known_hosts text.
pub fn check(text: &str, name: &str, blob: &[u8]) -> KnownState {
    let Some(blob_type) = key_type(blob) else {
        return KnownState::Unknown;
    };
    let mut state = KnownState::Unknown;
    for e in entries(text) {
        if !hosts_match(e.hosts, name) {
            continue;
        }
        if e.key == blob {
            if e.revoked {
                return KnownState::Changed(e.line);
            }
            state = KnownState::Match;
        } else if e.key_type == blob_type && !e.revoked && state == KnownState::Unknown {
            state = KnownState::Changed(e.line);
        }
    }
    state
}

/// The key type named inside a raw SSH key blob (`ssh-ed25519`, `ssh-rsa`, ...).
pub fn key_type(blob: &[u8]) -> Option<&str> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    std::str::from_utf8(blob.get(4..4 + len)?).ok()
}

/// The OpenSSH fingerprint of a key blob: `SHA256:` and unpadded base64 of its SHA-256.
pub fn fingerprint(blob: &[u8]) -> String {
    let digest = Sha256::digest(blob);
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest))
}

/// Appends the known_hosts line for `name` and key `blob` to `path`, creating the file (and its
/// directory, mode 0700) when needed.
pub fn append(path: &Path, name: &str, blob: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
    }
    let ktype = key_type(blob).unwrap_or("ssh-unknown");
    let key = base64::engine::general_purpose::STANDARD.encode(blob);
    let mut existing_ends_in_newline = true;
    if let Ok(text) = std::fs::read(path) {
        existing_ends_in_newline = text.is_empty() || text.ends_with(b"\n");
    }
    let mut file = std::fs::OpenOptions::new().append(true).create(true).mode(0o600).open(path)?;
    let sep = if existing_ends_in_newline { "" } else { "\n" };
    file.write_all(format!("{sep}{name} {ktype} {key}\n").as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake key blob of type `t` with body `body`.
    fn blob(t: &str, body: &[u8]) -> Vec<u8> {
        let mut b = (t.len() as u32).to_be_bytes().to_vec();
        b.extend_from_slice(t.as_bytes());
        b.extend_from_slice(body);
        b
    }

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn hashed(name: &str, salt: &[u8]) -> String {
        format!("|1|{}|{}", b64(salt), b64(&hmac_sha1(salt, name.as_bytes())))
    }

    #[test]
    fn hmac_sha1_matches_rfc2202() {
        let got = hmac_sha1(b"Jefe", b"what do ya want for nothing?");
        let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    #[test]
    fn plain_hashed_and_port_entries() {
        let ed = blob("ssh-ed25519", b"one");
        let ed2 = blob("ssh-ed25519", b"two");
        let rsa = blob("ssh-rsa", b"three");
        let text = format!(
            "# comment\nweb1,10.0.0.5 ssh-ed25519 {}\n{} ssh-rsa {}\n[web2]:2222 ssh-ed25519 {}\n@cert-authority * ssh-ed25519 {}\n",
            b64(&ed),
            hashed("[db]:2200", b"saltsaltsaltsaltsalt"),
            b64(&rsa),
            b64(&ed2),
            b64(&ed2),
        );
        assert_eq!(check(&text, "web1", &ed), KnownState::Match);
        assert_eq!(check(&text, "10.0.0.5", &ed), KnownState::Match);
        assert_eq!(check(&text, "web1", &ed2), KnownState::Changed(2));
        // Another key type is unknown, not changed: the handshake prefers the known types.
        assert_eq!(check(&text, "web1", &rsa), KnownState::Unknown);
        assert_eq!(check(&text, "[db]:2200", &rsa), KnownState::Match);
        assert_eq!(check(&text, "db", &rsa), KnownState::Unknown);
        assert_eq!(check(&text, "web2", &ed2), KnownState::Unknown);
        assert_eq!(check(&text, &host_entry_name("web2", 2222), &ed2), KnownState::Match);
        assert_eq!(known_types(&text, "[db]:2200"), vec!["ssh-rsa"]);
        assert_eq!(algorithms_for(&known_types(&text, "[db]:2200")), "rsa-sha2-512,rsa-sha2-256,ssh-rsa");
        assert!(known_types(&text, "other").is_empty());
    }

    #[test]
    fn preference_puts_known_types_first_then_openssh_order() {
        let supported = ["ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-256", "ssh-dss"];
        assert_eq!(
            preference(&["ecdsa-sha2-nistp256".to_string()], &supported),
            "ecdsa-sha2-nistp256,ssh-ed25519,rsa-sha2-256,ssh-dss"
        );
        assert_eq!(preference(&[], &supported), "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-256,ssh-dss");
        assert_eq!(
            preference(&["sk-ssh-ed25519@openssh.com".to_string()], &supported),
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-256,ssh-dss"
        );
    }

    #[test]
    fn revoked_keys_and_negated_patterns() {
        let ed = blob("ssh-ed25519", b"k");
        let text = format!("@revoked * ssh-ed25519 {k}\n*.lab,!bad.lab ssh-ed25519 {k}\n", k = b64(&ed));
        assert_eq!(check(&text, "a.lab", &ed), KnownState::Changed(1));
        let text = format!("*.lab,!bad.lab ssh-ed25519 {}\n", b64(&ed));
        assert_eq!(check(&text, "a.lab", &ed), KnownState::Match);
        assert_eq!(check(&text, "bad.lab", &ed), KnownState::Unknown);
    }

    #[test]
    fn fingerprint_is_openssh_style() {
        // `ssh-keygen -lf` of this blob gives the same (checked by the sshd tests on real keys).
        let fp = fingerprint(b"abc");
        assert_eq!(fp, "SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0");
    }

    #[test]
    fn append_creates_and_extends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        let ed = blob("ssh-ed25519", b"x");
        append(&path, "[h]:2", &ed).unwrap();
        std::fs::write(&path, std::fs::read_to_string(&path).unwrap().trim_end()).unwrap();
        append(&path, "g", &ed).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert_eq!(check(&text, "[h]:2", &ed), KnownState::Match);
        assert_eq!(check(&text, "g", &ed), KnownState::Match);
    }
}
