//! End-to-end: `playbooks/container-runtime.yaml` on fresh lab hosts (issue 5, acceptance 1 and
//! the runtime half of 4). Host 1 runs the lab's private registry with the app images; hosts 2
//! and 3 get the Docker Engine from the playbook, each with its own daemon.json settings from
//! inventory variables (host 2 logged in as root, host 3 as `deploy` with sudo). Checked: exit 0, docker.io installed and enabled, daemon.json byte for
//! byte, the daemon running with those settings (through orc's API path, `docker_host_info`),
//! images pulled from the lab registry through `insecure-registries`, a second run and a
//! `--check` run changing nothing and restarting nothing, a configuration change restarting
//! dockerd through the handler while a container keeps running (live-restore), no Python run on
//! the hosts, and no TCP listener of dockerd. A second test does the same with podman (its
//! registries and storage settings, its Docker-compatible API socket). Needs Docker (run as root);
//! `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::time::{Duration, Instant};

use common::{repo, Orc, Outcome, Project};
use lab::Lab;

/// The first run installs docker.io on two hosts from Debian's mirror (15 s on an idle machine).
const PLAY_TIMEOUT: Duration = Duration::from_secs(900);

/// The marker file a fake python3 writes when anything runs it (see `trap_python`).
const PYTHON_MARKER: &str = "/var/tmp/orc-test-python-ran";

