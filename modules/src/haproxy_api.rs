//! A client of HAProxy's runtime API (the `stats socket` of haproxy.cfg, see HAProxy's
//! management guide), over a stream the LB host opens to the socket (`crate::stream`): over SSH a
//! channel of the host's connection, so nothing (socat, nc, Python) runs on the host.
//!
//! Each command is one stream in HAProxy's non-interactive mode: the command line is written,
//! the writing half closed, and HAProxy answers and closes.

use std::io::{Read, Write};
use std::time::Duration;

use crate::stream::HostStream;

/// One server line of `show servers state`, with the load of `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The backend (proxy) name.
    pub backend: String,
    /// The server name.
    pub name: String,
    /// `srv_admin_state`: the administrative flags (maintenance and drain, forced or inherited).
    pub admin_flags: u32,
    /// `srv_op_state`: 0 stopped, 1 starting, 2 running, 3 stopping.
    pub op_state: u32,
    /// `srv_uweight`: the weight in effect (set by `set weight`).
    pub weight: u32,
    /// `srv_iweight`: the weight the configuration gives.
    pub initial_weight: u32,
}

/// The administrative state of a server, as `set server ... state` sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    /// Takes traffic.
    Ready,
    /// Takes no new traffic; existing sessions go on.
    Drain,
    /// In maintenance: no traffic at all.
    Maint,
}

impl Admin {
    /// The word `set server ... state` takes.
    pub fn word(self) -> &'static str {
        match self {
            Admin::Ready => "ready",
            Admin::Drain => "drain",
            Admin::Maint => "maint",
        }
    }
}

/// The maintenance flags of `srv_admin_state` (forced, inherited, configured, resolution, health).
const MAINT_FLAGS: u32 = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
/// The drain flags of `srv_admin_state` (forced, inherited).
const DRAIN_FLAGS: u32 = 0x08 | 0x10;

impl Server {
    /// The administrative state its flags say.
    pub fn admin(&self) -> Admin {
        if self.admin_flags & MAINT_FLAGS != 0 {
            Admin::Maint
        } else if self.admin_flags & DRAIN_FLAGS != 0 {
            Admin::Drain
        } else {
            Admin::Ready
        }
    }
}

/// One server row of `show stat`: what the `status` column says and the current sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The backend.
    pub backend: String,
    /// The server.
    pub server: String,
    /// `status`: UP, DOWN, MAINT, DRAIN, no check, `UP 1/3`...
    pub status: String,
    /// `weight`.
    pub weight: String,
    /// `scur`: current sessions.
    pub sessions: u64,
}

/// A runtime API client: how to open a stream to the socket, and how long an answer may take.
pub struct HaproxyApi<'a> {
    open: Box<dyn FnMut() -> Result<HostStream, String> + 'a>,
    timeout: Duration,
    /// Every command sent, in order.
    pub sent: Vec<String>,
    /// HAProxy's answer (trimmed) to each command sent with [`HaproxyApi::act`], in order
    /// (community.general returns them as `output`).
    pub answers: Vec<String>,
}

impl<'a> HaproxyApi<'a> {
    /// A client opening each command's stream with `open` (whose error names the host and the
    /// socket).
    pub fn new(open: impl FnMut() -> Result<HostStream, String> + 'a, timeout: Duration) -> Self {
        HaproxyApi { open: Box::new(open), timeout, sent: Vec::new(), answers: Vec::new() }
    }

    /// Sends one command line and returns HAProxy's whole answer.
    pub fn command(&mut self, line: &str) -> Result<String, String> {
        let mut s = (self.open)()?;
        let io = |e: std::io::Error| format!("HAProxy did not answer `{line}`: {}", crate::stream::os_error(&e));
        s.set_timeouts(Some(self.timeout)).map_err(io)?;
        s.write_all(format!("{line}\n").as_bytes()).map_err(io)?;
        s.shutdown_write().map_err(io)?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).map_err(io)?;
        self.sent.push(line.to_string());
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Sends a command that answers nothing when it works (`set server`, `set weight`): HAProxy's
    /// answer otherwise is the error ("No such server.", "Permission denied").
    pub fn act(&mut self, line: &str) -> Result<(), String> {
        let answer = self.command(line)?;
        let answer = answer.trim();
        self.answers.push(answer.to_string());
        if answer.is_empty() {
            return Ok(());
        }
        let hint = if answer.contains("Permission denied") { " (the socket needs `level admin`)" } else { "" };
        Err(format!("HAProxy refused `{line}`: {}{hint}", answer.lines().next().unwrap_or(answer)))
    }

    /// Every server of every backend (`show servers state`).
    pub fn servers(&mut self) -> Result<Vec<Server>, String> {
        let answer = self.command("show servers state")?;
        parse_servers_state(&answer)
    }

