//! Python's `binascii.hexlify`/`unhexlify`, as the vault format uses them (twice: docs/vault.md).

/// Lowercase hexadecimal of `bytes`, as `hexlify` writes it.
pub(crate) fn encode(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    out
}

/// Why hexadecimal text did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HexError {
    /// A byte that is not a hex digit, at this index.
    NotHex(usize),
    /// An odd number of digits: the text was cut.
    OddLength,
}

/// Decodes hexadecimal text (either case), as `unhexlify` does.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, HexError> {
    if let Some(i) = text.iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(HexError::NotHex(i));
    }
    if text.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    Ok(text.chunks_exact(2).map(|pair| (digit(pair[0]) << 4) | digit(pair[1])).collect())
}

/// The value of one hex digit (already checked to be one).
fn digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let hex = encode(&all);
        assert_eq!(&hex[..6], b"000102");
        assert_eq!(decode(&hex).unwrap(), all);
        assert_eq!(decode(b"ABff").unwrap(), vec![0xab, 0xff]);
    }

    #[test]
    fn reports_the_first_bad_digit_then_odd_length() {
        assert_eq!(decode(b"00g1"), Err(HexError::NotHex(2)));
        assert_eq!(decode(b"001"), Err(HexError::OddLength));
        assert_eq!(decode(b""), Ok(vec![]));
    }
}
