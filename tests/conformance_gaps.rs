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

// Group confb (roles, special_vars, includes, handlers, roles_arg_spec, include_import, blocks,
// loops, conditionals).

#[test]
fn role_name_variables_and_parent_role_names() {
    // tests/conformance target `special_vars`: the play's role names (dependencies apart) and,
    // in a role included or imported by another, the chain of roles that brought it in.
    let p = Project::new()
        .file("roles/dep/tasks/main.yml", "- debug: {msg: dep}\n")
        .file("roles/top/meta/main.yml", "dependencies: [dep]\n")
        .file(
            "roles/top/tasks/main.yml",
            r#"
            - assert:
                that:
                  - role_names == ['top']
                  - ansible_play_role_names == ['top']
                  - ansible_dependent_role_names == ['dep']
                  - ansible_role_names | sort == ['dep', 'top']
                  - ansible_parent_role_names is undefined
            - include_role: {name: inner}
            - import_role: {name: inner}
            - assert: {that: [ansible_parent_role_names is undefined]}
            "#,
        )
        .file(
            "roles/inner/tasks/main.yml",
            r#"
            - assert:
                that:
                  - ansible_parent_role_names == ['top']
                  - ansible_parent_role_paths | length == 1
            - include_tasks: nested.yml
            "#,
        )
        .file("roles/inner/tasks/nested.yml", "- assert: {that: [\"ansible_parent_role_names == ['top']\"]}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              roles: [top]
            "#,
        );
    p.play("site.yml").run().success().recap_is("localhost", "ok=10");
}

#[test]
fn role_vars_directories_imports_and_dependency_chains() {
    // tests/conformance target `roles`: `defaults/main/` is a directory of files merged in
    // order; an imported role's vars are the play's from its start; a role imported from
    // another sees the importing role's vars and defaults.
    let p = Project::new()
        .file("roles/data/defaults/main/00.yml", "first: 1\nboth: 1\n")
        .file("roles/data/defaults/main/01.yml", "both: 2\n")
        .file("roles/data/tasks/main.yml", "- assert: {that: [first == 1, both == 2]}\n")
        .file("roles/outer/vars/main.yml", "outer_var: v\n")
        .file("roles/outer/defaults/main.yml", "outer_default: d\n")
        .file("roles/outer/tasks/main.yml", "- import_role: {name: imported}\n")
        .file("roles/imported/tasks/main.yml", "- assert: {that: [outer_var == 'v', outer_default == 'd']}\n")
        .file("roles/public/vars/main.yml", "from_import: yes\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              roles: [data]
              tasks:
                - assert: {that: [from_import is defined]}
                - import_role: {name: public}
                - include_role: {name: outer}
            "#,
        );
    p.play("site.yml").run().success().recap_is("localhost", "ok=4");
}

#[test]
fn loop_label_sees_the_item_result_and_fails_the_item_when_undefined() {
    // tests/conformance target `loops` (ansible#83619): the registered variable is this item's
    // result when the label is rendered; an undefined name in it fails that item.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: "echo {{ item }}"
              register: r
              loop: [changed, skipped]
              loop_control:
                label: "{{ r.stdout }}"
              when: item == "changed"
              ignore_errors: true
            - assert:
                that:
                  - r.results[0].stdout == 'changed'
                  - r.results[1] is failed
                  - "r.results[1].msg is contains(\"no attribute 'stdout'\")"
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("changed: [localhost] => (item=changed)")
        .stdout_has("failed: [localhost] (item=skipped)")
        .stdout_lacks("[ERROR]")
        .recap_is("localhost", "ok=2 changed=1 ignored=1");
}

#[test]
fn a_conditional_made_by_a_template_is_untrusted() {
    // tests/conformance target `conditionals`: a whole-template conditional whose string result
    // came from a template (or from a host) is not evaluated as an expression; one from a
    // variable written in the playbook is.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            false_expr: "1 == 2"
          tasks:
            - assert:
                that: "{{ '1 == 1' }}"
              ignore_errors: true
              register: untrusted
            - debug: {msg: never}
              when: "{{ false_expr }}"
              register: skipped
            - command: echo 1 == 1
              register: out
              changed_when: false
            - debug: {msg: never}
              when: "{{ out.stdout }}"
              ignore_errors: true
              register: from_host
            - assert:
                that:
                  - untrusted is failed
                  - untrusted.msg is contains 'untrusted template or expression'
                  - skipped is skipped
                  - from_host is failed
        "#,
    );
    p.play("site.yml").run().success().recap_is("localhost", "ok=4 skipped=1 ignored=2");
}

