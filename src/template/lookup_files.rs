//! Lookup plugins that read the controller's files and commands: `file`, `fileglob`,
//! `first_found`, `template`, `lines`, `pipe`, `ini` and `csvfile`, as ansible-core 2.19 writes
//! them (`ansible/plugins/lookup/*.py`). Relative names are searched like Ansible's
//! `find_file_in_search_path` (`search.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::filters::err;
use super::lookups::{term_strings, Call};
use super::search::{self, RenderScope};
use super::{keep_trailing_newlines, native, pyfmt};

/// Runs one of this file's plugins.
pub(crate) fn run(call: &mut Call, plugin: &str, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    match plugin {
        "file" => file(call, &terms),
        "unvault" => unvault(call, &terms),
        "fileglob" => {
            call.opts.check_known("fileglob", &[])?;
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                out.extend(fileglob(&t, &call.vars).into_iter().map(Value::from));
            }
            Ok(out)
        }
        "first_found" => first_found(call, terms),
        "template" => template(call, &terms),
        "pipe" | "lines" => {
            call.opts.check_known(plugin, &[])?;
            let mut out = Vec::new();
            for t in term_strings(&terms)? {
                let text = pipe(&t)?;
                if plugin == "pipe" {
                    out.push(Value::from(text.trim_end_matches('\n')));
                } else {
                    out.extend(text.lines().map(Value::from));
                }
            }
            Ok(out)
        }
        "ini" => super::lookup_ini::ini(call, &terms),
        "csvfile" => super::lookup_ini::csvfile(call, &terms),
        other => Err(err(format!("unknown file lookup {other}"))),
    }
}

/// Finds `name` for a plugin that searches `subdir` (`files`, `templates`, `vars`).
pub(crate) fn find(name: &str, subdir: &str, vars: &Value) -> Option<PathBuf> {
    search::find_file(name, subdir, vars)
}

/// `lookup('file', name, lstrip=False, rstrip=True)`.
fn file(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known("file", &["lstrip", "rstrip"])?;
    let lstrip = call.opts.bool("file", "lstrip", false)?;
    let rstrip = call.opts.bool("file", "rstrip", true)?;
    let mut out = Vec::new();
    for t in term_strings(terms)? {
        let path = find(&t, "files", &call.vars).ok_or_else(|| err(format!("could not locate file in lookup: {t}")))?;
        let bytes = read_decrypted(&path)?;
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        if rstrip {
            text.truncate(text.trim_end().len());
        }
        if lstrip {
            text = text.trim_start().to_string();
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

/// `unvault`: a file's content, decrypted when it is vault-encrypted, not stripped.
fn unvault(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known("unvault", &[])?;
    let mut out = Vec::new();
    for t in term_strings(terms)? {
        let path = find(&t, "files", &call.vars).ok_or_else(|| err(format!("Unable to find file matching \"{t}\"")))?;
        out.push(Value::from(String::from_utf8_lossy(&read_decrypted(&path)?).into_owned()));
    }
    Ok(out)
}

/// A controller file's bytes; a vault-encrypted one is decrypted with the run's passwords (its
/// plaintext registered for censoring, src/secrets/).
pub(crate) fn read_decrypted(path: &Path) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(path).map_err(|e| err(format!("could not read {}: {e}", path.display())))?;
    if !crate::vault::is_encrypted(&bytes) {
        return Ok(bytes);
    }
    crate::secrets::open_bytes(path, &bytes).map(|p| p.to_vec()).map_err(|e| err(e.to_string()))
}

/// `fileglob`: the files (not directories) matching a pattern in one directory; a bare pattern
/// is matched in `files/` then the directory of each search path, stopping at the first that
/// matches.
fn fileglob(term: &str, vars: &Value) -> Vec<String> {
    let (dir_part, pattern) = match term.rfind('/') {
        Some(i) => (Some(&term[..i]), &term[i + 1..]),
        None => (None, term),
    };
    let dirs: Vec<PathBuf> = match dir_part {
        Some(d) => {
            let d = if d.is_empty() { "/" } else { d };
            search::find_dir(d, "files", vars).into_iter().collect()
        }
        None => search::base_dirs(vars).into_iter().flat_map(|b| [b.join("files"), b]).collect(),
    };
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut found: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|name| (!name.starts_with('.') || pattern.starts_with('.')) && fnmatch(pattern, name))
            .map(|name| dir.join(name).to_string_lossy().into_owned())
            .collect();
        if !found.is_empty() {
            found.sort();
            return found;
        }
    }
    vec![]
}

