//! How many SSH connections orc opens at once.
//!
//! With `-f 500`, every host's worker starts its connection at the same moment. The TCP connect,
//! key exchange and authentication are CPU work on both ends (orc's side here, sshd's fork and
//! key exchange on the host), and when they all start together on a small controller, or against
//! hosts that share its cores, each one is slowed by all the others: some exceed the connect
//! timeout (`-T`, 10 s by default) although nothing is wrong with the host. Waiting in orc's own
//! queue is not the host's delay, so openings pass through a gate of [`limit`] slots and the
//! connect timeout starts when a connection's slot is granted. A few connections at a time per
//! core keep the controller busy without one opening starving the others; on a fleet far away,
//! where an opening is mostly waiting for round trips, the slots still let that many overlap.

use std::sync::{Condvar, Mutex, OnceLock};

/// Openings in progress at most: 8 per core the controller has, and at least 16.
pub fn limit() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 8).max(16)
}

/// A counting gate: [`Gate::enter`] waits until fewer than its limit are inside.
pub struct Gate {
    inside: Mutex<usize>,
    freed: Condvar,
    limit: usize,
}

/// A granted slot, given back when dropped.
pub struct Slot<'a>(&'a Gate);

impl Gate {
    /// A gate letting `limit` in at once (at least one).
    pub fn new(limit: usize) -> Self {
        Gate { inside: Mutex::new(0), freed: Condvar::new(), limit: limit.max(1) }
    }

    /// Waits for a free slot and takes it.
    pub fn enter(&self) -> Slot<'_> {
        let mut inside = self.inside.lock().unwrap_or_else(|p| p.into_inner());
        while *inside >= self.limit {
            inside = self.freed.wait(inside).unwrap_or_else(|p| p.into_inner());
        }
        *inside += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut inside = self.0.inside.lock().unwrap_or_else(|p| p.into_inner());
        *inside -= 1;
        self.0.freed.notify_one();
    }
}

/// The gate every SSH opening of this process passes (direct or through jump hosts).
pub fn gate() -> &'static Gate {
    static GATE: OnceLock<Gate> = OnceLock::new();
    GATE.get_or_init(|| Gate::new(limit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn no_more_than_the_limit_are_inside_at_once() {
        let gate = Arc::new(Gate::new(3));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..12)
            .map(|_| {
                let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
                std::thread::spawn(move || {
                    let _slot = gate.enter();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3, "all twelve passed, three at a time");
        assert_eq!(*gate.inside.lock().unwrap(), 0, "every slot was given back");
    }

    #[test]
    fn the_limit_grows_with_the_cores() {
        assert!(limit() >= 16);
        assert_eq!(Gate::new(0).limit, 1, "a gate always lets one in");
    }
}
