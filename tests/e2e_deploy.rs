//! End-to-end: deploying containers on lab hosts through the Docker Engine API over SSH (issue 5,
//! acceptance 2, 3 and 5, and the deploy half of 4).
//!
//! Host 1 runs the lab's private registry with app:1..3 (busybox httpd serving "app version N").
//! Host 2 gets Docker from `playbooks/container-runtime.yaml` (the registry in its
//! insecure-registries), then a deploy playbook runs a container with env, labels, restart policy
//! unless-stopped, a health check, a user-defined network and a published port: it must be
//! healthy and serve version 1; a re-run changes nothing; app:2 recreates it; `--check --diff`
//! with app:3 prints the image difference and changes nothing. The same again with
//! `source: load` from image archives copied to the host (no registry). Then the failures: a
//! wrong image name, a daemon that is not running, a failing health check: one clear line per
//! host, exit 2. Python is trapped on the hosts throughout: nothing may run it.
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{repo, Orc, Outcome, Project};
use lab::{Lab, LabHost};

/// Installing docker.io from Debian's mirror and pulling images may take minutes on a loaded
/// machine.
const PLAY_TIMEOUT: Duration = Duration::from_secs(900);

/// The deploy playbook both acceptance runs use: the image comes from `app_image` (a registry
/// reference or a loaded archive's name), the rest is fixed.
const DEPLOY: &str = r#"
- hosts: apps
  gather_facts: false
  vars:
    app_image: "{{ app_repo }}:{{ app_version }}"
  tasks:
    - name: image archive
      when: app_archive is defined
      ansible.builtin.copy:
        src: "{{ app_archive }}"
        dest: "/var/tmp/app-{{ app_version }}.tar"
        mode: "0600"
    - name: image from the archive
      when: app_archive is defined
      community.docker.docker_image:
        name: "{{ app_image }}"
        source: load
        load_path: "/var/tmp/app-{{ app_version }}.tar"
    - name: network
      community.docker.docker_network:
        name: appnet
    - name: web
      community.docker.docker_container:
        name: web
        image: "{{ app_image }}"
        state: healthy
        healthy_wait_timeout: 120
        env:
          APP_ENV: production
          APP_VERSION: "{{ app_version }}"
        labels:
          com.example.app: web
          com.example.version: "{{ app_version }}"
        restart_policy: unless-stopped
        healthcheck:
          test: ["CMD", "/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]
          interval: 1s
          timeout: 3s
          retries: 3
          start_period: 1s
        networks:
          - name: appnet
            aliases: [web]
        published_ports:
          - "8080:8080"
"#;

/// The marker file the fake python3 writes when anything runs it.
const PYTHON_MARKER: &str = "/var/tmp/orc-test-python-ran";

/// Replaces python3 on the host by a script that records any use (and fails).
fn trap_python(lab: &Lab, host: &str) {
    let script = format!(
        "for f in /usr/bin/python3*; do
            [ -f \"$f\" ] && [ ! -L \"$f\" ] || continue
            case \"$f\" in *.orc-real) continue ;; esac
            mv \"$f\" \"$f.orc-real\"
            printf '#!/bin/sh\\necho \"$0 $*\" >>{PYTHON_MARKER}\\nexit 127\\n' >\"$f\"
            chmod 755 \"$f\"
        done
        rm -f {PYTHON_MARKER}"
    );
    lab.exec(host, &script).ok();
}

fn assert_no_python(lab: &Lab, host: &str) {
    let ran = lab.exec(host, &format!("cat {PYTHON_MARKER} 2>/dev/null; true")).ok().to_string();
    assert!(ran.is_empty(), "python ran on {host}: {ran}");
}

/// GET / of the app on `host`'s published port 8080.
fn page(host: &LabHost) -> String {
    let mut s =
        TcpStream::connect((host.ip.as_str(), 8080)).unwrap_or_else(|e| panic!("connect {}:8080: {e}", host.ip));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET / HTTP/1.0\r\nHost: app\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
}

/// `docker inspect -f FORMAT web` on the host.
fn inspect(lab: &Lab, host: &str, format: &str) -> String {
    lab.exec(host, &format!("docker inspect -f '{format}' web")).ok().trim().to_string()
}

struct Deploy<'a> {
    lab: &'a Lab,
    project: Project,
    inventory: PathBuf,
    home: PathBuf,
}

impl Deploy<'_> {
    fn run(&self, playbook: &Path, extra: &[&str]) -> Outcome {
        Orc::play(playbook).inventory(&self.inventory).args(extra).env("HOME", &self.home).timeout(PLAY_TIMEOUT).run()
    }

    /// Deploys with `playbook` (in the project) and checks the story of acceptance 2 and 3:
    /// version 1 healthy and serving, a re-run changing nothing, version 2 recreating, and a
    /// `--check --diff` of version 3 showing the image difference and changing nothing.
    /// `vars(version)` gives the extra variables of each run; `stage(version)` prepares the host
    /// before the dry run (a check run uploads nothing).
    fn story(&self, playbook: &str, host: &LabHost, vars: &dyn Fn(u32) -> Vec<String>, stage: &dyn Fn(u32)) {
        let args = |v: u32, flags: &[&str]| -> Vec<String> {
            let mut a: Vec<String> = vars(v).into_iter().flat_map(|e| ["-e".to_string(), e]).collect();
            a.extend(flags.iter().map(|s| s.to_string()));
            a
        };
        let run = |v: u32, flags: &[&str]| {
            let a = args(v, flags);
            self.run(&self.project.join(playbook), &a.iter().map(String::as_str).collect::<Vec<_>>())
        };

        run(1, &[]).success();
        assert_eq!(inspect(self.lab, &host.name, "{{.State.Health.Status}}"), "healthy");
        assert_eq!(page(host), "app version 1\n");
        let env = inspect(self.lab, &host.name, "{{json .Config.Env}}");
        assert!(env.contains("\"APP_ENV=production\"") && env.contains("\"APP_VERSION=1\""), "{env}");
        assert_eq!(inspect(self.lab, &host.name, "{{index .Config.Labels \"com.example.app\"}}"), "web");
        assert_eq!(inspect(self.lab, &host.name, "{{.HostConfig.RestartPolicy.Name}}"), "unless-stopped");
        let nets = inspect(self.lab, &host.name, "{{json .NetworkSettings.Networks}}");
        assert!(nets.contains("\"appnet\""), "{nets}");
        let id1 = inspect(self.lab, &host.name, "{{.Id}}");

        let again = run(1, &[]);
        let again = again.success();
        assert_eq!(again.recap(&host.name).changed, 0, "re-run changed something:\n{}", again.stdout);
        assert_eq!(inspect(self.lab, &host.name, "{{.Id}}"), id1);

        let upgrade = run(2, &[]);
        let upgrade = upgrade.success();
        assert!(upgrade.recap(&host.name).changed >= 1);
        let id2 = inspect(self.lab, &host.name, "{{.Id}}");
        assert_ne!(id2, id1, "app:2 must recreate the container");
        assert_eq!(page(host), "app version 2\n");

        stage(3);
        let dry = run(3, &["--check", "--diff"]);
        let dry = dry.success();
        assert!(dry.recap(&host.name).changed >= 1, "{}", dry.stdout);
        let minus = dry.stdout.lines().any(|l| l.starts_with('-') && l.contains("image") && l.contains(":2"));
        let plus = dry.stdout.lines().any(|l| l.starts_with('+') && l.contains("image") && l.contains(":3"));
        assert!(minus && plus, "--check --diff must show the image going from :2 to :3:\n{}", dry.stdout);
        eprintln!("[e2e_deploy] the dry run of version 3:\n{}", dry.stdout);
        assert_eq!(inspect(self.lab, &host.name, "{{.Id}}"), id2, "--check changed the container");
        assert_eq!(page(host), "app version 2\n");
    }
}

