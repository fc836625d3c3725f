//! The docker-exec transport (`ansible_connection: docker`): commands run inside a running
//! container on this machine, through ONE persistent `docker exec -i NAME sh` for the connection's
//! life and the same framing protocol as every other transport. Files travel through that shell
//! too, since the container's filesystem is not ours to open.

use std::process::Command;
use std::time::Duration;

use orc_modules::{CmdOutput, ConnError, Connection};

use super::process::ProcessShell;
use super::shellfs;

/// A connection into a local Docker container through one persistent `docker exec` shell.
pub struct DockerConnection {
    host: String,
    shell: ProcessShell,
}

impl DockerConnection {
    /// Starts `docker exec -i [-u USER] CONTAINER sh -s` (wrapped in `sudo -H -n -u BECOME --`
    /// inside the container when `become_user` is given) for inventory host `host`. A missing or
    /// stopped container makes the host unreachable with docker's message.
    pub fn new(host: &str, container: &str, user: Option<&str>, become_user: Option<&str>) -> Result<Self, ConnError> {
        let mut shell = ProcessShell::spawn(docker_command(container, user, become_user))?;
        shell.label = host.to_string();
        Ok(DockerConnection { host: host.to_string(), shell })
    }
}

/// The `docker exec` command line that runs the persistent shell.
fn docker_command(container: &str, user: Option<&str>, become_user: Option<&str>) -> Command {
    let mut cmd = Command::new("docker");
    cmd.args(["exec", "-i"]);
    if let Some(user) = user {
        cmd.args(["-u", user]);
    }
    cmd.arg(container);
    match become_user {
        // An empty become user names none (sudo's default, root), as sudo.py builds it.
        Some("") => {
            cmd.args(["sudo", "-H", "-n", "--"]);
        }
        Some(become_user) => {
            cmd.args(["sudo", "-H", "-n", "-u", become_user, "--"]);
        }
        None => {}
    }
    cmd.args(["sh", "-s"]);
    cmd
}

impl Connection for DockerConnection {
    fn host(&self) -> &str {
        &self.host
    }

    fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<CmdOutput, ConnError> {
        self.shell.exec(cmd, stdin)
    }

    fn exec_inline(&mut self, cmd: &str) -> Result<CmdOutput, ConnError> {
        self.shell.exec_inline(cmd)
    }

    fn probe_batch(&mut self, cmds: &[&str]) -> Result<Vec<CmdOutput>, ConnError> {
        self.shell.exec_inline_batch(cmds)
    }

    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, ConnError> {
        shellfs::read_file(&mut self.shell.session, path)
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        shellfs::write_file(&mut self.shell.session, path, data)
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.shell.session.set_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn command_line_carries_user_and_become() {
        assert_eq!(args(&docker_command("web1", None, None)), ["exec", "-i", "web1", "sh", "-s"]);
        assert_eq!(
            args(&docker_command("web1", Some("app"), Some("root"))),
            ["exec", "-i", "-u", "app", "web1", "sudo", "-H", "-n", "-u", "root", "--", "sh", "-s"]
        );
        assert_eq!(
            args(&docker_command("web1", None, Some(""))),
            ["exec", "-i", "web1", "sudo", "-H", "-n", "--", "sh", "-s"]
        );
    }

    #[test]
    fn a_missing_container_is_unreachable() {
        let err = DockerConnection::new("c", "orc-no-such-container-x", None, None).err();
        assert!(matches!(err, Some(ConnError::Unreachable(_))), "{err:?}");
    }
}
