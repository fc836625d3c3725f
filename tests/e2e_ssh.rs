//! End-to-end over SSH against real lab hosts (tests/lab): convergence and idempotence, become
//! with and without a sudo password, host key checking, ProxyJump through a bastion, a host that
//! drops mid-play, ad-hoc commands, and the one-line reason for each way a host can be lost.
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{unindent, Orc, Project};
use lab::{Lab, LabSpec};

/// A HOME for orc with `known_hosts` trusting every directly reachable lab host, and an SSH config
/// that logs in to the bastion with the lab key (for ProxyJump).
fn home_for(lab: &Lab, p: &Project) -> std::path::PathBuf {
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let bastion = lab.hosts().iter().find(|h| !h.isolated).unwrap();
    let config = format!("Host {}\n  User root\n  IdentityFile {}\n", bastion.ip, lab.key_path().display());
    std::fs::write(home.join(".ssh/config"), config).unwrap();
    home
}

fn orc_in(home: &Path) -> impl Fn(Orc) -> Orc + '_ {
    move |o: Orc| o.env("HOME", home).env("ORC_HOST_KEY_CHECKING", "strict")
}

/// Replaces what changes from run to run (lab names, addresses, temp paths, fingerprints).
fn redact(text: &str, lab: &Lab, dir: &Path) -> String {
    let t = common::redact(text, dir).replace(lab.name(), "lab");
    let t = regex::Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").unwrap().replace_all(&t, "IP");
    let t = regex::Regex::new(r"SHA256:[A-Za-z0-9+/]+").unwrap().replace_all(&t, "SHA256:[FP]");
    t.into_owned()
}

const CONVERGE: &str = r#"
- hosts: lab
  gather_facts: true
  vars:
    root: /srv/orc-e2e
  tasks:
    - file: {path: "{{ root }}/etc", state: directory, mode: "0755"}
    - copy:
        dest: "{{ root }}/etc/motd"
        content: "managed by orc on {{ inventory_hostname }} ({{ ansible_distribution }} {{ ansible_distribution_major_version }})\n"
      notify: note
    - template: {src: app.j2, dest: "{{ root }}/etc/app.conf", mode: "0640"}
    - lineinfile: {path: "{{ root }}/etc/settings", line: "workers = {{ ansible_processor_vcpus }}", create: true}
    - command: touch {{ root }}/stamp
      args: {creates: "{{ root }}/stamp"}
  handlers:
    - name: note
      shell: echo noted >> {{ root }}/handler.log
"#;

#[test]
fn converges_over_ssh_and_is_idempotent() {
    let Some(lab) = Lab::start(3) else { return };
    let p = Project::new()
        .file("site.yaml", &unindent(CONVERGE))
        .file("templates/app.j2", "host={{ inventory_hostname }}\nhosts={{ groups['lab'] | join(',') }}\n");
    let home = home_for(&lab, &p);
    let with = orc_in(&home);
    let first = with(p.play("site.yaml").inventory(lab.inventory_path())).run().success();
    for h in lab.hosts() {
        assert_eq!(first.recap(&h.name).changed, 6, "{first}");
    }
    let second = with(p.play("site.yaml").inventory(lab.inventory_path())).run().success();
    for h in lab.hosts() {
        assert_eq!(second.recap(&h.name).changed, 0, "{second}");
        let motd = lab.exec(&h.name, "cat /srv/orc-e2e/etc/motd");
        assert!(motd.ok().starts_with(&format!("managed by orc on {} (Debian ", h.name)), "{}", motd.stdout);
        assert_eq!(lab.exec(&h.name, "stat -c %a /srv/orc-e2e/etc/app.conf").ok().trim(), "640");
        assert_eq!(lab.exec(&h.name, "cat /srv/orc-e2e/handler.log").ok(), "noted\n");
    }
}

