//! `health_gate` (orc's own): waits until a service passes its health check N consecutive times
//! within a deadline, or fails naming the check and the last answer. Three kinds of check:
//! `http` (a GET whose status must fall in a range), `tcp` (a connection accepted) and `exec` (a
//! command run inside a container through the Docker Engine API, exit status 0).
//!
//! HTTP and TCP probes go through the stream mechanism of the connection (docs/architecture.md,
//! "Streams to a host's sockets"): the address is reached as the task's host sees it, so a port
//! published on the host's loopback is probed without curl or anything installed. The exec probe
//! uses the Docker modules' client (`crate::docker`). It is the gate of the rolling-upgrade
//! playbook (docs/rollouts.md): a replaced container serves only once it passed.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::stream::StreamTarget;

/// `health_gate` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct HealthGateArgs {
    /// The check: `http` (GET `path`, status in `status`), `tcp` (a connection to `port` is
    /// accepted) or `exec` (`command` exits 0 inside `container`).
    #[serde(default = "default_kind", deserialize_with = "crate::args::string")]
    pub kind: String,
    /// The address probed (http, tcp), as the task's host sees it.
    #[serde(default = "default_host", deserialize_with = "crate::args::string")]
    pub host: String,
    /// The port probed (http, tcp).
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub port: Option<u64>,
    /// The HTTP path asked (http).
    #[serde(default = "default_path", deserialize_with = "crate::args::string")]
    pub path: String,
    /// The statuses that pass (http): codes and ranges separated by commas, e.g. `200-399` or
    /// `200,204`.
    #[serde(default = "default_status", deserialize_with = "crate::args::string")]
    pub status: String,
    /// The command run inside the container with `sh -c` (exec).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub command: Option<String>,
    /// The container the command runs in (exec).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub container: Option<String>,
    /// The Docker daemon's socket on the host (exec).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub docker_host: Option<String>,
    /// How many consecutive passes open the gate.
    #[serde(default = "default_passes", deserialize_with = "crate::args::whole")]
    pub passes: u64,
    /// Seconds within which the passes must happen (else the gate fails).
    #[serde(default = "default_deadline", deserialize_with = "crate::args::whole")]
    pub deadline: u64,
    /// Seconds between probes.
    #[serde(default = "default_interval", deserialize_with = "crate::args::whole")]
    pub interval: u64,
    /// Seconds one probe may take.
    #[serde(default = "default_timeout", deserialize_with = "crate::args::whole")]
    pub timeout: u64,
}

fn default_kind() -> String {
    "http".into()
}
fn default_host() -> String {
    "127.0.0.1".into()
}
fn default_path() -> String {
    "/".into()
}
fn default_status() -> String {
    "200-399".into()
}
fn default_passes() -> u64 {
    3
}
fn default_deadline() -> u64 {
    60
}
fn default_interval() -> u64 {
    1
}
fn default_timeout() -> u64 {
    5
}

/// Parses `200-399,404` into inclusive ranges.
pub fn parse_status(spec: &str) -> Result<Vec<(u16, u16)>, String> {
    let bad = || format!("status '{spec}' is not a list of HTTP codes or ranges (for example 200-399 or 200,204)");
    spec.split(',')
        .map(|part| {
            let part = part.trim();
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let lo: u16 = lo.trim().parse().map_err(|_| bad())?;
            let hi: u16 = hi.trim().parse().map_err(|_| bad())?;
            if !(100..=599).contains(&lo) || !(100..=599).contains(&hi) || lo > hi {
                return Err(bad());
            }
            Ok((lo, hi))
        })
        .collect()
}

/// What one probe saw: passed, and the answer in words.
struct Probe {
    passed: bool,
    answer: String,
}

/// The `health_gate` module.
pub struct HealthGate;

impl TypedModule for HealthGate {
    type Args = HealthGateArgs;
    const NAME: &'static str = "health_gate";
    const COLLECTION: &'static str = "orc";
    const DOC: ModuleText = ModuleText {
        short: "Waits until a service passes its health check (HTTP, TCP or a command in its container) \
                `passes` consecutive times within `deadline` seconds; fails naming the check and the last \
                answer otherwise.",
        notes: "orc's own module (Ansible has none: the usual pattern is `uri` or `wait_for` with \
                `until`/`retries`, which counts one pass, not N in a row). HTTP and TCP probes reach \
                `host:port` as the task's host sees it, through its connection (nothing runs on the \
                host); `exec` runs `sh -c COMMAND` in `container` through the Docker Engine API. A \
                failed probe resets the count of consecutive passes. The gate changes nothing, so it \
                is never `changed`; in check mode it probes nothing (what it would check is in `msg`), \
                because the change it guards was not made. The rolling-upgrade playbook gates every \
                replaced container with it (docs/rollouts.md).",
        returns: &[
            ("check", "What was probed, e.g. `http://127.0.0.1:8080/health` or `exec in app: test -f /ready`."),
            ("passes", "Consecutive passes at the end (equals the `passes` argument when the gate opened)."),
            ("attempts", "Probes made."),
            ("seconds", "How long the gate took."),
            ("last_response", "The last probe's answer: `HTTP 500: <body start>`, `connected`, `exit 1: <output>`, or the connection error."),
        ],
        example: "- name: Wait for the new container to answer\n  orc.health_gate:\n    kind: http\n    \
                  port: 8080\n    path: /health\n    status: 200-399\n    passes: 3\n    deadline: 60\n",
    };

