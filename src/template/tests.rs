//! Ansible's Jinja tests: task result tests (`changed`, `failed`, `succeeded`, `skipped`...),
//! regular expressions, versions, truthiness, set relations and controller paths.

use std::path::Path;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::filters::err;
use super::{regexes, version};

/// Registers every Ansible test on `env` (minijinja's builtins cover `defined`, `none`, `string`,
/// `number`, `mapping`, `iterable`, `sequence`, `boolean`, `integer`, `float`, `in`...).
pub(crate) fn register(env: &mut Environment<'static>) {
    test!(env, "changed", changed);
    // ansible-core's internal collection: which data tags a value carries (src/template/trust.rs).
    env.add_test("ansible._protomatter.tagged_with", |v: &Value, name: String| super::trust::tagged_with(v, &name));
    test!(env, "change", changed);
    test!(env, "failed", |r: &Value| result_flag(r, "failed"));
    test!(env, "failure", |r: &Value| result_flag(r, "failed"));
    test!(env, "succeeded", |r: &Value| { result_flag(r, "failed").map(|f| !f) });
    test!(env, "success", |r: &Value| result_flag(r, "failed").map(|f| !f));
    test!(env, "successful", |r: &Value| { result_flag(r, "failed").map(|f| !f) });
    test!(env, "skipped", |r: &Value| result_flag(r, "skipped"));
    test!(env, "skip", |r: &Value| result_flag(r, "skipped"));
    test!(env, "unreachable", |r: &Value| result_flag(r, "unreachable"));
    test!(env, "reachable", |r: &Value| { result_flag(r, "unreachable").map(|f| !f) });
    test!(env, "finished", |r: &Value| result_flag_default(r, "finished"));
    test!(env, "started", |r: &Value| result_flag_default(r, "started"));
    test!(env, "match", |v: &Value, p: String, k: Kwargs| { regex_kw(v, &p, k, true) });
    test!(env, "search", |v: &Value, p: String, k: Kwargs| { regex_kw(v, &p, k, false) });
    test!(env, "regex", regex);
    test!(env, "version", version::version_test);
    test!(env, "version_compare", version::version_test);
    test!(env, "truthy", |v: &Value, k: Kwargs| truthy(v, k));
    test!(env, "falsy", |v: &Value, k: Kwargs| truthy(v, k).map(|t| !t));
    test!(env, "contains", contains);
    // Jinja: anything with a length and item access (lists, dicts, strings).
    test!(env, "sequence", |v: &Value| {
        matches!(v.kind(), ValueKind::Seq | ValueKind::Map | ValueKind::String | ValueKind::Bytes)
    });
    test!(env, "subset", |a: &Value, b: &Value| subset(a, b));
    test!(env, "issubset", |a: &Value, b: &Value| subset(a, b));
    test!(env, "superset", |a: &Value, b: &Value| subset(b, a));
    test!(env, "issuperset", |a: &Value, b: &Value| subset(b, a));
    test!(env, "abs", |p: String| Path::new(&p).is_absolute());
    test!(env, "exists", |p: String| Path::new(&p).exists());
    test!(env, "file", |p: String| Path::new(&p).is_file());
    test!(env, "is_file", |p: String| Path::new(&p).is_file());
    test!(env, "directory", |p: String| Path::new(&p).is_dir());
    test!(env, "is_dir", |p: String| Path::new(&p).is_dir());
    test!(env, "link", |p: String| Path::new(&p).is_symlink());
    // `vault_encrypted`: the value of an inline `!vault` scalar (src/secrets/run_keyring.rs).
    test!(env, "vault_encrypted", |v: &Value| v.as_str().is_some_and(crate::secrets::is_vaulted));
    test!(env, "vaulted_file", vaulted_file);
    test!(env, "timedout", timedout);
    test!(env, "is_link", |p: String| Path::new(&p).is_symlink());
}

