//! ansible.cfg and the ANSIBLE_* variables, found and applied as Ansible does (command line >
//! environment > ansible.cfg > default). Where the effect is visible in a run (`ansible_forks`,
//! the hosts an inventory gives, fact gathering, roles found), orc and ansible-playbook run the
//! same project side by side and must agree.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::ansible::{run_both_env, Side};
use common::{Orc, Project};

/// Both tools succeed and agree on output and files.
#[track_caller]
fn agree(p: &Project, args: &[&str], vars: &[(&str, &str)]) -> Side {
    let (ansible, orc) = run_both_env(p.path(), "site.yml", args, vars);
    assert_eq!(ansible.code, Some(0), "ansible-playbook failed: {ansible:#?}");
    assert_eq!(ansible, orc, "orc differs from ansible-playbook with {args:?} {vars:?}");
    orc
}

const FORKS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - debug: {var: ansible_forks}
"#;

#[test]
fn forks_command_line_beats_environment_beats_file() {
    let p = Project::new().file("site.yml", FORKS).file("ansible.cfg", "[defaults]\nforks = 7\n");
    let shown = |side: &Side| side.lines.iter().find(|l| l.contains("\"ansible_forks\"")).cloned().unwrap_or_default();
    assert!(shown(&agree(&p, &[], &[])).contains(": 7"));
    assert!(shown(&agree(&p, &[], &[("ANSIBLE_FORKS", "3")])).contains(": 3"));
    assert!(shown(&agree(&p, &["-f", "9"], &[("ANSIBLE_FORKS", "3")])).contains(": 9"));
    // ANSIBLE_CONFIG names another file, which then is the only one read.
    let p = p.file("other.cfg", "[defaults]\nforks = 4\n");
    assert!(shown(&agree(&p, &[], &[("ANSIBLE_CONFIG", "other.cfg")])).contains(": 4"));
}

#[test]
fn inventory_roles_path_and_gathering_from_the_file() {
    let p = Project::new()
        .file(
            "ansible.cfg",
            "# a comment\n[defaults]\ninventory = inv/hosts.ini\nroles_path = shared/roles ; elsewhere\ngathering = explicit\n",
        )
        .file("inv/hosts.ini", "[web]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n")
        .file("shared/roles/greet/tasks/main.yml", "- debug: {msg: \"hello from {{ role_name }}\"}\n")
        .file(
            "site.yml",
            r#"
            - hosts: web
              roles: [greet]
              tasks:
                - debug: {msg: "{{ groups.web }} facts={{ ansible_facts | length }}"}
            - hosts: web
              gather_facts: true
              tasks:
                - debug: {msg: "{{ ansible_facts.distribution is defined }}"}
            "#,
        );
    let orc = agree(&p, &[], &[]);
    let gathered = orc.lines.iter().filter(|l| l.starts_with("TASK [Gathering Facts]")).count();
    assert_eq!(gathered, 1, "only the play that asks gathers: {:#?}", orc.lines);
    assert!(orc.lines.iter().any(|l| l.contains("hello from greet")));
}

#[test]
fn smart_gathering_gathers_once_per_host() {
    let p = Project::new().file("ansible.cfg", "[defaults]\ngathering = smart\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          tasks: [{debug: {msg: one}}]
        - hosts: localhost
          tasks: [{debug: {msg: two}}]
        "#,
    );
    let orc = agree(&p, &[], &[]);
    assert_eq!(orc.lines.iter().filter(|l| l.starts_with("TASK [Gathering Facts]")).count(), 1);
    // ANSIBLE_GATHERING beats the file.
    let orc = agree(&p, &[], &[("ANSIBLE_GATHERING", "implicit")]);
    assert_eq!(orc.lines.iter().filter(|l| l.starts_with("TASK [Gathering Facts]")).count(), 2);
}

