//! `sysctl` (ansible.posix.sysctl): keeps a kernel parameter in a sysctl file (rewriting the file as
//! Ansible does: every `key = value` line becomes `key=value`, duplicates dropped, the key's line
//! replaced in place or appended) and optionally sets it live (`sysctl_set`) and reloads the file.
//! The live value and the file are read in one command.

use serde::Deserialize;
use serde_json::Value;

use crate::builtin::lineinfile::PresentAbsent;
use crate::contract::{ArgError, Decision, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{atomic_write, Attrs};
use crate::shell_quote::quote;

/// `sysctl` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct SysctlArgs {
    /// The parameter (`net.ipv4.ip_forward`).
    #[serde(alias = "key", deserialize_with = "crate::args::string")]
    pub name: String,
    /// Its value; booleans become 1/0 as in Ansible.
    #[serde(default, alias = "val")]
    pub value: Option<Value>,
    /// present or absent (from the file).
    #[serde(default)]
    pub state: PresentAbsent,
    /// Run `sysctl -p FILE` after a change.
    #[serde(default = "crate::args::default_true", deserialize_with = "crate::args::bool")]
    pub reload: bool,
    /// Also set the live value with `sysctl -w`.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub sysctl_set: bool,
    /// Ignore unknown keys (`sysctl -e`).
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub ignoreerrors: bool,
    /// The file holding the setting.
    #[serde(default = "default_file", deserialize_with = "crate::args::string")]
    pub sysctl_file: String,
}

fn default_file() -> String {
    "/etc/sysctl.conf".into()
}

/// The `sysctl` module.
pub struct Sysctl;

/// Ansible's `_parse_value`: booleans and their spellings become `1`/`0`, strings are stripped.
pub fn parse_value(v: &Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.into(),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "1.0" => "1".into(),
            "n" | "no" | "off" | "0" | "false" | "0.0" => "0".into(),
            _ => s.trim().to_string(),
        },
        Some(other) => crate::args::scalar_to_string(other).unwrap_or_default(),
    }
}

/// Ansible's `_values_is_equal`: the same whitespace-separated words.
pub fn values_equal(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// The file's `key=value` settings (last one wins), as Ansible's `read_sysctl_file`.
fn file_value(text: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == name {
                found = Some(v.trim().to_string());
            }
        }
    }
    found
}

/// Ansible's `fix_lines` + `write_sysctl`: the new file text with `name` set to `value`
/// (`Some`) or removed (`None`).
pub fn fix_lines(text: &str, name: &str, value: Option<&str>) -> String {
    let mut checked: Vec<String> = Vec::new();
    let mut out = String::new();
    for line in text.lines().map(str::trim) {
        let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#') && !line.starts_with(';')) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if checked.iter().any(|c| c == k) {
            continue;
        }
        checked.push(k.to_string());
        if k == name {
            if let Some(val) = value {
                out.push_str(&format!("{k}={val}\n"));
            }
        } else {
            out.push_str(&format!("{k}={v}\n"));
        }
    }
    if let Some(val) = value {
        if !checked.iter().any(|c| c == name) {
            out.push_str(&format!("{name}={val}\n"));
        }
    }
    out
}

