//! End-to-end tests of the package modules on a real Debian lab host: `apt` (update_cache,
//! install, idempotence, check mode, diff, absent, latest, a missing package), `package` (auto
//! backend), `deb822_repository` (file byte-identical to what ansible-core writes on the same host)
//! and `apt_repository` (Ansible's file name and format, check mode, absent).
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly. dnf/yum have unit tests only: the
//! lab has no RHEL-family host.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{unindent, Outcome, Project};
use lab::Lab;

fn home_for(lab: &Lab, p: &Project) -> PathBuf {
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    home
}

/// Runs `tasks` (YAML list, unindented) as a play on the lab with extra orc flags.
fn play(lab: &Lab, p: &Project, home: &Path, name: &str, tasks: &str, flags: &[&str]) -> Outcome {
    let body = format!("- hosts: lab\n  gather_facts: false\n  tasks:\n{}", indent(&unindent(tasks), 4));
    std::fs::write(p.join(name), body).unwrap();
    p.play(name).inventory(lab.inventory_path()).args(flags).env("HOME", home).run()
}

fn indent(s: &str, n: usize) -> String {
    s.lines().map(|l| if l.is_empty() { "\n".to_string() } else { format!("{}{l}\n", " ".repeat(n)) }).collect()
}

#[test]
fn apt_and_package_converge_with_check_and_diff() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    let p = Project::new();
    let home = home_for(&lab, &p);
    let installed =
        |lab: &Lab| lab.exec(&h, "dpkg-query -W -f='${db:Status-Abbrev}' tree 2>/dev/null").stdout.starts_with("ii");

    // Refresh the cache once for real, so check mode below can see the candidates.
    let cache = play(&lab, &p, &home, "cache.yaml", "- apt: {update_cache: true}\n  register: c\n- assert: {that: [c.cache_updated is defined, c.cache_update_time > 0]}\n", &[]);
    cache.success();

    let install = "- apt: {name: tree, update_cache: true, cache_valid_time: 3600}\n";
    // Check mode: reports the change, shows the package set, installs nothing.
    let check = play(&lab, &p, &home, "install.yaml", install, &["--check", "--diff"]).success();
    assert_eq!(check.recap(&h).changed, 1, "{check}");
    assert!(check.stdout.contains("+tree "), "diff must show the package to install\n{check}");
    assert!(!installed(&lab), "check mode installed tree");

    let first = play(&lab, &p, &home, "install.yaml", install, &[]).success();
    assert_eq!(first.recap(&h).changed, 1, "{first}");
    assert!(installed(&lab));
    let second = play(&lab, &p, &home, "install.yaml", install, &[]).success();
    assert_eq!(second.recap(&h).changed, 0, "{second}");

    // latest on an up-to-date package changes nothing.
    let latest = play(&lab, &p, &home, "latest.yaml", "- apt: {name: tree, state: latest}\n", &[]).success();
    assert_eq!(latest.recap(&h).changed, 0, "{latest}");

    // absent: check mode keeps it, then it goes, then nothing to do.
    let absent = "- apt: {name: tree, state: absent, purge: true}\n";
    let check = play(&lab, &p, &home, "absent.yaml", absent, &["--check"]).success();
    assert_eq!(check.recap(&h).changed, 1, "{check}");
    assert!(installed(&lab), "check mode removed tree");
    play(&lab, &p, &home, "absent.yaml", absent, &[]).success().recap_is(&h, "ok=1 changed=1");
    assert!(!installed(&lab));
    play(&lab, &p, &home, "absent.yaml", absent, &[]).success().recap_is(&h, "ok=1");

    // package: picks apt on Debian.
    let pkg = "- package: {name: tree, state: present}\n  register: r\n- assert: {that: [r is changed, \"'tree' in r.stdout\"]}\n";
    play(&lab, &p, &home, "package.yaml", pkg, &[]).success().recap_is(&h, "ok=2 changed=1");
    assert!(installed(&lab));
    let again = "- package: {name: tree}\n";
    play(&lab, &p, &home, "package2.yaml", again, &[]).success().recap_is(&h, "ok=1");

    // A package apt does not know fails the task with Ansible's message (exit 2).
    let missing = play(&lab, &p, &home, "missing.yaml", "- apt: {name: orc-no-such-package}\n", &[]).code(2);
    assert!(missing.stdout.contains("No package matching 'orc-no-such-package' is available"), "{missing}");
}

const KEY: &str =
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGDUMMYKEYFORTESTSONLY\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";

fn deb822_task() -> String {
    let key: String = KEY.lines().map(|l| format!("      {l}\n")).collect();
    format!(
        "- deb822_repository:\n    name: Orc Example_repo\n    types: [deb, deb-src]\n    uris: http://mirror.example.org/debian\n    suites: [bookworm]\n    components: [main, contrib]\n    architectures: amd64\n    enabled: false\n    check_valid_until: false\n    signed_by: |\n{key}"
    )
}

const ANSIBLE_PLAYBOOK: &str = "/opt/ansible-venv/bin/ansible-playbook";

/// Runs `tasks` with ansible-playbook against the lab (extra flags such as `--check`), asserting
/// success; returns its stdout.
fn ansible(lab: &Lab, p: &Project, name: &str, tasks: &str, flags: &[&str]) -> String {
    let body = format!("- hosts: lab\n  gather_facts: false\n  tasks:\n{}", indent(&unindent(tasks), 4));
    std::fs::write(p.join(name), body).unwrap();
    let out = Command::new(ANSIBLE_PLAYBOOK)
        .arg("-i")
        .arg(lab.inventory_path())
        .arg(p.join(name))
        .args(flags)
        .env("ANSIBLE_HOST_KEY_CHECKING", "False")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ansible-playbook failed:\n{stdout}");
    stdout
}

