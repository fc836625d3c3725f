//! Shell-style patterns as Python's `fnmatch` reads them (`*`, `?`, `[seq]`, `[!seq]`, case
//! sensitive as on POSIX): `find` patterns, `unarchive` excludes, apt version patterns and
//! `--start-at-task` names all use these, so they match what Ansible matches.

use regex::Regex;

/// Python's `fnmatch.translate`: the pattern as an anchored regex.
pub fn translate(pat: &str) -> String {
    let c: Vec<char> = pat.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i + 1;
                if j < c.len() && c[j] == '!' {
                    j += 1;
                }
                if j < c.len() && c[j] == ']' {
                    j += 1;
                }
                while j < c.len() && c[j] != ']' {
                    j += 1;
                }
                if j >= c.len() {
                    out.push_str("\\[");
                } else {
                    let inner: String = c[i + 1..j].iter().collect();
                    let inner = inner.replace('\\', "\\\\");
                    let inner = match inner.strip_prefix('!') {
                        Some(rest) => format!("^{rest}"),
                        None if inner.starts_with('^') => format!("\\{inner}"),
                        None => inner,
                    };
                    out.push('[');
                    out.push_str(&inner.replace('[', "\\["));
                    out.push(']');
                    i = j;
                }
            }
            ch => out.push_str(&regex::escape(&ch.to_string())),
        }
        i += 1;
    }
    out.push('$');
    out
}

/// Whether `name` matches the shell-style pattern `pat` (Python's `fnmatch.fnmatchcase`).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    Regex::new(&translate(pat)).map(|r| r.is_match(name)).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_python() {
        let re = |p: &str| Regex::new(&translate(p)).unwrap();
        assert!(re("*.conf").is_match("a.conf"));
        assert!(!re("*.conf").is_match("a.conf.bak"));
        assert!(re("[!a]?.txt").is_match("bc.txt"));
        assert!(!re("[!a]?.txt").is_match("ac.txt"));
        assert!(re("a+b").is_match("a+b"));
        assert!(fnmatch("1.2.3-1", "1.2*"));
        assert!(!fnmatch("1.3", "1.2*"));
        assert!(fnmatch("7.x", "[0-9].x"));
        assert!(!fnmatch("7.x", "[!0-9].x"));
        assert!(fnmatch("a/b.log", "*.log") && !fnmatch("a/b.txt", "*.log"));
        assert!(fnmatch("Install *", "Install [*]"));
        assert!(fnmatch("[x", "[x"));
    }
}