    fn check_args(a: &HealthGateArgs) -> Result<(), ArgError> {
        let err = |msg: String| Err(ArgError { msg });
        match a.kind.as_str() {
            "http" | "tcp" => {
                if !a.port.is_some_and(|p| (1..=65535).contains(&p)) {
                    return err(format!("kind={} needs port (1 to 65535)", a.kind));
                }
                if a.kind == "http" {
                    parse_status(&a.status).map_err(|msg| ArgError { msg })?;
                    if !a.path.starts_with('/') {
                        return err(format!("path must start with / (it is '{}')", a.path));
                    }
                }
            }
            "exec" => {
                if a.command.as_deref().unwrap_or("").is_empty() || a.container.as_deref().unwrap_or("").is_empty() {
                    return err("kind=exec needs command and container".into());
                }
            }
            other => return err(format!("kind must be http, tcp or exec, not '{other}'")),
        }
        if a.passes == 0 || a.interval == 0 || a.timeout == 0 || a.deadline == 0 {
            return err("passes, deadline, interval and timeout must be at least 1".into());
        }
        Ok(())
    }

    fn run(&self, a: HealthGateArgs, ctx: &mut ModuleCtx) -> RunResult {
        let check = describe(&a);
        if ctx.check {
            return Ok(ModuleResult::ok()
                .with("check", check.clone())
                .with_msg(format!("check mode: would wait for {} consecutive passes of {check}", a.passes)));
        }
        let started = Instant::now();
        let deadline = Duration::from_secs(a.deadline);
        let timeout = Duration::from_secs(a.timeout);
        let docker = match a.kind.as_str() {
            "exec" => Some(crate::docker::DockerApi::connect(ctx, a.docker_host.as_deref(), Some(a.timeout))?),
            _ => None,
        };
        let ranges = parse_status(&a.status).map_err(ModuleError::msg)?;
        let (mut consecutive, mut attempts) = (0u64, 0u64);
        let mut last;
        loop {
            attempts += 1;
            let probe = match &docker {
                Some(api) => exec_probe(api, &a),
                None => stream_probe(ctx, &a, &ranges, timeout),
            };
            last = probe.answer;
            consecutive = if probe.passed { consecutive + 1 } else { 0 };
            if consecutive >= a.passes {
                break;
            }
            let next = started.elapsed() + Duration::from_secs(a.interval);
            if next > deadline {
                break;
            }
            std::thread::sleep(Duration::from_secs(a.interval));
        }
        let seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
        let result = ModuleResult::ok()
            .with("check", check.clone())
            .with("passes", consecutive)
            .with("attempts", attempts)
            .with("seconds", seconds)
            .with("last_response", last.clone());
        if consecutive >= a.passes {
            return Ok(result.with_msg(format!("{check} passed {consecutive} times in a row in {seconds} s")));
        }
        let mut failed = result.with_msg(format!(
            "health gate {check}: {} consecutive passes not reached within {} s ({attempts} probes); last response: {last}",
            a.passes, a.deadline
        ));
        failed.failed = true;
        Err(ModuleError::Fail(Box::new(failed)))
    }
}

/// The check in words: a URL, an address or the command and its container.
fn describe(a: &HealthGateArgs) -> String {
    let port = a.port.unwrap_or(0);
    match a.kind.as_str() {
        "http" => format!("http://{}:{port}{}", a.host, a.path),
        "tcp" => format!("tcp://{}:{port}", a.host),
        _ => format!("exec in {}: {}", a.container.as_deref().unwrap_or(""), a.command.as_deref().unwrap_or("")),
    }
}

