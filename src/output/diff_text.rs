//! Diff-mode text as Ansible's callback `_get_diff` shows it: a unified diff per before/after pair,
//! headers `before: PATH` / `after: PATH` (bare `before` / `after` when there is no header, e.g. a
//! new file), lines coloured by their first character, and a blank line after each diff.

use orc_modules::diff::unified;
use orc_modules::FileDiff;

use super::color::{paint, Color};

/// The text shown for `diffs`, empty when none of them differs.
pub fn render(diffs: &[FileDiff], color: bool) -> String {
    let mut out = String::new();
    for d in diffs {
        let text = unified(d);
        if text.is_empty() {
            continue;
        }
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let line = match i {
                0 if d.before_header.is_empty() => "--- before\n",
                1 if d.after_header.is_empty() => "+++ after\n",
                _ => line,
            };
            out.push_str(&paint_line(line, color));
        }
        if !text.ends_with('\n') {
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn paint_line(line: &str, color: bool) -> String {
    let c = if line.starts_with('+') {
        Color::DiffAdd
    } else if line.starts_with('-') {
        Color::DiffRemove
    } else if line.starts_with("@@") {
        Color::DiffLines
    } else {
        return line.to_string();
    };
    match line.strip_suffix('\n') {
        Some(body) => format!("{}\n", paint(body, c, color)),
        None => paint(line, c, color),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_file_like_ansible() {
        // ansible-playbook --diff, copy over "line one\nline 2\nline three\n".
        let d = FileDiff::content(
            "/tmp/printers-ref/web1.txt",
            "line one\nline 2\nline three\n",
            "line one\nline two\nline three\n",
        );
        assert_eq!(
            render(&[d], false),
            "--- before: /tmp/printers-ref/web1.txt\n\
             +++ after: /tmp/printers-ref/web1.txt\n\
             @@ -1,3 +1,3 @@\n line one\n-line 2\n+line two\n line three\n\n"
        );
    }

    #[test]
    fn new_file_has_bare_before_header() {
        let d = FileDiff {
            before_header: String::new(),
            after_header: "/tmp/printers-ref/web1-a.txt".into(),
            before: String::new(),
            after: "a\n".into(),
        };
        assert_eq!(render(&[d], false), "--- before\n+++ after: /tmp/printers-ref/web1-a.txt\n@@ -0,0 +1 @@\n+a\n\n");
    }

    #[test]
    fn missing_newline_hint() {
        // python3: difflib with Ansible's "\n\\ No newline at end of file\n" suffix on last lines.
        let d = FileDiff::content("/f", "a", "b");
        assert_eq!(
            render(&[d], false),
            "--- before: /f\n+++ after: /f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n\n"
        );
    }

    #[test]
    fn equal_sides_show_nothing() {
        assert_eq!(render(&[FileDiff::content("/f", "a\n", "a\n")], false), "");
    }

    #[test]
    fn coloured_lines() {
        let d = FileDiff::content("/f", "a\n", "b\n");
        let out = render(&[d], true);
        assert!(out.contains("\x1b[0;31m-a\x1b[0m\n"));
        assert!(out.contains("\x1b[0;32m+b\x1b[0m\n"));
        assert!(out.contains("\x1b[0;36m@@ -1 +1 @@\x1b[0m\n"));
    }
}
