//! Python's text semantics that file modules must reproduce byte for byte: `readlines`,
//! `bytes.splitlines(True)`, `re.search` on one line (where `$` also matches before a final newline)
//! and `match.expand` templates (`\1`, `\g<name>`) used by lineinfile's `backrefs`.

use regex::bytes::{Captures, Regex};

/// A compiled Python pattern: the regex crate's engine, or fancy-regex's for the patterns it
/// cannot run (backreferences, look-around), which then matches the text as UTF-8 (invalid bytes
/// replaced).
#[derive(Debug, Clone)]
pub enum PyRegex {
    /// The regex crate, on bytes.
    Plain(Regex),
    /// fancy-regex, on text.
    Fancy(Box<fancy_regex::Regex>),
}

impl PyRegex {
    /// Whether the pattern matches anywhere in `text` (`re.search`).
    pub fn is_match(&self, text: &[u8]) -> bool {
        match self {
            PyRegex::Plain(re) => re.is_match(text),
            PyRegex::Fancy(re) => re.is_match(&String::from_utf8_lossy(text)).unwrap_or(false),
        }
    }

    /// The byte span of the first match in `text` (for fancy-regex, of the text as UTF-8: the
    /// same offsets when `text` is valid UTF-8).
    pub fn find(&self, text: &[u8]) -> Option<(usize, usize)> {
        match self {
            PyRegex::Plain(re) => re.find(text).map(|m| (m.start(), m.end())),
            PyRegex::Fancy(re) => {
                let t = String::from_utf8_lossy(text);
                re.find(&t).ok().flatten().map(|m| (m.start().min(text.len()), m.end().min(text.len())))
            }
        }
    }

    /// The groups of the first match in `text`.
    pub fn captures(&self, text: &[u8]) -> Option<OwnedCaptures> {
        match self {
            PyRegex::Plain(re) => re.captures(text).map(|c| OwnedCaptures::of(&c, re.capture_names())),
            PyRegex::Fancy(re) => {
                let text = String::from_utf8_lossy(text);
                let c = re.captures(&text).ok().flatten()?;
                Some(OwnedCaptures {
                    groups: (0..c.len()).map(|i| c.get(i).map(|m| m.as_str().as_bytes().to_vec())).collect(),
                    names: re.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (n.to_string(), i))).collect(),
                })
            }
        }
    }
}

/// A match's groups, owned: what [`expand`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnedCaptures {
    /// Group 0 (the whole match) and each numbered group; `None` when it did not take part.
    pub groups: Vec<Option<Vec<u8>>>,
    /// Named groups and their numbers.
    pub names: std::collections::HashMap<String, usize>,
}

impl OwnedCaptures {
    fn of<'a>(c: &Captures, names: impl Iterator<Item = Option<&'a str>>) -> Self {
        OwnedCaptures {
            groups: (0..c.len()).map(|i| c.get(i).map(|m| m.as_bytes().to_vec())).collect(),
            names: names.enumerate().filter_map(|(i, n)| n.map(|n| (n.to_string(), i))).collect(),
        }
    }
}

/// The groups of a match, for [`expand`]: the regex crate's captures or [`OwnedCaptures`].
pub trait Groups {
    /// How many groups, group 0 included.
    fn count(&self) -> usize;
    /// Group `n`'s text, when it took part.
    fn group(&self, n: usize) -> Option<&[u8]>;
    /// A named group's text, when it exists and took part.
    fn named(&self, name: &str) -> Option<&[u8]>;
}

impl Groups for Captures<'_> {
    fn count(&self) -> usize {
        self.len()
    }
    fn group(&self, n: usize) -> Option<&[u8]> {
        self.get(n).map(|m| m.as_bytes())
    }
    fn named(&self, name: &str) -> Option<&[u8]> {
        self.name(name).map(|m| m.as_bytes())
    }
}

impl Groups for OwnedCaptures {
    fn count(&self) -> usize {
        self.groups.len()
    }
    fn group(&self, n: usize) -> Option<&[u8]> {
        self.groups.get(n).and_then(|g| g.as_deref())
    }
    fn named(&self, name: &str) -> Option<&[u8]> {
        self.names.get(name).and_then(|n| self.group(*n))
    }
}

