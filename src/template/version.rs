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

/// `value is version(other, operator='eq', strict=None, version_type=None)` /
/// `value | version_compare(...)` (ansible/plugins/test/core.py `version_compare`): the
/// operator, `strict` and `version_type` may be given by position or by name.
/// One function registered as the test (`version`, `version_compare`) and as the filter
/// (`version_compare`), so that the two spellings cannot drift apart.
pub(crate) fn version_test(
    value: &Value,
    other: &Value,
    rest: minijinja::value::Rest<Value>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let rest: &[Value] = &rest;
    let fail = |msg: String| Error::new(ErrorKind::InvalidOperation, msg);
    if rest.len() > 3 {
        return Err(Error::new(ErrorKind::TooManyArguments, "version takes at most 5 arguments"));
    }
    let positional = |i: usize, name: &str| -> Result<Option<Value>, Error> {
        let named: Option<Value> = kwargs.get(name)?;
        match (rest.get(i), named) {
            (Some(_), Some(_)) => Err(fail(format!("version got multiple values for argument '{name}'"))),
            (Some(v), None) => Ok(Some(v.clone())),
            (None, v) => Ok(v),
        }
    };
    let operator = positional(0, "operator")?.filter(|v| !v.is_none());
    let strict = positional(1, "strict")?.filter(|v| !v.is_none());
    let version_type = positional(2, "version_type")?.filter(|v| !v.is_none());
    kwargs.assert_all_used()?;
    if strict.is_some() && version_type.is_some() {
        return Err(fail("Cannot specify both 'strict' and 'version_type'".into()));
    }
    let a = super::pyfmt::to_str(value);
    let b = super::pyfmt::to_str(other);
    if !value.is_true() || a.is_empty() {
        return Err(fail("Input version value cannot be empty".into()));
    }
    if !other.is_true() || b.is_empty() {
        return Err(fail("Version parameter to compare against cannot be empty".into()));
    }
    let kind = match (strict.is_some_and(|s| s.is_true()), version_type.map(|v| super::pyfmt::to_str(&v))) {
        (true, _) => Kind::Strict,
        (false, None) => Kind::Loose,
        (false, Some(t)) => match t.as_str() {
            "loose" => Kind::Loose,
            "strict" => Kind::Strict,
            "semver" | "semantic" => Kind::Semantic,
            "pep440" => Kind::Pep440,
            other => {
                return Err(fail(format!(
                    "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
                )))
            }
        },
    };
    let op = operator.map(|o| super::pyfmt::to_str(&o)).unwrap_or_else(|| "eq".into());
    let test: fn(Ordering) -> bool = match op.as_str() {
        "==" | "=" | "eq" => |o| o == Ordering::Equal,
        "<" | "lt" => |o| o == Ordering::Less,
        "<=" | "le" => |o| o != Ordering::Greater,
        ">" | "gt" => |o| o == Ordering::Greater,
        ">=" | "ge" => |o| o != Ordering::Less,
        "!=" | "<>" | "ne" => |o| o != Ordering::Equal,
        other => {
            return Err(fail(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )))
        }
    };
    let ord = kind.compare(&a, &b).map_err(|e| fail(format!("Version comparison failed: {e}")))?;
    Ok(test(ord))
}

/// The version classes `version_type` chooses among.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `LooseVersion`: anything goes.
    Loose,
    /// `StrictVersion`: `N.N[.N][(a|b)N]`.
    Strict,
    /// `SemanticVersion`: semver 2.0.0.
    Semantic,
    /// `packaging.version.Version`: PEP 440.
    Pep440,
}

impl Kind {
    fn compare(self, a: &str, b: &str) -> Result<Ordering, String> {
        match self {
            Kind::Loose => Ok(compare(a, b)),
            Kind::Strict => Ok(strict_key(a)?.cmp(&strict_key(b)?)),
            Kind::Semantic => Ok(semver_key(a)?.cmp(&semver_key(b)?)),
            Kind::Pep440 => Ok(pep440_key(a)?.cmp(&pep440_key(b)?)),
        }
    }
}

/// `StrictVersion`'s ordering key: the three numbers, then no prerelease after any prerelease.
type StrictKey = (u64, u64, u64, (u8, char, u64));

fn strict_key(v: &str) -> Result<StrictKey, String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(\d+)\.(\d+)(\.(\d+))?([ab](\d+))?$").unwrap_or_else(|_| unreachable!())
    });
    let bad = || format!("invalid version number '{v}'");
    let c = RE.captures(v).ok_or_else(bad)?;
    let num = |i: usize| -> Result<u64, String> { c.get(i).map_or(Ok(0), |m| m.as_str().parse().map_err(|_| bad())) };
    let pre = match c.get(5) {
        Some(m) => (0, m.as_str().chars().next().unwrap_or('a'), num(6)?),
        None => (1, ' ', 0),
    };
    Ok((num(1)?, num(2)?, num(4)?, pre))
}

