//! become over SSH: the persistent shell is started through `sudo` once per host, user and
//! sudo options.
//!
//! The channel runs the command Ansible's sudo become plugin builds (`super::super::sudo_opts`):
//! `[cd DIR && ]EXE FLAGS [-p PROMPT] [-u USER] /bin/sh -c 'echo READY; exec /bin/sh -s'`, by
//! default `sudo -H -S -p PROMPT -u USER ...` with a password and `sudo -H -S -n -u USER ...`
//! without. With a password, orc waits for the unique prompt on stderr and only then writes the
//! password to the channel's stdin: it is never on a command line (so never in a process list),
//! never in output, and never logged. The shell announces itself with READY on stdout.
//!
//! Failures of the become step itself are `ConnError::Become` (the task fails, the host stays
//! reachable, as Ansible's connection raises a plain error): a second prompt is "Incorrect sudo
//! password", sudo saying a password is required is "Missing sudo password", and a become
//! command that exits before READY (sudo refusing, a `sudo_chdir` that does not exist) carries
//! its last line of stderr. No answer in time, or a broken channel, stays unreachable.
//!
//! `su` (`ansible_become_method: su`) works the same way with
//! `LC_ALL=C su -s /bin/sh USER -c '...'`: su's prompt cannot be chosen, so it runs in the C
//! locale to make its prompt `Password:` (LC_ALL is unset again inside the shell), and it asks
//! for the target user's password. A wrong password makes su exit ("Incorrect su password").

use std::time::Instant;

use orc_modules::shell_quote::quote;
use orc_modules::ConnError;

use super::streams::ChannelStreams;
use crate::connection::framing::{ShellStreams, Stream, StreamEvent};
use crate::connection::options::Secret;
use crate::connection::sudo_opts::SudoOptions;
use crate::connection::BecomeMethod;

/// The words that start a become shell, and what the handshake waits for.
pub struct BecomePlan {
    /// The command to exec on the channel.
    pub command: String,
    prompt: Option<String>,
    ready: String,
    /// `sudo` or `su`, for messages.
    tool: &'static str,
}

impl BecomePlan {
    /// The plan for becoming `user` with `method`, prompting for a password when one is given;
    /// `sudo` gives sudo's options (su has none). An empty `user` names none (root).
    pub fn new(method: BecomeMethod, user: &str, with_password: bool, sudo: &SudoOptions) -> Self {
        let nonce = format!("{:016x}", fastrand::u64(..));
        let ready = format!("__orc_become_ready_{nonce}__");
        if method == BecomeMethod::Su {
            let inner = quote(&format!("unset LC_ALL; echo {ready}; exec /bin/sh -s"));
            let user_q = if user.is_empty() { String::new() } else { format!("{} ", quote(user)) };
            return BecomePlan {
                command: format!("LC_ALL=C su -s /bin/sh {user_q}-c {inner}"),
                prompt: Some("Password:".to_string()),
                ready,
                tool: "su",
            };
        }
        let inner = format!("/bin/sh -c {}", quote(&format!("echo {ready}; exec /bin/sh -s")));
        let prompt = with_password.then(|| format!("[orc-become-{nonce}] password:"));
        BecomePlan { command: sudo.command(user, prompt.as_deref(), &inner), prompt, ready, tool: "sudo" }
    }