    /// The `show stat` rows of servers (not FRONTEND/BACKEND lines).
    pub fn stats(&mut self) -> Result<Vec<Stat>, String> {
        let answer = self.command("show stat")?;
        parse_stat(&answer)
    }
}

/// Parses `show servers state` (format version 1: a version line, a `#` header naming the
/// columns, one line per server).
pub fn parse_servers_state(text: &str) -> Result<Vec<Server>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let version = lines.next().unwrap_or_default();
    if version != "1" {
        return Err(format!("unexpected answer to `show servers state`: {}", first_line(text)));
    }
    let header: Vec<&str> = lines
        .next()
        .and_then(|h| h.strip_prefix('#'))
        .ok_or_else(|| format!("no header in the answer to `show servers state`: {}", first_line(text)))?
        .split_whitespace()
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| format!("`show servers state` has no column {name}"))
    };
    let (be, srv, op, admin, uw, iw) = (
        col("be_name")?,
        col("srv_name")?,
        col("srv_op_state")?,
        col("srv_admin_state")?,
        col("srv_uweight")?,
        col("srv_iweight")?,
    );
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        let (Some(backend), Some(name)) = (f.get(be), f.get(srv)) else { continue };
        out.push(Server {
            backend: backend.to_string(),
            name: name.to_string(),
            admin_flags: num(admin),
            op_state: num(op),
            weight: num(uw),
            initial_weight: num(iw),
        });
    }
    Ok(out)
}

/// Parses `show stat` CSV (a `# pxname,svname,...` header) into its server rows.
pub fn parse_stat(text: &str) -> Result<Vec<Stat>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .and_then(|h| h.strip_prefix("# "))
        .ok_or_else(|| format!("unexpected answer to `show stat`: {}", first_line(text)))?
        .split(',')
        .collect();
    let col = |name: &str| header.iter().position(|h| *h == name).ok_or(format!("`show stat` has no column {name}"));
    let (px, sv, status, weight, scur) = (col("pxname")?, col("svname")?, col("status")?, col("weight")?, col("scur")?);
    let mut out = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let get = |i: usize| f.get(i).copied().unwrap_or_default();
        if matches!(get(sv), "FRONTEND" | "BACKEND") {
            continue;
        }
        out.push(Stat {
            backend: get(px).to_string(),
            server: get(sv).to_string(),
            status: get(status).to_string(),
            weight: get(weight).to_string(),
            sessions: get(scur).parse().unwrap_or(0),
        });
    }
    Ok(out)
}

fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or("(nothing)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What HAProxy 2.6 answers (Debian bookworm), captured on a lab host.
    const SERVERS: &str = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight \
        srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state \
        srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port \
        srv_check_addr srv_agent_addr srv_agent_port\n\
        3 app 1 s1 127.0.0.1 2 8 0 1 0 1 0 2 0 0 0 0 - 8081 - 0 0 - - 0\n\
        3 app 2 s2 127.0.0.1 0 0 1 1 1 8 2 0 6 0 0 0 - 8082 - 0 0 - - 0\n\n";

    const STAT: &str = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,\
        wredis,status,weight,act\nweb,FRONTEND,,,0,0,,,,,,,,,,,,OPEN,,\napp,s1,0,0,3,5,,,,,,,,,,,,DRAIN,0,1\n\
        app,s2,0,0,0,0,,,,,,,,,,,,DOWN,1,1\napp,BACKEND,0,0,3,5,,,,,,,,,,,,UP,1,1\n\n";

    #[test]
    fn servers_state_and_stat_are_read_by_column_name() {
        let servers = parse_servers_state(SERVERS).unwrap();
        assert_eq!(servers.len(), 2);
        assert_eq!((servers[0].backend.as_str(), servers[0].name.as_str()), ("app", "s1"));
        assert_eq!(servers[0].admin(), Admin::Drain);
        assert_eq!((servers[0].weight, servers[0].initial_weight), (0, 1));
        assert_eq!(servers[1].admin(), Admin::Ready);
        let stats = parse_stat(STAT).unwrap();
        assert_eq!(stats.len(), 2);
        assert_eq!(
            stats[0],
            Stat {
                backend: "app".into(),
                server: "s1".into(),
                status: "DRAIN".into(),
                weight: "0".into(),
                sessions: 3
            }
        );
        assert!(parse_servers_state("Unknown command.\n").unwrap_err().contains("Unknown command."));
    }

    #[test]
    fn admin_flags() {
        let s = |flags| Server {
            backend: "b".into(),
            name: "s".into(),
            admin_flags: flags,
            op_state: 2,
            weight: 1,
            initial_weight: 1,
        };
        assert_eq!(s(0x01).admin(), Admin::Maint);
        assert_eq!(s(0x04).admin(), Admin::Maint, "disabled in the configuration");
        assert_eq!(s(0x09).admin(), Admin::Maint, "maintenance wins over drain");
        assert_eq!(s(0x10).admin(), Admin::Drain);
    }
}
