//! The `ini` and `csvfile` lookups: a value from an INI (or Java properties) file, or from a
//! row of a CSV/TSV file, with the options of ansible-core 2.19 (`ansible/plugins/lookup/ini.py`,
//! `csvfile.py`). INI files are read as Python's `configparser` reads them: `key = value` or
//! `key: value`, `#`/`;` comments, indented continuation lines, case-insensitive keys unless
//! `case_sensitive`, values inherited from `[DEFAULT]`, `%(name)s` interpolation.

use minijinja::value::Value;
use minijinja::Error;

use super::filters::err;
use super::lookup_files::find;
use super::lookups::{term_strings, Call};
use super::pyfmt;

/// The ini lookup's options.
const INI_OPTIONS: &[&str] = &[
    "type",
    "file",
    "section",
    "re",
    "encoding",
    "default",
    "case_sensitive",
    "allow_no_value",
    "allow_none",
    "interpolation",
];

/// `lookup('ini', 'key section=s file=f.ini re=true', ...)`.
pub(crate) fn ini(call: &mut Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known("ini", INI_OPTIONS)?;
    let mut out = Vec::new();
    for term in term_strings(terms)? {
        let mut opts = call.opts.clone();
        let mut key = term.clone();
        if term.contains('=') || term.trim().contains(' ') {
            let params = parse_params(&term);
            let mut updated_key = false;
            for p in params {
                if let Some((name, value)) = p.split_once('=') {
                    if !INI_OPTIONS.contains(&name) {
                        return Err(err(format!("'{name}' is not a valid option.")));
                    }
                    opts.set(name, Value::from(value));
                } else if key == term {
                    key = p;
                    updated_key = true;
                }
            }
            if !updated_key {
                return Err(err(format!(
                    "No key to look up was provided as first term within string inline options: {term}"
                )));
            }
        }
        let file = opts.string("file", "ansible.ini");
        let path =
            find(&file, "files", &call.vars).ok_or_else(|| err(format!("could not locate file in lookup: {file}")))?;
        let text = read_text(&path, &opts.string("encoding", "utf-8"))?;
        let properties = opts.string("type", "ini") == "properties";
        let (text, section) = if properties {
            (format!("[java_properties]\n{text}"), "java_properties".to_string())
        } else {
            (text, opts.string("section", "global"))
        };
        let allow_no_value = opts.bool("ini", "allow_no_value", false)? || opts.bool("ini", "allow_none", false)?;
        let parsed = parse_ini(&text, opts.bool("ini", "case_sensitive", false)?, allow_no_value)
            .map_err(|e| err(format!("{e} in '{file}'.")))?;
        let Some(values) = parsed.section(&section) else {
            return Err(err(format!("No section '{section}' in '{file}'.")));
        };
        let interpolate = opts.bool("ini", "interpolation", true)?;
        let lookup_key = if opts.bool("ini", "case_sensitive", false)? { key.clone() } else { key.to_lowercase() };
        if opts.bool("ini", "re", false)? {
            let re = super::regexes::compile(&format!("^(?:{key})"), false, false)?;
            for (k, v) in &values {
                if re.is_match(k).map_err(|e| err(e.to_string()))? {
                    if let Some(v) = v {
                        out.push(Value::from(resolve(v, &values, interpolate, 0)?));
                    }
                }
            }
        } else {
            match values.get(&lookup_key) {
                Some(Some(v)) => out.push(Value::from(resolve(v, &values, interpolate, 0)?)),
                Some(None) => {}
                None => {
                    let default = opts.get("default").cloned().unwrap_or(Value::from(""));
                    if !default.is_none() {
                        out.push(default);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Ansible's `_parse_params`: the words of a term, a word without `=` continuing the value of the
/// option before it (so values may contain spaces).
fn parse_params(term: &str) -> Vec<String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let mut current = "key".to_string();
    for (i, phrase) in term.split_whitespace().enumerate() {
        if phrase.contains('=') {
            for k in INI_OPTIONS {
                if phrase.contains(&format!("{k}=")) {
                    current = k.to_string();
                }
            }
        }
        match params.iter_mut().find(|(k, _)| *k == current) {
            Some((_, value)) if i != 0 && !value.is_empty() => {
                value.push(' ');
                value.push_str(phrase);
            }
            Some((_, value)) => *value = phrase.to_string(),
            None => params.push((current.clone(), phrase.to_string())),
        }
    }
    params.into_iter().map(|(_, v)| v).collect()
}

/// A file's text in `encoding` (UTF-8, or the Latin-1 family byte for byte).
fn read_text(path: &std::path::Path, encoding: &str) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| err(format!("could not read {}: {e}", path.display())))?;
    let enc = encoding.to_lowercase().replace(['-', '_'], "");
    if enc == "utf8" || enc == "utf8sig" {
        let text = String::from_utf8(bytes).map_err(|e| err(format!("{} is not valid UTF-8: {e}", path.display())))?;
        return Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text));
    }
    if enc.starts_with("iso8859") || enc == "latin1" || enc == "cp1252" || enc == "ascii" {
        return Ok(bytes.iter().map(|b| char::from(*b)).collect());
    }
    Err(err(format!("unknown encoding: {encoding} (orc reads utf-8 and the iso8859/latin-1 family)")))
}

/// One section's keys and values, in order (`None`: a key written without a value).
type IniEntries = Vec<(String, Option<String>)>;

/// The sections of an INI file, in order; keys as `configparser` stores them.
struct IniFile {
    defaults: IniEntries,
    sections: Vec<(String, IniEntries)>,
}

impl IniFile {
    /// A section's values, `[DEFAULT]`'s first (the section's own override them).
    fn section(&self, name: &str) -> Option<Vec<(String, Option<String>)>> {
        let (_, own) = self.sections.iter().find(|(n, _)| n == name)?;
        let mut out: Vec<(String, Option<String>)> = self.defaults.clone();
        for (k, v) in own {
            match out.iter_mut().find(|(ok, _)| ok == k) {
                Some(slot) => slot.1 = v.clone(),
                None => out.push((k.clone(), v.clone())),
            }
        }
        Some(out)
    }
}

trait Get {
    fn get(&self, key: &str) -> Option<&Option<String>>;
}

impl Get for Vec<(String, Option<String>)> {
    fn get(&self, key: &str) -> Option<&Option<String>> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn parse_ini(text: &str, case_sensitive: bool, allow_no_value: bool) -> Result<IniFile, String> {
    let mut file = IniFile { defaults: Vec::new(), sections: Vec::new() };
    // Which list values go to: None before any section (an error), Some(None) for DEFAULT.
    let mut current: Option<Option<usize>> = None;
    let mut last_key: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            if trimmed.is_empty() {
                last_key = None;
            }
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        if indented {
            if let (Some(key), Some(target)) = (&last_key, current) {
                let values = match target {
                    None => &mut file.defaults,
                    Some(i) => &mut file.sections[i].1,
                };
                if let Some((_, Some(v))) = values.iter_mut().find(|(k, _)| k == key) {
                    v.push('\n');
                    v.push_str(trimmed);
                    continue;
                }
            }
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if name == "DEFAULT" {
                current = Some(None);
            } else {
                if file.sections.iter().any(|(s, _)| s == name) {
                    return Err(format!("Duplicate section '{name}'"));
                }
                file.sections.push((name.to_string(), Vec::new()));
                current = Some(Some(file.sections.len() - 1));
            }
            last_key = None;
            continue;
        }
        let Some(target) = current else {
            return Err(format!("File contains no section headers (line {})", n + 1));
        };
        let split = trimmed.find(['=', ':']);
        let (key, value) = match split {
            Some(i) => (trimmed[..i].trim(), Some(trimmed[i + 1..].trim().to_string())),
            None if allow_no_value => (trimmed, None),
            None => return Err(format!("Source contains parsing errors: line {}: {trimmed:?}", n + 1)),
        };
        let key = if case_sensitive { key.to_string() } else { key.to_lowercase() };
        let values = match target {
            None => &mut file.defaults,
            Some(i) => &mut file.sections[i].1,
        };
        if values.iter().any(|(k, _)| *k == key) {
            return Err("Duplicate option".to_string());
        }
        values.push((key.clone(), value));
        last_key = Some(key);
    }
    Ok(file)
}

/// `configparser.BasicInterpolation`: `%(name)s` replaced by another key's value, `%%` by `%`.
fn resolve(value: &str, values: &[(String, Option<String>)], interpolate: bool, depth: usize) -> Result<String, Error> {
    if !interpolate {
        return Ok(value.to_string());
    }
    if depth > 10 {
        return Err(err(format!("Recursion limit exceeded in value substitution: {value}")));
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('%') {
            out.push('%');
            rest = r;
        } else if let Some(r) = after.strip_prefix('(') {
            let end = r.find(")s").ok_or_else(|| err(format!("bad interpolation variable reference {value:?}")))?;
            let name = r[..end].to_lowercase();
            let found = values
                .iter()
                .find(|(k, _)| k.to_lowercase() == name)
                .and_then(|(_, v)| v.clone())
                .ok_or_else(|| err(format!("Bad value substitution: option {name:?} not found")))?;
            out.push_str(&resolve(&found, values, interpolate, depth + 1)?);
            rest = &r[end + 2..];
        } else {
            return Err(err(format!("'%' must be followed by '%' or '(', found: {:?}", &rest[i..])));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The csvfile lookup's options.
const CSV_OPTIONS: &[&str] = &["col", "keycol", "default", "delimiter", "file", "encoding"];

/// `lookup('csvfile', 'key file=f.csv delimiter=, col=1')`: the `col` column of the first row
/// whose `keycol` column is `key`.
pub(crate) fn csvfile(call: &mut Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known("csvfile", CSV_OPTIONS)?;
    if terms.is_empty() {
        return Err(err("Search key is required but was not found"));
    }
    let mut out = Vec::new();
    for term in term_strings(terms)? {
        let kv = crate::playbook::parse_kv(&term, false).map_err(|e| err(e.to_string()))?;
        let mut opts = call.opts.clone();
        let mut key = None;
        for (name, value) in kv {
            if name == "_raw_params" {
                key = Some(pyfmt::to_str(&Value::from(minijinja::value::Serde(value))));
                continue;
            }
            if !CSV_OPTIONS.contains(&name.as_str()) {
                return Err(err(format!("'{name}' is not a valid option")));
            }
            opts.set(&name, Value::from(minijinja::value::Serde(value)));
        }
        let key = key.ok_or_else(|| err("Search key is required but was not found"))?;
        let mut delimiter = opts.string("delimiter", "TAB");
        if delimiter == "TAB" || delimiter == "\\t" {
            delimiter = "\t".to_string();
        }
        let delim = match delimiter.chars().collect::<Vec<_>>().as_slice() {
            [c] => *c,
            _ => return Err(err(format!("\"delimiter\" must be a 1-character string, got {delimiter:?}"))),
        };
        let file = opts.string("file", "ansible.csv");
        let path = find(&file, "files", &call.vars)
            .ok_or_else(|| err(format!("[Errno 2] No such file or directory: '{file}'")))?;
        let text = read_text(&path, &opts.string("encoding", "utf-8"))?;
        let col = opts.int("csvfile", "col")?.unwrap_or(1);
        let keycol = opts.int("csvfile", "keycol")?.unwrap_or(0);
        let mut found = None;
        for row in parse_csv(&text, delim) {
            let cell = |i: i64| usize::try_from(i).ok().and_then(|i| row.get(i)).cloned();
            if !row.is_empty() && cell(keycol).as_deref() == Some(key.as_str()) {
                found = Some(cell(col).ok_or_else(|| err(format!("list index out of range (column {col})")))?);
                break;
            }
        }
        match found {
            Some(v) => out.push(Value::from(v)),
            None => {
                match opts.get("default").filter(|d| !d.is_none()) {
                    // A list default gives its items, as the plugin's `ret.extend`.
                    Some(d) if d.kind() == minijinja::value::ValueKind::Seq => {
                        out.extend(d.try_iter().into_iter().flatten());
                    }
                    Some(d) => out.push(d.clone()),
                    None => {}
                }
            }
        }
    }
    Ok(out)
}

/// Rows of a CSV text as Python's `csv.excel` dialect reads them: fields separated by `delim`,
/// `"` quoting with `""` for a quote, CRLF or LF line ends, newlines inside quoted fields.
fn parse_csv(text: &str, delim: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut at_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            c if c == delim => {
                row.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_reads_like_configparser() {
        let f = parse_ini("[DEFAULT]\nd = 1\n[a]\nX = 2\nlong = first\n  second\n", false, false).unwrap();
        let a = f.section("a").unwrap();
        assert_eq!(a.get("x"), Some(&Some("2".into())));
        assert_eq!(a.get("d"), Some(&Some("1".into())));
        assert_eq!(a.get("long"), Some(&Some("first\nsecond".into())));
        assert!(parse_ini("[a]\nk=1\nK=2\n", false, false).is_err());
        assert!(parse_ini("[a]\nk=1\nK=2\n", true, false).is_ok());
        assert!(parse_ini("[a]\nflag\n", false, false).is_err());
        assert_eq!(parse_ini("[a]\nflag\n", false, true).unwrap().section("a").unwrap().get("flag"), Some(&None));
    }

    #[test]
    fn interpolation_follows_references() {
        let values =
            vec![("home".to_string(), Some("/u".to_string())), ("dir".to_string(), Some("%(home)s/x %%".to_string()))];
        assert_eq!(resolve("%(home)s/x %%", &values, true, 0).unwrap(), "/u/x %");
        assert_eq!(resolve("run %u", &values, false, 0).unwrap(), "run %u");
        assert!(resolve("run %u", &values, true, 0).is_err());
    }

    #[test]
    fn csv_rows_follow_the_excel_dialect() {
        assert_eq!(parse_csv("a,\"b,c\",d\r\ne,\"f\"\"g\"\n", ','), vec![vec!["a", "b,c", "d"], vec!["e", "f\"g"]]);
        assert_eq!(parse_csv("x\ty\n", '\t'), vec![vec!["x", "y"]]);
    }

    #[test]
    fn params_keep_spaces_in_values() {
        assert_eq!(
            parse_params("value1   type=properties  file=lookup.properties"),
            vec!["value1", "type=properties", "file=lookup.properties"]
        );
        assert_eq!(parse_params("German von Lastname file=people.csv"), vec!["German von Lastname", "file=people.csv"]);
    }
}
