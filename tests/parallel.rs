//! The parallel engine on several local hosts: serial batches, max_fail_percentage,
//! any_errors_fatal, the free strategy, run_once, delegate_to with delegate_facts, throttle and
//! order. Every host here uses the local connection, so this runs without the lab.

mod common;

use common::{unindent, Project};

/// Three local hosts in group `web`.
const INVENTORY: &str =
    "[web]\nh1 ansible_connection=local\nh2 ansible_connection=local\nh3 ansible_connection=local\n";

fn project(play: &str) -> Project {
    Project::new().file("hosts.ini", INVENTORY).file("site.yaml", &unindent(play))
}

/// Lines of stdout that report a result (`ok: [h1]`, `changed: [h2]`...), in order.
fn result_hosts(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            let start = l.find(": [")? + 3;
            let end = l[start..].find(']')? + start;
            l.starts_with(['o', 'c', 'f', 's']).then(|| l[start..end].to_string())
        })
        .collect()
}

#[test]
fn serial_runs_batches_in_order() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          serial: 2
          tasks:
            - name: one
              debug: {msg: "{{ ansible_play_batch | join(',') }}"}
            - name: two
              debug: {msg: two}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    // Batch [h1, h2] runs both tasks before batch [h3] starts.
    assert_eq!(result_hosts(&out.stdout), ["h1", "h2", "h1", "h2", "h3", "h3"], "{out}");
    assert_eq!(out.stdout.matches("TASK [one]").count(), 2, "{out}");
    assert!(out.stdout.contains("\"msg\": \"h1,h2\""), "{out}");
    assert!(out.stdout.contains("\"msg\": \"h3\""), "{out}");
}

#[test]
fn serial_percent_and_list() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          serial: [1, "50%"]
          tasks:
            - debug: {msg: "{{ ansible_play_batch | length }}"}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    // 1 host, then 50% of 3 = 1 host, then 1 again (the last entry repeats).
    assert_eq!(out.stdout.matches("TASK [debug]").count(), 3, "{out}");
}

#[test]
fn max_fail_percentage_stops_the_play() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          serial: 1
          max_fail_percentage: 0
          tasks:
            - command: /bin/false
              when: inventory_hostname == 'h1'
            - debug: {msg: after}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().code(2);
    assert!(out.stdout.contains("NO MORE HOSTS LEFT"), "{out}");
    assert!(!out.stdout.contains("[h2]"), "h2 must not run after the first batch failed\n{out}");
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          any_errors_fatal: true
          tasks:
            - command: /bin/false
              when: inventory_hostname == 'h2'
            - debug: {msg: after}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().code(2);
    assert!(!out.stdout.contains("\"msg\": \"after\""), "{out}");
}

#[test]
fn free_strategy_runs_every_host_through() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          strategy: free
          tasks:
            - shell: "echo {{ inventory_hostname }} > {{ playbook_dir }}/{{ inventory_hostname }}.txt"
            - debug: {msg: done}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    for h in ["h1", "h2", "h3"] {
        assert_eq!(out.recap(h), common::Recap::counts("ok=2 changed=1"), "{out}");
        assert_eq!(std::fs::read_to_string(p.join(&format!("{h}.txt"))).unwrap_or_default(), format!("{h}\n"));
    }
}

#[test]
fn run_once_registers_on_every_host() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          tasks:
            - shell: echo {{ inventory_hostname }}
              register: first
              run_once: true
            - debug: {msg: "{{ first.stdout }}"}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    assert_eq!(out.stdout.matches("\"msg\": \"h1\"").count(), 3, "{out}");
    // The command itself ran once.
    assert_eq!(out.stdout.matches("TASK [shell]").count(), 1, "{out}");
}

#[test]
fn delegate_to_runs_on_the_delegate_and_delegate_facts_lands_there() {
    let p = project(
        r#"
        - hosts: h1
          gather_facts: false
          tasks:
            - setup: {gather_subset: [min]}
              delegate_to: h2
              delegate_facts: true
            - debug: {msg: "{{ hostvars['h2']['ansible_facts']['hostname'] is defined }} {{ ansible_facts['hostname'] is defined }}"}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    assert!(out.stdout.contains("ok: [h1 -> h2]"), "{out}");
    assert!(out.stdout.contains("\"msg\": \"True False\""), "{out}");
}

#[test]
fn delegate_to_is_templated_per_loop_item() {
    // As Ansible 2.19 prints it: each item runs on the host it names.
    let p = project(
        r#"
        - hosts: h1
          gather_facts: false
          tasks:
            - command: "true"
              loop: [h2, h3]
              delegate_to: "{{ item }}"
            - command: "true"
              loop: [h2, nowhere.invalid]
              delegate_to: "{{ item }}"
            - debug: {msg: not reached}
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().code(4);
    assert!(out.stdout.contains("changed: [h1 -> h2] => (item=h2)"), "{out}");
    assert!(out.stdout.contains("changed: [h1 -> h3] => (item=h3)"), "{out}");
    // An item whose delegate cannot be reached makes the host unreachable (ansible-playbook
    // 2.19: the same recap).
    assert!(out.stdout.contains("[h1 -> nowhere.invalid]"), "{out}");
    assert!(!out.stdout.contains("not reached"), "{out}");
    out.recap_is("h1", "ok=1 changed=1 unreachable=1");
}

#[test]
fn throttle_and_order_keep_results_correct() {
    let p = project(
        r#"
        - hosts: web
          gather_facts: false
          order: reverse_inventory
          serial: 1
          tasks:
            - command: "true"
              throttle: 1
        "#,
    );
    let out = p.play("site.yaml").inventory(p.join("hosts.ini")).run().success();
    assert_eq!(result_hosts(&out.stdout), ["h3", "h2", "h1"], "{out}");
}
