//! Play, block, role and task keywords as Ansible applies them (issue 11, section 3): keywords
//! given as templates, `environment:`, `remote_user:`/`port:`/`become_method:`, `timeout:`,
//! `module_defaults`, `async`/`poll`/`async_status`, `vars_prompt`, `gather_subset`, play
//! `throttle`, `any_errors_fatal` on blocks, include/import semantics, role parameters, set_fact in
//! loops, and the YAML Ansible reads. Where Ansible can run the same playbook here, the test
//! compares with it.

mod common;

use common::ansible::assert_same_as_ansible;
use common::Project;

/// Hosts on this machine (debug, set_fact, command, file... need nothing more). Runs with several
/// of them use `--forks 1` unless the test is about parallelism: Ansible prints results in the
/// order hosts finish, orc in inventory order.
fn local_hosts(n: usize) -> String {
    (1..=n)
        .map(|i| {
            format!("h{i} ansible_connection=local ansible_python_interpreter=\"{{{{ ansible_playbook_python }}}}\"\n")
        })
        .collect()
}

#[test]
fn keywords_given_as_templates_are_rendered_per_host_and_item() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars:
            secret: true
            lenient: "yes"
            use_check: false
          tasks:
            - command: "false"
              ignore_errors: "{{ lenient }}"
            # After the failing task: orc masks a no_log result's strings in everything printed
            # later, the error's source excerpt included (docs/vault.md); Ansible does not.
            - debug: {msg: hidden}
              no_log: "{{ secret }}"
            - copy: {content: "x\n", dest: "{{ playbook_dir }}/out.txt"}
              check_mode: "{{ use_check }}"
            - debug: {msg: "{{ item }}"}
              loop: [1, 2]
              no_log: "{{ item == 2 }}"
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn become_given_as_a_template() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars: {b: true, who: nobody}
          tasks:
            - command: whoami
              become: "{{ b }}"
              become_user: "{{ who }}"
              register: w
            - debug: {msg: "as {{ w.stdout }}"}
            - command: whoami
              become: "{{ not b }}"
              become_user: "{{ who }}"
              register: w
            - debug: {msg: "then as {{ w.stdout }}"}
        "#,
    );
    let me = String::from_utf8(std::process::Command::new("whoami").output().unwrap().stdout).unwrap();
    p.play("site.yml").run().success().stdout_has("\"as nobody\"").stdout_has(&format!("\"then as {}\"", me.trim()));
}

#[test]
fn become_method_is_applied() {
    // su needs a password prompt over SSH; orc refuses it on the local connection, which shows
    // the keyword reached the connection (it used to be ignored: sudo ran).
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: "true"
              become: true
              become_method: su
        "#,
    );
    p.play("site.yml").run().code(4).stdout_has("become method su works over ssh only");
}

