//! `validate_argument_spec`: checks variables against an argument spec, as Ansible's action of
//! that name and its `ArgumentSpecValidator` (module_utils/common/arg_spec.py, parameters.py,
//! validation.py) do, with their messages. A role's `meta/argument_specs.yml` becomes such a task
//! in front of the role's tasks (playbook/roles.rs), so a role is checked when it starts.
//!
//! The values checked are the variables named in the spec, as the task sees them (rendered),
//! with `provided_arguments` (a `roles:` entry's parameters) over them. What is checked, in
//! Ansible's order: aliases, unknown names, required names, types (with their conversions:
//! `str`, `int`, `float`, `bool`, `list`, `dict`, `path`, `raw`, `json`/`jsonarg`, `bytes`,
//! `bits`, and `elements` of a list), `choices`, then the `options` of dicts (and lists of dicts)
//! the same way, recursively. Defaults fill what is missing before the nested options are
//! checked. `mutually_exclusive`, `required_if` and the other cross-option checks are not read.

use serde_json::{json, Map, Value};

use super::{fail, ActionResult, Arg, Call, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `validate_argument_spec: argument_spec=... provided_arguments=...`.
#[derive(Debug)]
pub struct ValidateArgumentSpec;

const ARGS: &[Arg] = &[
    (
        "argument_spec",
        true,
        "The spec: option name to its `type`, `required`, `default`, `choices`, `elements`, `options`, `aliases`.",
    ),
    ("provided_arguments", false, "Values checked over the variables of the same names."),
    (
        "validate_args_context",
        false,
        "Returned as it is, to say what was validated (a role's name, entry point and path).",
    ),
];

impl EngineAction for ValidateArgumentSpec {
    fn name(&self) -> &'static str {
        "validate_argument_spec"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Checks variables against an argument spec (what a role's meta/argument_specs.yml does when the role starts).",
            notes: "The variables named in the spec are checked as the task sees them, `provided_arguments` over them: required names, types (converted as Ansible converts them), choices and nested options. A failure lists every error in `argument_errors`.",
            returns: &[
                ("argument_errors", "The errors, when the check failed."),
                ("argument_spec_data", "The spec, when the check failed."),
                ("validate_args_context", "The context given."),
            ],
            example: "- ansible.builtin.validate_argument_spec:\n    argument_spec:\n      port: {type: int, required: true}\n",
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let context = call.args.get("validate_args_context").cloned().unwrap_or_else(|| json!({}));
        let spec = match call.args.get("argument_spec") {
            Some(Value::Object(spec)) => spec.clone(),
            Some(other) => {
                return Err(fail(format!(
                    "Incorrect type for argument_spec, expected dict and got {}",
                    py_class(other)
                )))
            }
            None => return Err(fail("\"argument_spec\" arg is required in args")),
        };
        let provided = match call.args.get("provided_arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(p)) => p.clone(),
            Some(other) => {
                return Err(fail(format!(
                    "Incorrect type for provided_arguments, expected dict and got {}",
                    py_class(other)
                )))
            }
        };
        let mut params = Map::new();
        for name in spec.keys() {
            if let Some(v) = call.ctx.resolved(name) {
                params.insert(name.clone(), v);
            }
        }
        crate::vars::merge(&mut params, &provided);
        let errors = validate(&spec, &mut params);
        if !errors.is_empty() {
            return Err(json!({
                "changed": false,
                "failed": true,
                "msg": format!("Validation of arguments failed:\n{}", errors.join("\n")),
                "argument_spec_data": spec,
                "argument_errors": errors,
                "validate_args_context": context,
            }));
        }
        Ok((
            Status::Ok,
            json!({"changed": false, "msg": "The arg spec validation passed", "validate_args_context": context}),
        ))
    }
}

/// An unsupported name and the names its level supports (for the message).
struct Unsupported {
    path: String,
    supported: Vec<String>,
    aliases: Vec<String>,
}

/// Checks `params` against `spec` (converting values as it goes) and returns the error messages,
/// in Ansible's order.
pub(crate) fn validate(spec: &Map<String, Value>, params: &mut Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    let mut unsupported = Vec::new();
    check_level(spec, params, &mut Vec::new(), &mut errors, &mut unsupported);
    if !unsupported.is_empty() {
        let mut names: Vec<&str> = unsupported.iter().map(|u| u.path.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        // Ansible names the supported parameters of the last unsupported one it saw.
        let last = unsupported.last();
        let mut supported = last.map(|u| u.supported.join(", ")).unwrap_or_default();
        if let Some(u) = last.filter(|u| !u.aliases.is_empty()) {
            supported.push_str(&format!(" ({})", u.aliases.join(", ")));
        }
        errors.push(format!("{}. Supported parameters include: {supported}.", names.join(", ")));
    }
    errors
}

/// One level of options: the top level, or the `options` of a dict (`context` names the way
/// there).
fn check_level(
    spec: &Map<String, Value>,
    params: &mut Map<String, Value>,
    context: &mut Vec<String>,
    errors: &mut Vec<String>,
    unsupported: &mut Vec<Unsupported>,
) {
    let opt = |v: &Value, k: &str| v.get(k).cloned();
    // Aliases: a value given under an alias is the option's.
    let mut aliases: Vec<String> = Vec::new();
    for (name, s) in spec {
        for alias in s.get("aliases").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            aliases.push(alias.to_string());
            if let Some(v) = params.get(alias).cloned() {
                params.insert(name.clone(), v);
            }
        }
    }
    // Ansible looks for no_log values in dict options before anything else, converting strings
    // to dicts on the way: a string that is not one fails there first.
    if let Err(e) = sub_options_are_dicts(spec, params) {
        errors.push(e);
    }
    let found_in = |context: &[String]| {
        if context.is_empty() {
            String::new()
        } else {
            format!(" found in {}", context.join(" -> "))
        }
    };
    // Names that are neither options nor aliases.
    for k in params.keys() {
        if !spec.contains_key(k) && !aliases.contains(k) {
            let mut path = context.clone();
            path.push(k.clone());
            let mut supported: Vec<String> = spec.keys().cloned().collect();
            supported.sort();
            let mut al = aliases.clone();
            al.sort();
            unsupported.push(Unsupported { path: path.join("."), supported, aliases: al });
        }
    }
    // Defaults given explicitly count as given for `required`.
    set_defaults(spec, params, false);
    let mut missing: Vec<&str> = spec
        .iter()
        .filter(|(k, s)| is_true(s.get("required")) && !params.contains_key(*k))
        .map(|(k, _)| k.as_str())
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        errors.push(format!("missing required arguments: {}{}", missing.join(", "), found_in(context)));
    }
    // Types.
    for (name, s) in spec {
        let Some(value) = params.get(name).cloned() else { continue };
        if value.is_null() && !is_true(s.get("required")) && opt(s, "default").is_none_or(|d| d.is_null()) {
            continue;
        }
        let wanted = s.get("type").and_then(Value::as_str).unwrap_or("str");
        let in_context =
            if context.is_empty() { String::new() } else { format!(" found in '{}'.", context.join(" -> ")) };
        match convert(wanted, &value) {
            Ok(converted) => {
                let converted = match s.get("elements").and_then(Value::as_str) {
                    Some(elements) => match converted {
                        Value::Array(items) => {
                            let mut out = Vec::new();
                            for item in items {
                                match convert(elements, &item) {
                                    Ok(v) => out.push(v),
                                    Err(e) => {
                                        let ctx = if context.is_empty() {
                                            String::new()
                                        } else {
                                            format!(" found in '{}'", context.join(" -> "))
                                        };
                                        errors.push(format!(
                                            "Elements value for option '{name}'{ctx} is of type {} and we were unable to convert to {elements}: {e}",
                                            crate::output::pyrepr::py_type(&item)
                                        ))
                                    }
                                }
                            }
                            Value::Array(out)
                        }
                        other => other,
                    },
                    None => converted,
                };
                params.insert(name.clone(), converted);
            }
            Err(e) => errors.push(format!(
                "argument '{name}' is of type {}{in_context} and we were unable to convert to {wanted}: {e}",
                crate::output::pyrepr::py_type(&value)
            )),
        }
    }
    // Choices.
    for (name, s) in spec {
        let Some(choices) = s.get("choices") else { continue };
        let Some(value) = params.get(name) else { continue };
        let Some(choices) = choices.as_array() else {
            errors.push(format!(
                "internal error: choices for argument {name} are not iterable: {}{}",
                py_str(choices),
                found_in(context)
            ));
            continue;
        };
        let shown = choices.iter().map(py_str).collect::<Vec<_>>().join(", ");
        match value {
            Value::Array(items) => {
                let off: Vec<String> =
                    items.iter().filter(|i| !choices.iter().any(|c| py_eq(c, i))).map(py_str).collect();
                if !off.is_empty() {
                    errors.push(format!(
                        "value of {name} must be one or more of: {shown}. Got no match for: {}{}",
                        off.join(", "),
                        found_in(context)
                    ));
                }
            }
            v if !choices.iter().any(|c| py_eq(c, v)) => {
                errors.push(format!(
                    "value of {name} must be one of: {shown}, got: {}{}",
                    py_str(v),
                    found_in(context)
                ));
            }
            _ => {}
        }
    }
    set_defaults(spec, params, true);
    // Nested options.
    for (name, s) in spec {
        let wanted = s.get("type").and_then(Value::as_str).unwrap_or("");
        let of_dicts =
            wanted == "dict" || (wanted == "list" && s.get("elements").and_then(Value::as_str) == Some("dict"));
        let Some(Value::Object(sub)) = s.get("options").filter(|_| of_dicts) else { continue };
        if is_true(s.get("apply_defaults")) && params.get(name).is_none_or(Value::is_null) {
            params.insert(name.clone(), json!({}));
        }
        let Some(mut value) = params.get(name).filter(|v| !v.is_null()).cloned() else { continue };
        context.push(name.clone());
        let mut check = |element: &mut Value| match element {
            Value::Object(sub_params) => check_level(sub, sub_params, context, errors, unsupported),
            _ => errors.push(format!("value of '{name}' must be of type dict or list of dicts")),
        };
        match &mut value {
            Value::Array(items) => items.iter_mut().for_each(&mut check),
            one => check(one),
        }
        params.insert(name.clone(), value);
        context.pop();
    }
}

