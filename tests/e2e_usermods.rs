//! End-to-end tests of the account and file-inspection modules on a real lab host: user, group,
//! authorized_key (then a real SSH login with that key), replace, find, slurp, fetch, tempfile.
//! Each: first run changes, second run changes nothing, check mode leaves the host alone.
//! Needs Docker (run as root); `ORC_LAB=skip` skips, visibly.

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{unindent, Orc, Project};
use lab::Lab;

/// `S3cret!` hashed with `openssl passwd -6 -salt orcsalt1`.
const HASH: &str = "$6$orcsalt1$MLS2YAn9NfSgrF35w/ohED.DVxcF5N7FKKJB0/eA2LCdCOmjfBe6FmnCJd4c71IKXRp/oLxuGeN7wqdV0p8hy.";

fn home_for(lab: &Lab, p: &Project) -> PathBuf {
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    home
}

fn play(p: &Project, home: &Path, lab: &Lab, book: &str) -> Orc {
    p.play(book).inventory(lab.inventory_path()).env("HOME", home).env("ORC_HOST_KEY_CHECKING", "strict")
}

/// A fresh ed25519 key pair in `dir`; returns (private key path, public key line).
fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap().trim().to_string();
    (key, public)
}

/// Logs in as `user` with `key` using the system ssh client; returns (exit code, stdout).
fn ssh_as(ip: &str, user: &str, key: &Path, cmd: &str) -> (i32, String) {
    let out = Command::new("ssh")
        .args(["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"])
        .args(["-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", "-i"])
        .arg(key)
        .arg(format!("{user}@{ip}"))
        .arg(cmd)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

const ACCOUNTS: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - group: {name: orcteam, gid: 2345}
    - group: {name: orcextra}
    - user:
        name: orcuser
        uid: 2001
        groups: [orcteam]
        shell: /bin/bash
        comment: Orc User
        password: "{{ hash }}"
      register: created
    - authorized_key: {user: orcuser, key: "{{ pubkey }}"}
    - assert:
        that:
          - created.uid == 2001
          - created.home == '/home/orcuser'
          - created.password == 'NOT_LOGGING_PASSWORD'
          - created.shell == '/bin/bash'
"#;

const MODIFY: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - group: {name: orcteam, gid: 2399}
    - user: {name: orcuser, groups: orcextra, append: true, shell: /bin/sh}
    - authorized_key:
        user: orcuser
        key: "{{ pubkey2 }}"
        exclusive: true
"#;

const REMOVE: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - user: {name: orcuser, state: absent, remove: true}
    - group: {name: orcextra, state: absent}
"#;

#[test]
fn accounts_and_keys() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let p = Project::new()
        .file("accounts.yaml", &unindent(ACCOUNTS))
        .file("modify.yaml", &unindent(MODIFY))
        .file("remove.yaml", &unindent(REMOVE));
    let home = home_for(&lab, &p);
    let (key1, pub1) = keypair(&p.join("home"), "orc-k1");
    let (key2, pub2) = keypair(&p.join("home"), "orc-k2");
    let run = |book: &str| {
        play(&p, &home, &lab, book)
            .extra_var("hash", HASH)
            .extra_var("pubkey", pub1.clone())
            .extra_var("pubkey2", pub2.clone())
    };

    // Check mode on a fresh host: reports changes, creates nothing.
    let dry = run("accounts.yaml").check_diff().run();
    assert!(dry.recap(&h.name).changed >= 3, "{dry}");
    lab.exec(&h.name, "getent passwd orcuser").fails();
    lab.exec(&h.name, "getent group orcteam").fails();

    let first = run("accounts.yaml").run().success();
    assert_eq!(first.recap(&h.name).changed, 4, "{first}");
    assert_eq!(lab.exec(&h.name, "getent group orcteam").ok().trim(), "orcteam:x:2345:orcuser");
    assert_eq!(
        lab.exec(&h.name, "getent passwd orcuser").ok().trim(),
        "orcuser:x:2001:2001:Orc User:/home/orcuser:/bin/bash"
    );
    assert_eq!(lab.exec(&h.name, "getent shadow orcuser | cut -d: -f2").ok().trim(), HASH);
    assert_eq!(
        lab.exec(&h.name, "stat -c '%a %U' /home/orcuser/.ssh /home/orcuser/.ssh/authorized_keys").ok(),
        "700 orcuser\n600 orcuser\n"
    );
    assert_eq!(lab.exec(&h.name, "cat /home/orcuser/.ssh/authorized_keys").ok(), format!("{pub1}\n"));
    let second = run("accounts.yaml").run().success();
    assert_eq!(second.recap(&h.name).changed, 0, "{second}");

    // A real login with the key, as that user.
    let (code, who) = ssh_as(&h.ip, "orcuser", &key1, "id -un; id -Gn");
    assert_eq!(code, 0, "ssh login with the authorized key failed");
    assert_eq!(who, "orcuser\norcuser orcteam\n");

    // Modify: gid, appended group, shell, exclusive key; check mode first changes nothing.
    let dry = run("modify.yaml").check_diff().run().success();
    assert_eq!(dry.recap(&h.name).changed, 3, "{dry}");
    assert!(dry.stdout.contains(&format!("+{pub2}")), "{dry}");
    assert!(dry.stdout.contains(&format!("-{pub1}")), "{dry}");
    assert_eq!(lab.exec(&h.name, "getent group orcteam | cut -d: -f3").ok().trim(), "2345");
    assert_eq!(lab.exec(&h.name, "getent passwd orcuser | cut -d: -f7").ok().trim(), "/bin/bash");
    let first = run("modify.yaml").run().success();
    assert_eq!(first.recap(&h.name).changed, 3, "{first}");
    assert_eq!(lab.exec(&h.name, "id -Gn orcuser").ok().trim(), "orcuser orcteam orcextra");
    assert_eq!(lab.exec(&h.name, "getent passwd orcuser | cut -d: -f7").ok().trim(), "/bin/sh");
    assert_eq!(lab.exec(&h.name, "cat /home/orcuser/.ssh/authorized_keys").ok(), format!("{pub2}\n"));
    assert_eq!(run("modify.yaml").run().success().recap(&h.name).changed, 0);
    assert_eq!(ssh_as(&h.ip, "orcuser", &key2, "true").0, 0);
    assert_ne!(ssh_as(&h.ip, "orcuser", &key1, "true").0, 0, "the removed key still logs in");

    // Replacing the groups (no append) drops the extra one.
    let p2 = Project::new().file(
        "groups.yaml",
        &unindent(
            "
            - hosts: lab
              gather_facts: false
              tasks:
                - user: {name: orcuser, groups: [orcteam]}
                - user: {name: orcuser, group: nosuchgroup}
            ",
        ),
    );
    let out = p2
        .play("groups.yaml")
        .inventory(lab.inventory_path())
        .env("HOME", &home)
        .env("ORC_HOST_KEY_CHECKING", "strict")
        .run()
        .code(2);
    assert!(out.stdout.contains("Group nosuchgroup does not exist"), "{out}");
    assert_eq!(lab.exec(&h.name, "id -Gn orcuser").ok().trim(), "orcuser orcteam");

    // Removal with the home directory; check mode first.
    let dry = run("remove.yaml").check_diff().run().success();
    assert_eq!(dry.recap(&h.name).changed, 2, "{dry}");
    lab.exec(&h.name, "test -d /home/orcuser").ok();
    let first = run("remove.yaml").run().success();
    assert_eq!(first.recap(&h.name).changed, 2, "{first}");
    lab.exec(&h.name, "getent passwd orcuser").fails();
    lab.exec(&h.name, "test -e /home/orcuser").fails();
    assert_eq!(run("remove.yaml").run().success().recap(&h.name).changed, 0);
}