#[test]
fn handler_lookup_by_role_prefix_templated_name_list_and_import() {
    // tests/conformance targets `handlers` and `includes`: a role's handler answers to
    // `role : name` and `role : topic` (a collection role's too); a templated handler name is
    // rendered with the play's vars; a notify template may give a list; handlers imported with
    // import_tasks are handlers of their own; ANSIBLE_ERROR_ON_MISSING_HANDLER=false warns.
    let p = Project::new()
        .file(
            "collections/ansible_collections/ns/col/roles/crole/handlers/main.yml",
            "- set_fact: {c_ran: true}\n  listen: topic\n",
        )
        .file("roles/r/handlers/main.yml", "- import_tasks: more.yml\n")
        .file("roles/r/handlers/more.yml", "- name: imported\n  set_fact: {imported_ran: true}\n")
        .file("roles/r/tasks/main.yml", "- debug: {msg: r}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                h: templated
                hs: [plain, imported]
              roles: [r, ns.col.crole]
              handlers:
                - name: "{{ h }}"
                  set_fact: {templated_ran: true}
                - name: plain
                  set_fact: {plain_ran: true}
              tasks:
                - command: "true"
                  notify: ["crole : topic", "{{ h }}", "{{ hs }}", nobody]
                - meta: flush_handlers
                - assert:
                    that: [c_ran, templated_ran, plain_ran, imported_ran]
            "#,
        );
    p.play("site.yml")
        .env("ANSIBLE_ERROR_ON_MISSING_HANDLER", "false")
        .run()
        .success()
        .stdout_has("RUNNING HANDLER [ns.col.crole : set_fact]")
        .stderr_has("The requested handler 'nobody' was not found");
}

#[test]
fn a_handler_failing_in_a_flush_is_rescued_and_clear_host_errors_in_always_revives() {
    // tests/conformance targets `handlers` (rescue_flush_handlers.yml) and `blocks`
    // (72725.yml).
    let p = Project::new().file("inv", "host1 ansible_connection=local\nhost2 ansible_connection=local\n").file(
        "site.yml",
        r#"
        - hosts: host1
          gather_facts: false
          tasks:
            - block:
                - debug: {msg: x}
                  changed_when: true
                  notify: h1
                - meta: flush_handlers
              rescue:
                - assert: {that: [ansible_failed_task is defined]}
          handlers:
            - name: h1
              fail:
        - hosts: host1,host2
          gather_facts: false
          tasks:
            - block:
                - fail:
                  when: inventory_hostname == 'host1'
              always:
                - meta: clear_host_errors
            - debug: {msg: "{{ inventory_hostname }} goes on"}
        "#,
    );
    p.play("site.yml")
        .inventory(p.join("inv"))
        .run()
        .code(0)
        .stdout_has("\"msg\": \"host1 goes on\"")
        .recap_is("host1", "ok=3 changed=1 failed=1 rescued=1")
        .recap_is("host2", "ok=1 skipped=1");
}

#[test]
fn import_playbook_templates_its_name_and_passes_vars_when_and_apply_notify() {
    // tests/conformance targets `includes` and `include_import`: import_playbook's name is
    // templated with its vars and the extra vars, its vars are the plays' vars, its `when`
    // guards every task; `apply: {notify: ...}` reaches the included tasks.
    let p = Project::new()
        .file("sub.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: {msg: \"p={{ p }}\"}\n")
        .file("trigger.yml", "- command: \"true\"\n")
        .file(
            "site.yml",
            r#"
            - import_playbook: "{{ name }}"
              vars:
                p: from_import
            - import_playbook: sub.yml
              when: false
              vars: {p: never}
            - ansible.legacy.import_playbook: sub.yml
              vars: {p: legacy}
            - hosts: localhost
              gather_facts: false
              tasks:
                - include_tasks:
                    file: trigger.yml
                    apply:
                      notify: hello
                - meta: flush_handlers
                - assert: {that: [hello == 'world']}
              handlers:
                - name: hello
                  set_fact: {hello: world}
            "#,
        );
    p.play("site.yml")
        .extra_var("name", serde_json::json!("sub.yml"))
        .run()
        .success()
        .stdout_has("\"msg\": \"p=from_import\"")
        .stdout_has("\"msg\": \"p=legacy\"")
        .stdout_lacks("p=never");
}
