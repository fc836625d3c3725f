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
