//! `timezone` (community.general.timezone): sets the system timezone and whether the hardware
//! clock keeps local time or UTC. On a host where `timedatectl` works it reads `timedatectl
//! status` and runs `timedatectl set-timezone` / `set-local-rtc`; on a Debian-style host without
//! systemd it edits /etc/timezone and /etc/default/rcS, links /etc/localtime, runs
//! `dpkg-reconfigure tzdata` and `hwclock --systohc`, as community.general's module does. The
//! result's `diff` is the module's before/after dict, as Ansible returns it.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::shell_quote::quote;

/// `timezone` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct TimezoneArgs {
    /// The timezone of the system clock (`Europe/Paris`); a file under /usr/share/zoneinfo.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub name: Option<String>,
    /// Whether the hardware clock keeps `local` time or `UTC`.
    #[serde(default, alias = "rtc")]
    pub hwclock: Option<Hwclock>,
}

/// `hwclock` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, crate::doc::ArgsDoc)]
pub enum Hwclock {
    /// The hardware clock keeps local time.
    #[serde(rename = "local")]
    Local,
    /// The hardware clock keeps UTC.
    #[serde(rename = "UTC")]
    Utc,
}

impl Hwclock {
    fn as_str(self) -> &'static str {
        match self {
            Hwclock::Local => "local",
            Hwclock::Utc => "UTC",
        }
    }
}

/// The `timezone` module.
pub struct Timezone;

/// Marks the probe's sections.
const MARK: &str = "@@ORC-TZ";

/// One round trip reading everything both methods look at.
fn probe(name: Option<&str>) -> String {
    let tz = name.map(|n| quote(&format!("/usr/share/zoneinfo/{n}"))).unwrap_or_else(|| "''".into());
    format!(
        r#"export LC_ALL=C
_orct={tz}
if [ -n "$_orct" ]; then if [ -f "$_orct" ]; then echo '{MARK} tzfile yes'; else echo '{MARK} tzfile no'; fi; fi
for _orcb in timedatectl dpkg-reconfigure hwclock ln; do _orcp=$(command -v "$_orcb" 2>/dev/null) && echo "{MARK} bin $_orcb $_orcp"; done
if command -v timedatectl >/dev/null 2>&1 && _orco=$(timedatectl status 2>/dev/null); then
  echo '{MARK} systemd'; printf '%s\n' "$_orco"
else
  for _orcf in /etc/timezone /etc/default/rcS /etc/adjtime; do
    if [ -r "$_orcf" ]; then echo "{MARK} file $_orcf"; cat "$_orcf"; echo; elif [ -e "$_orcf" ]; then echo "{MARK} unreadable $_orcf"; fi
  done
  if [ -L /etc/localtime ]; then
    if [ -e /etc/localtime ]; then echo "{MARK} localtime link $(readlink /etc/localtime)"; else echo '{MARK} localtime broken'; fi
  elif [ -n "$_orct" ] && cmp -s /etc/localtime "$_orct"; then echo '{MARK} localtime same'
  else echo '{MARK} localtime differs'; fi
fi
"#
    )
}

/// What the probe found.
#[derive(Debug, Default)]
struct Probe {
    tzfile: Option<bool>,
    bins: Map<String, Value>,
    systemd: Option<String>,
    files: Map<String, Value>,
    unreadable: Vec<String>,
    localtime: String,
}

