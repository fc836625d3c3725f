//! Saved plans (issue 13, docs/plan.md) on the local connection: `--check --plan-out` changes
//! nothing and lists what would change; `--plan` applies exactly that; a second apply, or a host
//! whose state changed in between, is drift (exit 5, that host untouched); a plan made from
//! other vars, playbook or inventory is refused before anything runs (exit 3); a missing,
//! damaged or foreign plan file is invalid input. Three inventory hosts on the local connection,
//! each keeping its setting in its own sysctl file in the project (`sysctl_set: false`,
//! `reload: false`: nothing live is touched).

mod common;

use common::{Orc, Project};
use serde_json::Value;

const HOSTS: &str = "
    web1 ansible_connection=local
    web2 ansible_connection=local
    web3 ansible_connection=local
";

const SITE: &str = r#"
    - name: Kernel settings
      hosts: all
      gather_facts: false
      tasks:
        - name: Forwarding
          sysctl:
            name: net.ipv4.ip_forward
            value: "1"
            sysctl_file: "{{ playbook_dir }}/{{ inventory_hostname }}.conf"
            sysctl_set: false
            reload: false
        - name: Say hello
          debug:
            msg: "hello {{ inventory_hostname }}"
        - name: Swappiness
          sysctl:
            name: vm.swappiness
            value: "{{ swappiness | default(10) }}"
            sysctl_file: "{{ playbook_dir }}/{{ inventory_hostname }}.conf"
            sysctl_set: false
            reload: false
"#;

fn project() -> Project {
    Project::new().file("hosts", HOSTS).file("site.yml", SITE)
}

fn plan(p: &Project) -> common::Outcome {
    p.play("site.yml").inventory("hosts").args(["--check", "--plan-out", "plan.json"]).run()
}

fn apply(p: &Project) -> Orc {
    p.play("site.yml").inventory("hosts").args(["--plan", "plan.json"])
}

fn conf(p: &Project, host: &str) -> Option<String> {
    std::fs::read_to_string(p.join(&format!("{host}.conf"))).ok()
}

#[track_caller]
fn stdout_has(o: &common::Outcome, needle: &str) {
    assert!(o.stdout.contains(needle), "stdout lacks {needle:?}\n{o}");
}

#[track_caller]
fn stdout_lacks(o: &common::Outcome, needle: &str) {
    assert!(!o.stdout.contains(needle), "stdout has {needle:?}\n{o}");
}

#[track_caller]
fn stderr_has(o: &common::Outcome, needle: &str) {
    assert!(o.stderr.contains(needle), "stderr lacks {needle:?}\n{o}");
}

#[track_caller]
fn stdout_line(o: &common::Outcome, line: &str) {
    assert!(o.stdout.lines().any(|l| l.trim_end() == line), "stdout has no line {line:?}\n{o}");
}

#[track_caller]
fn recap_is(o: &common::Outcome, host: &str, expected: &str) {
    assert_eq!(o.recap(host), common::Recap::counts(expected), "PLAY RECAP of {host}\n{o}");
}

fn read_plan(p: &Project) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p.join("plan.json")).unwrap()).unwrap()
}