#[test]
fn environment_of_play_block_role_and_task_reaches_commands() {
    let p = Project::new()
        .file(
            "roles/r/tasks/main.yml",
            "- shell: echo \"role sees $PLAYV $ROLEV\"\n  register: r\n- debug: var=r.stdout\n",
        )
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              environment:
                PLAYV: play
                SHARED: from-play
              vars:
                proxy_env: {FROMVAR: "var value"}
              roles:
                - role: r
                  environment: {ROLEV: role}
              tasks:
                - block:
                    - shell: echo "$PLAYV $BLOCKV $SHARED $TASKV"
                      environment: {TASKV: "it's task", SHARED: from-task}
                      register: out
                    - debug: var=out.stdout
                  environment: {BLOCKV: block}
                - shell: echo "$FROMVAR"
                  environment: "{{ proxy_env }}"
                  register: out2
                - debug: var=out2.stdout
                - command: printenv PLAYV
                  register: out3
                - debug: var=out3.stdout
            "#,
        );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn timeout_and_module_defaults() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          module_defaults:
            file: {mode: "0600"}
          tasks:
            - command: sleep 5
              timeout: 1
              ignore_errors: true
            - file: {path: "{{ playbook_dir }}/a", state: touch}
            - file: {path: "{{ playbook_dir }}/b", state: touch}
              module_defaults:
                ansible.builtin.file: {mode: "0640"}
            - block:
                - file: {path: "{{ playbook_dir }}/c", state: touch, mode: "0644"}
              module_defaults:
                file: {mode: "0400", state: touch}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn async_with_poll_and_fire_and_forget_with_async_status() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo polled
              async: 20
              poll: 1
              register: a
            - debug: {msg: "{{ a.stdout }} finished={{ a.finished }} id={{ a.ansible_job_id is defined }}"}
            - shell: sleep 1; echo fired
              async: 20
              poll: 0
              register: job
            - debug: {msg: "started={{ job.started }} finished={{ job.finished }}"}
            - async_status: jid={{ job.ansible_job_id }}
              register: st
              until: st.finished
              retries: 30
              delay: 1
            - debug: {msg: "{{ st.stdout }} after {{ st.attempts }} attempts"}
            - command: sleep 5
              async: 1
              poll: 1
              ignore_errors: true
              register: late
            - debug: {msg: "late: {{ late.msg }} finished={{ late.finished }}"}
            - async_status: jid=nonexistent
              ignore_errors: true
        "#,
    );
    p.play("site.yml")
        .run()
        .success()
        .stdout_has("ASYNC OK on localhost: jid=j")
        .stdout_has("\"polled finished=True id=True\"")
        .stdout_has("\"started=True finished=False\"")
        .stdout_has("\"fired after ")
        // As Ansible's async wrapper: the job is ended at its deadline and reported by the poll.
        .stdout_has("ASYNC FAILED on localhost: jid=j")
        .stdout_has("[ERROR]: Task failed: Module failed: Timeout exceeded")
        .stdout_has("\"late: Timeout exceeded finished=True\"")
        .stdout_has("[ERROR]: Task failed: Module failed: could not find job")
        .recap_is("localhost", "ok=9 changed=3 ignored=2");
}

