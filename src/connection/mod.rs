//! Connections to managed hosts: the transports (ssh, local, docker exec), the
//! persistent-shell framing protocol they share, and the pool that gives each host's connection
//! to one worker at a time.
//!
//! Every transport keeps ONE persistent `sh` per host for the whole run and sends all commands
//! through it ([`framing`]): opening an SSH connection costs ~250 ms and a channel several ms, while
//! a command in an already open shell costs about as much as the command itself.

pub mod docker;
pub mod framing;
pub mod local;
pub mod options;
pub mod pipes;
pub mod pool;
pub mod probing;
pub mod process;
pub mod reconnect;
pub mod shellfs;
pub mod ssh;
pub mod sudo_opts;

use orc_modules::args::{parse_bool, scalar_to_string};
use orc_modules::{ConnError, Connection};
use serde_json::{Map, Value};

pub use docker::DockerConnection;
pub use framing::{ShellSession, ShellStreams, Stream, StreamEvent};
pub use local::LocalConnection;
pub use options::{ConnectOptions, HostKeyChecking, Secret};
pub use pool::{ConnectionPool, PoolStreams};
pub use ssh::SshConnection;
pub use sudo_opts::SudoOptions;

/// The transports `ansible_connection` may name, for messages.
const KNOWN: &str = "local, ssh, docker";

/// Opens the connection to inventory host `host` chosen by its `ansible_connection` variable:
/// `local` runs on this machine, `docker` in the local container named by `ansible_host`
/// (default: the host name) as `ansible_user`, and `ssh` (the default, also `smart` and
/// `paramiko`) over SSH ([`SshConnection`]). `ansible_become` / `ansible_become_user` (default
/// root) start the shell through sudo (over SSH also with a password, or su). The run's `opts`
/// give the host key mode, timeouts and the become password; the command time limit is applied
/// to the new connection.
pub fn connect(host: &str, vars: &Map<String, Value>, opts: &ConnectOptions) -> Result<Box<dyn Connection>, ConnError> {
    let mut conn = open_transport(host, vars, opts)?;
    if opts.command_timeout.is_some() {
        conn.set_command_timeout(opts.command_timeout);
    }
    Ok(Box::new(probing::Probing::new(conn, opts.probe_epoch.clone())))
}

/// Opens the transport `ansible_connection` names (see [`connect`]).
fn open_transport(
    host: &str,
    vars: &Map<String, Value>,
    opts: &ConnectOptions,
) -> Result<Box<dyn Connection>, ConnError> {
    let kind = string_var(vars, "ansible_connection").unwrap_or_else(|| "ssh".to_string());
    let become_as = become_user(vars)?;
    let become_as = become_as.as_deref();
    let kind = transport_name(&kind);
    let over_ssh = matches!(kind, "ssh" | "smart" | "paramiko" | "paramiko_ssh");
    if become_as.is_some() && !over_ssh && become_method(vars)? == BecomeMethod::Su {
        return Err(ConnError::Unreachable(format!(
            "become method su works over ssh only; use sudo with connection {kind}"
        )));
    }
    match kind {
        "local" => Ok(Box::new(LocalConnection::with_sudo(host, become_as, &SudoOptions::from_vars(vars))?)),
        "docker" => {
            let container = string_var(vars, "ansible_host")
                .or_else(|| string_var(vars, "ansible_docker_host"))
                .unwrap_or_else(|| host.to_string());
            let user = string_var(vars, "ansible_user").or_else(|| string_var(vars, "ansible_docker_user"));
            Ok(Box::new(DockerConnection::new(host, &container, user.as_deref(), become_as)?))
        }
        "ssh" | "smart" | "paramiko" | "paramiko_ssh" => {
            Ok(Box::new(SshConnection::open(host, vars, become_as, opts)?))
        }
        _ => Err(ConnError::Unreachable(format!(
            "unknown connection type '{kind}' for host {host}; orc supports {KNOWN}"
        ))),
    }
}

/// How the persistent shell becomes another user (`ansible_become_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo` (the default), with every transport.
    Sudo,
    /// `su`, over SSH only (it asks for the target user's password).
    Su,
}

/// The become method from `ansible_become_method` (default sudo); other methods are refused.
pub fn become_method(vars: &Map<String, Value>) -> Result<BecomeMethod, ConnError> {
    match string_var(vars, "ansible_become_method").as_deref() {
        None | Some("sudo" | "ansible.builtin.sudo") => Ok(BecomeMethod::Sudo),
        Some("su" | "ansible.builtin.su") => Ok(BecomeMethod::Su),
        Some(method) => {
            Err(ConnError::Unreachable(format!("become method '{method}' is not supported; orc supports sudo and su")))
        }
    }
}

