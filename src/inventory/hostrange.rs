//! Host entries as Ansible reads them: `host:port` splitting (`parse_address`) and range expansion
//! (`web[01:10]`, `db-[a:c]`, `n[1:10:2]`).

use regex::Regex;
use std::sync::OnceLock;

const NUMERIC_RANGE: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
const HEX_RANGE: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
const ALNUM_RANGE: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";

fn re(cell: &'static OnceLock<Regex>, pat: impl FnOnce() -> String) -> &'static Regex {
    cell.get_or_init(|| Regex::new(&pat()).unwrap_or_else(|_| unreachable!("constant regex")))
}

fn bracketed_hostport() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || r"^\[(.+)\]:([0-9]+)$".into())
}

fn hostport() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$".into())
}

/// Matches an IPv4 address (ranges allowed in components).
pub fn ipv4() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || {
        let c = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{NUMERIC_RANGE})");
        format!(r"(?i)^(?:{c}\.){{3}}{c}$")
    })
}

/// Matches an IPv6 address (ranges allowed in components).
pub fn ipv6() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || {
        let c = format!(r"(?:[0-9a-f]{{1,4}}|{HEX_RANGE})");
        let alts = [
            format!(r"(?:{c}:){{7}}{c}"),
            format!(r"(?:{c}:){{1,6}}:"),
            format!(r"(?:{c}:)(?::{c}){{1,6}}"),
            format!(r"(?:{c}:){{2}}(?::{c}){{1,5}}"),
            format!(r"(?:{c}:){{3}}(?::{c}){{1,4}}"),
            format!(r"(?:{c}:){{4}}(?::{c}){{1,3}}"),
            format!(r"(?:{c}:){{5}}(?::{c}){{1,2}}"),
            format!(r"(?:{c}:){{6}}(?::{c})"),
            format!(r":(?::{c}){{1,6}}"),
            format!(r"{c}?::"),
            format!(r"(?:0:){{6}}(?:{c}\.){{3}}{c}"),
            format!(r"::(?:ffff:)?(?:{c}\.){{3}}{c}"),
            format!(r"(?:0:){{5}}ffff:(?:{c}\.){{3}}{c}"),
        ];
        format!("(?i)^(?:{})$", alts.join("|"))
    })
}

fn label() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, || format!(r"(?i)^(?:\w|{ALNUM_RANGE})(?:[\w-]|{ALNUM_RANGE})*$"))
}

fn is_hostname(s: &str) -> bool {
    // Python's label regex ends with (?<![_-]); labels cannot contain '.', ranges neither.
    !s.is_empty() && s.split('.').all(|l| label().is_match(l) && !l.ends_with('_') && !l.ends_with('-'))
}

/// Ansible's `parse_address`: splits an optional `:port` and checks the rest is a host name or
/// address. `None` when it is not recognisable (callers then keep the text as it is).
pub fn parse_address(address: &str, allow_ranges: bool) -> Option<(String, Option<u16>)> {
    let mut address = address.to_string();
    let mut port = None;
    for r in [bracketed_hostport(), hostport()] {
        if let Some(c) = r.captures(&address) {
            let host = c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default();
            port = c.get(2).and_then(|m| m.as_str().parse::<u16>().ok());
            address = host;
        }
    }
    let ok = ipv4().is_match(&address) || ipv6().is_match(&address) || is_hostname(&address);
    if !ok || (!allow_ranges && address.contains('[')) {
        return None;
    }
    Some((address, port))
}

/// Ansible's `_expand_hostpattern`: the host names an inventory entry stands for, and its port.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (pat, port) = parse_address(pattern, true).unwrap_or((pattern.to_string(), None));
    if pat.contains('[') {
        Ok((expand_range(&pat)?, port))
    } else {
        Ok((vec![pat], port))
    }
}

