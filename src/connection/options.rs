//! Run-wide settings for opening connections (from the command line and the environment), as
//! opposed to the per-host settings that come from inventory variables.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// How SSH host keys are checked against known_hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyChecking {
    /// Only hosts whose key is in known_hosts are accepted (OpenSSH's `StrictHostKeyChecking yes`).
    #[default]
    Strict,
    /// Unknown hosts are accepted and their key appended to known_hosts; a changed key is still
    /// refused (`StrictHostKeyChecking accept-new`).
    AcceptNew,
    /// No checking at all (`host_key_checking = False` in ansible.cfg, or
    /// `ANSIBLE_HOST_KEY_CHECKING=False`).
    Off,
}

impl HostKeyChecking {
    /// Parses `strict`, `accept-new` or `off` (also the OpenSSH spellings `yes` and `no`), for
    /// `--host-key-checking` and `ORC_HOST_KEY_CHECKING`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "strict" | "yes" | "true" => Some(Self::Strict),
            "accept-new" | "accept_new" => Some(Self::AcceptNew),
            "off" | "no" | "false" => Some(Self::Off),
            _ => None,
        }
    }
}

impl fmt::Display for HostKeyChecking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Strict => "strict",
            Self::AcceptNew => "accept-new",
            Self::Off => "off",
        })
    }
}

/// A secret (a become password) that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret string.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, for sending it where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Settings for every connection of a run: given to [`super::ConnectionPool::with_options`], which
/// passes them to [`super::connect`].
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How host keys are checked (`--host-key-checking`, `ORC_HOST_KEY_CHECKING`).
    pub host_key_checking: HostKeyChecking,
    /// The known_hosts file to check and append to; `None`: `~/.ssh/known_hosts` (also read:
    /// `UserKnownHostsFile` from the SSH config).
    pub known_hosts: Option<PathBuf>,
    /// The OpenSSH client config file to read; `None`: `~/.ssh/config` when it exists.
    pub ssh_config: Option<PathBuf>,
    /// How long to wait for a host to accept the TCP connection and finish the SSH handshake
    /// (a `ConnectTimeout` in the SSH config wins for its hosts).
    pub connect_timeout: Duration,
    /// Time limit of each command (`--task-timeout`); `None`: no limit.
    pub command_timeout: Option<Duration>,
    /// The become password (`--ask-become-pass`); `ansible_become_password` of a host wins.
    pub become_password: Option<Secret>,
    /// The SSH login password (`--ask-pass`); `ansible_password` of a host wins.
    pub ssh_password: Option<Secret>,
    /// The run's count of changes, shared by every connection opened with these options (and
    /// their clones): what tells a probe answer sent ahead from a stale one (`probing.rs`).
    pub probe_epoch: std::sync::Arc<super::probing::ProbeEpoch>,
}

/// Ansible's default connection timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            host_key_checking: HostKeyChecking::Strict,
            known_hosts: None,
            ssh_config: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            command_timeout: None,
            become_password: None,
            ssh_password: None,
            probe_epoch: super::probing::ProbeEpoch::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_in_orc_and_openssh_spellings() {
        assert_eq!(HostKeyChecking::parse("strict"), Some(HostKeyChecking::Strict));
        assert_eq!(HostKeyChecking::parse("accept-new"), Some(HostKeyChecking::AcceptNew));
        assert_eq!(HostKeyChecking::parse("OFF"), Some(HostKeyChecking::Off));
        assert_eq!(HostKeyChecking::parse("no"), Some(HostKeyChecking::Off));
        assert_eq!(HostKeyChecking::parse("sometimes"), None);
        assert_eq!(HostKeyChecking::AcceptNew.to_string(), "accept-new");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let opts = ConnectOptions { become_password: Some(Secret::new("hunter2")), ..ConnectOptions::default() };
        let shown = format!("{opts:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(opts.become_password.unwrap().expose(), "hunter2");
    }
}