/// One HTTP or TCP probe through the host's connection.
fn stream_probe(ctx: &mut ModuleCtx, a: &HealthGateArgs, ranges: &[(u16, u16)], timeout: Duration) -> Probe {
    let target = StreamTarget::tcp(a.host.clone(), a.port.unwrap_or(0) as u16);
    let fail = |answer: String| Probe { passed: false, answer };
    let mut stream = match ctx.conn.open_stream(&target) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if a.kind == "tcp" {
        return Probe { passed: true, answer: "connected".into() };
    }
    if let Err(e) = stream.set_timeouts(Some(timeout)) {
        return fail(crate::stream::os_error(&e));
    }
    // HTTP/1.0: the server closes the connection after its answer.
    let request = format!("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: orc-health-gate\r\n\r\n", a.path, a.host);
    if let Err(e) = stream.write_all(request.as_bytes()) {
        return fail(format!("send: {}", crate::stream::os_error(&e)));
    }
    let mut answer = Vec::new();
    // A server may cut the connection after a complete answer: keep what arrived.
    let read = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return fail(match read {
            Err(e) => format!("no answer: {}", crate::stream::os_error(&e)),
            Ok(_) if answer.is_empty() => "the connection was closed without an answer".into(),
            Ok(_) => format!("not HTTP: {}", short(&text)),
        });
    };
    let Some(status) = head.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()) else {
        return fail(format!("not HTTP: {}", short(head)));
    };
    let passed = ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&status));
    Probe { passed, answer: format!("HTTP {status}: {}", short(body)) }
}

/// One command run in the container; passes when it exits 0.
fn exec_probe(api: &crate::docker::DockerApi, a: &HealthGateArgs) -> Probe {
    use bollard::exec::{CreateExecOptions, StartExecResults};
    use futures_util::StreamExt;
    let container = a.container.clone().unwrap_or_default();
    let command = a.command.clone().unwrap_or_default();
    let timeout = Duration::from_secs(a.timeout);
    let outcome: Result<(Option<i64>, String), String> = api.run(|d| async move {
        let work = async {
            let opts = CreateExecOptions {
                cmd: Some(vec!["sh".to_string(), "-c".to_string(), command]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            };
            let exec = d.create_exec(&container, opts).await.map_err(|e| crate::docker::api_error(&e))?;
            let mut output = String::new();
            if let StartExecResults::Attached { output: mut stream, .. } =
                d.start_exec(&exec.id, None).await.map_err(|e| crate::docker::api_error(&e))?
            {
                while let Some(chunk) = stream.next().await {
                    match chunk {
                        Ok(c) => output.push_str(&c.to_string()),
                        Err(e) => return Err(crate::docker::api_error(&e)),
                    }
                }
            }
            let inspect = d.inspect_exec(&exec.id).await.map_err(|e| crate::docker::api_error(&e))?;
            Ok((inspect.exit_code, output))
        };
        tokio::time::timeout(timeout, work).await.unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")))
    });
    match outcome {
        Ok((Some(0), out)) => Probe { passed: true, answer: format!("exit 0: {}", short(&out)) },
        Ok((code, out)) => Probe {
            passed: false,
            answer: format!("exit {}: {}", code.map(|c| c.to_string()).unwrap_or_else(|| "?".into()), short(&out)),
        },
        Err(e) => Probe { passed: false, answer: e },
    }
}

/// The start of an answer, on one line.
fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 120 {
        format!("{}...", one.chars().take(120).collect::<String>())
    } else {
        one
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_ranges() {
        assert_eq!(parse_status("200-399").unwrap(), vec![(200, 399)]);
        assert_eq!(parse_status("200, 204-206").unwrap(), vec![(200, 200), (204, 206)]);
        assert!(parse_status("2xx").is_err());
        assert!(parse_status("399-200").is_err());
        assert!(parse_status("99").is_err());
    }

    #[test]
    fn arguments_are_checked() {
        let args = |v: serde_json::Value| {
            let m = v.as_object().unwrap().clone();
            let a: HealthGateArgs = crate::contract::parse_args(&m).unwrap();
            HealthGate::check_args(&a)
        };
        assert!(args(serde_json::json!({"port": 8080})).is_ok());
        assert!(args(serde_json::json!({"kind": "http"})).unwrap_err().msg.contains("needs port"));
        assert!(args(serde_json::json!({"kind": "exec", "command": "true"})).unwrap_err().msg.contains("container"));
        assert!(args(serde_json::json!({"kind": "udp", "port": 1})).unwrap_err().msg.contains("http, tcp or exec"));
        assert!(args(serde_json::json!({"port": 1, "status": "ok"})).is_err());
        assert!(args(serde_json::json!({"port": 1, "passes": 0})).is_err());
    }

    #[test]
    fn short_answers_stay_on_one_line() {
        assert_eq!(short("a\n b\r\n"), "a b");
        assert!(short(&"x ".repeat(200)).ends_with("..."));
    }
}
