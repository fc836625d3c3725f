//! `wait_for`: waits, on the managed host, for a TCP port to accept connections (or stop, or drain)
//! or for a file to appear (optionally containing a regex match) or disappear.
//!
//! The polling loop runs on the host as one shell script (one round trip): ports are probed with
//! bash's `/dev/tcp`, else `nc -z`, else (for local addresses) the listen table in /proc/net/tcp.
//! A `search_regex` on a file is pre-checked with `grep -P` (or `-E`) on the host and confirmed
//! here with Python-compatible semantics, which also yields `match_groups`/`match_groupdict`.

use std::time::Instant;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::contract::{ArgError, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::sh_words::ShWords;
use crate::shell_quote::quote;

/// `wait_for` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct WaitForArgs {
    /// Host to connect to for port checks, resolved on the managed host.
    #[serde(default = "localhost", deserialize_with = "crate::args::string")]
    pub host: String,
    /// Seconds to wait in total.
    #[serde(default = "default_timeout", deserialize_with = "u64_arg")]
    pub timeout: u64,
    /// Seconds one connection attempt may take.
    #[serde(default = "default_connect_timeout", deserialize_with = "u64_arg")]
    pub connect_timeout: u64,
    /// Seconds to wait before the first check.
    #[serde(default, deserialize_with = "u64_arg")]
    pub delay: u64,
    /// TCP port to check.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub port: Option<u64>,
    /// TCP states counted as active for `state: drained`.
    #[serde(default = "default_states", deserialize_with = "crate::args::list")]
    pub active_connection_states: Vec<String>,
    /// File to check.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub path: Option<String>,
    /// Regex the file's (or the port's banner's) content must match.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub search_regex: Option<String>,
    /// started/present (wait for it), stopped/absent (wait for it to go), drained (no active
    /// connections on the port).
    #[serde(default = "started", deserialize_with = "crate::args::string")]
    pub state: String,
    /// Remote addresses whose connections do not count for `drained`.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub exclude_hosts: Option<Vec<String>>,
    /// Seconds between checks.
    #[serde(default = "one", deserialize_with = "u64_arg")]
    pub sleep: u64,
    /// Message on timeout instead of the default one.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub msg: Option<String>,
}

fn localhost() -> String {
    "127.0.0.1".into()
}
fn default_timeout() -> u64 {
    300
}
fn default_connect_timeout() -> u64 {
    5
}
fn one() -> u64 {
    1
}
fn started() -> String {
    "started".into()
}
fn default_states() -> Vec<String> {
    ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "SYN_RECV", "SYN_SENT", "TIME_WAIT"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn u64_arg<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    crate::args::opt_u64(d).map(|v| v.unwrap_or(0))
}

/// Linux's TCP state numbers, as /proc/net/tcp prints them.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];

/// The `wait_for` module.
pub struct WaitFor;

impl TypedModule for WaitFor {
    type Args = WaitForArgs;
    const NAME: &'static str = "wait_for";

    const DOC: ModuleText = ModuleText {
        short: "Waits on the host for a TCP port to accept connections (or to close, or to drain), or for a file to \
                appear (optionally containing a match of a regular expression) or to disappear.",
        notes: "The polling loop runs on the host as one shell script, so `host` is resolved and reached from the \
                managed host. Ports are probed with bash's /dev/tcp, else `nc -z`, else (local addresses only) \
                /proc/net/tcp; `drained` reads /proc/net/tcp. A `search_regex` is tried with grep on the host and, \
                for a file, confirmed with Python's regex rules, which gives `match_groups`. With neither `port` nor \
                `path` it sleeps for `timeout` seconds. Never reports a change. Check mode: skipped, as in Ansible.",
        returns: &[
            ("elapsed", "Seconds waited."),
            ("state, port, path, search_regex", "The arguments, as given."),
            ("match_groups, match_groupdict", "With `path` and `search_regex`: the groups of the match."),
            ("mode, owner, group, uid, gid, size", "With `path`, for a file that exists: its attributes."),
        ],
        example: "- name: Wait for the app to listen\n  \
                  ansible.builtin.wait_for:\n    \
                  port: 8080\n    \
                  timeout: 60\n",
    };

