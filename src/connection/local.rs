//! The local transport (`ansible_connection: local`): commands run on the controller itself.
//!
//! Like every orc transport it starts ONE persistent `sh` for its whole life and sends each command
//! through the framing protocol, instead of forking a new shell per command: the same code path as
//! SSH, and a command costs about as much as the command itself.

use std::process::Command;
use std::time::Duration;

use orc_modules::shell_quote::quote;
use orc_modules::{CmdOutput, ConnError, Connection};

use super::process::ProcessShell;
use super::shellfs;
use super::sudo_opts::SudoOptions;

/// A connection to the controller machine through one persistent local `sh` child, optionally
/// started through sudo as another user (become).
pub struct LocalConnection {
    host: String,
    become_user: Option<String>,
    shell: ProcessShell,
}

impl LocalConnection {
    /// Starts the persistent shell for inventory host `host`: `/bin/sh -s`, or with `become_user`
    /// through sudo with its default options ([`LocalConnection::with_sudo`]).
    pub fn new(host: &str, become_user: Option<&str>) -> Result<Self, ConnError> {
        Self::with_sudo(host, become_user, &SudoOptions::default())
    }

    /// Starts the persistent shell for inventory host `host`: `/bin/sh -s`, or with
    /// `become_user` the command Ansible's sudo plugin builds from `sudo`
    /// (`[cd DIR && ]EXE FLAGS [-u USER] /bin/sh -s`, by default `sudo -H -S -n -u USER`),
    /// run by `/bin/sh -c` as sudo.py's command is. The local transport takes no become
    /// password (the default flags' `-n` makes sudo refuse instead of asking). A become shell
    /// that does not start (sudo refusing, a `sudo_chdir` that does not exist) is
    /// `ConnError::Become` with what it printed: the task fails, as Ansible's local connection
    /// fails it.
    pub fn with_sudo(host: &str, become_user: Option<&str>, sudo: &SudoOptions) -> Result<Self, ConnError> {
        let cmd = match become_user {
            None => {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-s");
                cmd
            }
            Some(user) => {
                // `"$@"` is `-s` (the shell reading commands), or `-c SCRIPT` when the stop
                // script of an interrupt runs the same way (process.rs).
                let chdir = sudo.chdir.as_deref().map(|d| format!("cd {} && ", quote(d))).unwrap_or_default();
                let plain = SudoOptions { chdir: None, ..sudo.clone() };
                let line = format!("{chdir}exec {}", plain.command(user, None, "/bin/sh \"$@\""));
                let mut cmd = Command::new("/bin/sh");
                cmd.args(["-c", &line, "sh", "-s"]);
                cmd
            }
        };
        let mut shell = ProcessShell::spawn(cmd).map_err(|e| match (e, become_user) {
            (ConnError::Unreachable(why), Some(_)) if why.contains("a password is required") => {
                ConnError::Become(format!("Missing sudo password: {why}"))
            }
            (ConnError::Unreachable(why), Some(_)) => ConnError::Become(why),
            (e, _) => e,
        })?;
        shell.label = host.to_string();
        Ok(LocalConnection { host: host.to_string(), become_user: become_user.map(str::to_string), shell })
    }

    /// The user the shell runs as through sudo, if any.
    pub fn become_user(&self) -> Option<&str> {
        self.become_user.as_deref()
    }

    /// The process id of the persistent shell (of sudo when becoming another user).
    pub fn pid(&self) -> u32 {
        self.shell.pid()
    }
}

impl Connection for LocalConnection {
    fn host(&self) -> &str {
        &self.host
    }

    fn runs_on_controller(&self) -> bool {
        true
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
        if self.become_user.is_some() {
            // Only the shell has the become user's rights.
            return shellfs::read_file(&mut self.shell.session, path);
        }
        match std::fs::read(path) {
            Ok(data) => Ok(Some(data)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConnError::Lost(format!("cannot read {path}: {e}"))),
        }
    }

    fn write_file(&mut self, path: &str, data: &[u8]) -> Result<(), ConnError> {
        if self.become_user.is_some() {
            return shellfs::write_file(&mut self.shell.session, path, data);
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| ConnError::File(format!("cannot write {path}: {e}")))?;
        file.write_all(data)
            .and_then(|()| file.sync_all())
            .map_err(|e| ConnError::File(format!("cannot write {path}: {e}")))
    }

    fn set_command_timeout(&mut self, timeout: Option<Duration>) {
        self.shell.session.set_timeout(timeout);
    }

    /// The daemon's own socket: the modules run here, with orc's rights (as Ansible's local
    /// connection runs community.docker as the invoking user).
    fn docker_socket(&mut self, remote_socket: &str) -> Result<std::path::PathBuf, String> {
        let path = std::path::PathBuf::from(remote_socket);
        match std::fs::metadata(&path) {
            Ok(_) => Ok(path),
            Err(e) => Err(format!("cannot reach the Docker daemon at {remote_socket}: {e}; is dockerd running?")),
        }
    }

