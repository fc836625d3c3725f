//! Ctrl-C during a long command: orc stops what it started on every host (the command and its
//! children), says so, and exits 130; nothing it started keeps running. Locally, and over SSH
//! on a lab host through become, with and without a sudo password (the lab part needs Docker;
//! `ORC_LAB=skip` skips it, visibly).

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Project;
use lab::Lab;

/// Starts `orc play PLAYBOOK [args]` in `dir`, waits until `running()` says the long command is
/// on its host, sends SIGINT, and returns (exit code, stderr, seconds from signal to exit).
fn interrupt_when(dir: &Path, args: &[&str], running: impl Fn() -> bool) -> (Option<i32>, String, f64) {
    let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let mut child = Command::new(bin)
        .arg("play")
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting orc");
    let until = Instant::now() + Duration::from_secs(60);
    while !running() {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "orc ended ({status}) before the command ran\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(Instant::now() < until, "the long command never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let sent = Instant::now();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), sent.elapsed().as_secs_f64())
}

/// Processes on this machine whose command line contains `needle`.
fn local_processes(needle: &str) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn ctrl_c_stops_a_local_command_and_exits_130() {
    let p = Project::new().file(
        "site.yaml",
        "
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: sleep 4711; echo never
            - file: {path: '{{ playbook_dir }}/after', state: touch}
        ",
    );
    let (code, stderr, secs) = interrupt_when(p.path(), &["site.yaml"], || local_processes("sleep 4711") > 0);
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("User interrupted execution"), "{stderr}");
    // The command's subshell, its `sh -c` and the sleep (the count is what the host reported).
    assert!(stderr.contains("localhost: 3 processes stopped"), "{stderr}");
    assert!(secs < 5.0, "took {secs} s to stop");
    assert_eq!(local_processes("sleep 4711"), 0, "the command survived Ctrl-C");
    assert!(!p.join("after").exists(), "a task after the interrupt ran");
}

#[test]
fn ctrl_c_stops_commands_on_a_host_through_become_and_exits_130() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let key = lab.key_path();
    // deploy becomes root without a password, deploy2 with one: both stop paths.
    for (user, extra, tag) in [("deploy", "", "4712"), ("deploy2", " ansible_become_password=orc-lab-pw", "4713")] {
        let inv = format!(
            "[lab]\n{} ansible_host={} ansible_user={user} ansible_ssh_private_key_file={}{extra}\n",
            h.name,
            h.ip,
            key.display()
        );
        let p = Project::new().file("hosts.ini", &inv).file(
            "site.yaml",
            &format!(
                "
                - hosts: lab
                  gather_facts: false
                  become: true
                  tasks:
                    - shell: sleep {tag} & sleep {tag}; echo never
                "
            ),
        );
        let running = || lab.exec(&h.name, &format!("pgrep -u root -f '^sleep {tag}$' | wc -l")).ok().trim() == "2";
        let (code, stderr, secs) =
            interrupt_when(p.path(), &["site.yaml", "-i", "hosts.ini", "--host-key-checking", "off"], running);
        assert_eq!(code, Some(130), "{user}: {stderr}");
        // The subshell, `sh -c` and the two sleeps, all root's.
        assert!(stderr.contains(&format!("{}: 4 processes stopped", h.name)), "{user}: {stderr}");
        assert!(secs < 8.0, "{user}: took {secs} s to stop");
        let left = lab.exec(&h.name, &format!("pgrep -f '^sleep {tag}$' | wc -l"));
        assert_eq!(left.ok().trim(), "0", "{user}: the commands survived Ctrl-C on the host");
    }
}
