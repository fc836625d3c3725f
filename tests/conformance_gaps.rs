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

// Group confc (vars_files, hash, set_fact, var_precedence, order, inventory_advanced_host_list,
// include_vars, var_templating, split, loop-until, filter_mathstuff).

#[test]
fn include_vars_values_are_rendered_when_used_and_rank_below_set_fact() {
    // tests/conformance target `filter_mathstuff`: a variable include_vars loaded holds a
    // template, rendered when used with the task's variables (Ansible's `_vars_cache`, merged
    // before set_fact's: a set_fact value wins even over a later include_vars).
    let p = Project::new().file("v.yml", "x: from_file\ny: \"{{ z }}\"\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars: {z: zz}
          tasks:
            - set_fact: {x: from_set_fact}
            - include_vars: v.yml
            - debug: {msg: "1 {{ x }} {{ y }}"}
            - set_fact: {y: again}
            - include_vars: v.yml
            - debug: {msg: "2 {{ x }} {{ y }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"1 from_set_fact zz\"")
        .stdout_has("\"msg\": \"2 from_set_fact again\"");
}

#[test]
fn the_implicit_localhost_gets_the_controllers_python_and_facts_describe_python() {
    // tests/conformance targets `filter_mathstuff` (`{{ ansible_python_interpreter }} -c ...` on
    // the implicit localhost), `split` and `loop-until` (`ansible_python` from default fact
    // gathering).
    if orc::inventory::controller_python().is_none() {
        return;
    }
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          tasks:
            - command: "{{ ansible_python_interpreter }} -c 'print(6 * 7)'"
              register: r
            - debug: {msg: "{{ r.stdout }} {{ ansible_python.version.major }} {{ ansible_python_version is version('3', '>=') }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"42 3 True\"");
}

#[test]
fn vars_files_are_rendered_per_host_and_may_use_gathered_facts() {
    // tests/conformance target `vars_files`: `vars/{{ foo }}.yml` loads each host's own file;
    // a name from the facts the play gathers (`{{ ansible_system }}.yml`) is rendered once they
    // are there, as Ansible renders vars_files for every task.
    let p = Project::new()
        .file("inv", "[g]\na foo=bar ansible_connection=local\nb foo=baz ansible_connection=local\n")
        .file("vars/bar.yml", "is_bar: true\n")
        .file("vars/baz.yml", "is_bar: false\n")
        .file("Linux.yml", "os_var: from_linux_file\n")
        .file(
            "site.yml",
            r#"
            - hosts: g
              gather_facts: false
              vars_files:
                - ["vars/{{ foo }}.yml", vars/none.yml]
              tasks:
                - debug: {msg: "{{ inventory_hostname }} is_bar={{ is_bar }}"}
            - hosts: a
              gather_facts: true
              gather_subset: [min]
              vars_files: ["{{ ansible_system }}.yml"]
              tasks:
                - debug: {msg: "{{ os_var }}"}
            "#,
        );
    p.play("site.yml")
        .inventory(p.join("inv"))
        .run()
        .success()
        .stdout_has("\"msg\": \"a is_bar=True\"")
        .stdout_has("\"msg\": \"b is_bar=False\"")
        .stdout_has("\"msg\": \"from_linux_file\"");
}

#[test]
fn hash_behaviour_merge_merges_dicts_across_variable_layers() {
    // tests/conformance target `hash`: with ANSIBLE_HASH_BEHAVIOUR=merge a dict defined in group
    // vars, host vars, two inventories, play vars, vars_files, role defaults/vars/params and -e
    // is merged key by key; with `replace` (the default) the last one wins.
    let p = Project::new()
        .file(
            "inv1.yml",
            "all:\n  hosts:\n    h1: {ansible_connection: local, hh: {a: inv1, b: inv1}}\n  vars: {gh: {a: inv1}}\n",
        )
        .file("inv2.yml", "all:\n  hosts:\n    h1: {hh: {a: inv2}}\n  vars: {gh: {b: inv2}}\n")
        .file("vars.yml", "d: {file: 1}\n")
        .file("roles/r/defaults/main.yml", "d: {defaults: 1}\n")
        .file("roles/r/vars/main.yml", "d: {role_vars: 1, nested: {x: 1}}\n")
        .file(
            "roles/r/tasks/main.yml",
            "- debug: {msg: \"d={{ d | to_json }} hh={{ hh | to_json }} gh={{ gh | to_json }}\"}\n",
        )
        .file(
            "site.yml",
            r#"
            - hosts: h1
              gather_facts: false
              vars: {d: {play: 1}}
              vars_files: [vars.yml]
              roles:
                - {role: r, d: {param: 1, nested: {y: 2}}}
            "#,
        );
    let run = |mode: &str| {
        p.play("site.yml")
            .inventory(p.join("inv1.yml"))
            .inventory(p.join("inv2.yml"))
            .env("ANSIBLE_HASH_BEHAVIOUR", mode)
            .args(["-e", r#"{"d": {"extra": 1}}"#])
            .run()
            .success()
    };
    run("merge").stdout_has(
        r#"d={\"defaults\": 1, \"play\": 1, \"file\": 1, \"role_vars\": 1, \"nested\": {\"x\": 1, \"y\": 2}, \"param\": 1, \"extra\": 1} hh={\"a\": \"inv2\", \"b\": \"inv1\"} gh={\"a\": \"inv1\", \"b\": \"inv2\"}"#,
    );
    run("replace").stdout_has(r#"d={\"extra\": 1} hh={\"a\": \"inv2\"} gh={\"b\": \"inv2\"}"#);
}

#[test]
fn a_templated_order_sorts_the_play_hosts_and_their_results() {
    // tests/conformance target `order`: `order: "{{ myorder }}"` from -e; with --forks 1 the hosts
    // run, and their results show, in that order.
    let p = Project::new().file("inv", "[g]\nhostB\nhostA\nhostD\nhostC\n[g:vars]\nansible_connection=local\n").file(
        "site.yml",
        r#"
            - hosts: g
              gather_facts: false
              order: '{{ myorder | default("inventory") }}'
              tasks:
                - shell: "echo {{ inventory_hostname }} >> {{ playbook_dir }}/hosts.txt"
            "#,
    );
    p.play("site.yml")
        .inventory(p.join("inv"))
        .args(["--forks", "1", "-e", "myorder=reverse_sorted"])
        .run()
        .success()
        .stdout_matches(r"(?s)changed: \[hostD\].*changed: \[hostC\].*changed: \[hostB\].*changed: \[hostA\]");
    assert_eq!(std::fs::read_to_string(p.join("hosts.txt")).unwrap(), "hostD\nhostC\nhostB\nhostA\n");
    p.play("site.yml")
        .inventory(p.join("inv"))
        .args(["-e", "myorder=upside_down"])
        .run()
        .code(3)
        .stderr_has("Invalid 'order' specified for inventory hosts: upside_down");
}

#[test]
fn host_lists_expand_ranges_with_advanced_host_list_enabled() {
    // tests/conformance target `inventory_advanced_host_list`: with
    // ANSIBLE_INVENTORY_ENABLED=advanced_host_list, `-i 'local100,local[100:110:2]'` is six hosts.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          connection: local
          tasks:
            - debug: {msg: "{{ ansible_play_hosts | join(',') }}"}
              run_once: true
        "#,
    );
    p.play("site.yml")
        .inventory("local100,local[100:110:2]")
        .env("ANSIBLE_INVENTORY_ENABLED", "advanced_host_list")
        .run()
        .success()
        .stdout_has("\"msg\": \"local100,local102,local104,local106,local108,local110\"");
    p.play("site.yml")
        .inventory("local100,local[100:110:2]")
        .run()
        .success()
        .stdout_has("\"msg\": \"local100,local[100:110:2]\"");
}

#[test]
fn vars_files_look_in_vars_first_and_dependencies_see_their_parents_params() {
    // tests/conformance target `var_precedence`: `vars_files: [x.yml]` loads `vars/x.yml` before
    // `x.yml` (here the playbook itself, a list), as Ansible searches; a role's dependency sees
    // the parameters given to the role that depends on it.
    let p = Project::new()
        .file("vars/site.yml", "from_vars_dir: yes\n")
        .file("roles/dep/tasks/main.yml", "- debug: {msg: \"dep sees {{ param_var }}\"}\n")
        .file("roles/top/meta/main.yml", "dependencies: [dep]\n")
        .file("roles/top/tasks/main.yml", "- debug: {msg: \"top sees {{ param_var }}\"}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars_files: [site.yml]
              roles:
                - {role: top, param_var: from_top}
              tasks:
                - debug: {msg: "from_vars_dir={{ from_vars_dir }}"}
            "#,
        );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"dep sees from_top\"")
        .stdout_has("\"msg\": \"top sees from_top\"")
        .stdout_has("\"msg\": \"from_vars_dir=True\"");
}

#[test]
fn include_vars_loads_a_directory_with_its_options() {
    // tests/conformance target `include_vars`: `dir` (under the role's vars/), `depth`,
    // `files_matching`, `ignore_files`, `extensions`, `ignore_unknown_extensions`,
    // `hash_behaviour`, and a failure's `message`.
    let p = Project::new()
        .file("roles/r/vars/all/all.yml", "testing: 123\nbase: all\n")
        .file("roles/r/vars/envs/dev/all.yml", "testing: 789\nbase: dev\n")
        .file("roles/r/vars/envs/dev/services/webapp.yml", "testing: 101112\nbase: dev/services\n")
        .file("roles/r/vars/webapp/file_without_extension", "webapp_version: 1\n")
        .file("roles/r/vars/h/h1.yml", "config: {key0: 0, key2: {a: 21}}\n")
        .file("roles/r/vars/h/h2.yml", "config: {key1: 1, key2: {b: 22}}\n")
        .file(
            "roles/r/tasks/main.yml",
            r#"
            - include_vars: {dir: all, depth: 1}
            - debug: {msg: "1 {{ testing }} {{ base }}"}
            - include_vars: {dir: envs, files_matching: webapp.yml}
              register: m
            - debug: {msg: "2 {{ testing }} {{ base }} {{ m.ansible_included_var_files | length }}"}
            - include_vars: {dir: vars, ignore_files: [webapp.yml, file_without_extension, "h.\\.yml"]}
              register: every
            - debug: {msg: "3 {{ testing }} {{ base }} {{ every.ansible_included_var_files | map('basename') | list }}"}
            - include_vars: {dir: webapp, extensions: ['', yml]}
            - debug: {msg: "4 {{ webapp_version }}"}
            - include_vars: {dir: webapp}
              ignore_errors: true
              register: bad
            - debug: {msg: "5 {{ bad.message is search('does not have a valid extension: yaml, yml, json') }}"}
            - include_vars: {file: h/h1.yml}
            - include_vars: {file: h/h2.yml, hash_behaviour: merge}
            - debug: {msg: "6 {{ config | to_json }}"}
            "#,
        )
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              roles: [r]
            "#,
        );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"1 123 all\"")
        .stdout_has("\"msg\": \"2 101112 dev/services 1\"")
        .stdout_has("\"msg\": \"3 789 dev ['all.yml', 'all.yml']\"")
        .stdout_has("\"msg\": \"4 1\"")
        .stdout_has("\"msg\": \"5 True\"")
        .stdout_has(r#""msg": "6 {\"key0\": 0, \"key2\": {\"a\": 21, \"b\": 22}, \"key1\": 1}""#);
}

#[test]
fn a_missing_inventory_source_is_a_warning_and_templates_in_hostvars_and_debug_var_resolve() {
    // tests/conformance target `var_templating`: `-i inventory` that does not exist warns as
    // ansible-playbook does and runs on the implicit localhost; `debug: var=` of a variable whose
    // template uses an undefined name shows Ansible 2.19's error marker; a host's variables read
    // through `hostvars` are rendered with that host's variables.
    let p = Project::new().file("group_vars/all.yml", "x: 100\ny: \"{{ x }}\"\nnested_y: {value: \"{{ x }}\"}\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - add_host: {name: host1, ansible_connection: local}
            - debug: var=broken
              vars: {broken: "{{ not_defined }}"}
            - debug:
                msg: "{{ hostvars['host1']['y'] }} {{ hv.nested_y.value }} {{ hostvars.host1.y + 1 }}"
              vars: {hv: "{{ hostvars['host1'] }}"}
        "#,
    );
    p.play("site.yml")
        .inventory(p.join("nowhere"))
        .run()
        .success()
        .stderr_has("[WARNING]: Unable to parse ")
        .stderr_has("nowhere as an inventory source")
        .stderr_has("[WARNING]: No inventory was parsed, only implicit localhost is available")
        .stdout_has("\"broken\": \"<< error 1 - 'not_defined' is undefined >>\"")
        .stdout_has("\"msg\": \"100 100 101\"");
}
