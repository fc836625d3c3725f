//! `include_vars`: loads variables from a file at run time, for this host.

use serde_json::{json, Map, Value};

use super::{fail, ActionResult, Arg, Call, Defines, EngineAction};
use crate::output::Status;
use orc_modules::doc::ModuleText;

/// `include_vars: FILE` / `include_vars: {file: FILE, name: NAME}`.
#[derive(Debug)]
pub struct IncludeVars;

const ARGS: &[Arg] = &[
    ("file", false, "The YAML or JSON file to load (also the free-form value)."),
    ("_raw_params", false, "The file, written as `include_vars: file.yml`."),
    ("name", false, "Put the variables under this one variable instead of at the top level."),
];

impl EngineAction for IncludeVars {
    fn name(&self) -> &'static str {
        "include_vars"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn free_form(&self) -> bool {
        true
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Loads variables from a file at run time, for this host.",
            notes: "The file is searched like Ansible's: the role's `vars/`, the role, the task file's directory, then the playbook's `vars/` and directory.",
            returns: &[("ansible_facts", "The variables loaded.")],
            example: "- ansible.builtin.include_vars: \"{{ ansible_distribution }}.yml\"\n",
        }
    }

    fn defines(&self, args: &Map<String, Value>) -> Defines {
        match args.get("name").and_then(Value::as_str) {
            Some(name) if !name.contains("{{") => Defines::Names(vec![name.to_string()]),
            _ => Defines::Unknown,
        }
    }

    fn run(&self, call: &mut Call<'_, '_>) -> ActionResult {
        let args = call.args;
        let file = args
            .get("file")
            .or_else(|| args.get("_raw_params"))
            .map(crate::yaml::display)
            .ok_or_else(|| fail("include_vars needs a file"))?;
        let path = crate::playbook::search::find(&file, "vars", call.search).map_err(|searched| {
            let searched: Vec<String> = searched.iter().map(|c| c.display().to_string()).collect();
            fail(format!("Could not find or access '{file}'\nSearched in:\n\t{}", searched.join("\n\t")))
        })?;
        let vars = match crate::inventory::load_vars_file(&path) {
            Ok(Some(m)) => m,
            Ok(None) => Map::new(),
            Err(e) => return Err(fail(e.report())),
        };
        let facts = match args.get("name").and_then(Value::as_str) {
            Some(name) => {
                let mut m = Map::new();
                m.insert(name.to_string(), Value::Object(vars));
                m
            }
            None => vars,
        };
        for (k, v) in &facts {
            call.host.include_var(k, v.clone());
        }
        Ok((
            Status::Ok,
            json!({"ansible_facts": facts, "ansible_included_var_files": [path.display().to_string()], "changed": false}),
        ))
    }
}
