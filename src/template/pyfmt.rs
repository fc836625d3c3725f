//! Python-compatible text for values: `str()`/`repr()` as Ansible prints them in rendered text
//! (`True`, `None`, `['a', 'b']`, `{'k': 1}`), and `json.dumps` output for `to_json`.

use minijinja::value::{Value, ValueKind};

/// How a value prints inside rendered text, as Ansible 2.19 does: strings as they are, `None`
/// as nothing, everything else as Python's `repr`.
pub(crate) fn to_display(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        ValueKind::None | ValueKind::Undefined => String::new(),
        _ => repr(v),
    }
}

/// Python's `str()` of a value: strings unquoted, everything else as `repr`.
pub(crate) fn to_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => repr(v),
    }
}

/// Python's `repr()` of a value.
pub(crate) fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v);
    out
}

fn write_repr(out: &mut String, v: &Value) {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_str(v)),
        ValueKind::String => out.push_str(&repr_str(v.as_str().unwrap_or_default())),
        ValueKind::Bytes => {
            let bytes = v.as_bytes().unwrap_or_default();
            out.push_str(&format!("b{}", repr_str(&String::from_utf8_lossy(bytes))));
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = v.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &key);
                    out.push_str(": ");
                    write_repr(out, &v.get_item(&key).unwrap_or_default());
                }
            }
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let tuple = v.is_tuple();
            out.push(if tuple { '(' } else { '[' });
            let mut n = 0;
            if let Ok(items) = v.try_iter() {
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(out, &item);
                    n += 1;
                }
            }
            if tuple && n == 1 {
                out.push(',');
            }
            out.push(if tuple { ')' } else { ']' });
        }
        _ => out.push_str(&v.to_string()),
    }
}

/// A number as Python prints it (`1`, `2.5`, `1.0`, `1e+20`).
pub(crate) fn number_str(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => float_repr(f),
        Err(_) => v.to_string(),
    }
}

/// Python's `repr(float)`: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
pub(crate) fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    orc_modules::pyjson::float_repr(f)
}

/// Python's `repr(str)` (modules/src/pyrepr.rs, shared with the printers).
pub(crate) fn repr_str(s: &str) -> String {
    orc_modules::pyrepr::str_repr(s)
}

/// Options of Python's `json.dumps` that Ansible's filters use.
pub(crate) use orc_modules::pyjson::Style as JsonStyle;

/// Python's `json.dumps(v)` with the given options (separators as Python picks them).
pub(crate) fn json_dumps(v: &Value, style: JsonStyle) -> Result<String, minijinja::Error> {
    let mut out = String::new();
    write_json(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: JsonStyle, level: usize) {
    if let Some(indent) = style.indent {
        out.push('\n');
        out.push_str(&" ".repeat(indent * level));
    }
}

fn write_json(out: &mut String, v: &Value, style: JsonStyle, level: usize) -> Result<(), minijinja::Error> {
    let item_sep = if style.indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined => {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::UndefinedError,
                "cannot serialize an undefined value to JSON",
            ))
        }
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if v.is_integer() {
                out.push_str(&v.to_string());
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                out.push_str(&match f {
                    f if f.is_nan() => "NaN".to_string(),
                    f if f.is_infinite() && f > 0.0 => "Infinity".to_string(),
                    f if f.is_infinite() => "-Infinity".to_string(),
                    f => float_repr(f),
                });
            }
        }
        ValueKind::String => json_str(out, v.as_str().unwrap_or_default(), style.ensure_ascii),
        ValueKind::Bytes => {
            json_str(out, &String::from_utf8_lossy(v.as_bytes().unwrap_or_default()), style.ensure_ascii)
        }
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter()?.collect();
            if keys.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            if style.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, style, level + 1);
                let key_text = match key.kind() {
                    ValueKind::String => key.as_str().unwrap_or_default().to_string(),
                    ValueKind::None => "null".into(),
                    ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).into(),
                    _ => number_str(key),
                };
                json_str(out, &key_text, style.ensure_ascii);
                out.push_str(": ");
                write_json(out, &v.get_item(key)?, style, level + 1)?;
            }
            newline(out, style, level);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, style, level + 1);
                write_json(out, item, style, level + 1)?;
            }
            newline(out, style, level);
            out.push(']');
        }
        _ => json_str(out, &v.to_string(), style.ensure_ascii),
    }
    Ok(())
}

/// A JSON string literal as Python's `json` module writes it.
fn json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    orc_modules::pyjson::write_json_str(out, s, ensure_ascii);
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn python_repr_of_values() {
        let v = Value::from(minijinja::value::Serde(serde_json::json!([1, "a", true, null, 2.5, {"k": "it's"}])));
        assert_eq!(repr(&v), r#"[1, 'a', True, None, 2.5, {'k': "it's"}]"#);
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(2.5), "2.5");
        assert_eq!(float_repr(1e20), "1e+20");
        assert_eq!(float_repr(1.5e-7), "1.5e-07");
        assert_eq!(float_repr(0.0001), "0.0001");
        assert_eq!(float_repr(-3.0), "-3.0");
    }

    #[test]
    fn json_dumps_matches_python() {
        let v = Value::from(minijinja::value::Serde(serde_json::json!({"b": [1, 2], "a": "é\n", "c": {}})));
        let compact = JsonStyle { indent: None, sort_keys: false, ensure_ascii: true };
        assert_eq!(json_dumps(&v, compact).unwrap(), r#"{"b": [1, 2], "a": "\u00e9\n", "c": {}}"#);
        let nice = JsonStyle { indent: Some(4), sort_keys: true, ensure_ascii: true };
        assert_eq!(
            json_dumps(&v, nice).unwrap(),
            "{\n    \"a\": \"\\u00e9\\n\",\n    \"b\": [\n        1,\n        2\n    ],\n    \"c\": {}\n}"
        );
    }
}