/// The values of dict options (and lists of dicts) with `options` are dicts or strings that
/// convert to one, all the way down (Ansible's `_list_no_log_values`, which raises the first
/// problem it meets).
fn sub_options_are_dicts(spec: &Map<String, Value>, params: &Map<String, Value>) -> Result<(), String> {
    for (name, s) in spec {
        let Some(Value::Object(sub)) = s.get("options") else { continue };
        let Some(value) = params.get(name).filter(|v| !v.is_null()) else { continue };
        let wanted = s.get("type").and_then(Value::as_str).unwrap_or("");
        if !(wanted == "dict" || (wanted == "list" && s.get("elements").and_then(Value::as_str) == Some("dict"))) {
            continue;
        }
        let elements = match value {
            Value::Array(items) => items.clone(),
            one => vec![one.clone()],
        };
        for element in elements {
            let element = match element {
                Value::String(_) => convert("dict", &element)?,
                other => other,
            };
            let Value::Object(sub_params) = &element else {
                return Err(format!(
                    "Value '{}' in the sub parameter field '{name}' must be a {wanted}, not '{}'",
                    py_str(&element),
                    crate::output::pyrepr::py_type(&element)
                ));
            };
            sub_options_are_dicts(sub, sub_params)?;
        }
    }
    Ok(())
}

