//! End-to-end tests of the service and system modules on real lab hosts (Debian 12 with systemd):
//! systemd_service/systemd/service, sysctl, hostname and cron. For each: the first run changes the
//! host, the second changes nothing, `--check` leaves the host as it was (proved with docker exec),
//! `--check --diff` shows the diff where Ansible has one, and an error case.
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::PathBuf;

use common::{unindent, Orc, Project};
use lab::Lab;

fn home_for(lab: &Lab, p: &Project) -> PathBuf {
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    home
}

/// Runs `playbook` (a file of `p`) against the lab, with extra flags.
fn play(lab: &Lab, p: &Project, home: &std::path::Path, playbook: &str, flags: &[&str]) -> common::Outcome {
    let mut o: Orc = p.play(playbook).inventory(lab.inventory_path()).env("HOME", home);
    for f in flags {
        o = o.arg(f);
    }
    o.run()
}

const UNIT: &str = "[Unit]\nDescription=orc e2e demo\n\n[Service]\nExecStart=/bin/sleep infinity\nExecReload=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n";

const SYSTEMD_UP: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - copy: {dest: /usr/lib/systemd/system/orc-demo.service, content: "{{ unit }}"}
    - systemd_service: {name: orc-demo, state: started, enabled: true, daemon_reload: true}
      register: up
    - assert:
        that:
          - up.name == 'orc-demo'
          - up.state == 'started'
          - up.enabled
          - up.status.LoadState == 'loaded'
          - "'ActiveState' in up.status"
"#;

const SYSTEMD_DOWN: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - ansible.builtin.systemd: {name: orc-demo.service, state: stopped, enabled: false}
"#;

const SYSTEMD_BOUNCE: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - service: {name: orc-demo, state: started}
    - systemd: {name: orc-demo, state: restarted}
      register: r
    - assert: {that: [r.changed, "r.state == 'started'"]}
    - systemd: {name: orc-demo, state: reloaded}
"#;

const SYSTEMD_MASK: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - systemd: {name: orc-demo, state: stopped, masked: "{{ masked }}"}
"#;

const SYSTEMD_MISSING: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - systemd_service: {name: orc-no-such-unit, state: started}
"#;

const SYSTEMD_BAD_ARGS: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - systemd_service: {enabled: true}
"#;

