//! `vars_prompt`: the questions a play asks before it runs, asked here (the command layer is the
//! only place besides main that reads the terminal). Without a terminal on stdin, as
//! ansible-playbook: no question, a warning, and each variable gets its default (as text). A
//! prompt with no default is where orc departs from Ansible on purpose: ansible-playbook sets the
//! variable to the text "None" and runs on; orc stops before anything ran (exit 3) and says to
//! pass the answer with `-e`.

use std::io::{BufRead, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::error::{OrcError, Result};
use crate::playbook::{Play, VarPrompt};

/// Refuses, before anything runs, a prompt no one can answer: stdin is not a terminal
/// (`interactive` false), the prompt has no default and `-e` does not give the variable.
pub fn check<'p>(
    plays: impl IntoIterator<Item = &'p Play>,
    extra_vars: &Map<String, Value>,
    interactive: bool,
) -> Result<()> {
    if interactive {
        return Ok(());
    }
    let mut prompts = plays.into_iter().flat_map(|play| &play.vars_prompt);
    match prompts.find(|p| p.default.is_none() && !extra_vars.contains_key(&p.name)) {
        Some(p) => Err(unanswerable(p)),
        None => Ok(()),
    }
}

/// The answers to `play`'s prompts; variables given with `-e` are not asked. `interactive`:
/// stdin is a terminal the questions can be asked on; else each prompt takes its default (see
/// [`check`]) and `warn` receives Ansible's warning.
pub fn answers(
    play: &Play,
    extra_vars: &Map<String, Value>,
    interactive: bool,
    warn: &mut dyn FnMut(&str),
) -> Map<String, Value> {
    let unanswered: Vec<&VarPrompt> = play.vars_prompt.iter().filter(|p| !extra_vars.contains_key(&p.name)).collect();
    if !interactive && !unanswered.is_empty() {
        warn("Not prompting as we are not in interactive mode");
    }
    let mut out = Map::new();
    for p in unanswered {
        let value = if interactive { ask(p) } else { None };
        // As ansible-playbook, which turns the answer into text.
        let value = match value {
            Some(v) if !v.is_empty() => Value::String(v),
            _ => Value::String(p.default.as_ref().map(crate::yaml::display).unwrap_or_default()),
        };
        out.insert(p.name.clone(), value);
    }
    out
}

/// Whether stdin is a terminal the questions can be asked on.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// The error for a prompt that cannot be asked (no terminal) and has no default.
fn unanswerable(p: &VarPrompt) -> OrcError {
    OrcError::at(&p.loc, format!("vars_prompt '{}' needs an answer, but stdin is not a terminal to ask it on", p.name))
        .help(format!(
            "pass the answer on the command line (-e {}=VALUE), give the prompt a 'default:', or run orc \
         from a terminal (ansible-playbook would go on with the text \"None\" as the value)",
            p.name
        ))
}

/// Asks one question on the terminal (twice with `confirm`, until both answers match); `None`
/// when the terminal cannot be read.
fn ask(p: &VarPrompt) -> Option<String> {
    let question = match &p.default {
        Some(d) => format!("{} [{}]: ", p.prompt, crate::yaml::display(d)),
        None => format!("{}: ", p.prompt),
    };
    loop {
        let first = read(&question, p.private)?;
        if !p.confirm {
            return Some(first);
        }
        let second = read(&format!("confirm {question}"), p.private)?;
        if first == second {
            return Some(first);
        }
        eprintln!("***** VALUES ENTERED DO NOT MATCH ****");
    }
}

fn read(question: &str, private: bool) -> Option<String> {
    if private {
        return super::terminal::ask_hidden(question).ok().map(|p| p.to_string());
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Loc, SourceFile};
    use serde_json::json;

    fn play(prompts: &[(&str, Option<Value>)]) -> Play {
        let file = SourceFile::new("site.yml", "- hosts: all\n  vars_prompt: []\n");
        let loc = Loc::file_start(file);
        let mut play = Play::new("p".into(), "all".into(), loc.clone(), loc.clone(), ".".into());
        play.vars_prompt = prompts
            .iter()
            .map(|(name, default)| VarPrompt {
                name: name.to_string(),
                prompt: name.to_string(),
                default: default.clone(),
                private: false,
                confirm: false,
                loc: loc.clone(),
            })
            .collect();
        play
    }

    #[test]
    fn without_a_terminal_a_prompt_without_default_is_an_error_naming_the_way_out() {
        let p = play(&[("given", Some(json!("d"))), ("secret", None)]);
        let err = check([&p], &Map::new(), false).unwrap_err();
        assert_eq!(err.exit_code(), 3);
        let text = format!("{err:?}");
        assert!(text.contains("vars_prompt 'secret' needs an answer"), "{text}");
        assert!(text.contains("-e secret=VALUE"), "{text}");
        // Given with -e, or asked on a terminal: no error.
        let mut extra = Map::new();
        extra.insert("secret".into(), json!("x"));
        assert!(check([&p], &extra, false).is_ok());
        assert!(check([&p], &Map::new(), true).is_ok());
    }

    #[test]
    fn without_a_terminal_defaults_are_taken_as_text_with_a_warning() {
        let p = play(&[("n", Some(json!(5))), ("given", Some(json!("d")))]);
        let mut extra = Map::new();
        extra.insert("given".into(), json!("x"));
        let mut warnings = Vec::new();
        let got = answers(&p, &extra, false, &mut |w| warnings.push(w.to_string()));
        assert_eq!(Value::Object(got), json!({"n": "5"}));
        assert_eq!(warnings, ["Not prompting as we are not in interactive mode"]);
    }
}