/// Ansible's `_set_defaults`: a missing option gets its default; with `all`, options without one
/// get null.
fn set_defaults(spec: &Map<String, Value>, params: &mut Map<String, Value>, all: bool) {
    for (name, s) in spec {
        let default = s.get("default").cloned().unwrap_or(Value::Null);
        if !params.contains_key(name) && (!default.is_null() || all) {
            params.insert(name.clone(), default);
        }
    }
}

/// Python's `boolean(value)` (module_utils/parsing/convert_bool.py): `None` when not a boolean.
fn py_boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_lowercase().trim() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn is_true(v: Option<&Value>) -> bool {
    v.is_some_and(|v| orc_modules::args::parse_bool(v) == Some(true))
}

/// `value` as type `wanted`, as Ansible's `check_type_*` converts it; the error is theirs.
fn convert(wanted: &str, value: &Value) -> Result<Value, String> {
    match wanted {
        "str" => Ok(Value::String(match value {
            Value::Null => String::new(),
            v => py_str(v),
        })),
        "raw" => Ok(value.clone()),
        "path" => Ok(Value::String(expand_path(&match value {
            Value::Null => String::new(),
            v => py_str(v),
        }))),
        "list" => match value {
            Value::Array(_) => Ok(value.clone()),
            Value::String(s) => Ok(Value::Array(s.split(',').map(|p| Value::String(p.into())).collect())),
            Value::Number(_) | Value::Bool(_) => Ok(json!([py_str(value)])),
            v => Err(format!("{} cannot be converted to a list", py_class(v))),
        },
        "dict" => match value {
            Value::Object(_) => Ok(value.clone()),
            Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => Ok(v),
                _ => Err("unable to evaluate string as dictionary".into()),
            },
            Value::String(s) if s.contains('=') => key_value_dict(s),
            Value::String(_) => Err("dictionary requested, could not parse JSON or key=value".into()),
            v => Err(format!("{} cannot be converted to a dict", py_class(v))),
        },
        "bool" => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(_) | Value::Number(_) => py_boolean(value).map(Value::Bool).ok_or_else(|| {
                format!(
                    "The value '{}' is not a valid boolean. Valid booleans include: 0, 1, 'f', '0', 'on', 'false', \
                         'yes', 'y', 'off', 'no', 't', '1', 'n', 'true'",
                    py_str(value)
                )
            }),
            v => Err(format!("{} cannot be converted to a bool", py_class(v))),
        },
        "int" => {
            let bad = || format!("\"{}\" cannot be converted to an int", crate::output::pyrepr::repr(value));
            match value {
                Value::Bool(_) => Ok(value.clone()),
                Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
                Value::Number(n) => match n.as_f64() {
                    Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(json!(f as i64)),
                    _ => Err(bad()),
                },
                Value::String(s) => {
                    let t = s.trim();
                    if let Ok(i) = t.parse::<i64>() {
                        Ok(json!(i))
                    } else {
                        match t.parse::<f64>() {
                            Ok(f) if f.is_finite() && f.fract() == 0.0 => Ok(json!(f as i64)),
                            _ => Err(bad()),
                        }
                    }
                }
                _ => Err(bad()),
            }
        }
        "float" => {
            let f = match value {
                Value::Number(n) => n.as_f64(),
                Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            f.and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                .ok_or_else(|| format!("{} cannot be converted to a float", py_class(value)))
        }
        "json" | "jsonarg" => match value {
            Value::String(s) => Ok(Value::String(s.trim().to_string())),
            Value::Array(_) | Value::Object(_) => Ok(Value::String(orc_modules::pyjson::dumps_with(
                value,
                orc_modules::pyjson::Style { indent: None, sort_keys: false, ensure_ascii: true },
            ))),
            v => Err(format!("{} cannot be converted to a json string", py_class(v))),
        },
        "bytes" | "bits" => human_to_bytes(&py_str(value), wanted == "bits").map(|n| json!(n)).map_err(|()| {
            format!(
                "{} cannot be converted to a {} value",
                py_class(value),
                if wanted == "bits" { "Bit" } else { "Byte" }
            )
        }),
        // Ansible finds no checker for the name and fails calling it.
        _ => Err("'NoneType' object is not callable".into()),
    }
}

