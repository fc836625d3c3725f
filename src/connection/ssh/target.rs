//! Where and how to reach one SSH host: inventory connection variables, the SSH client config and
//! the run's [`ConnectOptions`] merged into one [`SshTarget`].
//!
//! Precedence, as with Ansible driving OpenSSH: inventory variables (`ansible_host`, `ansible_port`,
//! `ansible_user`, `ansible_ssh_private_key_file`) and options in `ansible_ssh_common_args` /
//! `ansible_ssh_extra_args` win over `~/.ssh/config`, which wins over the defaults (port 22, the
//! local user name, the default keys `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`). The config is
//! looked up by `ansible_host` (or the inventory name), which is the name Ansible gives to ssh.

use std::path::PathBuf;
use std::time::Duration;

use orc_modules::args::scalar_to_string;
use orc_modules::ConnError;
use serde_json::{Map, Value};

use super::config::{self, HostConfig};
use crate::connection::options::{ConnectOptions, HostKeyChecking, Secret};

/// Everything needed to open one SSH connection.
#[derive(Debug, Clone)]
pub struct SshTarget {
    /// The name used for messages (the inventory name, or the jump host as written).
    pub name: String,
    /// The address to connect to (`HostName` or `ansible_host`).
    pub address: String,
    /// TCP port.
    pub port: u16,
    /// The remote user to log in as.
    pub user: String,
    /// Key files to try, in order (explicit ones first).
    pub identity_files: Vec<PathBuf>,
    /// Whether the key files were configured (otherwise they are the defaults, tried if present).
    pub explicit_keys: bool,
    /// The ssh-agent socket to use (`IdentityAgent`, else `SSH_AUTH_SOCK`); `None`: no agent.
    pub agent: Option<PathBuf>,
    /// The login password (`ansible_password`, `ansible_ssh_pass`).
    pub password: Option<Secret>,
    /// Jump hosts to go through (`ProxyJump`, `-J`): `[user@]host[:port]`, comma separated.
    pub proxy_jump: Option<String>,
    /// Time limit for TCP connect and handshake.
    pub connect_timeout: Duration,
    /// The known_hosts file.
    pub known_hosts: PathBuf,
    /// How the host key is checked.
    pub host_key_checking: HostKeyChecking,
}

/// Settings given on an ssh command line in `ansible_ssh_common_args` / `ansible_ssh_extra_args`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct ArgSettings {
    proxy_jump: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity_files: Vec<String>,
    connect_timeout: Option<u64>,
    strict: Option<String>,
    known_hosts: Option<String>,
}

/// A non-empty scalar variable as a string.
fn var(vars: &Map<String, Value>, name: &str) -> Option<String> {
    vars.get(name).and_then(scalar_to_string).filter(|s| !s.is_empty())
}

/// The first of several variable spellings that is set.
fn first_var(vars: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| var(vars, n))
}

/// `ansible_host_key_checking` / `ansible_ssh_host_key_checking` as an OpenSSH
/// `StrictHostKeyChecking` value (`yes` or `no`).
fn host_key_var(vars: &Map<String, Value>) -> Option<String> {
    ["ansible_ssh_host_key_checking", "ansible_host_key_checking"]
        .iter()
        .find_map(|n| vars.get(*n).and_then(orc_modules::args::parse_bool))
        .map(|on| if on { "yes" } else { "no" }.to_string())
}

/// The local user's home directory.
pub fn home() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"))
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None if path == "~" => home(),
        None => PathBuf::from(path),
    }
}

/// The local user name, the default remote user as with OpenSSH.
fn local_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "root".to_string())
}

