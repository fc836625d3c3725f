//! A bounded HTTP load client for lab tests: a few workers send `GET PATH` through a lab load
//! balancer, one new connection per request (HTTP/1.0), for the duration of a test
//! step, and count every request: total, non-2xx answers, connection errors (refused, reset,
//! timed out, cut short). Every request goes to the one lab address given (a lab host's address:
//! the project's own test hosts, never anything else); every loop is bounded in count and time.
//!
//! ```ignore
//! let load = Load::start(topology.lb_addr(), "/cgi-bin/host", Limits::default());
//! // ... the step under load ...
//! let report = load.finish(1000); // at least 1,000 requests, then stop
//! println!("{report}");           // "0 failed of 1234 (...)"
//! assert_eq!(report.failed(), 0, "{report}");
//! ```

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The bounds of one load run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Concurrent workers (each with one request in flight).
    pub workers: usize,
    /// Never more requests than this in all.
    pub max_requests: usize,
    /// Never longer than this.
    pub max_duration: Duration,
    /// How long one request may take (connect, send, answer).
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            workers: 4,
            max_requests: 20_000,
            max_duration: Duration::from_secs(600),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What a load run saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Requests sent.
    pub total: usize,
    /// Answers whose status was not 2xx.
    pub non_2xx: usize,
    /// Requests that got no complete answer (refused, reset, timed out, cut short).
    pub connection_errors: usize,
    /// How many 2xx answers had each body (the app names its version and host).
    pub bodies: BTreeMap<String, usize>,
    /// The first failures, described.
    pub failures: Vec<String>,
    /// How long the run lasted.
    pub elapsed: Duration,
}

impl Report {
    /// Failed requests: non-2xx answers and connection errors.
    pub fn failed(&self) -> usize {
        self.non_2xx + self.connection_errors
    }

    /// How many 2xx answers contained `needle`.
    pub fn answers_with(&self, needle: &str) -> usize {
        self.bodies.iter().filter(|(b, _)| b.contains(needle)).map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed of {} ({} non-2xx, {} connection errors) in {:.1} s",
            self.failed(),
            self.total,
            self.non_2xx,
            self.connection_errors,
            self.elapsed.as_secs_f64()
        )?;
        for (body, n) in &self.bodies {
            write!(f, "\n  {n:>6} x {}", body.trim())?;
        }
        for fail in &self.failures {
            write!(f, "\n  failure: {fail}")?;
        }
        Ok(())
    }
}

/// A load run in progress.
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    workers: Vec<JoinHandle<()>>,
    report: Arc<Mutex<Report>>,
    started: Instant,
    limits: Limits,
}

impl Load {
    /// Starts sending `GET path` to `addr` (a lab host's address) within `limits`.
    pub fn start(addr: SocketAddr, path: &str, limits: Limits) -> Load {
        assert!(is_lab_address(&addr), "the load client only sends to lab (private) addresses, not {addr}");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let report = Arc::new(Mutex::new(Report::default()));
        let started = Instant::now();
        let workers = (0..limits.workers.max(1))
            .map(|_| {
                let (stop, sent, report, path) = (stop.clone(), sent.clone(), report.clone(), path.to_string());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) && started.elapsed() < limits.max_duration {
                        if sent.fetch_add(1, Ordering::SeqCst) >= limits.max_requests {
                            break;
                        }
                        let outcome = request(addr, &path, limits.request_timeout);
                        let mut r = report.lock().unwrap();
                        r.total += 1;
                        match outcome {
                            Ok((status, body)) if (200..300).contains(&status) => {
                                *r.bodies.entry(body).or_default() += 1
                            }
                            Ok((status, body)) => {
                                r.non_2xx += 1;
                                if r.failures.len() < 10 {
                                    r.failures.push(format!("HTTP {status}: {}", body.trim()));
                                }
                            }
                            Err(e) => {
                                r.connection_errors += 1;
                                if r.failures.len() < 10 {
                                    r.failures.push(e);
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        Load { stop, sent, workers, report, started, limits }
    }

    /// Requests answered (or failed) so far.
    pub fn count(&self) -> usize {
        self.report.lock().unwrap().total
    }

    /// Lets the run go on until at least `min_requests` were sent (within its limits), then stops
    /// it and returns what it saw.
    pub fn finish(self, min_requests: usize) -> Report {
        while self.count() < min_requests
            && self.started.elapsed() < self.limits.max_duration
            && self.sent.load(Ordering::SeqCst) < self.limits.max_requests
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers {
            let _ = w.join();
        }
        let mut r = self.report.lock().unwrap().clone();
        r.elapsed = self.started.elapsed();
        r
    }
}

/// One request on a new connection: the status and body, or why there was no complete answer.
pub fn request(addr: SocketAddr, path: &str, timeout: Duration) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    // HTTP/1.0: one request per connection, and bodies never chunked.
    write!(s, "GET {path} HTTP/1.0\r\nHost: lab\r\nUser-Agent: orc-lab-load\r\n\r\n")
        .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("cut short: {text:?}"))?;
    let status: u16 =
        head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("not HTTP: {head:?}"))?;
    Ok((status, body.to_string()))
}

/// Lab hosts live on Docker's private bridge networks.
fn is_lab_address(addr: &SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.is_private(),
        std::net::IpAddr::V6(_) => false,
    }
}
