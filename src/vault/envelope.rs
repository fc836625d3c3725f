//! The vault text around the payload, as ansible-core's `format_vaulttext_envelope` and
//! `parse_vaulttext_envelope` (docs/vault.md): a header line `$ANSIBLE_VAULT;1.1;AES256` (or
//! `$ANSIBLE_VAULT;1.2;AES256;LABEL` when the vault id is not `default`), then the hexlified
//! payload in lines of 80 characters, each ending with a newline.

use super::cipher::{self, Payload};
use super::error::{Origin, VaultError};
use super::hex::{self, HexError};

/// What every vault text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";
/// The vault id ansible-vault writes without a label (format 1.1).
pub const DEFAULT_ID: &str = "default";
/// Width of the hexadecimal lines.
const WIDTH: usize = 80;

/// A parsed vault text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// The label of a 1.2 header (its vault id), when present.
    pub label: Option<String>,
    /// The salt, HMAC and ciphertext.
    pub payload: Payload,
}

/// Whether `data` is vault text (starts with the header, as ansible-core's `is_encrypted`).
pub fn is_encrypted(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

/// Parses vault text; every format problem is an error naming `origin` (and the line, for a
/// non-hexadecimal body).
pub(crate) fn parse(data: &[u8], origin: &Origin) -> Result<Envelope, VaultError> {
    if !is_encrypted(data) {
        return Err(VaultError::NotEncrypted { origin: origin.clone() });
    }
    let mut lines = data.split(|&b| b == b'\n');
    let header = lines.next().unwrap_or_default();
    let header = String::from_utf8_lossy(header).trim().to_string();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    if fields.len() < 3 || fields[0] != HEADER {
        return Err(VaultError::BadHeader { origin: origin.clone(), header });
    }
    if !matches!(fields[1], "1.1" | "1.2") {
        return Err(VaultError::UnknownVersion { origin: origin.clone(), version: fields[1].to_string() });
    }
    if fields[2] != "AES256" {
        return Err(VaultError::UnknownCipher { origin: origin.clone(), cipher: fields[2].to_string() });
    }
    let label = fields.get(3).filter(|l| !l.is_empty()).map(|l| l.to_string());
    // The body: lines of hexadecimal, joined (surrounding whitespace, e.g. `\r`, ignored).
    // Digits are checked when decoded; the lines are kept to name the one with a bad digit.
    let mut body = Vec::with_capacity(data.len());
    let mut starts = Vec::new();
    for line in lines {
        starts.push(body.len());
        body.extend_from_slice(line.trim_ascii());
    }
    let truncated = |what| VaultError::Truncated { origin: origin.clone(), what };
    if body.is_empty() {
        return Err(truncated("there is nothing after the header"));
    }
    let inner = match hex::decode(&body) {
        Ok(b) => b,
        Err(HexError::OddLength) => return Err(truncated("an odd number of hexadecimal digits")),
        Err(HexError::NotHex(at)) => {
            // The last line starting at or before the bad digit holds it.
            let line = starts.partition_point(|&s| s <= at).saturating_sub(1);
            let col = at - starts.get(line).copied().unwrap_or(0) + 1;
            return Err(VaultError::NotHex { at: origin.line_of(line + 1), col });
        }
    };
    let payload = cipher::split_payload(&inner).map_err(truncated)?;
    Ok(Envelope { label, payload })
}

/// Formats a payload (the text [`cipher::seal`] returns) as vault text for vault id `id`: format
/// 1.1 for `default`, 1.2 with the label otherwise (as ansible-core decides).
pub(crate) fn format(payload: &[u8], id: &str) -> String {
    let hexed = hex::encode(payload);
    let mut out = String::with_capacity(hexed.len() + hexed.len() / WIDTH + 64);
    out.push_str(HEADER);
    if id.is_empty() || id == DEFAULT_ID {
        out.push_str(";1.1;AES256");
    } else {
        out.push_str(";1.2;AES256;");
        out.push_str(id);
    }
    out.push('\n');
    for chunk in hexed.chunks(WIDTH) {
        // Hex digits are ASCII.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::file("v.yml")
    }

    fn sample(id: &str) -> String {
        format(&cipher::seal(b"x", b"pw", &[3u8; cipher::SALT_LEN]), id)
    }

    #[test]
    fn formats_80_columns_and_picks_the_version_from_the_id() {
        let v = sample("default");
        let lines: Vec<&str> = v.lines().collect();
        assert_eq!(lines[0], "$ANSIBLE_VAULT;1.1;AES256");
        assert!(lines[1..lines.len() - 1].iter().all(|l| l.len() == 80));
        assert!(v.ends_with('\n') && !v.ends_with("\n\n"));
        assert_eq!(sample("prod").lines().next(), Some("$ANSIBLE_VAULT;1.2;AES256;prod"));
        assert_eq!(parse(sample("prod").as_bytes(), &origin()).unwrap().label.as_deref(), Some("prod"));
        assert_eq!(parse(v.as_bytes(), &origin()).unwrap().label, None);
    }

    #[test]
    fn accepts_crlf_and_indentation_left_on_lines() {
        let v = sample("dev").replace('\n', "\r\n  ");
        assert!(parse(v.as_bytes(), &origin()).is_ok());
    }

    #[test]
    fn names_what_is_wrong() {
        let o = origin();
        let err = |t: &str| parse(t.as_bytes(), &o).unwrap_err().to_string();
        assert_eq!(err("hello"), "v.yml is not vault-encrypted: it does not start with $ANSIBLE_VAULT");
        assert!(err("$ANSIBLE_VAULT;1.1\n00").contains("header \"$ANSIBLE_VAULT;1.1\" is not valid"));
        assert!(err("$ANSIBLE_VAULT;2.0;AES256\n00").contains("version 2.0 is not supported"));
        assert!(err("$ANSIBLE_VAULT;1.1;AES\n00").contains("cipher AES is not supported"));
        assert_eq!(
            err("$ANSIBLE_VAULT;1.1;AES256\n0011\n00x1\n"),
            "v.yml:3: the vault text is not hexadecimal (column 3); the file was altered or is not a vault file"
        );
        assert!(err("$ANSIBLE_VAULT;1.1;AES256\n").contains("nothing after the header"));
        assert!(err("$ANSIBLE_VAULT;1.1;AES256\n001\n").contains("odd number"));
        let inline = Origin::inline("group_vars/all.yml", 7);
        let e = parse(b"$ANSIBLE_VAULT;1.1;AES256\nzz", &inline).unwrap_err();
        assert!(e.to_string().starts_with("group_vars/all.yml:8: "), "{e}");
    }
}
