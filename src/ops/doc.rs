//! `orc doc MODULE` and `orc doc --list`: what ansible-doc shows, from the binary itself (the
//! argument lists come from the same definitions orc checks arguments against).

use crate::cli::DocArgs;
use crate::error::{OrcError, Result};
use crate::executor::actions as action_docs;

/// Runs `orc doc`; returns the exit code.
pub fn doc(args: &DocArgs) -> Result<i32> {
    if args.list {
        print!("{}", list());
        return Ok(0);
    }
    let name = args.module.as_deref().unwrap_or_default();
    let short = orc_modules::registry::short_name(name);
    let doc = orc_modules::lookup(short).map(|m| m.doc()).or_else(|| action_docs::doc(short));
    match doc {
        Some(d) => {
            print!("{}", d.render());
            Ok(0)
        }
        None => {
            let names = all_names();
            let mut msg = format!("no module or action named '{name}'");
            if let Some(s) = crate::suggest::suggest(name, &names) {
                msg.push_str(&format!("; did you mean '{s}'?"));
            }
            Err(OrcError::Usage(format!("{msg} (orc doc --list lists them)")))
        }
    }
}

fn all_names() -> Vec<&'static str> {
    let mut names = orc_modules::registry::names();
    names.extend(action_docs::names());
    names
}

/// One line per module and engine action: `name  description`, sorted by name.
fn list() -> String {
    let mut rows: Vec<(String, String)> = orc_modules::registry::names()
        .into_iter()
        .filter_map(orc_modules::lookup)
        .map(|m| m.doc())
        .chain(action_docs::names().into_iter().filter_map(action_docs::doc))
        .map(|d| (format!("{}.{}", d.collection, d.name), d.text.short.to_string()))
        .collect();
    rows.sort();
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    rows.iter().map(|(n, d)| format!("{n:width$}  {d}\n")).collect()
}
