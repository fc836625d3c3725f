//! Which strings orc trusts as templates, as Ansible 2.19's `TrustedAsTemplate` data tag says:
//! the `ansible._protomatter.tagged_with` test and the `ansible._protomatter.tag_names` filter.
//!
//! orc has no tags on values. Its trust model is where a value comes from: a variable written in
//! the playbook, the inventory, a vars file or on the command line is a template (rendered when
//! used); data a host returned (registered module results, facts) and strings a template made
//! are not, and are never rendered (src/vars.rs, `Context::is_data`). A string is answered
//! "trusted" when the variable context handed it out unchanged from a trusted place.
//!
//! A minijinja string carries nothing besides its text, so a trusted string is given to
//! templates in an allocation of its own (`Arc<str>`), whose address is recorded here; the test
//! looks its argument's address up. Anything a template computes (a literal, a filter's result,
//! a rendered variable) is another allocation, hence untrusted, as in Ansible, where templating
//! makes new, untagged strings. Recording costs an allocation per string read, so it starts only
//! once a template uses one of these plugins ([`note_source`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use minijinja::value::{Value, ValueKind};

use super::has_template_syntax;

/// The tag Ansible puts on strings it may render as templates.
pub const TRUSTED_AS_TEMPLATE: &str = "TrustedAsTemplate";

/// Ansible 2.19's tag names (`_datatag._known_tag_type_map`): orc answers `TrustedAsTemplate`
/// from its trust model and never finds the others, which it does not track (docs/differences.md).
const KNOWN_TAGS: &[&str] =
    &["Deprecated", "Origin", "SourceWasEncrypted", TRUSTED_AS_TEMPLATE, "VaultedValue", "_JinjaConstTemplate"];

/// Set once a template source uses the plugins of this file: from then on trusted strings are
/// recorded.
static TRACKING: AtomicBool = AtomicBool::new(false);

/// The trusted strings handed out, by the address of their text. A `Weak` keeps the allocation
/// (not the string's owners) alive, so no other string can take that address while it is here.
struct Registry {
    live: HashMap<usize, Weak<str>>,
    prune_at: usize,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

/// Whether trusted strings are being recorded (a template asked about tags).
pub fn tracking() -> bool {
    TRACKING.load(Ordering::Relaxed)
}

/// Called with every template source compiled: one that uses `ansible._protomatter` plugins
/// starts the recording, before any of its variables is read.
pub(crate) fn note_source(source: &str) {
    if !tracking() && source.contains("_protomatter") {
        TRACKING.store(true, Ordering::Relaxed);
    }
}

/// The string `s` as a trusted value: its own allocation, recorded.
fn trusted_str(s: &str) -> Value {
    if s.is_empty() {
        // An empty string has no text to tell apart by address.
        return Value::from("");
    }
    let arc: Arc<str> = Arc::from(s);
    if let Ok(mut guard) = REGISTRY.lock() {
        let reg = guard.get_or_insert_with(|| Registry { live: HashMap::new(), prune_at: 1024 });
        reg.live.insert(arc.as_ptr() as usize, Arc::downgrade(&arc));
        if reg.live.len() >= reg.prune_at {
            // Strings no value holds any more can no longer be asked about.
            reg.live.retain(|_, w| w.strong_count() > 0);
            reg.prune_at = (reg.live.len() * 2).max(1024);
        }
    }
    Value::from(arc)
}

/// Whether `v` is a string the variable context handed out as trusted ([`mark`]).
pub fn is_trusted(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    if s.is_empty() {
        return false;
    }
    let Ok(guard) = REGISTRY.lock() else { return false };
    guard
        .as_ref()
        .and_then(|reg| reg.live.get(&(s.as_ptr() as usize)))
        .and_then(Weak::upgrade)
        .is_some_and(|arc| arc.len() == s.len())
}

/// `value` (the variable whose raw value is `raw`, rendered or not) with its strings that are
/// `raw`'s own text, unchanged and not templates, made trusted. Strings a template produced
/// (where `raw` held template syntax) stay untrusted.
pub fn mark(raw: &serde_json::Value, value: &Value) -> Value {
    match raw {
        serde_json::Value::String(s) if !has_template_syntax(s) && value.as_str() == Some(s.as_str()) => trusted_str(s),
        serde_json::Value::Object(map) if value.kind() == ValueKind::Map => {
            let Ok(keys) = value.try_iter() else { return value.clone() };
            let pairs: Vec<(Value, Value)> = keys
                .map(|k| {
                    let item = value.get_item(&k).unwrap_or_default();
                    let raw_item = k.as_str().filter(|k| !has_template_syntax(k)).and_then(|k| map.get(k));
                    let item = match raw_item {
                        Some(r) => mark(r, &item),
                        None => item,
                    };
                    (k, item)
                })
                .collect();
            Value::from_pairs(pairs)
        }
        serde_json::Value::Array(items) if value.kind() == ValueKind::Seq && value.len() == Some(items.len()) => {
            let Ok(values) = value.try_iter() else { return value.clone() };
            values.zip(items).map(|(v, r)| mark(r, &v)).collect()
        }
        _ => value.clone(),
    }
}

/// [`mark`] applied to the part of `value` at `path` (keys of nested maps) only: the trusted
/// part of a variable that is otherwise data (a registered `set_fact` result's `ansible_facts`).
pub fn mark_at(raw: &serde_json::Value, value: &Value, path: &[String]) -> Value {
    let Some((first, rest)) = path.split_first() else { return mark(raw, value) };
    let (Some(raw_item), true) = (raw.get(first.as_str()), value.kind() == ValueKind::Map) else {
        return value.clone();
    };
    let Ok(keys) = value.try_iter() else { return value.clone() };
    let pairs: Vec<(Value, Value)> = keys
        .map(|k| {
            let item = value.get_item(&k).unwrap_or_default();
            let item = if k.as_str() == Some(first.as_str()) { mark_at(raw_item, &item, rest) } else { item };
            (k, item)
        })
        .collect();
    Value::from_pairs(pairs)
}

/// `value is ansible._protomatter.tagged_with(name)`.
pub(crate) fn tagged_with(value: &Value, name: &str) -> Result<bool, minijinja::Error> {
    if !KNOWN_TAGS.contains(&name) {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("The test plugin 'ansible._protomatter.tagged_with' failed: Unknown tag name '{name}'."),
        ));
    }
    Ok(name == TRUSTED_AS_TEMPLATE && is_trusted(value))
}

