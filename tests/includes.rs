//! Includes and imports at run time: include_tasks with a loop, handlers of roles brought in by
//! import_role and include_role, and the checks made on engine actions before anything runs.

mod common;

use common::{unindent, Project};

fn role_with_handler(p: Project) -> Project {
    p.file("roles/web/tasks/main.yml", "- command: \"true\"\n  changed_when: true\n  notify: restart web\n")
        .file("roles/web/handlers/main.yml", "- name: restart web\n  debug: {msg: web restarted}\n")
}

#[test]
fn import_role_handlers_run() {
    let p = role_with_handler(Project::new()).file(
        "site.yaml",
        &unindent(
            r#"
            - hosts: localhost
              connection: local
              gather_facts: false
              tasks:
                - import_role: {name: web}
            "#,
        ),
    );
    p.play("site.yaml").run().success().stdout_has("RUNNING HANDLER [web : restart web]").stdout_has("web restarted");
}

#[test]
fn include_role_handlers_run() {
    let p = role_with_handler(Project::new()).file(
        "site.yaml",
        &unindent(
            r#"
            - hosts: localhost
              connection: local
              gather_facts: false
              tasks:
                - include_role: {name: web}
            "#,
        ),
    );
    p.play("site.yaml").run().success().stdout_has("web restarted");
}

#[test]
fn include_tasks_with_a_loop_runs_once_per_item() {
    let p = Project::new().file("step.yml", "- debug: {msg: \"step {{ item }}\"}\n").file(
        "site.yaml",
        &unindent(
            r#"
            - hosts: localhost
              connection: local
              gather_facts: false
              tasks:
                - include_tasks: step.yml
                  loop: [a, b]
            "#,
        ),
    );
    let out = p.play("site.yaml").run().success();
    let out = out.stdout_has("\"msg\": \"step a\"").stdout_has("\"msg\": \"step b\"");
    assert_eq!(out.stdout.matches("included: ").count(), 2, "{out}");
}

#[test]
fn an_unknown_meta_action_is_invalid_input() {
    let p = Project::new().file(
        "site.yaml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - meta: nope\n",
    );
    p.play("site.yaml").run().code(3).stderr_has("invalid meta action 'nope'").stderr_has("flush_handlers");
}

#[test]
fn unknown_engine_action_arguments_are_invalid_input() {
    let p = Project::new().file(
        "site.yaml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - assert: {that: [true], bogus: 1}\n",
    );
    p.play("site.yaml").run().code(3).stderr_has("unsupported argument `bogus`").stderr_has("site.yaml:5:");
}

#[test]
fn default_without_parentheses_is_a_guard() {
    let p = Project::new().file(
        "site.yaml",
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"[{{ nothing | default }}]\"}\n",
    );
    p.play("site.yaml").run().success().stdout_has("\"msg\": \"[]\"");
}
