//! `apt_repository`: a classic one-line APT source (`deb [opts] URI suite comp...`), as Ansible's
//! module manages it: every `sources.list` and `sources.list.d/*.list` file is read in ONE round
//! trip and parsed with Ansible's rules; `present` enables a matching (even commented-out) line or
//! appends the line to `sources.list.d/<filename>.list` (name derived from the URI as Ansible does);
//! `absent` deletes every enabled matching line and files left empty. Changed files are rewritten in
//! Ansible's normalised form. PPAs (`ppa:`) are not supported (Ubuntu only).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::args::Mode;
use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{atomic_write, Attrs};
use crate::shell_quote::quote;

/// `apt_repository` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct AptRepositoryArgs {
    /// The source line, e.g. `deb http://mirror.example.org/debian bookworm main`.
    #[serde(deserialize_with = "crate::args::string")]
    pub repo: String,
    /// present or absent.
    #[serde(default = "present", deserialize_with = "crate::args::string")]
    pub state: String,
    /// Mode of a newly created sources file (default 0644).
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Run `apt-get update` after a change (default yes).
    #[serde(default = "crate::args::default_true", alias = "update-cache", deserialize_with = "crate::args::bool")]
    pub update_cache: bool,
    /// Attempts for the cache update.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub update_cache_retries: Option<u64>,
    /// Upper bound of the delay between attempts.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub update_cache_retry_max_delay: Option<u64>,
    /// Accepted for compatibility (PPAs only).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub validate_certs: Option<bool>,
    /// The file name in sources.list.d, without `.list`.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub filename: Option<String>,
    /// Accepted for compatibility (PPAs only).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub codename: Option<String>,
    /// Accepted for compatibility: no Python bindings are needed on the host.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub install_python_apt: Option<bool>,
}

fn present() -> String {
    "present".into()
}

const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";

/// One line of a sources file, as Ansible's `_parse` reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// A `deb`/`deb-src` line.
    pub valid: bool,
    /// Not commented out.
    pub enabled: bool,
    /// The source, whitespace-normalised when valid.
    pub source: String,
    /// Text after a `#` inside the line.
    pub comment: String,
}

/// Ansible's `SourcesList._parse`.
pub fn parse_line(line: &str) -> SourceLine {
    let mut line = line.trim();
    let mut enabled = true;
    if let Some(rest) = line.strip_prefix('#') {
        enabled = false;
        line = rest;
    }
    let mut comment = String::new();
    if let Some(i) = line.find('#').filter(|i| *i > 0) {
        comment = line[i + 1..].trim().to_string();
        line = &line[..i];
    }
    let mut source = line.trim().to_string();
    let mut valid = false;
    let chunks: Vec<&str> = source.split_whitespace().collect();
    if chunks.first().is_some_and(|c| *c == "deb" || *c == "deb-src") {
        valid = true;
        source = chunks.join(" ");
    }
    SourceLine { valid, enabled, source, comment }
}

/// Ansible's `dump` of one line.
pub fn dump_line(l: &SourceLine) -> String {
    let mut s = String::new();
    if !l.enabled {
        s.push_str("# ");
    }
    s.push_str(&l.source);
    if !l.comment.is_empty() {
        s.push_str(" # ");
        s.push_str(&l.comment);
    }
    s.push('\n');
    s
}

/// Ansible's `_suggest_filename`: the URI's host and path with options, scheme, user and
/// punctuation dropped, joined by `_`, plus `.list` (or `filename` + `.list` when given).
pub fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    if let Some(f) = filename {
        return format!("{f}.list");
    }
    let no_opts = regex::Regex::new(r"\[[^\]]+\]").map(|r| r.replace_all(source, "").into_owned()).unwrap_or_default();
    let no_scheme = regex::Regex::new(r"\w+://").map(|r| r.replace_all(&no_opts, "").into_owned()).unwrap_or_default();
    let parts: Vec<&str> = no_scheme.split_whitespace().filter(|p| *p != "deb" && *p != "deb-src").collect();
    let first = parts.first().copied().unwrap_or("");
    let first = first.split_once('@').map(|(_, r)| r).unwrap_or(first);
    let cleaned: String = first.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' }).collect();
    format!("{}.list", cleaned.split_whitespace().collect::<Vec<_>>().join("_"))
}

