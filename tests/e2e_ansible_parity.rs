//! Acceptance 1 of the provisioning issue: a provisioning playbook written only with
//! ansible.builtin modules (tests/fixtures/provision_parity/) runs on a fresh lab host with
//! become; orc's first run exits 0, its second run changes nothing, and then the real
//! `ansible-playbook --check --diff` on the same host finds nothing to change either: orc left the
//! host exactly as Ansible would (same files, same markers, same facts rendered).
//!
//! ansible-playbook comes from `$ORC_ANSIBLE_PLAYBOOK`, else `tests/.venv/bin/ansible-playbook`
//! (tests/run.sh creates that virtualenv). Without either the test FAILS, saying how to get one:
//! a parity test that cannot compare must not pass. Needs Docker; `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{repo, Orc, Outcome, Project, Recap};
use lab::Lab;

/// A provisioning run installs a package on a loaded machine: give it time.
const PLAY_TIMEOUT: Duration = Duration::from_secs(900);

use common::ansible::ansible_playbook;

/// Runs ansible-playbook with `args` (killed after `PLAY_TIMEOUT`) and returns what happened.
fn run_ansible(bin: &PathBuf, args: &[&std::ffi::OsStr], home: &std::path::Path) -> Outcome {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Lab addresses are reused by later labs with other host keys: check and record none
        // (docs/lab.md). A throwaway HOME keeps ~/.ansible out of the user's.
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .env("ANSIBLE_SSH_ARGS", "-o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no")
        .env("ANSIBLE_PIPELINING", "True")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_FORCE_COLOR", "0")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "False")
        .env("HOME", home);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("could not start {}: {e}", bin.display()));
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let deadline = Instant::now() + PLAY_TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let outcome = Outcome {
        command: format!(
            "{} {}",
            bin.display(),
            args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
        ),
        code: status.and_then(|s| s.code()),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(status.is_some(), "ansible-playbook timed out after {PLAY_TIMEOUT:?}\n{outcome}");
    outcome
}

#[test]
fn builtin_provisioning_playbook_leaves_the_host_as_ansible_would() {
    // Find ansible-playbook first: without it the test fails before starting anything.
    let ansible = ansible_playbook();
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    // As on a real fleet: an unprivileged user that becomes root with sudo.
    let inv = format!(
        "[lab]\n{name} ansible_host={ip} ansible_user=deploy ansible_ssh_private_key_file={key} \
         ansible_python_interpreter=/usr/bin/python3\n",
        name = h.name,
        ip = h.ip,
        key = lab.key_path().display()
    );
    let p = Project::new().file("hosts.ini", &inv);
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let site = repo("tests/fixtures/provision_parity/site.yml");
    let orc = || {
        Orc::play(&site)
            .inventory(p.join("hosts.ini"))
            .env("HOME", &home)
            .env("ORC_HOST_KEY_CHECKING", "strict")
            .timeout(PLAY_TIMEOUT)
            .run()
    };

    let first = orc().success();
    assert!(first.recap(&h.name).changed > 0, "a fresh host must change\n{first}");
    let second = orc().success();
    assert_eq!(second.recap(&h.name).changed, 0, "orc's second run must change nothing\n{second}");

    // The end state, checked independently of both tools.
    assert_eq!(lab.exec(&h.name, "systemctl is-active statuspage").ok().trim(), "active");
    assert_eq!(lab.exec(&h.name, "systemctl is-enabled statuspage").ok().trim(), "enabled");
    let page = lab.exec(
        &h.name,
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8089/').read().decode())\"",
    );
    assert!(page.ok().contains(&format!("host: {}\n", h.name)), "{}", page.stdout);
    let crontab = lab.exec(&h.name, "crontab -l");
    assert!(crontab.ok().contains("#Ansible: statuspage cleanup\n*/15 * * * * find "), "{}", crontab.stdout);
    assert!(lab.exec(&h.name, "grep -x 'UMASK\t\t027' /etc/login.defs").code == 0, "login.defs was not edited");
    lab.exec(&h.name, "/usr/sbin/sshd -t && visudo -c").ok();
    assert!(
        lab.exec(&h.name, "/usr/sbin/sshd -T").ok().lines().any(|l| l == "clientaliveinterval 120"),
        "the sshd drop-in is not in effect"
    );

    // Ansible itself, in check mode, must find nothing to change on the host orc provisioned.
    let ansible_home = p.join("ansible-home");
    std::fs::create_dir_all(&ansible_home).unwrap();
    let inv_path = p.join("hosts.ini");
    let args: Vec<&std::ffi::OsStr> =
        vec!["-i".as_ref(), inv_path.as_os_str(), "--check".as_ref(), "--diff".as_ref(), site.as_os_str()];
    let check = run_ansible(&ansible, &args, &ansible_home);
    assert_eq!(check.code, Some(0), "ansible-playbook --check --diff failed\n{check}");
    let recap = check
        .stdout
        .lines()
        .rev()
        .find_map(|l| Recap::parse_line(l, &h.name))
        .unwrap_or_else(|| panic!("no PLAY RECAP line for {} in Ansible's output\n{check}", h.name));
    assert_eq!(recap.failed + recap.unreachable, 0, "{check}");
    assert_eq!(recap.changed, 0, "Ansible would still change the host orc provisioned (see its diff)\n{check}");
}
