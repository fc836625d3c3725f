//! orc's `rollback:` play keyword (docs/rollouts.md) and a templated `serial:`, on local hosts
//! (no lab): which hosts the rollback runs on, that later batches are untouched, the exit code and
//! the recap.

mod common;

use common::{unindent, Project};

/// Four local hosts in group `app`.
const INVENTORY: &str = "[app]\nh1 ansible_connection=local\nh2 ansible_connection=local\n\
                         h3 ansible_connection=local\nh4 ansible_connection=local\n";

/// A play in batches of `serial` that marks each host done in a file and fails on `fail_on`,
/// with a rollback that marks the hosts it runs on.
fn project(serial: &str, fail_on: &str) -> Project {
    let play = format!(
        r#"
        - hosts: app
          gather_facts: false
          serial: {serial}
          max_fail_percentage: 0
          tasks:
            - name: Upgrade
              copy:
                content: "upgraded\n"
                dest: "{{{{ playbook_dir }}}}/{{{{ inventory_hostname }}}}.upgraded"
            - name: Gate
              command: /bin/false
              when: inventory_hostname == '{fail_on}'
          rollback:
            - name: Undo
              copy:
                content: "batch {{{{ ansible_play_batch | join(',') }}}}\n"
                dest: "{{{{ playbook_dir }}}}/{{{{ inventory_hostname }}}}.rolled-back"
        - hosts: app
          gather_facts: false
          tasks:
            - name: After
              copy:
                content: "after\n"
                dest: "{{{{ playbook_dir }}}}/{{{{ inventory_hostname }}}}.after"
        "#
    );
    Project::new().file("hosts.ini", INVENTORY).file("site.yaml", &unindent(&play))
}

#[test]
fn a_failed_batch_rolls_back_it_and_the_batches_before() {
    // Batches [h1], [h2, h3], [h4]: h3 fails in the second.
    let p = project("[1, 2]", "h3");
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().code(2);
    assert!(out.stdout.contains("ROLLBACK [app]"), "{out}");
    assert!(out.stdout.contains("rolling back: h1, h2, h3"), "{out}");
    for h in ["h1", "h2", "h3"] {
        assert!(p.join(&format!("{h}.upgraded")).exists(), "{h} was not upgraded");
        let undo = std::fs::read_to_string(p.join(&format!("{h}.rolled-back"))).unwrap();
        assert_eq!(undo, "batch h1,h2,h3\n", "{h}");
    }
    assert!(!p.join("h4.upgraded").exists() && !p.join("h4.rolled-back").exists(), "h4 was touched");
    // The play stopped the run for its hosts: no later play ran on them.
    for h in ["h1", "h2", "h3", "h4"] {
        assert!(!p.join(&format!("{h}.after")).exists(), "{h} ran the next play");
    }
    // Only h3 counts a failure; the rollback's tasks count as changes.
    out.recap_is("h3", "ok=2 changed=2 failed=1")
        .recap_is("h1", "ok=2 changed=2 skipped=1")
        .recap_is("h2", "ok=2 changed=2 skipped=1");
}

#[test]
fn no_rollback_when_every_batch_passes() {
    let p = project("2", "nobody");
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    assert!(!out.stdout.contains("ROLLBACK"), "{out}");
    for h in ["h1", "h2", "h3", "h4"] {
        assert!(!p.join(&format!("{h}.rolled-back")).exists());
        assert!(p.join(&format!("{h}.after")).exists());
    }
}

#[test]
fn serial_is_templated_with_extra_variables() {
    let p = project("\"{{ batches | default(4) }}\"", "nobody");
    let out =
        p.play("site.yaml").inventory(p.join("hosts.ini")).args(["-e", r#"{"batches": [1, "50%"]}"#]).run().success();
    // 1, then 50% of 4 = 2, then 2 again (capped by what is left: 1).
    assert_eq!(out.stdout.matches("TASK [Upgrade]").count(), 3, "{out}");
    let one = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    assert_eq!(one.stdout.matches("TASK [Upgrade]").count(), 1, "{one}");
}
