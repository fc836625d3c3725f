//! Jinja environment options for template files: what the `template` module's arguments
//! (`trim_blocks`, `lstrip_blocks`, `*_start_string`/`*_end_string`, `newline_sequence`) and a
//! `#jinja2: key: value, ...` first line of the file change, with Ansible's defaults.

use minijinja::syntax::SyntaxConfig;

/// The options a template file is rendered with (Ansible's `TemplateOverrides`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileOptions {
    /// Remove the first newline after a block tag (Ansible's default: true).
    pub trim_blocks: bool,
    /// Strip spaces and tabs before a block tag at the start of a line (default: false).
    pub lstrip_blocks: bool,
    /// Opens a block tag (`{%`).
    pub block_start_string: String,
    /// Closes a block tag (`%}`).
    pub block_end_string: String,
    /// Opens an expression (`{{`).
    pub variable_start_string: String,
    /// Closes an expression (`}}`).
    pub variable_end_string: String,
    /// Opens a comment (`{#`).
    pub comment_start_string: String,
    /// Closes a comment (`#}`).
    pub comment_end_string: String,
    /// A line starting with this is a statement (Jinja's `line_statement_prefix`; none by default).
    pub line_statement_prefix: Option<String>,
    /// A line starting with this is a comment (none by default).
    pub line_comment_prefix: Option<String>,
    /// What every newline of the template's own text becomes: `\n`, `\r\n` or `\r`. As in
    /// Jinja, newlines inside rendered values are left alone.
    pub newline_sequence: String,
    /// Keep the source's last newline in Jinja itself (Ansible adds the trailing newlines Jinja
    /// dropped anyway).
    pub keep_trailing_newline: bool,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            block_start_string: "{%".into(),
            block_end_string: "%}".into(),
            variable_start_string: "{{".into(),
            variable_end_string: "}}".into(),
            comment_start_string: "{#".into(),
            comment_end_string: "#}".into(),
            line_statement_prefix: None,
            line_comment_prefix: None,
            newline_sequence: "\n".into(),
            keep_trailing_newline: false,
        }
    }
}

/// The newline sequences Jinja accepts.
const NEWLINES: [&str; 3] = ["\n", "\r\n", "\r"];

impl FileOptions {
    /// minijinja's syntax for these options; an error says which option is wrong.
    pub(crate) fn syntax(&self) -> Result<SyntaxConfig, String> {
        self.validate()?;
        let mut b = SyntaxConfig::builder();
        b.block_delimiters(self.block_start_string.clone(), self.block_end_string.clone())
            .variable_delimiters(self.variable_start_string.clone(), self.variable_end_string.clone())
            .comment_delimiters(self.comment_start_string.clone(), self.comment_end_string.clone())
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(self.keep_trailing_newline);
        if let Some(p) = &self.line_statement_prefix {
            b.line_statement_prefix(p.clone());
        }
        if let Some(p) = &self.line_comment_prefix {
            b.line_comment_prefix(p.clone());
        }
        b.build().map_err(|e| format!("invalid template delimiters: {e}"))
    }

    /// Ansible's checks: a known newline sequence, three different start strings, no empty
    /// delimiter.
    pub fn validate(&self) -> Result<(), String> {
        if !NEWLINES.contains(&self.newline_sequence.as_str()) {
            return Err(format!(
                "newline_sequence needs to be one of: \\n, \\r or \\r\\n, got {:?}",
                self.newline_sequence
            ));
        }
        let starts = [&self.block_start_string, &self.variable_start_string, &self.comment_start_string];
        if starts[0] == starts[1] || starts[1] == starts[2] || starts[0] == starts[2] {
            return Err("Block, variable and comment start strings must be different.".into());
        }
        let all = [
            ("block_start_string", &self.block_start_string),
            ("block_end_string", &self.block_end_string),
            ("variable_start_string", &self.variable_start_string),
            ("variable_end_string", &self.variable_end_string),
            ("comment_start_string", &self.comment_start_string),
            ("comment_end_string", &self.comment_end_string),
        ];
        if let Some((name, _)) = all.iter().find(|(_, v)| v.is_empty()) {
            return Err(format!("{name} must not be empty"));
        }
        Ok(())
    }

    /// Whether `s` may be a template under these delimiters (Ansible's `is_possibly_template`:
    /// it contains a block, variable or comment start string).
    pub(crate) fn has_syntax(&self, s: &str) -> bool {
        [&self.block_start_string, &self.variable_start_string, &self.comment_start_string]
            .iter()
            .any(|m| s.contains(m.as_str()))
    }