#[test]
fn an_ansible_cfg_in_a_world_writable_directory_is_ignored() {
    let p = Project::new().file("site.yml", FORKS).file("ansible.cfg", "[defaults]\nforks = 7\n");
    std::fs::set_permissions(p.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = p.play("site.yml").env("HOME", p.join("no-home")).arg("-f").arg("2").run().success();
    assert!(out.stderr.contains("world writable directory"), "{out}");
    // The file is not read: ansible_forks comes from -f, and without -f from orc's default.
    assert!(out.stdout.contains("\"ansible_forks\": 2"), "{out}");
    let out = p.play("site.yml").env("HOME", p.join("no-home")).run().success();
    assert!(out.stdout.contains("\"ansible_forks\": 50"), "{out}");
    // Named by ANSIBLE_CONFIG it is read, without a warning.
    let out = p.play("site.yml").env("HOME", p.join("no-home")).env("ANSIBLE_CONFIG", "ansible.cfg").run().success();
    assert!(out.stdout.contains("\"ansible_forks\": 7") && !out.stderr.contains("world writable"), "{out}");
}

#[test]
fn the_home_file_is_read_when_the_directory_has_none() {
    let p = Project::new().file("site.yml", FORKS).file("home/.ansible.cfg", "[defaults]\nforks = 11\n");
    let out = p.play("site.yml").env("HOME", p.join("home")).arg("-v").run().success();
    assert!(out.stdout.contains("\"ansible_forks\": 11"), "{out}");
    assert!(out.stdout.contains(&format!("Using {} as config file", p.join("home/.ansible.cfg").display())), "{out}");
}

#[test]
fn stdout_callback_json_gives_orcs_json_events() {
    let p = Project::new().file("site.yml", FORKS).file("ansible.cfg", "[defaults]\nstdout_callback = json\n");
    let out = p.play("site.yml").env("HOME", p.join("h")).run().success();
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(serde_json::from_str::<serde_json::Value>(first).is_ok(), "{out}");
    // --output beats the file; a callback orc lacks falls back to the default, saying so.
    let out = p.play("site.yml").env("HOME", p.join("h")).arg("--output").arg("human").run().success();
    assert!(out.stdout.contains("PLAY RECAP"), "{out}");
    let out = p.play("site.yml").env("HOME", p.join("h")).env("ANSIBLE_STDOUT_CALLBACK", "yaml").run().success();
    assert!(out.stdout.contains("PLAY RECAP") && out.stderr.contains("stdout_callback 'yaml'"), "{out}");
}

#[test]
fn wrong_settings_stop_before_anything_runs() {
    let p = Project::new()
        .file("site.yml", "- hosts: localhost\n  tasks: [{file: {path: '{{ playbook_dir }}/made', state: touch}}]\n")
        .file("ansible.cfg", "[defaults]\nforks = plenty\n");
    let out = p.play("site.yml").env("HOME", p.join("h")).run().code(3);
    assert!(out.stderr.contains("forks = plenty: expected a whole number"), "{out}");
    assert!(out.stderr.contains("ansible.cfg:2:1"), "{out}");
    assert!(!p.join("made").exists());
    std::fs::write(p.join("ansible.cfg"), "[privilege_escalation]\nbecome_method = doas\n").unwrap();
    let out = p.play("site.yml").env("HOME", p.join("h")).run().code(3);
    assert!(out.stderr.contains("become_method = doas: orc supports the sudo and su become methods"), "{out}");
    std::fs::write(p.join("ansible.cfg"), "[defaults]\nforks = 2\n").unwrap();
    let out = p.play("site.yml").env("HOME", p.join("h")).env("ANSIBLE_TIMEOUT", "soon").run().code(3);
    assert!(out.stderr.contains("ANSIBLE_TIMEOUT=soon: expected a whole number"), "{out}");
}

#[test]
fn remote_user_key_timeout_and_host_key_checking_reach_the_connection() {
    // Nothing listens on port 1: with -vvv orc logs how it tried to connect (user, timeout,
    // key, host key checking), and the host is unreachable (exit 4).
    let p = Project::new()
        .file("site.yml", "- hosts: all\n  gather_facts: false\n  tasks: [{ping: }]\n")
        .file("hosts", "box ansible_host=127.0.0.1 ansible_port=1\n")
        .file("keys/id_test", "not a key\n")
        .file(
            "ansible.cfg",
            "[defaults]\ninventory = hosts\nremote_user = cfguser\nprivate_key_file = keys/id_test\ntimeout = 3\n\
             host_key_checking = false\n",
        );
    let connect = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = p.play("site.yml").env("HOME", p.join("h")).arg("-vvv").args(args.iter().copied());
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run().code(4);
        let line = out.stderr.lines().find(|l| l.contains("ssh: connecting to")).map(str::to_string);
        line.unwrap_or_else(|| panic!("no connection line: {out}"))
    };
    // The key is taken from the file's directory, not the current one.
    let key = p.join("keys/id_test").display().to_string();
    let line = connect(&[], &[]);
    assert!(line.contains("as cfguser, timeout 3 s"), "{line}");
    assert!(line.contains(&format!("keys: {key} (configured)")), "{line}");
    assert!(line.contains("host key checking: off"), "{line}");
    // The environment beats the file.
    let env = [("ANSIBLE_REMOTE_USER", "envuser"), ("ANSIBLE_TIMEOUT", "4"), ("ANSIBLE_HOST_KEY_CHECKING", "True")];
    let line = connect(&env, &[]);
    assert!(line.contains("as envuser, timeout 4 s") && line.contains("host key checking: strict"), "{line}");
    // orc's own ORC_HOST_KEY_CHECKING beats Ansible's variable and the file.
    let line = connect(&[("ORC_HOST_KEY_CHECKING", "accept-new"), ("ANSIBLE_HOST_KEY_CHECKING", "True")], &[]);
    assert!(line.contains("host key checking: accept-new"), "{line}");
    // The command line beats both.
    let line = connect(&env, &["-u", "cliuser", "-T", "5", "--host-key-checking", "accept-new"]);
    assert!(line.contains("as cliuser, timeout 5 s") && line.contains("host key checking: accept-new"), "{line}");
    // The inventory's ansible_user beats them all, as in Ansible.
    std::fs::write(p.join("hosts"), "box ansible_host=127.0.0.1 ansible_port=1 ansible_user=invuser\n").unwrap();
    let line = connect(&env, &["-u", "cliuser"]);
    assert!(line.contains("as invuser,"), "{line}");
}