#[test]
fn containers_deploy_from_a_registry_and_from_archives_and_fail_clearly() {
    let Some(lab) = Lab::start(3) else { return };
    let [reg, app, bare] = [0, 1, 2].map(|i| lab.hosts()[i].clone());
    let registry = lab.start_registry(&reg.name);
    lab.push_app_images(&reg.name, &[1, 2, 3]);

    // Image archives for `source: load`, made on this machine.
    let p = Project::new()
        .file("deploy.yaml", DEPLOY)
        .file("deploy-loaders.yaml", &DEPLOY.replace("hosts: apps", "hosts: loaders"));
    for v in 1..=3 {
        let out = std::process::Command::new("bash")
            .arg(repo("tests/lab/app-image.sh"))
            .args(["archive", &v.to_string(), &format!("orc-e2e-loaded/app:{v}")])
            .arg(p.join(&format!("app-{v}.tar")))
            .output()
            .unwrap();
        assert!(out.status.success(), "app-image.sh archive: {}", String::from_utf8_lossy(&out.stderr));
        let _ = std::process::Command::new("docker").args(["rmi", &format!("orc-e2e-loaded/app:{v}")]).output();
    }

    let key = lab.key_path();
    let line = |h: &LabHost| {
        format!("{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={}\n", h.name, h.ip, key.display())
    };
    let p = p
        .file("inv/hosts.ini", &format!("[apps]\n{}\n[loaders]\n{}\n[bare]\n{}", line(&app), line(&reg), line(&bare)))
        .file("inv/group_vars/all.yml", &format!("container_runtime_insecure_registries: [\"{registry}\"]\n"));
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let d = Deploy { lab: &lab, inventory: p.join("inv/hosts.ini"), home, project: p };
    for h in [&reg, &app, &bare] {
        trap_python(&lab, &h.name);
    }

    // Docker on the app host, through the role.
    d.run(&repo("playbooks/container-runtime.yaml"), &["-l", "apps"]).success();

    // Acceptance 2: from the lab registry.
    d.story("deploy.yaml", &app, &|v| vec![format!("app_repo={registry}/app"), format!("app_version={v}")], &|_| {});

    // Acceptance 3: from archives copied to the host, on the registry host (which has Docker but
    // none of these images), no registry involved.
    let loader_dir = d.project.path().to_path_buf();
    d.story(
        "deploy-loaders.yaml",
        &reg,
        &|v| {
            vec![
                "app_repo=orc-e2e-loaded/app".to_string(),
                format!("app_version={v}"),
                format!("app_archive={}", loader_dir.join(format!("app-{v}.tar")).display()),
            ]
        },
        &|v| {
            // The archive is on the host already (copied ahead of the change, as a release would be).
            let src = loader_dir.join(format!("app-{v}.tar"));
            let dest = format!("{}:/var/tmp/app-{v}.tar", reg.container);
            let st = std::process::Command::new("docker").arg("cp").arg(&src).arg(&dest).status().unwrap();
            assert!(st.success(), "docker cp {} {dest}", src.display());
            lab.exec(&reg.name, &format!("chmod 0600 /var/tmp/app-{v}.tar")).ok();
        },
    );

    // Acceptance 5: failures, one line per host, exit 2.
    let fail_play = |name: &str, hosts: &str, task: &str| -> Outcome {
        let body = format!("- hosts: {hosts}\n  gather_facts: false\n  tasks:\n    - name: {name}\n{task}");
        std::fs::write(d.project.join(&format!("{name}.yaml")), body).unwrap();
        d.run(&d.project.join(&format!("{name}.yaml")), &[])
    };
    let wrong = fail_play(
        "wrong-image",
        "apps",
        &format!(
            "      community.docker.docker_container:\n        name: wrong\n        image: {registry}/no-such-app:1\n"
        ),
    );
    let wrong = wrong.code(2);
    let msg = wrong.stdout.lines().find(|l| l.starts_with("fatal:")).unwrap_or_default().to_string();
    assert!(msg.contains(&app.name) && msg.contains("no-such-app"), "{}", wrong.stdout);

    let unreachable = fail_play(
        "no-daemon",
        "bare",
        "      community.docker.docker_container:\n        name: web\n        image: app:1\n",
    );
    let unreachable = unreachable.code(2);
    assert!(
        unreachable
            .stdout
            .contains(&format!("cannot reach the Docker daemon on {}: no socket at /var/run/docker.sock", bare.name)),
        "{}",
        unreachable.stdout
    );

    let unhealthy = fail_play(
        "unhealthy",
        "apps",
        &format!(
            "      community.docker.docker_container:\n        name: sick\n        image: {registry}/app:1\n        \
             state: healthy\n        healthy_wait_timeout: 20\n        healthcheck:\n          \
             test: [\"CMD-SHELL\", \"echo probe says no; exit 1\"]\n          interval: 1s\n          retries: 1\n"
        ),
    );
    let unhealthy = unhealthy.code(2);
    assert!(unhealthy.stdout.contains("probe says no"), "{}", unhealthy.stdout);
    lab.exec(&app.name, "docker rm -f sick wrong >/dev/null 2>&1; true").ok();

    // Acceptance 4: no Python, no TCP listener of dockerd.
    for h in [&reg, &app, &bare] {
        assert_no_python(&lab, &h.name);
    }
    for o in [&wrong, &unreachable, &unhealthy] {
        eprintln!("[e2e_deploy] {}:\n{}", o.command, o.stdout);
    }
    let listeners = lab.exec(&app.name, "awk '$4 == \"0A\" {print $2}' /proc/net/tcp /proc/net/tcp6").ok().to_string();
    assert!(!listeners.lines().any(|l| l.ends_with(":0947") || l.ends_with(":0948")), "dockerd on TCP: {listeners}");
}
