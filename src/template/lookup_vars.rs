//! Lookup plugins that read variables and the environment: `env`, `vars`, `varnames` and
//! `inventory_hostnames`, as ansible-core 2.19 writes them (`ansible/plugins/lookup/*.py`).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

use super::filters::err;
use super::lookups::{term_strings, Call};
use super::pyfmt;

/// Runs one of this file's plugins.
pub(crate) fn run(call: &mut Call, plugin: &str, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    match plugin {
        "env" => {
            call.opts.check_known("env", &["default"])?;
            let default = call.opts.get("default").cloned().unwrap_or(Value::from(""));
            Ok(term_strings(&terms)?
                .into_iter()
                .map(|t| match std::env::var(&t) {
                    Ok(v) => Value::from(v),
                    Err(_) => default.clone(),
                })
                .collect())
        }
        "vars" => {
            call.opts.check_known("vars", &["default"])?;
            let default = call.opts.get("default").cloned();
            let mut out = Vec::new();
            for t in &terms {
                if t.kind() != ValueKind::String {
                    return Err(err(format!("Variable name must be 'str' not '{}'.", super::filters::type_debug(t))));
                }
                let name = pyfmt::to_str(t);
                let found = call
                    .state
                    .lookup(&name)
                    .filter(|v| !v.is_undefined())
                    .or_else(|| call.vars.get_attr(&name).ok().filter(|v| !v.is_undefined()));
                match (found, &default) {
                    (Some(v), _) => out.push(v),
                    (None, Some(d)) => out.push(d.clone()),
                    (None, None) => {
                        return Err(Error::new(
                            ErrorKind::UndefinedError,
                            format!("No variable named '{name}' was found."),
                        ))
                    }
                }
            }
            Ok(out)
        }
        "varnames" => {
            call.opts.check_known("varnames", &[])?;
            let names: Vec<String> = match call.vars.try_iter() {
                Ok(keys) => keys.map(|k| pyfmt::to_str(&k)).collect(),
                Err(_) => Vec::new(),
            };
            let mut out = Vec::new();
            for t in &terms {
                if t.kind() != ValueKind::String {
                    return Err(err(format!(
                        "Invalid setting identifier, \"{}\" is not a string, it is a {}",
                        pyfmt::to_str(t),
                        super::filters::type_debug(t)
                    )));
                }
                let pattern = pyfmt::to_str(t);
                let re = super::regexes::compile(&pattern, false, false)
                    .map_err(|e| err(format!("Unable to use \"{pattern}\" as a search parameter: {e}")))?;
                for n in &names {
                    if re.is_match(n).map_err(|e| err(e.to_string()))? {
                        out.push(Value::from(n.as_str()));
                    }
                }
            }
            Ok(out)
        }
        "inventory_hostnames" => {
            call.opts.check_known("inventory_hostnames", &[])?;
            let groups = call.vars.get_attr("groups").unwrap_or_default();
            let mut memberships = Vec::new();
            if let Ok(names) = groups.try_iter() {
                for g in names {
                    let hosts = groups.get_item(&g).unwrap_or_default();
                    let hosts: Vec<String> =
                        hosts.try_iter().map(|it| it.map(|h| pyfmt::to_str(&h)).collect()).unwrap_or_default();
                    memberships.push((pyfmt::to_str(&g), hosts));
                }
            }
            let inventory = crate::inventory::Inventory::from_groups(&memberships);
            let pattern = term_strings(&terms)?.join(",");
            // Ansible returns no hosts for a pattern it cannot evaluate.
            Ok(inventory.matching(&pattern).unwrap_or_default().into_iter().map(Value::from).collect())
        }
        other => Err(err(format!("unknown lookup {other}"))),
    }
}
