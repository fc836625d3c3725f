//! The ad-hoc printer (`orc run`): one block per host, as Ansible's minimal callback prints it.

use std::io::Write;
use std::sync::Mutex;

use super::events::{Event, EventSink, Status};

/// Prints `host | CHANGED | rc=0 >>` blocks for command-like results and
/// `host | SUCCESS => {json}` for the rest.
pub struct AdhocPrinter {
    out: Mutex<Box<dyn Write + Send>>,
}

impl AdhocPrinter {
    /// A printer writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> AdhocPrinter {
        AdhocPrinter { out: Mutex::new(out) }
    }
}

/// Renders one host's result the way `ansible HOST -m MODULE` shows it.
pub fn render(host: &str, status: Status, result: &serde_json::Value) -> String {
    let caption = match status {
        Status::Changed => "CHANGED",
        Status::Failed { .. } => "FAILED",
        Status::Unreachable => "UNREACHABLE!",
        Status::Skipped => "SKIPPED",
        Status::Ok => "SUCCESS",
    };
    let is_command = result.get("rc").is_some() && result.get("stdout").is_some();
    if is_command && status != Status::Unreachable {
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
    let json = super::pyjson::dumps_indented(result);
    format!("{host} | {caption} => {json}\n")
}

impl EventSink for AdhocPrinter {
    fn emit(&self, event: &Event) {
        let text = match event {
            Event::HostResult(r) if !r.loop_summary || matches!(r.status, Status::Failed { .. }) => {
                render(&r.host, r.status, &r.result)
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