/// Expands every `[begin:end(:step)]` range in a host name (Ansible's `expand_hostname_range`).
pub fn expand_range(line: &str) -> Result<Vec<String>, String> {
    let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
        return Err(format!("host range in '{line}' must be written [begin:end] or [begin:end:step]"));
    };
    if close < open || line[open + 1..].contains('|') {
        return Err(format!("host range in '{line}' must be written [begin:end] or [begin:end:step]"));
    }
    let head = &line[..open];
    let nrange = &line[open + 1..close];
    let tail = &line[close + 1..];
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step_text = bounds.get(2).copied().unwrap_or("1");
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        beg.len()
    } else {
        0
    };
    let step: i64 = py_int(step_text)?;
    if step <= 0 {
        return Err(format!("host range step must be a positive number, got '{step_text}'"));
    }
    const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let seq: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            LETTERS[b..=e].chars().step_by(step as usize).map(String::from).collect()
        }
        _ => {
            let b = py_int(beg)?;
            let e = py_int(end)?;
            let count = (i128::from(e) - i128::from(b)) / i128::from(step) + 1;
            if count > MAX_RANGE_HOSTS as i128 {
                return Err(too_many());
            }
            let mut v = Vec::new();
            let mut i = Some(b);
            while let Some(n) = i.filter(|n| *n <= e) {
                v.push(format!("{n:0width$}"));
                i = n.checked_add(step);
            }
            v
        }
    };
    let mut out = Vec::new();
    for s in seq {
        let name = format!("{head}{s}{tail}");
        if name.contains('[') {
            out.extend(expand_range(&name)?);
        } else {
            out.push(name);
        }
        if out.len() > MAX_RANGE_HOSTS {
            return Err(too_many());
        }
    }
    Ok(out)
}

/// The most hosts one range entry may expand to; a typo such as `web[1:10000000000]` would
/// otherwise exhaust memory before any error could be shown.
pub const MAX_RANGE_HOSTS: usize = 1_000_000;

fn too_many() -> String {
    format!("host range expands to more than {MAX_RANGE_HOSTS} hosts")
}

fn py_int(s: &str) -> Result<i64, String> {
    s.trim().replace('_', "").parse::<i64>().map_err(|_| format!("invalid literal for int() with base 10: '{s}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(p: &str) -> Vec<String> {
        expand_hostpattern(p).unwrap().0
    }

    #[test]
    fn huge_or_overflowing_ranges_are_errors() {
        let err = expand_range("h[1:99999999999999]").unwrap_err();
        assert!(err.contains("more than 1000000 hosts"), "{err}");
        let err = expand_range("h[1:1000][1:1000][1:10]").unwrap_err();
        assert!(err.contains("more than 1000000 hosts"), "{err}");
        assert_eq!(expand_range("h[9223372036854775806:9223372036854775807:5]").unwrap(), vec!["h9223372036854775806"]);
    }

    #[test]
    fn numeric_ranges_keep_zero_padding() {
        assert_eq!(names("web[01:03]"), ["web01", "web02", "web03"]);
        assert_eq!(names("n[1:10:4].x"), ["n1.x", "n5.x", "n9.x"]);
        assert_eq!(names("h[:2]"), ["h0", "h1", "h2"]);
    }

    #[test]
    fn alpha_and_nested_ranges() {
        assert_eq!(names("db-[a:c]"), ["db-a", "db-b", "db-c"]);
        assert_eq!(names("r[1:2]-[a:b]"), ["r1-a", "r1-b", "r2-a", "r2-b"]);
    }

    #[test]
    fn ports_are_split() {
        assert_eq!(expand_hostpattern("web-x:2222").unwrap(), (vec!["web-x".to_string()], Some(2222)));
        assert_eq!(expand_hostpattern("[::1]:22").unwrap(), (vec!["::1".to_string()], Some(22)));
        assert_eq!(
            expand_hostpattern("10.0.0.[1:2]:22").unwrap(),
            (vec!["10.0.0.1".to_string(), "10.0.0.2".to_string()], Some(22))
        );
        // not an address: kept as written
        assert_eq!(expand_hostpattern("a_").unwrap().0, ["a_"]);
    }

    #[test]
    fn range_errors() {
        assert!(expand_range("w[1:2:3:4]").is_err());
        assert!(expand_range("w[01:2]").is_err());
        assert!(expand_range("w[c:a]").is_err());
        assert!(expand_range("w[1:]").is_err());
    }
}
