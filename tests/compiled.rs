//! One compiled form of the playbook (docs/architecture.md, "One compiled playbook"): the
//! up-front checks, the listings and the run read the same compiled plays, so they agree; and
//! the engine bugs the separate walks hid (include_role host by host, connections shared across
//! ways of reaching a host, broken connections kept).

mod common;

use common::ansible::assert_same_as_ansible;
use common::Project;

/// Two hosts on this machine: debug, set_fact and the other engine actions need nothing more,
/// for Ansible as for orc. Runs with them use `--forks 1`: Ansible prints results in the order
/// hosts finish, orc in inventory order.
const TWO_LOCAL_HOSTS: &str = "h1 ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n\
                               h2 ansible_connection=local ansible_python_interpreter=\"{{ ansible_playbook_python }}\"\n";

#[test]
fn a_file_the_run_finds_is_not_refused_up_front() {
    // Ansible's search path for a role task includes the role's tasks/ directory, and for a task
    // of an included file that file's directory: the up-front check used to search fewer places
    // than the run and refused these.
    let p = Project::new()
        .file("roles/web/tasks/main.yml", "- template: {src: motd.j2, dest: \"{{ playbook_dir }}/motd\"}\n")
        .file("roles/web/tasks/motd.j2", "role {{ inventory_hostname }}\n")
        .file("steps/copy.yml", "- copy: {src: note.txt, dest: \"{{ playbook_dir }}/note\"}\n")
        .file("steps/files/note.txt", "a note\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              roles: [web]
              tasks:
                - import_tasks: steps/copy.yml
            "#,
        );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn a_meta_action_accepted_up_front_is_carried_out() {
    // An action orc does not carry out (end_role) is refused before the run, never ignored.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - meta: end_role
        "#,
    );
    p.play("site.yml").run().code(3).stderr_has("invalid meta action 'end_role'");
    // end_batch and reset_connection are carried out as Ansible does.
    let p = Project::new().file("hosts", TWO_LOCAL_HOSTS).file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          serial: 1
          tasks:
            - meta: reset_connection
            - debug: {msg: "before {{ inventory_hostname }}"}
            - meta: end_batch
              when: inventory_hostname == 'h1'
            - debug: {msg: "after {{ inventory_hostname }}"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &["-i", "hosts", "--forks", "1"]);
}

#[test]
fn a_template_mentioning_default_is_still_checked_for_undefined_variables() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            default_port: 80
          tasks:
            - debug: {msg: "{{ undefined_port }} or the default {{ default_port }}"}
        "#,
    );
    p.play("site.yml").run().code(3).stderr_has("undefined variable 'undefined_port'");
}

#[test]
fn include_role_runs_each_task_on_all_hosts_before_the_next() {
    let p = Project::new()
        .file("hosts", TWO_LOCAL_HOSTS)
        .file(
            "roles/r/tasks/main.yml",
            "- debug: {msg: \"first {{ inventory_hostname }}\"}\n- debug: {msg: \"second {{ inventory_hostname }}\"}\n",
        )
        .file(
            "site.yml",
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - include_role: {name: r}
                - include_role:
                    name: r
                  loop: [a, b]
            "#,
        );
    assert_same_as_ansible(p.path(), "site.yml", &["-i", "hosts", "--forks", "1"]);
}

#[test]
fn a_connection_that_broke_is_opened_again() {
    // The command kills the host's persistent shell (the parent of the subshell that runs
    // `sh -c`): that connection is lost, and the next task gets a new one instead of the broken
    // one.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: kill -9 "$(cut -d' ' -f4 /proc/$PPID/stat)"
              ignore_unreachable: true
            - command: echo back again
              register: out
            - debug: {var: out.stdout}
        "#,
    );
    p.play("site.yml").run().stdout_has("\"out.stdout\": \"back again\"");
}

#[test]
fn a_later_play_reaching_the_host_another_way_gets_its_own_connection() {
    // The first play reaches `web` locally; the second over SSH on a port nothing listens on. The
    // second used to get the first play's local connection and succeed.
    let p = Project::new().file("hosts", "web ansible_host=127.0.0.1\n").file(
        "site.yml",
        r#"
        - hosts: web
          gather_facts: false
          connection: local
          tasks:
            - command: "true"
        - hosts: web
          gather_facts: false
          connection: ssh
          port: 1
          tasks:
            - command: "true"
        "#,
    );
    p.play("site.yml").arg("-i").arg("hosts").run().code(4).stdout_has("127.0.0.1:1");
}

#[test]
fn the_inventory_user_wins_over_the_command_line_and_the_keyword() {
    // As in Ansible: the host's ansible_user, then remote_user:, then -u.
    let p = Project::new()
        .file(
            "hosts",
            "inv ansible_host=127.0.0.1 ansible_port=1 ansible_user=invuser\nkw ansible_host=127.0.0.1 ansible_port=1\n",
        )
        .file(
            "site.yml",
            r#"
            - hosts: all
              gather_facts: false
              remote_user: kwuser
              tasks:
                - command: "true"
            "#,
        );
    let out = p.play("site.yml").args(["-i", "hosts", "-u", "cliuser", "-vvv"]).run().code(4);
    let out = out.stderr_has("connecting to 127.0.0.1:1 as invuser").stderr_has("connecting to 127.0.0.1:1 as kwuser");
    assert!(!out.stderr.contains("as cliuser"), "{out}");
}