/// `k1=v1, k2='v 2'` as a dict (Ansible's `check_type_dict` for a string that is not JSON).
fn key_value_dict(s: &str) -> Result<Value, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escape = false;
    for c in s.trim().chars() {
        if escape {
            field.push(c);
            escape = false;
        } else if c == '\\' {
            escape = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    let mut out = Map::new();
    for f in fields {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| "unable to evaluate string in the \"key=value\" format as dictionary".to_string())?;
        out.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(Value::Object(out))
}

/// Ansible's `human_to_bytes`: `10`, `1.5K`, `2MB` (bytes) or `2Mb` (bits).
fn human_to_bytes(text: &str, bits: bool) -> Result<i64, ()> {
    let t = text.trim_end();
    let digits = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit = unit.trim_start();
    if number.is_empty() || number.ends_with('.') || number.matches('.').count() > 1 {
        return Err(());
    }
    if !unit.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(());
    }
    let num: f64 = number.parse().map_err(|_| ())?;
    let Some(first) = unit.chars().next() else { return Ok(num.round() as i64) };
    let key = first.to_ascii_uppercase();
    let power = "BKMGTPEZY".find(key).ok_or(())?;
    if unit.len() > 1 {
        let words = ["byte", "kilo", "mega", "giga", "tera", "peta", "exa", "zeta", "yotta"];
        let word = if power == 0 {
            if bits {
                "bit".to_string()
            } else {
                "byte".to_string()
            }
        } else {
            format!("{}{}", words[power], if bits { "bit" } else { "byte" })
        };
        let short = if power == 0 {
            if bits {
                "b".to_string()
            } else {
                "B".to_string()
            }
        } else {
            format!("{key}{}", if bits { 'b' } else { 'B' })
        };
        if unit.to_lowercase() != word && unit != short {
            return Err(());
        }
    }
    Ok((num * 1024f64.powi(power as i32)).round() as i64)
}

/// `~` and `$VAR` expanded, as `check_type_path` does on the controller.
fn expand_path(p: &str) -> String {
    let env = |k: &str| std::env::var(k).ok();
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    crate::config::paths::expand(p, &env, home.as_deref())
}

