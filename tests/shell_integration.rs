//! `orc completions` and `orc man` (issue 13, acceptance 5): both are generated from the clap
//! definitions, and this test holds them to clap's model of the command line: every subcommand
//! and every long flag (visible aliases included) appears in the bash completion, in the block of
//! its own command, and in the man page, in the section of its own command.

mod common;

use clap::CommandFactory;
use common::{Orc, Project};

/// A command of the tree: its path under `orc` (`["vault", "create"]`), its subcommands' names and
/// its long flags (with their visible aliases).
struct Node {
    path: Vec<String>,
    subcommands: Vec<String>,
    long_flags: Vec<String>,
}

/// Every command of clap's model of orc, `orc` itself first; clap's generated `help` subcommands
/// are left out (no page documents them; the completion offers them anyway).
fn model() -> Vec<Node> {
    let mut cmd = orc::cli::Cli::command();
    cmd.build();
    let mut nodes = Vec::new();
    walk(&cmd, Vec::new(), &mut nodes);
    nodes
}

fn walk(cmd: &clap::Command, path: Vec<String>, nodes: &mut Vec<Node>) {
    let subs: Vec<&clap::Command> =
        cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help").collect();
    let mut long_flags = Vec::new();
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        if let Some(l) = arg.get_long() {
            long_flags.push(l.to_string());
        }
        long_flags.extend(arg.get_visible_aliases().unwrap_or_default().iter().map(|a| a.to_string()));
    }
    nodes.push(Node {
        path: path.clone(),
        subcommands: subs.iter().map(|s| s.get_name().to_string()).collect(),
        long_flags,
    });
    for s in subs {
        let mut p = path.clone();
        p.push(s.get_name().to_string());
        walk(s, p, nodes);
    }
}

#[test]
fn the_model_has_what_the_test_relies_on() {
    // Guards the walk itself: a model that lost commands or flags would make the tests below
    // vacuous.
    let nodes = model();
    let names: Vec<String> = nodes.iter().map(|n| n.path.join(" ")).collect();
    for want in ["", "play", "run", "vault", "vault encrypt_string", "completions", "man"] {
        assert!(names.contains(&want.to_string()), "{want:?} missing from {names:?}");
    }
    let play = nodes.iter().find(|n| n.path == ["play"]).unwrap();
    for flag in ["junit", "check", "key-file", "private-key", "help", "version"] {
        assert!(play.long_flags.contains(&flag.to_string()), "{flag} missing from {:?}", play.long_flags);
    }
}

#[test]
fn bash_completion_lists_every_subcommand_and_long_flag_of_each_command() {
    let script = Orc::new().args(["completions", "bash"]).run().success().stdout;
    // clap_complete's bash script: one `case` branch per command, named after its path, whose
    // `opts` are the words offered there.
    for node in model() {
        let branch = if node.path.is_empty() {
            "orc)".to_string()
        } else {
            format!("orc__subcmd__{})", node.path.join("__subcmd__"))
        };
        let start = script
            .lines()
            .position(|l| l.trim() == branch)
            .unwrap_or_else(|| panic!("no branch {branch} in the bash completion:\n{script}"));
        let opts = script
            .lines()
            .skip(start)
            .find_map(|l| l.trim().strip_prefix("opts=\""))
            .unwrap_or_else(|| panic!("no opts after {branch}"));
        let words: Vec<&str> = opts.trim_end_matches('"').split_whitespace().collect();
        for sub in &node.subcommands {
            assert!(
                words.contains(&sub.as_str()),
                "`orc {}`: subcommand {sub} not offered: {opts}",
                node.path.join(" ")
            );
        }
        for flag in &node.long_flags {
            let flag = format!("--{flag}");
            assert!(words.contains(&flag.as_str()), "`orc {}`: {flag} not offered: {opts}", node.path.join(" "));
        }
    }
}