/// Runs the same task with ansible-playbook on the host (after installing python3-debian and
/// python3-apt there), returning the file it wrote, then removes it. None when ansible-core is not
/// installed here.
fn ansible_reference(lab: &Lab, p: &Project, h: &str) -> Option<String> {
    if !Path::new(ANSIBLE_PLAYBOOK).exists() {
        return None;
    }
    lab.exec(h, "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-debian python3-apt >/dev/null").ok();
    ansible(lab, p, "ansible-deb822.yaml", &deb822_task(), &[]);
    let text = lab.exec(h, "cat /etc/apt/sources.list.d/orc-example-repo.sources").ok().to_string();
    lab.exec(h, "rm /etc/apt/sources.list.d/orc-example-repo.sources").ok();
    Some(text)
}

#[test]
fn repositories_written_as_ansible_writes_them() {
    let Some(lab) = Lab::start(1) else { return };
    let h = lab.hosts()[0].name.clone();
    let p = Project::new();
    let home = home_for(&lab, &p);
    let dest = "/etc/apt/sources.list.d/orc-example-repo.sources";

    let derived = format!(
        "Architectures: amd64\nCheck-Valid-Until: no\nComponents: main contrib\nEnabled: no\nX-Repolib-Name: Orc Example_repo\nSigned-By:\n{}\nSuites: bookworm\nTypes: deb deb-src\nURIs: http://mirror.example.org/debian\n",
        KEY.trim().lines().map(|l| format!("    {}", if l.is_empty() { "." } else { l })).collect::<Vec<_>>().join("\n")
    );
    let expected = ansible_reference(&lab, &p, &h).unwrap_or(derived.clone());
    assert_eq!(expected, derived, "ansible-core wrote another format than the one derived from its source");

    let task = deb822_task();
    let check = play(&lab, &p, &home, "deb822.yaml", &task, &["--check", "--diff"]).success();
    assert_eq!(check.recap(&h).changed, 1, "{check}");
    assert!(check.stdout.contains("+URIs: http://mirror.example.org/debian"), "{check}");
    assert_ne!(lab.exec(&h, &format!("test -e {dest}")).code, 0, "check mode wrote the file");
    play(&lab, &p, &home, "deb822.yaml", &task, &[]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!(lab.exec(&h, &format!("cat {dest}")).ok(), expected);
    assert_eq!(lab.exec(&h, &format!("stat -c %a {dest}")).ok().trim(), "644");
    play(&lab, &p, &home, "deb822.yaml", &task, &[]).success().recap_is(&h, "ok=1");
    let gone = "- deb822_repository: {name: Orc Example_repo, state: absent}\n";
    let check = play(&lab, &p, &home, "deb822-absent.yaml", gone, &["--check", "--diff"]).success();
    assert_eq!(check.recap(&h).changed, 1, "{check}");
    assert!(
        check.stdout.contains("-URIs: http://mirror.example.org/debian"),
        "the diff shows the removed text\n{check}"
    );
    assert_eq!(lab.exec(&h, &format!("test -e {dest}")).code, 0, "check mode removed the file");
    play(&lab, &p, &home, "deb822-absent.yaml", gone, &[]).success().recap_is(&h, "ok=1 changed=1");
    assert_ne!(lab.exec(&h, &format!("test -e {dest}")).code, 0);

    // apt_repository, classic one-line form (no cache update: the line must not break apt).
    let list = "/etc/apt/sources.list.d/mirror_example_org_debian.list";
    let repo =
        "- apt_repository: {repo: 'deb  http://mirror.example.org/debian bookworm contrib', update_cache: false}\n";
    let check = play(&lab, &p, &home, "repo.yaml", repo, &["--check", "--diff"]).success();
    assert_eq!(check.recap(&h).changed, 1, "{check}");
    assert!(check.stdout.contains("+deb http://mirror.example.org/debian bookworm contrib"), "{check}");
    assert_ne!(lab.exec(&h, &format!("test -e {list}")).code, 0, "check mode wrote the file");
    play(&lab, &p, &home, "repo.yaml", repo, &[]).success().recap_is(&h, "ok=1 changed=1");
    assert_eq!(lab.exec(&h, &format!("cat {list}")).ok(), "deb http://mirror.example.org/debian bookworm contrib\n");
    assert_eq!(lab.exec(&h, &format!("stat -c %a {list}")).ok().trim(), "644");
    play(&lab, &p, &home, "repo.yaml", repo, &[]).success().recap_is(&h, "ok=1");
    if Path::new(ANSIBLE_PLAYBOOK).exists() {
        // Ansible agrees that the host is converged (same file name, same line).
        let out = ansible(&lab, &p, "ansible-repo.yaml", repo, &["--check"]);
        assert!(out.contains("changed=0"), "ansible-playbook --check on orc's result:\n{out}");
    }
    let remove = "- apt_repository: {repo: 'deb http://mirror.example.org/debian bookworm contrib', state: absent, update_cache: false}\n";
    play(&lab, &p, &home, "repo-absent.yaml", remove, &[]).success().recap_is(&h, "ok=1 changed=1");
    assert_ne!(lab.exec(&h, &format!("test -e {list}")).code, 0, "an emptied sources file is deleted");
    // A string that is not a source line fails before touching anything.
    let bad =
        play(&lab, &p, &home, "repo-bad.yaml", "- apt_repository: {repo: 'http://x/ y', update_cache: false}\n", &[])
            .code(2);
    assert!(bad.stdout.contains("Invalid repository string"), "{bad}");
}