/// `value | ansible._protomatter.tag_names`: the tags orc knows on the value.
pub(crate) fn tag_names(value: &Value) -> Vec<String> {
    if is_trusted(value) {
        vec![TRUSTED_AS_TEMPLATE.to_string()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn on() {
        TRACKING.store(true, Ordering::Relaxed);
    }

    #[test]
    fn raw_text_is_trusted_and_what_a_template_made_is_not() {
        on();
        let raw = json!({"plain": "bar", "tpl": "{{ x }}", "n": 3, "l": ["a", "{{ y }}"], "{{ k }}": "v"});
        let rendered = Value::from(minijinja::value::Serde(
            json!({"plain": "bar", "tpl": "x", "n": 3, "l": ["a", "y"], "k": "v"}),
        ));
        let v = mark(&raw, &rendered);
        let at = |k: &str| v.get_item(&Value::from(k)).unwrap_or_default();
        assert!(is_trusted(&at("plain")));
        assert!(!is_trusted(&at("tpl")), "a rendered template is a new string");
        assert!(!is_trusted(&at("n")), "only strings carry the tag");
        assert!(!is_trusted(&at("k")), "under a templated key");
        let l = at("l");
        assert!(is_trusted(&l.get_item(&Value::from(0)).unwrap_or_default()));
        assert!(!is_trusted(&l.get_item(&Value::from(1)).unwrap_or_default()));
        // The same text made by a template (a literal) is another string.
        assert!(!is_trusted(&Value::from("bar")));
        assert!(!is_trusted(&Value::from("a long string, longer than twenty-two bytes")));
        // Unchanged values keep their structure and order.
        assert_eq!(v.to_string(), rendered.to_string());
    }

    #[test]
    fn only_the_trusted_part_of_data_is_marked() {
        on();
        let raw = json!({"ansible_facts": {"foo": "bar"}, "stdout": "bar"});
        let v = mark_at(&raw, &Value::from(minijinja::value::Serde(&raw)), &["ansible_facts".to_string()]);
        let facts = v.get_item(&Value::from("ansible_facts")).unwrap_or_default();
        assert!(is_trusted(&facts.get_item(&Value::from("foo")).unwrap_or_default()));
        assert!(!is_trusted(&v.get_item(&Value::from("stdout")).unwrap_or_default()));
    }

    #[test]
    fn unknown_tag_names_are_an_error() {
        let err = tagged_with(&Value::from("x"), "Bogus").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("Unknown tag name 'Bogus'."), "{err}");
        assert_eq!(tagged_with(&Value::from("x"), "Origin").ok(), Some(false));
    }
}
