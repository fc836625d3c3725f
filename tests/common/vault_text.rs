//! Vault text surgery for tests: hex helpers and a tampered copy whose HMAC no longer matches.

/// Lower-case hex of `bytes`.
pub fn hexlify(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower-case or upper-case hex text.
pub fn unhexlify(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Rewrites a vault file with its ciphertext's first digit changed (still hexadecimal, so only
/// the HMAC can tell).
pub fn tamper(text: &str) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let body: String = lines.collect();
    let inner = String::from_utf8(unhexlify(&body)).unwrap();
    let mut parts: Vec<String> = inner.splitn(3, '\n').map(String::from).collect();
    let first = parts[2].remove(0);
    parts[2].insert(0, if first == '0' { '1' } else { '0' });
    let body = hexlify(parts.join("\n").as_bytes());
    let wrapped: Vec<&str> = (0..body.len()).step_by(80).map(|i| &body[i..(i + 80).min(body.len())]).collect();
    format!("{header}\n{}\n", wrapped.join("\n"))
}
