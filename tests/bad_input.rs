//! Acceptance 5: invalid input is reported before anything runs. Each case exits 3, names
//! file:line:col, shows the offending line (stderr is snapshotted with the temporary directory
//! redacted), and changes nothing: every playbook starts with a task that would create
//! `created.txt`, and the project's tree is compared before and after.

mod common;

use common::{assert_same_tree, unindent, Project};

/// The first task of every playbook here: it would create created.txt if anything ran.
const CREATE: &str = r#"
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Create a file (must not run)
      copy:
        content: "ran\n"
        dest: "{{ playbook_dir }}/created.txt"
"#;

/// [`assert_invalid`] for a playbook whose play runs CREATE then `task` (a task list, unindented
/// and then indented under `tasks:`); `line` counts from the first line of `task`.
#[track_caller]
fn invalid_task(name: &str, task: &str, line: usize, mentions: &[&str]) {
    let mut text = common::unindent(CREATE);
    let offset = text.lines().count();
    for l in common::unindent(task).lines() {
        text.push_str(&format!("    {l}\n"));
    }
    assert_invalid(name, &text, offset + line, mentions);
}

/// [`assert_invalid`] for a playbook of two plays: CREATE, then `play`; `line` counts from the
/// first line of `play`.
#[track_caller]
fn invalid_play(name: &str, play: &str, line: usize, mentions: &[&str]) {
    let create = common::unindent(CREATE);
    let offset = create.lines().count();
    let text = format!("{create}{}", common::unindent(play));
    assert_invalid(name, &text, offset + line, mentions);
}

/// Runs `orc play site.yaml` in a project whose site.yaml is `text`, and checks: exit 3, the
/// location is site.yaml at `line` (1-based), the offending line is shown as `N | text`, stderr
/// names every string of `mentions`, no task ran, the stderr snapshot `name` matches (temporary
/// directory written `[DIR]`), and the project's tree is unchanged.
#[track_caller]
fn assert_invalid(name: &str, text: &str, line: usize, mentions: &[&str]) {
    let p = Project::new().file("site.yaml", text);
    let before = p.tree();

    let out = p.play("site.yaml").run().code(3);

    let stderr = out.stderr_redacted(p.path());
    let location = regex::Regex::new(r"--> (?:\S*/)?site\.yaml:(\d+):(\d+)").unwrap();
    let caps = location.captures(&stderr).unwrap_or_else(|| panic!("no `--> site.yaml:LINE:COL` in stderr\n{out}"));
    assert_eq!(caps[1].parse::<usize>().unwrap(), line, "wrong line in the location\n{out}");
    let source = text.lines().nth(line - 1).unwrap();
    assert!(
        stderr.contains(&format!("{line} | {source}")),
        "the offending line {line} ({source:?}) is not shown\n{out}"
    );
    for word in mentions {
        assert!(stderr.contains(word), "stderr does not mention {word:?}\n{out}");
    }
    assert!(!out.stdout.contains("TASK ["), "a task ran\n{out}");

    insta::assert_snapshot!(name, stderr);
    assert_same_tree(&p.tree(), &before, "invalid input must change nothing");
}

#[test]
fn yaml_syntax_error() {
    invalid_task(
        "yaml_syntax_error",
        r#"
            - name: Broken mapping
              debug:
                msg: hello: world
        "#,
        3,
        &[],
    );
}

#[test]
fn variables_a_when_guards_are_not_undefined() {
    // The task's (or its block's) `when: x is defined` decides; its arguments are rendered only
    // when x is defined, so the up-front check must not reject them.
    let p = Project::new().file(
        "site.yml",
        &unindent(
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - name: Copies only when asked
                  when: archive is defined
                  copy:
                    src: "{{ archive }}"
                    dest: /nonexistent/x
                - when: other is defined
                  block:
                    - debug:
                        msg: "{{ other }}"
            "#,
        ),
    );
    p.play("site.yml").run().success().recap_is("localhost", "ok=0 changed=0 skipped=2");
}

#[test]
fn undefined_variable() {
    invalid_task(
        "undefined_variable",
        r#"
            - name: Uses a variable nobody defined
              copy:
                content: "{{ app_version }}\n"
                dest: "{{ playbook_dir }}/version.txt"
        "#,
        3,
        &["app_version"],
    );
}

#[test]
fn unknown_module() {
    invalid_task(
        "unknown_module",
        r#"
            - name: Misspelled module
              copyy:
                content: "x\n"
                dest: "{{ playbook_dir }}/x.txt"
        "#,
        2,
        &["copyy"],
    );
}

#[test]
fn unknown_module_argument() {
    invalid_task(
        "unknown_module_argument",
        r#"
            - name: Misspelled argument
              copy: {dest: "{{ playbook_dir }}/x.txt", contnet: y}
        "#,
        2,
        &["copy", "contnet", "content"],
    );
}

