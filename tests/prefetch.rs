//! Probes of later tasks sent ahead (src/executor/prefetch.rs, src/connection/probing.rs): a run
//! of consecutive no-op file tasks takes fewer round trips per host than one per task, the
//! output is the same as without it, and a change made in between (on this host or through
//! another host's connection) is seen by the following task. Local connections only.

mod common;

use common::{unindent, Outcome, Project};

/// The exchanges each host's connections made, from the debug line each prints when it closes.
fn round_trips(out: &Outcome, host: &str) -> u64 {
    let needle = format!("host=\"{host}\" round_trips=");
    out.stderr
        .lines()
        .filter_map(|l| l.split_once(&needle).map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn run(p: &Project, prefetch: bool, extra: &[&str]) -> Outcome {
    p.play("site.yaml")
        .inventory(p.join("hosts.ini"))
        .args(extra)
        .env("ORC_LOG", "orc::connection::probing=debug")
        .env("ORC_PREFETCH", if prefetch { "1" } else { "0" })
        .run()
        .success()
}

/// Ten no-op tasks of the kinds that state their probe: file, copy, template, lineinfile,
/// blockinfile, command with `creates`.
fn ten_tasks(dir: &str) -> String {
    unindent(&format!(
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - file: {{path: "{dir}/d", state: directory, mode: "0755"}}
            - copy: {{dest: "{dir}/d/a.txt", content: "a for {{{{ inventory_hostname }}}}\n", mode: "0644"}}
            - template: {{src: t.j2, dest: "{dir}/d/t.conf", mode: "0644"}}
              vars: {{index: 1}}
            - lineinfile: {{path: "{dir}/d/l.conf", regexp: "^k=", line: "k=v", create: true, mode: "0644"}}
            - blockinfile: {{path: "{dir}/d/b.conf", block: "one\ntwo", create: true}}
            - command: {{cmd: "touch {dir}/d/done", creates: "{dir}/d/done"}}
            - file: {{path: "{dir}/d/e", state: directory}}
            - copy: {{dest: "{dir}/d/e/b.txt", content: "b\n"}}
            - template: {{src: t.j2, dest: "{dir}/d/e/t.conf"}}
              vars: {{index: 2}}
            - lineinfile: {{path: "{dir}/d/l.conf", line: "other=1"}}
        "#
    ))
}

#[test]
fn consecutive_no_op_tasks_share_round_trips_and_print_the_same() {
    let p = Project::new()
        .file("hosts.ini", "h1 ansible_connection=local\n")
        .file("t.j2", "index {{ index }} on {{ inventory_hostname }}\n");
    let dir = p.join("out");
    let p = p.file("site.yaml", &ten_tasks(&dir.to_string_lossy()));
    run(&p, true, &[]).recap_is("h1", "ok=10 changed=10");

    let without = run(&p, false, &[]).recap_is("h1", "ok=10 changed=0");
    let with = run(&p, true, &[]).recap_is("h1", "ok=10 changed=0");
    // One exchange per task (and a read per lineinfile, whose small files now come with the
    // probe) without sending ahead; with it, the first task's exchange carries the next eight's
    // probes and the tenth task sends its own.
    assert_eq!(round_trips(&without, "h1"), 10, "{without}");
    assert_eq!(round_trips(&with, "h1"), 2, "{with}");
    assert_eq!(with.stdout, without.stdout);

    // Check mode with diffs prints the same too.
    let without = run(&p, false, &["--check", "--diff"]);
    let with = run(&p, true, &["--check", "--diff"]);
    assert_eq!(with.stdout, without.stdout);
    assert!(round_trips(&with, "h1") < 10, "{with}");
}

/// A project whose `out/` holds `f.txt` with "old".
fn with_old_file(hosts: &str) -> (Project, std::path::PathBuf) {
    let p = Project::new().file("hosts.ini", hosts);
    let dir = p.join("out");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f.txt"), "old\n").unwrap();
    (p, dir)
}

#[test]
fn a_change_on_the_host_is_seen_by_the_next_task() {
    let (p, dir) = with_old_file("h1 ansible_connection=local\n");
    let d = dir.to_string_lossy();
    let p = p.file(
        "site.yaml",
        &unindent(&format!(
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                # A no-op, whose exchange carries the probes of the next two tasks.
                - file: {{path: "{d}", state: directory}}
                - copy: {{dest: "{d}/f.txt", content: "new\n"}}
                # Sees "new": an answer taken before the copy would report a change.
                - lineinfile: {{path: "{d}/f.txt", line: "new"}}
            "#
        )),
    );
    let out = run(&p, true, &[]).recap_is("h1", "ok=3 changed=1");
    assert_eq!(std::fs::read_to_string(dir.join("f.txt")).unwrap(), "new\n", "{out}");
}

#[test]
fn a_change_through_another_hosts_connection_is_seen_too() {
    // Two inventory names for the same machine: h2 changes the file h1 probed ahead.
    let (p, dir) = with_old_file("h1 ansible_connection=local\nh2 ansible_connection=local\n");
    let d = dir.to_string_lossy();
    let p = p.file(
        "site.yaml",
        &unindent(&format!(
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - file: {{path: "{d}", state: directory}}
                - copy: {{dest: "{d}/f.txt", content: "new\n"}}
                  when: inventory_hostname == 'h2'
                - lineinfile: {{path: "{d}/f.txt", line: "new"}}
                  when: inventory_hostname == 'h1'
            "#
        )),
    );
    let out = run(&p, true, &[]);
    let out = out.recap_is("h1", "ok=2 changed=0 skipped=1").recap_is("h2", "ok=2 changed=1 skipped=1");
    assert_eq!(std::fs::read_to_string(dir.join("f.txt")).unwrap(), "new\n", "{out}");
}

#[test]
fn answers_sent_ahead_do_not_outlive_a_task_that_is_not_a_probing_one() {
    // A change made outside orc's connections (here a lookup; a person during a `pause`): the
    // answer sent ahead for a skipped task must not serve a later task with the same probe.
    let (p, dir) = with_old_file("h1 ansible_connection=local\n");
    let d = dir.to_string_lossy();
    let p = p.file(
        "site.yaml",
        &unindent(&format!(
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - file: {{path: "{d}", state: directory}}
                - lineinfile: {{path: "{d}/f.txt", line: "new"}}
                  when: false
                - set_fact:
                    edited: "{{{{ lookup('pipe', 'echo new > {d}/f.txt') }}}}"
                - lineinfile: {{path: "{d}/f.txt", line: "new"}}
            "#
        )),
    );
    let out = run(&p, true, &[]).recap_is("h1", "ok=3 changed=0 skipped=1");
    assert_eq!(std::fs::read_to_string(dir.join("f.txt")).unwrap(), "new\n", "{out}");
}

#[test]
fn lookups_of_later_tasks_run_with_their_task_only() {
    // The next task's arguments are rendered ahead to know its probe: a lookup in them must not
    // run then (a pipe, a password file), only when the task runs.
    let p = Project::new().file("hosts.ini", "h1 ansible_connection=local\n");
    let dir = p.join("out");
    let d = dir.to_string_lossy();
    std::fs::create_dir_all(&dir).unwrap();
    let p = p.file(
        "site.yaml",
        &unindent(&format!(
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - file: {{path: "{d}", state: directory}}
                - copy:
                    dest: "{d}/x.txt"
                    content: "{{{{ lookup('pipe', 'echo ran >> {d}/count; echo x') }}}}"
            "#
        )),
    );
    run(&p, true, &[]);
    run(&p, true, &[]);
    assert_eq!(std::fs::read_to_string(dir.join("count")).unwrap(), "ran\nran\n");
}
