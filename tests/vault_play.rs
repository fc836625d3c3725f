//! Vault data in playbooks (issue 12, docs/vault.md), on localhost with the local connection:
//! encrypted group_vars, vars_files, include_vars, role defaults, `-e @file`, `lookup('file')`,
//! `copy`/`template` sources and inline `!vault` values, with the password from a file, a script
//! and a terminal prompt (acceptance 2, here and on a lab host); the leak
//! test over every output mode (acceptance 3); bad vault input (acceptance 4); `!unsafe`
//! (acceptance 5). One test runs the same project on a lab host over SSH (tests/lab; needs
//! Docker, `ORC_LAB=skip` skips it visibly).

mod common;
#[path = "lab/mod.rs"]
mod lab;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::ansible::ansible_vault;
use common::vault_text::tamper;
use common::{assert_same_tree, redact, tty, Orc, Outcome, Project};

const PW: &str = "vault-play-password";
const DB: &str = "Db-S3cret-from-group-vars";
const API: &str = "Api-S3cret-inline-value";
const FILE: &str = "File-S3cret-copied-over";
const VARS_FILE: &str = "VarsFile-S3cret-value";
const EXTRA: &str = "Extra-S3cret-value";
const INCLUDED: &str = "Include-S3cret-value";
const ROLE: &str = "Role-S3cret-value";
const NO_LOG: &str = "NoLog-S3cret-value";
/// Every secret the projects hold.
const SECRETS: [&str; 8] = [DB, API, FILE, VARS_FILE, EXTRA, INCLUDED, ROLE, NO_LOG];

/// `orc vault ARGS` in the project, which must succeed; its stdout.
fn orc_vault(p: &Project, args: &[&str]) -> String {
    Orc::new().arg("vault").args(args).dir(p.path()).run().success().stdout
}

/// Encrypts `rel` in place with the project's password file (vault id `id`).
fn encrypt(p: &Project, rel: &str, id: &str) {
    orc_vault(p, &["encrypt", "--vault-id", &format!("{id}@pw.txt"), rel]);
}

/// A `NAME: !vault |` block for `value`, indented by `indent` spaces.
fn inline(p: &Project, name: &str, value: &str, indent: usize) -> String {
    let text = orc_vault(p, &["encrypt_string", "--vault-password-file", "pw.txt", "--name", name, value]);
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(indent))).collect()
}

