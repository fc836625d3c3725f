//! `orc run PATTERN -m MODULE -a ARGS`: one task as a one-play playbook.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::cli::RunArgs;
use crate::error::{Loc, OrcError, Result, SourceFile};
use crate::executor::{self, Runner, TagFilter};
use crate::playbook::{Action, Keywords, Play, Playbook, Task, TaskBody};

/// Runs `orc run`; returns the exit code.
pub fn run(args: &RunArgs) -> Result<i32> {
    let settings = super::settings()?;
    super::vault_passwords(&args.common.vault, &settings)?;
    let inventory = super::load_inventory(&args.common.inventory, &settings)?;
    let mut opts = super::options(&args.common, TagFilter::default(), None, &settings)?;
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
    let engine = executor::actions::lookup(&short);
    let action = Action { module: args.module.clone(), short, args: module_args, loc: loc.clone(), engine };
    let task = Task::new(loc.clone(), TaskBody::Action(action), Keywords::default());
    // Pattern errors point at the pattern argument, not at -a.
    let pattern_loc = Loc::file_start(SourceFile::new("<command line PATTERN>", args.pattern.clone()));
    let mut play = Play::new("Ansible Ad-Hoc".to_string(), args.pattern.clone(), pattern_loc, loc, PathBuf::from("."));
    play.gather_facts = Some(false);
    play.tasks = vec![task];
    let pb = Playbook { path: PathBuf::from("<ad-hoc>"), plays: vec![play] };
    let pbs = vec![pb];
    executor::preflight(&pbs, &inventory, &opts)?;
    // Everything printed goes through the censor sink (src/secrets/writer.rs), as `play`'s.
    let out: Box<dyn std::io::Write + Send> = Box::new(crate::secrets::CensorWriter::new(std::io::stdout()));
    // As `ansible`, ad-hoc runs do not use stdout_callback: only --output chooses.
    let printer: Box<dyn crate::output::EventSink> = match args.common.output.unwrap_or_default() {
        crate::cli::OutputFormat::Json => Box::new(crate::output::JsonPrinter::new(out)),
        crate::cli::OutputFormat::Human => Box::new(crate::output::AdhocPrinter::new(out).one_line(args.one_line)),
    };
    let reports = super::reports::Reports::open(&args.common)?;
    let sink = reports.around(printer);
    opts.fact_cache = super::fact_cache(&args.common, &settings, &inventory, sink.as_ref());
    let runner = Runner::new(&inventory, &opts, sink.as_ref())?;
    let outcome = runner.run(&pbs);
    drop(runner);
    reports.finish();
    Ok(outcome.exit_code(opts.check, args.common.detailed_exitcode))
}