/// All sources files: path -> (raw text, parsed lines).
pub type Files = BTreeMap<String, (String, Vec<SourceLine>)>;

/// Parses the read script's output (`@@FILE path` headers followed by the file's text).
pub fn parse_files(out: &str) -> Files {
    let mut files = Files::new();
    let mut cur: Option<String> = None;
    for chunk in out.split_inclusive('\n') {
        if let Some(p) = chunk.strip_prefix("\u{1}@@FILE ") {
            let p = p.trim_end_matches('\n').to_string();
            files.insert(p.clone(), (String::new(), vec![]));
            cur = Some(p);
        } else if let Some(f) = cur.as_ref().and_then(|c| files.get_mut(c)) {
            f.0.push_str(chunk);
        }
    }
    for (raw, lines) in files.values_mut() {
        *lines = raw.lines().map(parse_line).collect();
    }
    files
}

/// The dump of a file's lines; None for a file with no lines (deleted on save).
fn dump(lines: &[SourceLine]) -> Option<String> {
    (!lines.is_empty()).then(|| lines.iter().map(dump_line).collect())
}

/// Applies `present`/`absent` to the files; returns the new line sets and the files newly created.
pub fn apply(
    files: &Files,
    source: &str,
    state: &str,
    filename: Option<&str>,
) -> (BTreeMap<String, Vec<SourceLine>>, BTreeSet<String>) {
    let mut after: BTreeMap<String, Vec<SourceLine>> = files.iter().map(|(p, (_, l))| (p.clone(), l.clone())).collect();
    let mut new_files = BTreeSet::new();
    if state == "present" {
        let mut found = false;
        for lines in after.values_mut() {
            for l in lines.iter_mut().filter(|l| l.valid && l.source == source) {
                l.enabled = true;
                found = true;
            }
        }
        if !found {
            let name = suggest_filename(source, filename);
            let path = if name.contains('/') { name } else { format!("{SOURCES_DIR}/{name}") };
            let line = SourceLine { valid: true, enabled: true, source: source.into(), comment: String::new() };
            after.entry(path.clone()).or_default().push(line);
            new_files.insert(path);
        }
    } else {
        for lines in after.values_mut() {
            lines.retain(|l| !(l.valid && l.enabled && l.source == source));
        }
    }
    (after, new_files)
}

/// The `apt_repository` module.
pub struct AptRepository;

impl TypedModule for AptRepository {
    type Args = AptRepositoryArgs;
    const NAME: &'static str = "apt_repository";

    const DOC: ModuleText = ModuleText {
        short: "Adds or removes a one-line APT source (`deb URI SUITE COMPONENTS`) in sources.list or sources.list.d.",
        notes: "sources.list and every sources.list.d/*.list file are read in one command and parsed with Ansible's \
                rules. `present` enables a matching line, also a commented-out one, or adds the line to \
                sources.list.d/FILENAME.list, named from the URI as Ansible does unless `filename` is given; \
                `absent` removes every enabled matching line and deletes files left empty. Changed files are \
                rewritten in Ansible's normalised form. `update_cache` (the default) runs apt-get update after a \
                change and puts the files back when it fails. `ppa:` sources are not supported (use \
                deb822_repository). `codename`, `validate_certs` and `install_python_apt` are accepted and unused.",
        returns: &[
            ("repo, state", "The arguments, as given."),
            ("sources_added", "The files created."),
            ("sources_removed", "The files deleted."),
            ("diff", "With --diff: the files created or deleted, as Ansible shows them."),
        ],
        example: "- name: Add the backports repository\n  \
                  ansible.builtin.apt_repository:\n    \
                  repo: deb http://mirror.example.com/debian bookworm-backports main\n    \
                  filename: backports\n",
    };

