//! Host patterns as Ansible evaluates them (`InventoryManager.get_hosts`): `a,b` or `a:b` unions,
//! `&g` intersections and `!g` exclusions (applied in that order), globs, `~regex`, subscripts
//! (`g[0]`, `g[-1]`, `g[1:3]`), the implicit localhost, and `--limit @file`.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

use super::hostrange::parse_address;
use super::{Inventory, LOCALHOST_NAMES};
use crate::error::{OrcError, Result};

/// Splits a pattern string into single patterns (Ansible's `split_host_pattern`): on commas when
/// there are any, else on colons outside `[...]` unless the whole thing is a host address.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_some() || pattern.trim_start().starts_with('~') {
        // A lone `~regex` is kept whole: its brackets and colons belong to the regex.
        vec![pattern.to_string()]
    } else {
        static R: OnceLock<Regex> = OnceLock::new();
        let re = R.get_or_init(|| {
            Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").unwrap_or_else(|_| unreachable!("constant regex"))
        });
        re.find_iter(pattern).map(|m| m.as_str().to_string()).collect()
    };
    parts.into_iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
}

/// Checks a host pattern string for brackets that do not pair up (`web[`, `web]0`): Ansible
/// drops the stray bracket and targets `web`, a silent surprise; orc refuses it. A `~regex`
/// part is left alone (its brackets are the regex's).
pub fn check_brackets(pattern: &str) -> Result<()> {
    let parts: Vec<&str> = if pattern.trim_start().starts_with('~') { vec![] } else { pattern.split(',').collect() };
    for part in parts {
        let body = part.trim().trim_start_matches(['&', '!']);
        if body.starts_with('~') {
            continue;
        }
        let mut open = false;
        for c in body.chars() {
            match c {
                '[' if open => return Err(bracket_error(pattern, part, "a '[' inside '[...]'")),
                '[' => open = true,
                ']' if !open => return Err(bracket_error(pattern, part, "a ']' without its '['")),
                ']' => open = false,
                _ => {}
            }
        }
        if open {
            return Err(bracket_error(pattern, part, "a '[' that is never closed"));
        }
    }
    Ok(())
}

fn bracket_error(pattern: &str, part: &str, what: &str) -> OrcError {
    OrcError::input(format!("invalid host pattern '{pattern}': '{}' has {what}", part.trim()))
        .help("a subscript is written group[0], group[-1] or group[1:3]; a ~regex pattern may use brackets freely")
}

