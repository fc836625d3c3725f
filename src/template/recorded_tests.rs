//! Replays expressions whose results were recorded from ansible-core 2.19 (`testdata/`): the
//! rendered value (or the condition's outcome) must be the same, and where Ansible failed, orc
//! must fail too.

use super::*;

#[test]
fn results_match_recorded_ansible_outputs() {
    let data: serde_json::Value = serde_json::from_str(include_str!("testdata/ansible_2_19.json")).unwrap();
    let t = Templar::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for group in data["groups"].as_array().unwrap() {
        let vars = context(group["vars"].as_object().unwrap());
        for case in group["cases"].as_array().unwrap() {
            count += 1;
            let expr = case["expr"].as_str().unwrap();
            let got = match case["kind"].as_str().unwrap() {
                "condition" => t.eval_condition(expr, &vars).map(serde_json::Value::Bool),
                _ => t.render_str(expr, &vars),
            };
            let ok = match (&got, case.get("value")) {
                (Ok(g), Some(expected)) => g == expected,
                (Err(_), None) => true,
                _ => false,
            };
            if !ok {
                failures.push(format!("{expr:?}: ansible {case}, orc {got:?}"));
            }
        }
    }
    assert!(count > 200, "only {count} recorded cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
