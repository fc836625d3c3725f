//! Acceptance 4: a failing task exits 2 with failed=1; with ignore_errors the run exits 0 with
//! ignored=1; a rescued block counts rescued=1. Expected counters are those ansible-playbook 2.19
//! prints for the same playbooks.

mod common;

use common::{unindent, Project};

/// A project whose site.yaml is one play on localhost running a first task that writes
/// before.txt, then `tasks` (YAML task lists, each indented any way: they are unindented).
fn playbook(tasks: &[&str]) -> Project {
    let mut text = unindent(
        r#"
        - hosts: localhost
          connection: local
          gather_facts: false
          tasks:
            - name: Write a file before
              copy:
                content: "before\n"
                dest: "{{ playbook_dir }}/before.txt"
        "#,
    );
    for line in tasks.iter().flat_map(|t| unindent(t).lines().map(String::from).collect::<Vec<_>>()) {
        if !line.is_empty() {
            text.push_str("    ");
        }
        text.push_str(&line);
        text.push('\n');
    }
    Project::new().file("site.yaml", &text)
}

/// A task that writes after.txt, to see whether the play went on.
const AFTER: &str = r#"
    - name: Write a file after
      copy:
        content: "after\n"
        dest: "{{ playbook_dir }}/after.txt"
"#;

#[test]
fn failing_task_exits_2_and_stops_the_host() {
    let p = playbook(&[
        r#"
        - name: Fail
          command: /bin/false
        "#,
        AFTER,
    ]);
    p.play("site.yaml")
        .run()
        .code(2)
        .stdout_has("fatal: [localhost]: FAILED!")
        .recap_is("localhost", "ok=1 changed=1 failed=1");
    assert!(p.join("before.txt").exists());
    assert!(!p.join("after.txt").exists(), "the host must stop after its failure");
}

#[test]
fn fail_module_message_is_shown() {
    let p = playbook(&[r#"
        - name: Refuse
          fail:
            msg: disk full on /var
        "#]);
    p.play("site.yaml").run().code(2).stdout_has("disk full on /var").recap_is("localhost", "ok=1 changed=1 failed=1");
}

#[test]
fn failed_when_turns_success_into_failure() {
    let p = playbook(&[r#"
        - name: Look for errors
          command: echo error, disk full
          register: out
          failed_when: "'error' in out.stdout"
        "#]);
    p.play("site.yaml").run().code(2).recap_is("localhost", "ok=1 changed=1 failed=1");
}

#[test]
fn ignore_errors_exits_0_with_ignored_1() {
    let p = playbook(&[
        r#"
        - name: Fail but carry on
          command: /bin/false
          ignore_errors: true
        "#,
        AFTER,
    ]);
    // Ansible counts the ignored failure as ok (and, the command reporting changed, as changed).
    p.play("site.yaml").run().code(0).stdout_has("...ignoring").recap_is("localhost", "ok=3 changed=3 ignored=1");
    assert!(p.join("after.txt").exists(), "the play goes on after an ignored failure");
}

#[test]
fn rescued_block_exits_0_with_rescued_1() {
    let p = playbook(&[
        r#"
        - name: Try
          block:
            - name: Fail
              fail:
                msg: disk full
            - name: Not reached
              copy:
                content: "x\n"
                dest: "{{ playbook_dir }}/not-reached.txt"
          rescue:
            - name: Recover
              copy:
                content: "recovered: {{ ansible_failed_result.msg }}\n"
                dest: "{{ playbook_dir }}/rescue.txt"
          always:
            - name: Clean up
              copy:
                content: "always\n"
                dest: "{{ playbook_dir }}/always.txt"
        "#,
        AFTER,
    ]);
    p.play("site.yaml").run().code(0).recap_is("localhost", "ok=4 changed=4 rescued=1");
    assert!(!p.join("not-reached.txt").exists());
    assert_eq!(std::fs::read_to_string(p.join("rescue.txt")).unwrap(), "recovered: disk full\n");
    assert!(p.join("always.txt").exists());
    assert!(p.join("after.txt").exists(), "a rescued host goes on");
}

#[test]
fn failing_rescue_exits_2_and_still_runs_always() {
    let p = playbook(&[
        r#"
        - name: Try
          block:
            - name: Fail
              command: /bin/false
          rescue:
            - name: Recovery fails too
              fail:
                msg: no way back
          always:
            - name: Clean up
              copy:
                content: "always\n"
                dest: "{{ playbook_dir }}/always.txt"
        "#,
        AFTER,
    ]);
    // Ansible counts the rescue attempt (rescued=1) and its failure (failed=1).
    p.play("site.yaml")
        .run()
        .code(2)
        .stdout_has("no way back")
        .recap_is("localhost", "ok=2 changed=2 failed=1 rescued=1");
    assert!(p.join("always.txt").exists());
    assert!(!p.join("after.txt").exists());
}
