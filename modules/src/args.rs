//! Ansible's loose argument values, coerced the way Ansible coerces them.
//!
//! Use these with `#[serde(deserialize_with = "...", default)]` on argument struct fields.

use serde::de::{Deserializer, Error};
use serde::Deserialize;
use serde_json::Value;

/// Ansible's boolean spellings: yes/no, true/false, on/off, 1/0, y/n (any case).
pub fn parse_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" | "t" => Some(true),
            "no" | "false" | "off" | "0" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A boolean argument.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = Value::deserialize(d)?;
    parse_bool(&v)
        .ok_or_else(|| D::Error::custom(format!("{} is not a valid boolean; use yes/no or true/false", short(&v))))
}

/// An optional boolean argument (absent or null = None).
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_bool(&v)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("{} is not a valid boolean; use yes/no or true/false", short(&v))))
}

/// Renders any scalar as Ansible's str() would, for string arguments given as numbers or booleans.
pub fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        _ => None,
    }
}

/// A string argument that also accepts numbers and booleans, and a dict or list as Python's
/// `str()` of it, as Ansible's `check_type_str` converts it (`path: '{{ item }}'` with a `find`
/// result is the text `{'path': ...}`, a path that does not exist).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = Value::deserialize(d)?;
    scalar_to_string(&v)
        .or_else(|| container_to_string(&v))
        .ok_or_else(|| D::Error::custom("expected a string, got null"))
}

/// An optional string argument (converted as [`string`]).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    Ok(scalar_to_string(&v).or_else(|| container_to_string(&v)))
}

/// Python's `str()` of a dict or list; `None` for anything else.
fn container_to_string(v: &Value) -> Option<String> {
    matches!(v, Value::Object(_) | Value::Array(_)).then(|| crate::pyrepr::repr(v))
}

/// A list argument given as a list, or as a comma-separated string.
pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(vec![]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                scalar_to_string(i).ok_or_else(|| D::Error::custom(format!("list item {} is not a string", short(i))))
            })
            .collect(),
        _ => match scalar_to_string(&v) {
            Some(s) => Ok(s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()),
            None => Err(D::Error::custom(format!("expected a list, got {}", short(&v)))),
        },
    }
}

/// An optional list argument: a list, or a comma-separated string (absent or null = None).
pub fn opt_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    list(v).map(Some).map_err(D::Error::custom)
}

/// Serde default for boolean arguments that default to true.
pub fn default_true() -> bool {
    true
}

/// An optional integer that also accepts its decimal string form.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_u64().map(Some).ok_or_else(|| D::Error::custom(format!("{n} is not a whole number"))),
        Value::String(s) => {
            s.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{s}' is not a whole number")))
        }
        _ => Err(D::Error::custom(format!("expected a whole number, got {}", short(&v)))),
    }
}

/// An optional signed integer that also accepts its decimal string form (Ansible's `type='int'`
/// where -1 means "unset", as the user module's `password_expire_*`).
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| D::Error::custom(format!("{n} is not an integer"))),
        Value::String(s) => {
            s.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{s}' is not an integer")))
        }
        _ => Err(D::Error::custom(format!("expected an integer, got {}", short(&v)))),
    }
}

/// An optional number that also accepts its decimal string form (Ansible's `type='float'`, as
/// the user module's `expires`).
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| D::Error::custom(format!("{n} is not a number"))),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{s}' is not a number"))),
        _ => Err(D::Error::custom(format!("expected a number, got {}", short(&v)))),
    }
}

/// A required whole number that also accepts its decimal string form (`"5"`, as YAML and
/// templates may give it).
pub fn whole<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    opt_u64(d)?.ok_or_else(|| D::Error::custom("expected a whole number, got null"))
}

/// A file mode as Ansible accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Numeric permission bits (`'0644'`, `0644` read as YAML 1.1 octal, `'644'`).
    Octal(u32),
    /// Symbolic form handed to chmod as is (`u=rw,g=r,o=r`, `u+x`).
    Symbolic(String),
    /// `preserve` (copy/template): keep the source file's mode.
    Preserve,
}

impl Mode {
    /// The argument chmod takes for this mode.
    pub fn chmod_arg(&self) -> String {
        match self {
            Mode::Octal(m) => format!("{m:04o}"),
            Mode::Symbolic(s) => s.clone(),
            Mode::Preserve => String::new(),
        }
    }
}

/// Parses a mode: an integer is taken as the numeric mode (YAML 1.1 already read `0644` as octal),
/// a string of octal digits as octal, anything else as chmod's symbolic form.
pub fn parse_mode(v: &Value) -> Result<Mode, String> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .filter(|m| *m <= 0o7777)
            .map(|m| Mode::Octal(m as u32))
            .ok_or_else(|| format!("mode {n} is out of range")),
        Value::String(s) if s == "preserve" => Ok(Mode::Preserve),
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => {
            u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777).map(Mode::Octal).ok_or_else(|| {
                format!("mode '{s}' is not a valid octal mode; use a quoted octal string such as '0644'")
            })
        }
        Value::String(s) if is_symbolic_mode(s) => Ok(Mode::Symbolic(s.clone())),
        _ => Err(format!("{} is not a valid mode; use a quoted octal string such as '0644' or a symbolic mode such as 'u=rw,g=r,o=r'", short(v))),
    }
}

fn is_symbolic_mode(s: &str) -> bool {
    let re = regex::Regex::new(r"^([ugoa]*[-+=]([rwxXst]*|[ugo]))+(,([ugoa]*[-+=]([rwxXst]*|[ugo]))+)*$");
    re.map(|r| r.is_match(s)).unwrap_or(false)
}

/// An optional mode argument.
pub fn opt_mode<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Mode>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    parse_mode(&v).map(Some).map_err(D::Error::custom)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}...", &s[..s.char_indices().nth(57).map(|(i, _)| i).unwrap_or(s.len())])
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ansible_booleans() {
        for t in [json!("yes"), json!("True"), json!("on"), json!(1), json!(true)] {
            assert_eq!(parse_bool(&t), Some(true), "{t}");
        }
        for f in [json!("no"), json!("false"), json!("off"), json!(0), json!(false)] {
            assert_eq!(parse_bool(&f), Some(false), "{f}");
        }
        assert_eq!(parse_bool(&json!("maybe")), None);
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode(&json!("0644")), Ok(Mode::Octal(0o644)));
        assert_eq!(parse_mode(&json!("644")), Ok(Mode::Octal(0o644)));
        assert_eq!(parse_mode(&json!(420)), Ok(Mode::Octal(0o644)));
        assert_eq!(parse_mode(&json!("u=rw,g=r,o=r")), Ok(Mode::Symbolic("u=rw,g=r,o=r".into())));
        assert!(parse_mode(&json!("0899")).is_err());
        assert!(parse_mode(&json!("rwx")).is_err());
    }

    #[test]
    fn a_dict_given_for_a_string_is_its_python_text() {
        // ansible-playbook: `file: path='{{ item }}' state=absent` over find's files gets the
        // dict's str() as the path (and finds nothing to remove).
        #[derive(Deserialize)]
        struct A {
            #[serde(deserialize_with = "string")]
            p: String,
            #[serde(default, deserialize_with = "opt_string")]
            q: Option<String>,
        }
        let a: A = serde_json::from_value(json!({"p": {"path": "/x", "isdir": false}, "q": ["a", 1]})).unwrap();
        assert_eq!(a.p, "{'path': '/x', 'isdir': False}");
        assert_eq!(a.q.as_deref(), Some("['a', 1]"));
    }
}