#[test]
fn become_with_and_without_a_sudo_password() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let key = lab.key_path();
    let inv = format!(
        "[nopw]\nnopw ansible_host={ip} ansible_user=deploy ansible_ssh_private_key_file={k}\n\
         [pw]\npw ansible_host={ip} ansible_user=deploy2 ansible_ssh_private_key_file={k} ansible_become_password=orc-lab-pw\n",
        ip = h.ip,
        k = key.display()
    );
    let play = r#"
    - hosts: all
      gather_facts: false
      tasks:
        - command: id -un
          register: plain
        - command: id -un
          become: true
          register: root
        - copy: {dest: "/root/written-by-{{ inventory_hostname }}", content: "x\n"}
          become: true
        - assert:
            that: [plain.stdout == ansible_user, root.stdout == 'root']
    "#;
    let p = Project::new().file("hosts.ini", &inv).file("site.yaml", &unindent(play));
    let home = home_for(&lab, &p);
    let out = orc_in(&home)(p.play("site.yaml").inventory(p.join("hosts.ini"))).run().success();
    let out = out.recap_is("nopw", "ok=4 changed=3").recap_is("pw", "ok=4 changed=3");
    for name in ["nopw", "pw"] {
        assert_eq!(lab.exec(&h.name, &format!("stat -c %U /root/written-by-{name}")).ok().trim(), "root");
    }
    // The password never shows in the output.
    assert!(!out.stdout.contains("orc-lab-pw") && !out.stderr.contains("orc-lab-pw"), "{out}");
}

#[test]
fn unknown_host_key_is_refused_then_accepted_with_accept_new() {
    let Some(lab) = Lab::start(1) else { return };
    let p = Project::new();
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    let refused =
        Orc::new().args(["run", "all", "-m", "ping", "-i"]).arg(lab.inventory_path()).env("HOME", &home).run().code(4);
    assert!(refused.stdout.contains("is not known") && refused.stdout.contains("SHA256:"), "{refused}");
    assert!(refused.stdout.contains("accept-new"), "the message must say how to accept the key\n{refused}");
    let accepted = Orc::new()
        .args(["run", "all", "-m", "ping", "--host-key-checking", "accept-new", "-i"])
        .arg(lab.inventory_path())
        .env("HOME", &home)
        .run()
        .success();
    assert!(accepted.stdout.contains("\"ping\": \"pong\""), "{accepted}");
    let known = std::fs::read_to_string(home.join(".ssh/known_hosts")).unwrap();
    assert!(known.contains(&lab.hosts()[0].ip), "accept-new must record the key: {known}");
    // Now strict checking accepts it.
    Orc::new().args(["run", "all", "-m", "ping", "-i"]).arg(lab.inventory_path()).env("HOME", &home).run().success();
}

#[test]
fn proxy_jump_reaches_a_host_only_the_bastion_can_reach() {
    let Some(lab) = Lab::start_with(LabSpec { hosts: 2, isolated: 1 }) else { return };
    let inner = lab.hosts().iter().find(|h| h.isolated).unwrap();
    let p = Project::new();
    let home = home_for(&lab, &p);
    // The isolated host's key is not in known_hosts (it is not reachable from here): accept it.
    let out = Orc::new()
        .args(["run", &inner.name, "-m", "shell", "-a", "uname -n", "--host-key-checking", "accept-new", "-i"])
        .arg(lab.inventory_path())
        .env("HOME", &home)
        .run()
        .success();
    assert!(out.stdout.contains(&format!("{} | CHANGED | rc=0 >>\n{}", inner.name, inner.name)), "{out}");
}

