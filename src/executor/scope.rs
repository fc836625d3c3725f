//! Where in the run a task list is being run. Keywords are not here: every compiled task carries
//! its own, merged from the play, blocks and roles around it (`playbook::Keywords::inherit`).

/// The run-time position of a task list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope {
    /// Running handlers.
    pub handler: bool,
    /// How many include_tasks/include_role deep this is (bounded, so an include loop fails).
    pub include_depth: usize,
}
