//! `gather_facts` as a task (`ansible.builtin.gather_facts`): runs the fact gathering `setup`
//! does, as Ansible's gather_facts action runs its fact modules. `parallel` is accepted (orc runs
//! one fact module, so there is nothing to run in parallel).

use serde::Deserialize;

use super::setup::{Setup, SetupArgs};
use crate::contract::{ArgError, ModuleCtx, RunResult, TypedModule};
use crate::doc::ModuleText;

/// `gather_facts` arguments: Ansible's `parallel`, plus the `setup` arguments its action plugin
/// passes on to the fact module.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct GatherFactsArgs {
    /// Whether to run several fact modules at once; accepted and ignored (orc gathers with one).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub parallel: Option<bool>,
    /// Which fact groups, as `setup`'s `gather_subset`.
    #[serde(default = "all", deserialize_with = "crate::args::list")]
    pub gather_subset: Vec<String>,
    /// Shell-style globs on fact names, as `setup`'s `filter`.
    #[serde(default, deserialize_with = "crate::args::list")]
    pub filter: Vec<String>,
    /// The directory of local facts, as `setup`'s `fact_path`.
    #[serde(default = "default_fact_path", deserialize_with = "crate::args::string")]
    pub fact_path: String,
}

fn all() -> Vec<String> {
    vec!["all".into()]
}

fn default_fact_path() -> String {
    "/etc/ansible/facts.d".into()
}

impl GatherFactsArgs {
    fn setup_args(self) -> SetupArgs {
        SetupArgs { gather_subset: self.gather_subset, filter: self.filter, fact_path: self.fact_path }
    }
}

/// The `gather_facts` module.
pub struct GatherFacts;

impl TypedModule for GatherFacts {
    type Args = GatherFactsArgs;
    const NAME: &'static str = "gather_facts";

    const DOC: ModuleText = ModuleText {
        short: "Gathers facts about the host as a task, as the play's fact gathering does (it runs `setup`).",
        notes: "`gather_subset`, `filter` and `fact_path` are passed to `setup`, as Ansible's gather_facts action \
                passes them to its fact modules. `parallel` is accepted and changes nothing: orc gathers with one \
                fact module. Never changes anything.",
        returns: &[("ansible_facts", "The facts, as `setup` returns them.")],
        example: "- name: Gather the distribution facts\n  \
                  ansible.builtin.gather_facts:\n    \
                  gather_subset: distribution\n",
    };

    fn check_args(a: &GatherFactsArgs) -> Result<(), ArgError> {
        let probe = SetupArgs {
            gather_subset: a.gather_subset.clone(),
            filter: a.filter.clone(),
            fact_path: a.fact_path.clone(),
        };
        Setup::check_args(&probe)
    }

    fn run(&self, a: GatherFactsArgs, ctx: &mut ModuleCtx) -> RunResult {
        Setup.run(a.setup_args(), ctx)
    }
}