/// `vaulted_file`: the file at the path is vault-encrypted (ansible/plugins/test/core.py).
fn vaulted_file(p: String) -> Result<bool, Error> {
    use std::io::Read;
    let mut head = Vec::new();
    std::fs::File::open(&p)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| err(format!("Cannot test if the file '{p}' is a vault: {e}")))?;
    Ok(crate::vault::is_encrypted(&head))
}

/// `timedout`: the task ran out of its `timeout:` (a `timedout` entry with a period).
fn timedout(r: &Value) -> Result<bool, Error> {
    require_map(r, "timedout")?;
    let Ok(t) = r.get_attr("timedout") else { return Ok(false) };
    if !t.is_true() {
        return Ok(false);
    }
    Ok(t.get_attr("period").is_ok_and(|p| p.is_true()))
}

/// Checks that a task result is a dictionary, as Ansible's result tests require.
fn require_map(r: &Value, test: &str) -> Result<(), Error> {
    if r.kind() != ValueKind::Map {
        return Err(err(format!("The '{test}' test expects a dictionary")));
    }
    Ok(())
}

/// `result[flag]` is truthy.
fn result_flag(r: &Value, flag: &str) -> Result<bool, Error> {
    require_map(r, flag)?;
    Ok(r.get_attr(flag).map(|v| v.is_true()).unwrap_or(false))
}

/// `result[flag]` is truthy, or true when the result has no such key (non-async tasks).
fn result_flag_default(r: &Value, flag: &str) -> Result<bool, Error> {
    require_map(r, flag)?;
    match r.get_attr(flag) {
        Ok(v) if !v.is_undefined() => Ok(v.is_true()),
        _ => Ok(true),
    }
}

/// `changed`: the result's `changed`, or any changed item of a loop's `results`.
fn changed(r: &Value) -> Result<bool, Error> {
    require_map(r, "changed")?;
    let flag = r.get_attr("changed")?;
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let results = r.get_attr("results")?;
    if results.kind() == ValueKind::Seq {
        for item in results.try_iter()? {
            if item.kind() == ValueKind::Map && item.get_attr("changed")?.is_true() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn regex_kw(v: &Value, pattern: &str, kwargs: Kwargs, anchored: bool) -> Result<bool, Error> {
    let result = regexes::regex_test(v, pattern, &kwargs, anchored);
    kwargs.assert_all_used()?;
    result
}

/// `regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
fn regex(v: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let match_type: Option<String> = kwargs.get("match_type")?;
    let anchored = match match_type.as_deref() {
        None | Some("search") => false,
        Some("match") => true,
        Some(other) => return Err(err(format!("regex: match_type must be 'search' or 'match', got '{other}'"))),
    };
    regex_kw(v, &pattern, kwargs, anchored)
}

/// `truthy(convert_bool=False)`: Python truthiness, optionally reading "yes"/"off" as booleans.
fn truthy(v: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert: Option<bool> = kwargs.get("convert_bool")?;
    kwargs.assert_all_used()?;
    if convert.unwrap_or(false) {
        if let Some(s) = v.as_str() {
            match s.to_lowercase().as_str() {
                "yes" | "on" | "true" | "1" | "y" | "t" => return Ok(true),
                "no" | "off" | "false" | "0" | "n" | "f" => return Ok(false),
                _ => {}
            }
        }
    }
    Ok(v.is_true())
}

/// `seq is contains(item)`.
fn contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    Ok(match seq.kind() {
        ValueKind::String => match (seq.as_str(), item.as_str()) {
            (Some(s), Some(i)) => s.contains(i),
            _ => false,
        },
        _ => seq.try_iter()?.any(|x| &x == item),
    })
}

/// Every item of `a` is in `b`.
fn subset(a: &Value, b: &Value) -> Result<bool, Error> {
    let b: Vec<Value> = b.try_iter()?.collect();
    for x in a.try_iter()? {
        if !b.contains(&x) {
            return Ok(false);
        }
    }
    Ok(true)
}