/// Shell-style matching of one file name: `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`.
pub(crate) fn fnmatch(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // p starts after '['; returns (matched, length of the class including ']').
        let mut i = 0;
        let negate = matches!(p.first(), Some('!') | Some('^'));
        if negate {
            i += 1;
        }
        let mut matched = false;
        let mut first = true;
        while i < p.len() && (p[i] != ']' || first) {
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                if p[i] <= c && c <= p[i + 2] {
                    matched = true;
                }
                i += 3;
            } else {
                if p[i] == c {
                    matched = true;
                }
                i += 1;
            }
        }
        (i < p.len()).then_some((matched != negate, i + 1))
    }
    fn go(p: &[char], n: &[char], depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        match p.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|k| go(&p[1..], &n[k..], depth + 1)),
            Some('?') => !n.is_empty() && go(&p[1..], &n[1..], depth),
            Some('[') => match (n.first(), class(&p[1..], n.first().copied().unwrap_or('\0'))) {
                (Some(_), Some((true, len))) => go(&p[1 + len..], &n[1..], depth),
                (Some(_), Some((false, _))) => false,
                (Some(c), None) => *c == '[' && go(&p[1..], &n[1..], depth),
                (None, _) => false,
            },
            Some(c) => n.first() == Some(c) && go(&p[1..], &n[1..], depth),
        }
    }
    go(&p, &n, 0)
}

/// `first_found`: the first of the candidate files that exists. Terms are file names, lists of
/// them, or mappings with `files`, `paths` and `skip`; names and paths given as strings are split
/// on `,;` (files) and `,:;` (paths). A `with_first_found` loop searches the subdirectory its
/// task's action suggests (`templates`, `vars`, else `files`); `lookup` searches the search path
/// itself.
fn first_found(call: &mut Call, terms: Vec<Value>) -> Result<Vec<Value>, Error> {
    call.opts.check_known("first_found", &["files", "paths", "skip"])?;
    let subdir = call.with_action.as_deref().map(|action| {
        if action.contains("template") {
            "templates"
        } else if action.contains("var") {
            "vars"
        } else {
            "files"
        }
    });
    let mut skip = call.opts.bool("first_found", "skip", false)?;
    let terms = if terms.is_empty() { call.opts.get("files").map(as_list).unwrap_or_default() } else { terms };
    let mut candidates = Vec::new();
    process_terms(&terms, &call.opts, &mut candidates, &mut skip, 0)?;
    for name in candidates {
        let found = match subdir {
            Some(sub) => search::find_file(&name, sub, &call.vars),
            None => search::find_file(&name, "", &call.vars),
        };
        if let Some(path) = found {
            return Ok(vec![Value::from(normalize(&path).to_string_lossy().into_owned())]);
        }
    }
    if skip {
        return Ok(vec![]);
    }
    Err(err("No file was found when using first_found."))
}

fn as_list(v: &Value) -> Vec<Value> {
    match v.kind() {
        ValueKind::Seq => v.try_iter().map(Iterator::collect).unwrap_or_default(),
        ValueKind::None | ValueKind::Undefined => vec![],
        _ => vec![v.clone()],
    }
}

/// Strings split on any of `seps`, lists of strings each split.
fn split_on(what: &str, v: &Value, seps: &[char]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for item in as_list(v) {
        match item.kind() {
            ValueKind::String => out.extend(
                pyfmt::to_str(&item).split(|c| seps.contains(&c)).filter(|s| !s.is_empty()).map(str::to_string),
            ),
            _ => {
                return Err(err(format!(
                    "Invalid {what}: a string or a list of strings is required, not '{}'",
                    super::filters::type_debug(&item)
                )))
            }
        }
    }
    Ok(out)
}

