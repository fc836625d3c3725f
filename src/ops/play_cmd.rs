//! `orc play`: load, validate, then run playbooks.

use crate::cli::PlayArgs;
use crate::error::Result;
use crate::executor::{self, Runner, TagFilter};
use crate::playbook::{self, Playbook, Task, TaskBody};

/// Runs `orc play`; returns the exit code.
pub fn play(args: &PlayArgs) -> Result<i32> {
    let embedded;
    let paths = if args.playbooks.is_empty() {
        embedded = super::embedded::write_quickstart()?;
        vec![embedded]
    } else {
        args.playbooks.clone()
    };
    let mut inventory = super::load_inventory(&args.common.inventory)?;
    let mut playbooks: Vec<Playbook> = Vec::new();
    for p in &paths {
        if !p.is_file() {
            return Err(crate::error::OrcError::Usage(format!("the playbook {} does not exist", p.display())));
        }
        let pb = playbook::load_playbook(p)?;
        inventory.add_playbook_vars_dirs(&executor::playbook_dir(&pb))?;
        playbooks.push(pb);
    }
    let tags = TagFilter { only: args.tags.clone(), skip: args.skip_tags.clone() };
    let opts = super::options(&args.common, tags, args.start_at_task.clone())?;
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
    let sink = super::printer(&args.common);
    let runner = Runner::new(&inventory, &opts, sink.as_ref())?;
    let outcome = runner.run(&playbooks);
    Ok(outcome.exit_code(opts.check, args.common.detailed_exitcode))
}

fn listing(pb: &Playbook, inv: &crate::inventory::Inventory, opts: &executor::Options, args: &PlayArgs) -> String {
    let mut out = format!("\nplaybook: {}\n", pb.path.display());
    for (n, play) in pb.plays.iter().enumerate() {
        out.push_str(&format!(
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            n + 1,
            play.hosts,
            play.name,
            play.tags.join(", ")
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
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                walk(section, &play.tags, opts, &mut lines, &mut all_tags);
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

fn walk(
    tasks: &[Task],
    inherited: &[String],
    opts: &executor::Options,
    lines: &mut Vec<String>,
    all: &mut Vec<String>,
) {
    for t in tasks {
        let mut tags = inherited.to_vec();
        tags.extend(t.tags.iter().cloned());
        match &t.body {
            TaskBody::Block { block, rescue, always } => {
                for l in [block, rescue, always] {
                    walk(l, &tags, opts, lines, all);
                }
            }
            _ => {
                if opts.tags.selects(&tags) {
                    all.extend(tags.iter().cloned());
                    lines.push(format!("{}\tTAGS: [{}]", t.display_name(), tags.join(", ")));
                }
            }
        }
    }
}
