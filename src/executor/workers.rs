//! The threads a task's hosts run on: at most `--forks` at once, each taking the next host from
//! one shared queue until none is left; results come back in the items' order.
//!
//! Not a work-stealing pool. A host's task spends most of its time waiting for the host, so a
//! run has as many threads as hosts (up to `--forks`); with rayon's pool, every thread that ran
//! out of work searched every other thread's queue (and walked crossbeam's epoch list of every
//! thread) before sleeping, once per task: controller CPU per task and host grew with the number
//! of hosts (a fifth of orc's CPU at 200 hosts, measured with perf; docs/performance.md, "Scale").
//! Here a thread that finds the queue empty goes back to waiting for the next task.
//!
//! The threads live for the whole run (started when a task first needs them): starting N
//! threads for every task cost the kernel a clone, a new stack and its page faults per task and
//! host (docs/performance.md, "Scale", next steps). A `map` called from one of these threads (a
//! host of the free strategy running its own tasks) runs on threads of its own, as before, so
//! that it never waits for a thread that is waiting for it.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// A piece of work for a pool thread, its borrows erased (see [`Workers::map`]).
type Job = Box<dyn FnOnce() + Send + 'static>;

thread_local! {
    /// This thread is one of a pool's threads.
    static IN_POOL: Cell<bool> = const { Cell::new(false) };
}

/// How many hosts run at once, and the threads they run on.
#[derive(Debug)]
pub struct Workers {
    threads: usize,
    pool: Mutex<Pool>,
}

/// The run's threads: each takes jobs from one channel until the channel closes (the `Workers`
/// is dropped with the run).
#[derive(Debug)]
struct Pool {
    jobs: Option<Sender<Job>>,
    queue: Arc<Mutex<Receiver<Job>>>,
    started: usize,
}

/// What the caller of `map` waits for: the number of jobs not finished yet and the first panic.
/// Shared through an `Arc`, so a job may still touch it after the caller returned.
#[derive(Default)]
struct Done {
    state: Mutex<(usize, Option<Box<dyn Any + Send>>)>,
    cv: Condvar,
}

impl Workers {
    /// At most `threads` hosts at once (at least one).
    pub fn new(threads: usize) -> Workers {
        let (tx, rx) = channel();
        Workers {
            threads: threads.max(1),
            pool: Mutex::new(Pool { jobs: Some(tx), queue: Arc::new(Mutex::new(rx)), started: 0 }),
        }
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
        if IN_POOL.with(Cell::get) {
            scoped(threads, &work);
        } else {
            self.on_pool(threads, &work);
        }
        let results = match results.into_inner() {
            Ok(r) => r,
            Err(poisoned) => poisoned.into_inner(),
        };
        results.into_iter().flatten().collect()
    }

    /// Runs `work` on `threads` of the pool's threads at once and returns when every one of them
    /// is done with it (then propagates a panic of `work`).
    fn on_pool(&self, threads: usize, work: &(dyn Fn() + Sync)) {
        let available = self.grow(threads);
        if available == 0 {
            work();
            return;
        }
        let done = Arc::new(Done::default());
        lock(&done.state).0 = threads;
        let sent = {
            let pool = lock(&self.pool);
            let Some(jobs) = pool.jobs.as_ref() else {
                drop(pool);
                work();
                return;
            };
            let mut sent = 0;
            for _ in 0..threads {
                let job: Box<dyn FnOnce() + Send + '_> = {
                    let done = done.clone();
                    Box::new(move || {
                        let panicked = catch_unwind(AssertUnwindSafe(work)).err();
                        // `work` is not touched after this point: the caller may return.
                        let mut state = lock(&done.state);
                        state.0 -= 1;
                        if state.1.is_none() {
                            state.1 = panicked;
                        }
                        done.cv.notify_all();
                    })
                };
                // SAFETY: the job borrows `work` (and what it borrows) from this call's caller;
                // this function does not return before every job it sent has run to the end of
                // its last use of `work` (the count in `done`, waited for below, also when a job
                // panicked: it is caught), and a job that could not be sent is dropped unrun.
                let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
                if jobs.send(job).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        };
        let mut state = lock(&done.state);
        state.0 -= threads - sent;
        if sent == 0 {
            drop(state);
            work();
            return;
        }
        while state.0 > 0 {
            state = done.cv.wait(state).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if let Some(panic) = state.1.take() {
            drop(state);
            resume_unwind(panic);
        }
    }

    /// Starts pool threads until there are `wanted` (or the system refuses one); returns how many
    /// there are.
    fn grow(&self, wanted: usize) -> usize {
        let mut pool = lock(&self.pool);
        while pool.started < wanted {
            let queue = pool.queue.clone();
            let spawned = std::thread::Builder::new().name("orc-host".into()).spawn(move || {
                IN_POOL.with(|c| c.set(true));
                loop {
                    let job = lock(&queue).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            });
            if spawned.is_err() {
                break;
            }
            pool.started += 1;
        }
        pool.started
    }
}

impl Drop for Workers {
    /// Closes the channel: the pool's threads end once they are idle.
    fn drop(&mut self) {
        lock(&self.pool).jobs = None;
    }
}

/// Runs `work` on `threads` threads started for this call only (a `map` inside a pool thread).
fn scoped(threads: usize, work: &(dyn Fn() + Sync)) {
    std::thread::scope(|s| {
        let mut started = 0;
        for _ in 0..threads {
            let run = || {
                // Below a pool thread, nothing uses the pool (see the module's comment).
                IN_POOL.with(|c| c.set(true));
                work();
            };
            if std::thread::Builder::new().spawn_scoped(s, run).is_err() {
                break;
            }
            started += 1;
        }
        if started == 0 {
            work();
        }
    });
}

/// A lock that a panicked holder does not make unusable (a panic of the work itself is
/// propagated by `map`).
fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

    #[test]
    fn the_same_threads_serve_every_map() {
        let w = Workers::new(4);
        let mut seen = HashSet::new();
        for _ in 0..20 {
            let ids = w.map(vec![(); 4], |_| {
                std::thread::sleep(Duration::from_millis(2));
                std::thread::current().id()
            });
            seen.extend(ids);
        }
        // 20 tasks of 4 hosts: the pool's 4 threads, not 80.
        assert!(seen.len() <= 4, "{} threads", seen.len());
    }

    #[test]
    fn a_map_inside_a_pool_thread_does_not_wait_for_the_pool() {
        let w = Workers::new(2);
        // Both pool threads are busy with the outer map while their inner maps run.
        let out = w.map(vec![1u32, 2], |i| w.map(vec![i, i * 10, i * 100], |j| j + 1).into_iter().sum::<u32>());
        assert_eq!(out, vec![114, 225]);
    }

    #[test]
    fn a_panic_in_the_work_reaches_the_caller_and_the_pool_still_works() {
        let w = Workers::new(3);
        let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
            w.map((0..6).collect(), |i: u32| {
                if i == 4 {
                    panic!("boom");
                }
                i
            })
        }));
        assert!(r.is_err());
        assert_eq!(w.map((0..6).collect(), |i: u32| i * 3), vec![0, 3, 6, 9, 12, 15]);
    }
}
