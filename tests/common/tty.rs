//! Runs orc on a pseudo-terminal (its controlling terminal), answering prompts as they appear.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the terminal showed, and the exit code.
pub struct Session {
    pub screen: String,
    pub code: Option<i32>,
}

/// Runs `orc ARGS` in `dir` on a new terminal; for each (prompt, answer), waits for the
/// prompt to appear and types the answer and Enter.
pub fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], answers: &[(&str, &str)]) -> Session {
    let (mut master, slave) = openpty();
    let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    for (k, v) in env {
        cmd.env(k, v);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // closes our copies of the terminal's slave side
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut reader = master.try_clone().unwrap();
    let seen = screen.clone();
    let pump = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        // Ends with EIO when the child and its terminal are gone.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut from = 0;
    for (prompt, answer) in answers {
        loop {
            let text = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
            if let Some(i) = text[from..].find(prompt) {
                from += i + prompt.len();
                break;
            }
            assert!(Instant::now() < deadline, "no prompt {prompt:?} on the terminal:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
        master.write_all(format!("{answer}\n").as_bytes()).unwrap();
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "orc did not finish");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(master);
    let _ = pump.join();
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).replace("\r\n", "\n");
    Session { screen, code: status.code() }
}

fn openpty() -> (std::fs::File, OwnedFd) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and ours alone.
    unsafe { (std::fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}
