//! Python's `str()` of a loop item, which Ansible prints as the `(item=...)` label: a string as it
//! is, anything else as Python's `repr` (`{'name': 'x', 'n': 1, 't': True}`). The engine uses
//! [`item_label`] to fill `HostResult::item_label` so that labels read as they do in Ansible.

use serde_json::Value;

use crate::pyjson::float_repr;

/// The `(item=...)` label of a loop item, as Ansible's `"%s" % item` renders it.
pub fn item_label(item: &Value) -> String {
    match item {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's name of a JSON value's type (`type(v).__name__`), as Ansible's and Python's messages
/// write it: `NoneType`, `bool`, `int`, `float`, `str`, `list`, `dict`.
pub fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Python's `repr()` of a JSON value (dict keys in their order, `True`/`False`/`None`).
pub fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v);
    out
}

fn write_repr(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (None, Some(u), _) => out.push_str(&u.to_string()),
            (None, None, Some(f)) => out.push_str(&float_repr(f).replace("Infinity", "inf")),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str_repr(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str_repr(out, k);
                out.push_str(": ");
                write_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(str)`: the text quoted and escaped as Python prints it.
pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_str_repr(&mut out, s);
    out
}

/// Python's string repr: single quotes unless the text has a `'` and no `"`; backslash escapes for
/// the quote, `\`, `\n`, `\r`, `\t` and non-printable characters.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n <= 0xffff {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// An approximation of Python's `str.isprintable` for one character: control characters, the
/// Latin-1 block's non-printables, format characters and separators other than space are not.
fn is_printable(c: char) -> bool {
    let n = c as u32;
    !(n < 0x20
        || (0x7f..=0xa0).contains(&n)
        || n == 0xad
        || (0x200b..=0x200f).contains(&n)
        || (0x2028..=0x202e).contains(&n)
        || (0x2060..=0x2064).contains(&n)
        || n == 0xfeff
        || (0xd800..=0xf8ff).contains(&n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_type_names() {
        let names: Vec<_> = [json!(null), json!(true), json!(1), json!(1.5), json!("s"), json!([]), json!({})]
            .iter()
            .map(py_type)
            .collect();
        assert_eq!(names, ["NoneType", "bool", "int", "float", "str", "list", "dict"]);
    }

    #[test]
    fn strings_are_plain() {
        assert_eq!(item_label(&json!("a b")), "a b");
    }

    #[test]
    fn dict_like_python() {
        // python3 -c 'print({"name": "x", "n": 1, "t": True, "q": "it'\''s", "z": None, "f": 1.5,
        //   "l": ["a\nb", "\x01", "é\u200b", "\\"], "d": "a\"b'\''c"})'
        let v = json!({"name": "x", "n": 1, "t": true, "q": "it's", "z": null, "f": 1.5,
            "l": ["a\nb", "\u{1}", "é\u{200b}", "\\"], "d": "a\"b'c"});
        assert_eq!(
            item_label(&v),
            r#"{'name': 'x', 'n': 1, 't': True, 'q': "it's", 'z': None, 'f': 1.5, 'l': ['a\nb', '\x01', 'é\u200b', '\\'], 'd': 'a"b\'c'}"#
        );
    }

    #[test]
    fn list_of_numbers() {
        assert_eq!(item_label(&json!([1, 2.0, false])), "[1, 2.0, False]");
    }
}