    /// Plain sockets on this machine, opened with orc's rights.
    fn streams(&mut self) -> Result<std::sync::Arc<dyn orc_modules::stream::StreamOpener>, String> {
        Ok(std::sync::Arc::new(orc_modules::stream::LocalStreams))
    }

    /// A plain socket; a failure names the host and the target.
    fn open_stream(
        &mut self,
        target: &orc_modules::stream::StreamTarget,
    ) -> Result<orc_modules::stream::HostStream, String> {
        orc_modules::stream::HostStream::connect_here(target, std::time::Duration::from_secs(10))
            .map_err(|e| format!("{}: {e}", self.host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn runs_commands_in_one_persistent_shell() {
        let mut c = LocalConnection::new("localhost", None).unwrap();
        assert_eq!(c.host(), "localhost");
        let first = c.exec("echo $$", None).unwrap().stdout_str();
        let second = c.exec("echo $$", None).unwrap().stdout_str();
        // `$$` in a subshell is the pid of the shell it was forked from: the same persistent one.
        assert_eq!(first, second);
        assert_eq!(first.trim(), c.pid().to_string());
    }

    #[test]
    fn exit_and_cd_do_not_affect_later_commands() {
        let mut c = LocalConnection::new("localhost", None).unwrap();
        let cwd = c.exec("pwd", None).unwrap().stdout;
        assert_eq!(c.exec("cd /tmp; exit 3", None).unwrap().rc, 3);
        assert_eq!(c.exec("pwd", None).unwrap().stdout, cwd);
    }

    #[test]
    fn files_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        let path = path.to_str().unwrap();
        let mut c = LocalConnection::new("localhost", None).unwrap();
        assert_eq!(c.read_file(path).unwrap(), None);
        let data: Vec<u8> = (0..=255u8).collect();
        c.write_file(path, &data).unwrap();
        assert_eq!(c.read_file(path).unwrap(), Some(data.clone()));
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(c.exec(&format!("cat {path}"), None).unwrap().stdout, data);
    }

    #[test]
    fn timeout_then_lost() {
        let mut c = LocalConnection::new("localhost", None).unwrap();
        c.set_command_timeout(Some(Duration::from_millis(200)));
        assert_eq!(c.exec("sleep 2", None), Err(ConnError::Timeout(1)));
        assert!(matches!(c.exec("true", None), Err(ConnError::Lost(_))));
    }

    #[test]
    fn killing_the_shell_gives_lost() {
        let mut c = LocalConnection::new("localhost", None).unwrap();
        let pid = c.pid();
        let killer = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
        assert!(killer.success());
        assert!(matches!(c.exec("true", None), Err(ConnError::Lost(_))));
    }

    #[test]
    fn become_without_a_usable_sudo_fails_the_task() {
        // Either sudo is missing, or it needs a password (-n), or the user does not exist: the
        // become step failed on a host that answered.
        let err = LocalConnection::new("localhost", Some("orc-no-such-user")).err();
        assert!(matches!(err, Some(ConnError::Become(_))), "{err:?}");
    }

    #[test]
    fn become_follows_the_sudo_options() {
        // A become_exe that is not sudo at all shows the command line sudo.py builds: the flags
        // as written, no -u for an empty user, `/bin/sh -s` last.
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("fake-sudo");
        std::fs::write(&exe, "#!/bin/sh\nprintf '%s\\n' \"$*\" > \"$0.args\"\npwd >> \"$0.args\"\nwhile [ \"$1\" != /bin/sh ]; do shift; done\nexec \"$@\"\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let args = dir.path().join("fake-sudo.args");
        let sudo = SudoOptions { exe: exe.display().to_string(), flags: "-E --x".into(), chdir: Some("/".into()) };
        let mut c = LocalConnection::with_sudo("localhost", Some(""), &sudo).unwrap();
        assert_eq!(c.exec("echo hi", None).unwrap().stdout, b"hi\n");
        assert_eq!(std::fs::read_to_string(&args).unwrap(), "-E --x /bin/sh -s\n/\n");
        let c = LocalConnection::with_sudo("localhost", Some("app"), &SudoOptions { chdir: None, ..sudo.clone() });
        assert!(c.is_ok());
        assert_eq!(std::fs::read_to_string(&args).unwrap().lines().next(), Some("-E --x -u app /bin/sh -s"));
        // A chdir that fails fails the task with the shell's message.
        let gone = SudoOptions { chdir: Some("/nonexistent_dir".into()), ..sudo };
        let err = LocalConnection::with_sudo("localhost", Some("app"), &gone).err();
        let Some(ConnError::Become(msg)) = err else { panic!("{err:?}") };
        assert!(msg.contains("cd") && msg.contains("/nonexistent_dir"), "{msg}");
    }
}
