//! The threads a task's hosts run on: at most `--forks` at once, each thread taking the next
//! host from one shared queue until none is left; results come back in the items' order.
//!
//! Not a work-stealing pool. A host's task spends most of its time waiting for the host, so a
//! run has as many threads as hosts (up to `--forks`); with rayon's pool, every thread that ran
//! out of work searched every other thread's queue (and walked crossbeam's epoch list of every
//! thread) before sleeping, once per task: controller CPU per task and host grew with the number
//! of hosts (a fifth of orc's CPU at 200 hosts, measured with perf; docs/performance.md, "Scale").
//! Here a thread that finds the queue empty ends.

use std::sync::{Mutex, MutexGuard};

/// How many hosts run at once.
#[derive(Debug, Clone, Copy)]
pub struct Workers {
    threads: usize,
}

impl Workers {
    /// At most `threads` hosts at once (at least one).
    pub fn new(threads: usize) -> Workers {
        Workers { threads: threads.max(1) }
    }

    /// Runs `f` on every item, at most `threads` at once, and returns the results in the order of
    /// `items`. One item (or one thread) runs on the calling thread. When the system refuses a
    /// thread, the threads already started do the work (the caller's, if none started).
    pub fn map<T: Send, R: Send>(&self, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
        let n = items.len();
        let threads = self.threads.min(n);
        if threads <= 1 {
            return items.into_iter().map(f).collect();
        }
        let queue = Mutex::new(items.into_iter().enumerate());
        let results: Mutex<Vec<Option<R>>> = Mutex::new((0..n).map(|_| None).collect());
        let work = || loop {
            let next = lock(&queue).next();
            let Some((i, item)) = next else { break };
            let r = f(item);
            lock(&results)[i] = Some(r);
        };
        std::thread::scope(|s| {
            let mut started = 0;
            for _ in 0..threads {
                if std::thread::Builder::new().spawn_scoped(s, work).is_err() {
                    break;
                }
                started += 1;
            }
            if started == 0 {
                work();
            }
        });
        let results = match results.into_inner() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        results.into_iter().flatten().collect()
    }
}

/// A lock that a panicked holder does not make unusable (the panic itself is propagated by
/// `std::thread::scope`).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn results_come_back_in_the_items_order() {
        let out = Workers::new(4).map((0..50).collect(), |i: u32| {
            std::thread::sleep(Duration::from_millis(u64::from(50 - i) % 7));
            i * 2
        });
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn no_more_than_threads_run_at_once_and_they_do_run_in_parallel() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        Workers::new(3).map((0..12).collect(), |_: u32| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(20));
            running.fetch_sub(1, Ordering::SeqCst);
        });
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn one_item_runs_on_the_calling_thread_and_many_on_others() {
        let me = std::thread::current().id();
        let one = Workers::new(8).map(vec![()], |_| std::thread::current().id());
        assert_eq!(one, [me]);
        let many: HashSet<_> = Workers::new(8)
            .map(vec![(); 8], |_| {
                std::thread::sleep(Duration::from_millis(10));
                std::thread::current().id()
            })
            .into_iter()
            .collect();
        assert!(!many.contains(&me) && many.len() > 1);
    }
}