#[test]
fn unknown_keys_sections_and_retry_files_are_ignored_quietly() {
    let p = Project::new().file("site.yml", FORKS).file(
        "ansible.cfg",
        "[defaults]\nretry_files_enabled = True\nnocows = 1\ncallbacks_enabled = profile_tasks\nforks = 6\n\
         [colors]\nok = red\n[ssh_connection]\npipelining = True\nssh_args = -o ControlMaster=auto\n",
    );
    let orc = agree(&p, &[], &[]);
    assert!(orc.lines.iter().any(|l| l.contains("\"ansible_forks\": 6")), "{:#?}", orc.lines);
    let out = p.play("site.yml").env("HOME", p.join("h")).run().success();
    assert!(!out.stderr.contains("WARNING") && !out.stdout.contains("WARNING"), "{out}");
    assert!(!p.join("site.retry").exists());
}

#[test]
fn a_malformed_file_is_an_error_naming_its_line() {
    let p = Project::new()
        .file("site.yml", "- hosts: localhost\n  tasks: [{file: {path: '{{ playbook_dir }}/made', state: touch}}]\n");
    for (cfg, line, what) in [
        ("[defaults]\nforks = 5\njust words\n", "ansible.cfg:3:1", "is not a `key = value` line"),
        ("forks = 5\n", "ansible.cfg:1:1", "a setting before any [section] header"),
        ("[defaults]\nforks = 5\nFORKS = 6\n", "ansible.cfg:3:1", "'forks' is set twice in section [defaults]"),
        ("[defaults]\n[privilege_escalation]\n[defaults]\n", "ansible.cfg:3:1", "section 'defaults' appears twice"),
    ] {
        std::fs::write(p.join("ansible.cfg"), cfg).unwrap();
        let out = p.play("site.yml").env("HOME", p.join("h")).run().code(3);
        assert!(out.stderr.contains(line) && out.stderr.contains(what), "{cfg:?}: {out}");
        assert!(!p.join("made").exists());
    }
}

#[test]
fn become_settings_from_the_file_and_the_environment() {
    // As root through sudo on this machine: `whoami` shows whom the task ran as. Ansible's
    // modules run as `nobody` with the system Python (nobody cannot reach the venv's).
    let p = Project::new()
        .file("ansible.cfg", "[privilege_escalation]\nbecome = true\nbecome_user = nobody\n")
        .file("host_vars/localhost.yml", "ansible_python_interpreter: /usr/bin/python3\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: whoami
                  register: who
                  changed_when: false
                - debug: {var: who.stdout}
            "#,
        );
    let orc = agree(&p, &[], &[]);
    assert!(orc.lines.iter().any(|l| l.contains("\"who.stdout\": \"nobody\"")), "{:#?}", orc.lines);
    let orc = agree(&p, &[], &[("ANSIBLE_BECOME_USER", "root")]);
    assert!(orc.lines.iter().any(|l| l.contains("\"who.stdout\": \"root\"")), "{:#?}", orc.lines);
    let orc = agree(&p, &["--become-user", "nobody"], &[("ANSIBLE_BECOME_USER", "root")]);
    assert!(orc.lines.iter().any(|l| l.contains("\"who.stdout\": \"nobody\"")), "{:#?}", orc.lines);
}

