//! Ansible's default colours (ansible/config/base.yml `COLOR_*`, codes from `constants.COLOR_CODES`)
//! and its way of painting text: every line painted separately, nothing painted when colour is off.

/// A colour the human printer uses, named after Ansible's setting it mirrors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// `COLOR_OK`: green.
    Ok,
    /// `COLOR_CHANGED`: yellow.
    Changed,
    /// `COLOR_ERROR`: red.
    Error,
    /// `COLOR_UNREACHABLE`: bright red.
    Unreachable,
    /// `COLOR_SKIP`: cyan.
    Skip,
    /// `COLOR_INCLUDED`: cyan.
    Included,
    /// `COLOR_WARN`: bright purple.
    Warn,
    /// `COLOR_DEBUG`: dark gray.
    Debug,
    /// `COLOR_DIFF_ADD`: green.
    DiffAdd,
    /// `COLOR_DIFF_REMOVE`: red.
    DiffRemove,
    /// `COLOR_DIFF_LINES`: cyan.
    DiffLines,
}

impl Color {
    /// The SGR parameters Ansible emits for this colour.
    pub fn sgr(self) -> &'static str {
        match self {
            Color::Ok | Color::DiffAdd => "0;32",
            Color::Changed => "0;33",
            Color::Error | Color::DiffRemove => "0;31",
            Color::Unreachable => "1;31",
            Color::Skip | Color::Included | Color::DiffLines => "0;36",
            Color::Warn => "1;35",
            Color::Debug => "1;30",
        }
    }
}

/// Paints `text` as Ansible's `stringc` does: each line wrapped in its own escape sequence, so that
/// a pager that cuts lines keeps the colour right. Returns the text unchanged when `on` is false.
pub fn paint(text: &str, color: Color, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    text.split('\n').map(|line| format!("\x1b[{}m{}\x1b[0m", color.sgr(), line)).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_each_line() {
        assert_eq!(paint("a\nb", Color::Changed, true), "\x1b[0;33ma\x1b[0m\n\x1b[0;33mb\x1b[0m");
    }

    #[test]
    fn off_is_plain() {
        assert_eq!(paint("a", Color::Error, false), "a");
    }
}
