//! A play's `hosts:` pattern, templated as Ansible templates it before choosing hosts: with the
//! play's `vars:` and the extra variables (`-e`), which win (no host's variables exist yet).
//! `hosts: "{{ app_group | default('app') }}"` lets a playbook take its target group as a variable.

use minijinja::value::{Serde, Value as JinjaValue};
use serde_json::{Map, Value};

use super::Options;
use crate::error::{OrcError, Result};
use crate::playbook::Play;
use crate::template::Templar;

/// The host pattern of `play` (as written when it holds no template).
pub fn pattern(play: &Play, opts: &Options) -> Result<String> {
    if !play.hosts.contains("{{") && !play.hosts.contains("{%") {
        return Ok(play.hosts.clone());
    }
    let mut vars: Map<String, Value> = play.vars.clone();
    vars.extend(opts.extra_vars.clone());
    let rendered = Templar::new()
        .render_str(&play.hosts, &JinjaValue::from(Serde(&vars)))
        .map_err(|e| OrcError::at(&play.hosts_loc, format!("cannot render the play's hosts: {e}")))?;
    Ok(match rendered {
        Value::String(s) => s,
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    })
}

/// The play's `order:`, templated as Ansible templates it (with the play's `vars:` and the extra
/// variables), so `order: "{{ myorder | default('inventory') }}"` takes the order from `-e`.
pub fn order(play: &Play, opts: &Options) -> Result<Option<String>> {
    let Some(order) = play.order.as_ref() else { return Ok(None) };
    if !order.contains("{{") && !order.contains("{%") {
        return Ok(Some(order.clone()));
    }
    let mut vars: Map<String, Value> = play.vars.clone();
    vars.extend(opts.extra_vars.clone());
    let rendered = Templar::new()
        .render_str(order, &JinjaValue::from(Serde(&vars)))
        .map_err(|e| OrcError::at(&play.loc, format!("cannot render the play's order: {e}")))?;
    Ok(Some(crate::yaml::display(&rendered)))
}

/// The play's `serial:`, templated as Ansible templates it (with the play's `vars:` and the
/// extra variables), so `serial: "{{ rollout_serial | default([1, '50%']) }}"` takes the batch
/// plan from `-e`. A string that renders to a list or a number becomes that value.
pub fn serial(play: &Play, opts: &Options) -> Result<Option<Value>> {
    let templated = |v: &Value| matches!(v, Value::String(s) if s.contains("{{") || s.contains("{%"));
    let Some(serial) = play.serial.as_ref() else { return Ok(None) };
    let needs = match serial {
        Value::Array(items) => items.iter().any(templated),
        v => templated(v),
    };
    if !needs {
        return Ok(Some(serial.clone()));
    }
    let mut vars: Map<String, Value> = play.vars.clone();
    vars.extend(opts.extra_vars.clone());
    let context = JinjaValue::from(Serde(&vars));
    let render = |v: &Value| -> Result<Value> {
        match v {
            Value::String(s) if templated(v) => Templar::new()
                .render_str(s, &context)
                .map_err(|e| OrcError::at(&play.loc, format!("cannot render the play's serial: {e}"))),
            other => Ok(other.clone()),
        }
    };
    Ok(Some(match serial {
        Value::Array(items) => Value::Array(items.iter().map(render).collect::<Result<_>>()?),
        v => render(v)?,
    }))
}
