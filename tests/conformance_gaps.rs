//! Gaps Ansible's own integration targets showed (tests/conformance, docs/testing.md
//! "Conformance"): each test is a small reproduction of what a target asserts, on localhost.

mod common;

use common::Project;

#[test]
fn ansible_host_defaults_to_the_inventory_name() {
    let p = Project::new()
        .file("inv", "[g]\ntesthost ansible_connection=local\nother ansible_connection=local ansible_host=1.2.3.4\n")
        .file(
            "site.yml",
            r#"
            - hosts: testhost
              gather_facts: false
              tasks:
                - debug:
                    msg: "{{ ansible_host }} {{ lookup('vars', 'ansible_host') }} {{ hostvars.other.ansible_host }}"
            "#,
        );
    p.play("site.yml").inventory(p.join("inv")).run().success().stdout_has("\"msg\": \"testhost testhost 1.2.3.4\"");
}

#[test]
fn failed_when_decides_once_until_retries_run_out() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: "true"
              register: r
              until: 1 == 0
              retries: 2
              delay: 0
              failed_when: r.attempts > 6
            - debug: {msg: "reached after {{ r.attempts }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("reached after 3");
}

#[test]
fn add_host_and_group_by_grow_the_inventory_for_later_plays() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - add_host:
                name: "host_{{ item }}"
                groups: [dyn, other]
                ansible_connection: local
                myvar: "v{{ item }}"
              loop: [1, 2]
              changed_when: item == 2
              register: r
            - debug: {msg: "added {{ r.results | map(attribute='changed') | list }} {{ groups['dyn'] }}"}
            - group_by: {key: "os {{ ansible_connection }}", parents: linux}
              register: g
            - debug: {msg: "grouped {{ g.add_group }} {{ g is changed }} {{ groups.linux }} {{ group_names }}"}
        - hosts: dyn
          gather_facts: false
          tasks:
            - debug: {msg: "{{ myvar }} {{ group_names }}"}
        - hosts: os-local
          gather_facts: false
          tasks:
            - ping:
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"added [False, True] ['host_1', 'host_2']\"")
        .stdout_has("\"msg\": \"grouped os-local True ['localhost'] ['linux', 'os-local']\"")
        .stdout_has("ok: [host_2] => {\n    \"msg\": \"v2 ['dyn', 'other']\"")
        .stdout_has("PLAY [os-local]")
        .stdout_has("host_1                     : ok=1");
}

#[test]
fn an_undefined_variable_in_a_task_that_ignores_errors_fails_only_that_task() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo foo
              failed_when: boomboomboom
              register: r
              ignore_errors: true
            - debug: {msg: "after {{ r is failed }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"after True\"").stdout_has("ignored=1");
}

#[test]
fn a_changed_when_that_cannot_be_evaluated_keeps_the_result() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo foo
              changed_when: boomboomboom
              register: r
              ignore_errors: true
            - debug: {msg: "{{ r is failed }} {{ r.stdout }} {{ 'boomboomboom' in r.changed_when_result }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"True foo True\"");
}

#[test]
fn a_play_for_a_group_an_included_group_by_may_make_is_skipped_when_empty() {
    let p = Project::new().file("groups.yml", "- group_by: {key: made}\n  when: false\n").file(
        "site.yml",
        r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - include_tasks: groups.yml
            - hosts: made
              gather_facts: false
              tasks:
                - fail: {msg: never}
            "#,
    );
    p.play("site.yml").run().success().stdout_has("skipping: no hosts matched");
}

#[test]
fn hostvars_carry_group_names() {
    let p = Project::new().file("inv", "[web]\nw1 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: w1
          gather_facts: false
          tasks:
            - add_host: {name: extra, groups: dyn}
            - debug: {msg: "{{ hostvars['w1'].group_names }} {{ hostvars['extra'].group_names }}"}
        "#,
    );
    p.play("site.yml").inventory(p.join("inv")).run().success().stdout_has("\"msg\": \"['web'] ['dyn']\"");
}

#[test]
fn a_module_exception_message_says_where_the_task_failed_once() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - ping: {data: crash}
              register: r
              ignore_errors: true
            - debug: {msg: "{{ r.msg }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("[ERROR]: Task failed: Module failed: boom\n")
        .stdout_has("\"msg\": \"Task failed: Module failed: boom\"");
}

