//! `no_log` scopes: while a `no_log: true` task runs on a thread, what that thread traces
//! (commands, module arguments at `-vvv`) is replaced by one line saying it was hidden, so the
//! task's values reach no output (docs/vault.md).

use std::cell::Cell;

thread_local! {
    static NO_LOG: Cell<usize> = const { Cell::new(0) };
}

/// What a trace line of a `no_log` task is replaced with.
pub const NO_LOG_TRACE: &str = "(a trace line of a task with 'no_log: true' is hidden)\n";

/// Marks the current thread as running a `no_log` task until dropped.
#[must_use = "the scope ends when the guard is dropped"]
pub struct NoLogScope {
    active: bool,
}

impl NoLogScope {
    /// Enters a `no_log` scope when `no_log` is true (nothing otherwise).
    pub fn enter(no_log: bool) -> NoLogScope {
        if no_log {
            NO_LOG.with(|n| n.set(n.get() + 1));
        }
        NoLogScope { active: no_log }
    }
}

impl Drop for NoLogScope {
    fn drop(&mut self) {
        if self.active {
            NO_LOG.with(|n| n.set(n.get().saturating_sub(1)));
        }
    }
}

/// Whether the current thread is running a `no_log` task.
pub fn in_no_log() -> bool {
    NO_LOG.with(|n| n.get() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_end() {
        assert!(!in_no_log());
        {
            let _a = NoLogScope::enter(true);
            let _b = NoLogScope::enter(false);
            assert!(in_no_log());
        }
        assert!(!in_no_log());
    }
}
