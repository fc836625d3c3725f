//! The run-wide registry of secret plaintexts and the censor that replaces them in output.
//!
//! Every string that came out of a vault (a whole file's string values, an inline `!vault`
//! value, a vault file read by `lookup('file')`, `copy` or `template`) is registered when it is
//! decrypted. Output is censored by text: each registered secret, and the forms JSON and
//! Python's repr escape it to, becomes [`MASK`]. Limits (docs/vault.md): a value derived from a
//! secret by a filter (`b64encode`, `upper`, a hash...) is a different text and is not censored;
//! secrets shorter than [`MIN_SECRET_LEN`] are not censored, since masking them would mangle
//! unrelated output while hiding little.

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret is replaced with.
pub const MASK: &str = "********";

/// Secrets (and lines of multi-line secrets) shorter than this are not censored.
pub const MIN_SECRET_LEN: usize = 3;

/// The texts to censor, longest first (so a secret containing another is masked whole).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret plaintext: itself, each of its lines (a multi-line secret may be printed
/// line by line, as in a diff), and its JSON- and repr-escaped forms.
pub fn register(plain: &str) {
    let mut forms: Vec<String> = Vec::new();
    fn add(forms: &mut Vec<String>, s: &str) {
        if s.trim().chars().count() >= MIN_SECRET_LEN && !forms.iter().any(|f| f == s) {
            forms.push(s.to_string());
        }
    }
    add(&mut forms, plain);
    let trimmed = plain.trim_end_matches('\n');
    add(&mut forms, trimmed);
    for line in trimmed.lines() {
        add(&mut forms, line);
        add(&mut forms, line.trim());
    }
    let escaped: Vec<String> = forms
        .iter()
        .flat_map(|f| {
            let json = serde_json::to_string(f).unwrap_or_default();
            let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_string();
            [json, repr_escape(f)]
        })
        .collect();
    for e in escaped {
        add(&mut forms, &e);
    }
    if forms.is_empty() {
        return;
    }
    let Ok(mut all) = SECRETS.write() else { return };
    for f in forms {
        if !all.contains(&f) {
            all.push(f);
        }
    }
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers every string inside a value (a decrypted vault file's variables).
pub fn register_value(v: &serde_json::Value) {
    match v {
        serde_json::Value::String(s) => register(s),
        serde_json::Value::Array(items) => items.iter().for_each(register_value),
        serde_json::Value::Object(map) => map.values().for_each(register_value),
        _ => {}
    }
}

/// Registers the strings of a `no_log` task's result, except its timing fields (`start`, `end`,
/// `delta`) and the engine's loop bookkeeping (`ansible_loop_var`, `ansible_index_var`: the names
/// of variables, such as `item`), which hold nothing secret and would mask unrelated text.
pub fn register_result(v: &serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => map
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "start" | "end" | "delta" | "ansible_loop_var" | "ansible_index_var")
            })
            .for_each(|(_, v)| register_value(v)),
        other => register_value(other),
    }
}

/// How Python's repr escapes a string inside single quotes (the human printer shows results so).
fn repr_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// `text` with every registered secret replaced by [`MASK`].
pub fn censor(text: &str) -> Cow<'_, str> {
    let Ok(all) = SECRETS.read() else { return Cow::Borrowed(text) };
    if all.is_empty() || !all.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in all.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// [`censor`] on bytes that may not be UTF-8 (the bytes around secrets are kept as they are).
pub fn censor_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Ok(all) = SECRETS.read() else { return Cow::Borrowed(bytes) };
    if all.is_empty() {
        return Cow::Borrowed(bytes);
    }
    let mut out: Cow<'_, [u8]> = Cow::Borrowed(bytes);
    for s in all.iter() {
        let needle = s.as_bytes();
        if find(&out, needle).is_none() {
            continue;
        }
        let mut next = Vec::with_capacity(out.len());
        let mut rest: &[u8] = &out;
        while let Some(i) = find(rest, needle) {
            next.extend_from_slice(&rest[..i]);
            next.extend_from_slice(MASK.as_bytes());
            rest = &rest[i + needle.len()..];
        }
        next.extend_from_slice(rest);
        out = Cow::Owned(next);
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn censors_secrets_their_lines_and_escaped_forms() {
        register("c3ns0r-me\nsecond line of it");
        assert_eq!(censor("pw=c3ns0r-me!"), "pw=********!");
        assert_eq!(censor("+second line of it"), "+********");
        assert_eq!(censor(r#"{"x":"c3ns0r-me\nsecond line of it"}"#), r#"{"x":"********"}"#);
        assert_eq!(censor("'c3ns0r-me\\nsecond line of it'"), "'********'");
        assert_eq!(&*censor_bytes(b"\xffc3ns0r-me\xff"), b"\xff********\xff");
        assert_eq!(censor("nothing here"), "nothing here");
        // Too short to censor without mangling everything.
        register("ab");
        assert_eq!(censor("abc"), "abc");
    }
}