impl SshTarget {
    /// The target for inventory host `host` with connection variables `vars`.
    pub fn from_vars(host: &str, vars: &Map<String, Value>, opts: &ConnectOptions) -> Result<SshTarget, ConnError> {
        let lookup =
            var(vars, "ansible_host").or_else(|| var(vars, "ansible_ssh_host")).unwrap_or_else(|| host.to_string());
        let mut args = ArgSettings::default();
        for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(text) = var(vars, name) {
                parse_ssh_args(&text, &mut args)
                    .map_err(|e| ConnError::Unreachable(format!("{name} of {host}: {e}")))?;
            }
        }
        let port = match first_var(vars, &["ansible_port", "ansible_ssh_port"]) {
            Some(p) => Some(p.parse::<u16>().map_err(|_| {
                ConnError::Unreachable(format!("ansible_port of {host} is '{p}', which is not a port number (1-65535)"))
            })?),
            None => args.port,
        };
        let timeout = first_var(vars, &["ansible_ssh_timeout", "ansible_timeout"])
            .and_then(|t| t.parse::<u64>().ok())
            .or(args.connect_timeout);
        let mut keys: Vec<String> = first_var(vars, &["ansible_ssh_private_key_file"]).into_iter().collect();
        keys.extend(args.identity_files.iter().cloned());
        let overrides = Overrides {
            user: first_var(vars, &["ansible_user", "ansible_ssh_user"]).or(args.user),
            port,
            keys,
            proxy_jump: args.proxy_jump,
            connect_timeout: timeout,
            strict: host_key_var(vars).or(args.strict),
            known_hosts: args.known_hosts,
        };
        let mut target = resolve(host, &lookup, overrides, opts)?;
        target.password = first_var(vars, &["ansible_password", "ansible_ssh_pass", "ansible_ssh_password"])
            .map(Secret::new)
            .or_else(|| opts.ssh_password.clone());
        Ok(target)
    }

    /// The target for a jump host written as `[user@]host[:port]` (or `ssh://...`), with its
    /// own settings from the SSH config.
    pub fn jump_host(spec: &str, opts: &ConnectOptions) -> Result<SshTarget, ConnError> {
        let bare = spec.strip_prefix("ssh://").unwrap_or(spec);
        let (user, rest) = match bare.rsplit_once('@') {
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, bare),
        };
        let (host, port) = split_host_port(rest)
            .ok_or_else(|| ConnError::Unreachable(format!("jump host '{spec}' is not [user@]host[:port]")))?;
        let overrides = Overrides { user, port, ..Overrides::default() };
        resolve(spec, host, overrides, opts)
    }

    /// `user@address` (with `:port` when not 22), for messages.
    pub fn describe(&self) -> String {
        if self.port == 22 {
            format!("{}@{}", self.user, self.address)
        } else {
            format!("{}@{}:{}", self.user, self.address, self.port)
        }
    }
}

/// Per-host settings that win over the SSH config.
#[derive(Debug, Default)]
struct Overrides {
    user: Option<String>,
    port: Option<u16>,
    keys: Vec<String>,
    proxy_jump: Option<String>,
    connect_timeout: Option<u64>,
    strict: Option<String>,
    known_hosts: Option<String>,
}

/// Merges overrides, the config for `lookup`, the run options and the defaults.
fn resolve(name: &str, lookup: &str, o: Overrides, opts: &ConnectOptions) -> Result<SshTarget, ConnError> {
    let cfg_path = opts.ssh_config.clone().unwrap_or_else(|| home().join(".ssh/config"));
    let cfg: HostConfig = config::load(&cfg_path, lookup).map_err(ConnError::Unreachable)?;
    let proxy_jump = o.proxy_jump.or(cfg.proxy_jump).filter(|j| !j.eq_ignore_ascii_case("none"));
    if proxy_jump.is_none() {
        if let Some(cmd) = cfg.proxy_command.filter(|c| !c.eq_ignore_ascii_case("none")) {
            return Err(ConnError::Unreachable(format!(
                "the SSH config sets ProxyCommand '{cmd}' for {lookup}, which orc does not run; use ProxyJump"
            )));
        }
    }
    let explicit_keys = !o.keys.is_empty() || !cfg.identity_files.is_empty();
    let identity_files = if explicit_keys {
        // The same key named by the inventory and the SSH config is tried once.
        let mut keys: Vec<PathBuf> = Vec::new();
        for k in o.keys.iter().chain(cfg.identity_files.iter()).map(|k| expand_home(k)) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        keys
    } else {
        ["id_ed25519", "id_ecdsa", "id_rsa"].iter().map(|k| home().join(".ssh").join(k)).collect()
    };
    // The run's mode wins unless it is the default (strict): then a host's own setting applies.
    let host_key_checking = match opts.host_key_checking {
        HostKeyChecking::Strict => o
            .strict
            .or(cfg.strict_host_key_checking)
            .and_then(|s| match s.to_ascii_lowercase().as_str() {
                "ask" => Some(HostKeyChecking::Strict),
                other => HostKeyChecking::parse(other),
            })
            .unwrap_or(HostKeyChecking::Strict),
        other => other,
    };
    let known_hosts = opts.known_hosts.clone().unwrap_or_else(|| {
        o.known_hosts
            .or(cfg.user_known_hosts_file)
            .map(|p| expand_home(&p))
            .unwrap_or_else(|| home().join(".ssh/known_hosts"))
    });
    let env_agent = || std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from);
    let agent = match cfg.identity_agent.as_deref() {
        None => env_agent(),
        Some(a) if a.eq_ignore_ascii_case("none") => None,
        Some("SSH_AUTH_SOCK") => env_agent(),
        Some(a) => Some(expand_home(a)),
    };
    Ok(SshTarget {
        name: name.to_string(),
        agent,
        address: cfg.hostname.unwrap_or_else(|| lookup.to_string()),
        port: o.port.or(cfg.port).unwrap_or(22),
        user: o.user.or(cfg.user).unwrap_or_else(local_user),
        identity_files,
        explicit_keys,
        password: None,
        proxy_jump,
        connect_timeout: o
            .connect_timeout
            .or(cfg.connect_timeout)
            .map(Duration::from_secs)
            .unwrap_or(opts.connect_timeout),
        known_hosts,
        host_key_checking,
    })
}

