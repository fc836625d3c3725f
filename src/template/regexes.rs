//! Regular-expression filters and tests with Python's `re` conventions: `\1`/`\g<name>` in
//! replacements, `match` anchored at the start, `findall` returning groups, and Python's syntax
//! (look-ahead, look-behind and backreferences too, through fancy-regex).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use fancy_regex::{Regex, RegexBuilder};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::Error;

use super::filters::err;
use super::pyfmt;

/// Compiled regexes by (pattern, ignorecase, multiline): templates reuse the same few patterns.
pub(crate) fn compile(pattern: &str, ignorecase: bool, multiline: bool) -> Result<Arc<Regex>, Error> {
    type Cache = Mutex<HashMap<(String, bool, bool), Arc<Regex>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (pattern.to_string(), ignorecase, multiline);
    if let Ok(map) = cache.lock() {
        if let Some(re) = map.get(&key) {
            return Ok(re.clone());
        }
    }
    let re = RegexBuilder::new(pattern).case_insensitive(ignorecase).multi_line(multiline).build().map_err(|e| {
        // Python's words for the common mistake, which playbooks test for.
        let text = e.to_string();
        let python = if text.contains("repeat") || text.contains("repetition") { "nothing to repeat: " } else { "" };
        err(format!("invalid regular expression '{pattern}': {python}{text}"))
    })?;
    let re = Arc::new(re);
    if let Ok(mut map) = cache.lock() {
        if map.len() > 10_000 {
            map.clear();
        }
        map.insert(key, re.clone());
    }
    Ok(re)
}

/// A regex that failed while matching (fancy-regex's backtracking limit, on a pathological
/// pattern and text).
fn run_err(e: fancy_regex::Error) -> Error {
    err(format!("regular expression failed while matching: {e}"))
}

/// The `ignorecase` and `multiline` keyword arguments.
fn flags(kwargs: &Kwargs) -> Result<(bool, bool), Error> {
    let i: Option<bool> = kwargs.get("ignorecase")?;
    let m: Option<bool> = kwargs.get("multiline")?;
    Ok((i.unwrap_or(false), m.unwrap_or(false)))
}

/// Converts a Python replacement string (`\1`, `\g<1>`, `\g<name>`, `\n`) to the regex crate's.
fn python_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' {
            out.push_str("$$");
        } else if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            if n.is_ascii_digit() {
                let mut j = i + 1;
                while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                    j += 1;
                }
                let digits: String = chars[i + 1..j].iter().collect();
                out.push_str(&format!("${{{digits}}}"));
                i = j;
                continue;
            }
            if n == 'g' && chars.get(i + 2) == Some(&'<') {
                if let Some(end) = chars[i + 3..].iter().position(|&c| c == '>') {
                    let name: String = chars[i + 3..i + 3 + end].iter().collect();
                    out.push_str(&format!("${{{name}}}"));
                    i = i + 4 + end;
                    continue;
                }
            }
            match n {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            i += 2;
            continue;
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False, count=0)`.
pub(crate) fn regex_replace(
    value: Value,
    pattern: String,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let (i, m) = flags(&kwargs)?;
    let count: Option<usize> = kwargs.get("count")?;
    kwargs.assert_all_used()?;
    let re = compile(&pattern, i, m)?;
    let text = pyfmt::to_str(&value);
    let repl = python_replacement(&replacement.unwrap_or_default());
    Ok(re.try_replacen(&text, count.unwrap_or(0), repl.as_str()).map_err(run_err)?.into_owned())
}

/// `regex_search(pattern, *groups)`: the match (or the listed groups), or None.
pub(crate) fn regex_search(
    value: Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let (i, m) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile(&pattern, i, m)?;
    let text = pyfmt::to_str(&value);
    let Some(caps) = re.captures(&text).map_err(run_err)? else {
        return Ok(Value::from(()));
    };
    if groups.0.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in &groups.0 {
        let found = if let Some(n) = g.strip_prefix('\\') {
            if let Ok(idx) = n.parse::<usize>() {
                caps.get(idx)
            } else if let Some(name) = n.strip_prefix("g<").and_then(|s| s.strip_suffix('>')) {
                caps.name(name)
            } else {
                return Err(err(format!("regex_search: unknown group reference '{g}'")));
            }
        } else {
            return Err(err(format!("regex_search: group arguments look like '\\\\1' or '\\\\g<name>', got '{g}'")));
        };
        out.push(found.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// `regex_findall(pattern)`: all matches, or their groups as Python's `re.findall` returns.
pub(crate) fn regex_findall(value: Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let (i, m) = flags(&kwargs)?;
    kwargs.assert_all_used()?;
    let re = compile(&pattern, i, m)?;
    let text = pyfmt::to_str(&value);
    let ngroups = re.captures_len() - 1;
    let mut out = Vec::new();
    for caps in re.captures_iter(&text) {
        let caps = caps.map_err(run_err)?;
        let group = |n: usize| Value::from(caps.get(n).map_or("", |m| m.as_str()));
        out.push(match ngroups {
            0 => group(0),
            1 => group(1),
            n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
        });
    }
    Ok(Value::from(out))
}

/// `regex_escape()`: Python's `re.escape`.
pub(crate) fn regex_escape(value: String, re_type: Option<String>) -> Result<String, Error> {
    match re_type.as_deref() {
        None | Some("python") => {}
        Some("posix_basic") => {
            let mut out = String::new();
            for c in value.chars() {
                if "$*.[\\]^".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            return Ok(out);
        }
        Some(other) => return Err(err(format!("regex_escape: invalid re_type '{other}'"))),
    }
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
}

/// The `match`/`search`/`regex` tests: does `pattern` match `value` (at the start for `match`)?
pub(crate) fn regex_test(value: &Value, pattern: &str, kwargs: &Kwargs, anchored: bool) -> Result<bool, Error> {
    let (i, m) = flags(kwargs)?;
    let text = pyfmt::to_str(value);
    let pattern = if anchored { format!(r"\A(?:{pattern})") } else { pattern.to_string() };
    compile(&pattern, i, m)?.is_match(&text).map_err(run_err)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn python_replacements_translate() {
        assert_eq!(python_replacement(r"\1-\g<name>$"), "${1}-${name}$$");
    }
}
