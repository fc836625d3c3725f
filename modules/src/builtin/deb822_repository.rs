//! `deb822_repository`: an APT source in deb822 form, `/etc/apt/sources.list.d/<slug>.sources`,
//! written byte for byte as Ansible's module writes it (fields in sorted argument order, python-debian's
//! `Deb822.dump` layout, multi-line `Signed-By` key blocks). `signed_by` is a key file path on the
//! host, inline key text, or a URL fetched on the host into `/etc/apt/keyrings/<slug>.asc|gpg`.
//! One round trip reads the current file (and whether `signed_by` is a file); a write only when the
//! bytes or the mode differ. Check mode reports, diff mode shows the file's before/after text.

use serde::Deserialize;
use serde_json::Value;

use crate::args::Mode;
use crate::contract::{ArgError, FileDiff, ModuleCtx, ModuleError, ModuleResult, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::{atomic_write, Attrs};
use crate::shell_quote::quote;

/// `deb822_repository` arguments.
#[derive(Debug, Deserialize, Default, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct Deb822Args {
    /// Allow-Downgrade-To-Insecure.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub allow_downgrade_to_insecure: Option<bool>,
    /// Allow-Insecure.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub allow_insecure: Option<bool>,
    /// Allow-Weak.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub allow_weak: Option<bool>,
    /// Architectures.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub architectures: Option<Vec<String>>,
    /// By-Hash.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub by_hash: Option<bool>,
    /// Check-Date.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub check_date: Option<bool>,
    /// Check-Valid-Until.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub check_valid_until: Option<bool>,
    /// Components.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub components: Option<Vec<String>>,
    /// Date-Max-Future.
    #[serde(default, deserialize_with = "crate::args::opt_u64")]
    pub date_max_future: Option<u64>,
    /// Enabled.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub enabled: Option<bool>,
    /// Inrelease-Path.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub inrelease_path: Option<String>,
    /// Languages.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub languages: Option<Vec<String>>,
    /// X-Repolib-Name; also gives the file name (slug).
    #[serde(deserialize_with = "crate::args::string")]
    pub name: String,
    /// PDiffs.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub pdiffs: Option<bool>,
    /// Signed-By: a key file path on the host, inline key text, or a URL.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub signed_by: Option<String>,
    /// Suites.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub suites: Option<Vec<String>>,
    /// Targets.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub targets: Option<Vec<String>>,
    /// Trusted.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub trusted: Option<bool>,
    /// Types: deb and/or deb-src (default deb).
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub types: Option<Vec<String>>,
    /// URIs.
    #[serde(default, deserialize_with = "crate::args::opt_list")]
    pub uris: Option<Vec<String>>,
    /// Mode of the .sources file (default 0644).
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// present or absent.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub state: Option<String>,
    /// Accepted for compatibility (python-debian is not needed on the host).
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub install_python_debian: Option<bool>,
}

const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

/// The `deb822_repository` module.
pub struct Deb822Repository;

/// The file-name slug Ansible derives from `name`: lowercase, `_` and whitespace runs to `-`,
/// anything but `[a-z0-9-]` dropped.
pub fn slug(name: &str) -> String {
    let lower = name.to_lowercase();
    let dashed = regex::Regex::new(r"[_\s]+").map(|r| r.replace_all(&lower, "-").into_owned()).unwrap_or(lower);
    dashed.chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-').collect()
}

/// The `.sources` path for a slug.
pub fn sources_path(slug: &str) -> String {
    format!("/etc/apt/sources.list.d/{slug}.sources")
}

/// Python's `str.title()` on ASCII: upper after a non-letter, lower otherwise.
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut prev_letter = false;
    for c in s.chars() {
        out.push(if prev_letter { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() });
        prev_letter = c.is_ascii_alphabetic();
    }
    out
}

fn field_name(key: &str) -> String {
    match key {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        k => title(&k.replace('_', "-")),
    }
}

