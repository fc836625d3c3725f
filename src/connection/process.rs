//! A persistent shell that is a child process of orc: `sh` itself, `sudo ... sh`, or
//! `docker exec -i NAME sh`. Started once per connection, spoken to with the framing protocol, and
//! killed when the connection is dropped.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use orc_modules::ConnError;

use super::framing::ShellSession;
use super::pipes::PipeStreams;

/// How long a freshly started shell may take to answer its first command before the host is
/// declared unreachable (Ansible's default connection timeout is 10 s too).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process running a shell, and the framing session over its pipes.
pub struct ProcessShell {
    child: Child,
    /// The protocol session over the child's stdin, stdout and stderr.
    pub session: ShellSession<PipeStreams>,
    /// The shell's own process id (below sudo or docker exec), for stopping what it runs.
    shell_pid: Option<u32>,
    /// The program and arguments that started the shell (ending in `-s`).
    argv: Vec<std::ffi::OsString>,
    /// The inventory host this shell serves, for the interrupt message.
    pub label: String,
}

impl ProcessShell {
    /// Starts `cmd` (which must run a POSIX shell reading commands from stdin) and checks that it
    /// answers. A program that cannot start, or a shell that exits or stays silent before the first
    /// answer (sudo wanting a password, a stopped container), gives `ConnError::Unreachable` with
    /// what the program printed on stderr.
    pub fn spawn(mut cmd: Command) -> Result<Self, ConnError> {
        let program = command_line(&cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ConnError::Unreachable(format!("cannot start `{program}`: {e}")))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            kill(&mut child);
            return Err(ConnError::Unreachable(format!("`{program}` started without its pipes")));
        };
        let streams = match PipeStreams::new(stdin, stdout, stderr) {
            Ok(streams) => streams,
            Err(e) => {
                kill(&mut child);
                return Err(ConnError::Unreachable(format!("cannot read the output of `{program}`: {e}")));
            }
        };
        let argv = std::iter::once(cmd.get_program()).chain(cmd.get_args()).map(|a| a.to_os_string()).collect();
        let mut shell =
            ProcessShell { child, session: ShellSession::new(streams), shell_pid: None, argv, label: program.clone() };
        shell.session.set_timeout(Some(CONNECT_TIMEOUT));
        // The first command checks that the shell answers and learns its process id.
        match shell.session.exec_inline("printf '%s\\n' \"$$\"") {
            Ok(out) if out.rc == 0 => shell.shell_pid = out.stdout_str().trim().parse().ok(),
            Ok(out) => {
                return Err(ConnError::Unreachable(format!(
                    "`{program}` does not run commands (rc {}): {}",
                    out.rc,
                    out.stderr_str().trim()
                )))
            }
            Err(ConnError::Timeout(secs)) => {
                return Err(ConnError::Unreachable(format!("`{program}` did not answer within {secs} s")))
            }
            Err(ConnError::Lost(why) | ConnError::Unreachable(why) | ConnError::File(why) | ConnError::Become(why)) => {
                return Err(ConnError::Unreachable(format!("`{program}`: {why}")))
            }
        }
        shell.session.set_timeout(None);
        Ok(shell)
    }

    /// The operating-system process id of the shell (or of the program wrapping it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Runs a command in a subshell ([`ShellSession::exec`]); after Ctrl-C cut it short, stops
    /// what it started (crate::interrupt).
    pub fn exec(&mut self, cmd: &str, stdin: Option<&[u8]>) -> Result<orc_modules::CmdOutput, ConnError> {
        let out = self.session.exec(cmd, stdin);
        self.stop_if_interrupted();
        out
    }

    /// Runs one of orc's probes in the shell itself ([`ShellSession::exec_inline`]).
    pub fn exec_inline(&mut self, cmd: &str) -> Result<orc_modules::CmdOutput, ConnError> {
        let out = self.session.exec_inline(cmd);
        self.stop_if_interrupted();
        out
    }

    /// Runs several probes in one exchange ([`ShellSession::exec_inline_batch`]).
    pub fn exec_inline_batch(&mut self, cmds: &[&str]) -> Result<Vec<orc_modules::CmdOutput>, ConnError> {
        let out = self.session.exec_inline_batch(cmds);
        self.stop_if_interrupted();
        out
    }

    /// After an interrupted command: runs the stop script the way the shell was started (same
    /// sudo or docker exec, `-c SCRIPT` for `-s`), and records what it stopped.
    fn stop_if_interrupted(&mut self) {
        if !self.session.was_interrupted() {
            return;
        }
        let Some(pid) = self.shell_pid.take() else { return };
        let Some((program, args)) = self.argv.split_first() else { return };
        let mut args = args.to_vec();
        if args.last().is_some_and(|a| a == "-s") {
            args.pop();
        }
        let mut cmd = Command::new(program);
        cmd.args(&args).arg("-c").arg(crate::interrupt::stop_script(pid)).stdin(Stdio::null());
        let line = match cmd.output() {
            Ok(out) => crate::interrupt::describe_stopped(&self.label, &String::from_utf8_lossy(&out.stdout)),
            Err(e) => format!("{}: could not stop the running command ({e})", self.label),
        };
        crate::interrupt::record_stopped(line);
    }
}

impl Drop for ProcessShell {
    fn drop(&mut self) {
        // End of input lets the shell exit by itself (also when sudo runs it as another user and
        // our signal cannot reach it); the kill covers a shell stuck in a command.
        self.session.close();
        kill(&mut self.child);
    }
}

/// Kills and reaps `child`, ignoring a child that has already exited.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// `cmd` as a readable command line, for messages.
fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|s| s.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_unreachable() {
        let err = ProcessShell::spawn(Command::new("/nonexistent/orc-sh")).err();
        assert!(matches!(&err, Some(ConnError::Unreachable(m)) if m.contains("/nonexistent/orc-sh")), "{err:?}");
    }

    #[test]
    fn a_program_that_exits_at_once_is_unreachable_with_its_message() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'sudo: a password is required' >&2; exit 1"]);
        let err = ProcessShell::spawn(cmd).err();
        assert!(matches!(&err, Some(ConnError::Unreachable(m)) if m.contains("a password is required")), "{err:?}");
    }

    #[test]
    fn a_working_shell_starts_and_runs_commands() {
        let mut cmd = Command::new("sh");
        cmd.arg("-s");
        let mut shell = ProcessShell::spawn(cmd).unwrap();
        assert!(shell.pid() > 0);
        assert_eq!(shell.session.timeout(), None);
        let out = shell.session.exec("echo hi", None).unwrap();
        assert_eq!(out.stdout, b"hi\n");
    }
}
