//! `orc play`: load, validate, then run playbooks.

use std::path::{Path, PathBuf};

use crate::cli::PlayArgs;
use crate::error::Result;
use crate::executor::{self, Runner, TagFilter};
use crate::playbook::{self, Playbook, TaskBody};

/// Runs `orc play`; returns the exit code.
pub fn play(args: &PlayArgs) -> Result<i32> {
    let embedded;
    let paths = if args.playbooks.is_empty() {
        let given = targeting_flags(args);
        if !given.is_empty() {
            return Err(crate::error::OrcError::Usage(format!(
                "no playbook given with {}: name the playbook to run, as in `orc play site.yaml -i INVENTORY`; \
                 `orc play` without a playbook runs only the built-in quickstart on this machine",
                given.join(", ")
            )));
        }
        embedded = super::embedded::write_quickstart()?;
        vec![embedded]
    } else {
        args.playbooks.clone()
    };
    // Built-in playbooks named instead of a file (`orc play service-discovery`), written out with
    // their roles for this run; a file on disk of that name wins.
    let mut builtins = Vec::new();
    let mut paths = paths;
    for p in &mut paths {
        if let Some(b) = super::embedded::find(p) {
            match [format!("{}.yaml", b.name), format!("{}.yml", b.name)].into_iter().find(|f| Path::new(f).is_file()) {
                Some(on_disk) => *p = PathBuf::from(on_disk),
                None => {
                    let m = super::embedded::materialize(&b)?;
                    *p = m.playbook.clone();
                    builtins.push(m);
                }
            }
        }
    }
    if args.plan_out.is_some() && !args.common.check {
        return Err(crate::error::OrcError::Usage(
            "--plan-out needs --check: a plan is what a check run decided, before anything changes \
             (docs/plan.md); apply it later with --plan"
                .into(),
        ));
    }
    let settings = super::settings()?;
    super::vault_passwords(&args.common.vault, &settings)?;
    let mut inventory = super::load_inventory(&args.common.inventory, &settings)?;
    let mut playbooks: Vec<Playbook> = Vec::new();
    let tags = TagFilter { only: args.tags.clone(), skip: args.skip_tags.clone() };
    let mut opts = super::options(&args.common, tags, args.start_at_task.clone(), &settings)?;
    for p in &paths {
        if !p.is_file() {
            return Err(crate::error::OrcError::Usage(format!(
                "the playbook {} does not exist (built-in playbooks, run by name: {}; see `orc playbooks`)",
                p.display(),
                super::embedded::builtins().iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        let pb = playbook::load_playbook(p, &opts.extra_vars)?;
        inventory.add_playbook_vars_dirs(&executor::playbook_dir(&pb))?;
        playbooks.push(pb);
    }
    opts.syntax_check = args.syntax_check;
    executor::preflight(&playbooks, &inventory, &opts)?;

    if args.syntax_check {
        for p in &paths {
            println!("\nplaybook: {}", p.display());
        }
        return Ok(0);
    }
    if args.list_hosts || args.list_tasks || args.list_tags {
        for pb in &playbooks {
            print!("{}", listing(pb, &inventory, &opts, args));
        }
        return Ok(0);
    }
    // A plan to apply is read and compared with today's inputs before anything runs.
    let saved = match &args.plan {
        Some(path) => {
            let plan = super::plan_file::read(path)?;
            let now = super::plan_file::inputs(args, &paths, &playbooks, &opts);
            if let Some(diff) = crate::plan::input_difference(&plan.inputs, &now) {
                return Err(crate::error::OrcError::input(format!(
                    "the plan {} was made from other inputs: {diff}",
                    path.display()
                ))
                .help("make a new plan with --check --plan-out, review it, then apply that one"));
            }
            Some(plan)
        }
        None => None,
    };
    let interactive = super::prompt::interactive();
    super::prompt::check(playbooks.iter().flat_map(|pb| &pb.plays), &opts.extra_vars, interactive)?;
    let format = super::play_output(&args.common, Some(&settings), true);
    super::say_config_file(&args.common, format, &settings);
    let reports = super::reports::Reports::open(&args.common)?;
    let sink = reports.around(super::printer(&args.common, format));
    opts.fact_cache = super::fact_cache(&args.common, &settings, &inventory, sink.as_ref());
    let mut answers = Vec::new();
    for play in playbooks.iter().flat_map(|pb| &pb.plays) {
        let mut warn = |msg: &str| sink.emit(&crate::output::Event::Warning(msg.to_string()));
        answers.push((play, super::prompt::answers(play, &opts.extra_vars, interactive, &mut warn)));
    }
    if let Some(plan) = saved {
        let path = args.plan.clone().unwrap_or_default();
        let run = super::plan_file::Run { inventory: &inventory, playbooks: &playbooks, answers: &answers };
        let code = super::plan_file::apply(&plan, &path, &run, &opts, sink.as_ref(), args)?;
        reports.finish();
        return Ok(code);
    }
    let mut runner = new_runner(&inventory, &opts, sink.as_ref(), &answers)?;
    // `meta: refresh_inventory` reads the sources as this command did above.
    let (sources, pbs) = (&args.common.inventory, &playbooks);
    let reload_settings = &settings;
    runner = runner.with_inventory_reload(Box::new(move || {
        let mut inv = super::load_inventory(sources, reload_settings).map_err(|e| e.to_string())?;
        for pb in pbs {
            inv.add_playbook_vars_dirs(&executor::playbook_dir(pb)).map_err(|e| e.to_string())?;
        }
        Ok(inv)
    }));
    if args.step {
        runner = runner.with_stepper(Box::new(StdinStepper::default()));
    }
    if args.plan_out.is_some() {
        runner = runner.with_plan(crate::plan::PlanMode::Record(crate::plan::Recorder::default()));
    }
    let outcome = runner.run(&playbooks);
    let recorded = runner.take_plan();
    drop(runner);
    if let (Some(out), Some(crate::plan::PlanMode::Record(rec))) = (&args.plan_out, recorded) {
        let inputs = super::plan_file::inputs(args, &paths, &playbooks, &opts);
        let order: Vec<String> = outcome.stats.iter().map(|(h, _)| h.clone()).collect();
        let plan = crate::plan::Plan {
            format: crate::plan::FORMAT.into(),
            version: crate::plan::VERSION,
            inputs,
            hosts: rec.into_hosts(&order),
        };
        super::plan_file::write(out, &plan)?;
        sink.emit(&crate::output::Event::PlanSummary {
            path: out.display().to_string(),
            hosts: crate::plan::summarize(&plan.hosts),
        });
    }
    reports.finish();
    Ok(outcome.exit_code(opts.check, args.common.detailed_exitcode))
}

/// A runner for `opts`, given each play's `vars_prompt` answers.
pub(super) fn new_runner<'a>(
    inventory: &'a crate::inventory::Inventory,
    opts: &'a executor::Options,
    sink: &'a dyn crate::output::EventSink,
    answers: &[(&crate::playbook::Play, serde_json::Map<String, serde_json::Value>)],
) -> Result<Runner<'a>> {
    let mut runner = Runner::new(inventory, opts, sink)?;
    for (play, a) in answers {
        if !a.is_empty() {
            runner = runner.with_prompted(play, a.clone());
        }
    }
    Ok(runner)
}

/// `--step`'s question, asked on stderr and answered on stdin (a terminal, or answers piped in):
/// `y`/`yes` runs the task, `c`/`continue` runs it and stops asking, anything else skips it (as in
/// Ansible, No is the default). At the end of stdin every remaining task is skipped, said once.
#[derive(Default)]
struct StdinStepper {
    ended: std::sync::atomic::AtomicBool,
}

impl executor::Stepper for StdinStepper {
    fn ask(&self, task: &str) -> executor::Step {
        use std::io::{BufRead, Write};
        use std::sync::atomic::Ordering;
        if self.ended.load(Ordering::SeqCst) {
            return executor::Step::No;
        }
        let mut err = std::io::stderr();
        let _ = write!(err, "Perform task: {task} (N)o/(y)es/(c)ontinue: ");
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => {
                self.ended.store(true, Ordering::SeqCst);
                let _ = writeln!(err, "\n[WARNING]: --step: no more answers on stdin; skipping the remaining tasks");
                executor::Step::No
            }
            Ok(_) => match line.trim().to_ascii_lowercase().as_str() {
                "y" | "yes" => executor::Step::Yes,
                "c" | "continue" => executor::Step::Continue,
                _ => executor::Step::No,
            },
        }
    }
}

/// The flags given that choose hosts, variables or tasks: they mean nothing for the built-in
/// quickstart, so with them and no playbook the user most likely forgot to name it.
fn targeting_flags(args: &PlayArgs) -> Vec<&'static str> {
    let c = &args.common;
    let flags = [
        (!c.inventory.is_empty(), "-i/--inventory"),
        (c.limit.is_some(), "-l/--limit"),
        (!c.extra_vars.is_empty(), "-e/--extra-vars"),
        (!args.tags.is_empty(), "-t/--tags"),
        (!args.skip_tags.is_empty(), "--skip-tags"),
        (args.start_at_task.is_some(), "--start-at-task"),
        (c.user.is_some(), "-u/--user"),
        (c.r#become, "-b/--become"),
        (c.become_user.is_some(), "--become-user"),
        (c.connection.is_some(), "-c/--connection"),
        (c.ask_become_pass, "-K/--ask-become-pass"),
    ];
    flags.iter().filter(|(given, _)| *given).map(|(_, name)| *name).collect()
}

/// `--list-hosts`, `--list-tasks`, `--list-tags` for one playbook, read off the compiled plays:
/// each task's tags are its own merged with those of its play, blocks and roles.
fn listing(pb: &Playbook, inv: &crate::inventory::Inventory, opts: &executor::Options, args: &PlayArgs) -> String {
    let mut out = format!("\nplaybook: {}\n", pb.path.display());
    for (n, play) in pb.plays.iter().enumerate() {
        out.push_str(&format!(
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            n + 1,
            play.hosts,
            play.name,
            play.kw.tags.join(", ")
        ));
        if args.list_hosts {
            let mut hosts = inv.select(&play.hosts).unwrap_or_default();
            if let Some(l) = &opts.limit {
                hosts = inv.limit(hosts, l).unwrap_or_default();
            }
            out.push_str(&format!("    pattern: ['{}']\n    hosts ({}):\n", play.hosts, hosts.len()));
            for h in hosts {
                out.push_str(&format!("      {h}\n"));
            }
        }
        if args.list_tasks || args.list_tags {
            let mut lines = Vec::new();
            let mut all_tags = Vec::new();
            for t in play.all_tasks() {
                if matches!(t.body, TaskBody::Block { .. }) || !opts.tags.selects(&t.kw.tags) {
                    continue;
                }
                all_tags.extend(t.kw.tags.iter().cloned());
                lines.push(format!("{}\tTAGS: [{}]", t.display_name(), t.kw.tags.join(", ")));
            }
            if args.list_tasks {
                out.push_str("    tasks:\n");
                for l in lines {
                    out.push_str(&format!("      {l}\n"));
                }
            }
            if args.list_tags {
                all_tags.sort();
                all_tags.dedup();
                out.push_str(&format!("      TASK TAGS: [{}]\n", all_tags.join(", ")));
            }
        }
    }
    out
}
