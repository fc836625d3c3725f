//! Ansible argument strings turned into `sh` words for remote scripts.
//!
//! Ansible expands `$VAR`, `${VAR}` and a leading `~` in `path`-typed arguments and in `command`'s
//! words on the managed host (Python's `os.path.expandvars` and `expanduser`). [`ShWords`] builds
//! a quoted sh word that reproduces this on the host, everything else staying literal.

use crate::shell_quote::quote;

/// Builds sh words from Ansible argument strings, reproducing Python's `os.path.expandvars` (a set
/// variable is replaced, an unset one stays literal) and `expanduser` on the host, and optionally
/// leaving glob metacharacters active. Variable lookups go into `prelude`, which the script must
/// run before the words; use one `ShWords` per script (its helper variables are `_orcv1`, `_orcv2`...).
#[derive(Debug, Default)]
pub struct ShWords {
    /// sh code assigning each referenced variable's expansion to a helper variable.
    pub prelude: String,
    n: usize,
}

impl ShWords {
    /// The sh word for `s`: literal except for the expansions asked for.
    pub fn word(&mut self, s: &str, expand: bool, glob: bool) -> String {
        let mut out = String::new();
        let mut lit = String::new();
        let mut rest = s;
        if expand && rest.starts_with('~') {
            let end = rest.find('/').unwrap_or(rest.len());
            let name = &rest[1..end];
            if name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
                out.push('~');
                out.push_str(name);
                if end < rest.len() {
                    out.push('/');
                    rest = &rest[end + 1..];
                } else {
                    rest = "";
                }
            }
        }
        let flush = |out: &mut String, lit: &mut String| {
            if !lit.is_empty() {
                out.push_str(&quote(lit));
                lit.clear();
            }
        };
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < rest.len() {
            let c = bytes[i];
            if expand && c == b'$' {
                if let Some((name, len)) = var_ref(&rest[i + 1..]) {
                    let text = &rest[i..i + 1 + len];
                    if is_sh_name(name) {
                        self.n += 1;
                        let v = format!("_orcv{}", self.n);
                        self.prelude +=
                            &format!("if [ -n \"${{{name}+x}}\" ]; then {v}=${name}; else {v}={}; fi\n", quote(text));
                        flush(&mut out, &mut lit);
                        out.push_str(&format!("\"${v}\""));
                    } else {
                        lit.push_str(text);
                    }
                    i += 1 + len;
                    continue;
                }
            }
            if glob && (c == b'*' || c == b'?') {
                flush(&mut out, &mut lit);
                out.push(c as char);
                i += 1;
                continue;
            }
            if glob && c == b'[' {
                if let Some(close) = rest[i + 1..].find(']') {
                    let class = &rest[i + 1..i + 1 + close];
                    if !class.is_empty() && class.chars().all(|ch| ch.is_ascii_alphanumeric() || "._!^-".contains(ch)) {
                        flush(&mut out, &mut lit);
                        out.push('[');
                        out.push_str(class);
                        out.push(']');
                        i += close + 2;
                        continue;
                    }
                }
            }
            // Copy one whole UTF-8 character.
            let ch_len = rest[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            lit.push_str(&rest[i..i + ch_len]);
            i += ch_len;
        }
        flush(&mut out, &mut lit);
        if out.is_empty() {
            out.push_str("''");
        }
        out
    }
}

/// After a `$`: `{anything-but-brace}` or a run of ASCII word characters, as Python's `_varprog`.
/// Returns the name and the length consumed after the `$`.
/// `path` with a leading `~` or `~user` replaced by that home directory on the host (looked up
/// as the user the task runs as, so `~` is the become user's home), as Ansible's action plugins'
/// `_remote_expand_user` does before a module sees the path. Any other path is returned as it
/// is, without a round trip; so is one whose user the host does not know.
pub fn expand_user(ctx: &mut crate::contract::ModuleCtx, path: &str) -> Result<String, crate::contract::ModuleError> {
    if !path.starts_with('~') {
        return Ok(path.to_string());
    }
    let end = path.find('/').unwrap_or(path.len());
    let mut words = ShWords::default();
    let word = words.word(&path[..end], true, false);
    if !word.starts_with('~') {
        return Ok(path.to_string());
    }
    let out = ctx.conn.exec(&format!("printf '%s' {word}"), None)?;
    let home = out.stdout_str();
    if out.rc != 0 || home.is_empty() || home.starts_with('~') {
        return Ok(path.to_string());
    }
    Ok(format!("{home}{}", &path[end..]))
}

fn var_ref(s: &str) -> Option<(&str, usize)> {
    if let Some(inner) = s.strip_prefix('{') {
        let close = inner.find('}')?;
        return Some((&inner[..close], close + 2));
    }
    let len = s.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'_').count();
    (len > 0).then(|| (&s[..len], len))
}

fn is_sh_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::ShWords;

    fn eval(s: &str, expand: bool, glob: bool) -> String {
        let mut w = ShWords::default();
        let word = w.word(s, expand, glob);
        let script = format!("{}printf '%s|' {word}", w.prelude);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("ORC_T", "a b")
            .env_remove("ORC_UNSET")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn expands_set_variables_only() {
        assert_eq!(eval("x$ORC_T.${ORC_T}y", true, false), "xa b.a by|");
        assert_eq!(eval("$ORC_UNSET ${ORC_UNSET}", true, false), "$ORC_UNSET ${ORC_UNSET}|");
        assert_eq!(eval("$ORC_T", false, false), "$ORC_T|");
        assert_eq!(eval("it's; $(id) `id` *", true, false), "it's; $(id) `id` *|");
    }

    #[test]
    fn tilde_and_globs() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(eval("~/x y", true, false), format!("{home}/x y|"));
        assert_eq!(eval("a~", true, false), "a~|");
        assert_eq!(eval("/nonexistent-orc/*.none", true, true), "/nonexistent-orc/*.none|");
        assert_eq!(eval("/proc/self/statu[s]", true, true), "/proc/self/status|");
        assert_eq!(eval("", true, false), "|");
    }

    #[test]
    fn expand_user_replaces_a_leading_tilde_on_the_host_only() {
        use crate::builtin::test_support::Sandbox;
        use crate::contract::ModuleCtx;
        use crate::testing::DirController;
        let mut sb = Sandbox::new();
        let controller = DirController { root: sb.dir.path().to_path_buf() };
        let mut ctx = ModuleCtx { conn: &mut sb.conn, check: false, diff: false, controller: &controller };
        assert_eq!(super::expand_user(&mut ctx, "/abs/~x").unwrap(), "/abs/~x");
        let home = super::expand_user(&mut ctx, "~/f").unwrap();
        assert!(home.ends_with("/f") && !home.starts_with('~'), "{home}");
        assert_eq!(super::expand_user(&mut ctx, "~no_such_user_orc/f").unwrap(), "~no_such_user_orc/f");
        assert_eq!(super::expand_user(&mut ctx, "~$(x)/f").unwrap(), "~$(x)/f");
    }
}