impl Probe {
    fn parse(out: &str) -> Probe {
        let mut p = Probe::default();
        let mut current: Option<(bool, String)> = None; // (is systemd status, file name)
        let mut text = String::new();
        let flush = |p: &mut Probe, current: &mut Option<(bool, String)>, text: &mut String| {
            if let Some((systemd, file)) = current.take() {
                let body = std::mem::take(text);
                if systemd {
                    p.systemd = Some(body);
                } else {
                    // The probe adds one newline after the file's content.
                    let body = body.strip_suffix('\n').unwrap_or(&body).to_string();
                    p.files.insert(file, Value::String(body));
                }
            }
        };
        for line in out.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            let Some(rest) = bare.strip_prefix(MARK).map(str::trim_start) else {
                text.push_str(line);
                continue;
            };
            flush(&mut p, &mut current, &mut text);
            if let Some(v) = rest.strip_prefix("tzfile ") {
                p.tzfile = Some(v == "yes");
            } else if let Some(v) = rest.strip_prefix("bin ") {
                if let Some((name, path)) = v.split_once(' ') {
                    p.bins.insert(name.to_string(), json!(path));
                }
            } else if rest == "systemd" {
                current = Some((true, String::new()));
            } else if let Some(f) = rest.strip_prefix("file ") {
                current = Some((false, f.to_string()));
            } else if let Some(f) = rest.strip_prefix("unreadable ") {
                p.unreadable.push(f.to_string());
            } else if let Some(l) = rest.strip_prefix("localtime ") {
                p.localtime = l.to_string();
            }
        }
        flush(&mut p, &mut current, &mut text);
        p
    }

    fn bin(&self, name: &str) -> Option<&str> {
        self.bins.get(name).and_then(Value::as_str)
    }
}

/// Ansible's `boolean()` on a config value (`yes`, `true`, `1`...).
fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "y" | "yes" | "on" | "1" | "true" | "t" | "1.0")
}

/// The first capture of `re` in `text`.
fn capture(re: &str, text: &str) -> Option<String> {
    regex::Regex::new(re).ok()?.captures(text)?.get(1).map(|m| m.as_str().to_string())
}

/// The module's work: planned values in Ansible's key order (hwclock, then name), messages.
struct Run {
    planned: Vec<(&'static str, String)>,
    msgs: Vec<String>,
}

impl Run {
    /// Fails as Ansible's `abort`: "Error message:" and the messages gathered so far.
    fn abort(&self, msg: &str) -> ModuleError {
        let mut text = format!("Error message:\n{msg}");
        if !self.msgs.is_empty() {
            text.push_str("\nOther message(s):\n");
            text.push_str(&self.msgs.join("\n"));
        }
        ModuleError::msg(text)
    }

