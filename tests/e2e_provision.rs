//! End-to-end: `playbooks/provision.yaml` (the ready baseline for container hosts) converges a
//! fresh lab host over SSH with become, a second run changes nothing, and the host really is
//! provisioned: the admin user logs in with its key and uses sudo, sshd runs the hardened
//! settings, the sysctl file is there, the packages are installed, unattended upgrades and log
//! rotation are configured. Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::time::Duration;

use common::{repo, Orc, Project};
use lab::Lab;

/// A whole provisioning run installs a few packages on a loaded machine: give it time.
const PLAY_TIMEOUT: Duration = Duration::from_secs(900);

#[test]
fn provision_playbook_converges_and_is_idempotent() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    // Connect as the unprivileged `deploy` user and become root, as on a real fleet.
    let inv = format!(
        "[lab]\n{name} ansible_host={ip} ansible_user=deploy ansible_ssh_private_key_file={key}\n",
        name = h.name,
        ip = h.ip,
        key = lab.key_path().display()
    );
    let p = Project::new().file("hosts.ini", &inv);
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let pubkey = std::fs::read_to_string(lab.key_path().with_extension("pub")).unwrap();
    let play = |extra: &[&str]| {
        Orc::play(repo("playbooks/provision.yaml"))
            .inventory(p.join("hosts.ini"))
            .extra_var("admin_authorized_keys", serde_json::json!([pubkey.trim()]))
            .args(extra)
            .env("HOME", &home)
            .env("ORC_HOST_KEY_CHECKING", "strict")
            .timeout(PLAY_TIMEOUT)
            .run()
    };

    // --check --diff on the fresh host: exit 0, a report of what would change, and no change.
    let sshd_before = sshd_started(&lab, &h.name);
    assert!(password_login(&h.ip, "deploy2", "orc-lab-pw"), "the lab's sshd must accept passwords before hardening");
    let dry = play(&["--check", "--diff"]).success();
    assert!(dry.recap(&h.name).changed > 0, "--check on a fresh host must report changes\n{dry}");
    assert!(
        format!("{}{}", dry.stdout, dry.stderr).contains("would be installed"),
        "the unknown packages are reported, not failed\n{dry}"
    );
    lab.exec(&h.name, "id admin").fails();
    lab.exec(&h.name, "test -e /etc/ssh/sshd_config.d/00-hardening.conf").fails();
    lab.exec(&h.name, "test -e /usr/bin/unattended-upgrade").fails();
    assert_eq!(sshd_started(&lab, &h.name), sshd_before, "--check must not restart sshd");

    let first = play(&[]).success();
    assert!(first.recap(&h.name).changed > 0, "a fresh host must change\n{first}");
    // The hardening is live: the handlers ran (both listen to "Restart sshd"), sshd restarted,
    // and the RUNNING daemon no longer offers or accepts password logins.
    assert!(first.stdout.contains("RUNNING HANDLER [sshd_hardening : Check the whole sshd configuration]"), "{first}");
    assert!(first.stdout.contains("RUNNING HANDLER [sshd_hardening : Restart the sshd service]"), "{first}");
    let sshd_after = sshd_started(&lab, &h.name);
    assert_ne!(sshd_after, sshd_before, "the sshd restart handler must have restarted sshd");
    let methods = auth_methods(&h.ip, "deploy2");
    assert!(!methods.contains("password"), "the running sshd still offers passwords: {methods}");
    assert!(!password_login(&h.ip, "deploy2", "orc-lab-pw"), "the running sshd still accepts a password");
    let second = play(&[]).success();
    assert_eq!(second.recap(&h.name).changed, 0, "the second run must change nothing\n{second}");
    let check = play(&["--check", "--diff"]).success();
    assert_eq!(check.recap(&h.name).changed, 0, "--check after convergence must find nothing to do\n{check}");

    // The admin user exists, logs in with its key over SSH, and sudo works without a password.
    let id = lab.exec(&h.name, "id admin");
    assert!(id.ok().contains("(adm)"), "admin must be in adm: {}", id.stdout);
    assert_eq!(lab.ssh(&h.name, "admin", "sudo -n id -u").ok().trim(), "0");
    assert_eq!(lab.exec(&h.name, "stat -c '%a %U' /etc/sudoers.d/90-provision-admin").ok().trim(), "440 root");
    lab.exec(&h.name, "visudo -c").ok();
    let keys = lab.exec(&h.name, "cat /home/admin/.ssh/authorized_keys");
    assert!(keys.ok().contains(pubkey.trim()), "{}", keys.stdout);

    // sshd: the drop-in is in effect (sshd -T prints the effective settings) and valid, and sshd
    // was restarted by the handler (it is running, and started after the drop-in was written).
    lab.exec(&h.name, "/usr/sbin/sshd -t").ok();
    let effective = lab.exec(&h.name, "/usr/sbin/sshd -T");
    for setting in
        ["passwordauthentication no", "permitrootlogin without-password", "x11forwarding no", "maxauthtries 3"]
    {
        assert!(effective.ok().lines().any(|l| l == setting), "sshd -T lacks {setting:?}:\n{}", effective.stdout);
    }
    assert_eq!(lab.exec(&h.name, "systemctl is-active ssh").ok().trim(), "active");

    // Kernel settings for container networking: persisted, and in effect.
    let sysctl = lab.exec(&h.name, "cat /etc/sysctl.d/60-container-networking.conf");
    assert!(sysctl.ok().lines().any(|l| l == "net.ipv4.ip_forward=1"), "{}", sysctl.stdout);
    if lab.exec(&h.name, "test -d /proc/sys/net/bridge").code == 0 {
        assert!(sysctl.stdout.contains("net.bridge.bridge-nf-call-iptables=1"), "{}", sysctl.stdout);
    }
    assert_eq!(lab.exec(&h.name, "cat /proc/sys/net/ipv4/ip_forward").ok().trim(), "1");

    // Packages.
    for pkg in ["curl", "less", "unattended-upgrades", "logrotate"] {
        let st = lab.exec(&h.name, &format!("dpkg-query -W -f='${{Status}}' {pkg}"));
        assert_eq!(st.ok(), "install ok installed", "{pkg}");
    }

    // Unattended security upgrades: apt sees the periodic settings and only the security origins.
    let apt = lab.exec(&h.name, "apt-config dump");
    assert!(apt.ok().contains("APT::Periodic::Unattended-Upgrade \"1\";"), "{}", apt.stdout);
    let origins: Vec<&str> =
        apt.stdout.lines().filter(|l| l.starts_with("Unattended-Upgrade::Origins-Pattern:: ")).collect();
    assert_eq!(origins.len(), 2, "{origins:?}");
    assert!(origins.iter().all(|o| o.contains("label=Debian-Security")), "{origins:?}");

    // Log rotation: the drop-in parses, and journald has its bounds.
    lab.exec(&h.name, "logrotate --debug /etc/logrotate.d/local-services").ok();
    assert_eq!(lab.exec(&h.name, "stat -c %a /var/log/local").ok().trim(), "755");
    let journald = lab.exec(&h.name, "cat /etc/systemd/journald.conf.d/60-provision.conf");
    assert!(journald.ok().contains("SystemMaxUse=1G"), "{}", journald.stdout);

    // Time sync is left alone in a container, and the play says why.
    assert!(first.stdout.contains("whose clock belongs to the host kernel"), "{first}");
    lab.exec(&h.name, "test -e /usr/sbin/chronyd").fails();

    // `-t sshd` re-applies the sshd settings alone: a drifted drop-in is rewritten, sshd is
    // restarted, and no other role's task runs.
    lab.exec(&h.name, "echo 'PasswordAuthentication yes' > /etc/ssh/sshd_config.d/00-hardening.conf").ok();
    let before_tag = sshd_started(&lab, &h.name);
    let tagged = play(&["-t", "sshd"]).success();
    assert_eq!(tagged.recap(&h.name).changed, 2, "the drop-in and the restart\n{tagged}");
    assert!(tagged.stdout.contains("TASK [sshd_hardening : Write the sshd hardening settings]"), "{tagged}");
    for other in ["base_packages :", "admin_user :", "logrotate :", "container_sysctl :"] {
        assert!(!tagged.stdout.contains(other), "-t sshd ran {other}\n{tagged}");
    }
    assert_ne!(sshd_started(&lab, &h.name), before_tag, "-t sshd must restart sshd after rewriting its settings");
    assert!(!password_login(&h.ip, "deploy2", "orc-lab-pw"), "passwords are refused again");
}