const FILES: &str = r#"
- hosts: lab
  gather_facts: false
  tasks:
    - replace:
        path: /etc/orc-app.conf
        regexp: '^port = (\d\d)$'
        replace: 'port = 1\1'
        backup: true
      register: rep
    - find: {paths: /srv/orc-find, patterns: "*.log", recurse: true, get_checksum: true}
      register: found
    - slurp: {src: /srv/orc-find/a.log}
      register: slurped
    - fetch: {src: /srv/orc-find/sub/b.log, dest: "{{ fetch_dir }}"}
    - assert:
        that:
          - found.matched == 2
          - found.files | map(attribute='path') | list == ['/srv/orc-find/a.log', '/srv/orc-find/sub/b.log']
          - found.files[0].checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - slurped.content | b64decode == 'hello\n'
"#;

#[test]
fn files_replace_find_slurp_fetch_tempfile() {
    let Some(lab) = Lab::start(1) else { return };
    let h = &lab.hosts()[0];
    let p = Project::new().file("files.yaml", &unindent(FILES)).file(
        "tmp.yaml",
        &unindent(
            "
            - hosts: lab
              gather_facts: false
              tasks:
                - tempfile: {state: directory, prefix: orc., suffix: .d}
                  register: t
                - copy: {dest: '/root/tempfile-path', content: '{{ t.path | default(\"none\") }}'}
            ",
        ),
    );
    let home = home_for(&lab, &p);
    let fetch_dir = p.join("fetched");
    lab.exec(
        &h.name,
        "printf 'host = a\\nport = 80\\nport = 81\\n' > /etc/orc-app.conf; mkdir -p /srv/orc-find/sub/.hid; \
         echo hello > /srv/orc-find/a.log; echo b > /srv/orc-find/sub/b.log; echo c > /srv/orc-find/sub/.hid/.c.log; \
         echo x > /srv/orc-find/x.txt",
    )
    .ok();
    let run = || play(&p, &home, &lab, "files.yaml").extra_var("fetch_dir", fetch_dir.to_str().unwrap());

    let dry = run().check_diff().run().success();
    assert_eq!(dry.recap(&h.name).changed, 1, "{dry}");
    assert!(dry.stdout.contains("+port = 180") && dry.stdout.contains("-port = 80"), "{dry}");
    assert_eq!(lab.exec(&h.name, "cat /etc/orc-app.conf").ok(), "host = a\nport = 80\nport = 81\n");
    assert!(!fetch_dir.exists(), "fetch wrote in check mode");

    let first = run().run().success();
    assert_eq!(first.recap(&h.name).changed, 2, "{first}");
    assert_eq!(lab.exec(&h.name, "cat /etc/orc-app.conf").ok(), "host = a\nport = 180\nport = 181\n");
    assert_eq!(lab.exec(&h.name, "ls /etc | grep -c '^orc-app.conf\\.'").ok().trim(), "1");
    let fetched = fetch_dir.join(&h.name).join("srv/orc-find/sub/b.log");
    assert_eq!(std::fs::read_to_string(&fetched).unwrap(), "b\n");
    let second = run().run().success();
    assert_eq!(second.recap(&h.name).changed, 0, "{second}");

    // A replace whose file is missing fails with Ansible's message.
    lab.exec(&h.name, "rm /etc/orc-app.conf").ok();
    let out = run().run().code(2);
    assert!(out.stdout.contains("Path /etc/orc-app.conf does not exist !"), "{out}");

    // tempfile: skipped in check mode, creates a directory otherwise.
    let tmp = || play(&p, &home, &lab, "tmp.yaml");
    tmp().check_diff().run().success();
    assert_eq!(lab.exec(&h.name, "ls /tmp | grep -c '^orc\\.' || true").ok().trim(), "0");
    tmp().run().success();
    let path = lab.exec(&h.name, "cat /root/tempfile-path").ok().to_string();
    assert!(path.starts_with("/tmp/orc.") && path.ends_with(".d"), "{path}");
    assert_eq!(lab.exec(&h.name, &format!("stat -c %F:%a {path}")).ok().trim(), "directory:700");
}