/// One dot-separated prerelease identifier of a semantic version: numbers before text.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Num(u64),
    Text(String),
}

/// `SemanticVersion`'s ordering key (build metadata is ignored; a release sorts after its
/// prereleases).
type SemverKey = (u64, u64, u64, (u8, Vec<Ident>));

fn semver_key(v: &str) -> Result<SemverKey, String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)",
            r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?",
            r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
        ))
        .unwrap_or_else(|_| unreachable!())
    });
    let bad = || format!("invalid semantic version '{v}'");
    let c = RE.captures(v).ok_or_else(bad)?;
    let num = |i: usize| -> Result<u64, String> { c[i].parse().map_err(|_| bad()) };
    let pre = match c.get(4) {
        Some(m) => (
            0,
            m.as_str()
                .split('.')
                .map(|p| p.parse().map(Ident::Num).unwrap_or_else(|_| Ident::Text(p.to_string())))
                .collect(),
        ),
        None => (1, Vec::new()),
    };
    Ok((num(1)?, num(2)?, num(3)?, pre))
}

/// `packaging.version.Version`'s ordering key (`_cmpkey`): epoch, release without trailing
/// zeros, prerelease (a dev release without one sorts first, a final release last), post
/// release, dev release, local label.
type Pep440Key = (u64, Vec<u64>, (i8, u8, u64), (i8, u64), (i8, u64), Vec<Ident>);

fn pep440_key(v: &str) -> Result<Pep440Key, String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(concat!(
            r"(?i)^\s*v?(?:(\d+)!)?(\d+(?:\.\d+)*)",
            r"(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d+)?)?",
            r"(?:-(\d+)|[-_.]?(post|rev|r)[-_.]?(\d+)?)?",
            r"(?:[-_.]?(dev)[-_.]?(\d+)?)?",
            r"(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$"
        ))
        .unwrap_or_else(|_| unreachable!())
    });
    let bad = || format!("Invalid version: '{v}'");
    let c = RE.captures(v).ok_or_else(bad)?;
    let num = |i: usize| -> Result<Option<u64>, String> {
        c.get(i).map(|m| m.as_str().parse().map_err(|_| bad())).transpose()
    };
    let mut release: Vec<u64> = c[2].split('.').map(|p| p.parse().map_err(|_| bad())).collect::<Result<_, String>>()?;
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    let has_post = c.get(5).is_some() || c.get(6).is_some();
    let has_dev = c.get(8).is_some();
    let pre = match c.get(3).map(|m| m.as_str().to_ascii_lowercase()) {
        Some(p) => {
            let rank = match p.as_str() {
                "a" | "alpha" => 0,
                "b" | "beta" => 1,
                _ => 2,
            };
            (0, rank, num(4)?.unwrap_or(0))
        }
        None if has_dev && !has_post => (-1, 0, 0),
        None => (1, 0, 0),
    };
    let post = match (num(5)?, c.get(6)) {
        (Some(n), _) => (0, n),
        (None, Some(_)) => (0, num(7)?.unwrap_or(0)),
        (None, None) => (-1, 0),
    };
    let dev = if has_dev { (0, num(9)?.unwrap_or(0)) } else { (1, 0) };
    let local = c
        .get(10)
        .map(|m| {
            m.as_str()
                .split(['-', '_', '.'])
                .map(|p| p.parse().map(Ident::Num).unwrap_or_else(|_| Ident::Text(p.to_ascii_lowercase())))
                .collect()
        })
        .unwrap_or_default();
    Ok((num(1)?.unwrap_or(0), release, pre, post, dev, local))
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

    #[test]
    fn strict_semantic_and_pep440_orderings() {
        assert_eq!(Kind::Strict.compare("1.0", "1.0.0"), Ok(Ordering::Equal));
        assert_eq!(Kind::Strict.compare("1.0a1", "1.0"), Ok(Ordering::Less));
        assert!(Kind::Strict.compare("nope", "1.0").is_err());
        assert_eq!(Kind::Semantic.compare("1.2.3", "2.0.0"), Ok(Ordering::Less));
        assert_eq!(Kind::Semantic.compare("1.0.0-alpha.1", "1.0.0-alpha.beta"), Ok(Ordering::Less));
        assert_eq!(Kind::Semantic.compare("1.0.0-rc.1", "1.0.0"), Ok(Ordering::Less));
        assert!(Kind::Semantic.compare("nope", "1.0.0").is_err());
        assert_eq!(Kind::Pep440.compare("2.14.0rc1", "2.14.0"), Ok(Ordering::Less));
        assert_eq!(Kind::Pep440.compare("1.0.dev1", "1.0a1"), Ok(Ordering::Less));
        assert_eq!(Kind::Pep440.compare("1.0.post1", "1.0"), Ok(Ordering::Greater));
        assert_eq!(Kind::Pep440.compare("1.0", "1.0.0"), Ok(Ordering::Equal));
    }
}
