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

// --- Group confa (failed_when, templating_lookups, jinja2_native_types, command_shell,
// wait_for_connection, playbook, yaml_parsing, var_reserved, test_core, filter_core,
// filter_encryption) ---

#[test]
fn a_failed_result_registers_an_exception_and_failed_when_false_keeps_it_aside() {
    // tests/conformance target `failed_when`: Ansible 2.19 normalizes a failed result with an
    // `exception` (its error summary, "(traceback unavailable)" without tracebacks); a module
    // failure that failed_when clears keeps it as `failed_when_suppressed_exception`.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: exit 1
              ignore_errors: true
              register: a
            - shell: exit 1
              failed_when: false
              register: b
            - command: echo foo
              failed_when: boomboomboom
              ignore_errors: true
              register: c
            - shell: exit 0
              register: d
            - debug: {msg: "a={{ a.exception }} b={{ b.exception is undefined }},{{ b.failed_when_suppressed_exception }} c={{ c.exception is defined }} d={{ d.exception is undefined }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("\"msg\": \"a=(traceback unavailable) b=True,(traceback unavailable) c=True d=True\"")
        .stdout_lacks("\"exception\"");
}

#[test]
fn an_argument_that_cannot_be_rendered_fails_as_ansible_words_it() {
    // tests/conformance target `jinja2_native_types`: the failed result's msg starts with
    // "Task failed:" and names the argument that could not be rendered.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - ping:
                data: "{{ [{ 'key': nested_and_undefined }] }}"
              register: r
              ignore_errors: true
            - debug: {var: r.msg}
        "#,
    );
    p.play("site.yml").run().success().stdout_has(
        "\"r.msg\": \"Task failed: Finalization of task args for 'ansible.builtin.ping' failed: Error while resolving value for 'data': 'nested_and_undefined' is undefined\"",
    );
}

#[test]
fn an_unsupported_argument_found_at_run_time_is_reported_in_ansibles_words() {
    // tests/conformance targets `wait_for_connection` and `command_shell`: a task with
    // ignore_errors is checked when it runs, and its failure reads as Ansible's.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - wait_for_connection: {foo: bar}
              ignore_errors: true
              register: w
            - shell: echo hi
              args: {expand_argument_vars: false}
              ignore_errors: true
              register: s
            - ping: {foo: bar}
              ignore_errors: true
              register: p
            - debug: {msg: "{{ w.msg }}|{{ s.msg }}|{{ p.msg }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has(
        "\"msg\": \"Invalid options for wait_for_connection: foo|Unsupported parameters for (shell) module: expand_argument_vars|Unsupported parameters for (ping) module: foo. Supported parameters include: data.\"",
    );
}

#[test]
fn a_keyword_that_is_not_a_boolean_fails_the_task_that_ignores_errors_when_it_runs() {
    // tests/conformance target `playbook` (types.yml): `diff: yes.` on a task with
    // ignore_errors fails that task, ignored, with Ansible's message; `roles: null` and
    // `vars_files: null` are empty lists.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          roles: null
          vars_files: null
          tasks:
            - debug: {msg: not important}
              diff: yes.
              ignore_errors: true
              register: bad_diff
            - debug: {msg: "{{ bad_diff is failed }} {{ bad_diff.msg }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has(
        "\"msg\": \"True Task failed: Error processing keyword 'diff': The value 'yes.' could not be converted to 'bool'.\"",
    );
}

#[test]
fn a_task_that_ran_out_of_its_timeout_registers_a_failed_result() {
    // tests/conformance target `playbook` (timeout.yml): `time is failed`.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: sleep 30
              timeout: 1
              ignore_errors: true
              register: time
            - debug: {msg: "{{ time is failed }} {{ 'timedout' in time }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"True True\"");
}

#[test]
fn an_ignored_unreachable_host_counts_as_ok_and_ignored() {
    // tests/conformance target `test_core`: `ignore_unreachable: yes` on a task delegated to a
    // host that cannot be reached: `...ignoring`, recap ok and ignored, exit 0.
    let p = Project::new()
        .file("inv", "localhost ansible_connection=local\nunreachable ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - command: id
                  delegate_to: unreachable
                  ignore_unreachable: yes
                  register: u
                - debug: {msg: "{{ u is unreachable }}"}
            "#,
        );
    p.play("site.yml")
        .inventory(p.join("inv"))
        .run()
        .success()
        .stdout_has("...ignoring")
        .stdout_has("\"msg\": true")
        .stdout_has("ok=2    changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=1");
}

#[test]
fn version_tests_take_strict_and_version_type_by_position_and_vault_tests_work() {
    // tests/conformance target `test_core`.
    let p = Project::new().file("notvault", "plain\n").file("vault", "$ANSIBLE_VAULT;1.1;AES256\n00\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - shell: sleep 5
              timeout: 1
              ignore_errors: true
              register: timed
            - assert:
                that:
                  - "'1.0' is version('1.0', '==', true)"
                  - "'1.0' is version_compare('2.0', '<', true)"
                  - "'1.2.3' is version('2.0.0', 'lt', version_type='semver')"
                  - "'2.14.0rc1' is version('2.14.0', 'lt', version_type='pep440')"
                  - "'vault' is vaulted_file"
                  - "'notvault' is not vaulted_file"
                  - "inventory_hostname is not vault_encrypted"
                  - timed is timedout
            - debug: {msg: "{{ '1.0' is version('nope', '==', true) }}"}
              ignore_errors: true
              register: bad
            - debug: {msg: "{{ bad.msg }}"}
        "#,
    );
    p.play("site.yml")
        .dir(p.path())
        .run()
        .success()
        .stdout_has("Version comparison failed: invalid version number 'nope'");
}