/// When the running sshd started (systemd's monotonic start stamp and main PID of ssh.service).
fn sshd_started(lab: &Lab, host: &str) -> String {
    let out = lab.exec(host, "systemctl show ssh -p ExecMainStartTimestampMonotonic -p MainPID");
    out.ok().trim().to_string()
}

/// An SSH session to the running sshd at `ip`, after the handshake (no authentication yet).
fn session(ip: &str) -> ssh2::Session {
    let tcp = std::net::TcpStream::connect((ip, 22)).unwrap_or_else(|e| panic!("connect {ip}:22: {e}"));
    let mut s = ssh2::Session::new().unwrap();
    s.set_tcp_stream(tcp);
    s.set_timeout(20_000);
    s.handshake().unwrap_or_else(|e| panic!("ssh handshake with {ip}: {e}"));
    s
}

/// The authentication methods the running sshd offers `user` (comma-separated).
fn auth_methods(ip: &str, user: &str) -> String {
    session(ip).auth_methods(user).map(str::to_string).unwrap_or_else(|e| panic!("auth methods: {e}"))
}

/// Whether the running sshd lets `user` in with `password`.
fn password_login(ip: &str, user: &str, password: &str) -> bool {
    let s = session(ip);
    s.userauth_password(user, password).is_ok() && s.authenticated()
}

#[test]
fn provision_playbook_refuses_to_lock_the_admin_out() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let p = Project::new();
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    // No admin_authorized_keys while password logins are disabled (the default): the play stops
    // at the sshd_hardening assertion, before the sshd drop-in is written.
    let out = Orc::play(repo("playbooks/provision.yaml"))
        .inventory(lab.inventory_path())
        .extra_var("base_packages", serde_json::json!([]))
        .env("HOME", &home)
        .timeout(PLAY_TIMEOUT)
        .run()
        .code(2);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(said.contains("admin_authorized_keys is empty"), "{out}");
    assert_eq!(out.recap(&h.name).failed, 1, "{out}");
    lab.exec(&h.name, "test -e /etc/ssh/sshd_config.d/00-hardening.conf").fails();
}
