//! JSON text exactly as Python's `json.dumps` writes it, because Ansible shows results that way
//! (`{"changed": false, "msg": "..."}`), `ansible-inventory` prints it, and modules send it (uri's
//! `body_format: json`): users grep and diff that text, and servers see the same bytes.

use serde_json::Value;

/// The `json.dumps` arguments that change the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// `indent=N` (one member per line, `","` separators); `None`: compact (`", "`).
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `ensure_ascii=True` (Python's default): non-ASCII as `\uXXXX` escapes.
    pub ensure_ascii: bool,
}

/// Python's compact form as Ansible prints results: keys sorted at every level, `", "` and `": "`
/// separators, non-ASCII as is.
pub fn dumps(v: &Value) -> String {
    dumps_with(v, Style { indent: None, sort_keys: true, ensure_ascii: false })
}

/// Python's `indent=4` form as Ansible prints results: one member per line, keys sorted, `","` and
/// `": "` separators, empty containers as `[]` and `{}`, non-ASCII as is.
pub fn dumps_indented(v: &Value) -> String {
    dumps_with(v, Style { indent: Some(4), sort_keys: true, ensure_ascii: false })
}

/// `json.dumps(v, **style)`.
pub fn dumps_with(v: &Value, style: Style) -> String {
    let mut out = String::new();
    write_value(&mut out, v, &style, 0);
    out
}

fn newline(out: &mut String, indent: usize, level: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent * level));
}

fn write_value(out: &mut String, v: &Value, style: &Style, level: usize) {
    let indent = style.indent;
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_json_str(out, s, style.ensure_ascii),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, indent, level + 1);
                write_value(out, item, style, level + 1);
            }
            if let Some(ind) = indent {
                newline(out, ind, level);
            }
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            if style.sort_keys {
                members.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                separator(out, i, indent, level + 1);
                write_json_str(out, k, style.ensure_ascii);
                out.push_str(": ");
                write_value(out, v, style, level + 1);
            }
            if let Some(ind) = indent {
                newline(out, ind, level);
            }
            out.push('}');
        }
    }
}

fn separator(out: &mut String, index: usize, indent: Option<usize>, level: usize) {
    match indent {
        Some(ind) => {
            if index > 0 {
                out.push(',');
            }
            newline(out, ind, level);
        }
        None => {
            if index > 0 {
                out.push_str(", ");
            }
        }
    }
}

/// A JSON string literal with Python's escapes under `ensure_ascii=False`: only `"`, `\` and
/// control characters are escaped; other characters are written as they are.
pub fn write_str(out: &mut String, s: &str) {
    write_json_str(out, s, false);
}

/// A JSON string literal with Python's escapes; with `ensure_ascii` everything outside printable
/// ASCII becomes `\uXXXX` (UTF-16 surrogate pairs beyond the BMP), as Python's default.
pub fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ensure_ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the decimal
/// exponent is in -4..16 (`100.0`, `0.0001`), else scientific with a signed two-digit exponent
/// (`1e+16`, `1.5e-05`).
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.5e-5", "0e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let ndigits = digits.len() as i32;
    // Position of the decimal point relative to the start of `digits`.
    let decpt = exp + 1;
    let body = if decpt > -4 && decpt <= 16 {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= ndigits {
            format!("{}{}.0", digits, "0".repeat((decpt - ndigits) as usize))
        } else {
            let (a, b) = digits.split_at(decpt as usize);
            format!("{a}.{b}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        if rest.is_empty() {
            format!("{first}e{esign}{:02}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{:02}", e.abs())
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_sorts_keys_with_python_separators() {
        let v = json!({"msg": "boom", "changed": false, "list": [1, "a", null], "e": {}, "l": []});
        assert_eq!(dumps(&v), r#"{"changed": false, "e": {}, "l": [], "list": [1, "a", null], "msg": "boom"}"#);
    }

    #[test]
    fn indented_matches_python() {
        // python3 -c 'import json; print(json.dumps({"msg": ["a", {"k": "é"}, [], {}]}, indent=4,
        //   sort_keys=True, ensure_ascii=False))'
        let v = json!({"msg": ["a", {"k": "é"}, [], {}]});
        assert_eq!(
            dumps_indented(&v),
            "{\n    \"msg\": [\n        \"a\",\n        {\n            \"k\": \"é\"\n        },\n        [],\n        {}\n    ]\n}"
        );
    }

    #[test]
    fn escapes_like_python() {
        let v = json!("q\"b\\n\n\t\u{1}\u{7f}é");
        assert_eq!(dumps(&v), "\"q\\\"b\\\\n\\n\\t\\u0001\u{7f}é\"");
    }

    #[test]
    fn unsorted_ascii_form_like_python_defaults() {
        // python3 -c 'import json; print(json.dumps({"z": "é😀", "a": [1.5, 10.0]}))'
        let v = json!({"z": "é😀", "a": [1.5, 10.0]});
        let style = Style { indent: None, sort_keys: false, ensure_ascii: true };
        assert_eq!(dumps_with(&v, style), r#"{"z": "\u00e9\ud83d\ude00", "a": [1.5, 10.0]}"#);
    }

    #[test]
    fn floats_like_python_repr() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (0.5, "0.5"),
            (0.0001, "0.0001"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (2.71, "2.71"),
            (-2.5e100, "-2.5e+100"),
        ] {
            assert_eq!(float_repr(f), want, "{f}");
        }
    }
}