    fn check_args(a: &WaitForArgs) -> Result<(), ArgError> {
        let err = |m: &str| Err(ArgError { msg: m.to_string() });
        if !["absent", "drained", "present", "started", "stopped"].contains(&a.state.as_str()) {
            return Err(ArgError {
                msg: format!(
                    "value of state must be one of: absent, drained, present, started, stopped, got: {}",
                    a.state
                ),
            });
        }
        if a.port.is_some() && a.path.is_some() {
            return err("port and path parameter can not both be passed to wait_for");
        }
        if a.path.is_some() && a.state == "stopped" {
            return err("state=stopped should only be used for checking a port in the wait_for module");
        }
        if a.path.is_some() && a.state == "drained" {
            return err("state=drained should only be used for checking a port in the wait_for module");
        }
        if a.exclude_hosts.is_some() && a.state != "drained" {
            return err("exclude_hosts should only be with state=drained");
        }
        for s in &a.active_connection_states {
            if !TCP_STATES.iter().any(|(n, _)| n == s) {
                return Err(ArgError { msg: format!("unknown active_connection_state ({s}) defined") });
            }
        }
        if let Some(re) = &a.search_regex {
            py_regex(re).map_err(|e| ArgError { msg: e })?;
        }
        Ok(())
    }

    fn run(&self, a: WaitForArgs, ctx: &mut ModuleCtx) -> RunResult {
        if ctx.check {
            // Ansible's wait_for does not support check mode: the task is skipped.
            let mut r = ModuleResult::ok().with_msg("remote module (wait_for) does not support check mode");
            r.skipped = true;
            return Ok(r);
        }
        let started_at = Instant::now();
        let regex = match &a.search_regex {
            Some(r) => Some(py_regex(r).map_err(ModuleError::msg)?),
            None => None,
        };
        let mut delay = a.delay;
        let mut groups = (Value::Array(vec![]), Value::Object(Map::new()));
        loop {
            let remaining = a.timeout.saturating_sub(started_at.elapsed().as_secs());
            let script = build_script(&a, delay, remaining);
            let out = ctx.conn.exec(&script, None)?;
            let text = out.stdout_str();
            let (status, mut body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
            let mut info = Vec::new();
            if let Some(rest) = body.strip_prefix("@@I") {
                let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
                info = path_info(line);
                body = after;
            }
            let elapsed = started_at.elapsed().as_secs();
            match status.trim() {
                "@@ORC ok" => {
                    // A path match found by grep is confirmed with Python's regex semantics.
                    if let (Some(re), Some(_)) = (&regex, &a.path) {
                        match re.captures(body) {
                            Some(c) => groups = match_groups(re, &c),
                            None if elapsed < a.timeout => {
                                delay = a.sleep;
                                continue;
                            }
                            None => return Err(timeout_error(&a, elapsed)),
                        }
                    }
                    let (mg, mgd) = groups;
                    let mut r = ModuleResult::ok()
                        .with("state", a.state.clone())
                        .with("port", a.port)
                        .with("search_regex", a.search_regex.clone())
                        .with("match_groups", mg)
                        .with("match_groupdict", mgd)
                        .with("path", a.path.clone())
                        .with("elapsed", elapsed);
                    for (k, v) in info {
                        r = r.with(k, v);
                    }
                    return Ok(r);
                }
                "@@ORC timeout" => return Err(timeout_error(&a, elapsed)),
                _ => {
                    return Err(ModuleError::msg(format!(
                        "wait_for: unexpected output from the host (rc {}): {}{}",
                        out.rc,
                        text.trim(),
                        out.stderr_str().trim()
                    )))
                }
            }
        }
    }
}

/// Python's `re.compile(pattern, re.MULTILINE)`, as far as the regex crate can express it.
fn py_regex(re: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&format!("(?m){}", crate::pyre::translate(re)))
        .map_err(|e| format!("Invalid regular expression: {e}"))
}

fn match_groups(re: &regex::Regex, c: &regex::Captures) -> (Value, Value) {
    let groups: Vec<Value> =
        (1..c.len()).map(|i| c.get(i).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null)).collect();
    let mut dict = Map::new();
    for name in re.capture_names().flatten() {
        dict.insert(name.to_string(), c.name(name).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null));
    }
    (Value::Array(groups), Value::Object(dict))
}