    /// Waits for the shell to start, answering the prompt with `password`. `login` is
    /// `user@host` for messages (the user whose password is asked). Output before READY (sudo's lecture) is dropped.
    pub fn handshake(
        &self,
        streams: &mut ChannelStreams,
        password: Option<&Secret>,
        login: &str,
        deadline: Instant,
    ) -> Result<(), ConnError> {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut prompts_answered = 0;
        let tool = self.tool;
        loop {
            let event = streams
                .recv(Some(deadline))
                .map_err(|e| ConnError::Unreachable(format!("{tool} on {login}: the connection failed: {e}")))?;
            match event {
                None => {
                    return Err(ConnError::Unreachable(format!(
                        "{tool} on {login} did not start a shell in time{}",
                        tail(&err)
                    )))
                }
                Some(StreamEvent::Data(Stream::Stdout, bytes)) => {
                    out.extend_from_slice(&bytes);
                    if contains(&out, format!("{}\n", self.ready).as_bytes()) {
                        return Ok(());
                    }
                }
                Some(StreamEvent::Data(Stream::Stderr, bytes)) => {
                    err.extend_from_slice(&bytes);
                    let Some(prompt) = &self.prompt else { continue };
                    if !contains(&err, prompt.as_bytes()) {
                        continue;
                    }
                    err.clear();
                    if prompts_answered > 0 {
                        // Ansible's words (plugins/connection/ssh.py).
                        streams.close();
                        return Err(ConnError::Become(format!("Incorrect {tool} password")));
                    }
                    let Some(pw) = password else {
                        streams.close();
                        return Err(ConnError::Become(format!(
                            "Missing {tool} password: {tool} on {login} asks for one; set ansible_become_password or use --ask-become-pass"
                        )));
                    };
                    let mut line = pw.expose().as_bytes().to_vec();
                    line.push(b'\n');
                    streams.send(&line).map_err(|e| {
                        ConnError::Unreachable(format!("{tool} on {login}: cannot send the password: {e}"))
                    })?;
                    prompts_answered += 1;
                }
                Some(StreamEvent::Closed(_)) => {
                    // The become command ended before the shell announced itself: the host
                    // answered, the become step failed (the task's failure, not a lost host).
                    if tool == "su" && prompts_answered > 0 {
                        return Err(ConnError::Become("Incorrect su password".to_string()));
                    }
                    let msg = String::from_utf8_lossy(&err);
                    if msg.contains("a password is required") {
                        return Err(ConnError::Become(format!(
                            "Missing {tool} password: {tool} on {login} did not start a shell{}; set ansible_become_password or use --ask-become-pass",
                            tail(&err)
                        )));
                    }
                    return Err(ConnError::Become(format!("{tool} on {login} did not start a shell{}", tail(&err))));
                }
            }
        }
    }
}

/// `: <stderr>` for messages (last line of what sudo said), or nothing.
fn tail(err: &[u8]) -> String {
    let text = String::from_utf8_lossy(err);
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    line.map(|l| format!(": {}", l.trim())).unwrap_or_default()
}

/// Whether `needle` occurs in `hay`.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_never_carry_the_password() {
        let d = SudoOptions::default();
        let p = BecomePlan::new(BecomeMethod::Sudo, "app user", true, &d);
        assert!(p.command.starts_with("sudo -H -S -p '[orc-become-"), "{}", p.command);
        assert!(p.command.contains("-u 'app user' /bin/sh -c"), "{}", p.command);
        let p = BecomePlan::new(BecomeMethod::Sudo, "root", false, &d);
        assert!(p.command.starts_with("sudo -H -S -n -u root /bin/sh -c 'echo __orc_become_ready_"), "{}", p.command);
    }

    #[test]
    fn plans_follow_the_sudo_options() {
        let shim = SudoOptions {
            exe: "/tmp/sudoshim.sh".into(),
            flags: "--set-home --stdin --non-interactive --intermediate-user u1".into(),
            chdir: Some("/nonexistent_dir".into()),
        };
        let p = BecomePlan::new(BecomeMethod::Sudo, "u0", true, &shim);
        let want = "cd /nonexistent_dir && /tmp/sudoshim.sh --set-home --stdin --intermediate-user u1 -p '[orc-become-";
        assert!(p.command.starts_with(want), "{}", p.command);
        assert!(p.command.contains("] password:' -u u0 /bin/sh -c 'echo __orc_become_ready_"), "{}", p.command);
        // An empty become user: no -u.
        let p = BecomePlan::new(BecomeMethod::Sudo, "", false, &SudoOptions::default());
        assert!(p.command.starts_with("sudo -H -S -n /bin/sh -c "), "{}", p.command);
        let p = BecomePlan::new(BecomeMethod::Su, "", true, &SudoOptions::default());
        assert!(p.command.starts_with("LC_ALL=C su -s /bin/sh -c "), "{}", p.command);
    }
}
