//! One `stat` process for a whole batch of probes (docs/architecture.md, "Probes of later
//! tasks"; docs/performance.md): a no-op run of file tasks then starts one process per round
//! trip on the host instead of one per task.
//!
//! The file probes (`filewrite::probe_cmd`, the file module's query) read a path's metadata
//! through the shell function [`FUNCTION`] (`_orcst`), defined at the start of each probe. Run
//! alone, it runs `stat` as the probe did before. When the connection sends several probes in one
//! exchange, it runs [`prelude`] first: one `stat` of every path those probes name (the ones that
//! exist), kept in two shell variables, which `_orcst` answers from; [`EPILOGUE`] drops them at
//! the end of the same exchange. The prelude runs in the same exchange just before the probes, so
//! its answers are exactly as fresh as theirs, and a probe prints the same bytes either way: its
//! text, which the connection's answers are keyed by, does not change.

use crate::filewrite::STAT_FMT;

/// The shell function `_orcst MODE PATH`: sets `_orco` to `stat -c '%s|FMT'` of PATH (with
/// `-L` when MODE is `L`), empty when that fails; answered from the batch's memo when PATH is
/// there (and, for `L`, is not a symbolic link: the memo holds what `stat` says of the path
/// itself). Ends with `;`, to be followed by the probe.
pub fn function() -> String {
    format!(
        "_orcst() {{ _orco=; if [ \"$1\" = - ] || ! [ -L \"$2\" ]; then _orcx=${{_orcmp-}}; _orcy=${{_orcmv-}}; \
         while [ -n \"$_orcx\" ]; do if [ \"${{_orcx%%\"{nl}\"*}}\" = \"$2\" ]; then _orco=${{_orcy%%\"{nl}\"*}}; return 0; fi; \
         _orcx=${{_orcx#*\"{nl}\"}}; _orcy=${{_orcy#*\"{nl}\"}}; done; fi; \
         if [ \"$1\" = L ]; then _orco=$(stat -L -c '%s|{STAT_FMT}' -- \"$2\" 2>/dev/null); \
         else _orco=$(stat -c '%s|{STAT_FMT}' -- \"$2\" 2>/dev/null); fi; }}; ",
        nl = "\n"
    )
}

/// The name [`function`] defines, as probes call it.
pub const FUNCTION: &str = "_orcst";

/// Drops the memo [`prelude`] made: sent last in the same exchange, so that no later probe can
/// read it.
pub const EPILOGUE: &str = "unset _orcmp _orcmv _orcx _orcy; true";

/// The command that fills the memo for the probes `cmds` (in the order they run), or `None`
/// when fewer than two of them read a path through [`FUNCTION`]. A probe qualifies when it
/// starts with `p=WORD; ` (the shell word of its path, as `shell_quote::quote` writes it) and
/// calls `_orcst`; a path with a newline is left to its probe (the memo is newline-separated).
pub fn prelude(cmds: &[&str]) -> Option<String> {
    let mut words: Vec<&str> = Vec::new();
    for cmd in cmds {
        if !cmd.contains("_orcst ") {
            continue;
        }
        if let Some(word) = path_word(cmd) {
            if !word.contains('\n') && !words.contains(&word) {
                words.push(word);
            }
        }
    }
    if words.len() < 2 {
        return None;
    }
    // In a function, so that `set --` builds its own argument list; the line count guards
    // against a path that vanished between the test and `stat` (then no memo at all).
    Some(format!(
        "_orcmemo() {{ _orcmp=; _orcmv=; for _orcq in {words}; do if [ -e \"$_orcq\" ] || [ -L \"$_orcq\" ]; then \
         set -- \"$@\" \"$_orcq\"; _orcmp=\"$_orcmp$_orcq{nl}\"; fi; done; [ $# -gt 0 ] || return 0; \
         _orcmv=$(stat -c '%s|{STAT_FMT}' -- \"$@\" 2>/dev/null) || {{ _orcmp=; _orcmv=; return 0; }}; \
         _orcn=0; _orcy=\"$_orcmv{nl}\"; while [ -n \"$_orcy\" ]; do _orcn=$((_orcn+1)); _orcy=${{_orcy#*\"{nl}\"}}; done; \
         [ \"$_orcn\" -eq $# ] || {{ _orcmp=; _orcmv=; }}; }}; _orcmemo; unset -f _orcmemo; unset _orcq _orcn _orcy; true",
        words = words.join(" "),
        nl = "\n"
    ))
}

