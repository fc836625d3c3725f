//! `lookup('password', 'path length=N chars=ascii_letters,digits')`: a random password stored in
//! a file on the controller (created once, read back on later runs), as Ansible's password lookup
//! does; `/dev/null` gives a fresh password every time. `encrypt=sha512_crypt|sha256_crypt` returns
//! the password hashed with a salt stored beside it.

use std::io::Read;
use std::path::{Path, PathBuf};

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::filters::err;

/// Ansible's default password characters: letters, digits and `.,:-_`.
const DEFAULT_CHARS: &[&str] = &["ascii_letters", "digits", ".,:-_"];

/// Runs the lookup for one term: `path [length=N] [chars=...] [encrypt=sha512_crypt] [seed=S]`
/// (keyword arguments give the same options; the term's win).
pub(crate) fn password(term: &str, opts: &super::lookups::Options, vars: &Value) -> Result<Value, Error> {
    let (relpath, params) = match term.split_once(' ') {
        Some((p, rest)) => (p, rest),
        None => (term, ""),
    };
    let mut opts = opts.clone();
    for param in params.split_whitespace() {
        let (key, value) = param.split_once('=').ok_or_else(|| {
            err(format!("Unrecognized value after key=value parameters given to password lookup: {param}"))
        })?;
        if !["length", "chars", "encrypt", "seed", "ident"].contains(&key) {
            return Err(err(format!("Unrecognized parameter(s) given to password lookup: {key}")));
        }
        opts.set(key, Value::from(value));
    }
    let length: usize = match opts.int("password", "length")? {
        Some(n) => {
            usize::try_from(n).map_err(|_| err(format!("password lookup: length must not be negative, got {n}")))?
        }
        None => 20,
    };
    let chars: Vec<String> = match opts.get("chars") {
        Some(v) if v.kind() == ValueKind::String => split_chars(v.as_str().unwrap_or_default()),
        Some(v) if !v.is_none() => v.try_iter()?.map(|c| super::pyfmt::to_str(&c)).collect(),
        _ => DEFAULT_CHARS.iter().map(|s| s.to_string()).collect(),
    };
    let encrypt = Some(opts.string("encrypt", "")).filter(|e| !e.is_empty());
    let seed = Some(opts.string("seed", "")).filter(|s| !s.is_empty());
    super::filters::check_size("password lookup", "length", length)?;
    let candidates = candidate_chars(&chars);
    if candidates.is_empty() {
        return Err(err("password lookup: chars selects no characters"));
    }
    let path = resolve(relpath, vars);
    let stored = if path == Path::new("/dev/null") { None } else { std::fs::read_to_string(&path).ok() };
    let (password, salt) = match stored {
        Some(content) => {
            let content = content.trim_end();
            match content.rsplit_once(" salt=") {
                Some((p, salt)) => (p.to_string(), Some(salt.split(' ').next().unwrap_or(salt).to_string())),
                None => (content.to_string(), None),
            }
        }
        None => {
            let password = match &seed {
                Some(seed) => seeded_password(length, &candidates, seed),
                None => random_password(length, &candidates)?,
            };
            let salt = encrypt.as_ref().map(|_| super::password::random_salt(16));
            if path != Path::new("/dev/null") {
                write_password(&path, &password, salt.as_deref())?;
            }
            (password, salt)
        }
    };
    let Some(method) = encrypt else {
        return Ok(Value::from(password));
    };
    // A stored password without a salt gets one the first time it is wanted hashed.
    let salt = match salt {
        Some(s) => s,
        None => {
            let s = super::password::random_salt(16);
            if path != Path::new("/dev/null") {
                write_password(&path, &password, Some(&s))?;
            }
            s
        }
    };
    Ok(Value::from(super::password::crypt(&password, &method, &salt, None)?))
}

/// A password drawn with a random generator seeded by `seed`: the same seed gives the same
/// password (not Python's sequence: only the repeatability is Ansible's).
fn seeded_password(length: usize, candidates: &[char], seed: &str) -> String {
    let seed = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..length).map(|_| candidates[rng.usize(..candidates.len())]).collect()
}

/// Splits a `chars=` value on commas (`,,` stands for a comma itself).
fn split_chars(spec: &str) -> Vec<String> {
    let mut out = Vec::new();
    if spec.contains(",,") {
        out.push(",".to_string());
    }
    out.extend(spec.replace(",,", ",").split(',').filter(|c| !c.is_empty()).map(str::to_string));
    out
}

/// Expands names of Python `string` constants; anything else is taken literally. Quotes are
/// never used, as in Ansible.
fn candidate_chars(specs: &[String]) -> Vec<char> {
    const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
    const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const DIGITS: &str = "0123456789";
    const PUNCT: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    let mut out = String::new();
    for spec in specs {
        match spec.as_str() {
            "ascii_letters" => {
                out.push_str(LOWER);
                out.push_str(UPPER);
            }
            "ascii_lowercase" => out.push_str(LOWER),
            "ascii_uppercase" => out.push_str(UPPER),
            "digits" => out.push_str(DIGITS),
            "hexdigits" => out.push_str("0123456789abcdefABCDEF"),
            "octdigits" => out.push_str("01234567"),
            "punctuation" => out.push_str(PUNCT),
            other => out.push_str(other),
        }
    }
    out.chars().filter(|c| *c != '"' && *c != '\'').collect()
}

/// A path relative to the playbook directory, as Ansible's `path_dwim` resolves it.
fn resolve(relpath: &str, vars: &Value) -> PathBuf {
    let path = Path::new(relpath);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match vars.get_attr("playbook_dir").ok().and_then(|v| v.as_str().map(PathBuf::from)) {
        Some(dir) => dir.join(path),
        None => path.to_path_buf(),
    }
}

/// `length` characters drawn uniformly from `candidates` with the system's random source.
fn random_password(length: usize, candidates: &[char]) -> Result<String, Error> {
    let mut urandom = std::fs::File::open("/dev/urandom")
        .map_err(|e| err(format!("password lookup: cannot open /dev/urandom: {e}")))?;
    let n = candidates.len();
    // Largest multiple of n below 2^32, for rejection sampling without bias.
    let zone = u32::MAX - (u32::MAX % n as u32);
    let mut out = String::with_capacity(length);
    let mut buf = [0u8; 4];
    while out.chars().count() < length {
        urandom.read_exact(&mut buf).map_err(|e| err(format!("password lookup: cannot read /dev/urandom: {e}")))?;
        let r = u32::from_le_bytes(buf);
        if r < zone {
            out.push(candidates[(r % n as u32) as usize]);
        }
    }
    Ok(out)
}

/// Stores a password, and its salt when it is to be hashed (directories 0700, file 0600), as
/// Ansible does: `password salt=SALT`.
fn write_password(path: &Path, password: &str, salt: Option<&str>) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err(format!("password lookup: cannot create {}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| err(format!("password lookup: cannot write {}: {e}", path.display())))?;
    let line = match salt {
        Some(salt) => format!("{password} salt={salt}\n"),
        None => format!("{password}\n"),
    };
    file.write_all(line.as_bytes()).map_err(|e| err(format!("password lookup: cannot write {}: {e}", path.display())))
}