#[test]
fn a_wrong_argument_in_a_task_that_ignores_errors_fails_only_that_task() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command:
              args: {chdir: /}
              register: r
              ignore_errors: true
            - debug: {msg: "after {{ r is failed }} {{ 'one of the following is required' in r.msg }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"after True True\"");
}

#[test]
fn an_empty_task_name_is_no_name() {
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name:\n      debug: {msg: foo}\n",
    );
    p.play("site.yml").run().success().stdout_has("TASK [debug]");
}

#[test]
fn a_vars_files_entry_written_as_a_list_loads_the_first_file_that_exists() {
    let p = Project::new().file("vars/defaults.yml", "x: from_defaults\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars: {foo: missing}
          vars_files:
            - ["vars/{{ foo }}.yml", "vars/defaults.yml"]
          tasks:
            - debug: {msg: "{{ x }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"from_defaults\"");
}

#[test]
fn a_templated_loop_var_is_rendered() {
    let p = Project::new().file("inc.yml", "- debug: {msg: \"got {{ my_item }}\"}\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - include_tasks: inc.yml
              loop: [value]
              loop_control: {loop_var: "{{ name }}"}
              vars: {name: my_item}
            - debug: {msg: "task {{ other }}"}
              loop: [v2]
              loop_control: {loop_var: "{{ name }}"}
              vars: {name: other}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"got value\"").stdout_has("\"msg\": \"task v2\"");
}

#[test]
fn import_tasks_may_name_its_file_from_role_path() {
    let p = Project::new()
        .file("roles/r/tasks/main.yml", "- import_tasks: \"{{ role_path }}/tests/main.yml\"\n")
        .file("roles/r/tests/main.yml", "- debug: {msg: imported from role_path}\n")
        .file("site.yml", "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n");
    p.play("site.yml").run().success().stdout_has("\"msg\": \"imported from role_path\"");
}

#[test]
fn notify_on_a_block_or_an_import_is_inherited_by_its_tasks() {
    let p = Project::new().file("changes.yml", "- command: echo imported\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - block:
                - command: echo from block
              notify: from_block
            - import_tasks: changes.yml
              notify: from_import
          handlers:
            - name: from_block
              debug: {msg: block handler ran}
            - name: from_import
              debug: {msg: import handler ran}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"block handler ran\"")
        .stdout_has("\"msg\": \"import handler ran\"");
}

#[test]
fn environment_leaves_out_omitted_values_and_ansible_env_before_facts() {
    // tests/conformance target `environment`: `omit` as a value or as a whole entry adds nothing,
    // and a play environment reading ansible_env does not fail the fact gathering that defines it.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: 'echo "A=$A;B=$B;C=$C"'
              environment:
                - {A: '{{ omit }}', B: hello}
                - '{{ omit }}'
                - C: still
              register: r
            - debug: {msg: "got {{ r.stdout }}"}
        - hosts: localhost
          environment:
            PATH: '{{ ansible_env.PATH + ":/lola" }}'
            lola: ido
          tasks:
            - assert:
                that:
                  - "'/lola' not in ansible_env.PATH"
                  - ansible_env.lola == 'ido'
        "#,
    );
    p.play("site.yml").run().success().stdout_has("got A=;B=hello;C=still");
}

