//! A small reader of the OpenSSH client config (`~/.ssh/config`): the settings orc uses for a host.
//!
//! Why: people reach their hosts through what their config says (bastions, users, keys, ports), and
//! Ansible's ssh transport honours it because it runs OpenSSH. Semantics follow `ssh_config(5)`:
//! `Host` blocks match the name given on the command line (patterns with `*`, `?` and `!`), the
//! first value found for a keyword wins, and `IdentityFile` accumulates. `Match` blocks and
//! `Include` are not supported (a `Match` block is skipped).

use std::path::Path;

/// The settings of the config that apply to one host (unset when the config does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`: the real address to connect to (`%h` expanded).
    pub hostname: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// Every `IdentityFile`, in order (`~` not expanded yet).
    pub identity_files: Vec<String>,
    /// `ProxyJump` (`none` is kept as is, meaning: no jump host).
    pub proxy_jump: Option<String>,
    /// `ProxyCommand`, which orc does not run (only reported).
    pub proxy_command: Option<String>,
    /// `ConnectTimeout` in seconds.
    pub connect_timeout: Option<u64>,
    /// `StrictHostKeyChecking` as written (`yes`, `no`, `accept-new`, `ask`, `off`).
    pub strict_host_key_checking: Option<String>,
    /// `UserKnownHostsFile` (the first file only).
    pub user_known_hosts_file: Option<String>,
    /// `IdentityAgent`: the agent socket (`none` disables the agent, `SSH_AUTH_SOCK` means the
    /// environment's).
    pub identity_agent: Option<String>,
}

/// Reads `path` and returns the settings for `host`; a missing file gives no settings.
pub fn load(path: &Path, host: &str) -> Result<HostConfig, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(for_host(&text, host)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HostConfig::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// The settings for `host` from the text of a config file.
pub fn for_host(text: &str, host: &str) -> HostConfig {
    let mut cfg = HostConfig::default();
    let mut active = true;
    for line in text.lines() {
        let Some((key, args)) = split_line(line) else {
            continue;
        };
        match key.as_str() {
            "host" => {
                active = host_matches(&args, host);
                continue;
            }
            "match" => {
                active = false;
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let Some(first) = args.first().cloned() else {
            continue;
        };
        match key.as_str() {
            "hostname" => set(&mut cfg.hostname, expand_tokens(&first, host)),
            "user" => set(&mut cfg.user, first),
            "port" => {
                if let Ok(port) = first.parse() {
                    set(&mut cfg.port, port);
                }
            }
            "identityfile" => cfg.identity_files.push(expand_tokens(&first, host)),
            "proxyjump" => set(&mut cfg.proxy_jump, first),
            "proxycommand" => set(&mut cfg.proxy_command, args.join(" ")),
            "connecttimeout" => {
                if let Ok(secs) = first.parse() {
                    set(&mut cfg.connect_timeout, secs);
                }
            }
            "stricthostkeychecking" => set(&mut cfg.strict_host_key_checking, first),
            "userknownhostsfile" => set(&mut cfg.user_known_hosts_file, first),
            "identityagent" => set(&mut cfg.identity_agent, first),
            _ => {}
        }
    }
    cfg
}

/// Keeps the first value of a setting, as OpenSSH does.
fn set<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// Splits a config line into its lower-cased keyword and its arguments (`Key value`, `Key=value`,
/// double-quoted arguments); comments and blank lines give `None`.
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let end = line.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(line.len());
    let key = line[..end].to_ascii_lowercase();
    let rest = line[end..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    Some((key, split_args(rest)))
}

/// Splits arguments on whitespace, honouring double quotes.
fn split_args(s: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(cur);
    }
    args
}

/// Whether a `Host` line's patterns select `host`: some pattern matches and no negated one does.
fn host_matches(patterns: &[String], host: &str) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(neg, host) {
                return false;
            }
        } else if wildcard(p, host) {
            matched = true;
        }
    }
    matched
}

/// Glob matching with `*` (any run) and `?` (one character), case-insensitive like OpenSSH's
/// host matching.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Expands `%h` (the host name given) and `%%` in a value.
fn expand_tokens(value: &str, host: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(host),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# global comment
Host web? !web9
    HostName %h.internal.example
    User deploy
    IdentityFile ~/.ssh/deploy_ed25519

Host web1
    User ignored-because-first-wins
    Port=2222

Match host bastion
    User not-applied

Host *.lab bastion
    ProxyJump jump@bastion.example:2200
    ConnectTimeout 7
    IdentityAgent ~/.agent.sock
    StrictHostKeyChecking accept-new
    UserKnownHostsFile "/tmp/with space/known_hosts"

Host *
    IdentityFile ~/.ssh/id_other
    Port 22
"#;

    #[test]
    fn first_value_wins_and_identity_files_accumulate() {
        let c = for_host(CONFIG, "web1");
        assert_eq!(c.hostname.as_deref(), Some("web1.internal.example"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222));
        assert_eq!(c.identity_files, vec!["~/.ssh/deploy_ed25519", "~/.ssh/id_other"]);
        assert_eq!(c.proxy_jump, None);
    }

    #[test]
    fn negated_patterns_and_wildcards() {
        let c = for_host(CONFIG, "web9");
        assert_eq!(c.user, None);
        assert_eq!(c.port, Some(22));
        let c = for_host(CONFIG, "db.lab");
        assert_eq!(c.proxy_jump.as_deref(), Some("jump@bastion.example:2200"));
        assert_eq!(c.connect_timeout, Some(7));
        assert_eq!(c.identity_agent.as_deref(), Some("~/.agent.sock"));
        assert_eq!(c.strict_host_key_checking.as_deref(), Some("accept-new"));
        assert_eq!(c.user_known_hosts_file.as_deref(), Some("/tmp/with space/known_hosts"));
        // `Match` blocks are skipped entirely.
        assert_eq!(for_host(CONFIG, "bastion").user, None);
    }

    #[test]
    fn wildcard_matching() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("web?", "WEB3"));
        assert!(!wildcard("web?", "web10"));
        assert!(wildcard("*.lab", "a.b.lab"));
        assert!(wildcard("a*b*c", "axxbyyc"));
        assert!(!wildcard("a*b*c", "axxbyy"));
    }

    #[test]
    fn missing_file_is_empty() {
        let c = load(Path::new("/nonexistent/orc/ssh_config"), "x").unwrap();
        assert_eq!(c, HostConfig::default());
    }
}
