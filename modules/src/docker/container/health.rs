//! `state: healthy`: wait until the container's health check passes (community.docker waits
//! through `starting` and `unhealthy` until `healthy` or the timeout); a timeout fails with the
//! health check's last output lines.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::contract::{ModuleError, ModuleResult};
use crate::docker::DockerApi;

/// The container's health status (`starting`, `healthy`, `unhealthy`), `None` without a check.
pub fn status(inspect: &Value) -> Option<&str> {
    inspect.pointer("/State/Health/Status").and_then(Value::as_str)
}

/// The last `n` health check results, one line each: `exit N: output`.
pub fn last_log_lines(inspect: &Value, n: usize) -> Vec<String> {
    let log = inspect.pointer("/State/Health/Log").and_then(Value::as_array).cloned().unwrap_or_default();
    log.iter()
        .rev()
        .take(n)
        .rev()
        .map(|e| {
            let code = e.get("ExitCode").and_then(Value::as_i64).unwrap_or(-1);
            let out = e.get("Output").and_then(Value::as_str).unwrap_or("").trim().replace('\n', " | ");
            format!("exit {code}: {out}")
        })
        .collect()
}

/// The failure message for a container that did not become healthy in time.
pub fn timeout_message(name: &str, secs: f64, inspect: &Value) -> String {
    let state = status(inspect).unwrap_or("unknown");
    let lines = last_log_lines(inspect, 3);
    let mut msg = format!("Timeout of {secs} seconds exceeded while waiting for container \"{name}\" to become healthy (health status: {state})");
    if lines.is_empty() {
        msg.push_str("; the health check has not reported yet");
    } else {
        msg.push_str("; last health check results:\n");
        msg.push_str(&lines.join("\n"));
    }
    msg
}

/// Polls the container until it is healthy (or has no health check), for at most `max_wait`
/// seconds (`None`: no limit). Returns the last inspect result.
pub fn wait_healthy(api: &DockerApi, name: &str, id: &str, max_wait: Option<f64>) -> Result<Value, ModuleError> {
    let start = Instant::now();
    let mut delay = 0.25f64;
    loop {
        let inspect = super::manager::inspect(api, id)?.ok_or_else(|| {
            ModuleError::msg(format!("Encountered vanished container while waiting for container \"{name}\""))
        })?;
        match status(&inspect) {
            None | Some("healthy") => return Ok(inspect),
            Some("starting") | Some("unhealthy") => {}
            Some(other) => {
                let r = ModuleResult::failed(format!(
                    "Encountered unexpected state \"{other}\" while waiting for container \"{name}\""
                ))
                .with("container", inspect.clone());
                return Err(ModuleError::Fail(Box::new(r)));
            }
        }
        if inspect.pointer("/State/Running") == Some(&Value::Bool(false)) {
            let r = ModuleResult::failed(format!(
                "Container \"{name}\" stopped while waiting for it to become healthy; last health check results:\n{}",
                last_log_lines(&inspect, 3).join("\n")
            ))
            .with("container", inspect.clone());
            return Err(ModuleError::Fail(Box::new(r)));
        }
        let waited = start.elapsed().as_secs_f64();
        if let Some(max) = max_wait {
            if waited >= max {
                let r = ModuleResult::failed(timeout_message(name, max, &inspect)).with("container", inspect);
                return Err(ModuleError::Fail(Box::new(r)));
            }
            delay = delay.min(max - waited);
        }
        std::thread::sleep(Duration::from_secs_f64(delay.max(0.01)));
        delay = (delay * 1.1).min(10.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timeout_message_names_the_last_results() {
        let i = json!({"State": {"Health": {"Status": "unhealthy", "Log": [
            {"ExitCode": 1, "Output": "a"}, {"ExitCode": 1, "Output": "b"},
            {"ExitCode": 1, "Output": "c\n"}, {"ExitCode": 1, "Output": "wget: can't connect"}
        ]}}});
        let m = timeout_message("web", 3.0, &i);
        assert!(m.starts_with("Timeout of 3 seconds exceeded while waiting for container \"web\""), "{m}");
        assert!(m.contains("health status: unhealthy"));
        assert!(m.ends_with("exit 1: b\nexit 1: c\nexit 1: wget: can't connect"), "{m}");
        assert_eq!(status(&json!({"State": {}})), None);
    }
}
