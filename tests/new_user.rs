//! Regressions for what a new user hit (the "silent wrong behaviour and first-hour friction"
//! issue): where Ansible defines the behaviour, orc's run is compared with ansible-playbook's on
//! the same input (tests/common/ansible.rs); elsewhere the message and exit code are checked.
//! Ctrl-C is in tests/interrupt.rs, the provisioning playbook's live hardening, check mode on a
//! fresh host and tags in tests/e2e_provision.rs, docker_container's `healthy` timeout in
//! tests/docker_local.rs, the invalid-input cases in tests/bad_input.rs.

mod common;

use std::process::Command;

use common::ansible::{ansible_python, assert_same_as_ansible};
use common::{Orc, Project};
use serde_json::Value;

// ---- A1 and A4: free-form commands and k=v arguments, as Ansible splits them ----------------

#[test]
fn multi_line_free_form_commands_keep_their_lines() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: |
                echo one
                echo two
              register: sh
            - debug: var=sh.stdout_lines
            - command: |
                printf '%s|' a
                b
              register: cmd
            - debug: var=cmd.stdout
            - shell: >
                echo folded
                one line
              register: folded
            - debug: var=folded.stdout_lines
            - shell: "if true; then\n  echo   spaced   out\nfi"
              register: script
            - debug: var=script.stdout
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn escapes_in_quoted_k_v_values_are_decoded() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: content="hi\n" dest={{ playbook_dir }}/newline.txt
            - copy: content='tab\there \"q\"' dest={{ playbook_dir }}/tab.txt
            - copy: content="caf\u00e9 \x41" dest={{ playbook_dir }}/unicode.txt
            - debug: msg="a\\nb"
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
    let out = p.play("site.yml").run().success();
    assert_eq!(std::fs::read_to_string(p.join("newline.txt")).unwrap(), "hi\n", "{out}");
}

