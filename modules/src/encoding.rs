//! Text to bytes in a named encoding, as Python's `str.encode(name, 'strict')` does (the
//! `template` module's `output_encoding`), and bytes to text as `bytes.decode(name, 'strict')`
//! does (`find`'s `encoding`). Python's own names and aliases (`utf-8`, `utf8`, `latin-1`,
//! `utf-16`...) are understood; other names go to the WHATWG encodings (`windows-1252`,
//! `iso-8859-15`, `shift_jis`, `gbk`, `koi8-r`...).

/// Encodes `text` in `name`; an error says, as Python does, which character cannot be encoded or
/// that the encoding is unknown.
pub fn encode(text: &str, name: &str) -> Result<Vec<u8>, String> {
    match key(name).as_str() {
        "utf8" | "u8" | "utf" | "cp65001" => Ok(text.as_bytes().to_vec()),
        "utf8sig" => Ok([&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat()),
        "utf16" => Ok([&[0xFF, 0xFE][..], &utf16(text, false)].concat()),
        "utf16le" => Ok(utf16(text, false)),
        "utf16be" => Ok(utf16(text, true)),
        "utf32" => Ok([&[0xFF, 0xFE, 0, 0][..], &utf32(text, false)].concat()),
        "utf32le" => Ok(utf32(text, false)),
        "utf32be" => Ok(utf32(text, true)),
        "latin1" | "latin" | "l1" | "iso88591" | "iso885911987" | "cp819" | "8859" => {
            below(text, 0x100, "latin-1", "ordinal not in range(256)")
        }
        "ascii" | "usascii" | "646" => below(text, 0x80, "ascii", "ordinal not in range(128)"),
        _ => whatwg(text, name),
    }
}

/// Python's name of an encoding without `-`, `_` and blanks, lowercased (`UTF_8` -> `utf8`).
fn key(name: &str) -> String {
    name.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect::<String>().to_lowercase()
}

/// Decodes `data` from `name`: `Err` when the encoding is unknown (Python's LookupError text),
/// `Ok(None)` when the bytes are not valid in it (a UnicodeDecodeError).
pub fn decode(data: &[u8], name: &str) -> Result<Option<String>, String> {
    let utf8 = |d: &[u8]| std::str::from_utf8(d).ok().map(str::to_string);
    Ok(match key(name).as_str() {
        "utf8" | "u8" | "utf" | "cp65001" => utf8(data),
        "utf8sig" => utf8(data.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(data)),
        "utf16" => match data {
            [0xFE, 0xFF, rest @ ..] => from_utf16(rest, true),
            [0xFF, 0xFE, rest @ ..] => from_utf16(rest, false),
            _ => from_utf16(data, false),
        },
        "utf16le" => from_utf16(data, false),
        "utf16be" => from_utf16(data, true),
        "utf32" => match data {
            [0, 0, 0xFE, 0xFF, rest @ ..] => from_utf32(rest, true),
            [0xFF, 0xFE, 0, 0, rest @ ..] => from_utf32(rest, false),
            _ => from_utf32(data, false),
        },
        "utf32le" => from_utf32(data, false),
        "utf32be" => from_utf32(data, true),
        "latin1" | "latin" | "l1" | "iso88591" | "iso885911987" | "cp819" | "8859" => {
            Some(data.iter().map(|b| char::from(*b)).collect())
        }
        "ascii" | "usascii" | "646" => data.is_ascii().then(|| String::from_utf8_lossy(data).into_owned()),
        _ => {
            let enc = encoding_rs::Encoding::for_label(name.trim().as_bytes())
                .filter(|e| *e != encoding_rs::REPLACEMENT)
                .ok_or_else(|| format!("unknown encoding: {name}"))?;
            enc.decode_without_bom_handling_and_without_replacement(data).map(|t| t.into_owned())
        }
    })
}

fn from_utf16(data: &[u8], big_endian: bool) -> Option<String> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let units = data.chunks_exact(2).map(|c| {
        let pair = [c[0], c[1]];
        if big_endian {
            u16::from_be_bytes(pair)
        } else {
            u16::from_le_bytes(pair)
        }
    });
    char::decode_utf16(units).collect::<Result<String, _>>().ok()
}

