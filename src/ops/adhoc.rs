//! `orc run PATTERN -m MODULE -a ARGS`: one task as a one-play playbook.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::cli::RunArgs;
use crate::error::{Loc, OrcError, Result, SourceFile};
use crate::executor::{self, Runner, TagFilter};
use crate::playbook::{Action, Play, Playbook, Task, TaskBody};

/// Runs `orc run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    super::vault_passwords(&args.common)?;
    let inventory = super::load_inventory(&args.common.inventory)?;
    let opts = super::options(&args.common, TagFilter::default(), None)?;
    let text = args.args.clone().unwrap_or_default();
    let file = SourceFile::new("<command line -a>", text.clone());
    let loc = Loc::file_start(file);
    let short = orc_modules::registry::short_name(&args.module).to_string();
    if !executor::actions::exists(&short) {
        return Err(OrcError::Usage(format!("unknown module '{}'", args.module)));
    }
    let mut module_args: Map<String, Value> = if text.trim_start().starts_with('{') {
        match crate::yaml::parse_str("<command line -a>", &text)?.to_value() {
            Value::Object(m) => m,
            _ => return Err(OrcError::Usage("-a must be k=v pairs or a JSON object".into())),
        }
    } else {
        crate::playbook::parse_kv(&text, executor::actions::is_command_line(&short))
            .map_err(|e| OrcError::at(&loc, e).help("close every quote and every {{ }} or {% %} block"))?
    };
    if short == "command" || short == "shell" {
        if let Some(Value::String(raw)) = module_args.remove("_raw_params") {
            module_args.insert("_raw_params".into(), Value::String(raw));
        }
    }
    let action = Action { module: args.module.clone(), short, args: module_args, loc: loc.clone() };
    let task = Task::new(loc.clone(), TaskBody::Action(action));
    // Pattern errors point at the pattern argument, not at -a.
    let pattern_loc = Loc::file_start(SourceFile::new("<command line PATTERN>", args.pattern.clone()));
    let play = Play {
        name: "Ansible Ad-Hoc".to_string(),
        hosts: args.pattern.clone(),
        hosts_loc: pattern_loc,
        loc,
        dir: PathBuf::from("."),
        vars: Map::new(),
        vars_files: vec![],
        gather_facts: false,
        r#become: None,
        become_user: None,
        connection: None,
        pre_tasks: vec![],
        roles: vec![],
        tasks: vec![task],
        post_tasks: vec![],
        handlers: vec![],
        tags: vec![],
        serial: None,
        strategy: "linear".into(),
        any_errors_fatal: false,
        max_fail_percentage: None,
        ignore_errors: None,
        check_mode: None,
        diff: None,
        force_handlers: false,
        order: None,
    };
    let pb = Playbook { path: PathBuf::from("<ad-hoc>"), plays: vec![play] };
    let pbs = vec![pb];
    executor::preflight(&pbs, &inventory, &opts)?;
    let out: Box<dyn std::io::Write + Send> = Box::new(std::io::stdout());
    let sink: Box<dyn crate::output::EventSink> = match args.common.output {
        crate::cli::OutputFormat::Json => Box::new(crate::output::JsonPrinter::new(out)),
        crate::cli::OutputFormat::Human => Box::new(crate::output::AdhocPrinter::new(out).one_line(args.one_line)),
    };
    super::flush_cache_note(&args.common);
    let runner = Runner::new(&inventory, &opts, sink.as_ref())?;
    let outcome = runner.run(&pbs);
    Ok(outcome.exit_code(opts.check, args.common.detailed_exitcode))
}