/// Rewrites the Python-only spellings of a pattern for Rust's engine: `\Z` becomes `\z`, a `{`
/// that does not start a valid quantifier is a literal (`server {`), `{,n}` means `{0,n}`, and `[`
/// inside a character class is a literal.
pub fn translate(pattern: &str) -> String {
    let c: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < c.len() {
        let ch = c[i];
        if ch == '\\' && i + 1 < c.len() {
            if !in_class && c[i + 1] == 'Z' {
                out.push_str("\\z");
            } else {
                out.push(ch);
                out.push(c[i + 1]);
            }
            i += 2;
            continue;
        }
        if in_class {
            match ch {
                ']' => in_class = false,
                '[' => out.push('\\'),
                _ => {}
            }
            out.push(ch);
            i += 1;
            continue;
        }
        match ch {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if c.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if c.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            '{' => {
                let mut j = i + 1;
                let lo: String = c[j..].iter().take_while(|d| d.is_ascii_digit()).collect();
                j += lo.len();
                let comma = c.get(j) == Some(&',');
                let hi: String = if comma {
                    j += 1;
                    let h: String = c[j..].iter().take_while(|d| d.is_ascii_digit()).collect();
                    j += h.len();
                    h
                } else {
                    String::new()
                };
                let closed = c.get(j) == Some(&'}');
                if closed && (!lo.is_empty() || comma) && !out.is_empty() {
                    let lo = if lo.is_empty() { "0".to_string() } else { lo };
                    if comma {
                        out.push_str(&format!("{{{lo},{hi}}}"));
                    } else {
                        out.push_str(&format!("{{{lo}}}"));
                    }
                    i = j + 1;
                } else {
                    out.push_str("\\{");
                    i += 1;
                }
            }
            _ => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// Compiles a Python regular expression with Rust's engine (after [`translate`]); a pattern it
/// cannot run (backreferences, look-around) is compiled with fancy-regex instead.
///
/// Compiled patterns are cached for the run: a task's `regexp` is the same on every host, and
/// building the automaton costs far more than using it.
pub fn compile(pattern: &str) -> Result<PyRegex, String> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, PyRegex>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().ok().and_then(|c| c.get(pattern).cloned()) {
        return Ok(re);
    }
    let re = compile_uncached(pattern)?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 4096 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}

fn compile_uncached(pattern: &str) -> Result<PyRegex, String> {
    let translated = translate(pattern);
    let plain = Regex::new(&translated);
    if let Ok(re) = plain {
        return Ok(PyRegex::Plain(re));
    }
    if let Ok(re) = fancy_regex::Regex::new(&translated) {
        return Ok(PyRegex::Fancy(Box::new(re)));
    }
    plain.map(PyRegex::Plain).map_err(|e| {
        let hint = if pattern.contains("(?=")
            || pattern.contains("(?!")
            || pattern.contains("(?<=")
            || pattern.contains("(?<!")
        {
            " (look-around assertions are not supported by orc's regex engine)"
        } else {
            ""
        };
        format!("invalid regular expression '{pattern}': {e}{hint}")
    })
}

/// Whether a pattern turns on multi-line mode inline (`(?m)`), as Python's `re.MULTILINE` flag.
pub fn is_multiline(pattern: &str) -> bool {
    let mut rest = pattern;
    while let Some(i) = rest.find("(?") {
        let flags: String = rest[i + 2..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if flags.contains('m') {
            return true;
        }
        rest = &rest[i + 2..];
    }
    false
}

/// The part of a line Python's `$` sees as the end: one trailing `\n` removed.
fn line_body(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// `re.search(line)` on one line as read by `readlines()` (newline included).
pub fn search_line(re: &PyRegex, line: &[u8]) -> bool {
    re.is_match(line_body(line))
}

/// `re.search(line)` returning the captures, for `match.expand`.
pub fn captures_line(re: &PyRegex, line: &[u8]) -> Option<OwnedCaptures> {
    re.captures(line_body(line))
}

/// Python's `file.readlines()` in binary mode: split after every `\n`, keeping it.
pub fn readlines(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in data.iter().enumerate() {
        if *b == b'\n' {
            out.push(data[start..=i].to_vec());
            start = i + 1;
        }
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

/// Python's `bytes.splitlines(keepends=True)`: lines end at `\n`, `\r\n` or `\r`.
pub fn splitlines_keepends(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\n' => {
                out.push(data[start..=i].to_vec());
                start = i + 1;
            }
            b'\r' => {
                let end = if data.get(i + 1) == Some(&b'\n') { i + 1 } else { i };
                out.push(data[start..=end].to_vec());
                i = end;
                start = end + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < data.len() {
        out.push(data[start..].to_vec());
    }
    out
}

/// Python's check of a replacement template, made before any match (so `re.sub` fails on a bad
/// template even when nothing matches): an escaped ASCII letter must be one Python knows.
pub fn check_template(template: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while i + 1 < template.len() {
        if template[i] == b'\\' {
            let n = template[i + 1];
            if n.is_ascii_alphabetic() && !b"ntrafvbg".contains(&n) {
                return Err(format!("bad escape \\{} at position {i}", n as char));
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Python's `match.expand(template)`: `\1`..`\99`, `\g<n>`, `\g<name>`, and the escapes `\n`,
/// `\t`, `\r`, `\\` etc. An unmatched group expands to nothing; a group that does not exist is an
/// error, as in Python (an unknown group name expands to nothing).
pub fn expand(caps: &impl Groups, template: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    let group = |out: &mut Vec<u8>, name: &str| -> Result<(), String> {
        let m = match name.parse::<usize>() {
            Ok(n) if n < caps.count() => caps.group(n),
            Ok(_) => return Err(format!("invalid group reference {name} in line")),
            Err(_) => caps.named(name),
        };
        if let Some(m) = m {
            out.extend_from_slice(m);
        }
        Ok(())
    };
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 == template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = template[i + 1];
        match n {
            b'0'..=b'9' => {
                let mut j = i + 1;
                while j < template.len() && j < i + 3 && template[j].is_ascii_digit() {
                    j += 1;
                }
                let digits = String::from_utf8_lossy(&template[i + 1..j]).into_owned();
                if n == b'0' {
                    // Octal escape \0, \0NN.
                    let v = u8::from_str_radix(&digits, 8).unwrap_or(0);
                    out.push(v);
                } else {
                    group(&mut out, &digits)?;
                }
                i = j;
            }
            b'g' => {
                let rest = &template[i + 2..];
                let close = rest.iter().position(|b| *b == b'>');
                match (rest.first(), close) {
                    (Some(b'<'), Some(end)) => {
                        let name = String::from_utf8_lossy(&rest[1..end]).into_owned();
                        group(&mut out, &name)?;
                        i += 2 + end + 1;
                    }
                    _ => return Err("missing group name after \\g in line".to_string()),
                }
            }
            b'n' | b't' | b'r' | b'a' | b'f' | b'v' | b'b' => {
                out.push(match n {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    b'a' => 7,
                    b'f' => 12,
                    b'v' => 11,
                    _ => 8,
                });
                i += 2;
            }
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            _ if n.is_ascii_alphabetic() => {
                return Err(format!("bad escape \\{} in line", n as char));
            }
            _ => {
                out.push(b'\\');
                out.push(n);
                i += 2;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_escape_in_a_template_is_found_without_a_match() {
        assert_eq!(check_template(br"\D").unwrap_err(), r"bad escape \D at position 0");
        assert!(check_template(br"a\1\g<x>\n\\D\.").is_ok());
    }

    #[test]
    fn dollar_matches_before_final_newline() {
        let re = compile("foo$").unwrap();
        assert!(search_line(&re, b"a foo\n"));
        assert!(!search_line(&re, b"foo bar\n"));
    }

    #[test]
    fn expand_groups_and_escapes() {
        let re = compile(r"^(?P<k>\w+)=(.*)$").unwrap();
        let caps = captures_line(&re, b"key=val\n").unwrap();
        assert_eq!(expand(&caps, br"\1 = \g<2> \g<k>\\").unwrap(), b"key = val key\\".to_vec());
        assert!(expand(&caps, br"\5").is_err());
    }

    #[test]
    fn line_splitting_like_python() {
        assert_eq!(readlines(b"a\nb"), vec![b"a\n".to_vec(), b"b".to_vec()]);
        assert_eq!(splitlines_keepends(b"a\r\nb\rc\n"), vec![b"a\r\n".to_vec(), b"b\r".to_vec(), b"c\n".to_vec()]);
        assert!(readlines(b"").is_empty());
    }

    #[test]
    fn python_only_syntax_is_translated() {
        assert_eq!(translate("server {"), r"server \{");
        assert_eq!(translate("{mark}"), r"\{mark}");
        assert_eq!(translate("a{,3}b{2}c{1,}"), "a{0,3}b{2}c{1,}");
        assert_eq!(translate(r"x\Z"), r"x\z");
        assert_eq!(translate("[[]"), r"[\[]");
        assert_eq!(translate("[]a]"), r"[\]a]");
        assert_eq!(translate(r"\{"), r"\{");
        let re = compile("^server {$").unwrap();
        assert!(search_line(&re, b"server {\n"));
    }

    #[test]
    fn backreferences_match_as_in_python() {
        let re = compile(r"^(REF) .* \1$").unwrap();
        assert!(matches!(re, PyRegex::Fancy(_)));
        assert!(search_line(&re, b"REF this is a line for backrefs REF\n"));
        assert!(!search_line(&re, b"REF this is a line for backrefs\n"));
        let caps = captures_line(&re, b"REF x REF\n").unwrap();
        assert_eq!(expand(&caps, br"\1 done").unwrap(), b"REF done".to_vec());
        // A pattern the regex crate runs stays on it.
        assert!(matches!(compile("^a$").unwrap(), PyRegex::Plain(_)));
    }

    #[test]
    fn multiline_flag_detection() {
        assert!(is_multiline("(?m)^foo"));
        assert!(is_multiline("(?im)^foo"));
        assert!(!is_multiline("(?i)^foo"));
    }
}