fn timeout_error(a: &WaitForArgs, elapsed: u64) -> ModuleError {
    let host = &a.host;
    let default = match (&a.port, &a.path, a.state.as_str()) {
        (Some(p), _, "stopped" | "absent") => {
            format!("Timeout when waiting for {host}:{p} to stop.")
        }
        (_, Some(path), "stopped" | "absent") => {
            format!("Timeout when waiting for {path} to be absent.")
        }
        (p, _, "drained") => format!(
            "Timeout when waiting for {host}:{} to drain",
            p.map(|p| p.to_string()).unwrap_or_else(|| "None".into())
        ),
        (Some(p), _, _) => match &a.search_regex {
            Some(re) => format!("Timeout when waiting for search string {re} in {host}:{p}"),
            None => format!("Timeout when waiting for {host}:{p}"),
        },
        (_, Some(path), _) => match &a.search_regex {
            Some(re) => format!("Timeout when waiting for search string {re} in {path}"),
            None => format!("Timeout when waiting for file {path}"),
        },
        _ => "Timeout".to_string(),
    };
    ModuleError::Fail(Box::new(ModuleResult::failed(a.msg.clone().unwrap_or(default)).with("elapsed", elapsed)))
}

/// /proc/net/tcp's hex form of an IPv4 (or IPv6) address, for `exclude_hosts`.
fn proc_net_hex(addr: &str) -> Option<String> {
    match addr.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            Some(format!("{:02X}{:02X}{:02X}{:02X}", o[3], o[2], o[1], o[0]))
        }
        std::net::IpAddr::V6(v6) => {
            let o = v6.octets();
            Some(o.chunks(4).map(|w| format!("{:02X}{:02X}{:02X}{:02X}", w[3], w[2], w[1], w[0])).collect())
        }
    }
}

/// Prints what Ansible's `add_path_info` adds to a result naming an existing path: one line
/// `@@I uid|gid|owner|group|mode|size|state`.
const PATH_INFO: &str = "if [ -e \"$_f\" ]; then if [ -L \"$_f\" ]; then _t=link; elif [ -d \"$_f\" ]; then _t=directory; elif [ \"$(stat -L -c %h -- \"$_f\")\" -gt 1 ]; then _t=hard; else _t=file; fi; printf '@@I %s|%s\\n' \"$(stat -c '%u|%g|%U|%G|%a|%s' -- \"$_f\")\" \"$_t\"; else echo '@@I'; fi; ";

/// Ansible's `add_path_info` fields from a `@@I` line.
fn path_info(line: &str) -> Vec<(&'static str, Value)> {
    let f: Vec<&str> = line.trim_start_matches("@@I").trim().split('|').collect();
    if f.len() != 7 {
        return vec![];
    }
    let uid: u64 = f[0].parse().unwrap_or(0);
    let gid: u64 = f[1].parse().unwrap_or(0);
    let name = |n: &str, id: u64| {
        if n == "UNKNOWN" {
            id.to_string()
        } else {
            n.to_string()
        }
    };
    let mode = u32::from_str_radix(f[4], 8).unwrap_or(0);
    vec![
        ("uid", uid.into()),
        ("gid", gid.into()),
        ("owner", name(f[2], uid).into()),
        ("group", name(f[3], gid).into()),
        ("mode", format!("0{mode:03o}").into()),
        ("state", f[6].into()),
        ("size", f[5].parse::<u64>().unwrap_or(0).into()),
    ]
}