#[test]
fn a_host_dropped_mid_play_is_unreachable_and_the_others_finish() {
    let Some(lab) = Lab::start(3) else { return };
    let play = r#"
    - hosts: lab
      gather_facts: false
      tasks:
        - command: "true"
        - command: sleep 4
        - copy: {dest: /tmp/finished, content: "yes\n"}
    "#;
    let p = Project::new().file("site.yaml", &unindent(play));
    let home = home_for(&lab, &p);
    let bin = env!("CARGO_BIN_EXE_orc");
    let child = Command::new(bin)
        .args(["play", "site.yaml", "--task-timeout", "8", "-T", "5", "-i"])
        .arg(lab.inventory_path())
        .current_dir(p.path())
        .env("HOME", &home)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drop host 2 while the hosts sleep.
    std::thread::sleep(Duration::from_millis(2500));
    let victim = &lab.hosts()[1];
    lab.stop_host(&victim.name);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(started.elapsed() < Duration::from_secs(60), "orc took too long after the host dropped");
    assert_eq!(out.status.code(), Some(4), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let recap = |host: &str| {
        stdout
            .lines()
            .find_map(|l| common::Recap::parse_line(l, host))
            .unwrap_or_else(|| panic!("no recap for {host}\n{stdout}"))
    };
    let unreachable = recap(&victim.name);
    assert_eq!(unreachable.unreachable, 1, "{stdout}");
    for h in lab.hosts().iter().filter(|h| h.name != victim.name) {
        let r = recap(&h.name);
        assert_eq!((r.ok, r.failed, r.unreachable), (3, 0, 0), "{stdout}");
        assert_eq!(lab.exec(&h.name, "cat /tmp/finished").ok(), "yes\n");
    }
}

#[test]
fn ad_hoc_shell_prints_each_hosts_name() {
    let Some(lab) = Lab::start(3) else { return };
    let p = Project::new();
    let home = home_for(&lab, &p);
    let out =
        orc_in(&home)(Orc::new().args(["run", "all", "-m", "shell", "-a", "uname -n", "-i"]).arg(lab.inventory_path()))
            .run()
            .success();
    for h in lab.hosts() {
        assert!(out.stdout.contains(&format!("{} | CHANGED | rc=0 >>\n{}\n", h.name, h.name)), "{out}");
    }
}

#[test]
fn each_way_of_losing_a_host_has_a_one_line_reason() {
    let Some(lab) = Lab::start(2) else { return };
    let [h1, h2] = lab.hosts() else { panic!("two hosts") };
    let key = lab.key_path();
    let p = Project::new();
    let other_key = p.join("other_key");
    let made =
        Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&other_key).status().unwrap();
    assert!(made.success());
    let inv = format!(
        "good ansible_host={ip1} ansible_user=root ansible_ssh_private_key_file={k}\n\
         refused ansible_host=127.0.0.1 ansible_port=1 ansible_user=root ansible_ssh_private_key_file={k}\n\
         wrong_key ansible_host={ip1} ansible_user=root ansible_ssh_private_key_file={ok}\n\
         unknown_key ansible_host={ip2} ansible_user=root ansible_ssh_private_key_file={k}\n\
         wrong_sudo ansible_host={ip1} ansible_user=deploy2 ansible_ssh_private_key_file={k} ansible_become=true ansible_become_password=not-it\n",
        ip1 = h1.ip,
        ip2 = h2.ip,
        k = key.display(),
        ok = other_key.display()
    );
    let p = p.file("hosts.ini", &inv).file(
        "site.yaml",
        &unindent(
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - ping:
            "#,
        ),
    );
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    // Only host 1's key is known.
    std::fs::write(home.join(".ssh/known_hosts"), format!("{}\n", lab.known_hosts_line(&h1.name))).unwrap();
    // A wrong become password is no lost host: the task fails with Ansible's message, and a
    // failed host makes the exit code 2 (docs/cli.md, "Exit codes").
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).env("HOME", &home).run().code(2);
    assert_eq!(out.recap("wrong_sudo").failed, 1, "{out}");
    assert_eq!(out.recap("wrong_sudo").unreachable, 0, "{out}");
    let shown = redact(&out.stdout, &lab, p.path());
    insta::assert_snapshot!("losing_a_host", shown);
    for line in shown.lines().filter(|l| l.starts_with("fatal:")) {
        assert!(!line.contains('\n'));
    }
}

