//! Small helpers the `docker_*` modules (other than docker_container) share: Ansible filter
//! dicts in the Engine API's filter form, community.docker's label rules, list record columns.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// An Ansible `*_filters` dict as the Engine API wants it (community.docker's `convert_filters`):
/// each value becomes a list of strings; booleans are `true`/`false`; a list keeps its items.
pub fn api_filters(filters: Option<&Map<String, Value>>) -> Option<HashMap<String, Vec<String>>> {
    let filters = filters?;
    let one = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    Some(
        filters
            .iter()
            .map(|(k, v)| {
                let items = match v {
                    Value::Array(items) => items.iter().map(one).collect(),
                    other => vec![one(other)],
                };
                (k.clone(), items)
            })
            .collect(),
    )
}

/// `filters` as a query parameter (`{sep}filters=...`), or nothing when there are none.
pub fn filters_query(sep: &str, filters: Option<&Map<String, Value>>) -> String {
    match api_filters(filters) {
        Some(f) if !f.is_empty() => {
            let json = serde_json::to_string(&f).unwrap_or_default();
            format!("{sep}filters={}", crate::docker::raw::query_escape(&json))
        }
        _ => String::new(),
    }
}

/// Labels as community.docker's `sanitize_labels` accepts them: strings, and integers turned into
/// strings; a boolean or a float is an error naming the key (YAML `yes` or `1.0` would not survive
/// the round trip as the user meant it).
pub fn sanitize_labels(labels: &Map<String, Value>, field: &str) -> Result<Map<String, Value>, String> {
    labels
        .iter()
        .map(|(k, v)| match v {
            Value::String(_) => Ok((k.clone(), v.clone())),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok((k.clone(), Value::String(n.to_string()))),
            other => Err(format!(
                "The value {other} for '{k}' of {field} is not a string or something than can be safely converted to a string!"
            )),
        })
        .collect()
}

/// Keeps only `keys` of a JSON object (community.docker's non-verbose list records), in that
/// order, with null for the keys the object lacks.
pub fn pick(item: &Value, keys: &[&str]) -> Value {
    let mut out = Map::new();
    for k in keys {
        out.insert((*k).to_string(), item.get(*k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// A digest of `v` that ignores the order of object keys (the daemon's JSON keeps its own order),
/// so a two-phase module's `observed` names compared settings by one stable value.
pub fn digest(v: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let text = serde_json::to_vec(&canonical(v)).unwrap_or_default();
    crate::fileops::sha1_hex(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_become_string_lists() {
        let m = json!({"dangling": true, "label": ["a=b", "c"], "until": 24}).as_object().cloned().unwrap();
        let f = api_filters(Some(&m)).unwrap();
        assert_eq!(f["dangling"], vec!["true"]);
        assert_eq!(f["label"], vec!["a=b", "c"]);
        assert_eq!(f["until"], vec!["24"]);
        assert!(api_filters(None).is_none());
    }

    #[test]
    fn labels_must_be_strings() {
        let ok = json!({"a": "x", "b": 2}).as_object().cloned().unwrap();
        assert_eq!(Value::Object(sanitize_labels(&ok, "labels").unwrap()), json!({"a": "x", "b": "2"}));
        let bad = json!({"a": true}).as_object().cloned().unwrap();
        assert!(sanitize_labels(&bad, "labels").unwrap_err().contains("'a' of labels"));
    }

    #[test]
    fn pick_keeps_listed_keys() {
        let v = pick(&json!({"Id": "x", "Name": "n", "Other": 1}), &["Id", "Name", "Driver"]);
        assert_eq!(v, json!({"Id": "x", "Name": "n", "Driver": null}));
    }

    #[test]
    fn digest_ignores_key_order() {
        let a = serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": null}});
        let b = serde_json::json!({"b": {"y": null, "x": [1, 2]}, "a": 1});
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(digest(&a), digest(&serde_json::json!({"a": 2, "b": {"x": [1, 2], "y": null}})));
    }
}
