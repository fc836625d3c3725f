//! Version comparison for the `version` test and `version_compare` filter, with the semantics of
//! Python's `LooseVersion` (numbers compare numerically, letters as text, `.` separates).

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value};
use minijinja::{Error, ErrorKind};

/// One component of a loose version.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u64),
    Text(String),
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Num(a), Part::Num(b)) => a.cmp(b),
            (Part::Text(a), Part::Text(b)) => a.cmp(b),
            (Part::Num(_), Part::Text(_)) => Ordering::Less,
            (Part::Text(_), Part::Num(_)) => Ordering::Greater,
        }
    }
}

/// Splits a version like `LooseVersion`: runs of digits, runs of letters, dropping `.`.
fn parse(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let chars: Vec<char> = v.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let digits: String = chars[start..i].iter().collect();
            parts.push(match digits.parse() {
                Ok(n) => Part::Num(n),
                Err(_) => Part::Text(digits),
            });
        } else if chars[i] == '.' {
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_ascii_digit() && chars[i] != '.' {
                i += 1;
            }
            parts.push(Part::Text(chars[start..i].iter().collect()));
        }
    }
    parts
}

/// Compares two versions the way `LooseVersion` does.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    parse(a).cmp(&parse(b))
}

/// `value is version(other, operator='eq')` / `value | version_compare(other, op)`.
pub(crate) fn version_test(
    value: &Value,
    other: &Value,
    operator: Option<&str>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator: Option<String> = match operator {
        Some(op) => Some(op.to_string()),
        None => kwargs.get("operator")?,
    };
    let _strict: Option<bool> = kwargs.get("strict")?;
    let _type: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let a = super::pyfmt::to_str(value);
    let b = super::pyfmt::to_str(other);
    if a.is_empty() {
        return Err(Error::new(ErrorKind::InvalidOperation, "Input version value cannot be empty"));
    }
    if b.is_empty() {
        return Err(Error::new(ErrorKind::InvalidOperation, "Version parameter to compare against cannot be empty"));
    }
    let ord = compare(&a, &b);
    let op = operator.unwrap_or_else(|| "eq".into());
    Ok(match op.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(Error::new(ErrorKind::InvalidOperation, format!("Invalid operator type ({other})"))),
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn loose_version_ordering() {
        assert_eq!(compare("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare("2.19.0", "2.19"), Ordering::Greater);
        assert_eq!(compare("1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.0a", "1.0b"), Ordering::Less);
    }
}
