//! ansible.cfg's INI dialect, as Python's `configparser.ConfigParser(inline_comment_prefixes=(';',))`
//! reads it for Ansible: `[section]` headers, `key = value` or `key: value` (keys are
//! case-insensitive), `#` and `;` comment lines, ` ;` inline comments, indented continuation
//! lines, and a `[DEFAULT]` section every other section inherits. Values are taken raw, without
//! `%(key)s` / `%%` interpolation: Ansible reads them with `parser.get(..., raw=True)`
//! (config/manager.py), so `100%` is a valid value. Duplicate sections or keys are errors, as
//! with configparser's strict mode.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Loc, OrcError, Result, SourceFile};

/// One value and the line it is on.
#[derive(Debug, Clone)]
struct Entry {
    raw: String,
    line: usize,
}

/// A parsed ansible.cfg.
#[derive(Debug, Clone)]
pub struct Ini {
    file: Arc<SourceFile>,
    /// Section name -> lower-cased key -> entry.
    sections: HashMap<String, HashMap<String, Entry>>,
}

/// A value read from the file, with where it was written.
#[derive(Debug, Clone)]
pub struct IniValue {
    /// The value.
    pub value: String,
    /// Its position, for errors.
    pub loc: Loc,
}

impl Ini {
    /// Parses `text`, the content of `file`.
    pub fn parse(file: Arc<SourceFile>) -> Result<Ini> {
        let mut sections: HashMap<String, HashMap<String, Entry>> = HashMap::new();
        let mut section: Option<String> = None;
        // (section, key) of the value that indented lines continue.
        let mut last: Option<(String, String)> = None;
        let at = |line: usize| Loc { file: file.clone(), line, col: 1 };
        for (i, line) in file.text.lines().enumerate() {
            let n = i + 1;
            let stripped = line.trim();
            if stripped.starts_with('#') || stripped.starts_with(';') {
                continue;
            }
            let value_part = strip_inline_comment(line);
            if value_part.trim().is_empty() {
                // A blank line inside a value keeps it going (configparser's empty_lines_in_values).
                if let Some((s, k)) = &last {
                    if let Some(e) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                        e.raw.push('\n');
                    }
                }
                continue;
            }
            let indented = line.starts_with([' ', '\t']);
            if indented {
                if let Some((s, k)) = &last {
                    if let Some(e) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                        if !e.raw.is_empty() {
                            e.raw.push('\n');
                        }
                        e.raw.push_str(value_part.trim());
                        continue;
                    }
                }
            }
            if let Some(name) = stripped.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                if sections.contains_key(name) {
                    return Err(OrcError::at(&at(n), format!("section '{name}' appears twice in this file"))
                        .help("merge the two sections: configparser (and so Ansible) refuses a repeated section"));
                }
                sections.insert(name.to_string(), HashMap::new());
                section = Some(name.to_string());
                last = None;
                continue;
            }
            let Some(current) = section.clone() else {
                return Err(OrcError::at(&at(n), "a setting before any [section] header")
                    .help("put settings under a section such as [defaults] or [privilege_escalation]"));
            };
            let split = value_part.find(['=', ':']);
            let Some(pos) = split else {
                return Err(OrcError::at(&at(n), format!("'{}' is not a `key = value` line", stripped))
                    .help("write settings as `key = value` (or `key: value`)"));
            };
            let key = value_part[..pos].trim().to_lowercase();
            let value = value_part[pos + 1..].trim().to_string();
            let keys = sections.entry(current.clone()).or_default();
            if keys.contains_key(&key) {
                return Err(OrcError::at(&at(n), format!("'{key}' is set twice in section [{current}]"))
                    .help("keep one of the two lines: configparser (and so Ansible) refuses a repeated key"));
            }
            keys.insert(key.clone(), Entry { raw: value, line: n });
            last = Some((current, key));
        }
        // Trailing blank lines of a value are not part of it.
        for keys in sections.values_mut() {
            for e in keys.values_mut() {
                let t = e.raw.trim_end_matches('\n').len();
                e.raw.truncate(t);
            }
        }
        Ok(Ini { file, sections })
    }

    /// The file this was read from.
    pub fn path(&self) -> &std::path::Path {
        &self.file.path
    }

    /// `key` of `section` (or of `[DEFAULT]`), as written.
    pub fn get(&self, section: &str, key: &str) -> Option<IniValue> {
        let key = key.to_lowercase();
        let entry = self
            .sections
            .get(section)
            .and_then(|m| m.get(&key))
            .or_else(|| self.sections.get("DEFAULT").and_then(|m| m.get(&key)))?;
        Some(IniValue { value: entry.raw.clone(), loc: Loc { file: self.file.clone(), line: entry.line, col: 1 } })
    }
}

/// The line without a `;` comment that follows whitespace.
fn strip_inline_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b';' && i > 0 && (bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') {
            return &line[..i];
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ini(text: &str) -> Result<Ini> {
        Ini::parse(SourceFile::new("ansible.cfg", text))
    }

    fn get(i: &Ini, s: &str, k: &str) -> Option<String> {
        i.get(s, k).map(|v| v.value)
    }

    #[test]
    fn reads_what_configparser_reads() {
        let i = ini(
            "# comment\n[defaults]\nInventory = ./hosts ; inline comment\nforks: 20\nroles_path = a:\n  b\n\n\
             ;x = 1\nremote_user=deploy;not a comment\n[DEFAULT]\ntimeout = 30\n[privilege_escalation]\nbecome = True\n",
        )
        .unwrap();
        assert_eq!(get(&i, "defaults", "inventory").as_deref(), Some("./hosts"));
        assert_eq!(get(&i, "defaults", "FORKS").as_deref(), Some("20"));
        assert_eq!(get(&i, "defaults", "roles_path").as_deref(), Some("a:\nb"));
        assert_eq!(get(&i, "defaults", "remote_user").as_deref(), Some("deploy;not a comment"));
        assert_eq!(get(&i, "defaults", "x"), None);
        // [DEFAULT] is inherited by every section.
        assert_eq!(get(&i, "privilege_escalation", "timeout").as_deref(), Some("30"));
        assert_eq!(i.get("defaults", "forks").unwrap().loc.line, 4);
    }

    #[test]
    fn values_are_raw_as_ansible_reads_them() {
        let i = ini("[defaults]\nbase = /srv\nroles_path = %(base)s/roles\nmsg = 100%% sure 5%\n").unwrap();
        assert_eq!(get(&i, "defaults", "roles_path").as_deref(), Some("%(base)s/roles"));
        assert_eq!(get(&i, "defaults", "msg").as_deref(), Some("100%% sure 5%"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = ini("forks = 5\n").unwrap_err();
        assert!(e.report().contains("ansible.cfg:1:1"), "{}", e.report());
        let e = ini("[defaults]\nforks = 5\nforks = 6\n").unwrap_err();
        assert!(e.report().contains("ansible.cfg:3:1") && e.to_string().contains("set twice"), "{}", e.report());
        let e = ini("[a]\n[a]\n").unwrap_err();
        assert!(e.to_string().contains("appears twice"));
        let e = ini("[defaults]\njust words\n").unwrap_err();
        assert!(e.to_string().contains("not a `key = value` line"));
    }
}
