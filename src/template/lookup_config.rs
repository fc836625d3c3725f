//! The `config` lookup: Ansible's configuration entries as orc reads them
//! (`src/config/entries.rs`), with the plugin's options as ansible-core 2.19 defines them
//! (`plugins/lookup/config.py`): `on_missing` (`error`, `warn`, `skip`), `plugin_type` and
//! `plugin_name` (both or neither). A plugin option set by a host variable
//! (`ansible_become_flags`...) is read from the task's variables first, as Ansible does.

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::filters::err;
use super::lookups::Call;
use super::pyfmt;
use crate::config::LookupError;

/// What to do with a name that is no configuration entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnMissing {
    Error,
    /// `warn` and `skip`: leave the term out (a template cannot print Ansible's warning).
    Skip,
}

/// Runs the lookup on `terms`.
pub(crate) fn run(call: &mut Call, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    call.opts.check_known("config", &["on_missing", "plugin_type", "plugin_name", "show_origin"])?;
    let on_missing = match call.opts.string("on_missing", "error").as_str() {
        "error" => OnMissing::Error,
        "warn" | "skip" => OnMissing::Skip,
        other => {
            return Err(err(format!(
                "Invalid value '{other}' for config 'on_missing' for 'config' lookup plugin. Valid values are: error, warn, skip"
            )))
        }
    };
    if call.opts.bool("config", "show_origin", false)? {
        return Err(err("show_origin is not supported by orc's config lookup"));
    }
    let ptype = call.opts.string("plugin_type", "");
    let pname = call.opts.string("plugin_name", "");
    if ptype.is_empty() != pname.is_empty() {
        return Err(err("Both plugin_type and plugin_name are required, cannot use one without the other."));
    }
    let plugin = (!ptype.is_empty()).then_some((ptype.as_str(), pname.as_str()));
    let vars = call.vars.clone();
    let var = |name: &str| -> Option<serde_json::Value> {
        let v = vars.get_attr(name).ok().filter(|v| !v.is_undefined() && !v.is_none())?;
        serde_json::to_value(&v).ok()
    };
    let env = |k: &str| std::env::var(k).ok();
    let mut out = Vec::new();
    for term in &terms {
        if term.kind() != ValueKind::String {
            let (repr, class) = (pyfmt::repr(term), super::filters::type_debug(term));
            return Err(err(format!(
                "Invalid setting identifier, {repr} is not a <class 'str'>, its a <class '{class}'>."
            )));
        }
        match crate::config::lookup_entry(&pyfmt::to_str(term), plugin, &var, &env) {
            Ok(v) => out.push(Value::from(minijinja::value::Serde(&v))),
            Err(LookupError::Undefined(_)) if on_missing == OnMissing::Skip => {}
            Err(LookupError::Undefined(msg) | LookupError::Invalid(msg)) => return Err(err(msg)),
        }
    }
    Ok(out)
}
