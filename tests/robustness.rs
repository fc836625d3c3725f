//! Odd input from the outside never makes orc panic (exit 101) or overflow its stack (abort): each
//! case here ends with the exit code its input calls for and a message saying what is wrong.

mod common;

use common::{Orc, Outcome, Project};

/// Asserts a failure with `code` whose stderr mentions every string in `mentions`.
#[track_caller]
fn fails(out: Outcome, code: i32, mentions: &[&str]) -> Outcome {
    let out = out.code(code);
    for m in mentions {
        assert!(out.stderr.contains(m), "stderr lacks {m:?}\n{out}");
    }
    out
}

/// A play on localhost without facts, with `tasks` (already indented by four spaces).
fn play(tasks: &str) -> String {
    format!("- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n{tasks}")
}

/// `tasks` nested `depth` blocks deep around one debug task.
fn nested_blocks(depth: usize) -> String {
    let mut tasks = String::new();
    let mut indent = "    ".to_string();
    for _ in 0..depth {
        tasks.push_str(&format!("{indent}- block:\n"));
        indent.push_str("    ");
    }
    tasks.push_str(&format!("{indent}- debug: msg=deep\n"));
    play(&tasks)
}

#[test]
fn deeply_nested_blocks_are_an_error_not_a_stack_overflow() {
    let p = Project::new().file("site.yml", &nested_blocks(3000));
    fails(p.play("site.yml").run(), 3, &["nests more than 256 levels", "site.yml:"]);
}

#[test]
fn blocks_nested_within_the_limit_run() {
    let p = Project::new().file("site.yml", &nested_blocks(100));
    p.play("site.yml").run().success().stdout_has("deep");
}

#[test]
fn deeply_nested_inventory_is_an_error() {
    let mut text = "all:\n  vars:\n    a:\n".to_string();
    for i in 0..5000 {
        text.push_str(&format!("{}k:\n", "  ".repeat(i + 3)));
    }
    let p = Project::new().file("hosts.yml", &text);
    let out = Orc::new().args(["inventory", "-i", "hosts.yml", "--list"]).dir(p.path()).run();
    fails(out, 3, &["nests more than 256 levels"]);
}

#[test]
fn huge_host_range_is_an_error_not_a_hang() {
    let p = Project::new().file("hosts", "[web]\nweb[1:99999999999999]\n");
    let out = Orc::new().args(["inventory", "-i", "hosts", "--list"]).dir(p.path()).run();
    fails(out, 3, &["more than 1000000 hosts", "hosts:2"]);
}

#[test]
fn filter_arguments_out_of_range_do_not_panic() {
    let p = Project::new().file(
        "site.yml",
        &play(concat!(
            "    - debug: msg=\"{{ '1' | int(base=99) }}\"\n",
            "    - debug: msg=\"{{ 9223372036854775807 | random(start=-9223372036854775807) }}\"\n",
            "    - debug: msg=\"{{ 'x' | password_hash('sha512', salt_size=99999999999) }}\"\n",
        )),
    );
    p.play("site.yml").run().success().stdout_has("$6$");
}

#[test]
fn huge_sexagesimal_number_in_vars_is_a_string() {
    let p = Project::new().file(
        "site.yml",
        &play("    - debug: var=n\n      vars:\n        n: 1:00:00:00:00:00:00:00:00:00:00:00:00:00:00\n"),
    );
    p.play("site.yml").run().success().stdout_has("\"1:00:00:00:00:00:00:00:00:00:00:00:00:00:00\"");
}

#[test]
fn binary_garbage_playbook_is_invalid_input() {
    let p = Project::new();
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(p.join("site.yml"), bytes).unwrap();
    fails(p.play("site.yml").run(), 3, &["site.yml", "UTF-8"]);
}

#[test]
fn non_utf8_playbook_is_invalid_input() {
    let p = Project::new();
    std::fs::write(p.join("site.yml"), b"- hosts: localhost\n  tasks:\n    - debug: msg=\"\xff\xfe\"\n").unwrap();
    fails(p.play("site.yml").run(), 3, &["site.yml", "UTF-8"]);
}

#[test]
fn play_that_is_a_list_is_invalid_input() {
    let p = Project::new().file("site.yml", "- - hosts: all\n");
    fails(p.play("site.yml").run(), 3, &["a play must be a mapping", "site.yml:1:3"]);
}

#[test]
fn tasks_given_as_a_string_is_invalid_input() {
    let p = Project::new().file("site.yml", "- hosts: localhost\n  tasks: \"string\"\n");
    fails(p.play("site.yml").run(), 3, &["must be a list", "site.yml:2:10"]);
}

#[test]
fn import_tasks_loop_is_invalid_input() {
    let p =
        Project::new().file("a.yml", "- import_tasks: a.yml\n").file("site.yml", &play("    - import_tasks: a.yml\n"));
    fails(p.play("site.yml").run(), 3, &["nests more than", "a.yml:1"]);
}

#[test]
fn import_playbook_loop_is_invalid_input() {
    let p = Project::new().file("site.yml", "- import_playbook: site.yml\n");
    fails(p.play("site.yml").run(), 3, &["nests more than"]);
}

