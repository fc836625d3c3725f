//! Acceptance: orc resolves the fixture inventories exactly as ansible-inventory 2.19 does
//! (expected outputs generated with ansible-inventory, see tests/fixtures/inventory/README.md).

use std::path::{Path, PathBuf};

use orc::inventory::Inventory;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory").join(rel)
}

/// Sorts every list (recursively) so that comparisons ignore list order.
fn normalized(v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalized).collect();
            items.sort_by_key(|a| a.to_string());
            Value::Array(items)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normalized(v))).collect()),
        other => other.clone(),
    }
}

fn expected(rel: &str) -> Value {
    let text = std::fs::read_to_string(fixture(rel)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(rel: &str) -> Inventory {
    Inventory::load(&[fixture(rel)]).unwrap_or_else(|e| panic!("{}", e.report()))
}

fn assert_same(got: &Value, want: &Value) {
    let (g, w) = (normalized(got), normalized(want));
    if g != w {
        panic!(
            "orc:\n{}\nansible-inventory:\n{}",
            serde_json::to_string_pretty(&g).unwrap(),
            serde_json::to_string_pretty(&w).unwrap()
        );
    }
}

#[test]
fn ini_list_matches_ansible_inventory() {
    let inv = load("ini/hosts.ini");
    assert_same(&inv.list_json(), &expected("ini/expected_list.json"));
}

#[test]
fn yaml_list_matches_ansible_inventory() {
    let inv = load("yaml/hosts.yml");
    assert_same(&inv.list_json(), &expected("yaml/expected_list.json"));
}

#[test]
fn list_order_matches_too() {
    // ansible-inventory keeps hosts and children in inventory order; check it without sorting.
    for dir in ["ini", "yaml"] {
        let ext = if dir == "ini" { "ini" } else { "yml" };
        let inv = load(&format!("{dir}/hosts.{ext}"));
        assert_eq!(inv.list_json(), expected(&format!("{dir}/expected_list.json")), "{dir}");
    }
}

#[test]
fn graph_matches_ansible_inventory() {
    for (dir, ext) in [("ini", "ini"), ("yaml", "yml")] {
        let inv = load(&format!("{dir}/hosts.{ext}"));
        let want = std::fs::read_to_string(fixture(&format!("{dir}/expected_graph.txt"))).unwrap();
        assert_eq!(inv.graph(None).unwrap(), want.trim_end_matches('\n'), "{dir}");
    }
}

#[test]
fn graph_of_one_group() {
    let inv = load("ini/hosts.ini");
    assert_eq!(
        inv.graph(Some("prod")).unwrap(),
        "@prod:\n  |--@web:\n  |  |--web01\n  |  |--web03\n  |  |--web-x\n  |--@db:\n  |  |--db-a\n  |  |--db-b\n  |  |--db-c\n  |  |--db1\n  |  |--db2\n  |  |--db3"
    );
    assert!(inv.graph(Some("nope")).is_err());
}

#[test]
fn rendered_text_matches_ansible_byte_for_byte() {
    let inv = load("yaml/hosts.yml");
    let want = std::fs::read_to_string(fixture("yaml/expected_list.json")).unwrap();
    assert_eq!(orc::inventory::to_ansible_json(&inv.list_json()), want.trim_end_matches('\n'));
}

#[test]
fn host_json_and_magic_variables() {
    let inv = load("ini/hosts.ini");
    let want = expected("ini/expected_list.json");
    assert_eq!(inv.host_json("web01").unwrap(), want["_meta"]["hostvars"]["web01"]);
    assert!(inv.host_json("web*").is_err());
    assert_eq!(inv.group_names("web01"), ["cache", "prod", "stage", "web"]);
    assert_eq!(inv.group_names("bastion"), ["ungrouped"]);
    let vars = inv.host_vars("web01");
    assert_eq!(vars["inventory_file"], Value::String(fixture("ini/hosts.ini").to_string_lossy().into_owned()));
    let groups = inv.groups_var();
    assert_eq!(
        groups["prod"],
        serde_json::json!(["web01", "web03", "web-x", "db-a", "db-b", "db-c", "db1", "db2", "db3"])
    );
    assert_eq!(groups["all"].as_array().map(Vec::len), Some(11));
}

#[test]
fn several_sources_merge_in_order() {
    let inv = Inventory::load(&[fixture("ini/hosts.ini"), fixture("yaml/hosts.yml")]).unwrap();
    assert_eq!(inv.hosts().len(), 11 + 10);
    // group_vars of both directories apply; the later source's group_vars/all wins
    assert_eq!(inv.host_vars("bastion")["from_all_file"], serde_json::json!(1));
    assert_eq!(inv.host_vars("pg01")["dns"], serde_json::json!(["10.0.0.53"]));
}

#[test]
fn playbook_vars_dirs_rank_above_inventory_ones() {
    let mut inv = load("yaml/hosts.yml");
    let play = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(play.path().join("group_vars")).unwrap();
    std::fs::create_dir_all(play.path().join("host_vars")).unwrap();
    std::fs::write(play.path().join("group_vars/app.yml"), "port: 9999\nfrom_play: yes\n").unwrap();
    std::fs::write(play.path().join("host_vars/pg01.yml"), "version: '17'\n").unwrap();
    inv.add_playbook_vars_dirs(play.path()).unwrap();
    assert_eq!(inv.host_vars("app-c")["port"], serde_json::json!(9999));
    assert_eq!(inv.host_vars("app-c")["from_play"], serde_json::json!(true));
    // inventory group_vars/app_eu (deeper group) is applied before playbook group_vars/<group>
    assert_eq!(inv.host_vars("app-a")["port"], serde_json::json!(9999));
    assert_eq!(inv.host_vars("pg01")["version"], serde_json::json!("17"));
}

#[test]
fn directory_inventory_with_scripts_matches_ansible_inventory() {
    // every file but README.md, *.retry, *.orig, *~ and hidden ones; two executable scripts
    let inv = load("dir");
    assert_same(&inv.list_json(), &expected("dir_expected_list.json"));
}

#[test]
fn several_sources_match_ansible_inventory() {
    let inv = Inventory::load(&[fixture("ini/hosts.ini"), fixture("yaml/hosts.yml")]).unwrap();
    assert_same(&inv.list_json(), &expected("multi_expected_list.json"));
}

#[test]
fn host_list_source() {
    let inv = Inventory::load(&[PathBuf::from("h1.example.com,h2:2222,")]).unwrap();
    assert_eq!(inv.hosts(), ["h1.example.com", "h2"]);
    assert_eq!(inv.host_vars("h2")["ansible_port"], serde_json::json!(2222));
    assert_eq!(inv.host_vars("h2")["inventory_dir"], Value::Null);
    assert_eq!(inv.group_names("h1.example.com"), ["ungrouped"]);
    assert_eq!(inv.magic_vars("h1.example.com")["inventory_hostname_short"], "h1");
}

#[test]
fn implicit_localhost_only() {
    let inv = Inventory::implicit_localhost();
    assert!(inv.hosts().is_empty());
    assert!(inv.select("all").is_err());
    assert_eq!(inv.select("localhost").unwrap(), ["localhost"]);
    assert_eq!(inv.host_vars("localhost")["ansible_connection"], "local");
    assert_eq!(
        inv.list_json(),
        serde_json::json!({"_meta": {"hostvars": {}, "profile": "inventory_legacy"}, "all": {"children": ["ungrouped"]}})
    );
}

/// Loads `text` as an inventory file named `name` and returns the error report.
fn error_report(name: &str, text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    match Inventory::load(&[p]) {
        Ok(_) => panic!("{name} loaded without error:\n{text}"),
        Err(e) => e.report(),
    }
}

#[test]
fn bad_ini_host_line_names_file_line_col() {
    let r = error_report("hosts.ini", "[web]\nweb1 ok=1 oops\n");
    assert!(r.contains("hosts.ini:2:11"), "{r}");
    assert!(r.contains("Expected key=value host variable assignment, got: oops"), "{r}");
    assert!(r.contains("2 | web1 ok=1 oops"), "{r}");
    // `;` only starts a comment at the start of a line (as in Ansible)
    let r = error_report("hosts", "[cache]\ncache1 ; note\n");
    assert!(r.contains("hosts:2:8") && r.contains("got: ;"), "{r}");
}

#[test]
fn unknown_ini_section_names_file_line_col() {
    let r = error_report("hosts.ini", "[web]\nweb1\n\n  [web:hosts2]\n");
    assert!(r.contains("hosts.ini:4:8"), "{r}");
    assert!(r.contains("Section [web:hosts2] has unknown type: hosts2"), "{r}");
    let r = error_report("hosts.ini", "[web]\nweb1\n[db:vars]\nx=1\n");
    assert!(r.contains("hosts.ini:3:1") && r.contains("undefined group 'db'"), "{r}");
    let r = error_report("hosts.ini", "[prod:children]\nweb\n");
    assert!(r.contains("hosts.ini:2:1") && r.contains("includes undefined group 'web'"), "{r}");
    let r = error_report("hosts.ini", "[web]\nweb[01:3]\n");
    assert!(r.contains("hosts.ini:2:1") && r.contains("equal-length"), "{r}");
}

#[test]
fn bad_yaml_names_file_line_col() {
    let r = error_report("hosts.yml", "all:\n  hosts:\n    web1:\n      a: b: c\n");
    assert!(r.contains("hosts.yml:4:"), "{r}");
    assert!(r.contains("YAML syntax error"), "{r}");
    let r = error_report("hosts.yml", "all:\n  children:\n    web:\n      hosts: [a, b]\n");
    assert!(r.contains("hosts.yml:4:14"), "{r}");
    assert!(r.contains("Invalid \"hosts\" entry for \"web\" group"), "{r}");
}

#[test]
fn bad_vars_file_names_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hosts"), "web1\n").unwrap();
    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    std::fs::write(dir.path().join("group_vars/all.yml"), "a: 1\nb: [\n").unwrap();
    let e = Inventory::load(&[dir.path().join("hosts")]).unwrap_err().report();
    assert!(e.contains("all.yml:3:1") || e.contains("all.yml:2:"), "{e}");
    std::fs::write(dir.path().join("group_vars/all.yml"), "- a\n- b\n").unwrap();
    let e = Inventory::load(&[dir.path().join("hosts")]).unwrap_err().report();
    assert!(e.contains("all.yml:1:1") && e.contains("must contain a mapping"), "{e}");
}

#[test]
fn missing_source_is_an_error() {
    let e = Inventory::load(&[PathBuf::from("/nonexistent/inventory")]).unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[test]
fn list_restricted_by_limit() {
    let inv = load("ini/hosts.ini");
    let hosts = inv.limit(inv.hosts(), "db[0:1],bastion").unwrap();
    assert_eq!(hosts, ["bastion", "db-a", "db-b"]);
    let v = inv.list_json_for(&hosts);
    assert_eq!(v["db"]["hosts"], serde_json::json!(["db-a", "db-b"]));
    assert!(v.get("web").is_none());
    assert_eq!(v["prod"]["children"], serde_json::json!(["web", "db"]));
    let mut names: Vec<&String> = v["_meta"]["hostvars"].as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(names, ["bastion", "db-a", "db-b"]);
}

#[test]
fn export_list_matches_ansible_inventory() {
    let inv = load("ini/hosts.ini");
    assert_same(&inv.list_json_export(), &expected("ini/expected_export.json"));
}
