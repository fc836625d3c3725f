//! Ctrl-C (SIGINT) and SIGTERM: stop what orc started on every host, then exit 130.
//!
//! The first signal only raises a flag (and says so on stderr). Every command orc is waiting for
//! notices it within a fraction of a second (`connection::framing` polls the flag while it
//! waits), and the connection that ran it stops the processes it started on the host: the
//! descendants of its persistent shell, killed through a second channel of the same SSH session
//! (through become when the shell runs as another user), or locally. The engine starts no
//! further task, and `main` exits 130 listing what was stopped. A second signal, or cleanup that
//! takes longer than [`GRACE`], exits at once.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long stopping the hosts' commands may take before orc exits anyway.
pub const GRACE: Duration = Duration::from_secs(15);

/// What a command interrupted by the user reports (the host's result is not shown).
pub const INTERRUPTED: &str = "interrupted by the user";

static FLAG: AtomicBool = AtomicBool::new(false);
/// The write end of the pipe that wakes the watchdog thread (-1 before [`install`]).
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// What was stopped where, for the final message.
static STOPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether the user asked orc to stop.
pub fn interrupted() -> bool {
    FLAG.load(Ordering::SeqCst)
}

/// Raises the flag as a signal would (for tests of the code paths that react to it).
pub fn request() {
    FLAG.store(true, Ordering::SeqCst);
}

/// Records that `what` was stopped (one line of the final message, e.g. `web1: 2 processes`).
pub fn record_stopped(what: String) {
    STOPPED.lock().unwrap_or_else(|p| p.into_inner()).push(what);
}

/// Everything recorded with [`record_stopped`], in order.
pub fn stopped() -> Vec<String> {
    STOPPED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Installs the SIGINT/SIGTERM handler and the watchdog thread that bounds the cleanup.
pub fn install() {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == 0 {
        WAKE.store(fds[1], Ordering::SeqCst);
        let read_fd = fds[0];
        let spawned = std::thread::Builder::new().name("orc-interrupt".into()).spawn(move || {
            let mut byte = 0u8;
            // SAFETY: reads one byte into a valid buffer from our own pipe.
            let n = unsafe { libc::read(read_fd, (&mut byte as *mut u8).cast(), 1) };
            if n == 1 {
                std::thread::sleep(GRACE);
                const MSG: &[u8] = b"[ERROR]: stopping the commands on the hosts took too long; exiting\n";
                // SAFETY: write(2) and _exit(2) on valid arguments.
                unsafe {
                    libc::write(2, MSG.as_ptr().cast(), MSG.len());
                    libc::_exit(130);
                }
            }
        });
        if spawned.is_err() {
            WAKE.store(-1, Ordering::SeqCst);
        }
    }
    // SAFETY: installs a handler that only performs async-signal-safe calls (atomics, write(2),
    // _exit(2)).
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    const FIRST: &[u8] =
        b"\n[ERROR]: User interrupted execution; stopping what orc started on the hosts (again to quit at once)\n";
    const SECOND: &[u8] = b"\n[ERROR]: User interrupted execution\n";
    // Only async-signal-safe calls here.
    if FLAG.swap(true, Ordering::SeqCst) {
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, SECOND.as_ptr().cast(), SECOND.len());
            libc::_exit(130);
        }
    }
    let wake = WAKE.load(Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; `wake` is our pipe's write end or -1 (then skipped).
    unsafe {
        libc::write(2, FIRST.as_ptr().cast(), FIRST.len());
        if wake >= 0 {
            libc::write(wake, b"x".as_ptr().cast(), 1);
        } else {
            libc::_exit(130);
        }
    }
}

/// A POSIX sh script that stops every process below the shell with process id `shell_pid` (the
/// command it runs and that command's children), found through /proc: TERM first, KILL for
/// what is left a second later. It prints `stopped N` with the number of processes found.
pub fn stop_script(shell_pid: u32) -> String {
    format!(
        r#"kids() {{ for f in /proc/[0-9]*/stat; do read -r a b c d e < "$f" 2>/dev/null || continue; [ "$d" = "$1" ] && echo "$a"; done; }}
all=""; todo={shell_pid}; n=0
while [ -n "$todo" ]; do next=""; for t in $todo; do for k in $(kids "$t"); do next="$next $k"; all="$all $k"; n=$((n+1)); done; done; todo=$next; done
if [ -n "$all" ]; then kill -TERM $all 2>/dev/null; sleep 1; kill -KILL $all 2>/dev/null; fi
echo "stopped $n""#
    )
}

/// The count a [`stop_script`] run printed, as the final message words it.
pub fn describe_stopped(host: &str, output: &str) -> String {
    let n: usize =
        output.lines().rev().find_map(|l| l.strip_prefix("stopped ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    match n {
        0 => format!("{host}: nothing was running"),
        1 => format!("{host}: 1 process stopped"),
        n => format!("{host}: {n} processes stopped"),
    }
}

/// How often a command's wait checks whether the user interrupted.
pub const POLL: Duration = Duration::from_millis(200);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_script_kills_a_shells_descendants_only() {
        // A shell running a sleep in a subshell, as the framing protocol runs commands.
        let mut child = std::process::Command::new("sh").args(["-c", "( sleep 30; true ) & wait"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let out = std::process::Command::new("sh").arg("-c").arg(stop_script(child.id())).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(describe_stopped("h", &text), "h: 2 processes stopped", "{text}");
        // The shell itself survives the kill of its children and then ends normally.
        let status = child.wait().unwrap();
        assert!(status.success() || status.code().is_some(), "{status:?}");
    }
}