/// The patterns of a `--limit` value; `@file` entries are replaced by the file's lines.
pub fn limit_patterns(limit: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for p in split_host_pattern(limit) {
        if let Some(file) = p.strip_prefix('@') {
            let path = std::path::Path::new(file);
            if !path.exists() {
                return Err(OrcError::input(format!("Unable to find limit file {file}"))
                    .help("--limit @FILE reads host patterns from FILE, one per line"));
            }
            if !path.is_file() {
                return Err(OrcError::input(format!(
                    "Limit starting with \"@\" must be a file, not a directory: {file}"
                )));
            }
            let text = OrcError::read(path)?;
            out.extend(text.split('\n').map(|l| l.trim().to_string()));
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Evaluates single patterns to hosts in inventory order, without duplicates.
pub fn evaluate(inv: &Inventory, patterns: &[String]) -> Result<Vec<String>> {
    let mut regular = Vec::new();
    let mut and = Vec::new();
    let mut not = Vec::new();
    for p in patterns.iter().filter(|p| !p.is_empty()) {
        match p.as_bytes()[0] {
            b'!' => not.push(p.as_str()),
            b'&' => and.push(p.as_str()),
            _ => regular.push(p.as_str()),
        }
    }
    if regular.is_empty() {
        regular.push("all");
    }
    let mut hosts: Vec<String> = Vec::new();
    for p in regular.into_iter().chain(and).chain(not) {
        if inv.has_host(p) {
            hosts.push(p.to_string());
            continue;
        }
        let that = match_one(inv, p)?;
        match p.as_bytes()[0] {
            b'!' => {
                let set: HashSet<&String> = that.iter().collect();
                hosts.retain(|h| !set.contains(h));
            }
            b'&' => {
                let set: HashSet<&String> = that.iter().collect();
                hosts.retain(|h| set.contains(h));
            }
            _ => {
                let existing: HashSet<String> = hosts.iter().cloned().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok(hosts)
}

fn subscript_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
            .unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

enum Subscript {
    One(i64),
    Range(i64, i64),
}

fn match_one(inv: &Inventory, pattern: &str) -> Result<Vec<String>> {
    let pattern = pattern.strip_prefix('&').or_else(|| pattern.strip_prefix('!')).unwrap_or(pattern);
    let (expr, sub) = split_subscript(pattern);
    let hosts = enumerate(inv, &expr)?;
    let Some(sub) = sub else { return Ok(hosts) };
    if hosts.is_empty() {
        return Ok(hosts);
    }
    let n = hosts.len() as i64;
    match sub {
        Subscript::One(i) => {
            let idx = if i < 0 { n + i } else { i };
            if idx < 0 || idx >= n {
                return Err(OrcError::input(format!("No hosts matched the subscripted pattern '{pattern}'"))
                    .help(format!("'{expr}' has {n} host(s), indexed from 0")));
            }
            Ok(vec![hosts[idx as usize].clone()])
        }
        Subscript::Range(start, end) => {
            if end == 0 {
                // Ansible treats [x:0] like [x]
                let idx = start;
                if idx >= n {
                    return Err(OrcError::input(format!("No hosts matched the subscripted pattern '{pattern}'")));
                }
                return Ok(vec![hosts[idx as usize].clone()]);
            }
            let end = if end == -1 { n - 1 } else { end };
            let s = start.min(n) as usize;
            let e = end.saturating_add(1).clamp(0, n) as usize;
            Ok(if s < e { hosts[s..e].to_vec() } else { Vec::new() })
        }
    }
}

fn split_subscript(pattern: &str) -> (String, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None);
    }
    let Some(c) = subscript_re().captures(pattern) else {
        return (pattern.to_string(), None);
    };
    let base = c.get(1).map(|m| m.as_str().to_string()).unwrap_or_default();
    // Python's ints have no limit: a number beyond i64 is saturated, which keeps it out of range.
    let num = |i: usize| {
        c.get(i).map(|m| {
            let t = m.as_str();
            t.parse::<i64>().unwrap_or(if t.starts_with('-') { i64::MIN } else { i64::MAX })
        })
    };
    if let Some(idx) = num(2) {
        return (base, Some(Subscript::One(idx)));
    }
    let start = num(3).unwrap_or(0);
    let end = match c.get(5).map(|m| m.as_str()) {
        Some("") | None => -1,
        Some(_) => num(5).unwrap_or(-1),
    };
    (base, Some(Subscript::Range(start, end)))
}

/// Python's `fnmatch.translate` (anchored): `*`, `?`, `[seq]`, `[!seq]`.
pub fn glob_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let body: String = chars[i..j].iter().collect();
                    i = j + 1;
                    let (neg, body) = match body.strip_prefix('!') {
                        Some(b) => (true, b.to_string()),
                        None => (false, body),
                    };
                    let escaped: String = body
                        .chars()
                        .map(|ch| match ch {
                            '\\' | '[' | ']' | '&' | '~' | '|' => format!("\\{ch}"),
                            '^' => "\\^".into(),
                            other => other.to_string(),
                        })
                        .collect();
                    if escaped.is_empty() {
                        out.push_str(if neg { "." } else { "[^\\s\\S]" });
                    } else {
                        out.push('[');
                        if neg {
                            out.push('^');
                        }
                        out.push_str(&escaped);
                        out.push(']');
                    }
                }
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push_str(")$");
    out
}

fn compile(pattern: &str) -> Result<Regex> {
    let src = match pattern.strip_prefix('~') {
        Some(re) => format!("^(?:{re})"),
        None => glob_to_regex(pattern),
    };
    Regex::new(&src).map_err(|e| {
        // regex's message is a multi-line picture; its last line says what is wrong.
        let text = e.to_string();
        let reason = text.lines().last().unwrap_or("invalid regular expression").trim_start_matches("error: ");
        OrcError::input(format!("Invalid host list pattern: {pattern}: {reason}"))
            .help("a pattern starting with ~ is a regular expression, others are globs")
    })
}

fn enumerate(inv: &Inventory, pattern: &str) -> Result<Vec<String>> {
    let re = compile(pattern)?;
    let mut results: Vec<String> = Vec::new();
    let mut matched_group = false;
    for g in inv.groups.keys() {
        if re.is_match(g) {
            matched_group = true;
            results.extend(inv.hosts_of_group(g).iter().cloned());
        }
    }
    let special = pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']);
    if !matched_group || special {
        for h in inv.hosts.keys() {
            if re.is_match(h) {
                results.push(h.clone());
            }
        }
    }
    if results.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
        results.push(inv.explicit_localhost().unwrap_or(pattern).to_string());
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn inv() -> (tempfile::TempDir, Inventory) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts.ini");
        std::fs::write(&p, "solo\n[web]\nweb[1:3]\n[db]\ndb1\ndb2\n[prod:children]\nweb\ndb\n[stage]\nweb3\nst1\n")
            .unwrap();
        let inv = Inventory::load(&[PathBuf::from(&p)]).unwrap();
        (dir, inv)
    }

    fn sel(inv: &Inventory, p: &str) -> Vec<String> {
        inv.select(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn subscripts_beyond_i64_are_out_of_range_not_panics() {
        let (_d, inv) = inv();
        assert_eq!(sel(&inv, "db[0:9223372036854775807]"), ["db1", "db2"]);
        assert_eq!(sel(&inv, "db[1-99999999999999999999999]"), ["db2"]);
        assert!(inv.select("db[99999999999999999999999]").is_err());
        assert!(inv.select("db[-99999999999999999999999]").is_err());
    }

    #[test]
    fn split_like_ansible() {
        assert_eq!(split_host_pattern("a,b[1], c[2:3] , d"), ["a", "b[1]", "c[2:3]", "d"]);
        assert_eq!(split_host_pattern("web:&prod:!db"), ["web", "&prod", "!db"]);
        assert_eq!(split_host_pattern("g[1:2]:h"), ["g[1:2]", "h"]);
        assert_eq!(split_host_pattern("fe80::1"), ["fe80::1"]);
    }

    #[test]
    fn all_star_and_groups_in_inventory_order() {
        let (_d, inv) = inv();
        // checked with `ansible -i hosts.ini all --list-hosts` (2.19): breadth-first over groups
        let all = ["solo", "web3", "st1", "web1", "web2", "db1", "db2"];
        assert_eq!(sel(&inv, "all"), all);
        assert_eq!(sel(&inv, "*"), all);
        assert_eq!(sel(&inv, "prod"), ["web1", "web2", "web3", "db1", "db2"]);
        assert_eq!(sel(&inv, "db:web"), ["db1", "db2", "web1", "web2", "web3"]);
        assert_eq!(sel(&inv, "ungrouped"), ["solo"]);
    }

    #[test]
    fn intersection_exclusion_and_globs() {
        let (_d, inv) = inv();
        assert_eq!(sel(&inv, "prod:&stage"), ["web3"]);
        assert_eq!(sel(&inv, "prod:!web"), ["db1", "db2"]);
        assert_eq!(sel(&inv, "!prod"), ["solo", "st1"]);
        assert_eq!(sel(&inv, "web*"), ["web1", "web2", "web3"]);
        assert_eq!(sel(&inv, "~(db|st)\\d"), ["db1", "db2", "st1"]);
        assert_eq!(sel(&inv, "db?,solo"), ["db1", "db2", "solo"]);
    }

    #[test]
    fn subscripts() {
        let (_d, inv) = inv();
        assert_eq!(sel(&inv, "web[0]"), ["web1"]);
        assert_eq!(sel(&inv, "web[-1]"), ["web3"]);
        assert_eq!(sel(&inv, "prod[1:3]"), ["web2", "web3", "db1"]);
        assert_eq!(sel(&inv, "prod[3:]"), ["db1", "db2"]);
        assert!(inv.select("web[7]").is_err());
    }

    #[test]
    fn no_match_is_an_error_and_localhost_is_implicit() {
        let (_d, inv) = inv();
        let e = inv.select("nope").unwrap_err().to_string();
        assert!(e.contains("no hosts matched") && e.contains("nope"), "{e}");
        assert_eq!(sel(&inv, "localhost"), ["localhost"]);
        assert_eq!(inv.host_vars("localhost").get("ansible_connection"), Some(&serde_json::json!("local")));
        // The controller's python3, as Ansible gives its own interpreter.
        let python = crate::inventory::controller_python().map(serde_json::Value::from);
        assert_eq!(inv.host_vars("localhost").get("ansible_python_interpreter"), python.as_ref());
        if std::path::Path::new("/usr/bin/python3").exists() {
            assert!(python.is_some());
        }
        assert!(!inv.hosts().contains(&"localhost".to_string()));
    }

    #[test]
    fn limit_with_file() {
        let (d, inv) = inv();
        let f = d.path().join("retry");
        std::fs::write(&f, "db2\nweb1\n\n").unwrap();
        let all = inv.hosts();
        let got = inv.limit(all.clone(), &format!("@{}", f.display())).unwrap();
        assert_eq!(got, ["web1", "db2"]);
        assert_eq!(inv.limit(all.clone(), "prod:!web").unwrap(), ["db1", "db2"]);
        assert!(inv.limit(all, "nothing").is_err());
    }

    #[test]
    fn glob_translation() {
        let r = Regex::new(&glob_to_regex("w[!0-2]?*")).unwrap();
        assert!(r.is_match("w3ab"));
        assert!(!r.is_match("w1ab"));
        assert!(Regex::new(&glob_to_regex("a.b")).unwrap().is_match("a.b"));
        assert!(!Regex::new(&glob_to_regex("a.b")).unwrap().is_match("axb"));
    }
}