/// orc's `parse_kv` against Ansible's own (ansible.parsing.splitter) on a few thousand strings
/// built from the pieces that matter: quotes, escapes, Jinja blocks, `=`, spaces and newlines.
#[test]
fn k_v_parsing_matches_ansibles_parse_kv() {
    let atoms = [
        "echo",
        "a=b",
        "x",
        "\"q r\"",
        "'s t'",
        "{{ v }}",
        "{{",
        "}}",
        "{%",
        "%}",
        "\\n",
        "\\t",
        "\\\\",
        "\\\"",
        "=",
        "k=v",
        "creates=/x",
        "chdir=\"/a b\"",
        "\n",
        "  ",
        " ",
        "\\",
        "é",
        "\\x41",
        "\\u00e9",
        "a\\=b",
        "\"",
        "'",
        "msg=\"hi\\n\"",
        "{# c #}",
    ];
    let seps = [" ", "", "\n"];
    let mut rng = fastrand::Rng::with_seed(7);
    let inputs: Vec<String> = (0..2000)
        .map(|_| {
            (0..rng.usize(1..8))
                .map(|_| format!("{}{}", atoms[rng.usize(..atoms.len())], seps[rng.usize(..3)]))
                .collect()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, serde_json::to_string(&inputs).unwrap()).unwrap();
    let script = r#"
import json, sys
from ansible.parsing.splitter import parse_kv
out = []
for s in json.load(open(sys.argv[1])):
    row = []
    for raw in (False, True):
        try:
            row.append({str(k): str(v) for k, v in parse_kv(s, check_raw=raw).items()})
        except Exception:
            row.append(None)
    out.append(row)
print(json.dumps(out))
"#;
    let out = Command::new(ansible_python()).arg("-c").arg(script).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<Vec<Value>> = serde_json::from_slice(&out.stdout).unwrap();
    let mut wrong = Vec::new();
    for (s, want) in inputs.iter().zip(&expected) {
        for (raw, want) in [false, true].iter().zip(want) {
            let got = match orc::playbook::parse_kv(s, *raw) {
                Ok(m) => Value::Object(m),
                Err(_) => Value::Null,
            };
            if &got != want {
                wrong.push(format!("{s:?} (check_raw={raw}): ansible {want}, orc {got}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} differ, e.g.:\n{}",
        wrong.len(),
        inputs.len() * 2,
        wrong[..wrong.len().min(10)].join("\n")
    );
}

// ---- A2: handlers -------------------------------------------------------------------------

#[test]
fn every_handler_of_a_topic_runs_and_chains_run_in_the_same_flush() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: Changes
              command: "true"
              notify: restart app
            - name: Changes too
              command: "true"
              notify: [dup, chain]
          handlers:
            - name: later
              debug: msg=later
            - name: restart app
              debug: msg=by-name
            - name: check config
              debug: msg=check
              listen: restart app
            - name: restart service
              debug: msg=restart
              listen: restart app
            - name: dup
              debug: msg=first-dup
            - name: dup
              debug: msg=second-dup
            - name: chain
              command: "true"
              notify: [later, last]
            - name: last
              debug: msg=last
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

// ---- changed_when on a failing command ----------------------------------------------------

#[test]
fn changed_when_applies_to_failed_results_too() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: id -u no-such-user-orc
              register: probe
              changed_when: false
              failed_when: false
            - command: id -u no-such-user-orc
              changed_when: false
              ignore_errors: true
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

// ---- A5: --start-at-task ------------------------------------------------------------------

const TWO_PLAYS: &str = r#"
- hosts: localhost
  gather_facts: false
  tasks:
    - name: First task
      debug: msg=first
    - name: Second task
      debug: msg=second
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Third task
      debug: msg=third
"#;

#[test]
fn start_at_task_matches_names_and_patterns_as_ansible() {
    let p = Project::new().file("site.yml", TWO_PLAYS);
    // A pattern, and the later play runs whole once the task was found.
    assert_same_as_ansible(p.path(), "site.yml", &["--start-at-task", "Sec*"]);
    assert_same_as_ansible(p.path(), "site.yml", &["--start-at-task", "Second task"]);
}

#[test]
fn start_at_task_naming_no_task_is_an_error() {
    let p = Project::new().file("site.yml", TWO_PLAYS);
    let out = p.play("site.yml").args(["--start-at-task", "Secnod task"]).run().code(3);
    insta::assert_snapshot!(out.stderr, @r#"
    error: No matching task "Secnod task" found. Note: --start-at-task can only follow static includes.
      = help: did you mean "Second task"? (names match exactly, or as a shell pattern like "Install *")
    "#);
    assert!(!out.stdout.contains("TASK ["), "{out}");
}

// ---- A6: a playbook is needed with playbook options; --syntax-check needs no hosts --------

#[test]
fn playbook_options_without_a_playbook_say_that_none_was_given() {
    let p = Project::new().file("hosts.ini", "[web]\nw1\n");
    let out = Orc::play_default().dir(p.path()).args(["-i", "hosts.ini", "-l", "w1"]).run().code(64);
    insta::assert_snapshot!(out.stderr, @"error: no playbook given with -i/--inventory, -l/--limit: name the playbook to run, as in `orc play site.yaml -i INVENTORY`; `orc play` without a playbook runs only the built-in quickstart on this machine");
    assert!(out.stdout.is_empty(), "{out}");
}

#[test]
fn syntax_check_needs_no_inventory() {
    // Hosts and variables come from an inventory the linting CI job does not have.
    let p = Project::new().file(
        "site.yml",
        "- hosts: webservers\n  tasks:\n    - copy: {content: \"{{ app_port }}\", dest: /etc/app.conf}\n",
    );
    p.play("site.yml").arg("--syntax-check").run().success().stdout_has("playbook: site.yml");
    // A real syntax error still fails it.
    let bad = Project::new().file("site.yml", "- hosts: webservers\n  tasks:\n    - copyy: {}\n");
    bad.play("site.yml").arg("--syntax-check").run().code(3).stderr_has("copyy");
}

// ---- A9: host patterns --------------------------------------------------------------------

#[test]
fn an_unbalanced_host_pattern_is_refused_at_the_pattern() {
    let p = Project::new().file("hosts.ini", "[web]\nw1 ansible_connection=local\n");
    let out = Orc::new().dir(p.path()).args(["run", "web[", "-i", "hosts.ini", "-m", "ping"]).run().code(3);
    insta::assert_snapshot!(out.stderr, @r"
    error: invalid host pattern 'web[': 'web[' has a '[' that is never closed
     --> <command line PATTERN>:1:1
      |
    1 | web[
      | ^
      = help: a subscript is written group[0], group[-1] or group[1:3]; a ~regex pattern may use brackets freely
    ");
    assert!(out.stdout.is_empty(), "nothing ran\n{out}");
}

#[test]
fn all_without_an_inventory_explains_the_implicit_localhost() {
    let out = Orc::new().args(["run", "all", "-m", "ping"]).run().code(3);
    assert!(out.stderr.contains("implicit localhost"), "{out}");
    assert!(out.stderr.contains("target `localhost`"), "{out}");
    Orc::new().args(["run", "localhost", "-m", "ping"]).run().success().stdout_has("localhost | SUCCESS");
}

// ---- B: flags an Ansible user reaches for -------------------------------------------------

#[test]
fn ad_hoc_one_line_output() {
    let out = Orc::new().args(["run", "localhost", "-m", "shell", "-a", "echo a; echo b >&2", "-o"]).run().success();
    assert_eq!(out.stdout, "localhost | CHANGED | rc=0 | (stdout) a (stderr) b\n");
    let out = Orc::new().args(["run", "localhost", "-m", "ping", "--one-line"]).run().success();
    assert_eq!(out.stdout, "localhost | SUCCESS => {\"changed\": false,\"ping\": \"pong\"}\n");
}

#[test]
fn ad_hoc_check_diff_prints_a_unified_diff() {
    let p = Project::new().file("f.txt", "old\n");
    let dest = p.join("f.txt");
    let args = format!("content='new\n' dest={}", dest.display());
    let out = Orc::new().args(["run", "localhost", "-m", "copy", "-a", &args, "--check", "--diff"]).run().success();
    let text = common::redact(&out.stdout, p.path());
    assert!(text.starts_with("--- before: [DIR]/f.txt\n+++ after: [DIR]/f.txt\n@@ -1 +1 @@\n-old\n+new\n"), "{out}");
    assert!(!text.contains("\"diff\""), "the raw diff dict is not shown\n{out}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n", "check mode changed the file");
}

#[test]
fn flush_cache_without_a_fact_cache_has_nothing_to_do() {
    let p =
        Project::new().file("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks: [{debug: {msg: hi}}]\n");
    let out = p.play("site.yml").arg("--flush-cache").run().success();
    assert!(!out.stderr.contains("WARNING"), "{out}");
}

#[test]
fn step_asks_before_each_task_and_reads_the_answers() {
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - {name: one, debug: {msg: one}}\n    - {name: two, debug: {msg: two}}\n    - {name: three, debug: {msg: three}}\n    - {name: four, debug: {msg: four}}\n",
    );
    let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
    let mut child = Command::new(bin)
        .args(["play", "site.yml", "--step"])
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    // one: yes, two: no (the default), three: continue (four runs unasked).
    child.stdin.take().unwrap().write_all(b"y\n\nc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stderr.matches("Perform task: TASK: ").count(), 3, "{stderr}");
    assert!(stderr.contains("Perform task: TASK: one (N)o/(y)es/(c)ontinue: "), "{stderr}");
    for ran in ["TASK [one]", "TASK [three]", "TASK [four]"] {
        assert!(stdout.contains(ran), "{ran} did not run\n{stdout}");
    }
    assert!(!stdout.contains("TASK [two]"), "two ran although answered no\n{stdout}");
}

#[test]
fn ask_become_pass_without_a_terminal_says_what_to_do() {
    let p = Project::new().file("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks: []\n");
    // setsid: no controlling terminal, as in CI.
    let without_terminal = |flag: &str| {
        let bin = std::env::var_os("ORC_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_orc").into());
        let out = Command::new("setsid")
            .arg(bin)
            .args(["play", "site.yml", flag])
            .current_dir(p.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        assert_eq!(out.status.code(), Some(64), "{stderr}");
        stderr
    };
    insta::assert_snapshot!(without_terminal("-K"), @"error: -K/--ask-become-pass needs a terminal to ask for the password; set ansible_become_password or use a password file (--become-password-file FILE)");
    insta::assert_snapshot!(without_terminal("-k"), @"error: -k/--ask-pass needs a terminal to ask for the password; set ansible_password or use a password file (--connection-password-file FILE)");
}

#[test]
fn unsupported_become_method_and_missing_private_key_are_usage_errors() {
    let p = Project::new().file("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks: []\n");
    p.play("site.yml").args(["--become-method", "doas"]).run().code(64).stderr_has("orc supports sudo and su");
    p.play("site.yml").args(["--private-key", "/nonexistent/key"]).run().code(64).stderr_has("no such file");
}

#[test]
fn json_output_reports_invalid_input_as_an_error_event() {
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - cpoy: {content: x, dest: /tmp/x}\n",
    );
    let out = p.play("site.yml").args(["--output", "json"]).run().code(3);
    let event: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("not one JSON line ({e})\n{out}"));
    assert_eq!(
        event,
        serde_json::json!({
            "event": "error", "kind": "input", "message": "unknown module or task keyword 'cpoy'",
            "file": "site.yml", "line": 4, "column": 7, "source": "    - cpoy: {content: x, dest: /tmp/x}",
            "help": "did you mean 'copy'?", "exit_code": 3
        })
    );
    assert!(out.stderr.contains("--> site.yml:4:7"), "the human report stays on stderr\n{out}");
}

// ---- B: orc doc, from the binary alone ------------------------------------------------------

#[test]
fn doc_shows_a_module_from_the_binary_as_ansible_doc_does() {
    let copy = Orc::new().args(["doc", "copy"]).run().success();
    insta::assert_snapshot!("doc_copy", copy.stdout);
    // The fully qualified name shows the same page.
    let fqcn = Orc::new().args(["doc", "ansible.builtin.copy"]).run().success();
    assert_eq!(fqcn.stdout, copy.stdout);
    // An engine action (not a module) is documented too.
    Orc::new().args(["doc", "set_fact"]).run().success().stdout_has("> SET_FACT (ansible.builtin.set_fact)");
}

#[test]
fn doc_list_names_every_module_and_engine_action() {
    let list = Orc::new().args(["doc", "--list"]).run().success();
    let listed: Vec<&str> = list.stdout.lines().filter_map(|l| l.split_whitespace().next()).collect();
    for name in orc_modules::registry::names() {
        assert!(
            listed.iter().any(|l| l.rsplit('.').next() == Some(name)),
            "orc doc --list lacks the module {name}\n{list}"
        );
        // Every listed module's page renders.
        Orc::new().args(["doc", name]).run().success();
    }
    for action in ["set_fact", "debug", "assert", "fail", "include_vars", "meta"] {
        assert!(listed.iter().any(|l| l.rsplit('.').next() == Some(action)), "lacks {action}\n{list}");
    }
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(listed, sorted, "the list is sorted");
}

#[test]
fn doc_of_an_unknown_module_suggests_one() {
    let out = Orc::new().args(["doc", "cpoy"]).run().code(64);
    insta::assert_snapshot!(out.stderr.trim_end(), @"error: no module or action named 'cpoy'; did you mean 'copy'? (orc doc --list lists them)");
}
