//! Unified diffs of before/after text, as printed in diff mode.

use crate::contract::FileDiff;

/// Renders a unified diff with three lines of context, `---`/`+++` headers named after the diff's
/// headers (Ansible prints `before: PATH` / `after: PATH`). Empty when both sides are equal.
pub fn unified(d: &FileDiff) -> String {
    if d.before == d.after {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(&d.before, &d.after);
    diff.unified_diff()
        .context_radius(3)
        .header(&format!("before: {}", d.before_header), &format!("after: {}", d.after_header))
        .missing_newline_hint(true)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_changed_line() {
        let d = FileDiff::content("/etc/x", "a\nb\nc\n", "a\nB\nc\n");
        let out = unified(&d);
        assert!(out.contains("--- before: /etc/x"));
        assert!(out.contains("-b\n+B\n"));
    }

    #[test]
    fn equal_is_empty() {
        assert_eq!(unified(&FileDiff::content("/x", "a\n", "a\n")), "");
    }
}
