//! The ad-hoc printer (`orc run`): one block per host, as Ansible's minimal callback prints it.

use std::io::Write;
use std::sync::Mutex;

use super::events::{Event, EventSink, Status};

/// Prints `host | CHANGED | rc=0 >>` blocks for command-like results and
/// `host | SUCCESS => {json}` for the rest; with `-o`, one line per host as Ansible's `oneline`
/// callback does. In diff mode the unified diff of what changed comes first, as in `play`.
pub struct AdhocPrinter {
    out: Mutex<Box<dyn Write + Send>>,
    one_line: bool,
}

impl AdhocPrinter {
    /// A printer writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> AdhocPrinter {
        AdhocPrinter { out: Mutex::new(out), one_line: false }
    }

    /// `-o/--one-line`: each host's result on one line.
    pub fn one_line(mut self, on: bool) -> AdhocPrinter {
        self.one_line = on;
        self
    }
}

fn caption(status: Status) -> &'static str {
    match status {
        Status::Changed => "CHANGED",
        Status::Failed { .. } => "FAILED",
        Status::Unreachable => "UNREACHABLE!",
        Status::Skipped => "SKIPPED",
        Status::Ok => "SUCCESS",
    }
}

fn is_command(result: &serde_json::Value) -> bool {
    result.get("rc").is_some() && result.get("stdout").is_some()
}

/// The result as shown: the diff is printed as text instead, so its dict is left out.
fn shown(result: &serde_json::Value) -> serde_json::Value {
    let mut r = result.clone();
    if let Some(m) = r.as_object_mut() {
        m.remove("diff");
    }
    r
}

/// Renders one host's result the way `ansible HOST -m MODULE` shows it.
pub fn render(host: &str, status: Status, result: &serde_json::Value) -> String {
    let caption = caption(status);
    if is_command(result) && status != Status::Unreachable {
        let field = |k: &str| result.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        let rc = result.get("rc").map(|v| v.to_string()).unwrap_or_else(|| "-1".into());
        let mut buf = format!("{host} | {caption} | rc={rc} >>\n");
        buf.push_str(&field("stdout"));
        buf.push_str(&field("stderr"));
        buf.push_str(&field("msg"));
        buf.push('\n');
        return buf;
    }
    let caption = if caption == "FAILED" { "FAILED!" } else { caption };
    let json = super::pyjson::dumps_indented(&shown(result));
    format!("{host} | {caption} => {json}\n")
}

/// Renders one host's result on one line, as Ansible's `oneline` callback (`ansible -o`):
/// `host | CHANGED | rc=0 | (stdout) text (stderr) text` for commands (newlines written `\n`),
/// `host | SUCCESS => {json on one line}` for the rest; a failed command also gets the JSON line.
pub fn render_one_line(host: &str, status: Status, result: &serde_json::Value) -> String {
    let escape =
        |k: &str| result.get(k).and_then(|v| v.as_str()).unwrap_or("").replace('\n', "\\n").replace('\r', "\\r");
    let one_line_json = || {
        let mut shown = shown(result);
        // The oneline callback shows no `"failed": false` (the minimal one does).
        if let Some(m) = shown.as_object_mut() {
            if m.get("failed") == Some(&serde_json::Value::Bool(false)) {
                m.remove("failed");
            }
        }
        let style = super::pyjson::Style { indent: Some(0), sort_keys: true, ensure_ascii: false };
        super::pyjson::dumps_with(&shown, style).replace('\n', "")
    };
    if status == Status::Unreachable {
        let msg = result.get("msg").and_then(|v| v.as_str()).unwrap_or("");
        return format!("{host} | UNREACHABLE!: {msg}\n");
    }
    if status == Status::Skipped {
        return format!("{host} | SKIPPED\n");
    }
    let mut out = String::new();
    if is_command(result) {
        let rc = result.get("rc").map(|v| v.to_string()).unwrap_or_else(|| "-1".into());
        let stderr = escape("stderr");
        out.push_str(&format!("{host} | {} | rc={rc} | (stdout) {}", caption(status), escape("stdout")));
        if !stderr.is_empty() {
            out.push_str(&format!(" (stderr) {stderr}"));
        }
        out.push('\n');
        if !matches!(status, Status::Failed { .. }) {
            return out;
        }
    }
    let caption = if matches!(status, Status::Failed { .. }) { "FAILED!" } else { caption(status) };
    out.push_str(&format!("{host} | {caption} => {}\n", one_line_json()));
    out
}

impl EventSink for AdhocPrinter {
    fn emit(&self, event: &Event) {
        let text = match event {
            Event::HostResult(r) if !r.loop_summary || matches!(r.status, Status::Failed { .. }) => {
                let mut text = String::new();
                if !r.diffs.is_empty() && matches!(r.status, Status::Changed | Status::Ok) {
                    text.push_str(&super::diff_text::render(&r.diffs, false));
                }
                if self.one_line {
                    text.push_str(&render_one_line(&r.host, r.status, &r.result));
                } else {
                    text.push_str(&render(&r.host, r.status, &r.result));
                }
                text
            }
            Event::Warning(w) => format!("[WARNING]: {w}\n"),
            _ => return,
        };
        if let Ok(mut out) = self.out.lock() {
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn command_results_show_output() {
        let r = json!({"rc": 0, "stdout": "web1", "stderr": "", "changed": true});
        insta::assert_snapshot!(render("web1", Status::Changed, &r), @r"
        web1 | CHANGED | rc=0 >>
        web1
        ");
    }

    #[test]
    fn one_line_results_as_the_oneline_callback() {
        let cmd = json!({"rc": 0, "stdout": "a\nb", "stderr": "", "changed": true});
        assert_eq!(render_one_line("web1", Status::Changed, &cmd), "web1 | CHANGED | rc=0 | (stdout) a\\nb\n");
        let err = json!({"rc": 0, "stdout": "a", "stderr": "b", "changed": true});
        assert_eq!(render_one_line("h", Status::Changed, &err), "h | CHANGED | rc=0 | (stdout) a (stderr) b\n");
        let ping = json!({"changed": false, "ping": "pong"});
        assert_eq!(render_one_line("h", Status::Ok, &ping), "h | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n");
        let failed = json!({"rc": 3, "stdout": "hi", "stderr": "", "changed": true, "msg": "non-zero return code"});
        insta::assert_snapshot!(render_one_line("h", Status::Failed { ignored: false }, &failed), @r#"
        h | FAILED | rc=3 | (stdout) hi
        h | FAILED! => {"changed": true,"msg": "non-zero return code","rc": 3,"stderr": "","stdout": "hi"}
        "#);
        let lost = json!({"msg": "ssh: connect to 10.0.0.1:22: connection refused", "unreachable": true});
        assert_eq!(
            render_one_line("h", Status::Unreachable, &lost),
            "h | UNREACHABLE!: ssh: connect to 10.0.0.1:22: connection refused\n"
        );
    }

    #[test]
    fn module_results_show_json() {
        let r = json!({"changed": false, "ping": "pong"});
        insta::assert_snapshot!(render("db", Status::Ok, &r), @r#"
        db | SUCCESS => {
            "changed": false,
            "ping": "pong"
        }
        "#);
    }
}