// ---- Group confd (throttle, unicode, parsing, strategy_linear, unsafe_writes, template,
// lookup_template, lookup_csvfile, path_lookups, task-timeout) ----

#[test]
fn script_sends_a_local_script_and_runs_it_with_its_arguments_and_environment() {
    // tests/conformance targets `throttle` and `unicode`: `script: FILE ARGS` finds FILE as
    // `copy src` does, runs it on the host with the task's environment, outputs kept as printed.
    let p = Project::new().file("files/show.sh", "#!/bin/sh\necho \"$@\"\necho \"$option\"\n").file(
        "site.yml",
        r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - script: show.sh --option "Zażółć gęślą jaźń"
                  environment: {option: Zażółć}
                  register: r
                - debug: {msg: "{{ r.stdout_lines }} {{ r.stdout }} {{ r.rc }} {{ r is changed }}"}
                - script: show.sh
                  args: {creates: /}
                  register: s
                - debug: {msg: "{{ s.msg }} {{ s is skipped }}"}
            "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has(r#""msg": "['--option Zażółć gęślą jaźń', 'Zażółć'] --option Zażółć gęślą jaźń\nZażółć\n 0 True""#)
        .stdout_has(r#""msg": "/ exists, matching creates option True""#);
}

#[test]
fn an_absolute_src_that_an_earlier_task_names_is_looked_for_when_the_task_runs() {
    // tests/conformance target `unicode`: a file made by the run (`file: state=touch`) is the
    // `src` of a later `copy`; it is not refused up front. A typo'd path still is.
    let p = Project::new();
    let made = p.join("made.txt");
    let site = format!(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {{path: "{m}", state: touch}}
            - copy: {{src: "{m}", dest: "{m}.2"}}
        "#,
        m = made.display()
    );
    let p = p.file("site.yml", &site);
    p.play("site.yml").run().success();
    assert!(p.join("made.txt.2").exists());
    let typo = format!(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {{src: "{m}.nope", dest: /tmp/x}}
        "#,
        m = made.display()
    );
    let p = p.file("typo.yml", &typo);
    p.play("typo.yml").run().code(3).stderr_has("does not exist");
}

#[test]
fn action_names_its_module_as_a_string_a_mapping_or_a_template() {
    // tests/conformance targets `parsing` and `strategy_linear`: `action:` with a module known
    // per host (`{module: "{{ name }}"}`, `"{{ name }} k=v"`), a literal one, and `local_action`.
    let p = Project::new()
        .file("inv", "[g]\none ansible_connection=local m=debug\ntwo ansible_connection=local m=ping\n")
        .file(
            "site.yml",
            r#"
            - hosts: g
              gather_facts: false
              tasks:
                - action: {module: "{{ m }}"}
                  register: out
                - debug: {msg: "{{ inventory_hostname }} msg={{ 'msg' in out }} ping={{ 'ping' in out }}"}
                - action: "{{ 'debug' }} msg='from a string'"
                  run_once: true
                - action: debug msg=static
                  run_once: true
                - local_action: command echo local
                  register: l
                  run_once: true
                - debug: {msg: "{{ l.stdout }} {{ ansible_playbook_python is string }}"}
                  run_once: true
                - action: "{{ 'nope' }} a=1"
                  run_once: true
                  ignore_errors: true
            "#,
        );
    p.play("site.yml")
        .inventory(p.join("inv"))
        .run()
        .success()
        .stdout_has("TASK [{{ m }}]")
        .stdout_has(r#""msg": "one msg=True ping=False""#)
        .stdout_has(r#""msg": "two msg=False ping=True""#)
        .stdout_has(r#""msg": "from a string""#)
        .stdout_has(r#""msg": "static""#)
        .stdout_has(r#""msg": "local True""#)
        .stdout_has("Task failed: Cannot resolve 'nope' to an action or module.");
}

#[test]
fn unsafe_writes_overwrites_in_place_what_cannot_be_replaced_and_attributes_run_chattr() {
    // tests/conformance target `unsafe_writes`: in an immutable directory (`attributes: +i`) a
    // copy fails (a task failure, the host stays reachable) unless `unsafe_writes` (or the host's
    // ANSIBLE_UNSAFE_WRITES) lets it write the file in place.
    let p = Project::new();
    let dir = p.join("d");
    std::fs::create_dir(&dir).unwrap();
    let probe = std::process::Command::new("chattr").arg("+i").arg(&dir).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: chattr +i does not work here (needs root and a filesystem with attributes)");
        return;
    }
    let unlocked = std::process::Command::new("chattr").arg("-i").arg(&dir).status();
    assert!(unlocked.is_ok_and(|s| s.success()));
    let site = format!(
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {{content: ORIGINAL, dest: "{d}/f"}}
            - file: {{path: "{d}", state: directory, attributes: "+i"}}
              register: locked
            - copy: {{content: NEW, dest: "{d}/f", unsafe_writes: false}}
              register: without
              ignore_errors: true
            - copy: {{content: NEWER, dest: "{d}/f", unsafe_writes: true}}
              register: with
            - copy: {{content: BY_ENV, dest: "{d}/f"}}
              environment: {{ANSIBLE_UNSAFE_WRITES: "1"}}
              register: by_env
            - file: {{path: "{d}", state: directory, attributes: "-i"}}
            - debug: {{msg: "locked={{{{ locked is changed }}}} without={{{{ without is failed }}}} with={{{{ with is changed }}}} env={{{{ by_env is changed }}}}"}}
        "#,
        d = dir.display()
    );
    let p = p.file("site.yml", &site);
    let out = p.play("site.yml").run();
    // Unlock whatever happened, so the directory can be removed.
    let _ = std::process::Command::new("chattr").arg("-i").arg(&dir).status();
    out.success().stdout_has(r#""msg": "locked=True without=True with=True env=True""#);
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "BY_ENV");
}

#[test]
fn a_timed_out_task_is_failed_and_a_timeout_out_of_range_fails_the_task_it_may_ignore() {
    // tests/conformance target `task-timeout`: the result of a task past its `timeout:` is
    // `failed` (and `timedout`); -1 and 100000001 fail the task with Ansible's message, and
    // `ignore_errors` still holds for a task whose keyword is wrong.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: sleep 5
              timeout: 1
              register: r
              ignore_errors: true
            - command: "true"
              timeout: -1
              register: neg
              ignore_errors: true
            - command: "true"
              timeout: 100000001
              register: big
              ignore_errors: true
            - debug: {msg: "{{ r is failed }} {{ r is timedout }} {{ r.timedout.period }} | {{ neg.msg }} | {{ big is failed }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has(
            r#""msg": "True True 1 | Task failed: Timeout -1 is invalid, it must be between 0 and 100000000. | True""#,
        )
        .recap_is("localhost", "ok=4 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=3");
}

#[test]
fn the_template_lookup_takes_its_own_delimiters_and_trim_blocks() {
    // tests/conformance target `lookup_template`.
    let p = Project::new()
        .file("templates/s.txt", "Hello [% who %]! {{ kept }}\n")
        .file("templates/c.txt", "[# note #]Hi\n")
        .file("templates/t.j2", "{% if True %}\nyes\n{% endif %}\nend\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars: {who: world}
              tasks:
                - debug: {msg: "{{ lookup('template', 's.txt', variable_start_string='[%', variable_end_string='%]') | trim }}"}
                - debug: {msg: "{{ lookup('template', 'c.txt', comment_start_string='[#', comment_end_string='#]') | trim }}"}
                - debug: {msg: "{{ lookup('template', 't.j2', trim_blocks=False) }}"}
            "#,
        );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has(r#""msg": "Hello world! {{ kept }}""#)
        .stdout_has(r#""msg": "Hi""#)
        .stdout_has(r#""msg": "\nyes\n\nend\n""#);
}

#[test]
fn a_task_that_ignores_errors_may_hold_broken_jinja_and_csvfile_spreads_a_list_default() {
    // tests/conformance target `lookup_csvfile`: a template syntax error in a task with
    // `ignore_errors` fails that task when it runs (not the whole run up front); a list
    // `default` gives its items, joined as any lookup's results.
    let p = Project::new().file("files/people.csv", "Smith,Jane\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - set_fact:
                broken: "{{ lookup('csvfile', 'foo', file='people.csv', delimiter=',' col=1) }}"
              ignore_errors: true
              register: r
            - debug: {msg: "{{ r is failed }} {{ lookup('csvfile', 'nope', file='people.csv', delimiter=',', col=1, default=['a', 'b']) }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has(r#""msg": "True a,b""#);
    let strict = p.file(
        "strict.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug: {msg: "{{ lookup('csvfile', 'foo' file='people.csv') }}"}
        "#,
    );
    strict.play("strict.yml").run().code(3).stderr_has("template syntax error");
}

#[test]
fn a_macro_whose_body_is_one_value_returns_that_value_and_unary_plus_parses() {
    // tests/conformance target `template`: Jinja's native macros (`{{ m() }}` of a macro that
    // prints one dict is that dict) and unary plus (`[+2.5]`).
    let p = Project::new()
        .file("templates/m.j2", "{% macro m() %}{{ {\"foo\": \"bar\"} }}{% endmacro %}\n{{ m() }}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                lh: '[1 + 2] + {{ [-2.5, +2.5, 1 + 2.5] }}'
              tasks:
                - debug: {msg: "{{ lookup('template', 'm.j2')['foo'] }} {{ lh }}"}
            "#,
        );
    p.play("site.yml").run().success().stdout_has(r#""msg": "bar [1 + 2] + [-2.5, 2.5, 3.5]""#);
}

#[test]
fn unary_plus_in_task_arguments_passes_the_up_front_check_and_raw_text_keeps_it() {
    // The up-front syntax check reads a task's templates after the same rewrite as the run; a
    // `{% raw %}` section and a comment are left as written.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug: {msg: "{{ [-1, +2] }} {% raw %}{{ +1 }}{% endraw %}{# +3 #}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has(r#""msg": "[-1, 2] {{ +1 }}""#);
}

#[test]
fn import_playbook_vars_are_the_imported_plays_vars() {
    // tests/conformance target `path_lookups`: `- import_playbook: x.yml` with `vars:` gives
    // every play of x.yml those vars, over the play's own.
    let p = Project::new()
        .file(
            "x.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars: {own: play, over: play}
              tasks:
                - debug: {msg: "{{ given }} {{ own }} {{ over }}"}
            "#,
        )
        .file(
            "site.yml",
            r#"
            - import_playbook: x.yml
              vars: {given: one, over: import}
            - import_playbook: x.yml
              vars: {given: two, over: import}
            "#,
        );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has(r#""msg": "one play import""#)
        .stdout_has(r#""msg": "two play import""#);
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
    // tests/conformance target `filter_mathstuff` (`{{ ansible_python_interpreter }} -c ...` on
    // the implicit localhost); the python facts describe the host's python when gather_subset
    // names them, and are absent when it excludes them.
    if orc::inventory::controller_python().is_none() {
        return;
    }
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_subset: [python]
          tasks:
            - assert: {that: ansible_python is defined}
            - command: "{{ ansible_python_interpreter }} -c 'print(6 * 7)'"
              register: r
            - debug: {msg: "{{ r.stdout }} {{ ansible_python.version.major }} {{ ansible_python_version is version('3', '>=') }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"42 3 True\"");
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_subset: ['!python']
          tasks:
            - assert: {that: ansible_python is not defined and ansible_python_version is not defined}
        "#,
    );
    p.play("site.yml").run().success();
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

// Group pyfacts (split, loop-until, command_shell): python facts gathered on first use
// (src/executor/python_facts.rs, docs/architecture.md "Python facts on first use").

/// A directory holding a `python3` that appends a line to `ran` beside it and then runs the
/// real python3, put first on orc's PATH: every Python the run starts on the (local) host shows.
/// None when the machine has no python3.
fn python_trap() -> Option<tempfile::TempDir> {
    let real = std::process::Command::new("sh").args(["-c", "command -v python3"]).output().ok()?;
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    if real.is_empty() {
        return None;
    }
    let dir = tempfile::tempdir().ok()?;
    let ran = dir.path().join("ran");
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n", ran.display());
    let fake = dir.path().join("python3");
    std::fs::write(&fake, script).ok()?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).ok()?;
    Some(dir)
}

fn trapped_path(trap: &tempfile::TempDir) -> String {
    format!("{}:{}", trap.path().display(), std::env::var("PATH").unwrap_or_default())
}

fn python_runs(trap: &tempfile::TempDir) -> usize {
    std::fs::read_to_string(trap.path().join("ran")).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn default_fact_gathering_runs_no_python_when_no_task_names_the_python_facts() {
    let Some(trap) = python_trap() else { return };
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          tasks:
            - setup:
              register: gathered
            - debug: {msg: "{{ ansible_distribution }} {{ gathered.ansible_facts.ansible_user_id }}"}
            - debug: {msg: "{{ hostvars['localhost'].ansible_facts.system }} {{ ansible_facts['python3'] | default('x') }}"}
        "#,
    );
    p.play("site.yml").env("PATH", trapped_path(&trap)).run().success();
    assert_eq!(python_runs(&trap), 0, "python ran though no task named the python facts");
}

#[test]
fn python_facts_are_gathered_once_when_a_task_first_names_them() {
    // tests/conformance targets loop-until and command_shell (`{{ ansible_python.executable }}`
    // after default gathering) and split (a registered setup result's
    // `ansible_facts.ansible_python`, one of them delegated to localhost).
    let Some(trap) = python_trap() else { return };
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          tasks:
            - debug: {msg: "no python yet"}
            - command: "{{ ansible_python.executable }} -c 'print(6 * 7)'"
              register: r
            - debug: {msg: "{{ r.stdout }} {{ ansible_python_version is version('3', '>=') }} {{ ansible_facts['python'].version.major }}"}
            - setup:
              register: again
            - assert:
                that:
                  - again.ansible_facts.ansible_python.executable == ansible_python.executable
                  - hostvars['localhost'].ansible_facts.python_version == ansible_python_version
        "#,
    );
    p.play("site.yml").env("PATH", trapped_path(&trap)).run().success().stdout_has("\"msg\": \"42 True 3\"");
    // One collector run for the play's gathering (then the command's own python, which reads it
    // by its full path and is not the trap), one for the registered `again` and the facts it
    // refreshed: each setup's python facts are gathered once, when first named.
    assert_eq!(python_runs(&trap), 2, "{:?}", std::fs::read_to_string(trap.path().join("ran")));
}
// Roles and become_sudo (helper config): `lookup('config', ...)`, `private_role_vars` and the
// `public:` option of import_role/include_role.

#[test]
fn the_config_lookup_answers_from_the_environment_ansible_cfg_and_defaults() {
    let p = Project::new()
        .file("ansible.cfg", "[defaults]\nforks = 7\n[privilege_escalation]\nbecome_flags = -E\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug:
                    msg: "p={{ lookup('config', 'DEFAULT_PRIVATE_ROLE_VARS') }} f={{ lookup('config', 'DEFAULT_FORKS') }} u={{ lookup('config', 'DEFAULT_BECOME_USER') }}"
                - debug:
                    msg: "flags={{ lookup('config', 'become_flags', plugin_type='become', plugin_name='sudo') }} exe={{ lookup('ansible.builtin.config', 'become_exe', plugin_type='become', plugin_name='sudo') }}"
                - debug:
                    msg: "var={{ lookup('config', 'become_flags', plugin_type='become', plugin_name='sudo') }}"
                  vars:
                    ansible_become_flags: -X
                - debug:
                    msg: "skip={{ q('config', 'NOPE', 'DEFAULT_GATHERING', on_missing='skip') }}"
                - debug:
                    msg: "{{ lookup('config', 'NOPE') }}"
                  ignore_errors: true
                - debug:
                    msg: "{{ lookup('config', 'become_exe', plugin_type='become') }}"
                  ignore_errors: true
            "#,
        );
    p.play("site.yml")
        .env("ANSIBLE_PRIVATE_ROLE_VARS", "yes")
        .env("ANSIBLE_SUDO_EXE", "/opt/sudo")
        .run()
        .success()
        .stdout_has(r#""msg": "p=True f=7 u=root""#)
        .stdout_has(r#""msg": "flags=-E exe=/opt/sudo""#)
        .stdout_has(r#""msg": "var=-X""#)
        .stdout_has(r#""msg": "skip=['implicit']""#)
        .stdout_has("No config definition exists for 'NOPE'.")
        .stdout_has("Both plugin_type and plugin_name are required, cannot use one without the other.")
        .stdout_has("ignored=2");
}

#[test]
fn role_vars_are_public_or_private_as_private_role_vars_and_public_say() {
    let p = Project::new()
        .file("roles/r/defaults/main.yml", "rdef: d\n")
        .file("roles/r/vars/main.yml", "rvar: v\n")
        .file("roles/r/tasks/main.yml", "- debug: msg=\"in r {{ rvar }}\"\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug: msg="import-before {{ rdef | default('U') }} {{ rvar | default('U') }}"
                - import_role: name=r
            - hosts: localhost
              gather_facts: false
              tasks:
                - import_role: name=r public=no
                - debug: msg="import-private {{ rdef | default('U') }} {{ rvar | default('U') }}"
            - hosts: localhost
              gather_facts: false
              tasks:
                - include_role: name=r
                - debug: msg="include {{ rdef | default('U') }} {{ rvar | default('U') }}"
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug: msg="include-before {{ rdef | default('U') }} {{ rvar | default('U') }}"
                - include_role:
                    name: r
                    public: "{{ true }}"
                - debug: msg="include-public {{ rdef | default('U') }} {{ rvar | default('U') }}"
            - hosts: localhost
              gather_facts: false
              roles: [r]
              pre_tasks:
                - debug: msg="roles {{ rdef | default('U') }} {{ rvar | default('U') }}"
            "#,
        );
    let run = |setting: Option<&str>| {
        let mut orc = p.play("site.yml");
        if let Some(s) = setting {
            orc = orc.env("ANSIBLE_PRIVATE_ROLE_VARS", s);
        }
        orc.run().success()
    };
    // Ansible's default: roles: and import_role public, include_role private.
    run(None)
        .stdout_has("import-before d v")
        .stdout_has("import-private U U")
        .stdout_has("include U U")
        .stdout_has("include-before U U")
        .stdout_has("include-public d v")
        .stdout_has("roles d v");
    // Set, the setting decides wherever public: is not given.
    run(Some("1"))
        .stdout_has("import-before U U")
        .stdout_has("include U U")
        .stdout_has("include-public d v")
        .stdout_has("roles U U");
    run(Some("0")).stdout_has("import-before d v").stdout_has("import-private U U").stdout_has("include d v");
}
// Group lineacl (lineinfile and unsafe_writes on a lab host, include_vars).

/// Sets the extended attribute `name` of `path`; false when the file system refuses it.
fn set_xattr(path: &std::path::Path, name: &str, value: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let (Ok(p), Ok(n)) = (std::ffi::CString::new(path.as_os_str().as_bytes()), std::ffi::CString::new(name)) else {
        return false;
    };
    // SAFETY: both names are NUL-terminated strings and `value` is a live slice of its length.
    unsafe { libc::setxattr(p.as_ptr(), n.as_ptr(), value.as_ptr().cast(), value.len(), 0) == 0 }
}

/// The value of the extended attribute `name` of `path`, if it has one.
fn get_xattr(path: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: both names are NUL-terminated strings and `buf` is writable for its length.
    let len = unsafe { libc::getxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| buf[..len as usize].to_vec())
}

/// An access ACL in the kernel's `system.posix_acl_access` form (version 2; tag, permissions, id):
/// `user::rw-`, `user:nobody:rwx`, `group::r--`, `mask::rwx`, `other::r--`, what lineinfile's
/// acls.yml sets with `setfacl -m nobody:rwx`.
fn nobody_rwx_acl() -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in
        [(0x01u16, 6u16, u32::MAX), (0x02, 7, 65534), (0x04, 4, u32::MAX), (0x10, 7, u32::MAX), (0x20, 4, u32::MAX)]
    {
        v.extend(tag.to_le_bytes());
        v.extend(perm.to_le_bytes());
        v.extend(id.to_le_bytes());
    }
    v
}

#[test]
fn a_rewritten_file_keeps_its_extended_acl_and_attributes() {
    let p = Project::new().file("test.txt", "TEST\n").file("copied.txt", "old\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - lineinfile: {path: "{{ playbook_dir }}/test.txt", regexp: TEST, line: UPDATE}
            - copy: {content: "new\n", dest: "{{ playbook_dir }}/copied.txt", mode: "0640"}
        "#,
    );
    let acl = nobody_rwx_acl();
    let (file, copied) = (p.join("test.txt"), p.join("copied.txt"));
    if !set_xattr(&file, "system.posix_acl_access", &acl) || !set_xattr(&copied, "user.orc", b"kept") {
        eprintln!("skipped: this file system takes no ACL or user extended attribute");
        return;
    }
    p.play("site.yml").run().success();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "UPDATE\n");
    assert_eq!(get_xattr(&file, "system.posix_acl_access"), Some(acl), "lineinfile dropped the ACL");
    assert_eq!(std::fs::read_to_string(&copied).unwrap(), "new\n");
    assert_eq!(get_xattr(&copied, "user.orc").as_deref(), Some(&b"kept"[..]), "copy dropped the xattr");
    use std::os::unix::fs::PermissionsExt;
    // The task's absolute mode applies after the copied ACL: no ACL here, so the plain bits.
    assert_eq!(std::fs::metadata(&copied).unwrap().permissions().mode() & 0o7777, 0o640);
}

#[test]
fn file_expands_a_leading_tilde_in_path_and_src() {
    let home = Project::new().file("test.txt", "TEST\n").file("target.txt", "x\n");
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "~/test.txt", state: absent}
              register: gone
            - file: {src: "~/target.txt", path: "~/link", state: link}
            - debug: {msg: "{{ gone.changed }} {{ gone.path is match('/') }}"}
        "#,
    );
    p.play("site.yml").env("HOME", home.path()).run().success().stdout_has("\"msg\": \"True True\"");
    assert!(!home.join("test.txt").exists(), "lineinfile's acls.yml cleans up ~/test.txt this way");
    assert_eq!(std::fs::read_link(home.join("link")).unwrap(), home.join("target.txt"));
}
// ---- Group wait_for, wait_for_connection, slurp (lab targets) ----

#[test]
fn slurp_says_not_readable_for_a_directory_the_become_user_cannot_read() {
    // slurp's test_unreadable.yml: Ansible's open() fails with EACCES on a 0700 directory of
    // root's before it can see a directory, so the message is "File is not readable".
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - tempfile: {state: directory}
              register: t
            - file: {path: "{{ t.path }}", mode: "0755"}
            - file: {path: "{{ t.path }}/locked", state: directory, mode: "0700"}
            - copy: {content: "x", dest: "{{ t.path }}/locked.txt", mode: "0600"}
            - slurp: {src: "{{ t.path }}/locked"}
              become: true
              become_user: nobody
              register: d
              ignore_errors: true
            - slurp: {src: "{{ t.path }}/locked.txt"}
              become: true
              become_user: nobody
              register: f
              ignore_errors: true
            - slurp: {src: "{{ t.path }}/locked"}
              register: rootdir
              ignore_errors: true
            - file: {path: "{{ t.path }}", state: absent}
            - debug: {msg: "[{{ d.msg }}] [{{ f.msg }}] [{{ rootdir.msg }}]"}
        "#,
    );
    let out = p.play("site.yml").run().success();
    let line = out.stdout.lines().find(|l| l.contains("\"msg\": \"[")).unwrap_or_default().to_string();
    assert!(line.contains("[File is not readable: /"), "{line}");
    assert!(line.contains("locked] [File is not readable: /"), "{line}");
    assert!(line.contains("] [Source is a directory and must be a file: /"), "{line}");
}
// Group systemd / debconf / package_facts (lab targets).

#[test]
fn a_value_orc_does_not_implement_fails_only_when_its_conditional_task_runs() {
    // package_facts target: `manager: pkg` sits in a FreeBSD-only block.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - block:
                - package_facts: {manager: pkg}
              when: false
            - debug: {msg: "went on"}
            - package_facts: {manager: pkg}
              when: true
        "#,
    );
    p.play("site.yml")
        .run()
        .code(2)
        .stdout_has("went on")
        .stdout_has("orc reads the apt and rpm package managers only, not pkg");
    let p = Project::new()
        .file("site.yml", "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - package_facts: {manager: pkg}\n");
    p.play("site.yml").run().code(3);
    // A name Ansible does not know either is refused up front, conditional or not.
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - package_facts: {manager: nope}\n      when: false\n",
    );
    p.play("site.yml").run().code(3);
}
// Localhost targets (helper localc): the persistent fact cache (set_fact), set_fact keeping
// string values, roles' argument specs, templated role names, reserved names, filters.

#[test]
fn cacheable_facts_persist_in_the_jsonfile_cache_until_flushed() {
    let p = Project::new()
        .file("inv", "localhost ansible_connection=local\n")
        .file(
            "set.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - set_fact:
                    ansible_foobar: from_cache
                    plain: kept
                    cacheable: true
                - set_fact: "cacheable=no not_cached=1"
            "#,
        )
        .file(
            "read.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - debug:
                    msg: "{{ ansible_foobar | default('undefined') }} {{ ansible_facts.plain | default('undefined') }} {{ not_cached | default('undefined') }}"
            "#,
        );
    let cache = p.join("cache");
    let run = |book: &str, flush: bool| {
        let mut orc = p
            .play(book)
            .inventory(p.join("inv"))
            .env("ANSIBLE_CACHE_PLUGIN", "jsonfile")
            .env("ANSIBLE_CACHE_PLUGIN_CONNECTION", &cache)
            .env("ANSIBLE_CACHE_PLUGIN_PREFIX", "prefix_");
        if flush {
            orc = orc.arg("--flush-cache");
        }
        orc.run().success()
    };
    run("set.yml", false);
    // ansible-core 2.19's file: `<prefix>s1_<host>`, the facts as a JSON payload.
    let text = std::fs::read_to_string(cache.join("prefix_s1_localhost")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let facts: serde_json::Value = serde_json::from_str(file["__payload__"].as_str().unwrap()).unwrap();
    assert_eq!(facts, serde_json::json!({"ansible_foobar": "from_cache", "plain": "kept"}));
    run("read.yml", false).stdout_has("\"msg\": \"from_cache kept undefined\"");
    run("read.yml", true).stdout_has("\"msg\": \"undefined undefined undefined\"");
    assert!(!cache.join("prefix_s1_localhost").exists(), "--flush-cache removes the host's file");
    // Without a cache plugin, facts last one run.
    p.play("set.yml").inventory(p.join("inv")).run().success();
    p.play("read.yml")
        .inventory(p.join("inv"))
        .run()
        .success()
        .stdout_has("\"msg\": \"undefined undefined undefined\"");
}

#[test]
fn set_fact_keeps_quoted_and_key_value_strings_as_strings() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - set_fact: a=yes b=True
            - set_fact:
                c: "yes"
                d: yes
            - debug: {msg: "{{ [a, b, c, d] | map('type_debug') | join(',') }}"}
        "#,
    );
    p.play("site.yml").run().success().stdout_has("\"msg\": \"str,str,str,bool\"");
}

#[test]
fn a_roles_argument_spec_is_checked_when_the_role_starts() {
    let p = Project::new()
        .file(
            "roles/r/meta/argument_specs.yml",
            r#"
            argument_specs:
              main:
                short_description: Main entry point for role R.
                options:
                  r_str: {type: str, required: true}
                  r_int: {type: int}
              other:
                options:
                  o_list: {type: list, elements: int, required: true}
            "#,
        )
        .file("roles/r/tasks/main.yml", "- debug: {msg: \"r with {{ r_str | default('none') }} {{ r_int | default(0) | int + 1 }}\"}\n")
        .file("roles/r/tasks/other.yml", "- debug: {msg: \"other {{ o_list | default([]) }}\"}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              tasks:
                - import_role: {name: r}
                  vars: {r_str: given, r_int: "{{ '41' }}"}
                - block:
                    - include_role: {name: r}
                      vars: {r_int: 'x'}
                  rescue:
                    - debug:
                        msg: "{{ ansible_failed_task.name }} | {{ ansible_failed_result.argument_errors }} | {{ ansible_failed_result.validate_args_context.name }} {{ ansible_failed_result.validate_args_context.argument_spec_name }}"
                - include_role: {name: r, rolespec_validate: false}
                - block:
                    - include_role: {name: r, tasks_from: other}
                      vars: {o_list: "1,b"}
                  rescue:
                    - debug: {msg: "{{ ansible_failed_result.argument_errors }}"}
                - ansible.builtin.validate_argument_spec:
                    argument_spec: {port: {type: int, required: true}}
                    provided_arguments: {port: "8080"}
            "#,
        );
    let out = p.play("site.yml").run().success();
    let out = out
        .stdout_has("TASK [r : Validating arguments against arg spec 'main' - Main entry point for role R.]")
        .stdout_has("\"msg\": \"r with given 42\"")
        .stdout_has("\"msg\": \"Validating arguments against arg spec 'main' - Main entry point for role R. | [")
        .stdout_has("missing required arguments: r_str")
        .stdout_has("argument 'r_int' is of type str and we were unable to convert to int: ")
        .stdout_has("] | r main\"")
        .stdout_has("\"msg\": \"r with none 1\"")
        .stdout_has("Elements value for option 'o_list' is of type str and we were unable to convert to int");
    assert_eq!(out.recap("localhost").rescued, 2, "{out}");
    // Tagged always: it runs under --tags that select nothing else.
    p.play("site.yml")
        .args(["--tags", "nothing"])
        .run()
        .success()
        .stdout_has("TASK [r : Validating arguments against arg spec 'main'");
}

// Group trust (include_vars, set_fact): `ansible._protomatter.tagged_with("TrustedAsTemplate")`
// answers from orc's trust model (src/template/trust.rs), and results a task returned are data.

#[test]
fn tagged_with_trusted_as_template_answers_from_where_a_value_came_from() {
    let p = Project::new().file("vars.yml", "iv: from_file\niv_t: \"{{ 'x' }}\"\n").file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            pv: hello
            pt: "{{ 'x' }}"
            pn: 5
          tasks:
            - command: echo hi
              register: out
            - set_fact: {sf: bar, sft: "{{ 'y' }}"}
              register: sfr
            - include_vars: {file: vars.yml}
              register: ivr
            - debug:
                msg: >-
                  {% set t = 'TrustedAsTemplate' %}
                  pv={{ pv is ansible._protomatter.tagged_with(t) }}
                  pt={{ pt is ansible._protomatter.tagged_with(t) }}
                  pn={{ pn is ansible._protomatter.tagged_with(t) }}
                  lit={{ 'hello' is ansible._protomatter.tagged_with(t) }}
                  stdout={{ out.stdout is ansible._protomatter.tagged_with(t) }}
                  sf={{ sf is ansible._protomatter.tagged_with(t) }}
                  sft={{ sft is ansible._protomatter.tagged_with(t) }}
                  sfr={{ sfr.ansible_facts.sf is ansible._protomatter.tagged_with(t) }}
                  sfrt={{ sfr.ansible_facts.sft is ansible._protomatter.tagged_with(t) }}
                  iv={{ iv is ansible._protomatter.tagged_with(t) }}
                  iv_t={{ iv_t is ansible._protomatter.tagged_with(t) }}
                  ivr={{ ivr.ansible_facts.iv is ansible._protomatter.tagged_with(t) }}
                  origin={{ pv is ansible._protomatter.tagged_with('Origin') }}
                  names={{ pv | ansible._protomatter.tag_names }}/{{ out.stdout | ansible._protomatter.tag_names }}
            - debug: {msg: "item {{ item }}={{ item is ansible._protomatter.tagged_with('TrustedAsTemplate') }}"}
              loop: [a]
            - debug: {msg: "item {{ item }}={{ item is ansible._protomatter.tagged_with('TrustedAsTemplate') }}"}
              loop: "{{ ['b'] }}"
            - debug: {msg: "{{ pv is ansible._protomatter.tagged_with('Bogus') }}"}
        "#,
    );
    p.play("site.yml")
        .run()
        .code(2)
        .stdout_has(
            "pv=True pt=False pn=False lit=False stdout=False sf=True sft=False sfr=True sfrt=False iv=True \
             iv_t=False ivr=True origin=False names=['TrustedAsTemplate']/[]",
        )
        .stdout_has("\"msg\": \"item a=True\"")
        .stdout_has("\"msg\": \"item b=False\"")
        .stdout_has("Unknown tag name 'Bogus'.");
}

#[test]
fn a_commands_output_is_never_rendered_as_a_loop_item_or_in_changed_when() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo "{{ '{{' }} 40 + 2 }}"
              register: out
            - debug: {msg: "item={{ item }}"}
              loop: "{{ out.stdout_lines }}"
            - command: echo "{{ '{{' }} 40 + 2 }}"
              register: second
              changed_when: second.stdout != '42'
        "#,
    );
    let out = p.play("site.yml").run().success().stdout_has("\"msg\": \"item={{ 40 + 2 }}\"");
    assert_eq!(out.recap("localhost").changed, 2, "{out}");
}
// Group become_sudo (lab target): sudo's become_exe, become_flags and sudo_chdir shape the become
// shell, an empty become_user names none, and a become step that fails fails the task.

#[test]
fn sudo_options_shape_the_become_shell_and_its_failures_fail_the_task() {
    let p = Project::new()
        .file("fake-sudo", "#!/bin/sh\necho \"$*\" > \"$0.args\"\nexec sudo \"$@\"\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              become: true
              vars:
                ansible_become_exe: "{{ playbook_dir }}/fake-sudo"
                ansible_become_flags: -H -S -n -E
              tasks:
                - raw: echo "CWD IS <$(pwd)>"
                  vars: {ansible_sudo_chdir: /}
                  register: root_cwd
                - raw: exit 0
                  vars: {ansible_sudo_chdir: /nonexistent_dir}
                  ignore_errors: true
                  register: gone
                - raw: whoami
                  vars: {ansible_become_user: ""}
                  register: no_user
                - debug:
                    msg: "{{ root_cwd.stdout | trim }} | {{ gone is failed }} {{ gone.msg is search('cd.*/nonexistent_dir') }} | {{ no_user.stdout | trim }} | {{ lookup('file', playbook_dir ~ '/fake-sudo.args') }}"
            "#,
        );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p.join("fake-sudo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = p.play("site.yml").run().success();
    let out = out.stdout_has("\"msg\": \"CWD IS </> | True True | root | -H -S -n -E /bin/sh -s\"");
    assert_eq!(out.recap("localhost").unreachable, 0, "{out}");
    assert_eq!(out.recap("localhost").ignored, 1, "{out}");
}
// --- group remotesrc (copy on a lab host: remote_src, a relative src made by the run) ---

#[test]
fn a_relative_src_that_an_earlier_task_makes_is_looked_for_when_the_task_runs() {
    // tests/conformance target `copy`: `file: path=source_recursive state=directory` and a
    // `copy: content=... dest=source_recursive/file` made with `delegate_to: localhost`, then
    // `copy: src=source_recursive`: not refused up front. A relative typo still is.
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - file: {path: "{{ playbook_dir }}/source_recursive", state: directory}
            - copy: {content: "testing", dest: "{{ playbook_dir }}/source_recursive/file"}
            - copy: {src: source_recursive, dest: "{{ playbook_dir }}/out/"}
        "#,
    );
    p.play("site.yml").run().success();
    assert_eq!(std::fs::read_to_string(p.join("out/source_recursive/file")).unwrap(), "testing");
    let p = p.file(
        "typo.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - copy: {src: source_recursiv, dest: /tmp/x}\n",
    );
    p.play("typo.yml").run().code(3).stderr_has("does not exist");
}

#[test]
fn copying_a_vault_file_without_a_password_fails_with_ansibles_words() {
    // tests/conformance target `copy`: the message ends as Ansible's DataLoader words it, for a
    // file src and for a directory holding the file.
    let vault = "$ANSIBLE_VAULT;1.1;AES256\n\
        30353665333635633433356261616636356130386330363962386533303566313463383734373532\n\
        3933643234323638623939613462346361313431363939370a303532656338353035346661353965\n\
        34656231633238396361393131623834316262306533663838336362366137306562646561383766\n\
        6363373965633337640a373666336461613337346131353564383134326139616561393664663563\n\
        3431\n";
    let p = Project::new().file("files/v/vault-file", vault).file("files/v/folder/nested", vault).file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {src: "{{ playbook_dir }}/files/v/vault-file", dest: "{{ playbook_dir }}/out"}
              register: one
              ignore_errors: true
            - copy: {src: "{{ playbook_dir }}/files/v", dest: "{{ playbook_dir }}/outdir/"}
              register: tree
              ignore_errors: true
            - assert:
                that:
                  - one is failed
                  - one.msg.endswith('A vault password or secret must be specified to decrypt ' + playbook_dir + '/files/v/vault-file')
                  - tree is failed
                  - tree.msg.endswith('A vault password or secret must be specified to decrypt ' + playbook_dir + '/files/v/vault-file')
        "#,
    );
    p.play("site.yml").run().success();
}
