//! Benchmark: decrypting a 1 MiB vault file (issue 12 asks < 50 ms in release; PBKDF2's 10,000
//! iterations dominate). Not a test: it prints times, it asserts nothing about them.
//!
//! Run: `cargo bench --bench vault` (release profile). Prints min/median/max over 30 runs of
//! decrypting a 1 MiB file, of decrypting an empty one (the key derivation alone), of encrypting
//! 1 MiB, and of decrypting 1 MiB when a wrong password is tried first (two key derivations).

use std::time::{Duration, Instant};

use orc::vault::{encrypt, Keyring, Origin, VaultSecret};
use zeroize::Zeroizing;

const RUNS: usize = 30;

fn time(label: &str, mut f: impl FnMut()) {
    f(); // warm-up
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<52} min {:7.2} ms   median {:7.2} ms   max {:7.2} ms",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
}

fn main() {
    let mut rng = fastrand::Rng::with_seed(1);
    let plain: Vec<u8> = (0..1024 * 1024).map(|_| rng.u8(..)).collect();
    let secret = VaultSecret::new("default", Zeroizing::new(b"benchmark password".to_vec()));
    let origin = Origin::file("bench");
    let big = encrypt(&plain, &secret, "default", None, &origin).expect("encrypt 1 MiB");
    let empty = encrypt(b"", &secret, "default", None, &origin).expect("encrypt empty");
    let ring = Keyring::new(vec![secret.clone()], "default", false);
    // Same vault id, given first: tried first, fails at the HMAC.
    let wrong = VaultSecret::new("default", Zeroizing::new(b"not it".to_vec()));
    let two = Keyring::new(vec![wrong, secret.clone()], "default", false);
    println!("vault file of 1 MiB plaintext: {} bytes of vault text", big.len());
    time("decrypt 1 MiB vault file", || {
        let d = ring.decrypt(big.as_bytes(), &origin).expect("decrypt");
        assert_eq!(d.plaintext.len(), plain.len());
    });
    time("decrypt empty vault file (key derivation alone)", || {
        ring.decrypt(empty.as_bytes(), &origin).expect("decrypt");
    });
    time("encrypt 1 MiB", || {
        encrypt(&plain, &secret, "default", None, &origin).expect("encrypt");
    });
    time("decrypt 1 MiB, a wrong password tried first", || {
        two.decrypt(big.as_bytes(), &origin).expect("decrypt");
    });
}