/// Splits `host[:port]` or `[v6addr]:port`.
fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(p.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, Some(p.parse().ok()?))),
        _ if s.is_empty() => None,
        _ => Some((s, None)),
    }
}

/// Splits a command line into words with sh-like quoting (single and double quotes, backslash).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut any = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                any = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                any = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => cur.extend(chars.next()),
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                any = true;
                cur.extend(chars.next());
            }
            c if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                any = true;
                cur.push(c);
            }
        }
    }
    if any {
        words.push(cur);
    }
    Ok(words)
}

/// Reads the ssh options orc understands from an ssh argument string (`-J`, `-p`, `-l`, `-i`,
/// `-o Key=Value` / `-o "Key Value"`); other options are ignored, `ProxyCommand` is refused.
fn parse_ssh_args(text: &str, out: &mut ArgSettings) -> Result<(), String> {
    let words = split_words(text)?;
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        // `is_char_boundary`: a non-ASCII second character (`-é`) is no flag, and must not be cut.
        let (flag, inline) = if w.len() > 2 && w.starts_with('-') && !w.starts_with("--") && w.is_char_boundary(2) {
            (&w[..2], Some(w[2..].to_string()))
        } else {
            (w.as_str(), None)
        };
        let takes_value = matches!(flag, "-J" | "-p" | "-l" | "-i" | "-o");
        if !takes_value {
            i += 1;
            continue;
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                words.get(i).cloned().ok_or_else(|| format!("{flag} needs a value"))?
            }
        };
        i += 1;
        match flag {
            "-J" => first(&mut out.proxy_jump, value),
            "-p" => first(&mut out.port, parse_num(&value, "port")?),
            "-l" => first(&mut out.user, value),
            "-i" => out.identity_files.push(value),
            _ => {
                let (key, val) = value
                    .split_once('=')
                    .or_else(|| value.split_once(char::is_whitespace))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .ok_or_else(|| format!("-o {value}: expected Key=Value"))?;
                match key.as_str() {
                    "proxyjump" => first(&mut out.proxy_jump, val),
                    "port" => first(&mut out.port, parse_num(&val, "port")?),
                    "user" => first(&mut out.user, val),
                    "identityfile" => out.identity_files.push(val),
                    "connecttimeout" => first(&mut out.connect_timeout, parse_num(&val, "ConnectTimeout")?),
                    "stricthostkeychecking" => first(&mut out.strict, val),
                    "userknownhostsfile" => first(&mut out.known_hosts, val),
                    "proxycommand" => {
                        return Err(format!("ProxyCommand '{val}' is not supported by orc; use ProxyJump (-J)"))
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Keeps the first value given, as ssh does for repeated options.
fn first<T>(slot: &mut Option<T>, v: T) {
    if slot.is_none() {
        *slot = Some(v);
    }
}

/// Parses a number option.
fn parse_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{what} '{s}' is not a valid number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn opts_with_config(text: &str) -> (tempfile::TempDir, ConnectOptions) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, text).unwrap();
        let opts = ConnectOptions {
            ssh_config: Some(path),
            known_hosts: Some(dir.path().join("known_hosts")),
            ..ConnectOptions::default()
        };
        (dir, opts)
    }

    #[test]
    fn non_ascii_words_in_ssh_args_are_skipped_not_cut() {
        let mut a = ArgSettings::default();
        parse_ssh_args("-éx -p2222 -ü", &mut a).unwrap();
        assert_eq!(a.port, Some(2222));
    }

    #[test]
    fn ssh_args_give_jump_hosts_and_options() {
        let mut a = ArgSettings::default();
        parse_ssh_args(
            r#"-o StrictHostKeyChecking=no -J admin@bastion:2200 -o "ProxyJump other" -p2222 -i '/k/my key'"#,
            &mut a,
        )
        .unwrap();
        assert_eq!(a.proxy_jump.as_deref(), Some("admin@bastion:2200"));
        assert_eq!(a.port, Some(2222));
        assert_eq!(a.strict.as_deref(), Some("no"));
        assert_eq!(a.identity_files, vec!["/k/my key"]);
        let mut a = ArgSettings::default();
        parse_ssh_args("-o ProxyJump=j1,j2 -C -v", &mut a).unwrap();
        assert_eq!(a.proxy_jump.as_deref(), Some("j1,j2"));
        let err = parse_ssh_args("-o ProxyCommand='ssh -W %h:%p b'", &mut a).unwrap_err();
        assert!(err.contains("use ProxyJump"), "{err}");
    }

    #[test]
    fn inventory_vars_win_over_the_config() {
        let (_dir, opts) = opts_with_config(
            "Host web1 10.0.0.5\n  HostName 10.0.0.9\n  User cfguser\n  Port 2200\n  IdentityFile ~/.ssh/cfgkey\n  ConnectTimeout 3\n",
        );
        let t = SshTarget::from_vars("web1", &vars(json!({})), &opts).unwrap();
        assert_eq!((t.address.as_str(), t.port, t.user.as_str()), ("10.0.0.9", 2200, "cfguser"));
        assert_eq!(t.identity_files, vec![home().join(".ssh/cfgkey")]);
        assert!(t.explicit_keys);
        assert_eq!(t.connect_timeout, Duration::from_secs(3));
        let t = SshTarget::from_vars(
            "web1",
            &vars(json!({"ansible_host": "10.0.0.5", "ansible_port": 22, "ansible_user": "me",
                "ansible_ssh_private_key_file": "/keys/a", "ansible_password": "pw"})),
            &opts,
        )
        .unwrap();
        assert_eq!((t.port, t.user.as_str()), (22, "me"));
        assert_eq!(t.address, "10.0.0.9", "config looked up by ansible_host");
        assert_eq!(t.identity_files[0], PathBuf::from("/keys/a"));
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(t.describe(), "me@10.0.0.9");
    }

    #[test]
    fn defaults_and_host_key_modes() {
        let (_dir, opts) = opts_with_config("Host relaxed\n  StrictHostKeyChecking no\n  IdentityAgent none\n");
        let t = SshTarget::from_vars("plain", &vars(json!({})), &opts).unwrap();
        assert_eq!(t.port, 22);
        assert!(!t.explicit_keys);
        assert_eq!(t.identity_files.len(), 3);
        assert_eq!(t.host_key_checking, HostKeyChecking::Strict);
        let t = SshTarget::from_vars("relaxed", &vars(json!({})), &opts).unwrap();
        assert_eq!(t.host_key_checking, HostKeyChecking::Off);
        assert_eq!(t.agent, None);
        let accept = ConnectOptions { host_key_checking: HostKeyChecking::AcceptNew, ..opts.clone() };
        let t = SshTarget::from_vars("relaxed", &vars(json!({})), &accept).unwrap();
        assert_eq!(t.host_key_checking, HostKeyChecking::AcceptNew);
        let t = SshTarget::from_vars("plain", &vars(json!({"ansible_host_key_checking": false})), &opts).unwrap();
        assert_eq!(t.host_key_checking, HostKeyChecking::Off);
        let bad = SshTarget::from_vars("x", &vars(json!({"ansible_port": "http"})), &opts);
        assert!(matches!(bad, Err(ConnError::Unreachable(m)) if m.contains("not a port")));
    }

    #[test]
    fn jump_hosts_read_their_own_config() {
        let (_dir, opts) = opts_with_config("Host bastion\n  HostName 127.0.0.1\n  User jumper\n  Port 2022\n");
        let t = SshTarget::jump_host("bastion", &opts).unwrap();
        assert_eq!((t.address.as_str(), t.port, t.user.as_str()), ("127.0.0.1", 2022, "jumper"));
        let t = SshTarget::jump_host("ops@bastion:2023", &opts).unwrap();
        assert_eq!((t.port, t.user.as_str()), (2023, "ops"));
        let t = SshTarget::jump_host("[::1]:2024", &opts).unwrap();
        assert_eq!((t.address.as_str(), t.port), ("::1", 2024));
    }

    #[test]
    fn proxy_command_in_config_is_refused_clearly() {
        let (_dir, opts) = opts_with_config("Host p\n  ProxyCommand nc %h %p\n");
        let err = SshTarget::from_vars("p", &vars(json!({})), &opts).unwrap_err();
        assert!(err.to_string().contains("ProxyJump"), "{err}");
    }
}