#[test]
fn orc_inventory_lists_what_ansible_inventory_lists_from_the_settings() {
    let p = Project::new()
        .file("ansible.cfg", "[defaults]\ninventory = inv/a.ini, inv/b.yml\n")
        .file("inv/a.ini", "[web]\nw1\nw2 x=1\n")
        .file("inv/b.yml", "all:\n  children:\n    db:\n      hosts: {d1: {y: 2}}\n")
        .file("other.ini", "[cache]\nc1\n");
    let ansible_inventory = common::ansible::ansible_playbook().with_file_name("ansible-inventory");
    let both = |vars: &[(&str, &str)]| {
        let mut ansible = std::process::Command::new(&ansible_inventory);
        ansible.args(["--list"]).current_dir(p.path()).env("HOME", p.join("h")).env("PYTHONWARNINGS", "ignore");
        let mut orc = Orc::new().args(["inventory", "--list"]).dir(p.path()).env("HOME", p.join("h"));
        for (k, v) in vars {
            ansible.env(k, v);
            orc = orc.env(k, v);
        }
        let ansible = ansible.output().unwrap();
        assert!(ansible.status.success(), "{}", String::from_utf8_lossy(&ansible.stderr));
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_else(|e| panic!("{e}: {s}"));
        (parse(&String::from_utf8_lossy(&ansible.stdout)), parse(&orc.run().success().stdout))
    };
    let (ansible, orc) = both(&[]);
    assert_eq!(ansible, orc);
    assert_eq!(orc["db"]["hosts"], serde_json::json!(["d1"]));
    let (ansible, orc) = both(&[("ANSIBLE_INVENTORY", "other.ini")]);
    assert_eq!(ansible, orc);
    assert_eq!(orc["cache"]["hosts"], serde_json::json!(["c1"]));
    assert!(orc.get("db").is_none());
    // A source that is not there: Ansible warns and goes on with no hosts; orc stops, saying
    // where the name came from.
    let out = Orc::new().args(["inventory", "--list"]).dir(p.path()).env("HOME", p.join("h"));
    let out = out.env("ANSIBLE_INVENTORY", "gone.ini").run().code(3);
    assert!(out.stderr.contains("gone.ini (from ANSIBLE_INVENTORY) does not exist"), "{out}");
    std::fs::write(p.join("ansible.cfg"), "[defaults]\n\ninventory = inv/a.ini,gone.ini\n").unwrap();
    let out = Orc::new().args(["inventory", "--list"]).dir(p.path()).env("HOME", p.join("h")).run().code(3);
    let cfg = p.join("ansible.cfg").display().to_string();
    assert!(out.stderr.contains(&format!("gone.ini (from inventory in {cfg}:3) does not exist")), "{out}");
}

#[test]
fn orc_run_takes_its_inventory_and_forks_from_the_settings_as_ansible_does() {
    let p = Project::new().file("ansible.cfg", "[defaults]\ninventory = inv/hosts\nforks = 3\n").file(
        "inv/hosts",
        "[web]\nlocalhost ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n",
    );
    let ansible = common::ansible::ansible_playbook().with_file_name("ansible");
    let both = |vars: &[(&str, &str)], args: &[&str]| {
        let mut a = std::process::Command::new(&ansible);
        a.args(["web", "-m", "debug", "-a", "var=ansible_forks"]).args(args.iter().copied());
        a.current_dir(p.path()).env("HOME", p.join("h")).env("ANSIBLE_NOCOLOR", "1").env("PYTHONWARNINGS", "ignore");
        let mut orc =
            Orc::new().args(["run", "web", "-m", "debug", "-a", "var=ansible_forks"]).args(args.iter().copied());
        orc = orc.dir(p.path()).env("HOME", p.join("h"));
        for (k, v) in vars {
            a.env(k, v);
            orc = orc.env(k, v);
        }
        let a = a.output().unwrap();
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        // The lines both print (orc's result also shows `"changed": false`).
        let keep = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.contains(" | ") || l.contains("ansible_forks"))
                .map(|l| l.trim_end_matches(',').to_string())
                .collect()
        };
        let (a, o) = (keep(&String::from_utf8_lossy(&a.stdout)), keep(&orc.run().success().stdout));
        assert_eq!(a, o);
        o
    };
    assert_eq!(both(&[], &[]), ["localhost | SUCCESS => {", "    \"ansible_forks\": 3"]);
    assert_eq!(both(&[("ANSIBLE_FORKS", "4")], &[])[1], "    \"ansible_forks\": 4");
    assert_eq!(both(&[("ANSIBLE_FORKS", "4")], &["-f", "5"])[1], "    \"ansible_forks\": 5");
}
