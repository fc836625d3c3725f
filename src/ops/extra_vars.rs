//! `-e` values: `k=v` pairs, `@file` (YAML or JSON), or inline JSON/YAML.

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{OrcError, Result};
use crate::vars::merge;

/// Merges every `-e` value in order (later ones win).
pub fn parse_all(values: &[String]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for v in values {
        merge(&mut out, &parse_one(v)?);
    }
    Ok(out)
}

fn parse_one(v: &str) -> Result<Map<String, Value>> {
    let trimmed = v.trim();
    if let Some(file) = trimmed.strip_prefix('@') {
        let node = crate::yaml::load_file(Path::new(file))?;
        return match node.to_value() {
            Value::Object(m) => Ok(m),
            Value::Null => Ok(Map::new()),
            _ => Err(OrcError::at(&node.loc, "extra vars file must be a mapping of names to values")),
        };
    }
    if trimmed.starts_with('{') {
        let node = crate::yaml::parse_str("--extra-vars", trimmed)?;
        return match node.to_value() {
            Value::Object(m) => Ok(m),
            _ => Err(OrcError::Usage(format!("--extra-vars '{v}' is not a mapping"))),
        };
    }
    let m =
        crate::playbook::parse_kv(trimmed, false).map_err(|e| OrcError::Usage(format!("--extra-vars '{v}': {e}")))?;
    if m.contains_key("_raw_params") || m.is_empty() {
        return Err(OrcError::Usage(format!("--extra-vars '{v}': expected key=value pairs, @file or a JSON object")));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms() {
        assert_eq!(
            Value::Object(parse_all(&["a=1 b='x y'".into()]).unwrap_or_default()),
            json!({"a": "1", "b": "x y"})
        );
        assert_eq!(
            Value::Object(parse_all(&[r#"{"a": 1, "b": [1]}"#.into()]).unwrap_or_default()),
            json!({"a": 1, "b": [1]})
        );
        assert_eq!(Value::Object(parse_all(&["a=1".into(), "a=2".into()]).unwrap_or_default()), json!({"a": "2"}));
        assert!(parse_all(&["novalue".into()]).is_err());
    }
}