/// The shell word after a leading `p=`, up to the `; ` that ends the assignment: a bare word
/// (`shell_quote::quote` leaves safe characters unquoted) or a single-quoted one, `'\''`
/// standing for a quote inside.
fn path_word(cmd: &str) -> Option<&str> {
    let rest = cmd.strip_prefix("p=")?;
    let end = if rest.starts_with('\'') {
        let mut i = 1;
        loop {
            let close = i + rest[i..].find('\'')?;
            if rest[close..].starts_with("'\\''") {
                i = close + 4;
            } else {
                break close + 1;
            }
        }
    } else {
        rest.find(|c: char| c == ';' || c.is_whitespace())?
    };
    rest[end..].starts_with("; ").then(|| &rest[..end])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::shell_quote::quote;

    #[test]
    fn path_words_are_read_back_as_quote_wrote_them() {
        for path in ["/etc/hosts", "/tmp/it's here; really", "/a b/c", "/x'", "'"] {
            let cmd = format!("p={}; _orcst - \"$p\"", quote(path));
            assert_eq!(path_word(&cmd), Some(quote(path).as_str()), "{path}");
        }
        assert_eq!(path_word("q=/etc; x"), None);
        assert_eq!(path_word("p='unterminated; x"), None);
    }

    /// Runs `script` with `sh -c`, returning stdout.
    fn sh(script: &str) -> String {
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// What `probes` print run one by one, and run as a batch after the prelude (one shell,
    /// with `stat` made unusable after the prelude when `no_stat_after_prelude`), each output
    /// ended by a separator line.
    pub(crate) fn alone_and_batched(probes: &[String], no_stat_after_prelude: bool) -> (String, String) {
        // A first read moves a new file's access time (relatime), which `stat` prints: read
        // everything once before comparing two runs.
        for p in probes {
            sh(p);
        }
        let sep = "\n--- end of probe\n";
        let alone: String = probes.iter().map(|p| sh(p) + sep).collect();
        let refs: Vec<&str> = probes.iter().map(String::as_str).collect();
        let mut script = prelude(&refs).expect("a prelude for several paths");
        script.push('\n');
        if no_stat_after_prelude {
            script.push_str("stat() { echo 'stat was run'; }\n");
        }
        for p in probes {
            script.push_str(&format!("{{ {p}\n}}; printf '%s' '{sep}'\n"));
        }
        script.push_str(EPILOGUE);
        script.push_str("\necho \"left: ${_orcmp-unset}${_orcmv-unset}\"");
        (alone + "left: unsetunset\n", sh(&script))
    }

    /// Probes print the same bytes alone and in a batch, for files, directories, links followed
    /// or not, missing paths and awkward names; the memo is gone after the batch.
    #[test]
    fn batched_probes_print_what_they_print_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("small"), "hello\n").unwrap();
        std::fs::write(d.join("it's a file; yes"), "x").unwrap();
        std::fs::write(d.join("new\nline"), "y").unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::os::unix::fs::symlink(d.join("small"), d.join("link")).unwrap();
        std::os::unix::fs::symlink(d.join("nowhere"), d.join("dangling")).unwrap();
        let mut probes = Vec::new();
        for name in ["small", "it's a file; yes", "new\nline", "sub", "link", "dangling", "missing", "sub/missing"] {
            let path = d.join(name).to_string_lossy().into_owned();
            for follow in [true, false] {
                for read in [crate::filewrite::Read::Small, crate::filewrite::Read::Hash, crate::filewrite::Read::Stat]
                {
                    probes.push(crate::filewrite::probe_cmd(&path, follow, read));
                }
            }
        }
        let (alone, batched) = alone_and_batched(&probes, false);
        assert_eq!(alone, batched);
        assert!(alone.contains("T:regular file|"), "{alone}");
    }

    /// In a batch, the paths that are not links are answered from the memo: no `stat` runs.
    #[test]
    fn a_batch_runs_stat_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a"), "a\n").unwrap();
        std::fs::create_dir(d.join("b")).unwrap();
        let probes: Vec<String> = ["a", "b", "c"]
            .iter()
            .map(|n| crate::filewrite::probe_cmd(&d.join(n).to_string_lossy(), true, crate::filewrite::Read::Hash))
            .collect();
        let (alone, batched) = alone_and_batched(&probes, true);
        assert_eq!(alone, batched);
        assert!(!batched.contains("stat was run"));
    }

    #[test]
    fn no_prelude_for_fewer_than_two_paths() {
        assert_eq!(prelude(&["p=/a; _orcst - \"$p\""]), None);
        assert_eq!(prelude(&["p=/a; _orcst - \"$p\"", "p=/a; _orcst L \"$p\""]), None);
        assert_eq!(prelude(&["p=/a; _orcst - \"$p\"", "p=/b; stat /b"]), None);
        assert!(prelude(&["p=/a; _orcst - \"$p\"", "p='/b c'; _orcst L \"$p\""]).is_some());
    }
}
