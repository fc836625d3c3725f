//! What differs between the container and the task (community.docker's `DifferenceTracker`),
//! and its text form for diff mode: one `key: value` line per differing setting on each side, so
//! the printer's unified diff shows exactly what changes (`image`, `env`, `published_ports`...).

use serde_json::{json, Value};

use crate::contract::FileDiff;

/// One differing setting: what the task wants (`parameter`) and what is there (`active`).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Setting name (`image`, `env`, `exists`, `running`, `network.NAME`...).
    pub name: String,
    /// The task's value.
    pub parameter: Value,
    /// The container's value.
    pub active: Value,
}

/// An ordered list of differences.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Differences {
    /// The differences, in the order found.
    pub items: Vec<Difference>,
}

impl Differences {
    /// Records one difference.
    pub fn add(&mut self, name: &str, parameter: Value, active: Value) {
        self.items.push(Difference { name: name.to_string(), parameter, active });
    }

    /// Appends another tracker's differences.
    pub fn merge(&mut self, other: &Differences) {
        self.items.extend(other.items.iter().cloned());
    }

    /// True when nothing differs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The names of the differing settings.
    pub fn names(&self) -> Vec<String> {
        self.items.iter().map(|d| d.name.clone()).collect()
    }

    /// community.docker's legacy `differences` list: `[{name: {parameter, container}}]`.
    pub fn legacy(&self) -> Value {
        Value::Array(
            self.items
                .iter()
                .map(|d| json!({ d.name.clone(): {"parameter": d.parameter, "container": d.active} }))
                .collect(),
        )
    }

    /// The before/after texts for diff mode, headed by the container's name.
    pub fn file_diff(&self, container: &str) -> FileDiff {
        let mut before = String::new();
        let mut after = String::new();
        for d in &self.items {
            before.push_str(&format!("{}: {}\n", d.name, render(&d.active)));
            after.push_str(&format!("{}: {}\n", d.name, render(&d.parameter)));
        }
        FileDiff {
            before_header: format!("container {container}"),
            after_header: format!("container {container}"),
            before,
            after,
        }
    }
}

/// A value on one line: strings bare, null as `null`, the rest as compact JSON.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_list_only_differing_settings() {
        let mut d = Differences::default();
        d.add("image", json!("sha256:2"), json!("sha256:1"));
        d.add("env", json!(["A=2"]), json!(["A=1"]));
        let f = d.file_diff("web");
        assert_eq!(f.before, "image: sha256:1\nenv: [\"A=1\"]\n");
        assert_eq!(f.after, "image: sha256:2\nenv: [\"A=2\"]\n");
        assert_eq!(f.before_header, "container web");
        assert_eq!(d.legacy()[0]["image"]["container"], "sha256:1");
    }
}