/// The project every test here starts from: the password file, every kind of vault file (the
/// group_vars one made by the real ansible-vault), and `site.yaml` writing them all to `dest/`
/// with `extra_tasks` after.
fn project(extra_tasks: &str) -> Project {
    let p = Project::new()
        .file("pw.txt", &format!("{PW}\n"))
        .file("group_vars/all/vault.yml", &format!("db_password: {DB}\n"))
        .file("group_vars/all/plain.yml", "app_name: demo\n")
        .file("vars/secret.yml", &format!("vars_file_secret: {VARS_FILE}\n"))
        .file("vars/included.yml", &format!("included_secret: {INCLUDED}\n"))
        .file("extra.yml", &format!("extra_secret: {EXTRA}\n"))
        .file("files/secret.txt", &format!("{FILE}\n"))
        .file("templates/app.j2", "templated for {{ app_name }}: {{ db_password }}\n")
        .file("roles/app/defaults/main.yml", &format!("role_secret: {ROLE}\n"))
        .file("roles/app/tasks/main.yml", "- debug: {msg: role tasks ran}\n");
    std::fs::set_permissions(p.join("pw.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = std::process::Command::new(ansible_vault())
        .args(["encrypt", "--vault-password-file", "pw.txt", "group_vars/all/vault.yml"])
        .current_dir(p.path())
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap();
    assert!(out.status.success(), "ansible-vault: {}", String::from_utf8_lossy(&out.stderr));
    for f in ["vars/secret.yml", "vars/included.yml", "extra.yml", "files/secret.txt", "templates/app.j2"] {
        encrypt(&p, f, "default");
    }
    encrypt(&p, "roles/app/defaults/main.yml", "prod");
    let api = inline(&p, "api_token", API, 4);
    let site = format!(
        r#"- hosts: all
  gather_facts: false
  vars_files: [vars/secret.yml]
  roles: [app]
  vars:
    dest: "{{{{ playbook_dir }}}}/dest"
{api}  tasks:
    - include_vars: vars/included.yml
    - file: {{path: "{{{{ dest }}}}", state: directory}}
    - name: write every secret
      copy:
        dest: "{{{{ dest }}}}/app.conf"
        mode: "0600"
        content: |
          db={{{{ db_password }}}}
          api={{{{ api_token }}}}
          vars_file={{{{ vars_file_secret }}}}
          extra={{{{ extra_secret }}}}
          included={{{{ included_secret }}}}
          role={{{{ role_secret }}}}
          lookup={{{{ lookup('file', 'secret.txt') }}}}
    - copy: {{src: secret.txt, dest: "{{{{ dest }}}}/secret.txt", mode: "0400"}}
    - copy: {{src: secret.txt, dest: "{{{{ dest }}}}/secret.vault", decrypt: false}}
    - template: {{src: app.j2, dest: "{{{{ dest }}}}/templated.conf"}}
{extra_tasks}"#
    );
    // The interpreter line lets ansible-playbook (compared in a test here) use its own Python.
    p.file("site.yaml", &site).file(
        "hosts.ini",
        "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
    )
}

/// `orc play site.yaml -i hosts.ini -e @extra.yml ARGS`.
fn play(p: &Project, args: &[&str]) -> Orc {
    p.play("site.yaml").dir(p.path()).arg("-i").arg("hosts.ini").arg("-e").arg("@extra.yml").args(args)
}

/// What `dest/app.conf` must hold.
fn expected_conf() -> String {
    format!(
        "db={DB}\napi={API}\nvars_file={VARS_FILE}\nextra={EXTRA}\nincluded={INCLUDED}\nrole={ROLE}\nlookup={FILE}\n"
    )
}

/// The destination holds the decrypted secrets (and the ciphertext where `decrypt: false`).
fn assert_converged(dest: &Path) {
    assert_eq!(std::fs::read_to_string(dest.join("app.conf")).unwrap(), expected_conf());
    assert_eq!(std::fs::read_to_string(dest.join("secret.txt")).unwrap(), format!("{FILE}\n"));
    assert!(std::fs::read_to_string(dest.join("secret.vault")).unwrap().starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
    assert_eq!(std::fs::read_to_string(dest.join("templated.conf")).unwrap(), format!("templated for demo: {DB}\n"));
}

/// No secret's bytes in `out`'s stdout or stderr.
#[track_caller]
fn assert_no_secret(out: &Outcome, mode: &str) {
    for s in SECRETS {
        assert!(!out.stdout.contains(s), "{mode}: {s} leaked on stdout\n{out}");
        assert!(!out.stderr.contains(s), "{mode}: {s} leaked on stderr\n{out}");
    }
}

#[test]
fn ansible_cfg_gives_the_password_file_and_the_identity_list() {
    let p = project("").file("ansible.cfg", "[defaults]\nvault_password_file = pw.txt\n");
    play(&p, &[]).run().success().recap_is("localhost", "ok=7 changed=5");
    assert_converged(&p.join("dest"));
    std::fs::remove_dir_all(p.join("dest")).unwrap();
    std::fs::write(p.join("ansible.cfg"), "[defaults]\nvault_identity_list = prod@pw.txt\n").unwrap();
    play(&p, &[]).run().success().recap_is("localhost", "ok=7 changed=5");
    assert_converged(&p.join("dest"));
    // Without either, the same project stops before anything runs.
    std::fs::remove_dir_all(p.join("dest")).unwrap();
    std::fs::write(p.join("ansible.cfg"), "[defaults]\n").unwrap();
    play(&p, &[]).run().code(3);
    assert!(!p.join("dest").exists());
}

#[test]
fn ad_hoc_runs_censor_vault_values_too() {
    // `orc run` once printed through plain stdout, past the censor.
    let p = project("");
    for format in ["human", "json"] {
        let out = Orc::new()
            .dir(p.path())
            .args(["run", "localhost", "-i", "hosts.ini", "-m", "debug", "-a", "msg={{ db_password }}"])
            .args(["--vault-password-file", "pw.txt", "--output", format])
            .run()
            .success();
        assert_no_secret(&out, &format!("orc run --output {format}"));
        assert!(out.stdout.contains("********"), "{out}");
    }
}

#[test]
fn vault_files_and_values_converge_with_passwords_from_a_file_a_script_and_a_prompt() {
    let p = project("");
    // From a file (and a second run changes nothing).
    play(&p, &["--vault-password-file", "pw.txt"]).run().success().recap_is("localhost", "ok=7 changed=5");
    assert_converged(&p.join("dest"));
    play(&p, &["--vault-id", "pw.txt", "--vault-id", "prod@pw.txt"]).run().success().recap_is("localhost", "ok=7");

    // From a script printing it.
    std::fs::remove_dir_all(p.join("dest")).unwrap();
    password_script(&p);
    play(&p, &["--vault-id", "pw.sh"]).run().success().recap_is("localhost", "ok=7 changed=5");
    assert_converged(&p.join("dest"));

    // Typed at the prompt of a terminal.
    std::fs::remove_dir_all(p.join("dest")).unwrap();
    let s = tty::run(
        p.path(),
        &["play", "site.yaml", "-i", "hosts.ini", "-e", "@extra.yml", "--ask-vault-pass"],
        &[("NO_COLOR", "1")],
        &[("Vault password: ", PW)],
    );
    assert_eq!(s.code, Some(0), "{}", s.screen);
    assert!(!s.screen.contains(PW), "the password was echoed\n{}", s.screen);
    assert_converged(&p.join("dest"));
}

/// Writes `pw.sh`, a script printing the password, in the project.
fn password_script(p: &Project) {
    let script = p.join("pw.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho '{PW}'\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn vault_data_converges_on_a_lab_host_with_a_password_file_script_and_prompt() {
    let Some(lab) = lab::Lab::start(1) else { return };
    let host = &lab.hosts()[0].name;
    let p = project("");
    password_script(&p);
    let home = p.join("home");
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    lab.write_known_hosts(&home.join(".ssh/known_hosts"));
    let inventory = lab.inventory_path().display().to_string();
    let base = ["site.yaml", "-i", &inventory, "-e", "@extra.yml", "-e", "dest=/root/vault-demo"];
    let run = |flags: &[&str]| p.play(base[0]).dir(p.path()).args(&base[1..]).args(flags).env("HOME", &home).run();
    let check = || {
        assert_eq!(lab.exec(host, "cat /root/vault-demo/app.conf").ok(), expected_conf());
        assert_eq!(lab.exec(host, "stat -c %a /root/vault-demo/secret.txt").ok().trim(), "400");
        assert_eq!(lab.exec(host, "cat /root/vault-demo/templated.conf").ok(), format!("templated for demo: {DB}\n"));
        assert!(lab.exec(host, "head -1 /root/vault-demo/secret.vault").ok().starts_with("$ANSIBLE_VAULT;1.1;AES256"));
    };
    let out = run(&["--vault-password-file", "pw.txt"]).success().recap_is(host, "ok=7 changed=5");
    assert_no_secret(&out, "lab, password file");
    check();
    run(&["--vault-id", "pw.sh"]).success().recap_is(host, "ok=7");
    lab.exec(host, "rm -rf /root/vault-demo").ok();
    let mut args = vec!["play"];
    args.extend(base);
    args.push("--ask-vault-pass");
    let s =
        tty::run(p.path(), &args, &[("HOME", home.to_str().unwrap()), ("NO_COLOR", "1")], &[("Vault password: ", PW)]);
    assert_eq!(s.code, Some(0), "{}", s.screen);
    assert!(!s.screen.contains(PW), "the password was echoed\n{}", s.screen);
    check();
}

#[test]
fn what_orc_writes_matches_ansible_playbook() {
    let p = project("");
    let (ansible, orc) = common::ansible::run_both(
        p.path(),
        "site.yaml",
        &["-i", "hosts.ini", "-e", "@extra.yml", "--vault-password-file", "pw.txt"],
    );
    assert_eq!(
        (ansible.code, &ansible.files),
        (orc.code, &orc.files),
        "ansible:\n{}\norc:\n{}",
        ansible.lines.join("\n"),
        orc.lines.join("\n")
    );
}

#[test]
fn a_play_that_never_uses_a_secret_needs_no_password() {
    let p = Project::new().file("pw.txt", &format!("{PW}\n"));
    let value = inline(&p, "unused_secret", API, 4);
    let used = format!(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  vars:\n{value}  tasks:\n    - debug: {{msg: \"{{{{ unused_secret }}}}\"}}\n"
    );
    let unused = format!("- hosts: localhost\n  connection: local\n  gather_facts: false\n  vars:\n{value}  tasks:\n    - debug: {{msg: hello}}\n");
    let p = p.file("unused.yaml", &unused).file("used.yaml", &used);
    p.play("unused.yaml").dir(p.path()).run().success().stdout_has("hello");
    // Used without a password: the task fails, naming the value's file and line.
    let out = p.play("used.yaml").dir(p.path()).run();
    assert_ne!(out.code, Some(0), "{out}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("used.yaml:6 is vault-encrypted, and no vault password was given"), "{out}");
}

/// Tasks that print secrets every way a user can make them print.
const LEAKY_TASKS: &str = r#"    - name: a no_log task with its own secret
      shell: "echo NoLog-S3cret-value > {{ dest }}/nolog.txt && echo NoLog-S3cret-value"
      no_log: true
      register: nolog_result
    - debug: {var: nolog_result}
    - command: "cat {{ dest }}/app.conf"
      register: cat_result
      check_mode: false
      failed_when: false
    - debug: {var: cat_result}
    - debug: {msg: "{{ db_password }} {{ api_token }} {{ lookup('file', 'secret.txt') }}"}
    - command: "ls /nonexistent-{{ db_password }}"
      ignore_errors: true
    - name: a failing task whose error quotes a secret
      fail: {msg: "cannot use {{ api_token }} with {{ role_secret }}"}
"#;

#[test]
fn secrets_never_appear_in_any_output_mode_or_any_file_orc_writes() {
    let p = project(LEAKY_TASKS);
    std::fs::create_dir_all(p.join("tmp")).unwrap();
    let tmp = p.join("tmp").display().to_string();
    let pw = ["--vault-password-file", "pw.txt"];
    let modes: Vec<(&str, Vec<&str>)> = vec![
        ("check diff", vec!["--check", "--diff"]),
        ("check diff json", vec!["--check", "--diff", "--output", "json"]),
        ("-v", vec!["-v"]),
        ("-vv", vec!["-vv", "--diff"]),
        ("-vvv", vec!["-vvv"]),
        ("-vvvv", vec!["-vvvv", "--diff"]),
        ("json", vec!["--output", "json", "-vvv"]),
        ("default", vec![]),
    ];
    for (mode, args) in modes {
        let out = play(&p, &pw).args(args).env("TMPDIR", &tmp).env("NO_COLOR", "1").run().code(2);
        assert_no_secret(&out, mode);
        // The failing task's error is there, censored.
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(text.contains("cannot use ******** with ********"), "{mode}: the error is not shown censored\n{out}");
    }
    // The no_log task's text, and Ansible's words for it.
    let out = play(&p, &pw)
        .arg("-v")
        .run()
        .code(2)
        .stdout_has("the output has been hidden due to the fact that 'no_log: true' was specified for this result");
    assert_no_secret(&out, "again");
    // Every file under the project other than the destination: no secret in plain text.
    assert_converged(&p.join("dest"));
    for entry in walk(p.path()) {
        if entry.starts_with(p.join("dest")) {
            continue;
        }
        let bytes = std::fs::read(&entry).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in SECRETS {
            if entry.ends_with("site.yaml") && s == NO_LOG {
                continue; // the playbook itself holds the no_log task's literal
            }
            assert!(!text.contains(s), "{s} is in {}", entry.display());
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A project whose group_vars vault file is `vault_text`, whose first task would create
/// created.txt, and whose play holds `inline` (a `!vault` block) in its vars.
fn bad_project(vault_text: &str, inline: &str) -> Project {
    let p = Project::new()
        .file("pw.txt", &format!("{PW}\n"))
        .file("wrong.txt", "not the password\n")
        .file("group_vars/all/vault.yml", vault_text)
        .file(
            "site.yaml",
            &format!(
                "- hosts: localhost\n  connection: local\n  gather_facts: false\n  vars:\n{inline}  tasks:\n    - copy: {{content: ran, dest: \"{{{{ playbook_dir }}}}/created.txt\"}}\n"
            ),
        );
    for f in ["pw.txt", "wrong.txt"] {
        std::fs::set_permissions(p.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    p
}

/// Runs `args` on `p`: exit 3, nothing changed, neither password nor plaintext in the message,
/// which is snapshotted as `name`.
#[track_caller]
fn refused(p: &Project, name: &str, args: &[&str]) {
    let before = p.tree();
    let out = p.play("site.yaml").dir(p.path()).args(args).run().code(3);
    assert_same_tree(&p.tree(), &before, name);
    assert!(!out.stdout.contains("TASK ["), "{name}: something ran\n{out}");
    for s in [PW, "not the password", DB, API] {
        assert!(!out.stderr.contains(s), "{name}: {s} is in the message\n{out}");
    }
    insta::assert_snapshot!(name, redact(&out.stderr, p.path()));
}

#[test]
fn bad_vault_input_is_exit_3_before_anything_runs() {
    let p = Project::new().file("pw.txt", &format!("{PW}\n")).file("v.yml", &format!("db_password: {DB}\n"));
    encrypt(&p, "v.yml", "default");
    let good = std::fs::read_to_string(p.join("v.yml")).unwrap();
    let labelled = {
        let q = Project::new().file("pw.txt", &format!("{PW}\n")).file("v.yml", &format!("db_password: {DB}\n"));
        encrypt(&q, "v.yml", "prod");
        std::fs::read_to_string(q.join("v.yml")).unwrap()
    };
    let api = inline(&p, "api_token", API, 4);
    let pw = ["--vault-password-file", "pw.txt"];
    let wrong = ["--vault-password-file", "wrong.txt"];

    refused(&bad_project(&good, ""), "play_wrong_password", &wrong);
    refused(&bad_project(&good, ""), "play_no_password", &[]);
    refused(&bad_project(&labelled, ""), "play_missing_vault_id", &["--vault-id", "dev@wrong.txt"]);
    refused(&bad_project(&tamper(&good), ""), "play_tampered_hmac", &pw);
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    lines[2].replace_range(10..11, "z");
    refused(&bad_project(&(lines.join("\n") + "\n"), ""), "play_non_hex_body", &pw);
    refused(&bad_project(&good.replacen("1.1", "1.3", 1), ""), "play_unknown_version", &pw);
    // An inline value with a wrong password: its file and line.
    refused(&bad_project("plain: 1\n", &api), "play_inline_wrong_password", &wrong);
}

#[test]
fn unsafe_strings_reach_the_module_unrendered() {
    let p = Project::new().file(
        "site.yaml",
        r#"
        - hosts: localhost
          connection: local
          gather_facts: false
          vars:
            raw_text: !unsafe "{{ not_a_variable }} and {% if x %}{% endif %}"
          tasks:
            - copy: {content: "{{ raw_text }}", dest: "{{ playbook_dir }}/var.txt"}
            - copy:
                content: !unsafe "{{ literal }}"
                dest: "{{ playbook_dir }}/arg.txt"
            - command: !unsafe "echo {{ x }}"
              register: echoed
            - copy: {content: "{{ echoed.stdout }}", dest: "{{ playbook_dir }}/cmd.txt"}
        "#,
    );
    p.play("site.yaml").dir(p.path()).run().success();
    let read = |f: &str| std::fs::read_to_string(p.join(f)).unwrap();
    assert_eq!(read("var.txt"), "{{ not_a_variable }} and {% if x %}{% endif %}");
    assert_eq!(read("arg.txt"), "{{ literal }}");
    assert_eq!(read("cmd.txt"), "{{ x }}");
}

const INI_SECRET: &str = "IniInventory-S3cret";
const INI_GROUP_SECRET: &str = "IniGroupVars-S3cret";
const YAML_SECRET: &str = "YamlInventory-S3cret";
const HOST_VARS_SECRET: &str = "HostVarsFile-S3cret";
const GROUP_VARS_SECRET: &str = "GroupVarsFile-S3cret";

/// A project with two vault-encrypted inventories (`inv/hosts.ini` with an encrypted
/// `inv/host_vars/localhost.yml` and `inv/group_vars/app.yml` beside it, and `yinv/hosts.yml`)
/// and a playbook writing every variable to `out.txt`.
fn encrypted_inventory_project() -> Project {
    let p = Project::new()
        .file("pw.txt", &format!("{PW}\n"))
        .file("wrong.txt", "not the password\n")
        .file(
            "inv/hosts.ini",
            &format!(
                "[app]\nlocalhost ansible_connection=local ini_secret={INI_SECRET}\n\n[app:vars]\ngroup_secret={INI_GROUP_SECRET}\n"
            ),
        )
        .file("inv/host_vars/localhost.yml", &format!("host_vars_secret: {HOST_VARS_SECRET}\n"))
        .file("inv/group_vars/app.yml", &format!("group_vars_secret: {GROUP_VARS_SECRET}\n"))
        .file(
            "yinv/hosts.yml",
            &format!("all:\n  children:\n    app:\n      hosts:\n        localhost:\n          ansible_connection: local\n          yaml_secret: {YAML_SECRET}\n"),
        )
        .file(
            "site.yaml",
            r#"
            - hosts: app
              gather_facts: false
              tasks:
                - copy:
                    dest: "{{ playbook_dir }}/out.txt"
                    content: "{{ [ini_secret | default('-'), group_secret | default('-'), host_vars_secret | default('-'), group_vars_secret | default('-'), yaml_secret | default('-')] | join(' ') }}\n"
                - debug: {msg: "{{ ini_secret | default(yaml_secret | default('-')) }} on {{ inventory_hostname }}"}
            "#,
        );
    for f in ["pw.txt", "wrong.txt"] {
        std::fs::set_permissions(p.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    for f in ["inv/hosts.ini", "inv/host_vars/localhost.yml", "inv/group_vars/app.yml", "yinv/hosts.yml"] {
        encrypt(&p, f, "default");
    }
    p
}

#[test]
fn encrypted_inventories_and_their_vars_files_decrypt_with_the_run_passwords() {
    let p = encrypted_inventory_project();
    let secrets = [INI_SECRET, INI_GROUP_SECRET, YAML_SECRET, HOST_VARS_SECRET, GROUP_VARS_SECRET];
    let pw = ["--vault-password-file", "pw.txt"];
    let no_secret = |out: &Outcome, mode: &str| {
        for s in secrets {
            assert!(!out.stdout.contains(s) && !out.stderr.contains(s), "{mode}: {s} leaked\n{out}");
        }
    };
    // An encrypted INI inventory with encrypted host_vars and group_vars beside it.
    let out = p.play("site.yaml").args(["-i", "inv/hosts.ini", "-v"]).args(pw).run().success();
    no_secret(&out, "ini");
    // The host's name and connection are not secrets: only the variables' values are censored.
    let out = out.recap_is("localhost", "ok=2 changed=1").stdout_has("\"msg\": \"******** on localhost\"");
    assert!(!out.stdout.contains("********host"), "{out}");
    let read = || std::fs::read_to_string(p.join("out.txt")).unwrap();
    assert_eq!(read(), format!("{INI_SECRET} {INI_GROUP_SECRET} {HOST_VARS_SECRET} {GROUP_VARS_SECRET} -\n"));
    // An encrypted YAML inventory.
    let out = p.play("site.yaml").args(["-i", "yinv/hosts.yml", "--output", "json"]).args(pw).run().success();
    no_secret(&out, "yaml");
    assert_eq!(read(), format!("- - - - {YAML_SECRET}\n"));
    // `orc inventory` takes the same flags, and censors what it prints.
    let out = Orc::new().args(["inventory", "-i", "inv/hosts.ini", "--list"]).args(pw).dir(p.path()).run().success();
    no_secret(&out, "inventory --list");
    let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let host = &list["_meta"]["hostvars"]["localhost"];
    assert_eq!((&host["ini_secret"], &host["ansible_connection"]), (&"********".into(), &"local".into()), "{list}");
    assert_eq!(host["host_vars_secret"], "********", "{list}");
    let out = Orc::new().args(["inventory", "-i", "yinv/hosts.yml", "--graph"]).args(pw).dir(p.path()).run();
    out.success().stdout_has("@app:").stdout_has("localhost");
}

#[test]
fn an_encrypted_inventory_with_a_wrong_or_no_password_is_exit_3_naming_it() {
    let p = encrypted_inventory_project();
    for (name, inv, args) in [
        ("inventory_ini_wrong_password", "inv/hosts.ini", vec!["--vault-password-file", "wrong.txt"]),
        ("inventory_yaml_wrong_password", "yinv/hosts.yml", vec!["--vault-password-file", "wrong.txt"]),
        ("inventory_ini_no_password", "inv/hosts.ini", vec![]),
    ] {
        let before = p.tree();
        let out = p.play("site.yaml").args(["-i", inv]).args(&args).run().code(3);
        assert_same_tree(&p.tree(), &before, name);
        assert!(!out.stdout.contains("TASK ["), "{name}: something ran\n{out}");
        assert!(out.stderr.contains(inv), "{name}: the message does not name {inv}\n{out}");
        for s in [PW, "not the password", INI_SECRET, YAML_SECRET] {
            assert!(!out.stderr.contains(s), "{name}: {s} is in the message\n{out}");
        }
        insta::assert_snapshot!(name, redact(&out.stderr, p.path()));
    }
    // `orc inventory` too.
    Orc::new()
        .args(["inventory", "-i", "inv/hosts.ini", "--list", "--vault-password-file", "wrong.txt"])
        .dir(p.path())
        .run()
        .code(3)
        .stderr_has("inv/hosts.ini: decryption failed with vault id 'default'");
}

const UNVAULTED: &str = "Unvault-Filter-S3cret";

#[test]
fn the_vault_and_unvault_filters_write_what_ansible_writes_and_unvault_is_censored() {
    // Vault text made ahead (here by orc vault, with the filter's own password), kept in a plain
    // vars file as a string: `unvault` opens it with the password it is given, not the run's.
    // (`copy` of vault text needs `decrypt: false`: ansible-playbook would decrypt it.)
    let p = Project::new().file("pw.txt", "filter-password\n").file("made.txt", UNVAULTED);
    std::fs::set_permissions(p.join("pw.txt"), std::fs::Permissions::from_mode(0o600)).unwrap();
    orc_vault(&p, &["encrypt", "--vault-password-file", "pw.txt", "made.txt"]);
    let made = std::fs::read_to_string(p.join("made.txt")).unwrap();
    let block: String = made.lines().map(|l| format!("  {l}\n")).collect();
    let p = p
        .file("vars/made.yml", &format!("vaulted_text: |\n{block}"))
        .file(
            "site.yaml",
            r#"
            - hosts: all
              gather_facts: false
              vars_files: [vars/made.yml]
              vars:
                filter_pw: filter-password
                out: "{{ playbook_dir }}/out"
              tasks:
                - file: {path: "{{ out }}", state: directory}
                - copy: {decrypt: false, dest: "{{ out }}/fixed.txt", content: "{{ 'a value' | vault(filter_pw, salt='fixedsalt') }}"}
                - copy: {decrypt: false, dest: "{{ out }}/labelled.txt", content: "{{ 'a value' | ansible.builtin.vault(filter_pw, 'fixedsalt', 'prod') }}"}
                - copy: {decrypt: false, dest: "{{ out }}/default-id.txt", content: "{{ 'a value' | vault(filter_pw, salt='fixedsalt', vault_id='default') }}"}
                - copy: {dest: "{{ out }}/round-trip.txt", content: "{{ 'a value' | vault(filter_pw) | unvault(filter_pw) }}"}
                - copy: {dest: "{{ out }}/unvaulted.txt", content: "{{ vaulted_text | unvault(filter_pw) }}"}
                - copy: {dest: "{{ out }}/passed-through.txt", content: "{{ 'not vault text' | unvault(filter_pw, vault_id='other') }}"}
                - debug: {msg: "{{ vaulted_text | unvault(filter_pw) }}"}
                - debug: {msg: "{{ vaulted_text | unvault('wrong-password') }}"}
                  ignore_errors: true
            "#,
        )
        .file(
            "hosts.ini",
            "localhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
        );
    let (ansible, orc) = common::ansible::run_both(p.path(), "site.yaml", &["-i", "hosts.ini"]);
    assert_eq!(
        (ansible.code, &ansible.files),
        (orc.code, &orc.files),
        "ansible:\n{}\norc:\n{}",
        ansible.lines.join("\n"),
        orc.lines.join("\n")
    );
    let out = p.play("site.yaml").args(["-i", "hosts.ini", "-v"]).run().success();
    assert_eq!(std::fs::read_to_string(p.join("out/unvaulted.txt")).unwrap().trim_end(), UNVAULTED);
    assert!(!out.stdout.contains(UNVAULTED) && !out.stderr.contains(UNVAULTED), "{out}");
    out.stdout_has("\"msg\": \"********\"")
        .stdout_has("Unable to decrypt: Decryption failed (no vault secrets were found that could decrypt).");
}
