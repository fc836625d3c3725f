//! `pause`: waits a number of seconds or minutes on the controller. Without a duration Ansible
//! waits for Enter at a terminal; with stdin not a terminal (CI, a pipe) it warns and goes on at
//! once, and so does orc. Waiting for a key press at a terminal is not supported yet: the task
//! fails saying so rather than going on unasked.

use std::io::IsTerminal;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Map, Value};

use super::{fail, ActionResult, Arg, Call, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `pause: seconds=N` / `minutes=N` / `prompt=...`.
#[derive(Debug)]
pub struct Pause;

/// The arguments, checked when the task runs (not up front) so that a wrong one fails the task
/// with Ansible's message, as its argument spec does.
const ARGS: &[Arg] = &[
    ("echo", false, "Whether typed input is shown (default true)."),
    ("minutes", false, "Minutes to wait (exclusive with seconds)."),
    ("prompt", false, "The text shown while waiting."),
    ("seconds", false, "Seconds to wait (exclusive with minutes); less than 1 waits 1."),
];

const WARNING: &str = "Not waiting for response to prompt as stdin is not interactive";

impl EngineAction for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        // Any names: an unsupported one fails the task at run time (see `validate`).
        None
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Waits a number of seconds or minutes on the controller, once for all hosts.",
            notes: "Arguments: seconds, minutes (exclusive), prompt, echo. Without a duration and with \
                    stdin not a terminal it warns and goes on at once, as Ansible does; waiting for \
                    Enter at a terminal is not supported yet.",
            returns: &[
                ("stdout", "`Paused for N seconds` (or minutes)."),
                ("delta", "Whole seconds waited."),
                ("start", "When the wait started."),
                ("stop", "When it ended."),
                ("user_input", "Always empty."),
            ],
            example: "- ansible.builtin.pause:\n    seconds: 30\n",
        }
    }

    fn fails_bare(&self) -> bool {
        true
    }

    fn bypasses_host_loop(&self) -> bool {
        true
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let a = validate(call.args).map_err(fail)?;
        let (seconds, unit) = match (a.minutes, a.seconds) {
            (Some(m), _) => (Some(m.saturating_mul(60)), "minutes"),
            (None, Some(s)) => (Some(s), "seconds"),
            (None, None) => (None, "minutes"),
        };
        let mut warnings = Vec::new();
        let start_wall = SystemTime::now();
        let start = Instant::now();
        match seconds {
            Some(s) => std::thread::sleep(Duration::from_secs(s.max(1).unsigned_abs())),
            None if std::io::stdin().is_terminal() => {
                return Err(fail(
                    "pause: waiting for Enter at a terminal is not supported yet; give seconds or minutes",
                ))
            }
            None => warnings.push(Value::String(WARNING.into())),
        }
        let elapsed = start.elapsed().as_secs_f64();
        let shown = if unit == "minutes" { elapsed / 60.0 } else { elapsed };
        let mut result = json!({
            "changed": false,
            "failed": false,
            "rc": 0,
            "stderr": "",
            "stdout": format!("Paused for {:?} {unit}", (shown * 100.0).round() / 100.0),
            "start": stamp(start_wall),
            "stop": stamp(SystemTime::now()),
            "delta": elapsed as u64,
            "echo": a.echo,
            "user_input": "",
        });
        if !warnings.is_empty() {
            result["warnings"] = Value::Array(warnings);
        }
        Ok((Status::Ok, result))
    }
}

/// The arguments, converted.
#[derive(Debug, PartialEq)]
struct PauseArgs {
    seconds: Option<i64>,
    minutes: Option<i64>,
    echo: bool,
}

/// Checks and converts the arguments the way Ansible's argument spec for pause does (`int` for
/// the durations, so 0.1 becomes 0), with its messages.
fn validate(args: &Map<String, Value>) -> Result<PauseArgs, String> {
    let unknown: Vec<&str> = args.keys().map(String::as_str).filter(|k| !ARGS.iter().any(|(n, _, _)| n == k)).collect();
    if !unknown.is_empty() {
        return Err(format!(
            "Unsupported parameters for (pause) module: {}. Supported parameters include: echo, minutes, prompt, seconds.",
            unknown.join(", ")
        ));
    }
    let given = |k: &str| args.get(k).filter(|v| !v.is_null());
    if given("minutes").is_some() && given("seconds").is_some() {
        return Err("parameters are mutually exclusive: minutes|seconds".into());
    }
    let echo = match given("echo") {
        None => true,
        Some(v) => orc_modules::args::parse_bool(v).ok_or_else(|| {
            format!(
                "argument 'echo' is of type {} and we were unable to convert to bool: The value {} is not a valid \
                 boolean. Valid booleans include: 0, 1, 'f', '0', 'on', 'false', 'yes', 'y', 'off', 'no', 't', '1', \
                 'n', 'true'",
                crate::output::pyrepr::py_type(v),
                crate::output::pyrepr::repr(v)
            )
        })?,
    };
    Ok(PauseArgs {
        seconds: given("seconds").map(|v| to_int("seconds", v)).transpose()?,
        minutes: given("minutes").map(|v| to_int("minutes", v)).transpose()?,
        echo,
    })
}

/// Python's `int(v)`: a float is truncated, a string must hold a whole number.
fn to_int(name: &str, v: &Value) -> Result<i64, String> {
    let fail = |why: String| {
        format!(
            "argument '{name}' is of type {} and we were unable to convert to int: {why}",
            crate::output::pyrepr::py_type(v)
        )
    };
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f.trunc() as i64))
            .ok_or_else(|| fail(format!("{n} is out of range"))),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| fail(format!("invalid literal for int() with base 10: {}", crate::output::pyrepr::repr(v)))),
        _ => Err(fail(format!(
            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
            crate::output::pyrepr::py_type(v)
        ))),
    }
}

/// Python's `str(datetime)` form, `YYYY-MM-DD HH:MM:SS.ffffff` (UTC).
fn stamp(t: SystemTime) -> String {
    let micros = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_micros()).unwrap_or(0);
    format!("{}.{micros:06}", crate::output::junit::timestamp(t).replace('T', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn arguments_convert_and_fail_with_ansibles_messages() {
        assert_eq!(
            validate(&args(json!({"seconds": 0.1}))),
            Ok(PauseArgs { seconds: Some(0), minutes: None, echo: true })
        );
        assert_eq!(
            validate(&args(json!({"minutes": "2", "echo": "no"}))),
            Ok(PauseArgs { seconds: None, minutes: Some(2), echo: false })
        );
        let err = |v| validate(&args(v)).unwrap_err();
        assert!(err(json!({"seconds": "hello"}))
            .contains("unable to convert to int: invalid literal for int() with base 10: 'hello'"));
        assert!(err(json!({"echo": "hello"})).contains("The value 'hello' is not a valid boolean"));
        assert_eq!(err(json!({"minutes": 1, "seconds": 1})), "parameters are mutually exclusive: minutes|seconds");
        assert!(err(json!({"foo": "bar"})).starts_with("Unsupported parameters for (pause) module: foo."));
    }
}
