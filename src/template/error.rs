//! The templating error: what went wrong, which variable was undefined, and where in a template file.

use std::fmt;
use std::path::PathBuf;

use super::{EXPR, INLINE};

/// A template or expression failed to compile or render.
///
/// `undefined` names the undefined variable (or expression such as `user.name`) when that is the
/// cause, so the engine can say "undefined variable 'x'". `file` and `line` are set when the error
/// is inside a template file (or a file it includes); for inline strings `line` is the line in the
/// string.
#[derive(Debug, thiserror::Error)]
pub struct TemplateError {
    /// What went wrong, in Ansible's words where they exist (`'x' is undefined`).
    pub msg: String,
    /// The undefined variable or expression, when the error is about one.
    pub undefined: Option<String>,
    /// The template file the error is in, when it comes from a file.
    pub file: Option<PathBuf>,
    /// The 1-based line of the error in the file or string, when known.
    pub line: Option<usize>,
}

impl TemplateError {
    /// An error with only a message.
    pub fn new(msg: impl Into<String>) -> TemplateError {
        TemplateError { msg: msg.into(), undefined: None, file: None, line: None }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)?;
        if let Some(file) = &self.file {
            write!(f, " (in {}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl From<minijinja::Error> for TemplateError {
    fn from(err: minijinja::Error) -> TemplateError {
        let undefined = undefined_name(&err);
        let mut msg = match (&undefined, err.kind()) {
            (Some(name), minijinja::ErrorKind::UndefinedError) => format!("'{name}' is undefined"),
            _ => match err.detail() {
                Some(detail) => format!("{}: {}", err.kind(), detail),
                None => err.kind().to_string(),
            },
        };
        let mut cause = std::error::Error::source(&err);
        let mut undefined = undefined;
        let mut file = file_of(&err);
        let mut line = err.line();
        while let Some(c) = cause {
            if let Some(inner) = c.downcast_ref::<minijinja::Error>() {
                if undefined.is_none() {
                    undefined = undefined_name(inner);
                }
                if let Some(f) = file_of(inner) {
                    file = Some(f);
                    line = inner.line();
                }
                let text = match inner.detail() {
                    Some(detail) => format!("{}: {}", inner.kind(), detail),
                    None => inner.kind().to_string(),
                };
                msg.push_str(": ");
                msg.push_str(&text);
            } else {
                msg.push_str(": ");
                msg.push_str(&c.to_string());
            }
            cause = c.source();
        }
        let is_expr = err.name().is_some_and(|n| n.starts_with(EXPR));
        TemplateError { msg: python_words(msg), undefined, file, line: if is_expr { None } else { line } }
    }
}

/// minijinja's words for errors Python words differently, put the way Jinja on Python says them
/// (playbooks test for them: `'division by zero' in result.msg`).
fn python_words(msg: String) -> String {
    static RULES: std::sync::OnceLock<Vec<(regex::Regex, &'static str)>> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| {
        [
            (r"unable to calculate \S+ (//?|%) 0\b", "division by zero"),
            (
                r"tried to use \+ operator on unsupported types map and map",
                "unsupported operand type(s) for +: 'dict' and 'dict'",
            ),
        ]
        .into_iter()
        .filter_map(|(re, words)| regex::Regex::new(re).ok().map(|re| (re, words)))
        .collect()
    });
    let mut msg = msg;
    for (re, words) in rules {
        if re.is_match(&msg) {
            msg = re.replace_all(&msg, *words).into_owned();
        }
    }
    msg
}

/// The template file an error comes from (inline strings and expressions have none).
fn file_of(err: &minijinja::Error) -> Option<PathBuf> {
    let name = err.name()?;
    if name.starts_with(INLINE) || name.starts_with(EXPR) {
        return None;
    }
    Some(PathBuf::from(name))
}

/// Extracts the undefined expression from minijinja's "`x` is undefined" detail.
fn undefined_name(err: &minijinja::Error) -> Option<String> {
    if err.kind() != minijinja::ErrorKind::UndefinedError {
        return None;
    }
    let detail = err.detail()?;
    let start = detail.find('`')? + 1;
    let len = detail[start..].find("` is undefined")?;
    Some(detail[start..start + len].to_string())
}