/// Replaces every python3 executable on the host by a script that records its command line in
/// `PYTHON_MARKER` and fails, so any use of Python on the host shows (and fails what needed it).
fn trap_python(lab: &Lab, host: &str) {
    let script = format!(
        "set -e
        for f in /usr/bin/python3*; do
            [ -f \"$f\" ] && [ ! -L \"$f\" ] || continue
            case \"$f\" in *.orc-real) continue ;; esac
            mv \"$f\" \"$f.orc-real\"
            printf '#!/bin/sh\\necho \"$0 $*\" >>{PYTHON_MARKER}\\nexit 127\\n' >\"$f\"
            chmod 755 \"$f\"
        done
        ! /usr/bin/python3 -c 'print(1)' 2>/dev/null
        test -s {PYTHON_MARKER}
        rm -f {PYTHON_MARKER}"
    );
    lab.exec(host, &script).ok();
}

/// Puts the real python3 executables back.
fn restore_python(lab: &Lab, host: &str) {
    lab.exec(
        host,
        "for f in /usr/bin/python3*.orc-real; do [ -f \"$f\" ] && mv -f \"$f\" \"${f%.orc-real}\"; done; true",
    )
    .ok();
    lab.exec(host, "/usr/bin/python3 -c 'print(1)'").ok();
}

/// dockerd's process id on the host (0 when not running).
fn dockerd_pid(lab: &Lab, host: &str) -> String {
    lab.exec(host, "systemctl show -p MainPID --value docker").ok().trim().to_string()
}

/// Prints how long a step took (shown with --nocapture, and by nextest for a failing test).
fn timed(step: &str, since: Instant) {
    eprintln!("[e2e_containers] {step}: {:.1} s", since.elapsed().as_secs_f64());
}

#[test]
fn container_runtime_installs_and_configures_docker_idempotently() {
    let t = Instant::now();
    let Some(lab) = Lab::start(3) else { return };
    timed("lab of 3 hosts up", t);
    let [reg, h2, h3] = [0, 1, 2].map(|i| lab.hosts()[i].clone());

    // The lab's private registry on host 1, with app:1 in it.
    let t = Instant::now();
    let registry = lab.start_registry(&reg.name);
    timed("registry started (docker.io + docker-registry installed on host 1)", t);
    let t = Instant::now();
    lab.push_app_images(&reg.name, &[1]);
    timed("app:1 built and pushed", t);

    // Hosts 2 and 3, fresh, in an inventory with group and host variables.
    let key = lab.key_path();
    let line = |h: &lab::LabHost, user: &str| {
        format!("{} ansible_host={} ansible_user={user} ansible_ssh_private_key_file={}\n", h.name, h.ip, key.display())
    };
    // Host 3 as on a real fleet: an unprivileged login and sudo (the play's become), so the API
    // check reaches root's socket through the become shell.
    let p = Project::new()
        .file("inv/hosts.ini", &format!("[runtime]\n{}{}", line(&h2, "root"), line(&h3, "deploy")))
        .file("inv/group_vars/runtime.yml", &format!("container_runtime_insecure_registries: [\"{registry}\"]\n"))
        .file(
            &format!("inv/host_vars/{}.yml", h3.name),
            &format!(
                "container_runtime_storage_driver: vfs\n\
                 expected_driver: vfs\n\
                 container_runtime_default_address_pools: [{{base: 10.123.0.0/16, size: 24}}]\n\
                 container_runtime_log_opts: {{max-size: 5m, max-file: 2}}\n\
                 container_runtime_registry_mirrors: [\"http://{registry}\"]\n"
            ),
        );
    let inventory = p.join("inv/hosts.ini");
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let play = |extra: &[&str]| -> Outcome {
        Orc::play(repo("playbooks/container-runtime.yaml"))
            .inventory(&inventory)
            .args(extra)
            .env("HOME", &home)
            .env("ORC_HOST_KEY_CHECKING", "strict")
            .timeout(PLAY_TIMEOUT)
            .run()
    };

    for h in [&h2, &h3] {
        assert_ne!(lab.exec(&h.name, "command -v dockerd").code, 0, "{} is not fresh: dockerd exists", h.name);
        trap_python(&lab, &h.name);
    }

    // First run: installs, configures, starts, checks.
    let t = Instant::now();
    let first = play(&[]).success();
    timed("first run (docker.io installed on 2 hosts)", t);
    for h in [&h2, &h3] {
        assert!(first.recap(&h.name).changed >= 3, "a fresh host must change (package, file, restart)\n{first}");
        assert_eq!(
            lab.exec(&h.name, "dpkg-query -W -f='${Status}' docker.io").ok(),
            "install ok installed",
            "docker.io on {}",
            h.name
        );
        assert_eq!(lab.exec(&h.name, "systemctl is-enabled docker").ok().trim(), "enabled");
        assert_eq!(lab.exec(&h.name, "systemctl is-active docker").ok().trim(), "active");
    }

    // daemon.json exactly as configured: group defaults on host 2, host variables on host 3.
    // to_nice_json: keys sorted, 4-space indent; log-opts values as strings (max-file: 2 was a
    // YAML number); options whose variable is empty (registry-mirrors on host 2) left out, as
    // docs/containers.md says; a final newline.
    let expected2 = format!(
        r#"{{
    "insecure-registries": [
        "{registry}"
    ],
    "live-restore": true,
    "log-driver": "json-file",
    "log-opts": {{
        "max-file": "3",
        "max-size": "10m"
    }}
}}
"#
    );
    let expected3 = format!(
        r#"{{
    "default-address-pools": [
        {{
            "base": "10.123.0.0/16",
            "size": 24
        }}
    ],
    "insecure-registries": [
        "{registry}"
    ],
    "live-restore": true,
    "log-driver": "json-file",
    "log-opts": {{
        "max-file": "2",
        "max-size": "5m"
    }},
    "registry-mirrors": [
        "http://{registry}"
    ],
    "storage-driver": "vfs"
}}
"#
    );
    assert_eq!(lab.exec(&h2.name, "cat /etc/docker/daemon.json").ok(), expected2);
    assert_eq!(lab.exec(&h3.name, "cat /etc/docker/daemon.json").ok(), expected3);
    for h in [&h2, &h3] {
        assert_eq!(lab.exec(&h.name, "stat -c '%a %U:%G' /etc/docker/daemon.json").ok().trim(), "644 root:root");
    }

    // Second run and --check: nothing changes, dockerd is not restarted.
    let pids = [dockerd_pid(&lab, &h2.name), dockerd_pid(&lab, &h3.name)];
    let t = Instant::now();
    let second = play(&[]).success();
    timed("second run", t);
    let check = play(&["--check", "--diff"]).success();
    for h in [&h2, &h3] {
        assert_eq!(second.recap(&h.name).changed, 0, "the second run must change nothing\n{second}");
        assert_eq!(check.recap(&h.name).changed, 0, "--check after convergence must find nothing to do\n{check}");
    }
    assert!(!second.stdout.contains("RUNNING HANDLER"), "no handler may run without a change\n{second}");
    assert_eq!([dockerd_pid(&lab, &h2.name), dockerd_pid(&lab, &h3.name)], pids, "dockerd was restarted");

    // The daemon runs with those settings, asked through orc's API path (the socket over SSH).
    let checks = format!(
        "- hosts: runtime\n  become: true\n  gather_facts: false\n  tasks:\n\
         \x20   - community.docker.docker_host_info: {{}}\n      register: info\n\
         \x20   - ansible.builtin.assert:\n        that:\n\
         \x20         - info.can_talk_to_docker\n\
         \x20         - info.host_info.LiveRestoreEnabled\n\
         \x20         - info.host_info.LoggingDriver == 'json-file'\n\
         \x20         - info.host_info.Driver == expected_driver | default(info.host_info.Driver)\n\
         \x20         - \"'{registry}' in info.host_info.RegistryConfig.IndexConfigs\"\n\
         \x20         - not info.host_info.RegistryConfig.IndexConfigs['{registry}'].Secure\n"
    );
    std::fs::write(p.join("checks.yaml"), checks).unwrap();
    let t = Instant::now();
    let info = Orc::play(p.join("checks.yaml")).inventory(&inventory).env("HOME", &home).run().success();
    timed("docker_host_info checks", t);
    for h in [&h2, &h3] {
        assert_eq!(info.recap(&h.name).failed, 0, "{info}");
    }
    let adhoc = Orc::new()
        .args(["run", "runtime", "--become", "-m", "community.docker.docker_host_info"])
        .inventory(&inventory)
        .env("HOME", &home)
        .run()
        .success();
    assert!(adhoc.stdout.contains("\"can_talk_to_docker\": true"), "{adhoc}");

    // insecure-registries works: both hosts pull app:1 from the lab registry over plain HTTP.
    let t = Instant::now();
    for h in [&h2, &h3] {
        lab.exec(&h.name, &format!("docker pull -q {registry}/app:1")).ok();
        let page = lab.exec(&h.name, &format!("docker run --rm {registry}/app:1 cat /www/index.html"));
        assert_eq!(page.ok(), "app version 1\n");
    }
    timed("app:1 pulled and run on 2 hosts", t);

    // A configuration change restarts dockerd through the handler; live-restore keeps a running
    // container running across the restart.
    lab.exec(&h2.name, &format!("docker run -d --name orc-t-live {registry}/app:1")).ok();
    let before = dockerd_pid(&lab, &h2.name);
    let t = Instant::now();
    let changed = play(&["-l", &h2.name, "-e", "{\"container_runtime_log_opts\": {\"max-size\": \"20m\"}}"]).success();
    timed("run with a changed configuration", t);
    assert_eq!(changed.recap(&h2.name).changed, 2, "daemon.json and the restart\n{changed}");
    assert!(changed.stdout.contains("RUNNING HANDLER [container_runtime : Restart dockerd]"), "{changed}");
    assert_ne!(dockerd_pid(&lab, &h2.name), before, "dockerd must have been restarted");
    let json = lab.exec(&h2.name, "cat /etc/docker/daemon.json");
    assert!(json.ok().contains("\"log-opts\": {\n        \"max-size\": \"20m\"\n    }\n}"), "{json}");
    assert_eq!(lab.exec(&h2.name, "docker inspect -f '{{.State.Running}}' orc-t-live").ok().trim(), "true");

    // Acceptance 4: nothing ran Python on the hosts, and dockerd listens on no TCP port.
    for h in [&h2, &h3] {
        let ran = lab.exec(&h.name, &format!("cat {PYTHON_MARKER} 2>/dev/null || true"));
        assert_eq!(ran.ok(), "", "python3 was run on {}", h.name);
        let listeners = lab.exec(&h.name, "ss -ltnpH");
        assert!(!listeners.ok().contains("dockerd"), "dockerd listens on TCP on {}:\n{listeners}", h.name);
        assert!(
            lab.exec(&h.name, "ss -lxp").ok().contains("docker.sock"),
            "dockerd must listen on its Unix socket on {}",
            h.name
        );
        restore_python(&lab, &h.name);
    }
}