/// Python's equality of two JSON values (`1 == 1.0 == True`).
fn py_eq(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Python's `str()`.
fn py_str(v: &Value) -> String {
    crate::output::pyrepr::item_label(v)
}

/// Python's `type(v)` as printed: `<class 'dict'>`.
fn py_class(v: &Value) -> String {
    format!("<class '{}'>", crate::output::pyrepr::py_type(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: Value, params: Value) -> Vec<String> {
        let (Value::Object(spec), Value::Object(mut params)) = (spec, params) else { panic!("objects") };
        validate(&spec, &mut params)
    }

    #[test]
    fn required_and_type_errors_read_as_ansibles() {
        let spec = json!({
            "c_dict": {"type": "dict", "required": true},
            "c_int": {"type": "int", "required": true},
            "c_list": {"type": "list", "required": true},
            "c_raw": {"type": "raw", "required": true},
            "b_str": {"type": "str", "required": true},
            "a_str": {"required": true},
        });
        let errors = check(spec, json!({"c_dict": null, "c_int": null, "c_list": null, "c_raw": null}));
        assert_eq!(
            errors,
            [
                "missing required arguments: a_str, b_str",
                "argument 'c_dict' is of type NoneType and we were unable to convert to dict: <class 'NoneType'> cannot be converted to a dict",
                "argument 'c_int' is of type NoneType and we were unable to convert to int: \"None\" cannot be converted to an int",
                "argument 'c_list' is of type NoneType and we were unable to convert to list: <class 'NoneType'> cannot be converted to a list",
            ]
        );
    }

    #[test]
    fn nested_options_choices_and_unknown_names() {
        let spec = json!({
            "multi": {"type": "dict", "options": {"second": {"type": "dict", "options": {"third": {"type": "int", "required": true}}}}},
            "pick": {"choices": ["a", "b"]},
            "flag": {"type": "dict", "options": {"on": {"type": "bool", "default": true}}},
            "nums": {"type": "list", "elements": "float"},
        });
        let errors = check(
            spec.clone(),
            json!({"multi": {"second": {"extra": true}}, "pick": "c", "flag": {"on": "not-a-bool"}, "nums": ["1.5", 2]}),
        );
        assert_eq!(errors[0], "value of pick must be one of: a, b, got: c");
        assert_eq!(errors[1], "missing required arguments: third found in multi -> second");
        assert!(errors[2].starts_with(
            "argument 'on' is of type str found in 'flag'. and we were unable to convert to bool: The value 'not-a-bool' is not a valid boolean."
        ));
        assert_eq!(errors[3], "multi.second.extra. Supported parameters include: third.");
        assert_eq!(errors.len(), 4);
        // A string where a dict with options is wanted fails first, then as a type and a shape.
        assert_eq!(
            check(spec, json!({"flag": "not-a-dict"})),
            [
                "dictionary requested, could not parse JSON or key=value",
                "argument 'flag' is of type str and we were unable to convert to dict: dictionary requested, could not parse JSON or key=value",
                "value of 'flag' must be of type dict or list of dicts",
            ]
        );
        assert!(check(json!({"s": {"type": "str"}, "i": {"type": "int"}}), json!({"s": 37.5, "i": "42"})).is_empty());
        assert_eq!(
            check(json!({"a_str": {"required": true}}), json!({"invalid_str": "x"})),
            ["missing required arguments: a_str", "invalid_str. Supported parameters include: a_str."]
        );
    }

    #[test]
    fn conversions_follow_ansibles_checkers() {
        assert_eq!(convert("list", &json!("a,b")), Ok(json!(["a", "b"])));
        assert_eq!(convert("int", &json!(37.0)), Ok(json!(37)));
        assert_eq!(convert("int", &json!("abc")), Err("\"'abc'\" cannot be converted to an int".to_string()));
        assert_eq!(convert("dict", &json!("a=1 b='x y'")), Ok(json!({"a": "1", "b": "x y"})));
        assert_eq!(convert("jsonarg", &json!({"foo": [1, 3]})), Ok(json!("{\"foo\": [1, 3]}")));
        assert_eq!(convert("bytes", &json!("2K")), Ok(json!(2048)));
        assert_eq!(convert("bits", &json!("1Mb")), Ok(json!(1048576)));
        assert!(convert("bytes", &json!("1Mb")).is_err() && convert("bits", &json!("foo")).is_err());
        assert_eq!(convert("float", &json!("x")), Err("<class 'str'> cannot be converted to a float".to_string()));
    }
}