#[test]
fn connection_flags_an_ansible_user_types_and_the_inventory_wins_over_them() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let key = lab.key_path();
    let inv = format!("[bare]\nbare ansible_host={ip}\n[own]\nown ansible_host={ip} ansible_user=deploy\n", ip = h.ip);
    let p = Project::new().file("hosts.ini", &inv).file("pw.txt", "orc-lab-pw\n");
    let home = home_for(&lab, &p);
    let whoami = |host: &str, flags: &[&str]| {
        let o = Orc::new()
            .args(["run", host, "-m", "command", "-a", "id -un", "-i"])
            .arg(p.join("hosts.ini"))
            .args(flags)
            .env_remove_agent();
        orc_in(&home)(o).run()
    };
    // --private-key and -u for a host whose inventory sets neither.
    let k = key.display().to_string();
    whoami("bare", &["-u", "root", "--private-key", &k]).success().stdout_has("bare | CHANGED | rc=0 >>\nroot");
    // The inventory's ansible_user wins over -u, as in Ansible.
    whoami("own", &["-u", "root", "--private-key", &k]).success().stdout_has("own | CHANGED | rc=0 >>\ndeploy");
    // A password from --connection-password-file (no key offered: an empty HOME, no agent).
    let empty = p.join("empty-home");
    std::fs::create_dir_all(empty.join(".ssh")).unwrap();
    lab.write_known_hosts(&empty.join(".ssh/known_hosts"));
    let pw = Orc::new()
        .args(["run", "bare", "-m", "command", "-a", "id -un", "-u", "deploy2", "--connection-password-file"])
        .arg(p.join("pw.txt"))
        .arg("-i")
        .arg(p.join("hosts.ini"))
        .env_remove_agent()
        .env("HOME", &empty)
        .env("ORC_HOST_KEY_CHECKING", "strict")
        .run()
        .success();
    let pw = pw.stdout_has("bare | CHANGED | rc=0 >>\ndeploy2");
    assert!(!pw.stdout.contains("orc-lab-pw") && !pw.stderr.contains("orc-lab-pw"), "{pw}");
    // --ssh-common-args as ansible_ssh_common_args: the user comes from `-o User=`.
    whoami("bare", &["--private-key", &k, "--ssh-common-args", "-o User=deploy"])
        .success()
        .stdout_has("bare | CHANGED | rc=0 >>\ndeploy");
    // --ssh-extra-args as ansible_ssh_extra_args, the same way.
    whoami("bare", &["--private-key", &k, "--ssh-extra-args", "-o User=deploy"])
        .success()
        .stdout_has("bare | CHANGED | rc=0 >>\ndeploy");
}

#[test]
fn very_verbose_shows_how_the_connection_was_made_without_colour_codes() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let inv = format!(
        "[lab]\n{} ansible_host={} ansible_user=deploy ansible_ssh_private_key_file={} ansible_become=true\n",
        h.name,
        h.ip,
        lab.key_path().display()
    );
    let p = Project::new().file("hosts.ini", &inv);
    let home = home_for(&lab, &p);
    let o = Orc::new().args(["run", "all", "-m", "ping", "-vvv", "-i"]).arg(p.join("hosts.ini")).env_remove_agent();
    let out = orc_in(&home)(o).run().success();
    let err = &out.stderr;
    for line in [
        format!("<{}> ssh: connecting to {}:22 as deploy, timeout 10 s, direct; keys: {} (configured); agent: none; password: none; host key checking: strict", h.name, h.ip, lab.key_path().display()),
        format!("<{}> ssh: the server's host key is SHA256:", h.name),
        format!("<{}> ssh: host key matches", h.name),
        format!("<deploy@{}> ssh: the server accepts: publickey,password", h.ip),
        format!("<deploy@{}> ssh: authenticated with key {}", h.ip, lab.key_path().display()),
        format!("<{}> become: sudo as root, without a password", h.name),
        format!("<{}> ssh: the persistent shell runs (pid ", h.name),
    ] {
        assert!(err.contains(&line), "-vvv lacks {line:?}\n{out}");
    }
    assert!(!err.contains('\u{1b}'), "ANSI escapes in a log that is not a terminal\n{out}");
}
