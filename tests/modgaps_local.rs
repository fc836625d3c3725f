//! Module gaps closed for issue 11, on localhost and compared with ansible-playbook: the
//! `template` module's Jinja options (`trim_blocks`, `lstrip_blocks`, the delimiters,
//! `newline_sequence`, `output_encoding`, a `#jinja2:` first line), the `template_*` variables,
//! and `command`'s ignored `executable`.

mod common;

use common::ansible::run_both;
use common::Project;

/// Writes `rel` under `dir` byte for byte (no unindenting: CRLF and trailing blank lines stay).
fn raw(dir: &std::path::Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Runs `playbook` with ansible-playbook and orc; both must succeed and agree on output and files.
#[track_caller]
fn same_as_ansible_and_ok(dir: &std::path::Path, playbook: &str) {
    let (ansible, orc) = run_both(dir, playbook, &[]);
    assert_eq!(ansible.code, Some(0), "ansible-playbook failed: {ansible:#?}");
    assert_eq!(ansible, orc, "orc differs from ansible-playbook on {playbook}");
}

const TEMPLATES: &str = r###"
- hosts: localhost
  gather_facts: false
  vars:
    multi: "m1\nm2"
    who: bob
  tasks:
    - file: {path: "{{ playbook_dir }}/out", state: directory}
    - template: {src: nl.j2, dest: "{{ playbook_dir }}/out/nl-crlf.txt", newline_sequence: "\r\n"}
    - template: {src: nl.j2, dest: "{{ playbook_dir }}/out/nl-cr.txt", newline_sequence: '\r'}
    - template: {src: nl.j2, dest: "{{ playbook_dir }}/out/nl-lstrip.txt", lstrip_blocks: true}
    - template: {src: nl.j2, dest: "{{ playbook_dir }}/out/nl-notrim.txt", trim_blocks: false}
    - template: {src: header.j2, dest: "{{ playbook_dir }}/out/header.txt"}
    - template: {src: header-nl.j2, dest: "{{ playbook_dir }}/out/header-nl.txt"}
    - template:
        src: delim.j2
        dest: "{{ playbook_dir }}/out/delim.txt"
        variable_start_string: "<<"
        variable_end_string: ">>"
        block_start_string: "<%"
        block_end_string: "%>"
        comment_start_string: "##"
        comment_end_string: "##"
    - template: {src: crlf.j2, dest: "{{ playbook_dir }}/out/crlf.txt"}
    - template: {src: crlf-plain.j2, dest: "{{ playbook_dir }}/out/crlf-plain.txt", newline_sequence: "\r"}
    - template: {src: enc.j2, dest: "{{ playbook_dir }}/out/enc-latin1.txt", output_encoding: latin-1}
    - template: {src: enc.j2, dest: "{{ playbook_dir }}/out/enc-utf16.txt", output_encoding: utf-16}
    - template: {src: vars.j2, dest: "{{ playbook_dir }}/out/vars.txt"}
    - template: {src: vars.j2, dest: "{{ playbook_dir }}/out/vars-managed.txt"}
      vars: {ansible_managed: mine}
    - template: {src: enc.j2, dest: "{{ playbook_dir }}/out/enc-latin1.txt", output_encoding: latin-1}
      register: again
      failed_when: again is changed
"###;

#[test]
fn template_jinja_options_write_what_ansible_writes() {
    let p = Project::new().file("site.yml", TEMPLATES);
    let d = p.path();
    raw(
        d,
        "templates/nl.j2",
        b"a\n{% if true %}\n{{ multi }}\n{% endif %}\n  {% for x in [1,2] %}\n  x={{ x }}\n  {% endfor %}\nend\n\n",
    );
    raw(
        d,
        "templates/header.j2",
        b"#jinja2: variable_start_string: '[[', variable_end_string: ']]', trim_blocks: False\nv=[[ who ]] {{ who }}\n{% if true %}\nyes\n{% endif %}\n",
    );
    raw(d, "templates/header-nl.j2", b"#jinja2: newline_sequence: '\\r\\n'\n{{ who }}\nx\n\n");
    raw(d, "templates/delim.j2", b"v=<< who >> {{ who }} <% if true %>ok<% endif %> {#c#} ##c##\n");
    raw(d, "templates/crlf.j2", b"crlf {{ who }}\r\nline2\r\n");
    // No template syntax at all: Ansible copies it as it is, newline_sequence or not.
    raw(d, "templates/crlf-plain.j2", b"crlf\r\nline2\r\n");
    raw(d, "templates/enc.j2", "caf\u{e9} {{ who }}\n".as_bytes());
    raw(d, "templates/vars.j2", b"{{ template_path }}|{{ template_destpath | basename }}|{{ ansible_managed }}\n");
    same_as_ansible_and_ok(d, "site.yml");
}

#[test]
fn template_option_errors_stop_the_task_as_in_ansible() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - template: {src: t.j2, dest: "{{ playbook_dir }}/out.txt", output_encoding: ascii}
              ignore_errors: true
            - template: {src: bad-header.j2, dest: "{{ playbook_dir }}/out2.txt"}
        "#,
    );
    raw(p.path(), "templates/t.j2", "{{ '\u{20ac}' }}\n".as_bytes());
    raw(p.path(), "templates/bad-header.j2", b"#jinja2: colour: True\nx {{ 1 }}\n");
    let out = p.play("site.yml").run().code(2);
    assert!(out.stdout.contains("'ascii' codec can't encode character '\\\\u20ac' in position 0"), "{out}");
    assert!(out.stdout.contains("Invalid '#jinja2:' override key 'colour'"), "{out}");
    assert!(!p.join("out.txt").exists() && !p.join("out2.txt").exists());
}

#[test]
fn command_ignores_executable_with_ansibles_warning() {
    let p = Project::new().file(
        "site.yml",
        r#"
        - hosts: localhost
          gather_facts: false
          tasks:
            - command: echo "$0"
              args: {executable: /bin/bash}
              register: r
              failed_when: r.stdout != '$0'
            - shell: echo "${BASH_VERSION:+bash}"
              args: {executable: /bin/bash}
              register: s
              failed_when: s.stdout != 'bash'
        "#,
    );
    let out = p.play("site.yml").run().success();
    assert!(
        out.stderr.contains(
            "the parameter 'executable' is no longer supported with the 'command' module. Not using '/bin/bash'."
        ),
        "{out}"
    );
    same_as_ansible_and_ok(p.path(), "site.yml");
}
