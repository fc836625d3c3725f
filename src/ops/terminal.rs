//! Talking to the user's terminal for `orc vault`: password prompts (no echo), visible prompts,
//! and the pager `view` shows plaintext through. Only ops talks to the terminal
//! (docs/architecture.md).

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

/// Asks for vault passwords on the controlling terminal (`/dev/tty`), as Ansible does, so that
/// standard input and output stay free for data.
pub(crate) struct TerminalPrompter;

impl crate::vault::Prompter for TerminalPrompter {
    fn available(&self) -> bool {
        super::has_terminal()
    }

    fn ask_hidden(&mut self, prompt: &str) -> std::io::Result<Zeroizing<String>> {
        ask_hidden(prompt)
    }
}

/// Shows `prompt` on the terminal and reads a line without echo; the newline is removed.
///
/// Echo is off BEFORE the prompt shows (rpassword shows the prompt first): what is typed or
/// pasted as soon as the prompt appears is never echoed.
pub(crate) fn ask_hidden(prompt: &str) -> std::io::Result<Zeroizing<String>> {
    use std::os::unix::io::AsRawFd;
    let tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for an open terminal descriptor.
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open for the life of `tty`; `term` is a valid termios.
    if unsafe { libc::tcgetattr(fd, &mut term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let saved = term;
    term.c_lflag &= !libc::ECHO;
    term.c_lflag |= libc::ECHONL;
    // SAFETY: as above.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let read = (|| {
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = Zeroizing::new(String::new());
        std::io::BufReader::new(&tty).read_line(&mut line)?;
        let len = line.trim_end_matches(['\r', '\n']).len();
        line.truncate(len);
        Ok(line)
    })();
    // SAFETY: as above; the terminal gets its settings back whatever happened.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    read
}

/// Shows `prompt` on the terminal and reads a line, echoed (a variable name, or a string with
/// `--show-input`); the newline is removed.
pub(crate) fn ask_visible(prompt: &str) -> std::io::Result<Zeroizing<String>> {
    let mut tty = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty")?;
    tty.write_all(prompt.as_bytes())?;
    tty.flush()?;
    let mut line = Zeroizing::new(String::new());
    std::io::BufReader::new(tty).read_line(&mut line)?;
    let len = line.trim_end_matches(['\r', '\n']).len();
    line.truncate(len);
    Ok(line)
}

/// Shows `text` through the pager on a terminal (`$PAGER`, else `$ANSIBLE_PAGER`, else `less`
/// with LESS=FRSX, as Ansible), or writes it when there is no pager.
pub(crate) fn page(text: &[u8]) -> std::io::Result<()> {
    let set = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let less_works = || {
        let quiet = Command::new("less").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        quiet.is_ok_and(|s| s.success())
    };
    let pager = match set("PAGER").or_else(|| set("ANSIBLE_PAGER")) {
        Some(p) => p,
        None if less_works() => "less".to_string(),
        None => return write_stdout(text),
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(&pager).stdin(Stdio::piped());
    if pager.contains("less") {
        cmd.env("LESS", "FRSX");
    }
    match cmd.spawn() {
        Ok(mut child) => {
            if let Some(mut stdin) = child.stdin.take() {
                // The user may quit the pager before reading everything: not an error.
                let _ = stdin.write_all(text);
            }
            child.wait()?;
            Ok(())
        }
        Err(_) => write_stdout(text),
    }
}

/// Writes `text` to standard output.
fn write_stdout(text: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text)?;
    out.flush()
}