#[test]
fn systemd_units_start_enable_stop_restart_and_mask() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    let p = Project::new()
        .file("up.yaml", &unindent(SYSTEMD_UP))
        .file("down.yaml", &unindent(SYSTEMD_DOWN))
        .file("bounce.yaml", &unindent(SYSTEMD_BOUNCE))
        .file("mask.yaml", &unindent(SYSTEMD_MASK))
        .file("missing.yaml", &unindent(SYSTEMD_MISSING))
        .file("bad.yaml", &unindent(SYSTEMD_BAD_ARGS));
    let home = home_for(&lab, &p);
    let unit = format!("{{\"unit\": {}}}", serde_json::Value::from(UNIT));
    let is = |what: &str| lab.exec(&h, &format!("systemctl {what} orc-demo")).stdout.trim().to_string();

    // Check mode on a unit that does not exist yet: the copy would change, the unit is unknown.
    play(&lab, &p, &home, "up.yaml", &["-e", &unit]).success().recap_is(&h, "ok=3 changed=2");
    assert_eq!((is("is-active").as_str(), is("is-enabled").as_str()), ("active", "enabled"));
    play(&lab, &p, &home, "up.yaml", &["-e", &unit]).success().recap_is(&h, "ok=3 changed=0");

    // --check reports the stop and disable, and changes nothing.
    play(&lab, &p, &home, "down.yaml", &["--check"]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!((is("is-active").as_str(), is("is-enabled").as_str()), ("active", "enabled"));
    play(&lab, &p, &home, "down.yaml", &[]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!((is("is-active").as_str(), is("is-enabled").as_str()), ("inactive", "disabled"));
    play(&lab, &p, &home, "down.yaml", &[]).success().recap_is(&h, "ok=1 changed=0");

    // service (dispatching to systemd) starts it; restarted gives a new process; reloaded changes.
    play(&lab, &p, &home, "bounce.yaml", &[]).success().recap_is(&h, "ok=4 changed=3");
    let pid1 = is("show -p MainPID --value");
    play(&lab, &p, &home, "bounce.yaml", &[]).success().recap_is(&h, "ok=4 changed=2");
    let pid2 = is("show -p MainPID --value");
    assert_ne!(pid1, pid2, "restarted must restart the unit");
    assert_eq!(is("is-active"), "active");

    // Mask: check mode leaves it, then masked, idempotent, then unmasked.
    play(&lab, &p, &home, "mask.yaml", &["-e", "masked=true", "--check"]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!(is("is-active"), "active");
    assert_eq!(is("is-enabled"), "disabled");
    play(&lab, &p, &home, "mask.yaml", &["-e", "masked=true"]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!((is("is-active").as_str(), is("is-enabled").as_str()), ("inactive", "masked"));
    play(&lab, &p, &home, "mask.yaml", &["-e", "masked=true"]).success().recap_is(&h, "ok=1 changed=0");
    play(&lab, &p, &home, "mask.yaml", &["-e", "masked=false"]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!(is("is-enabled"), "disabled");

    // A unit that does not exist fails with Ansible's message.
    let missing = play(&lab, &p, &home, "missing.yaml", &[]).code(2);
    assert!(missing.stdout.contains("Could not find the requested service orc-no-such-unit: host"), "{missing}");
    // enabled without name is refused before anything runs, with the task's location.
    let bad = play(&lab, &p, &home, "bad.yaml", &[]).code(3);
    let text = format!("{}{}", bad.stdout, bad.stderr);
    assert!(text.contains("missing parameter(s) required by 'enabled': name") && text.contains("bad.yaml:"), "{bad}");
}

const SYSCTL: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - sysctl:
        name: net.ipv4.ip_forward
        value: "{{ fwd }}"
        sysctl_file: /etc/sysctl.d/90-orc.conf
        reload: false
        sysctl_set: "{{ live | default(false) }}"
"#;

const HOSTNAME: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - hostname: {name: "{{ new_name }}"}
      register: hn
    - assert: {that: ["hn.ansible_facts.ansible_hostname == new_name", "hn.name == new_name"]}
"#;

#[test]
fn sysctl_file_and_hostname() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    let p = Project::new().file("sysctl.yaml", &unindent(SYSCTL)).file("hostname.yaml", &unindent(HOSTNAME));
    let home = home_for(&lab, &p);
    let file = "/etc/sysctl.d/90-orc.conf";
    lab.exec(
        &h,
        &format!(
            "printf '# kept\\nnet.ipv4.ip_forward = 0\\n  vm.swappiness = 10\\nnet.ipv4.ip_forward=0\\n' > {file}"
        ),
    )
    .ok();
    let before = lab.exec(&h, &format!("cat {file}")).ok().to_string();

    play(&lab, &p, &home, "sysctl.yaml", &["-e", "fwd=1", "--check"]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!(lab.exec(&h, &format!("cat {file}")).ok(), before, "check mode must not touch the file");
    play(&lab, &p, &home, "sysctl.yaml", &["-e", "fwd=1"]).success().recap_is(&h, "ok=1 changed=1");
    // Ansible's rewrite: `key=value`, duplicates dropped, comments kept.
    assert_eq!(lab.exec(&h, &format!("cat {file}")).ok(), "# kept\nnet.ipv4.ip_forward=1\nvm.swappiness=10\n");
    play(&lab, &p, &home, "sysctl.yaml", &["-e", "fwd=1"]).success().recap_is(&h, "ok=1 changed=0");
    // The live value is 1 already: sysctl_set has nothing to do.
    play(&lab, &p, &home, "sysctl.yaml", &["-e", "fwd=1", "-e", "live=true"]).success().recap_is(&h, "ok=1 changed=0");
    // Setting a live value: /proc/sys is read-only in lab containers, so sysctl -w fails, as it
    // would for Ansible; the message says which key.
    let ro = play(&lab, &p, &home, "sysctl.yaml", &["-e", "fwd=0", "-e", "live=true"]).code(2);
    assert!(ro.stdout.contains("setting net.ipv4.ip_forward failed"), "{ro}");

    // hostname: check mode changes nothing and shows the diff; then /etc/hostname and the kernel name.
    let old = lab.exec(&h, "hostname").ok().trim().to_string();
    let check = play(&lab, &p, &home, "hostname.yaml", &["-e", "new_name=orc-renamed", "--check", "--diff"]).success();
    assert!(
        check.stdout.contains(&format!("-hostname = {old}")) && check.stdout.contains("+hostname = orc-renamed"),
        "{check}"
    );
    assert_eq!(lab.exec(&h, "hostname").ok().trim(), old);
    play(&lab, &p, &home, "hostname.yaml", &["-e", "new_name=orc-renamed"]).success().recap_is(&h, "ok=2 changed=1");
    assert_eq!(lab.exec(&h, "cat /etc/hostname").ok(), "orc-renamed\n");
    assert_eq!(lab.exec(&h, "hostname").ok().trim(), "orc-renamed");
    play(&lab, &p, &home, "hostname.yaml", &["-e", "new_name=orc-renamed"]).success().recap_is(&h, "ok=2 changed=0");
}

const CRON: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - cron: {name: PATH, env: true, job: /usr/bin:/bin}
    - cron: {name: seeded, minute: "0", hour: "1", job: /bin/seeded}
    - cron: {name: nightly backup, minute: "30", hour: "2", job: "/usr/local/bin/backup --all"}
    - cron: {name: at boot, special_time: reboot, job: /bin/true, disabled: true}
    - cron: {name: report, weekday: "1-5", minute: "{{ minute }}", job: /bin/report, user: deploy}
    - cron: {name: app job, cron_file: orc-app, user: root, minute: "*/5", job: /bin/app-tick}
"#;

#[test]
fn cron_entries_in_ansible_format() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    lab.exec(&h, "command -v crontab || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cron; } >/dev/null 2>&1").ok();
    // A crontab that Ansible wrote earlier: its entry is recognised, not duplicated.
    lab.exec(&h, "printf '#Ansible: seeded\\n0 1 * * * /bin/seeded\\n' | crontab -").ok();
    let p = Project::new().file("cron.yaml", &unindent(CRON));
    let home = home_for(&lab, &p);
    let root_tab = || lab.exec(&h, "crontab -l").ok().to_string();
    let deploy_tab = || lab.exec(&h, "crontab -l -u deploy").stdout;

    let check = play(&lab, &p, &home, "cron.yaml", &["-e", "minute=15", "--check", "--diff"])
        .success()
        .recap_is(&h, "ok=6 changed=5");
    assert!(check.stdout.contains("+#Ansible: nightly backup"), "{check}");
    assert_eq!(root_tab(), "#Ansible: seeded\n0 1 * * * /bin/seeded\n");
    assert!(lab.exec(&h, "test -e /etc/cron.d/orc-app").code != 0, "check mode must not create the cron file");

    play(&lab, &p, &home, "cron.yaml", &["-e", "minute=15"]).success().recap_is(&h, "ok=6 changed=5");
    assert_eq!(
        root_tab(),
        "PATH=\"/usr/bin:/bin\"\n#Ansible: seeded\n0 1 * * * /bin/seeded\n#Ansible: nightly backup\n30 2 * * * /usr/local/bin/backup --all\n#Ansible: at boot\n#@reboot /bin/true\n"
    );
    assert_eq!(deploy_tab(), "#Ansible: report\n15 * * * 1-5 /bin/report\n");
    assert_eq!(lab.exec(&h, "cat /etc/cron.d/orc-app").ok(), "#Ansible: app job\n*/5 * * * * root /bin/app-tick\n");
    assert_eq!(lab.exec(&h, "stat -c %a /etc/cron.d/orc-app").ok().trim(), "644");
    play(&lab, &p, &home, "cron.yaml", &["-e", "minute=15"]).success().recap_is(&h, "ok=6 changed=0");

    // A changed field rewrites the job under its marker; check mode leaves the crontab alone.
    play(&lab, &p, &home, "cron.yaml", &["-e", "minute=45", "--check"]).success().recap_is(&h, "ok=6 changed=1");
    assert_eq!(deploy_tab(), "#Ansible: report\n15 * * * 1-5 /bin/report\n");
    play(&lab, &p, &home, "cron.yaml", &["-e", "minute=45"]).success().recap_is(&h, "ok=6 changed=1");
    assert_eq!(deploy_tab(), "#Ansible: report\n45 * * * 1-5 /bin/report\n");

    // Removal: the job and its marker go; a cron file left empty is deleted.
    let rm = r#"
    - hosts: lab
      gather_facts: false
      tasks:
        - cron: {name: nightly backup, state: absent}
        - cron: {name: app job, cron_file: orc-app, state: absent}
        - cron: {name: bad, special_time: daily, hour: "3", job: /bin/x}
    "#;
    let p2 = Project::new().file("rm.yaml", &unindent(rm));
    // The bad task (special_time with hour) is refused before anything runs.
    let bad = play(&lab, &p2, &home, "rm.yaml", &[]).code(3);
    assert!(format!("{bad}").contains("You cannot combine special_time"), "{bad}");
    assert!(root_tab().contains("nightly backup"), "nothing may run when an argument is invalid");
    let p3 = Project::new().file(
        "rm.yaml",
        &unindent(&rm.replace("        - cron: {name: bad, special_time: daily, hour: \"3\", job: /bin/x}\n", "")),
    );
    play(&lab, &p3, &home, "rm.yaml", &[]).success().recap_is(&h, "ok=2 changed=2");
    assert!(!root_tab().contains("nightly backup"));
    assert!(lab.exec(&h, "test -e /etc/cron.d/orc-app").code != 0);
    play(&lab, &p3, &home, "rm.yaml", &[]).success().recap_is(&h, "ok=2 changed=0");

    // service's SysV path (`use: sysvinit`) on cron's init script: `service cron stop/start`,
    // boot links through update-rc.d.
    let sysv = r#"
    - hosts: lab
      gather_facts: false
      tasks:
        - service: {name: cron, state: "{{ st }}", enabled: "{{ en }}", use: sysvinit}
          register: r
        - assert: {that: ["r.name == 'cron'", "r.enabled == (en | bool)"]}
    "#;
    let p4 = Project::new().file("sysv.yaml", &unindent(sysv));
    let active = || lab.exec(&h, "systemctl is-active cron").stdout.trim().to_string();
    let links = || lab.exec(&h, "ls /etc/rc2.d/ | grep -c cron").stdout.trim().to_string();
    assert_eq!(active(), "active");
    let args = ["-e", "st=stopped", "-e", "en=false"];
    play(&lab, &p4, &home, "sysv.yaml", &[&args[..], &["--check"]].concat()).success().recap_is(&h, "ok=2 changed=1");
    assert_eq!(active(), "active");
    play(&lab, &p4, &home, "sysv.yaml", &args).success().recap_is(&h, "ok=2 changed=1");
    assert_eq!(active(), "inactive");
    assert_eq!(lab.exec(&h, "ls /etc/rc2.d/S??cron 2>/dev/null | wc -l").ok().trim(), "0");
    play(&lab, &p4, &home, "sysv.yaml", &args).success().recap_is(&h, "ok=2 changed=0");
    play(&lab, &p4, &home, "sysv.yaml", &["-e", "st=started", "-e", "en=true"])
        .success()
        .recap_is(&h, "ok=2 changed=1");
    assert_eq!(active(), "active");
    assert_eq!(links(), "1");
    let missing = r#"
    - hosts: lab
      gather_facts: false
      tasks:
        - service: {name: orc-nope, state: started, use: sysvinit}
    "#;
    let p5 = Project::new().file("m.yaml", &unindent(missing));
    let m = play(&lab, &p5, &home, "m.yaml", &[]).code(2);
    assert!(m.stdout.contains("Could not find the requested service orc-nope: host"), "{m}");
}
