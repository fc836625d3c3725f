//! Finding and naming undefined values: inside printed or returned lists and dicts, and the
//! variable to blame when minijinja could not name it.

use minijinja::value::Value;

use super::{lazy, TemplateError, RESULT_VAR};

/// The detail of the error the formatter raises for a list or dict holding an undefined value.
pub(crate) const UNDEFINED_IN_COLLECTION: &str = "undefined value inside a list or dict";

/// Does a list or dict hold an undefined value (`[1, nope]`, or a variable holding a template
/// that uses an undefined variable)? Ansible reports those; minijinja would turn them into null.
pub(crate) fn contains_undefined(v: &Value, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    let bad = |item: &Value| item.is_undefined() || contains_undefined(item, depth + 1);
    match v.kind() {
        minijinja::value::ValueKind::Seq => v.try_iter().map(|mut items| items.any(|i| bad(&i))).unwrap_or(false),
        minijinja::value::ValueKind::Map => {
            v.try_iter().map(|mut keys| keys.any(|k| v.get_item(&k).is_ok_and(|i| bad(&i)))).unwrap_or(false)
        }
        _ => false,
    }
}

/// The first variable a template uses that is neither set in `vars` nor a global: the name to
/// report when an undefined value was found without minijinja naming it.
pub(crate) fn undefined_variable(template: &minijinja::Template<'_, '_>, vars: &Value) -> Option<String> {
    let mut names: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    names.sort();
    let undefined = names.iter().find(|n| {
        *n != RESULT_VAR
            && vars.get_attr(n).map_or(true, |v| v.is_undefined())
            && !matches!(
                n.as_str(),
                "lookup"
                    | "query"
                    | "q"
                    | "omit"
                    | "range"
                    | "dict"
                    | "namespace"
                    | "debug"
                    | "true"
                    | "false"
                    | "none"
                    | "True"
                    | "False"
                    | "None"
            )
    });
    if let Some(name) = undefined {
        return Some(name.clone());
    }
    // Else a variable holding templates (one of them uses an undefined variable): the Templar's
    // `explain` finds the inner name from it.
    names.into_iter().find(|n| {
        lazy::raw_at(vars, n).is_some_and(|raw| {
            let mut templates = Vec::new();
            lazy::templates_in(&raw, 1, &mut templates);
            !templates.is_empty()
        })
    })
}

/// The error for an expression whose whole value is undefined: names the expression.
pub(crate) fn undefined_error(expr: &str) -> TemplateError {
    TemplateError { msg: format!("'{expr}' is undefined"), undefined: Some(expr.to_string()), file: None, line: None }
}

/// A render error; an undefined value inside a printed list or dict is named from the
/// template's variables.
pub(crate) fn undefined_in_collection(
    err: minijinja::Error,
    template: &minijinja::Template<'_, '_>,
    vars: &Value,
) -> TemplateError {
    let mut e = TemplateError::from(err);
    if e.msg.contains(UNDEFINED_IN_COLLECTION) {
        let name = undefined_variable(template, vars).unwrap_or_default();
        e.msg = format!("'{name}' is undefined");
        e.undefined = Some(name);
    }
    e
}
