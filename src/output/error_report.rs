//! The `[ERROR]: ...` block ansible-core 2.19 prints above a failed result: the message, the task's
//! origin, and the source lines leading to it with a column marker (ansible/_internal/_errors/
//! _error_utils.py `SourceContext.from_origin`, formatted by `_event_formatting.format_event`).

use crate::error::Loc;

use super::events::ErrorReport;

/// Lines of context shown before the origin line.
const CONTEXT_LINES: usize = 2;
/// Widest annotated source line; longer lines are cut with `...`.
const MAX_LINE_WIDTH: usize = 120;
const TRUNCATION: &str = "...";

/// The full text of the report, newline-terminated, with the trailing blank line Ansible prints
/// after a multi-line message.
pub fn render(report: &ErrorReport) -> String {
    let mut msg = report.message.clone();
    if let Some(loc) = &report.origin {
        msg.push('\n');
        msg.push_str(&source_context(loc));
    }
    let msg = msg.trim();
    if msg.contains('\n') {
        format!("[ERROR]: {msg}\n\n")
    } else {
        format!("[ERROR]: {msg}\n")
    }
}

/// `Origin: path:line:col`, a blank line, the two lines before the origin and the origin line
/// (each prefixed by its right-aligned number), and `^ column N` under the column.
pub fn source_context(loc: &Loc) -> String {
    let mut lines = vec![format!("Origin: {loc}")];
    lines.extend(annotated_lines(loc));
    lines.join("\n")
}

fn annotated_lines(loc: &Loc) -> Vec<String> {
    let target = loc.line;
    if target < 1 {
        return Vec::new();
    }
    let text = &loc.file.text;
    if text.starts_with("$ANSIBLE_VAULT") {
        return vec![String::new(), "(source not shown: content encrypted)".into()];
    }
    let start = (target - 1).saturating_sub(CONTEXT_LINES);
    let src: Vec<&str> = text.lines().skip(start).take(target - start).collect();
    if src.len() != target - start {
        return vec![String::new(), "(source not shown: file truncated)".into()];
    }
    let label_width = target.to_string().len();
    let max_src = MAX_LINE_WIDTH - label_width - 1;
    let mut usable = max_src;
    let mut out = vec![String::new()];
    for (i, line) in src.iter().enumerate() {
        let mut line = line.replace('\t', " ");
        if line.chars().count() > max_src {
            let keep = max_src - TRUNCATION.len();
            line = line.chars().take(keep).collect::<String>() + TRUNCATION;
            usable = keep;
        }
        let sep = if line.is_empty() { "" } else { " " };
        out.push(format!("{:>width$}{sep}{line}", start + i + 1, width = label_width));
    }
    let col = loc.col;
    if col >= 1 && col <= usable {
        let marker = format!("column {col}");
        let idx = col - 1;
        let marker = if idx + 2 + marker.len() > max_src {
            format!("{}{marker} ^", " ".repeat(idx.saturating_sub(marker.len() + 1)))
        } else {
            format!("{}^ {marker}", " ".repeat(idx))
        };
        out.push(format!("{} {marker}", " ".repeat(label_width)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceFile;

    fn loc(text: &str, line: usize, col: usize) -> Loc {
        Loc { file: SourceFile::new("/tmp/printers-ref/p1.yml", text), line, col }
    }

    #[test]
    fn like_ansible_with_origin() {
        // From `ansible-playbook -i inv.ini p1.yml` (ansible-core 2.19), task at line 14 col 7.
        let text = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10\nl11\n      when: inventory_hostname == 'web1'\n      changed_when: false\n    - name: Fail but ignore\n";
        let r =
            ErrorReport { message: "Task failed: Action failed: boom ignored".into(), origin: Some(loc(text, 14, 7)) };
        assert_eq!(
            render(&r),
            "[ERROR]: Task failed: Action failed: boom ignored\n\
             Origin: /tmp/printers-ref/p1.yml:14:7\n\
             \n\
             12       when: inventory_hostname == 'web1'\n\
             13       changed_when: false\n\
             14     - name: Fail but ignore\n\
             \x20        ^ column 7\n\n"
        );
    }

    #[test]
    fn near_file_start_and_blank_lines() {
        let r = ErrorReport { message: "m".into(), origin: Some(loc("\n- x\n", 2, 3)) };
        assert_eq!(render(&r), "[ERROR]: m\nOrigin: /tmp/printers-ref/p1.yml:2:3\n\n1\n2 - x\n    ^ column 3\n\n");
    }

    #[test]
    fn without_origin_is_one_line() {
        let r = ErrorReport { message: "Task failed: Failed to connect to the host via ssh".into(), origin: None };
        assert_eq!(render(&r), "[ERROR]: Task failed: Failed to connect to the host via ssh\n");
    }

    #[test]
    fn truncated_file() {
        let r = ErrorReport { message: "m".into(), origin: Some(loc("a\n", 5, 1)) };
        assert!(render(&r).contains("(source not shown: file truncated)"));
    }
}
