//! Errors a user can cause, with the file, line and column they come from, and the exit codes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A source file kept in memory so that errors can show the offending line.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user named it (or as found relative to a playbook).
    pub path: PathBuf,
    /// Its whole text.
    pub text: String,
}

impl SourceFile {
    /// Wraps a file's path and text.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<Self> {
        Arc::new(SourceFile { path: path.into(), text: text.into() })
    }

    /// Line `n` (1-based) without its newline.
    pub fn line(&self, n: usize) -> Option<&str> {
        self.text.lines().nth(n.checked_sub(1)?)
    }
}

/// A position in a source file (1-based line and column).
#[derive(Clone)]
pub struct Loc {
    /// The file.
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl fmt::Debug for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.path.display(), self.line, self.col)
    }
}

impl Loc {
    /// A location at the start of a file, for whole-file problems.
    pub fn file_start(file: Arc<SourceFile>) -> Loc {
        Loc { file, line: 1, col: 1 }
    }
}

/// The error kinds orc reports; each maps to one exit code.
#[derive(Debug, thiserror::Error)]
pub enum OrcError {
    /// Invalid input found before anything ran: playbook, inventory, template, vars (exit 3).
    #[error("{msg}")]
    Input {
        /// What is wrong.
        msg: String,
        /// Where, when known.
        loc: Option<Loc>,
        /// What would be valid.
        help: Option<String>,
    },
    /// A command-line usage error (exit 64).
    #[error("{0}")]
    Usage(String),
    /// A file could not be read.
    #[error("could not read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl OrcError {
    /// An input error at a location.
    pub fn at(loc: &Loc, msg: impl Into<String>) -> Self {
        OrcError::Input { msg: msg.into(), loc: Some(loc.clone()), help: None }
    }

    /// An input error with no location (e.g. a whole command-line value).
    pub fn input(msg: impl Into<String>) -> Self {
        OrcError::Input { msg: msg.into(), loc: None, help: None }
    }

    /// Adds what would be valid.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        if let OrcError::Input { help, .. } = &mut self {
            *help = Some(text.into());
        }
        self
    }

    /// Adds a location to an input error that has none.
    pub fn or_at(mut self, at: &Loc) -> Self {
        if let OrcError::Input { loc, .. } = &mut self {
            if loc.is_none() {
                *loc = Some(at.clone());
            }
        }
        self
    }

    /// Reads a file, mapping failure to a `Read` error naming the path.
    pub fn read(path: &Path) -> Result<String, OrcError> {
        std::fs::read_to_string(path).map_err(|source| OrcError::Read { path: path.to_path_buf(), source })
    }

    /// The process exit code for this error (docs/cli.md, "Exit codes": 3 invalid input, 64 usage).
    pub fn exit_code(&self) -> i32 {
        match self {
            OrcError::Input { .. } | OrcError::Read { .. } => 3,
            OrcError::Usage(_) => 64,
        }
    }

    /// The full report: message, location, the offending line with a caret, and help.
    pub fn report(&self) -> String {
        let mut out = format!("error: {self}\n");
        if let OrcError::Input { loc, help, .. } = self {
            if let Some(loc) = loc {
                let num = loc.line.to_string();
                let pad = " ".repeat(num.len());
                out.push_str(&format!("{pad}--> {loc}\n"));
                if let Some(text) = loc.file.line(loc.line) {
                    let caret_pad: String = text
                        .chars()
                        .take(loc.col.saturating_sub(1))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    out.push_str(&format!("{pad} |\n{num} | {text}\n{pad} | {caret_pad}^\n"));
                }
            }
            if let Some(help) = help {
                out.push_str(&format!("  = help: {help}\n"));
            }
        }
        out
    }
}

/// Short for results with an `OrcError`.
pub type Result<T, E = OrcError> = std::result::Result<T, E>;
