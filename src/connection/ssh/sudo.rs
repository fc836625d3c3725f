//! become over SSH: the persistent shell is started through `sudo` once per host and user.
//!
//! The channel runs `sudo -H -S -p PROMPT -u USER -- /bin/sh -c 'echo READY; exec /bin/sh -s'`
//! (`-n` instead of `-S -p` without a password). With a password, orc waits for the unique prompt
//! on stderr and only then writes the password to the channel's stdin: it is never on a command
//! line (so never in a process list), never in output, and never logged. The shell announces
//! itself with READY on stdout; a second prompt means the password was wrong.
//!
//! `su` (`ansible_become_method: su`) works the same way with
//! `LC_ALL=C su -s /bin/sh USER -c '...'`: su's prompt cannot be chosen, so it runs in the C
//! locale to make its prompt `Password:` (LC_ALL is unset again inside the shell), and it asks
//! for the target user's password. A wrong password makes su exit.

use std::time::Instant;

use orc_modules::shell_quote::quote;
use orc_modules::ConnError;

use super::streams::ChannelStreams;
use crate::connection::framing::{ShellStreams, Stream, StreamEvent};
use crate::connection::options::Secret;
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
    /// The plan for becoming `user` with `method`, prompting for a password (sudo) when one is
    /// given.
    pub fn new(method: BecomeMethod, user: &str, with_password: bool) -> Self {
        let nonce = format!("{:016x}", fastrand::u64(..));
        let ready = format!("__orc_become_ready_{nonce}__");
        let user_q = quote(user);
        if method == BecomeMethod::Su {
            let inner = quote(&format!("unset LC_ALL; echo {ready}; exec /bin/sh -s"));
            return BecomePlan {
                command: format!("LC_ALL=C su -s /bin/sh {user_q} -c {inner}"),
                prompt: Some("Password:".to_string()),
                ready,
                tool: "su",
            };
        }
        let inner = quote(&format!("echo {ready}; exec /bin/sh -s"));
        if with_password {
            let prompt = format!("[orc-become-{nonce}] password:");
            BecomePlan {
                command: format!("sudo -H -S -p {} -u {user_q} -- /bin/sh -c {inner}", quote(&prompt)),
                prompt: Some(prompt),
                ready,
                tool: "sudo",
            }
        } else {
            BecomePlan {
                command: format!("sudo -H -n -u {user_q} -- /bin/sh -c {inner}"),
                prompt: None,
                ready,
                tool: "sudo",
            }
        }
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
                        streams.close();
                        return Err(ConnError::Unreachable(format!("{tool}: incorrect become password for {login}")));
                    }
                    let Some(pw) = password else {
                        return Err(ConnError::Unreachable(format!(
                            "{tool} on {login} asks for a password; set ansible_become_password or use --ask-become-pass"
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
                    if tool == "su" && prompts_answered > 0 {
                        return Err(ConnError::Unreachable(format!("su: incorrect become password for {login}")));
                    }
                    let msg = String::from_utf8_lossy(&err);
                    let hint = if msg.contains("a password is required") {
                        "; set ansible_become_password or use --ask-become-pass"
                    } else {
                        ""
                    };
                    return Err(ConnError::Unreachable(format!(
                        "{tool} on {login} did not start a shell{}{hint}",
                        tail(&err)
                    )));
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
        let p = BecomePlan::new(BecomeMethod::Sudo, "app user", true);
        assert!(p.command.starts_with("sudo -H -S -p '[orc-become-"), "{}", p.command);
        assert!(p.command.contains("-u 'app user' -- /bin/sh -c"), "{}", p.command);
        let p = BecomePlan::new(BecomeMethod::Sudo, "root", false);
        assert!(p.command.starts_with("sudo -H -n -u root -- /bin/sh -c 'echo __orc_become_ready_"));
    }
}
