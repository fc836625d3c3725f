//! `meta`: acts on the run itself (handlers, ending the play or a host, connections). The play
//! runner carries it out (executor/play.rs); this type says which actions exist, and the same
//! [`MetaAction`] is what the up-front check accepts and what the run matches on, so an action
//! accepted before the run is never ignored by it.

use serde_json::{Map, Value};

use super::{Arg, EngineAction, Runs};
use orc_modules::doc::ModuleText;

/// `meta: ACTION`.
#[derive(Debug)]
pub struct Meta;

/// One `meta:` action orc carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAction {
    /// Run the handlers notified so far.
    FlushHandlers,
    /// End the play for every host.
    EndPlay,
    /// End the play for this host.
    EndHost,
    /// End the current `serial` batch.
    EndBatch,
    /// Nothing.
    Noop,
    /// Put failed hosts back in play.
    ClearHostErrors,
    /// Forget the gathered facts.
    ClearFacts,
    /// Close the host's connection; the next task opens a new one.
    ResetConnection,
    /// Read the inventory sources again, keeping what add_host and group_by added.
    RefreshInventory,
}

impl MetaAction {
    /// Every action's name, in [`MetaAction`]'s order.
    pub const NAMES: &'static [&'static str] = &[
        "flush_handlers",
        "end_play",
        "end_host",
        "end_batch",
        "noop",
        "clear_host_errors",
        "clear_facts",
        "reset_connection",
        "refresh_inventory",
    ];

    /// The action `name` names.
    pub fn parse(name: &str) -> Option<MetaAction> {
        use MetaAction::*;
        Some(match name {
            "flush_handlers" => FlushHandlers,
            "end_play" => EndPlay,
            "end_host" => EndHost,
            "end_batch" => EndBatch,
            "noop" => Noop,
            "clear_host_errors" => ClearHostErrors,
            "clear_facts" => ClearFacts,
            "reset_connection" => ResetConnection,
            "refresh_inventory" => RefreshInventory,
            _ => return None,
        })
    }

    /// The action a `meta` task's arguments name.
    pub fn of_args(args: &Map<String, Value>) -> Option<MetaAction> {
        args.get("_raw_params").and_then(Value::as_str).and_then(|s| MetaAction::parse(s.trim()))
    }
}

const ARGS: &[Arg] = &[(
    "_raw_params",
    true,
    "The action: flush_handlers, end_play, end_host, end_batch, noop, clear_host_errors, clear_facts, reset_connection, refresh_inventory.",
)];

impl EngineAction for Meta {
    fn name(&self) -> &'static str {
        "meta"
    }

    fn args(&self) -> Option<&'static [Arg]> {
        Some(ARGS)
    }

    fn free_form(&self) -> bool {
        true
    }

    fn runs(&self) -> Runs {
        Runs::Play
    }

    fn text(&self) -> ModuleText {
        ModuleText {
            short: "Acts on the run itself: runs notified handlers now, ends the play or the host...",
            notes: "`refresh_inventory` reads the inventory sources again and adds back what add_host and group_by added. `end_role` is not supported: orc refuses it before the run.",
            returns: &[],
            example: "- ansible.builtin.meta: flush_handlers\n",
        }
    }

    fn check(&self, args: &Map<String, Value>) -> Result<(), String> {
        let what = args.get("_raw_params").map(crate::yaml::display).unwrap_or_default();
        if MetaAction::of_args(args).is_some() {
            return Ok(());
        }
        let why = match what.as_str() {
            "end_role" => " (orc does not support it yet)",
            _ => "",
        };
        Err(format!("invalid meta action '{what}'{why}; valid meta actions are {}", MetaAction::NAMES.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_to_its_action() {
        for (i, n) in MetaAction::NAMES.iter().enumerate() {
            let a = MetaAction::parse(n).unwrap_or_else(|| panic!("{n}"));
            assert_eq!(MetaAction::NAMES.iter().position(|x| MetaAction::parse(x) == Some(a)), Some(i));
        }
        assert_eq!(MetaAction::parse("refresh_inventory"), Some(MetaAction::RefreshInventory));
        assert_eq!(MetaAction::parse("end_role"), None);
    }
}