    fn check_args(a: &AptRepositoryArgs) -> Result<(), ArgError> {
        if a.state != "present" && a.state != "absent" {
            return Err(ArgError { msg: format!("value of state must be one of: absent, present, got: {}", a.state) });
        }
        if a.repo.is_empty() {
            return Err(ArgError { msg: "Please set argument 'repo' to a non-empty value".into() });
        }
        Ok(())
    }

    fn run(&self, a: AptRepositoryArgs, ctx: &mut ModuleCtx) -> RunResult {
        if a.repo.starts_with("ppa:") {
            return Err(ModuleError::msg("PPA repositories (ppa:) are Ubuntu-only and not supported by orc's apt_repository; use deb822_repository"));
        }
        let parsed = parse_line(&a.repo);
        if !parsed.valid || !parsed.enabled {
            return Err(ModuleError::msg(format!("Invalid repository string: {}", a.repo.trim())));
        }
        let script = format!(
            "for f in {SOURCES_LIST} {SOURCES_DIR}/*.list; do [ -f \"$f\" ] || continue; printf '\\001@@FILE %s\\n' \"$f\"; cat \"$f\"; [ -z \"$(tail -c1 \"$f\")\" ] || echo; done"
        );
        let out = ctx.conn.exec(&script, None)?;
        let files = parse_files(&out.stdout_str());
        let (after, new_files) = apply(&files, &parsed.source, &a.state, a.filename.as_deref());
        let before_dump: BTreeMap<&String, String> =
            files.iter().filter_map(|(p, (_, l))| dump(l).map(|d| (p, d))).collect();
        let after_dump: BTreeMap<&String, String> = after.iter().filter_map(|(p, l)| dump(l).map(|d| (p, d))).collect();
        let changed = before_dump != after_dump;
        let added: BTreeSet<String> =
            after_dump.keys().filter(|k| !before_dump.contains_key(*k)).map(|k| k.to_string()).collect();
        let removed: BTreeSet<String> =
            before_dump.keys().filter(|k| !after_dump.contains_key(*k)).map(|k| k.to_string()).collect();
        let mut r = ModuleResult::changed(changed)
            .with("repo", a.repo.clone())
            .with("state", a.state.clone())
            .with("sources_added", added.iter().cloned().collect::<Vec<_>>())
            .with("sources_removed", removed.iter().cloned().collect::<Vec<_>>());
        if changed && ctx.diff {
            for f in added.iter().chain(removed.iter()) {
                let b = before_dump.get(f).cloned();
                let af = after_dump.get(f).cloned();
                r = r.with_diff(FileDiff {
                    before_header: if b.is_some() { f.clone() } else { "/dev/null".into() },
                    after_header: if af.is_some() { f.clone() } else { "/dev/null".into() },
                    before: b.unwrap_or_default(),
                    after: af.unwrap_or_default(),
                });
            }
        }
        if !changed || ctx.check {
            return Ok(r);
        }
        // Ansible's save(): every file is rewritten in its dumped form, empty ones are deleted.
        for (path, lines) in &after {
            let raw = files.get(path).map(|(raw, _)| raw.as_str());
            match dump(lines) {
                Some(text) if raw != Some(text.as_str()) => {
                    let mode = if new_files.contains(path) {
                        Some(a.mode.clone().unwrap_or(Mode::Octal(0o644)))
                    } else {
                        None
                    };
                    let mkdir = ctx.conn.exec(&format!("mkdir -p {}", quote(crate::filewrite::dirname(path))), None)?;
                    if mkdir.rc != 0 {
                        return Err(ModuleError::msg(format!(
                            "Failed to create directory {}: {}",
                            crate::filewrite::dirname(path),
                            mkdir.stderr_str().trim()
                        )));
                    }
                    atomic_write(ctx.conn, path, text.as_bytes(), &Attrs { mode, ..Default::default() })
                        .map_err(ModuleError::msg)?;
                }
                Some(_) => {}
                None if raw.is_some() => {
                    let o = ctx.conn.exec(&format!("rm -f -- {}", quote(path)), None)?;
                    if o.rc != 0 {
                        return Err(ModuleError::msg(format!("could not remove {path}: {}", o.stderr_str().trim())));
                    }
                }
                None => {}
            }
        }
        if a.update_cache {
            let retries = a.update_cache_retries.unwrap_or(5).max(1);
            let max_delay = a.update_cache_retry_max_delay.unwrap_or(12);
            let mut err = String::new();
            let mut ok = false;
            for attempt in 0..retries {
                let o = ctx.conn.exec("LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get update -q", None)?;
                if o.rc == 0 {
                    ok = true;
                    break;
                }
                err = o.stderr_str().trim().to_string();
                if attempt + 1 < retries {
                    std::thread::sleep(std::time::Duration::from_secs((1u64 << attempt.min(10)).min(max_delay)));
                }
            }
            if !ok {
                // Ansible reverts the sources files when the update fails.
                for (path, (raw, _)) in &files {
                    if after_dump.get(path) != before_dump.get(path) {
                        atomic_write(ctx.conn, path, raw.as_bytes(), &Attrs::default()).map_err(ModuleError::msg)?;
                    }
                }
                for path in &new_files {
                    if !files.contains_key(path) {
                        ctx.conn.exec(&format!("rm -f -- {}", quote(path)), None)?;
                    }
                }
                let reason = if err.is_empty() { "unknown reason".to_string() } else { err };
                return Err(ModuleError::msg(format!("Failed to update apt cache after {retries} retries: {reason}")));
            }
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_like_ansible() {
        assert_eq!(
            suggest_filename("deb http://dl.google.com/linux/chrome/deb/ stable main", None),
            "dl_google_com_linux_chrome_deb.list"
        );
        assert_eq!(
            suggest_filename(
                "deb [arch=amd64 signed-by=/k.gpg] https://user:pw@repo.example.org/apt bookworm main",
                None
            ),
            "repo_example_org_apt.list"
        );
        assert_eq!(suggest_filename("deb http://x/ y", Some("custom")), "custom.list");
    }

    #[test]
    fn lines_parse_and_dump_like_ansible() {
        let l = parse_line("  #deb   http://x/  stable main   # my comment");
        assert_eq!(
            l,
            SourceLine {
                valid: true,
                enabled: false,
                source: "deb http://x/ stable main".into(),
                comment: "my comment".into()
            }
        );
        assert_eq!(dump_line(&l), "# deb http://x/ stable main # my comment\n");
        assert_eq!(dump_line(&parse_line("")), "\n");
        assert_eq!(dump_line(&parse_line("# plain comment")), "# plain comment\n");
    }

    #[test]
    fn present_enables_or_appends_absent_removes() {
        let out = "\u{1}@@FILE /etc/apt/sources.list\ndeb http://a/ s main\n# deb http://b/ s main\n";
        let files = parse_files(out);
        let (after, new) = apply(&files, "deb http://b/ s main", "present", None);
        assert!(new.is_empty());
        assert_eq!(dump(&after["/etc/apt/sources.list"]).unwrap(), "deb http://a/ s main\ndeb http://b/ s main\n");
        let (after, new) = apply(&files, "deb http://c/d s main", "present", None);
        assert_eq!(new.iter().next().unwrap(), "/etc/apt/sources.list.d/c_d.list");
        assert_eq!(dump(&after["/etc/apt/sources.list.d/c_d.list"]).unwrap(), "deb http://c/d s main\n");
        let (after, _) = apply(&files, "deb http://a/ s main", "absent", None);
        assert_eq!(dump(&after["/etc/apt/sources.list"]).unwrap(), "# deb http://b/ s main\n");
    }
}