#[test]
fn container_runtime_podman_serves_the_docker_api() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].clone();
    let p = Project::new();
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let settings = serde_json::json!({
        "container_runtime": "podman",
        // podman does not fall back from overlay by itself, and overlay cannot work in a lab host.
        "container_runtime_storage_driver": "vfs",
        "container_runtime_insecure_registries": ["10.99.0.1:5000"],
        "container_runtime_registry_mirrors": ["https://mirror.example.com/"],
    });
    let play = |extra: &[&str]| -> Outcome {
        Orc::play(repo("playbooks/container-runtime.yaml"))
            .inventory(lab.inventory_path())
            .arg("-e")
            .arg(settings.to_string())
            .args(extra)
            .env("HOME", &home)
            .env("ORC_HOST_KEY_CHECKING", "strict")
            .timeout(PLAY_TIMEOUT)
            .run()
    };
    trap_python(&lab, &h.name);

    // --check on a host without the runtime: reports the changes, installs nothing, and neither
    // looks for the service nor asks the daemon (there is none yet). apt needs package lists to
    // know the candidates (the lab image has none; check mode does not download them).
    lab.exec(&h.name, "apt-get update -q").ok();
    let check = play(&["--check"]).success();
    assert!(check.recap(&h.name).changed >= 2, "{check}");
    assert_ne!(lab.exec(&h.name, "command -v podman").code, 0, "--check installed podman");

    let t = Instant::now();
    let first = play(&["-v"]).success();
    timed("podman: first run", t);
    assert!(first.recap(&h.name).changed >= 3, "{first}");
    assert!(first.stdout.contains("podman 4") || first.stdout.contains("podman 5"), "the check names podman\n{first}");
    assert_eq!(lab.exec(&h.name, "systemctl is-enabled podman.socket").ok().trim(), "enabled");
    assert_eq!(lab.exec(&h.name, "test -e /etc/docker/daemon.json || echo absent").ok().trim(), "absent");
    assert_eq!(
        lab.exec(&h.name, "cat /etc/containers/registries.conf.d/60-container-runtime.conf").ok(),
        "# Written by orc's container_runtime role (container_runtime_insecure_registries and\n\
         # container_runtime_registry_mirrors). Manual changes are overwritten.\n\
         \n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n\
         \n[[registry.mirror]]\nlocation = \"mirror.example.com\"\n\
         \n[[registry]]\nlocation = \"10.99.0.1:5000\"\ninsecure = true\n"
    );
    let storage = lab.exec(&h.name, "cat /etc/containers/storage.conf");
    assert!(storage.ok().contains("driver = \"vfs\"\n"), "{storage}");

    let second = play(&[]).success();
    assert_eq!(second.recap(&h.name).changed, 0, "the second run must change nothing\n{second}");

    // podman's Docker-compatible API, through orc's API path, has the settings.
    std::fs::write(
        p.join("checks.yaml"),
        "- hosts: lab\n  gather_facts: false\n  tasks:\n\
         \x20   - community.docker.docker_host_info:\n        docker_host: unix:///run/podman/podman.sock\n      register: info\n\
         \x20   - ansible.builtin.assert:\n        that:\n\
         \x20         - info.can_talk_to_docker\n\
         \x20         - info.host_info.Driver == 'vfs'\n\
         \x20         - not info.host_info.RegistryConfig.IndexConfigs['10.99.0.1:5000'].Secure\n\
         \x20         - info.host_info.RegistryConfig.IndexConfigs['docker.io'].Mirrors == ['mirror.example.com']\n",
    )
    .unwrap();
    let info = Orc::play(p.join("checks.yaml")).inventory(lab.inventory_path()).env("HOME", &home).run().success();
    assert_eq!(info.recap(&h.name).failed, 0, "{info}");

    let ran = lab.exec(&h.name, &format!("cat {PYTHON_MARKER} 2>/dev/null || true"));
    assert_eq!(ran.ok(), "", "python3 was run on {}", h.name);
    let listeners = lab.exec(&h.name, "ss -ltnpH");
    assert!(!listeners.ok().contains("podman"), "podman listens on TCP:\n{listeners}");
    restore_python(&lab, &h.name);
}