#[test]
fn bash_completion_completes_in_bash() {
    let p = Project::new();
    let script = Orc::new().args(["completions", "bash"]).run().success().stdout;
    std::fs::write(p.join("orc.bash"), &script).unwrap();
    // As bash calls the function when TAB is pressed after `orc play --ju` and `orc vault enc`.
    let probe = r#"source ./orc.bash
COMP_WORDS=(orc play --ju); COMP_CWORD=2; _orc orc --ju play; echo "play: ${COMPREPLY[*]}"
COMP_WORDS=(orc vault enc); COMP_CWORD=2; _orc orc enc vault; echo "vault: ${COMPREPLY[*]}"
COMP_WORDS=(orc ma); COMP_CWORD=1; _orc orc ma orc; echo "top: ${COMPREPLY[*]}""#;
    let out = std::process::Command::new("bash").arg("-c").arg(probe).current_dir(p.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("play: --junit\n"), "{stdout}");
    assert!(stdout.contains("vault: encrypt encrypt_string\n"), "{stdout}");
    assert!(stdout.contains("top: man\n"), "{stdout}");
}

#[test]
fn zsh_and_fish_completions_name_every_long_flag() {
    for shell in ["zsh", "fish"] {
        let script = Orc::new().args(["completions", shell]).run().success().stdout;
        for node in model() {
            for sub in &node.subcommands {
                assert!(script.contains(sub.as_str()), "{shell}: subcommand {sub} missing");
            }
            for flag in &node.long_flags {
                // zsh writes `--flag`, fish `-l flag`.
                let found = script.contains(&format!("--{flag}")) || script.contains(&format!("-l {flag}"));
                assert!(found, "{shell}: `orc {}` --{flag} missing", node.path.join(" "));
            }
        }
    }
    Orc::new().args(["completions", "tcsh"]).run().code(64);
}

/// The man page's text for one command: from its `.SS "orc PATH"` heading to the next heading.
fn man_section<'a>(page: &'a str, path: &[String]) -> &'a str {
    if path.is_empty() {
        let end = page.find(".SH COMMANDS").expect("a COMMANDS section");
        return &page[..end];
    }
    let heading = format!(".SS \"orc {}\"\n", path.join(" "));
    let start = page.find(&heading).unwrap_or_else(|| panic!("no {heading:?} in the man page"));
    let rest = &page[start + heading.len()..];
    let end = [rest.find(".SS "), rest.find(".SH ")].into_iter().flatten().min().unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn man_page_documents_every_command_and_long_flag_in_its_section() {
    let page = Orc::new().arg("man").run().success().stdout;
    assert!(page.starts_with(".ie") || page.starts_with(".TH"), "not a roff page:\n{page}");
    assert!(page.contains(".TH orc 1"), "{page}");
    for node in model() {
        let section = man_section(&page, &node.path);
        for flag in &node.long_flags {
            // roff writes a hyphen as `\-`.
            let roff = format!("\\-\\-{}", flag.replace('-', "\\-"));
            assert!(
                section.contains(&roff),
                "`orc {}`: --{flag} missing from its man section:\n{section}",
                node.path.join(" ")
            );
        }
    }
}

#[test]
fn man_page_renders_and_dir_writes_one_page_per_command() {
    let p = Project::new();
    Orc::new().args(["man", "--dir"]).arg(p.join("man")).run().success();
    let mut pages: Vec<String> = std::fs::read_dir(p.join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut want: Vec<String> = model()
        .iter()
        .map(|n| if n.path.is_empty() { "orc.1".into() } else { format!("orc-{}.1", n.path.join("-")) })
        .collect();
    want.sort();
    assert_eq!(pages, want);
    let vault_create = std::fs::read_to_string(p.join("man/orc-vault-create.1")).unwrap();
    assert!(vault_create.contains("\\-\\-encrypt\\-vault\\-id"), "{vault_create}");
    // groff (when installed) formats the page without a warning.
    let page = Orc::new().arg("man").run().success().stdout;
    std::fs::write(p.join("orc.1"), page).unwrap();
    if let Ok(out) =
        std::process::Command::new("groff").args(["-man", "-Tutf8", "-ww", "-z"]).arg(p.join("orc.1")).output()
    {
        assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&out.stderr));
    }
}
