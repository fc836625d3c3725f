//! Smoke tests of the lab itself (tests/lab): the hosts other end-to-end tests run against are
//! real systemd hosts that accept the lab key for root and the sudo users, each with its own host
//! key, that can be dropped off the network, that can sit behind a bastion, and that are all
//! removed afterwards. Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

#[path = "lab/mod.rs"]
mod lab;

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use lab::{Lab, LabSpec};

/// Names of the containers and networks Docker still has for a lab.
fn docker_leftovers(lab_name: &str) -> String {
    let filter = format!("label=orc-lab={lab_name}");
    let containers = Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output().unwrap();
    let networks = Command::new("docker").args(["network", "ls", "-q", "--filter", &filter]).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&containers.stdout), String::from_utf8_lossy(&networks.stdout))
}

fn can_connect(ip: &str, port: u16) -> bool {
    let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
    TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok()
}

#[test]
fn lab_hosts_are_real_systemd_hosts_reachable_with_the_lab_key() {
    let Some(lab) = Lab::start(2) else { return };
    let name = lab.name().to_string();
    let [h1, h2] = lab.hosts() else { panic!("expected 2 hosts, got {:?}", lab.hosts()) };
    assert_eq!(h1.name, format!("{name}-1"));
    assert_eq!(h2.name, format!("{name}-2"));
    assert_ne!(h1.ip, h2.ip);
    assert!(!h1.isolated && !h2.isolated);

    for host in lab.hosts() {
        // systemd is PID 1 and the boot finished.
        assert_eq!(lab.exec(&host.name, "cat /proc/1/comm").ok().trim(), "systemd");
        let state = lab.exec(&host.name, "systemctl is-system-running || true");
        let state = state.stdout.trim();
        assert!(state == "running" || state == "degraded", "{}: systemctl is-system-running says {state:?}", host.name);
        // root and deploy log in with the lab key; the hostname is the inventory name.
        assert_eq!(lab.ssh(&host.name, "root", "uname -n").ok().trim(), host.name);
        assert_eq!(lab.ssh(&host.name, "deploy", "id -un").ok().trim(), "deploy");
        // deploy: passwordless sudo. deploy2: sudo wants its password, and takes it.
        assert_eq!(lab.ssh(&host.name, "deploy", "sudo -n id -un").ok().trim(), "root");
        lab.ssh(&host.name, "deploy2", "sudo -n true").fails();
        let with_password = "echo orc-lab-pw | sudo -S -p '' id -un";
        assert_eq!(lab.ssh(&host.name, "deploy2", with_password).ok().trim(), "root");
        // python3 is there (for ansible-core on the same hosts).
        lab.ssh(&host.name, "root", "python3 -c 'print(1)'").ok();
    }

    // Each host generated its own host key at boot.
    let (k1, k2) = (lab.host_key(&h1.name), lab.host_key(&h2.name));
    assert!(k1.starts_with("ssh-ed25519 "), "{k1}");
    assert_ne!(k1, k2, "two lab hosts share a host key");
    assert_eq!(lab.known_hosts_line(&h1.name), format!("{} {k1}", h1.ip));
    let known = lab.dir().join("known_hosts");
    lab.write_known_hosts(&known);
    let text = std::fs::read_to_string(&known).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    // The file proves the host's identity to a strict client.
    let strict = Command::new("ssh")
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known.display()))
        .arg("-i")
        .arg(lab.key_path())
        .arg(format!("root@{}", h1.ip))
        .arg("true")
        .output()
        .unwrap();
    assert!(
        strict.status.success(),
        "strict ssh with the lab's known_hosts failed: {}",
        String::from_utf8_lossy(&strict.stderr)
    );

    // The inventory names every host with its address, the user and the key.
    let inventory = std::fs::read_to_string(lab.inventory_path()).unwrap();
    let key = lab.key_path();
    for host in lab.hosts() {
        let line = format!(
            "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={}",
            host.name,
            host.ip,
            key.display()
        );
        assert!(inventory.contains(&line), "no line {line:?} in:\n{inventory}");
    }

    // A stopped host drops off the network (connecting times out, as with a dead machine);
    // the other one is unaffected.
    lab.stop_host(&h2.name);
    assert!(!can_connect(&h2.ip, 22), "{} still answers after stop_host", h2.name);
    lab.ssh(&h1.name, "root", "true").ok();

    drop(lab);
    assert_eq!(docker_leftovers(&name), "", "the lab left containers or networks");
}

#[test]
fn isolated_hosts_are_reachable_only_through_the_bastion() {
    let Some(lab) = Lab::start_with(LabSpec { hosts: 3, isolated: 1 }) else {
        return;
    };
    let name = lab.name().to_string();
    let (bastion, inner) = (lab.bastion().clone(), lab.hosts()[2].clone());
    assert!(!bastion.isolated && !lab.hosts()[1].isolated);
    assert!(inner.isolated);

    // This machine cannot reach the isolated host; the bastion can, and SSH through it works.
    assert!(can_connect(&bastion.ip, 22));
    assert!(!can_connect(&inner.ip, 22), "the isolated host is reachable directly");
    let probe = format!("exec 3<>/dev/tcp/{}/22 && head -c 7 <&3", inner.ip);
    let banner = lab.exec(&bastion.name, &format!("bash -c '{probe}'"));
    assert_eq!(banner.ok(), "SSH-2.0");
    assert_eq!(lab.ssh(&inner.name, "root", "uname -n").ok().trim(), inner.name);

    let inventory = std::fs::read_to_string(lab.inventory_path()).unwrap();
    assert!(inventory.contains(&format!("[bastion]\n{}\n", bastion.name)), "{inventory}");
    assert!(inventory.contains(&format!("[isolated]\n{}\n", inner.name)), "{inventory}");
    assert!(inventory.contains(&format!("ansible_ssh_common_args='-o ProxyJump=root@{}'", bastion.ip)), "{inventory}");

    drop(lab);
    assert_eq!(docker_leftovers(&name), "", "the lab left containers or networks");
    let rules = Command::new("iptables").args(["-S", "OUTPUT"]).output().unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(!rules.contains(&format!("orc-lab:{name}")), "firewall rule left: {rules}");
}