#[test]
fn pause_waits_or_goes_on_without_a_terminal_and_checks_its_arguments() {
    // tests/conformance target `pause`: a duration is waited for (less than 1 second waits 1),
    // a prompt with stdin not a terminal warns and goes on, and bad arguments fail the task with
    // the messages of Ansible's argument spec.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - pause: {seconds: 0.1}
              register: r
            - pause: {prompt: hi}
              register: p
            - pause: {minutes: 1, seconds: 1}
              register: x
              ignore_errors: true
            - pause: {foo: bar}
              register: u
              ignore_errors: true
            - debug: {msg: "{{ r.stdout }}|{{ r.delta }}|{{ p.stdout }}|{{ p.warnings[0] }}|{{ x.msg }}|{{ u.msg }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("Paused for 1.0 seconds|1|Paused for 0.0 minutes|Not waiting for response to prompt as stdin is not interactive|parameters are mutually exclusive: minutes|seconds|Unsupported parameters for (pause) module: foo.")
        .stdout_has("[ERROR]: Task failed: parameters are mutually exclusive");
}

#[test]
fn false_condition_is_the_condition_as_written() {
    // tests/conformance target `test_core`: `when: false` gives `false_condition: false` (a
    // boolean, equal to Jinja's False), an expression gives its text.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - set_fact: {hello: world}
              when: false
              register: s
            - set_fact: {hello: world}
              when: [True == True, "foo == 'bar'"]
              vars: {foo: foo}
              register: m
            - debug: {msg: "{{ s.false_condition == False }} {{ s.false_condition is boolean }} {{ m.false_condition }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"True True foo == 'bar'\"");
}

#[test]
fn refresh_inventory_reads_the_sources_again_and_keeps_added_hosts_and_groups() {
    // tests/conformance target `meta_tasks`: after `meta: refresh_inventory` the next play sees
    // the inventory file as it is now, plus what add_host and group_by added (for hosts that are
    // still there).
    let p = Project::new()
        .file("inv.ini", "[all:vars]\nansible_connection=local\n[g]\none parity=odd\ntwo parity=even\n")
        .file("new.ini", "[all:vars]\nansible_connection=local\n[g]\ntwo parity=even\nfour parity=even\n")
        .file(
            "site.yml",
            r#"
            - hosts: all
              gather_facts: false
              tasks:
                - add_host: {name: yolo, ansible_connection: local}
                - group_by: {key: '{{ parity }}'}
                - copy: {src: new.ini, dest: inv.ini}
                  delegate_to: localhost
                  run_once: true
                - meta: refresh_inventory
            - hosts: all
              gather_facts: false
              tasks:
                - debug: {msg: "hosts={{ ansible_play_hosts | sort | join(',') }} even={{ groups.even | join(',') }} odd={{ groups.odd | default([]) | join(',') }}"}
                  run_once: true
            "#,
        );
    p.play("site.yml")
        .inventory(p.join("inv.ini"))
        .dir(p.path())
        .run()
        .success()
        .stdout_has("hosts=four,two,yolo even=two odd=\"");
}

// Lab targets (helper confe): gather_facts as a task, omit on a keyword, module_defaults checked
// up front, an included role seeing its parent role's variables, facts returned unprefixed.

#[test]
fn gather_facts_runs_as_a_task_and_unprefixed_facts_are_variables() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - gather_facts:
                gather_subset: distribution
                parallel: true
              when: ansible_distribution is not defined
            - debug:
                msg: "{{ ansible_distribution is defined }} {{ ansible_facts.distribution == ansible_distribution }} {{ module_setup | default('undef') }}"
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"True True True\"");
}

#[test]
fn a_keyword_that_renders_to_omit_takes_the_parents_value() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - block:
                - fail: {msg: boom}
                  ignore_errors: "{{ omit }}"
                - debug: {msg: "after the ignored failure"}
              ignore_errors: true
            - debug: {msg: "{{ 'no parent value: not set' }}"}
              no_log: "{{ omit }}"
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("...ignoring")
        .stdout_has("after the ignored failure")
        .stdout_has("no parent value: not set");
}

#[test]
fn module_defaults_give_a_required_argument_checked_up_front() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          module_defaults:
            stat: {path: /}
          tasks:
            - stat:
              register: r
            - debug: {msg: "isdir {{ r.stat.isdir }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"isdir True\"");
}

#[test]
fn a_role_included_from_a_role_sees_the_parents_defaults() {
    let p = Project::new()
        .file("roles/outer/defaults/main.yml", "outer_name: from-outer\n")
        .file(
            "roles/outer/tasks/main.yml",
            "- include_role:\n    name: inner\n  vars:\n    inner_name: '{{ outer_name }}'\n",
        )
        .file("roles/inner/tasks/main.yml", "- debug: {msg: \"inner got {{ inner_name }}\"}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - include_role: {name: outer, public: true}
            "#,
        );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"inner got from-outer\"");
}

#[test]
fn an_unshipped_builtin_module_fails_only_when_its_conditional_task_runs() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - dnf5: {name: tree}
              when: false
            - debug: {msg: "went on"}
            - ansible.builtin.dnf5: {name: tree}
              when: true
        "#,
    );
    p.play("site.yml")
        .run()
        .code(2)
        .stdout_has("went on")
        .stdout_has("the module 'ansible.builtin.dnf5' is an ansible.builtin module orc does not ship");
    let p = Project::new()
        .file("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - dnf5: {name: tree}\n");
    p.play("site.yml").run().code(3);
}

#[test]
fn package_takes_its_backend_from_ansible_package_use() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - package: {name: doesnotmatter}
              vars: {ansible_package_use: lola}
              ignore_errors: true
              register: r
            - debug: {msg: "{{ r.msg }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("Could not find a matching action for the \\\"lola\\\" package manager");
}