    fn planned(&self, key: &str) -> &str {
        self.planned.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// The current value of `key` (`after`: the after phase, where a missing name is an error).
    fn get(&self, p: &Probe, key: &str, after: bool) -> Result<String, ModuleError> {
        if let Some(status) = &p.systemd {
            let re = if key == "hwclock" {
                r"(?m)^\s*RTC in local TZ\s*:\s*(\S+)"
            } else {
                r"(?m)^\s*Time ?zone\s*:\s*(\S+)"
            };
            let v = capture(re, status)
                .ok_or_else(|| self.abort(&format!("could not read {key} from timedatectl status")))?;
            return Ok(if key == "hwclock" { if truthy(&v) { "local" } else { "UTC" }.into() } else { v });
        }
        let planned = self.planned(key);
        if key == "hwclock" {
            let v = self.config(p, "hwclock", after)?;
            return if v == planned { self.config(p, "adjtime", after) } else { Ok(v) };
        }
        let v = self.config(p, "name", after)?;
        if v != planned {
            return Ok(v);
        }
        let lt = p.localtime.as_str();
        Ok(if let Some(target) = lt.strip_prefix("link ") {
            match capture(r"(?:/(?:usr/share|etc)/zoneinfo/)(.*)", target) {
                Some(link) if link != planned => link,
                Some(_) => v,
                None => "n/a".into(),
            }
        } else if lt == "same" {
            v
        } else {
            "n/a".into()
        })
    }

    /// Ansible's `_get_value_from_config` for the Debian-style files.
    fn config(&self, p: &Probe, key: &str, after: bool) -> Result<String, ModuleError> {
        let (file, re) = match key {
            "name" => ("/etc/timezone", r"(?m)^(\S+)"),
            "hwclock" => ("/etc/default/rcS", r"(?m)^UTC\s*=\s*(\S+)"),
            _ => ("/etc/adjtime", r"(?m)^(UTC|LOCAL)$"),
        };
        if p.unreadable.iter().any(|f| f == file) {
            return Err(self.abort(&format!("tried to configure {key} using a file \"{file}\", but could not read it")));
        }
        let missing = match key {
            "adjtime" => "UTC",
            _ => "n/a",
        };
        let Some(text) = p.files.get(file).and_then(Value::as_str) else { return Ok(missing.into()) };
        match capture(re, text) {
            Some(v) => Ok(match key {
                "hwclock" => if truthy(&v) { "UTC" } else { "local" }.into(),
                "adjtime" if v != "UTC" => v.to_lowercase(),
                _ => v,
            }),
            None if key == "name" && after => Err(self.abort(&format!(
                "tried to configure {key} using a file \"{file}\", but could not find a valid value in it"
            ))),
            None => Ok(missing.into()),
        }
    }

    /// All keys' current values, in order.
    fn values(&self, p: &Probe, after: bool) -> Result<Map<String, Value>, ModuleError> {
        let mut m = Map::new();
        for (k, _) in &self.planned {
            m.insert(k.to_string(), json!(self.get(p, k, after)?));
        }
        Ok(m)
    }
}

/// Runs `argv` (check_rc): a failure carries Ansible's `cmd`, `rc`, `stdout`, `stderr`.
fn execute(ctx: &mut ModuleCtx, argv: &[&str]) -> Result<(), ModuleError> {
    let cmd: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let out = ctx.conn.exec(&cmd.join(" "), None)?;
    if out.rc != 0 {
        let (stdout, stderr) = (out.stdout_str(), out.stderr_str());
        let msg = if stderr.trim().is_empty() { stdout.clone() } else { stderr.clone() };
        let r = ModuleResult::failed(msg.trim_end())
            .with("cmd", argv.join(" "))
            .with("rc", out.rc)
            .with("stdout", stdout)
            .with("stderr", stderr);
        return Err(ModuleError::Fail(Box::new(r)));
    }
    Ok(())
}

/// Ansible's `_edit_file`: the first line matching `re` becomes `value` (or `value` goes first),
/// other matching lines are removed; returns the message it logs.
fn edit_file(ctx: &mut ModuleCtx, run: &Run, file: &str, re: &str, value: &str) -> Result<String, ModuleError> {
    let old = ctx.conn.read_file(file)?;
    let text = String::from_utf8_lossy(old.as_deref().unwrap_or_default()).into_owned();
    let re = regex::Regex::new(re).map_err(|e| ModuleError::msg(e.to_string()))?;
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let matched: Vec<usize> = (0..lines.len()).filter(|i| re.is_match(&lines[*i])).collect();
    let at = matched.first().copied().unwrap_or(0);
    for i in matched.iter().rev() {
        lines.remove(*i);
    }
    lines.insert(at, value.to_string());
    crate::fileops::atomic_write(ctx.conn, file, lines.concat().as_bytes(), &Default::default()).map_err(|_| {
        run.abort(&format!("tried to configure {} using a file \"{file}\", but could not write to it", run_key(file)))
    })?;
    Ok(format!("Added 1 line and deleted {} line(s) on {file}", matched.len()))
}

fn run_key(file: &str) -> &'static str {
    if file == "/etc/timezone" {
        "name"
    } else {
        "hwclock"
    }
}

/// Changes `key` to `value` on the host.
fn set(ctx: &mut ModuleCtx, run: &mut Run, p: &Probe, key: &str, value: &str) -> Result<(), ModuleError> {
    if p.systemd.is_some() {
        let tdc = p.bin("timedatectl").unwrap_or("timedatectl").to_string();
        let (sub, arg) = match key {
            "hwclock" => ("set-local-rtc", if value == "local" { "yes" } else { "no" }),
            _ => ("set-timezone", value),
        };
        execute(ctx, &[&tdc, sub, arg])?;
        run.msgs.push(format!("executed `{tdc} {sub} {arg}`"));
        return Ok(());
    }
    if key == "name" {
        let msg = edit_file(ctx, run, "/etc/timezone", r"^(\S+)", &format!("{value}\n"))?;
        run.msgs.push(msg);
        let tzfile = format!("/usr/share/zoneinfo/{value}");
        let ln = p.bin("ln").unwrap_or("ln").to_string();
        execute(ctx, &[&ln, "-sf", &tzfile, "/etc/localtime"])?;
        let dpkg = p.bin("dpkg-reconfigure").unwrap_or("dpkg-reconfigure").to_string();
        execute(ctx, &[&dpkg, "--frontend", "noninteractive", "tzdata"])?;
    } else {
        let (option, utc) = if value == "local" { ("--localtime", "no") } else { ("--utc", "yes") };
        let msg = edit_file(ctx, run, "/etc/default/rcS", r"^UTC\s*=\s*(\S+)", &format!("UTC={utc}\n"))?;
        run.msgs.push(msg);
        let hwclock = p.bin("hwclock").unwrap_or("hwclock").to_string();
        execute(ctx, &[&hwclock, "--systohc", option])?;
        run.msgs.push(format!("executed `{hwclock} --systohc {option}`"));
    }
    Ok(())
}

/// Python's `str()` of a dict of strings, for the "still not desired state" message.
fn py_dict(m: &Map<String, Value>) -> String {
    let items: Vec<String> = m.iter().map(|(k, v)| format!("'{k}': '{}'", v.as_str().unwrap_or_default())).collect();
    format!("{{{}}}", items.join(", "))
}

impl TypedModule for Timezone {
    type Args = TimezoneArgs;
    const NAME: &'static str = "timezone";
    const COLLECTION: &'static str = "community.general";
    const DOC: ModuleText = ModuleText {
        short: "Sets the system timezone and whether the hardware clock keeps local time or UTC.",
        notes: "With systemd (timedatectl works) it uses timedatectl set-timezone and \
                set-local-rtc; on a Debian-style host without systemd it edits /etc/timezone and \
                /etc/default/rcS, links /etc/localtime and runs dpkg-reconfigure tzdata and \
                hwclock --systohc, as community.general's module does. Other hosts without systemd \
                (RHEL's /etc/sysconfig/clock, Alpine, Gentoo, the BSDs, macOS, AIX, SmartOS) are \
                not supported. The result's diff holds the values before and after.",
        returns: &[
            ("diff", "{before: {hwclock?, name?}, after: {...}}: the values before and after the task."),
            ("msg", "The commands run and files edited, when something changed."),
        ],
        example: "- name: Set the timezone\n  community.general.timezone:\n    name: Europe/Paris\n",
    };