#[test]
fn a_plan_changes_nothing_and_lists_what_would_change() {
    let p = project();
    let out = plan(&p).success();
    for h in ["web1", "web2", "web3"] {
        assert_eq!(conf(&p, h), None, "planning wrote {h}.conf\n{out}");
        stdout_line(&out, &format!("{h}: 2 to change, 1 unchanged, 0 unknown"));
    }
    let plan = read_plan(&p);
    assert_eq!(plan["format"], "orc-plan");
    assert_eq!(plan["version"], 1);
    assert_eq!(plan["inputs"]["orc_version"], env!("CARGO_PKG_VERSION"));
    for group in ["playbooks", "inventory", "vars", "options"] {
        assert!(plan["inputs"][group].as_object().is_some_and(|m| !m.is_empty()), "no {group} digests: {plan:#}");
    }
    let web2 = &plan["hosts"][1];
    assert_eq!(web2["host"], "web2");
    let tasks = web2["tasks"].as_array().unwrap();
    let kinds: Vec<(&str, &str, bool)> = tasks
        .iter()
        .map(|t| (t["task"].as_str().unwrap(), t["kind"].as_str().unwrap(), t["changed"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("Forwarding", "decided", true), ("Say hello", "engine", false), ("Swappiness", "decided", true)]
    );
    assert_eq!(tasks[0]["observed"]["file_value"], Value::Null, "{plan:#}");
    assert!(tasks[0]["args"].as_str().unwrap().starts_with("sha256:"));
    assert!(tasks[0]["origin"].as_str().unwrap().starts_with("site.yml:5:"), "{plan:#}");
}

#[test]
fn applying_changes_what_the_plan_listed_and_a_second_apply_is_drift() {
    let p = project();
    plan(&p).success();
    let out = apply(&p).run().success();
    for h in ["web1", "web2", "web3"] {
        // The recap counts what the plan listed: 2 changes, 3 steps.
        recap_is(&out, h, "ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
        assert_eq!(conf(&p, h).as_deref(), Some("net.ipv4.ip_forward=1\nvm.swappiness=10\n"), "{out}");
    }
    let before = p.tree();
    // The hosts converged: every one differs from the plan's "before", nothing runs.
    let again = apply(&p).run().code(5);
    stdout_lacks(&again, "PLAY RECAP");
    for h in ["web1", "web2", "web3"] {
        stdout_has(&again, &format!("drifted: [{h}]"));
    }
    stdout_has(&again, "Forwarding (site.yml:5:");
    stdout_has(&again, "observed.file_value: null -> \"1\"");
    stdout_has(&again, "change: would change -> unchanged");
    common::assert_same_tree(&p.tree(), &before, "a second apply of the same plan");
}

#[test]
fn a_drifted_host_is_left_untouched_and_the_others_are_applied() {
    let p = project();
    plan(&p).success();
    std::fs::write(p.join("web2.conf"), "net.ipv4.ip_forward=0\n").unwrap();
    let out = apply(&p).run().code(5);
    stdout_has(&out, "drifted: [web2]");
    stdout_has(&out, "observed.file_value: null -> \"0\"");
    stdout_lacks(&out, "drifted: [web1]");
    assert_eq!(conf(&p, "web2").as_deref(), Some("net.ipv4.ip_forward=0\n"), "web2 was touched\n{out}");
    for h in ["web1", "web3"] {
        recap_is(&out, h, "ok=3 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
        assert_eq!(conf(&p, h).as_deref(), Some("net.ipv4.ip_forward=1\nvm.swappiness=10\n"));
    }
    assert!(!out.stdout.lines().any(|l| l.starts_with("web2 ") && l.contains("ok=")), "web2 ran\n{out}");
}

#[test]
fn a_task_the_plan_expected_unchanged_that_would_now_change_is_drift() {
    let p = project();
    for h in ["web1", "web2", "web3"] {
        std::fs::write(p.join(&format!("{h}.conf")), "net.ipv4.ip_forward=1\nvm.swappiness=10\n").unwrap();
    }
    plan(&p).success().stdout_line("web1: 0 to change, 3 unchanged, 0 unknown");
    std::fs::write(p.join("web3.conf"), "net.ipv4.ip_forward=1\nvm.swappiness=60\n").unwrap();
    let out = apply(&p).run().code(5);
    stdout_has(&out, "drifted: [web3]");
    stdout_has(&out, "Swappiness (site.yml:");
    stdout_has(&out, "observed.file_value: \"10\" -> \"60\"");
    stdout_has(&out, "change: unchanged -> would change");
    assert_eq!(conf(&p, "web3").as_deref(), Some("net.ipv4.ip_forward=1\nvm.swappiness=60\n"));
}

#[test]
fn a_later_task_sees_what_an_earlier_one_applied_without_counting_it_as_drift() {
    // Both tasks set the same key: the check run saw neither change, the apply sees the first.
    let p = Project::new().file("hosts", "web1 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - name: First
              sysctl: {name: vm.swappiness, value: "20", sysctl_file: "{{ playbook_dir }}/s.conf", sysctl_set: false, reload: false}
            - name: Second
              sysctl: {name: vm.swappiness, value: "30", sysctl_file: "{{ playbook_dir }}/s.conf", sysctl_set: false, reload: false}
        "#,
    );
    plan(&p).success();
    let out = apply(&p).run().success();
    recap_is(&out, "web1", "ok=2 changed=2 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0");
    assert_eq!(std::fs::read_to_string(p.join("s.conf")).unwrap(), "vm.swappiness=30\n");
}

#[test]
fn a_module_without_the_split_is_unknown_and_the_tasks_after_it_depend_on_it() {
    let p = Project::new().file("hosts", "web1 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - name: Script
              command: "touch {{ playbook_dir }}/ran"
            - name: Setting
              sysctl: {name: vm.swappiness, value: "20", sysctl_file: "{{ playbook_dir }}/s.conf", sysctl_set: false, reload: false}
        "#,
    );
    let out = plan(&p).success();
    stdout_line(&out, "web1: 1 to change, 0 unchanged, 1 unknown");
    stdout_has(&out, "? Script (site.yml:4:");
    let plan = read_plan(&p);
    let tasks = &plan["hosts"][0]["tasks"];
    assert_eq!(tasks[0]["kind"], "unknown");
    assert_eq!(tasks[1]["depends_on"].as_str().map(|s| s.starts_with("site.yml:4:")), Some(true), "{plan:#}");
    assert!(!p.join("ran").exists());
    apply(&p).run().success();
    assert!(p.join("ran").exists());
}

#[test]
fn a_plan_from_other_vars_playbook_or_inventory_is_refused_before_anything_runs() {
    let p = project();
    plan(&p).success();
    let before = p.tree();
    let out = apply(&p).extra_var("swappiness", 5).run().code(3);
    stderr_has(&out, "vars: extra vars differs");
    common::assert_same_tree(&p.tree(), &before, "changed vars");

    std::fs::write(p.join("hosts"), format!("{}web4 ansible_connection=local\n", common::unindent(HOSTS))).unwrap();
    let out = apply(&p).run().code(3);
    stderr_has(&out, "inventory: hosts differs");
    std::fs::write(p.join("hosts"), common::unindent(HOSTS)).unwrap();

    std::fs::write(p.join("site.yml"), format!("{}# reviewed?\n", common::unindent(SITE))).unwrap();
    let before = p.tree();
    let out = apply(&p).run().code(3);
    stderr_has(&out, "playbooks: site.yml differs");
    stdout_lacks(&out, "PLAY");
    common::assert_same_tree(&p.tree(), &before, "changed playbook");

    std::fs::write(p.join("site.yml"), common::unindent(SITE)).unwrap();
    let out = p.play("site.yml").inventory("hosts").args(["--plan", "plan.json", "--limit", "web1"]).run().code(3);
    stderr_has(&out, "options: --limit differs ((not given) in the plan, web1 now)");
}

#[test]
fn plan_flags_are_used_as_documented() {
    let p = project();
    let out = p.play("site.yml").inventory("hosts").args(["--plan-out", "plan.json"]).run().code(64);
    stderr_has(&out, "--plan-out needs --check");
    p.play("site.yml").inventory("hosts").args(["--check", "--plan-out", "a.json", "--plan", "b.json"]).run().code(64);
    assert!(!p.join("plan.json").exists());
    for h in ["web1", "web2", "web3"] {
        assert_eq!(conf(&p, h), None);
    }
}

#[test]
fn check_with_a_plan_only_looks_for_drift() {
    let p = project();
    plan(&p).success();
    let out = apply(&p).arg("--check").run().success();
    stdout_lacks(&out, "drifted");
    stdout_lacks(&out, "PLAY RECAP");
    std::fs::write(p.join("web1.conf"), "vm.swappiness=1\n").unwrap();
    apply(&p).arg("--check").run().code(5).stdout_has("drifted: [web1]");
    assert_eq!(conf(&p, "web2"), None);
}

#[test]
fn a_missing_damaged_or_foreign_plan_file_is_invalid_input() {
    let p = project().file("other.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: {msg: other}\n");
    let out = apply(&p).run().code(3);
    stderr_has(&out, "could not read plan.json");

    std::fs::write(p.join("plan.json"), "{\n  \"format\": \"orc-plan\",\n  \"version\": 1,\n  \"hosts\": [\n").unwrap();
    let out = apply(&p).run().code(3);
    stderr_has(&out, "the plan plan.json is not valid JSON");
    stderr_has(&out, "--> plan.json:5:");

    std::fs::write(p.join("plan.json"), "{\"stats\": {}}\n").unwrap();
    apply(&p).run().code(3).stderr_has("plan.json is not an orc plan");

    std::fs::write(p.join("plan.json"), "{\"format\": \"orc-plan\", \"version\": 99}\n").unwrap();
    apply(&p).run().code(3).stderr_has("has format version 99; this orc reads version 1");

    std::fs::write(p.join("plan.json"), "{\"format\": \"orc-plan\", \"version\": 1,\n \"hosts\": 7}\n").unwrap();
    let out = apply(&p).run().code(3);
    stderr_has(&out, "the plan plan.json is damaged");
    stderr_has(&out, "--> plan.json:2:");

    // A plan made for another playbook.
    p.play("other.yml").inventory("hosts").args(["--check", "--plan-out", "plan.json"]).run().success();
    let before = p.tree();
    let out = apply(&p).run().code(3);
    stderr_has(&out, "playbooks: other.yml was an input of the plan and is not one now");
    common::assert_same_tree(&p.tree(), &before, "a plan for another playbook");
}

#[test]
fn a_change_between_the_check_and_the_apply_stops_that_host_at_the_task() {
    // web1's task changes the file web2's task reads: after the check that precedes the apply
    // (both saw the file as planned), while applying. web2 sees a state the plan did not.
    let p = Project::new().file("hosts", "web1 ansible_connection=local\nweb2 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - name: From web1
              sysctl: {name: vm.swappiness, value: "1", sysctl_file: "{{ playbook_dir }}/shared.conf", sysctl_set: false, reload: false}
              when: inventory_hostname == "web1"
            - name: From web2
              sysctl: {name: vm.swappiness, value: "2", sysctl_file: "{{ playbook_dir }}/shared.conf", sysctl_set: false, reload: false}
              when: inventory_hostname == "web2"
            - name: After
              sysctl: {name: kernel.x, value: "3", sysctl_file: "{{ playbook_dir }}/{{ inventory_hostname }}.conf", sysctl_set: false, reload: false}
        "#,
    );
    plan(&p).success();
    let out = apply(&p).run().code(5);
    stdout_has(&out, "drifted: [web2]");
    stdout_has(&out, "From web2 (site.yml:");
    stdout_has(&out, "observed.file_value: null -> \"1\"");
    stdout_lacks(&out, "drifted: [web1]");
    recap_is(&out, "web1", "ok=2 changed=2 skipped=1");
    recap_is(&out, "web2", "ok=0 failed=1 skipped=1");
    assert_eq!(std::fs::read_to_string(p.join("shared.conf")).unwrap(), "vm.swappiness=1\n");
    assert!(!p.join("web2.conf").exists(), "web2 went on after drifting");
    assert!(p.join("web1.conf").exists());
}

#[test]
fn loop_items_and_async_tasks_are_steps() {
    let p = Project::new().file("hosts", "web1 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - name: Settings
              sysctl: {name: "{{ item }}", value: "1", sysctl_file: "{{ playbook_dir }}/s.conf", sysctl_set: false, reload: false}
              loop: [a.b, c.d]
            - name: In the background
              command: "true"
              async: 10
              poll: 1
        "#,
    );
    plan(&p).success();
    let plan = read_plan(&p);
    let kinds: Vec<(&str, &str)> = plan["hosts"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["task"].as_str().unwrap(), t["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        vec![("Settings", "decided"), ("Settings", "decided"), ("In the background", "unknown")],
        "{plan:#}"
    );
    let out = apply(&p).run().success();
    recap_is(&out, "web1", "ok=2 changed=2");
    assert_eq!(std::fs::read_to_string(p.join("s.conf")).unwrap(), "a.b=1\nc.d=1\n");
}

#[test]
fn a_plan_kept_in_the_inventory_directory_is_not_an_input_of_itself() {
    let p = Project::new().file("inv/hosts", "web1 ansible_connection=local\n").file("site.yml", SITE);
    let run = |flags: &[&str]| p.play("site.yml").arg("-i").arg("inv").args(flags).run();
    run(&["--check", "--plan-out", "inv/plan.json"]).success();
    // Planned again over the old plan: the new one still applies.
    run(&["--check", "--plan-out", "inv/plan.json"]).success();
    let out = run(&["--plan", "inv/plan.json"]).success();
    recap_is(&out, "web1", "ok=3 changed=2");
}
