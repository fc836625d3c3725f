//! Python's `binascii.hexlify`/`unhexlify`, as the vault format uses them (twice: docs/vault.md).

/// Lowercase hexadecimal of `bytes`, as `hexlify` writes it.
pub(crate) fn encode(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
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

/// Decodes hexadecimal text (either case), as `unhexlify` does; one pass through a table, as
/// a 1 MiB vault file holds 6 MiB of hex digits (the format hexlifies twice).
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, HexError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut pairs = text.chunks_exact(2);
    for (i, pair) in pairs.by_ref().enumerate() {
        let (hi, lo) = (VALUE[usize::from(pair[0])], VALUE[usize::from(pair[1])]);
        if (hi | lo) & INVALID != 0 {
            let at = 2 * i + usize::from(hi != INVALID);
            return Err(HexError::NotHex(at));
        }
        out.push((hi << 4) | lo);
    }
    match pairs.remainder() {
        [] => Ok(out),
        [b] if VALUE[usize::from(*b)] == INVALID => Err(HexError::NotHex(text.len() - 1)),
        _ => Err(HexError::OddLength),
    }
}

/// Marks a byte that is not a hex digit in [`VALUE`] (0x10 cannot come from a digit, and
/// `hi | lo` keeps the bit).
const INVALID: u8 = 0x10;

/// The value of each byte as a hex digit, or [`INVALID`].
const VALUE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

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