    fn check_args(a: &TimezoneArgs) -> Result<(), ArgError> {
        if a.name.is_none() && a.hwclock.is_none() {
            return Err(ArgError { msg: "one of the following is required: hwclock, name".into() });
        }
        Ok(())
    }

    fn run(&self, a: TimezoneArgs, ctx: &mut ModuleCtx) -> RunResult {
        let mut planned = Vec::new();
        if let Some(h) = a.hwclock {
            planned.push(("hwclock", h.as_str().to_string()));
        }
        if let Some(n) = &a.name {
            planned.push(("name", n.clone()));
        }
        let mut run = Run { planned, msgs: Vec::new() };
        let p = Probe::parse(&ctx.conn.exec(&probe(a.name.as_deref()), None)?.stdout_str());
        if p.systemd.is_none() && p.bin("dpkg-reconfigure").is_none() {
            return Err(ModuleError::msg(
                "orc's timezone supports hosts where timedatectl works and Debian-style hosts (dpkg-reconfigure) without systemd",
            ));
        }
        if let (Some(name), Some(false)) = (&a.name, p.tzfile) {
            return Err(run.abort(&format!("given timezone \"{name}\" is not available")));
        }
        if p.systemd.is_none() && p.bin("hwclock").is_none() {
            return Err(ModuleError::msg("Failed to find required executable \"hwclock\" in paths"));
        }
        let before = run.values(&p, false)?;
        let planned: Map<String, Value> = run.planned.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let after = if ctx.check {
            planned.clone()
        } else {
            let changes: Vec<(&'static str, String)> =
                run.planned.iter().filter(|(k, v)| before[*k] != json!(v)).cloned().collect();
            if changes.is_empty() {
                before.clone()
            } else {
                for (k, v) in &changes {
                    set(ctx, &mut run, &p, k, v)?;
                }
                let p2 = Probe::parse(&ctx.conn.exec(&probe(a.name.as_deref()), None)?.stdout_str());
                let after = run.values(&p2, true)?;
                if after != planned {
                    return Err(run.abort(&format!(
                        "still not desired state, though changes have made - planned: {}, after: {}",
                        py_dict(&planned),
                        py_dict(&after)
                    )));
                }
                after
            }
        };
        let (before, after) = (Value::Object(before), Value::Object(after));
        let mut r = ModuleResult::changed(before != after).with("diff", json!({"before": before, "after": after}));
        if ctx.diff {
            r = r.with_diff(FileDiff::structured(&before, &after));
        }
        if !run.msgs.is_empty() {
            r = r.with_msg(run.msgs.join("\n"));
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `timedatectl status` on a Debian 12 lab host.
    const STATUS: &str = "@@ORC-TZ tzfile yes\n@@ORC-TZ bin timedatectl /usr/bin/timedatectl\n@@ORC-TZ systemd\n               Local time: Mon 2026-12-07 02:54:35 UTC\n           Universal time: Mon 2026-12-07 02:54:35 UTC\n                 RTC time: n/a\n                Time zone: Etc/UTC (UTC, +0000)\nSystem clock synchronized: no\n              NTP service: n/a\n          RTC in local TZ: no\n";

    fn run_for(name: Option<&str>, hw: Option<&str>) -> Run {
        let mut planned = Vec::new();
        if let Some(h) = hw {
            planned.push(("hwclock", h.to_string()));
        }
        if let Some(n) = name {
            planned.push(("name", n.to_string()));
        }
        Run { planned, msgs: vec![] }
    }

    #[test]
    fn reads_timedatectl_status() {
        let p = Probe::parse(STATUS);
        assert_eq!(p.tzfile, Some(true));
        assert_eq!(p.bin("timedatectl"), Some("/usr/bin/timedatectl"));
        let run = run_for(Some("Asia/Tokyo"), Some("local"));
        let v = run.values(&p, false).unwrap();
        assert_eq!(Value::Object(v), json!({"hwclock": "UTC", "name": "Etc/UTC"}));
    }

    #[test]
    fn reads_debian_files_without_systemd() {
        let out = "@@ORC-TZ tzfile yes\n@@ORC-TZ bin dpkg-reconfigure /usr/sbin/dpkg-reconfigure\n\
                   @@ORC-TZ file /etc/timezone\nEurope/Paris\n\n@@ORC-TZ file /etc/adjtime\n0.0 0 0.0\n0\nLOCAL\n\n\
                   @@ORC-TZ localtime link /usr/share/zoneinfo/Etc/UTC\n";
        let p = Probe::parse(out);
        assert_eq!(p.files["/etc/timezone"], "Europe/Paris\n");
        // /etc/timezone says the planned zone but /etc/localtime points elsewhere: that one counts.
        let run = run_for(Some("Europe/Paris"), Some("local"));
        let v = run.values(&p, false).unwrap();
        assert_eq!(Value::Object(v), json!({"hwclock": "n/a", "name": "Etc/UTC"}));
        // rcS missing: n/a; planned n/a is not possible, so adjtime is not read.
        let run = run_for(Some("Asia/Tokyo"), None);
        assert_eq!(run.get(&p, "name", false).unwrap(), "Europe/Paris");
    }

    #[test]
    fn errors_read_as_ansibles() {
        let mut run = run_for(Some("x"), None);
        run.msgs.push("executed `a`".into());
        match run.abort("boom") {
            ModuleError::Fail(r) => {
                assert_eq!(r.msg.as_deref(), Some("Error message:\nboom\nOther message(s):\nexecuted `a`"))
            }
            e => panic!("{e:?}"),
        }
        let m: Map<String, Value> = serde_json::from_value(json!({"hwclock": "UTC", "name": "Etc/UTC"})).unwrap();
        assert_eq!(py_dict(&m), "{'hwclock': 'UTC', 'name': 'Etc/UTC'}");
    }
}