#[test]
fn actions_that_refuse_async_fail_before_they_run() {
    // Ansible's copy, template... action plugins and the controller-side actions do not support
    // async; modules run by Ansible's normal action do (async: 0 is no async).
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - copy: {content: "x\n", dest: "{{ playbook_dir }}/out-{{ item }}"}
              async: 10
              poll: 1
              loop: [a, b]
              ignore_errors: true
            - debug: msg=hi
              async: 5
              ignore_errors: true
            - ansible.builtin.template: {src: site.yml, dest: "{{ playbook_dir }}/t"}
              async: 5
              poll: 0
              ignore_errors: true
            - command: echo ok
              async: "{{ 0 }}"
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn vars_prompt_without_a_terminal_takes_the_defaults() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          vars_prompt:
            - name: with_default
              prompt: Which one
              default: dflt
              private: false
            - name: number
              prompt: How many
              default: 3
          tasks:
            - debug: {msg: "{{ with_default }} {{ number }} {{ number | type_debug }}"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
    assert_same_as_ansible(p.path(), "site.yml", &["-e", "with_default=given"]);
}

#[test]
fn vars_prompt_without_a_terminal_or_default_says_to_pass_the_answer() {
    // ansible-playbook goes on with the text "None" as the value; orc stops before anything ran.
    let p = Project::new().file(
        "site.yml",
        "- hosts: localhost\n  gather_facts: false\n  vars_prompt:\n    - name: secret\n      prompt: Your secret\n  tasks:\n    - debug: {msg: \"{{ secret }}\"}\n",
    );
    p.play("site.yml")
        .run()
        .code(3)
        .stderr_has("site.yml:4:7")
        .stderr_has("vars_prompt 'secret' needs an answer")
        .stderr_has("-e secret=VALUE")
        .stdout_lacks("TASK [debug]");
    p.play("site.yml").arg("-e").arg("secret=given").run().success().stdout_has("\"msg\": \"given\"");
}

#[test]
fn gather_subset_limits_the_facts() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_subset: ['!all']
          tasks:
            - debug: {msg: "network facts: {{ ansible_default_ipv4 is defined }}"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn play_throttle_limits_every_task() {
    // With throttle 1 the hosts take the lock one after the other; without it, in parallel, all
    // but one would find it taken.
    let p = Project::new().file("hosts", &local_hosts(3)).file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          throttle: 1
          tasks:
            - shell: mkdir "{{ playbook_dir }}/lock" && sleep 0.3 && rmdir "{{ playbook_dir }}/lock"
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &["-i", "hosts", "--forks", "3"]);
}

#[test]
fn any_errors_fatal_on_a_block() {
    let p = Project::new().file("hosts", &local_hosts(3)).file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - block:
                - debug: {msg: "in block"}
                - fail: {msg: boom}
                  when: inventory_hostname == 'h2'
                - debug: {msg: "after fail"}
              rescue:
                - debug: {msg: "rescued {{ inventory_hostname }}"}
              any_errors_fatal: true
            - debug: {msg: "next task"}
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "second play"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &["-i", "hosts", "--forks", "1"]);
    let p = Project::new().file("hosts", &local_hosts(3)).file(
        "site.yml",
        r#"
        - hosts: all
          gather_facts: false
          tasks:
            - block:
                - fail: {msg: boom}
                  when: inventory_hostname == 'h2'
                - debug: {msg: "after fail"}
              any_errors_fatal: true
            - debug: {msg: "next task"}
        - hosts: all
          gather_facts: false
          tasks:
            - debug: {msg: "second play"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &["-i", "hosts", "--forks", "1"]);
}

#[test]
fn a_playbook_ends_when_every_host_of_a_batch_failed() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - fail: {msg: x}
        - hosts: localhost
          gather_facts: false
          tasks:
            - debug: {msg: "play 2"}
        "#,
    );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn roles_included_as_k_v_with_params_above_role_vars_and_set_fact_in_a_loop() {
    let p = Project::new()
        .file(
            "roles/r/tasks/main.yml",
            "- debug: {msg: \"p={{ p }} v={{ v }} d={{ d }}\"}\n- command: \"true\"\n  changed_when: true\n  notify: alt handler\n",
        )
        .file("roles/r/handlers/main.yml", "- name: alt handler\n  debug: {msg: main handler ran}\n")
        .file("roles/r/vars/main.yml", "p: from-role-vars\nv: from-role-vars\n")
        .file("roles/r/defaults/main.yml", "d: from-defaults\n")
        .file("roles/h/tasks/main.yml", "- command: \"true\"\n  changed_when: true\n  notify: h alt\n")
        .file("roles/h/handlers/alt.yml", "- name: h alt\n  debug: {msg: alt handler ran}\n")
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              roles:
                - role: r
                  p: from-param
                - role: r
                  vars: {p: from-entry-vars}
              tasks:
                - set_fact: {p: from-set-fact}
                - include_role: name=r
                  vars: {p: from-include-vars}
                - import_role: name=r
                  vars: {p: from-import-vars}
                - include_role: name=h handlers_from=alt
                - set_fact:
                    acc: "{{ acc | default([]) + [item] }}"
                  loop: [1, 2, 3]
                - debug: var=acc
            "#,
        );
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}

#[test]
fn include_keywords_apply_to_the_include_and_apply_to_its_tasks() {
    // The include's `when` is not re-checked for the tasks it brings in (they set the variable it
    // tests), its tags select the include only; `apply:` gives the included tasks keywords.
    let p = Project::new()
        .file(
            "install.yml",
            "- debug: {msg: installing}\n- set_fact: {installed: true}\n- debug: {msg: after set_fact}\n- debug: {msg: tagged inside}\n  tags: [inner]\n",
        )
        .file(
            "site.yml",
            r#"
            - hosts: localhost
              gather_facts: false
              vars:
                installed: false
              tasks:
                - include_tasks: install.yml
                  when: not installed
                  tags: [outer]
                - include_tasks:
                    file: install.yml
                    apply:
                      tags: [applied]
                  tags: [outer]
            "#,
        );
    for args in [&[][..], &["--tags", "outer"], &["--tags", "inner"], &["--tags", "applied"]] {
        assert_same_as_ansible(p.path(), "site.yml", args);
    }
}

#[test]
fn a_role_vars_file_with_a_flow_mapping_closed_at_column_one() {
    let p = Project::new()
        .file("roles/r/vars/main.yml", "outer:\n  mymap: {\n    a: 1,\n    b: 2\n}\nother: yes\n")
        .file("roles/r/tasks/main.yml", "- debug: {var: outer}\n- debug: {var: other}\n")
        .file("site.yml", "- hosts: localhost\n  gather_facts: false\n  roles: [r]\n");
    assert_same_as_ansible(p.path(), "site.yml", &[]);
}
