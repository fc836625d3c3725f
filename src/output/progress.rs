//! The progress bar shown on a terminal while a task runs on many hosts: hosts done out of hosts
//! running, and the time the task has taken. Cleared before the task's results are printed, so the
//! printed lines stay exactly Ansible's.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::events::{Event, EventSink};

/// Draws an indicatif bar on stderr for the running task; does nothing with other events.
pub struct ProgressSink {
    bar: Mutex<Option<ProgressBar>>,
    task: Mutex<String>,
}

impl Default for ProgressSink {
    fn default() -> Self {
        Self::new()
    }
}

impl ProgressSink {
    /// A sink with no bar yet; bars appear for tasks that take long enough to be worth one.
    pub fn new() -> ProgressSink {
        ProgressSink { bar: Mutex::new(None), task: Mutex::new(String::new()) }
    }

    fn clear(&self) {
        if let Ok(mut bar) = self.bar.lock() {
            if let Some(b) = bar.take() {
                b.finish_and_clear();
            }
        }
    }
}

impl EventSink for ProgressSink {
    fn emit(&self, event: &Event) {
        match event {
            Event::TaskStart { name, .. } => {
                self.clear();
                if let Ok(mut t) = self.task.lock() {
                    *t = name.clone();
                }
            }
            Event::Progress { done, total } => {
                let Ok(mut slot) = self.bar.lock() else { return };
                let bar = slot.get_or_insert_with(|| {
                    let b = ProgressBar::with_draw_target(Some(*total as u64), ProgressDrawTarget::stderr());
                    let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} hosts {elapsed}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> ");
                    b.set_style(style);
                    b.set_message(self.task.lock().map(|t| t.clone()).unwrap_or_default());
                    b.enable_steady_tick(Duration::from_millis(120));
                    b
                });
                bar.set_position(*done as u64);
            }
            // Anything else is about to be printed: get the bar out of its way.
            _ => self.clear(),
        }
    }
}