fn from_utf32(data: &[u8], big_endian: bool) -> Option<String> {
    if !data.len().is_multiple_of(4) {
        return None;
    }
    data.chunks_exact(4)
        .map(|c| {
            let quad = [c[0], c[1], c[2], c[3]];
            char::from_u32(if big_endian { u32::from_be_bytes(quad) } else { u32::from_le_bytes(quad) })
        })
        .collect()
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    text.encode_utf16().flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

fn utf32(text: &str, big_endian: bool) -> Vec<u8> {
    text.chars()
        .flat_map(|c| {
            let u = c as u32;
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// One byte per character, every character below `limit`.
fn below(text: &str, limit: u32, codec: &str, why: &str) -> Result<Vec<u8>, String> {
    let ok = |c: char| (c as u32) < limit;
    if text.chars().all(ok) {
        return Ok(text.chars().map(|c| c as u32 as u8).collect());
    }
    Err(cannot(text, |c| !ok(c), codec, why))
}

/// Python's UnicodeEncodeError text for the first run of characters `bad` says cannot be encoded.
fn cannot(text: &str, bad: impl Fn(char) -> bool, codec: &str, why: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let first = chars.iter().position(|c| bad(*c)).unwrap_or(0);
    let run = chars[first..].iter().take_while(|c| bad(**c)).count().max(1);
    if run == 1 {
        let c = chars.get(first).copied().unwrap_or(' ') as u32;
        let shown = if c > 0xFFFF { format!("\\U{c:08x}") } else { format!("\\u{c:04x}") };
        format!("'{codec}' codec can't encode character '{shown}' in position {first}: {why}")
    } else {
        format!("'{codec}' codec can't encode characters in position {first}-{}: {why}", first + run - 1)
    }
}

fn whatwg(text: &str, name: &str) -> Result<Vec<u8>, String> {
    let enc = encoding_rs::Encoding::for_label(name.trim().as_bytes())
        // UTF-16 and "replacement" only decode in encoding_rs: they would write UTF-8.
        .filter(|e| e.output_encoding() == *e)
        .ok_or_else(|| format!("unknown encoding: {name}"))?;
    let (bytes, _, unmappable) = enc.encode(text);
    if !unmappable {
        return Ok(bytes.into_owned());
    }
    let bad = |c: char| enc.encode(c.encode_utf8(&mut [0u8; 4])).2;
    if enc.is_single_byte() {
        Err(cannot(text, bad, "charmap", "character maps to <undefined>"))
    } else {
        let codec = enc.name().to_lowercase().replace('-', "_");
        Err(cannot(text, bad, &codec, "illegal multibyte sequence"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_names_encode_as_python() {
        // Each expected value is Python's `'é€'.encode(name)` (or its error).
        assert_eq!(encode("é€", "utf-8").unwrap(), "é€".as_bytes());
        assert_eq!(encode("é€", "UTF8").unwrap(), "é€".as_bytes());
        assert_eq!(encode("é", "utf-16").unwrap(), [0xFF, 0xFE, 0xE9, 0x00]);
        assert_eq!(encode("é", "utf_16_be").unwrap(), [0x00, 0xE9]);
        assert_eq!(encode("é", "utf-32-le").unwrap(), [0xE9, 0, 0, 0]);
        assert_eq!(encode("é", "latin-1").unwrap(), [0xE9]);
        assert_eq!(encode("é", "ISO-8859-1").unwrap(), [0xE9]);
        assert_eq!(
            encode("é€", "latin-1").unwrap_err(),
            "'latin-1' codec can't encode character '\\u20ac' in position 1: ordinal not in range(256)"
        );
        assert_eq!(
            encode("aé", "ascii").unwrap_err(),
            "'ascii' codec can't encode character '\\u00e9' in position 1: ordinal not in range(128)"
        );
    }

    #[test]
    fn other_names_go_to_whatwg_encodings() {
        assert_eq!(encode("é€", "cp1252").unwrap(), [0xE9, 0x80]);
        assert_eq!(encode("€", "iso-8859-15").unwrap(), [0xA4]);
        assert_eq!(encode("ж", "koi8-r").unwrap(), [0xD6]);
        assert_eq!(
            encode("ж€", "cp1252").unwrap_err(),
            "'charmap' codec can't encode character '\\u0436' in position 0: character maps to <undefined>"
        );
        assert_eq!(
            encode("ж€", "shift_jis").unwrap_err(),
            "'shift_jis' codec can't encode character '\\u20ac' in position 1: illegal multibyte sequence"
        );
        assert_eq!(
            encode("ж€", "latin-1").unwrap_err(),
            "'latin-1' codec can't encode characters in position 0-1: ordinal not in range(256)"
        );
        assert_eq!(encode("x", "no-such-codec").unwrap_err(), "unknown encoding: no-such-codec");
    }

    #[test]
    fn bytes_decode_as_python_decodes_them() {
        // Python's `b'...'.decode(name)`; None where it raises UnicodeDecodeError.
        let gbk = b"\xc4\xe3\xba\xc3\xca\xc0\xbd\xe7\n";
        assert_eq!(decode(gbk, "gbk").unwrap().as_deref(), Some("你好世界\n"));
        assert_eq!(decode(gbk, "utf-8").unwrap(), None);
        assert_eq!(decode("é".as_bytes(), "UTF8").unwrap().as_deref(), Some("é"));
        assert_eq!(decode(&[0xE9], "latin-1").unwrap().as_deref(), Some("é"));
        assert_eq!(decode(&[0xE9], "ascii").unwrap(), None);
        assert_eq!(decode(&[0xFF, 0xFE, 0xE9, 0x00], "utf-16").unwrap().as_deref(), Some("é"));
        assert_eq!(decode(&[0x00, 0xE9], "utf_16_be").unwrap().as_deref(), Some("é"));
        assert_eq!(decode(&[0xA4], "iso-8859-15").unwrap().as_deref(), Some("€"));
        assert_eq!(decode(b"x", "idontexist").unwrap_err(), "unknown encoding: idontexist");
    }
}