/// The user to become from `ansible_become`, `ansible_become_user` and `ansible_become_method`
/// (`None` when become is off). The sudo and su methods are supported. An empty
/// `ansible_become_user` stays empty: the become command then names no user (`sudo` without
/// `-u`, as sudo.py does), which is sudo's and su's default, root.
pub fn become_user(vars: &Map<String, Value>) -> Result<Option<String>, ConnError> {
    let on = match vars.get("ansible_become") {
        None | Some(Value::Null) => false,
        Some(v) => parse_bool(v).ok_or_else(|| {
            ConnError::Unreachable(format!("ansible_become is {v}, which is not a boolean; use yes/no or true/false"))
        })?,
    };
    if !on {
        return Ok(None);
    }
    become_method(vars)?;
    let user = vars.get("ansible_become_user").and_then(scalar_to_string);
    Ok(Some(user.unwrap_or_else(|| "root".to_string())))
}

/// The short transport name of an `ansible_connection` value, without a collection prefix
/// (`ansible.builtin.local`, `community.docker.docker`).
fn transport_name(kind: &str) -> &str {
    kind.strip_prefix("ansible.builtin.")
        .or_else(|| kind.strip_prefix("community.docker."))
        .or_else(|| kind.strip_prefix("ansible.netcommon."))
        .unwrap_or(kind)
}

/// Whether `vars` choose the `local` transport (commands on this machine).
pub fn is_local(vars: &Map<String, Value>) -> bool {
    string_var(vars, "ansible_connection").is_some_and(|k| transport_name(&k) == "local")
}

/// A scalar variable as a string; absent, null and empty values give `None`.
fn string_var(vars: &Map<String, Value>, name: &str) -> Option<String> {
    vars.get(name).and_then(scalar_to_string).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn local_connection_runs_commands() {
        let opts = ConnectOptions::default();
        let mut c = connect("box", &vars(json!({"ansible_connection": "local"})), &opts).unwrap();
        assert_eq!(c.host(), "box");
        assert_eq!(c.exec("echo hi", None).unwrap().stdout, b"hi\n");
        let mut c = connect("box", &vars(json!({"ansible_connection": "ansible.builtin.local"})), &opts).unwrap();
        assert_eq!(c.exec("exit 4", None).unwrap().rc, 4);
    }

    #[test]
    fn ssh_is_the_default_transport() {
        // Nothing listens on port 1 of the loopback: the ssh transport reports the refusal.
        for v in [
            json!({"ansible_host": "127.0.0.1", "ansible_port": 1}),
            json!({"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1}),
        ] {
            let err = connect("web1", &vars(v), &ConnectOptions::default()).err();
            assert_eq!(err, Some(ConnError::Unreachable("ssh: connect to 127.0.0.1:1: connection refused".into())));
        }
    }

    #[test]
    fn unknown_transport_names_the_valid_ones() {
        let opts = ConnectOptions::default();
        let err = connect("w", &vars(json!({"ansible_connection": "winrm"})), &opts).err();
        let Some(ConnError::Unreachable(msg)) = err else { panic!("{err:?}") };
        assert!(msg.contains("'winrm'") && msg.contains("local, ssh, docker"), "{msg}");
    }

    #[test]
    fn become_user_follows_ansible_variables() {
        assert_eq!(become_user(&vars(json!({}))), Ok(None));
        assert_eq!(become_user(&vars(json!({"ansible_become": "no", "ansible_become_user": "x"}))), Ok(None));
        assert_eq!(become_user(&vars(json!({"ansible_become": "yes"}))), Ok(Some("root".into())));
        assert_eq!(
            become_user(&vars(json!({"ansible_become": true, "ansible_become_user": "app"}))),
            Ok(Some("app".into()))
        );
        assert_eq!(
            become_user(&vars(json!({"ansible_become": true, "ansible_become_user": ""}))),
            Ok(Some(String::new()))
        );
        assert!(become_user(&vars(json!({"ansible_become": "maybe"}))).is_err());
        assert!(become_user(&vars(json!({"ansible_become": true, "ansible_become_method": "doas"}))).is_err());
        let su = vars(json!({"ansible_become": true, "ansible_become_method": "su"}));
        assert_eq!(become_user(&su), Ok(Some("root".into())));
        assert_eq!(become_method(&su), Ok(BecomeMethod::Su));
        let mut local_su = su.clone();
        local_su.insert("ansible_connection".into(), json!("local"));
        let err = connect("h", &local_su, &ConnectOptions::default()).err();
        assert!(matches!(err, Some(ConnError::Unreachable(m)) if m.contains("over ssh only")));
    }
}