fn stderr_failed(err: &str) -> bool {
    let re = regex::Regex::new(r#"(?m)^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$"#);
    re.map(|r| r.is_match(err)).unwrap_or(false)
}

const SEP: &str = "__ORC_SEP__";

impl TypedModule for Sysctl {
    type Args = SysctlArgs;
    const NAME: &'static str = "sysctl";
    const TWO_PHASE: bool = true;
    const COLLECTION: &'static str = "ansible.posix";

    const DOC: ModuleText = ModuleText {
        short: "Keeps a kernel parameter in a sysctl file, and optionally sets its live value and reloads the file.",
        notes: "The file is rewritten as ansible.posix does: every `key = value` line becomes `key=value`, later \
                duplicates of a key are dropped, comments and blank lines are kept, and the key is replaced in place \
                or appended. The live value (`sysctl -e -n`) and the file are read in one command. With `reload` \
                (the default) `sysctl -p FILE` runs after a change, and a file that is already right still counts as \
                a change when the live value differs. `sysctl_set` also runs `sysctl -w` when the live value \
                differs. In most containers /proc/sys is read-only: use `reload: false` there. Check mode reports \
                without changing anything. Only `changed` is returned, as in Ansible.",
        returns: &[],
        example: "- name: Enable IP forwarding\n  \
                  ansible.posix.sysctl:\n    \
                  name: net.ipv4.ip_forward\n    \
                  value: \"1\"\n    \
                  sysctl_file: /etc/sysctl.d/90-forwarding.conf\n",
    };

    fn check_args(a: &SysctlArgs) -> Result<(), ArgError> {
        if a.name.trim().is_empty() {
            return Err(ArgError { msg: "name cannot be blank".into() });
        }
        if a.state == PresentAbsent::Present {
            if a.value.as_ref().is_none_or(Value::is_null) {
                return Err(ArgError { msg: "state is present but all of the following are missing: value".into() });
            }
            if parse_value(&a.value).is_empty() {
                return Err(ArgError { msg: "value cannot be blank".into() });
            }
        }
        if let Some(v) = &a.value {
            if v.is_array() || v.is_object() {
                return Err(ArgError { msg: "value must be a string or a number".into() });
            }
        }
        Ok(())
    }

    fn decide(&self, a: &SysctlArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let name = a.name.trim().to_string();
        let value = parse_value(&a.value);
        let qf = quote(&a.sysctl_file);
        let query = format!(
            "readlink -f -- {qf} || echo {qf}; echo {SEP}; LC_ALL=C sysctl -e -n {qn} 2>/dev/null; r=$?; echo \"{SEP} $r\"; \
             if [ -f {qf} ]; then cat -- {qf}; fi",
            qn = quote(&name)
        );
        let out = ctx.conn.exec(&query, None)?.stdout_str();
        let (real, rest) = out.split_once(&format!("{SEP}\n")).unwrap_or(("", ""));
        let real = match real.trim() {
            "" => a.sysctl_file.clone(),
            r => r.to_string(),
        };
        let (proc_out, rest) = rest.split_once(&format!("{SEP} ")).unwrap_or((rest, ""));
        let (rc, file_text) = rest.split_once('\n').unwrap_or((rest, ""));
        let proc_value = (rc.trim() == "0").then(|| proc_out.to_string());
        let current = file_value(file_text, &name);
        let present = a.state == PresentAbsent::Present;

        let mut changed = false;
        let mut write_file = false;
        let mut set_proc = false;
        match (&current, present) {
            (None, true) => (changed, write_file) = (true, true),
            (None, false) => {}
            (Some(v), false) if !v.is_empty() => (changed, write_file) = (true, true),
            // Exact, as ansible.posix (`file_values[name] != value`): a value spaced differently in
            // the file is rewritten once; only the live value is compared word by word.
            (Some(v), _) if *v != value => (changed, write_file) = (true, true),
            // With reload, a file already right still changes when the live value differs.
            _ if a.reload && proc_value.as_deref().is_none_or(|p| !values_equal(p, &value)) => changed = true,
            _ => {}
        }
        if a.sysctl_set && present {
            match &proc_value {
                None => changed = true,
                Some(p) if !values_equal(p, &value) => (changed, set_proc) = (true, true),
                _ => {}
            }
        }
        let mut observed = serde_json::Map::new();
        observed.insert("file".into(), real.clone().into());
        observed.insert("file_value".into(), current.map_or(Value::Null, Value::from));
        observed.insert("live_value".into(), proc_value.map_or(Value::Null, |p| p.trim().to_string().into()));
        let new_text = write_file.then(|| fix_lines(file_text, &name, present.then_some(value.as_str())));
        let action = SysctlAction { name, value, file: real, new_text, set_proc };
        Ok(Decision { result: ModuleResult::changed(changed), observed, action: Box::new(action) })
    }

    fn apply(&self, a: SysctlArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (result, act) = decision.take_action::<SysctlAction>(Self::NAME)?;
        let SysctlAction { name, value, file, new_text, set_proc } = act;
        let e = if a.ignoreerrors { "-e " } else { "" };
        if set_proc {
            let o = ctx.conn.exec(&format!("LC_ALL=C sysctl {e}-w {}", quote(&format!("{name}={value}"))), None)?;
            let err = o.stderr_str();
            if o.rc != 0 || stderr_failed(&err) {
                return Err(ModuleError::msg(format!("setting {name} failed: {}{err}", o.stdout_str())));
            }
        }
        if let Some(new) = new_text {
            atomic_write(ctx.conn, &file, new.as_bytes(), &Attrs::default()).map_err(ModuleError::msg)?;
        }
        if result.changed && a.reload {
            let o = ctx.conn.exec(&format!("LC_ALL=C sysctl {e}-p {}", quote(&a.sysctl_file)), None)?;
            let err = o.stderr_str();
            if o.rc != 0 || stderr_failed(&err) {
                return Err(ModuleError::msg(format!("Failed to reload sysctl: {}{err}", o.stdout_str())));
            }
        }
        Ok(result)
    }
}

/// What sysctl decided: the live value to set and the file's new text, if either changes.
struct SysctlAction {
    name: String,
    value: String,
    file: String,
    new_text: Option<String>,
    set_proc: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_coerce_like_ansible() {
        assert_eq!(parse_value(&Some(json!(true))), "1");
        assert_eq!(parse_value(&Some(json!("yes"))), "1");
        assert_eq!(parse_value(&Some(json!(0))), "0");
        assert_eq!(parse_value(&Some(json!(" 4096 87380 "))), "4096 87380");
        assert_eq!(parse_value(&Some(json!(65535))), "65535");
        assert!(values_equal("4096\t87380\n", "4096 87380"));
        assert!(!values_equal("1\n", "0"));
    }

    #[test]
    fn file_is_rewritten_as_ansible_does() {
        let text = "# comment\n  net.a = 1\n\nnet.b=2\nnet.a=3\n; other\n";
        assert_eq!(file_value(text, "net.a").as_deref(), Some("3"));
        assert_eq!(fix_lines(text, "net.b", Some("5")), "# comment\nnet.a=1\n\nnet.b=5\n; other\n");
        assert_eq!(fix_lines(text, "net.c", Some("1")), "# comment\nnet.a=1\n\nnet.b=2\n; other\nnet.c=1\n");
        assert_eq!(fix_lines(text, "net.a", None), "# comment\n\nnet.b=2\n; other\n");
        assert_eq!(fix_lines("", "k", Some("v")), "k=v\n");
    }

    #[test]
    fn a_file_value_spaced_differently_is_rewritten_once() {
        // ansible.posix compares the file's value with `!=` (only the live value is compared word by
        // word): `32768  60999` is rewritten to the value given, and the next run changes nothing.
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let f = sb.write("sysctl.conf", "net.ipv4.ip_local_port_range = 32768  60999\n");
        let args =
            json!({"name": "net.ipv4.ip_local_port_range", "value": "32768 60999", "sysctl_file": f, "reload": false});
        assert!(sb.ok(&Sysctl, args.clone()).changed);
        assert_eq!(sb.read("sysctl.conf"), "net.ipv4.ip_local_port_range=32768 60999\n");
        assert!(!sb.ok(&Sysctl, args).changed);
    }

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = crate::builtin::test_support::Sandbox::new();
        let f = sb.write("sysctl.conf", "net.a = 1\n");
        let args = json!({"name": "net.a", "value": "2", "sysctl_file": f, "reload": false, "sysctl_set": false});
        let d = sb.decide(&Sysctl, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed.get("file_value"), Some(&json!("1")));
        assert_eq!(sb.read("sysctl.conf"), "net.a = 1\n", "decide wrote to the host");
        assert!(sb.apply(&Sysctl, &args, d).changed);
        assert_eq!(sb.read("sysctl.conf"), "net.a=2\n");
        let again = sb.decide(&Sysctl, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed.get("file_value"), Some(&json!("2")));
    }

    #[test]
    fn sysctl_errors_are_recognised() {
        assert!(stderr_failed("sysctl: setting key \"net.ipv4.ip_forward\": Read-only file system\n"));
        assert!(!stderr_failed("net.ipv4.ip_forward = 1\n"));
    }
}