/// The remote polling loop. Prints `@@ORC ok` (then, for a path with a regex, the file's text),
/// or `@@ORC timeout`.
fn build_script(a: &WaitForArgs, delay: u64, timeout: u64) -> String {
    let mut w = ShWords::default();
    let path = a.path.as_ref().map(|p| w.word(p, true, false));
    let mut s = w.prelude.clone();
    s += &format!(
        "_h={h}; _p={p}; _ct={ct}; _re={re}\n",
        h = quote(&a.host),
        p = a.port.map(|p| p.to_string()).unwrap_or_default(),
        ct = a.connect_timeout.max(1),
        re = quote(a.search_regex.as_deref().unwrap_or("")),
    );
    if let Some(p) = &path {
        s += &format!("_f={p}\n");
    }
    s += "_start=$(date +%s)\n";
    if delay > 0 {
        s += &format!("sleep {delay}\n");
    }
    if a.port.is_none() && a.path.is_none() && a.state != "drained" {
        s += &format!("sleep {timeout}\necho '@@ORC ok'\nexit 0\n");
        return s;
    }
    s += "if echo x | grep -P x >/dev/null 2>&1; then _g=-P; else _g=-E; fi\n";
    s += "if command -v timeout >/dev/null 2>&1; then _to=\"timeout $_ct\"; else _to=; fi\n";
    // _conn: can we connect to host:port? _banner: what the port sends within connect_timeout.
    s += r#"_conn() {
  if command -v bash >/dev/null 2>&1; then $_to bash -c ': </dev/tcp/$1/$2' "$_h" "$_h" "$_p" 2>/dev/null; return; fi
  if command -v nc >/dev/null 2>&1; then nc -z -w "$_ct" "$_h" "$_p" 2>/dev/null; return; fi
  case $_h in 127.*|localhost|0.0.0.0|::1) _hx=$(printf '%04X' "$_p"); cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$_hx" '$4 == "0A" && substr($2, length($2)-4) == p {f=1} END {exit !f}';; *) return 2;; esac
}
_banner() {
  if command -v bash >/dev/null 2>&1; then $_to bash -c 'exec 3</dev/tcp/$1/$2 || exit 1; while IFS= read -r -t "$3" l <&3; do printf "%s\n" "$l"; done; printf %s "$l"' "$_h" "$_h" "$_p" "$_ct" 2>/dev/null; return 0; fi
  if command -v nc >/dev/null 2>&1; then nc -w "$_ct" "$_h" "$_p" </dev/null 2>/dev/null; fi
}
"#;
    let probe = match (a.state.as_str(), &a.port, &a.path, &a.search_regex) {
        ("started" | "present", Some(_), _, None) => "_conn".to_string(),
        ("started" | "present", Some(_), _, Some(_)) => "_banner | grep -q $_g -- \"$_re\"".to_string(),
        ("started" | "present", None, Some(_), None) => "[ -e \"$_f\" ]".to_string(),
        ("started" | "present", None, Some(_), Some(_)) => {
            "{ [ -r \"$_f\" ] && grep -q $_g -- \"$_re\" \"$_f\" 2>/dev/null; }".to_string()
        }
        ("stopped" | "absent", Some(_), _, _) => "! _conn".to_string(),
        ("stopped" | "absent", None, Some(_), _) => "[ ! -e \"$_f\" ]".to_string(),
        (_, _, _, _) => {
            // drained: no connection on the port in an active state (from a non-excluded host).
            let states: Vec<&str> = a
                .active_connection_states
                .iter()
                .filter_map(|n| TCP_STATES.iter().find(|(s, _)| s == n).map(|x| x.1))
                .collect();
            let excl: Vec<String> = a.exclude_hosts.iter().flatten().filter_map(|h| proc_net_hex(h)).collect();
            format!(
                "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=\":$(printf '%04X' \"${{_p:-0}}\")\" -v st={} -v ex={} 'BEGIN {{ns=split(st, S, \",\"); nx=split(ex, X, \",\")}} NR>0 && $2 ~ p\"$\" {{ ok=0; for (i=1;i<=ns;i++) if ($4==S[i]) ok=1; split($3, r, \":\"); for (i=1;i<=nx;i++) if (r[1]==X[i]) ok=0; if (ok) n++ }} END {{exit n>0}}'",
                quote(&states.join(",")),
                quote(&excl.join(","))
            )
        }
    };
    s += &format!(
        "_end=$((_start + {timeout}))\nwhile [ \"$(date +%s)\" -lt \"$_end\" ]; do\n  if {probe}; then echo '@@ORC ok'; {cat}exit 0; fi\n  sleep {sleep}\ndone\necho '@@ORC timeout'\n",
        cat = match (&a.path, &a.search_regex) {
            (Some(_), Some(_)) => format!("{PATH_INFO}cat -- \"$_f\"; "),
            (Some(_), None) => PATH_INFO.to_string(),
            _ => String::new(),
        },
        sleep = a.sleep,
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::command::tests::run_module;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn waits_for_a_file_that_appears_later() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ready");
        let f2 = f.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            std::fs::write(&f2, "booting\nlistening on port 8080\n").unwrap();
        });
        let r = run_module(&WaitFor, json!({"path": f, "search_regex": "port (?P<port>\\d+)", "timeout": 10}), false)
            .unwrap();
        t.join().unwrap();
        assert_eq!(r["changed"], false);
        assert_eq!(r["match_groups"], json!(["8080"]));
        assert_eq!(r["match_groupdict"], json!({"port": "8080"}));
        assert_eq!(r["path"], f.to_str().unwrap());
        // Ansible's add_path_info: the existing path's facts, `state` becomes its type.
        assert_eq!(r["state"], "file");
        assert_eq!(r["size"], 31);
        assert!(r["mode"].as_str().unwrap().starts_with('0'));
        assert!(r["elapsed"].as_u64().unwrap() >= 1, "{r}");
        assert!(r["elapsed"].as_u64().unwrap() < 10, "{r}");
    }

    #[test]
    fn waits_for_a_file_to_go_away() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("lock");
        std::fs::write(&f, "").unwrap();
        let f2 = f.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(800));
            std::fs::remove_file(&f2).unwrap();
        });
        let r = run_module(&WaitFor, json!({"path": f, "state": "absent", "timeout": 10}), false).unwrap();
        t.join().unwrap();
        assert_eq!(r["state"], "absent");
    }

    #[test]
    fn waits_for_a_port_and_for_it_to_stop() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let r = run_module(&WaitFor, json!({"port": port, "timeout": 5}), false).unwrap();
        assert_eq!(r["port"], port);
        assert_eq!(r["elapsed"], 0);
        drop(l);
        let r = run_module(&WaitFor, json!({"port": port, "state": "stopped", "timeout": 5}), false).unwrap();
        assert_eq!(r["state"], "stopped");
    }

    #[test]
    fn finds_a_port_banner_on_a_host_without_timeout() {
        use crate::contract::Module;
        use std::io::Write;
        // A server that greets and keeps the connection open, as sshd does.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = vec![];
            for s in l.incoming().flatten() {
                let mut s = s;
                let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n");
                held.push(s);
            }
        });
        let bin = crate::builtin::test_support::path_with_only(&[
            "sh", "bash", "cat", "grep", "date", "sleep", "awk", "stat",
        ]);
        let mut conn = crate::testing::ShConnection {
            env: vec![("PATH".into(), bin.path().display().to_string())],
            ..Default::default()
        };
        let ctl = crate::testing::DirController { root: ".".into() };
        let mut ctx = ModuleCtx { conn: &mut conn, check: false, diff: false, controller: &ctl };
        let args = json!({"port": port, "search_regex": "OpenSSH", "timeout": 6, "connect_timeout": 1});
        let r = Module::run(&WaitFor, args.as_object().unwrap(), &mut ctx);
        assert!(r.is_ok(), "{:?}", r.err());
    }

    #[test]
    fn times_out_with_ansibles_message() {
        // Bind then drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (r, _) =
            run_module(&WaitFor, json!({"port": port, "timeout": 2, "connect_timeout": 1}), false).unwrap_err();
        assert_eq!(r["msg"], format!("Timeout when waiting for 127.0.0.1:{port}"));
        assert_eq!(r["failed"], true);
        assert!(r["elapsed"].as_u64().unwrap() >= 1, "{r}");
        let (r, _) = run_module(&WaitFor, json!({"path": "/nonexistent-orc/x", "timeout": 1, "msg": "no file"}), false)
            .unwrap_err();
        assert_eq!(r["msg"], "no file");
    }

    #[test]
    fn check_mode_skips_as_ansible() {
        let r = run_module(&WaitFor, json!({"path": "/nonexistent-orc", "timeout": 60}), true).unwrap();
        assert_eq!(r["skipped"], true);
        assert_eq!(r["msg"], "remote module (wait_for) does not support check mode");
    }

    #[test]
    fn argument_rules() {
        use crate::contract::Module;
        let m = |v: Value| -> Map<String, Value> { serde_json::from_value(v).unwrap() };
        assert!(WaitFor.validate(&m(json!({"port": 1, "path": "/x"}))).is_err());
        assert!(WaitFor.validate(&m(json!({"path": "/x", "state": "stopped"}))).is_err());
        assert!(WaitFor.validate(&m(json!({"port": 1, "state": "bogus"}))).is_err());
        assert!(WaitFor.validate(&m(json!({"port": "22", "timeout": "5"}))).is_ok());
        assert_eq!(proc_net_hex("127.0.0.1").unwrap(), "0100007F");
    }
}