/// Ansible's `format_multiline`: a leading newline, each line stripped (empty ones as `.`), indented.
fn multiline(v: &str) -> String {
    let lines: Vec<String> = v
        .trim()
        .lines()
        .map(|l| {
            let t = l.trim();
            format!("    {}", if t.is_empty() { "." } else { t })
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The file's text from the arguments, with `signed_by` already resolved to what goes in the field.
pub fn render(a: &Deb822Args, signed_by: Option<&str>) -> String {
    let b = |v: Option<bool>| v.map(|b| if b { "yes".to_string() } else { "no".to_string() });
    let l = |v: &Option<Vec<String>>| v.as_ref().map(|v| v.join(" "));
    let types = a.types.clone().unwrap_or_else(|| vec!["deb".into()]);
    // Sorted by argument name, as Ansible iterates `sorted(params.items())`.
    let fields: Vec<(&str, Option<String>)> = vec![
        ("allow_downgrade_to_insecure", b(a.allow_downgrade_to_insecure)),
        ("allow_insecure", b(a.allow_insecure)),
        ("allow_weak", b(a.allow_weak)),
        ("architectures", l(&a.architectures)),
        ("by_hash", b(a.by_hash)),
        ("check_date", b(a.check_date)),
        ("check_valid_until", b(a.check_valid_until)),
        ("components", l(&a.components)),
        ("date_max_future", a.date_max_future.map(|n| n.to_string())),
        ("enabled", b(a.enabled)),
        ("inrelease_path", a.inrelease_path.clone()),
        ("languages", l(&a.languages)),
        ("name", Some(a.name.clone())),
        ("pdiffs", b(a.pdiffs)),
        ("signed_by", signed_by.map(str::to_string)),
        ("suites", l(&a.suites)),
        ("targets", l(&a.targets)),
        ("trusted", b(a.trusted)),
        ("types", Some(types.join(" "))),
        ("uris", l(&a.uris)),
    ];
    let mut out = String::new();
    for (key, value) in fields {
        let Some(mut v) = value else { continue };
        if v.contains('\n') {
            v = multiline(&v);
        }
        if v.is_empty() || v.starts_with('\n') {
            out.push_str(&format!("{}:{v}\n", field_name(key)));
        } else {
            out.push_str(&format!("{}: {v}\n", field_name(key)));
        }
    }
    out
}

impl TypedModule for Deb822Repository {
    type Args = Deb822Args;
    const NAME: &'static str = "deb822_repository";

    const DOC: ModuleText = ModuleText {
        short: "Writes an APT source as a deb822 file, /etc/apt/sources.list.d/NAME.sources, or removes it.",
        notes: "The file is written byte for byte as Ansible's module writes it (fields in the order of the argument \
                names, `X-Repolib-Name`, booleans as yes/no, lists space-separated), and only when its bytes or its \
                mode differ. Its name is `name` in lower case with spaces and `_` turned into `-`. `signed_by` is a \
                key file on the host, the key's text, or a URL the host downloads (curl or wget) into \
                /etc/apt/keyrings/NAME.asc (or .gpg). `state: absent` removes the file and such a key. The package \
                lists are not refreshed: follow with apt's `update_cache`. No python-debian is needed on the host. \
                Diff shows the file before and after (Ansible's module returns no diff).",
        returns: &[
            ("repo", "The file's text (null after a removal)."),
            ("dest", "The .sources file."),
            (
                "key_filename",
                "The key file `signed_by` names or the one downloaded (after a removal: /etc/apt/keyrings/NAME.gpg).",
            ),
            ("diff", "With --diff: the file before and after."),
        ],
        example: "- name: Add the Docker repository\n  \
                  ansible.builtin.deb822_repository:\n    \
                  name: docker\n    \
                  types: deb\n    \
                  uris: https://download.docker.com/linux/debian\n    \
                  suites: bookworm\n    \
                  components: stable\n    \
                  signed_by: https://download.docker.com/linux/debian/gpg\n",
    };

    fn check_args(a: &Deb822Args) -> Result<(), ArgError> {
        if let Some(s) = a.state.as_deref().filter(|s| !matches!(*s, "present" | "absent")) {
            return Err(ArgError { msg: format!("value of state must be one of: present, absent, got: {s}") });
        }
        for t in a.types.iter().flatten() {
            if t != "deb" && t != "deb-src" {
                return Err(ArgError {
                    msg: format!("value of types must be one or more of: deb, deb-src. Got no match for: {t}"),
                });
            }
        }
        if matches!(a.mode, Some(Mode::Preserve)) {
            return Err(ArgError { msg: "mode 'preserve' is not valid for deb822_repository".into() });
        }
        Ok(())
    }

    fn run(&self, a: Deb822Args, ctx: &mut ModuleCtx) -> RunResult {
        let slug = slug(&a.name);
        let dest = sources_path(&slug);
        if a.state.as_deref() == Some("absent") {
            return absent(ctx, &slug, &dest);
        }
        let mut changed = false;
        let mut key_filename: Option<String> = None;
        let mut field = a.signed_by.clone();
        if let Some(sb) = &a.signed_by {
            let is_url = regex::Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*://").is_ok_and(|r| r.is_match(sb));
            let out = ctx.conn.exec(&format!("[ -f {} ]", quote(sb)), None)?;
            if out.rc == 0 {
                key_filename = Some(sb.clone());
            } else if is_url {
                let (kc, path) = fetch_key(ctx, sb, &slug)?;
                changed |= kc;
                field = Some(path.clone());
                key_filename = Some(path);
            }
        }
        let text = render(&a, field.as_deref());
        let cur = ctx.conn.exec(&format!("stat -c %a {0} 2>/dev/null && cat {0}", quote(&dest)), None)?;
        let (before, mode_now) = if cur.rc == 0 {
            let s = cur.stdout_str();
            let (m, rest) = s.split_once('\n').unwrap_or((s.as_str(), ""));
            (Some(rest.to_string()), u32::from_str_radix(m.trim(), 8).ok())
        } else {
            (None, None)
        };
        let mode = a.mode.clone().unwrap_or(Mode::Octal(0o644));
        let want_mode = crate::fileops::mode_after(&mode, mode_now.unwrap_or(0o644), false);
        let content_changed = before.as_deref() != Some(text.as_str());
        let mode_changed = !content_changed && want_mode.is_some() && want_mode != mode_now;
        changed |= content_changed || mode_changed;
        if changed && !ctx.check {
            let attrs = Attrs { mode: Some(mode.clone()), ..Default::default() };
            if content_changed {
                atomic_write(ctx.conn, &dest, text.as_bytes(), &attrs).map_err(ModuleError::msg)?;
            } else if mode_changed {
                let out = ctx.conn.exec(&attrs.apply_cmd(&dest), None)?;
                if out.rc != 0 {
                    return Err(ModuleError::msg(format!("could not set mode of {dest}: {}", out.stderr_str().trim())));
                }
            }
        }
        let mut r = ModuleResult::changed(changed)
            .with("repo", text.clone())
            .with("dest", dest.clone())
            .with("key_filename", key_filename.map(Value::String).unwrap_or(Value::Null));
        if ctx.diff && content_changed {
            let before_header = if before.is_some() { dest.clone() } else { "/dev/null".into() };
            r = r.with_diff(FileDiff {
                before_header,
                after_header: dest.clone(),
                before: before.unwrap_or_default(),
                after: text,
            });
        }
        Ok(r)
    }
}

/// Removes the .sources file and any key this module wrote for the slug.
fn absent(ctx: &mut ModuleCtx, slug: &str, dest: &str) -> RunResult {
    let asc = format!("{KEYRINGS_DIR}/{slug}.asc");
    let gpg = format!("{KEYRINGS_DIR}/{slug}.gpg");
    let paths = [dest, asc.as_str(), gpg.as_str()];
    let list: Vec<String> = paths.iter().map(|p| quote(p)).collect();
    // The removed paths, one a line, then the old .sources text after a \x01 marker line (for diff).
    let script = format!(
        "for p in {}; do if [ -e \"$p\" ]; then echo \"$p\"; fi; done\nif [ -f {q} ]; then printf '\\001\\n'; cat {q}; fi\n{}",
        list.join(" "),
        if ctx.check { String::new() } else { format!("rm -f -- {} || exit 1", list.join(" ")) },
        q = quote(dest),
    );
    let out = ctx.conn.exec(&script, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("could not remove {dest}: {}", out.stderr_str().trim())));
    }
    let text = out.stdout_str();
    let (removed, before) = text.split_once("\u{1}\n").unwrap_or((text.as_str(), ""));
    let mut r = ModuleResult::changed(!removed.trim().is_empty())
        .with("repo", Value::Null)
        .with("dest", dest)
        .with("key_filename", gpg);
    if ctx.diff && removed.lines().any(|l| l == dest) {
        r = r.with_diff(FileDiff {
            before_header: dest.into(),
            after_header: "/dev/null".into(),
            before: before.to_string(),
            after: String::new(),
        });
    }
    Ok(r)
}

/// Downloads a key URL on the host into /etc/apt/keyrings/<slug>.asc (armored) or .gpg, mode 0644,
/// replacing it only when the bytes differ. Returns (changed, path).
fn fetch_key(ctx: &mut ModuleCtx, url: &str, slug: &str) -> Result<(bool, String), ModuleError> {
    let check = if ctx.check { "1" } else { "" };
    let script = format!(
        "t=$(mktemp) || exit 1\nif command -v curl >/dev/null 2>&1; then curl -fsSL -o \"$t\" {url} || {{ rm -f \"$t\"; exit 2; }}; else wget -q -O \"$t\" {url} || {{ rm -f \"$t\"; exit 2; }}; fi\nif grep -q -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' \"$t\"; then ext=asc; else ext=gpg; fi\nd={dir}/{slug}.$ext\necho \"$d\"\nif [ -f \"$d\" ] && cmp -s \"$t\" \"$d\" && [ \"$(stat -c %a \"$d\")\" = 644 ]; then rm -f \"$t\"; exit 0; fi\necho CHANGED\nif [ -n \"{check}\" ]; then rm -f \"$t\"; exit 0; fi\nmkdir -p {dir} && chmod 0755 {dir} && chmod 0644 \"$t\" && mv -f \"$t\" \"$d\"\n",
        url = quote(url),
        dir = KEYRINGS_DIR,
    );
    let out = ctx.conn.exec(&script, None)?;
    if out.rc != 0 {
        return Err(ModuleError::msg(format!("Could not fetch signed_by key: {}", out.stderr_str().trim())));
    }
    let text = out.stdout_str();
    let path = text.lines().next().unwrap_or_default().to_string();
    Ok((text.lines().any(|l| l == "CHANGED"), path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Module;
    use serde_json::json;

    fn args(v: Value) -> Deb822Args {
        crate::contract::parse_args(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn slug_like_ansible() {
        assert_eq!(slug("Docker CE_stable"), "docker-ce-stable");
        assert_eq!(slug("My Repo (v2)!"), "my-repo-v2");
    }

    #[test]
    fn renders_like_deb822_dump() {
        let a = args(json!({
            "name": "example",
            "types": ["deb"],
            "uris": "https://download.example.com/linux/debian",
            "suites": ["bookworm"],
            "components": ["stable"],
            "architectures": "amd64",
            "enabled": true,
        }));
        assert_eq!(
            render(&a, Some("/etc/apt/keyrings/example.asc")),
            "Architectures: amd64\nComponents: stable\nEnabled: yes\nX-Repolib-Name: example\nSigned-By: /etc/apt/keyrings/example.asc\nSuites: bookworm\nTypes: deb\nURIs: https://download.example.com/linux/debian\n"
        );
    }

    #[test]
    fn inline_keys_become_indented_blocks() {
        let a = args(json!({"name": "k", "uris": "http://x", "suites": "s", "check_valid_until": false}));
        let key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\n-----END PGP PUBLIC KEY BLOCK-----\n";
        assert_eq!(
            render(&a, Some(key)),
            "Check-Valid-Until: no\nX-Repolib-Name: k\nSigned-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mQINBF\n    -----END PGP PUBLIC KEY BLOCK-----\nSuites: s\nTypes: deb\nURIs: http://x\n"
        );
    }

    #[test]
    fn field_names_title_cased() {
        assert_eq!(field_name("allow_downgrade_to_insecure"), "Allow-Downgrade-To-Insecure");
        assert_eq!(field_name("pdiffs"), "Pdiffs");
        assert_eq!(field_name("date_max_future"), "Date-Max-Future");
    }

    #[test]
    fn bad_arguments_rejected() {
        let v = |j: Value| Deb822Repository.validate(j.as_object().unwrap());
        assert!(v(json!({"name": "x", "types": "rpm"})).is_err());
        assert!(v(json!({"name": "x", "state": "gone"})).is_err());
        assert!(v(json!({"uris": "http://x"})).unwrap_err().msg.contains("name"));
    }
}