#[test]
fn mistyped_module_argument() {
    invalid_task(
        "mistyped_module_argument",
        r#"
            - name: A list where a mode is expected
              file: {path: "{{ playbook_dir }}/x", mode: [1]}
        "#,
        2,
        &["file", "mode"],
    );
}

#[test]
fn host_pattern_matching_no_host() {
    invalid_play(
        "host_pattern_matching_no_host",
        r#"
            - hosts: webservers
              connection: local
              gather_facts: false
              tasks:
                - debug:
                    msg: never
        "#,
        1,
        &["webservers"],
    );
}

#[test]
fn invalid_host_pattern() {
    invalid_play(
        "invalid_host_pattern",
        r#"
            - hosts: "~web[0-9"
              connection: local
              gather_facts: false
              tasks:
                - debug:
                    msg: never
        "#,
        1,
        &["web[0-9"],
    );
}

#[test]
fn missing_template() {
    invalid_task(
        "missing_template",
        r#"
            - name: Render a template that does not exist
              template: {src: nope.conf.j2, dest: "{{ playbook_dir }}/nope.conf"}
        "#,
        2,
        &["nope.conf.j2"],
    );
}

#[test]
fn misspelt_keywords_arguments_and_variables_get_a_did_you_mean() {
    for (name, task, line, mentions) in [
        ("did_you_mean_module", "- cpoy: {content: x, dest: /tmp/x}\n", 1, &["did you mean 'copy'"][..]),
        ("did_you_mean_register", "- command: echo\n  registr: out\n", 2, &["did you mean 'register'"][..]),
        ("did_you_mean_notify", "- command: echo\n  notfy: restart\n", 2, &["did you mean 'notify'"][..]),
        (
            "did_you_mean_argument",
            "- copy: {contnet: x, dest: /tmp/x}\n",
            1,
            &["did you mean 'content'", "orc doc copy"][..],
        ),
        ("did_you_mean_variable", "- debug: {msg: \"{{ app_prot }}\"}\n", 1, &["did you mean 'app_port'"][..]),
    ] {
        let task = format!("- set_fact: {{app_port: 80}}\n{task}");
        invalid_task(name, &task, line + 1, mentions);
    }
}

#[test]
fn a_notify_naming_no_handler_is_found_before_running() {
    let mut text = common::unindent(CREATE);
    let offset = text.lines().count();
    text.push_str("    - name: Changes and notifies a typo\n      command: \"true\"\n      notify: restart ngnix\n");
    text.push_str("  handlers:\n    - name: restart nginx\n      debug: {msg: restarted}\n");
    assert_invalid(
        "notify_without_handler",
        &text,
        offset + 3,
        &["restart ngnix", "was not found", "did you mean 'restart nginx'"],
    );
}

#[test]
fn unbalanced_quotes_in_a_free_form_command() {
    invalid_task(
        "unbalanced_quotes",
        r#"
            - name: An unclosed quote
              shell: echo 'unclosed
        "#,
        2,
        &["unbalanced"],
    );
}

/// A `--plan` file that is damaged, or made for another playbook (docs/plan.md): exit 3 before
/// anything runs, at the plan's line and column for a damaged one, naming the playbook that
/// differs for a foreign one; nothing is created.
#[test]
fn damaged_or_foreign_plan() {
    let p = Project::new()
        .file("site.yaml", CREATE)
        .file(
            "other.yaml",
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - debug: {msg: hi}\n",
        )
        .file("damaged.json", "{\"format\": \"orc-plan\", \"version\": 1,\n \"inputs\": {},\n \"hosts\": 7}\n");
    let before = p.tree();
    let out = p.play("site.yaml").args(["--plan", "damaged.json"]).run().code(3);
    let stderr = out.stderr_redacted(p.path());
    assert!(
        stderr.contains("--> damaged.json:2:13") && stderr.contains("missing field `orc_version`"),
        "no plan location\n{out}"
    );
    insta::assert_snapshot!("damaged_plan", stderr);
    assert_same_tree(&p.tree(), &before, "a damaged plan");

    p.play("other.yaml").args(["--check", "--plan-out", "other.json"]).run().success();
    let before = p.tree();
    let out = p.play("site.yaml").args(["--plan", "other.json"]).run().code(3);
    let stderr = out.stderr_redacted(p.path());
    assert!(stderr.contains("playbooks: other.yaml was an input of the plan and is not one now"), "{out}");
    insta::assert_snapshot!("foreign_plan", stderr);
    assert_same_tree(&p.tree(), &before, "a plan for another playbook");
    assert!(!p.join("created.txt").exists());
}
