//! Acceptance: orc resolves the fixture inventories exactly as ansible-inventory 2.19 does
//! (expected outputs generated with ansible-inventory, see tests/fixtures/inventory/README.md).

use std::path::{Path, PathBuf};

use orc::inventory::Inventory;
use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/inventory")
        .join(rel)
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
    assert_eq!(
        orc::inventory::to_ansible_json(&inv.list_json()),
        want.trim_end_matches('\n')
    );
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
    assert_eq!(
        vars["inventory_file"],
        Value::String(fixture("ini/hosts.ini").to_string_lossy().into_owned())
    );
    let groups = inv.groups_var();
    assert_eq!(groups["prod"], serde_json::json!(["web01", "web03", "web-x", "db-a", "db-b", "db-c", "db1", "db2", "db3"]));
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