fn process_terms(
    terms: &[Value],
    opts: &super::lookups::Options,
    out: &mut Vec<String>,
    skip: &mut bool,
    depth: usize,
) -> Result<(), Error> {
    if depth > 20 {
        return Err(err("first_found: terms nested too deep"));
    }
    for term in terms {
        let (files, paths) = match term.kind() {
            ValueKind::Map => {
                for key in term.try_iter()? {
                    let k = pyfmt::to_str(&key);
                    if !["files", "paths", "skip"].contains(&k.as_str()) {
                        return Err(err(format!("'{k}' is not a valid option for the first_found lookup")));
                    }
                }
                let get = |k: &str| term.get_attr(k).ok().filter(|v| !v.is_undefined());
                if let Some(s) = get("skip") {
                    let mut o = super::lookups::Options::default();
                    o.set("skip", s);
                    *skip = o.bool("first_found", "skip", false)?;
                }
                let files =
                    get("files").or_else(|| opts.get("files").cloned()).unwrap_or(Value::from(Vec::<Value>::new()));
                let paths =
                    get("paths").or_else(|| opts.get("paths").cloned()).unwrap_or(Value::from(Vec::<Value>::new()));
                (split_on("the 'files' option", &files, &[',', ';'])?, paths)
            }
            ValueKind::String => (
                split_on("files", term, &[',', ';'])?,
                opts.get("paths").cloned().unwrap_or(Value::from(Vec::<Value>::new())),
            ),
            ValueKind::Seq => {
                process_terms(&term.try_iter()?.collect::<Vec<_>>(), opts, out, skip, depth + 1)?;
                continue;
            }
            _ => {
                return Err(err(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}').",
                    super::filters::type_debug(term)
                )))
            }
        };
        let paths = split_on("the \"paths\" option", &paths, &[',', ':', ';'])?;
        if paths.is_empty() {
            out.extend(files);
        } else {
            for p in &paths {
                for f in &files {
                    out.push(Path::new(p).join(f).to_string_lossy().into_owned());
                }
            }
        }
    }
    Ok(())
}

/// `path` with `.` and `..` components resolved (Ansible's `unfrackpath`, not following links).
fn normalize(path: &Path) -> PathBuf {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `lookup('template', name, template_vars={...})`: the file rendered with the current
/// variables (plus `template_*` and `template_vars`), with Ansible's native result (a template
/// printing nothing gives None, one value alone gives that value).
fn template(call: &Call, terms: &[Value]) -> Result<Vec<Value>, Error> {
    call.opts.check_known(
        "template",
        &[
            "template_vars",
            "convert_data",
            "jinja2_native",
            "variable_start_string",
            "variable_end_string",
            "comment_start_string",
            "comment_end_string",
            "trim_blocks",
        ],
    )?;
    let extra = call.opts.get("template_vars").cloned();
    // The lookup's own Jinja overrides (Ansible's `TemplateOverrides` from its options).
    let opts = super::FileOptions {
        variable_start_string: call.opts.string("variable_start_string", "{{"),
        variable_end_string: call.opts.string("variable_end_string", "}}"),
        comment_start_string: call.opts.string("comment_start_string", "{#"),
        comment_end_string: call.opts.string("comment_end_string", "#}"),
        trim_blocks: call.opts.bool("template", "trim_blocks", true)?,
        ..super::FileOptions::default()
    };
    let own_env = (opts != super::FileOptions::default()).then(|| super::strict_env_for(&opts)).transpose()?;
    let mut out = Vec::new();
    for t in term_strings(terms)? {
        let path = find(&t, "templates", &call.vars)
            .ok_or_else(|| err(format!("the template file {t} could not be found for the lookup")))?;
        let source =
            std::fs::read_to_string(&path).map_err(|e| err(format!("could not read {}: {e}", path.display())))?;
        let named = super::filevars::FileNames { src: Some(t.clone()), dest: None };
        let mut vars = super::filevars::template_vars(&path, &call.vars, &named);
        if let Some(extra) = &extra {
            vars = minijinja::value::merge_maps([vars, extra.clone()]);
        }
        let _scope = RenderScope::enter(&vars, Some(&path));
        let capture = native::Capture::start();
        let name = path.to_string_lossy();
        let text = match &own_env {
            Some(env) => env.get_template(&name)?.render(&vars)?,
            None => call.state.env().get_template(&name)?.render(&vars)?,
        };
        let (count, first) = capture.printed();
        let body = super::syntax::split_override_header(&source).1;
        out.push(if count == 0 && text.is_empty() {
            Value::from(())
        } else {
            match first.filter(|v| count == 1 && v.kind() != ValueKind::String && pyfmt::to_display(v) == text) {
                Some(v) => v,
                None => Value::from(keep_trailing_newlines(body, text)),
            }
        });
    }
    Ok(out)
}

/// Runs a command with `sh -c` on the controller and returns its standard output.
fn pipe(command: &str) -> Result<String, Error> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| err(format!("lookup_plugin.pipe({command}): {e}")))?;
    if !output.status.success() {
        return Err(err(format!("lookup_plugin.pipe({command}) returned {}", output.status.code().unwrap_or(-1))));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

    #[test]
    fn fnmatch_matches_like_python() {
        assert!(fnmatch("*.txt", "a.txt"));
        assert!(!fnmatch("*.txt", "a.txt.bak"));
        assert!(fnmatch("file?", "file1"));
        assert!(fnmatch("[ab]*", "banana"));
        assert!(!fnmatch("[!ab]*", "banana"));
        assert!(fnmatch("x[0-9]", "x5"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("a[", "a["));
    }
}