    /// The template's text with every newline (`\r\n`, `\r`, `\n`) turned into the newline
    /// sequence, as Jinja's lexer does before rendering.
    pub(crate) fn normalize_newlines(&self, source: &str) -> String {
        if self.newline_sequence == "\n" && !source.contains('\r') {
            return source.to_string();
        }
        let mut out = String::with_capacity(source.len());
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => {
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    out.push_str(&self.newline_sequence);
                }
                '\n' => out.push_str(&self.newline_sequence),
                c => out.push(c),
            }
        }
        out
    }

    /// Applies a `#jinja2:` first line (without the prefix): `key: value` pairs separated by
    /// commas, the values Python literals (`True`, `'<%'`, `None`), as Ansible's
    /// `_extract_template_overrides` reads them.
    pub(crate) fn with_header(mut self, line: &str) -> Result<FileOptions, String> {
        for pair in line.split(',') {
            if pair.trim().is_empty() {
                return Err("Empty '#jinja2:' override pair not allowed.".into());
            }
            let (key, value) = pair
                .split_once(':')
                .ok_or_else(|| format!("Missing key-value separator `:` in '#jinja2:' override pair '{pair}'."))?;
            let key = key.trim();
            if !HEADER_KEYS.contains(&key) {
                return Err(format!("Invalid '#jinja2:' override key '{key}' (valid: {}).", HEADER_KEYS.join(", ")));
            }
            let value = PyLiteral::parse(value.trim())
                .ok_or_else(|| format!("'#jinja2:' override {key}: {} is not a Python literal", value.trim()))?;
            let wrong = |want: &str| format!("'#jinja2:' override {key}: expected {want}, got {}", value.shown());
            match key {
                "trim_blocks" | "lstrip_blocks" | "keep_trailing_newline" => {
                    let PyLiteral::Bool(b) = value else { return Err(wrong("True or False")) };
                    match key {
                        "trim_blocks" => self.trim_blocks = b,
                        "lstrip_blocks" => self.lstrip_blocks = b,
                        _ => self.keep_trailing_newline = b,
                    }
                }
                "line_statement_prefix" | "line_comment_prefix" => {
                    let v = match value {
                        PyLiteral::None => None,
                        PyLiteral::Str(s) => Some(s),
                        _ => return Err(wrong("a string or None")),
                    };
                    if key == "line_statement_prefix" {
                        self.line_statement_prefix = v;
                    } else {
                        self.line_comment_prefix = v;
                    }
                }
                _ => {
                    let PyLiteral::Str(s) = value else { return Err(wrong("a string")) };
                    let slot = match key {
                        "block_start_string" => &mut self.block_start_string,
                        "block_end_string" => &mut self.block_end_string,
                        "variable_start_string" => &mut self.variable_start_string,
                        "variable_end_string" => &mut self.variable_end_string,
                        "comment_start_string" => &mut self.comment_start_string,
                        "comment_end_string" => &mut self.comment_end_string,
                        _ => &mut self.newline_sequence,
                    };
                    *slot = s;
                }
            }
        }
        self.validate()?;
        Ok(self)
    }
}

/// The keys a `#jinja2:` line may set (Ansible's `TemplateOverrides` fields).
const HEADER_KEYS: [&str; 12] = [
    "block_end_string",
    "block_start_string",
    "comment_end_string",
    "comment_start_string",
    "keep_trailing_newline",
    "line_comment_prefix",
    "line_statement_prefix",
    "lstrip_blocks",
    "newline_sequence",
    "trim_blocks",
    "variable_end_string",
    "variable_start_string",
];

/// The Python literals a `#jinja2:` header value may be.
#[derive(Debug, Clone, PartialEq)]
enum PyLiteral {
    Bool(bool),
    None,
    Str(String),
    Other(String),
}

impl PyLiteral {
    /// Parses `True`, `False`, `None`, a quoted string with Python's common escapes, or a
    /// number (kept as text, for the error message).
    fn parse(s: &str) -> Option<PyLiteral> {
        match s {
            "True" => return Some(PyLiteral::Bool(true)),
            "False" => return Some(PyLiteral::Bool(false)),
            "None" => return Some(PyLiteral::None),
            _ => {}
        }
        if s.parse::<f64>().is_ok() {
            return Some(PyLiteral::Other(s.to_string()));
        }
        let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let body = s.strip_prefix(quote)?.strip_suffix(quote)?;
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == quote {
                return None;
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        Some(PyLiteral::Str(out))
    }

    fn shown(&self) -> String {
        match self {
            PyLiteral::Bool(b) => if *b { "True" } else { "False" }.into(),
            PyLiteral::None => "None".into(),
            PyLiteral::Str(s) => format!("{s:?}"),
            PyLiteral::Other(s) => s.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sets_every_option_ansible_knows() {
        let o = FileOptions::default()
            .with_header(
                " trim_blocks: False, lstrip_blocks: True, variable_start_string: '[[', variable_end_string: \"]]\", \
                 newline_sequence: '\\r\\n', line_statement_prefix: '%%', keep_trailing_newline: True",
            )
            .unwrap();
        assert!(!o.trim_blocks && o.lstrip_blocks && o.keep_trailing_newline);
        assert_eq!((o.variable_start_string.as_str(), o.variable_end_string.as_str()), ("[[", "]]"));
        assert_eq!(o.newline_sequence, "\r\n");
        assert_eq!(o.line_statement_prefix.as_deref(), Some("%%"));
    }

    #[test]
    fn header_errors_say_what_is_wrong() {
        let e = |h: &str| FileOptions::default().with_header(h).unwrap_err();
        assert!(e(" trim_blocks False").contains("Missing key-value separator"));
        assert!(e(" colour: True").contains("Invalid '#jinja2:' override key 'colour'"));
        assert!(e(" trim_blocks: 'yes'").contains("expected True or False"));
        assert!(e(" trim_blocks: yes").contains("is not a Python literal"));
        assert!(e(" variable_start_string: '{%'").contains("must be different"));
        assert!(e(" newline_sequence: 'x'").contains("newline_sequence needs to be one of"));
        assert!(e(" trim_blocks: True,").contains("Empty"));
    }

    #[test]
    fn newlines_become_the_sequence() {
        let o = FileOptions { newline_sequence: "\r\n".into(), ..FileOptions::default() };
        assert_eq!(o.normalize_newlines("a\nb\r\nc\rd"), "a\r\nb\r\nc\r\nd");
        assert_eq!(FileOptions::default().normalize_newlines("a\r\nb\rc"), "a\nb\nc");
    }
}