#[test]
fn role_without_tasks_dir_runs() {
    let p = Project::new()
        .file("roles/empty/defaults/main.yml", "x: 1\n")
        .file("site.yml", "- hosts: localhost\n  connection: local\n  gather_facts: false\n  roles: [empty]\n");
    p.play("site.yml").run().success();
}

#[test]

fn include_tasks_loop_fails_without_stack_overflow() {
    let p = Project::new()
        .file("b.yml", "- include_tasks: b.yml\n")
        .file("site.yml", &play("    - include_tasks: b.yml\n"));
    let out = p.play("site.yml").run();
    assert!(matches!(out.code, Some(2) | Some(3)), "{out}");
    assert!(out.stdout.contains("include_tasks") || out.stderr.contains("include_tasks"), "{out}");
}

#[test]

fn empty_playbook_is_invalid_input() {
    let p = Project::new().file("site.yml", "");
    fails(p.play("site.yml").run(), 3, &["site.yml", "empty"]);
}

#[test]

fn recursive_variables_fail_with_a_message() {
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  vars:\n    a: \"{{ b }}\"\n    b: \"{{ a }}\"\n  tasks:\n    - debug: msg=\"{{ a }}\"\n",
    );
    let out = p.play("site.yml").run().code(2);
    assert!(out.stdout.to_lowercase().contains("recursive"), "{out}");
}

#[test]

fn with_sequence_near_the_integer_limit_does_not_panic() {
    let p = Project::new().file(
        "site.yml",
        &play("    - debug: msg={{ item }}\n      with_sequence: start=9223372036854775800 end=9223372036854775807 stride=5\n"),
    );
    p.play("site.yml").run().success().stdout_has("9223372036854775805");
}

#[test]
fn absurd_filter_widths_fail_the_task_instead_of_aborting() {
    let p = Project::new().file("site.yml", &play("    - debug: msg=\"{{ 'ab' | center(99999999999) }}\"\n"));
    let out = p.play("site.yml").run().code(2);
    assert!(out.stderr.contains("too large") || out.stdout.contains("too large"), "{out}");
}

#[test]
fn huge_host_subscripts_are_errors_not_panics() {
    let p = Project::new().file("hosts", "[g]\nh1 ansible_connection=local\n");
    let run = |pattern: &str| Orc::new().args(["run", pattern, "-i", "hosts", "-m", "ping"]).dir(p.path()).run();
    run("g[0:9223372036854775807]").success();
    fails(run("g[99999999999999999999999]"), 3, &["No hosts matched"]);
}

#[test]
fn deeply_nested_ini_value_stays_text() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let p = Project::new().file("hosts", &format!("[g]\nh1 x={deep}\n"));
    let out = Orc::new().args(["inventory", "-i", "hosts", "--host", "h1"]).dir(p.path()).run().success();
    assert!(out.stdout.contains("[[[[[["), "{out}");
}

#[test]
fn template_extending_itself_fails_instead_of_hanging() {
    let p = Project::new()
        .file("templates/self.j2", "{% extends 'self.j2' %}\n")
        .file("site.yml", &play("    - template: {src: self.j2, dest: \"{{ playbook_dir }}/out\"}\n"));
    let out = p.play("site.yml").run().code(2);
    assert!(
        out.stdout.contains("extend each other in a loop") || out.stderr.contains("extend each other in a loop"),
        "{out}"
    );
}

#[test]

fn with_sequence_count_overflow_is_an_error_not_a_panic() {
    let p = Project::new().file(
        "site.yml",
        &play("    - debug: msg={{ item }}\n      with_sequence: start=1 count=9999999999 stride=9999999999\n"),
    );
    let out = p.play("site.yml").run().code(2);
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[test]

fn huge_pause_and_delay_are_errors_not_panics() {
    for task in [
        "    - debug: msg={{ item }}\n      loop: [1, 2]\n      loop_control: {pause: 1.0e+300}\n",
        "    - command: 'false'\n      register: r\n      until: r.rc == 0\n      retries: 1\n      delay: 99999999999999999999\n",
    ] {
        let p = Project::new().file("site.yml", &play(task));
        let out = Orc::play("site.yml")
            .dir(p.path())
            .timeout(std::time::Duration::from_secs(30))
            .run();
        assert!(matches!(out.code, Some(2) | Some(3)), "{out}");
    }
}

#[test]

fn huge_retries_do_not_panic() {
    let p = Project::new().file(
        "site.yml",
        &play(
            "    - command: 'true'\n      register: r\n      until: r.rc == 0\n      retries: 18446744073709551615\n",
        ),
    );
    p.play("site.yml").run().success();
}

#[test]
fn non_ascii_ssh_args_do_not_panic() {
    let p = Project::new().file("hosts", "h ansible_host=127.0.0.1 ansible_port=1 ansible_ssh_common_args=\"-éx\"\n");
    let out = Orc::new().args(["run", "h", "-i", "hosts", "-m", "ping", "-T", "2"]).dir(p.path()).run();
    assert_eq!(out.code, Some(4), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}
