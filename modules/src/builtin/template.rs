//! `template`: renders a controller-side Jinja template with the task's variables and puts the
//! result on the host exactly as `copy` does (checksum compare, atomic write, backup, validate).

use serde::Deserialize;

use crate::args::Mode;
use crate::builtin::copy::{apply_put, decide_put, PutAction, PutRequest};
use crate::contract::{ArgError, Decision, FileKind, ModuleCtx, ModuleError, RunResult, TemplateRequest, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::Attrs;
use crate::filewrite;

/// `template` arguments.
#[derive(Debug, Deserialize, crate::doc::ArgsDoc)]
#[serde(deny_unknown_fields)]
pub struct TemplateArgs {
    /// Template file, looked up in `templates/`.
    #[serde(deserialize_with = "crate::args::string")]
    pub src: String,
    /// Destination path; a trailing `/` or an existing directory means `dest/basename(src)`.
    #[serde(deserialize_with = "crate::args::string")]
    pub dest: String,
    /// Permissions, or `preserve` to keep the template file's.
    #[serde(default, deserialize_with = "crate::args::opt_mode")]
    pub mode: Option<Mode>,
    /// Owner of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub owner: Option<String>,
    /// Group of the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub group: Option<String>,
    /// Keep a timestamped copy of the old file.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub backup: bool,
    /// `no`: only write when the destination is missing.
    #[serde(default = "yes", deserialize_with = "crate::args::bool")]
    pub force: bool,
    /// Command run on the new content (`%s` = its path) before it replaces the file.
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub validate: Option<String>,
    /// What the newlines of the template's own text become: `\n` (default), `\r` or `\r\n`
    /// (newlines inside rendered values are kept, as in Jinja).
    #[serde(default = "lf", deserialize_with = "crate::args::string")]
    pub newline_sequence: String,
    /// Follow a destination symlink instead of replacing it.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
    /// Remove the first newline after a block tag.
    #[serde(default = "yes", deserialize_with = "crate::args::bool")]
    pub trim_blocks: bool,
    /// Strip spaces and tabs before a block tag at the start of a line.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub lstrip_blocks: bool,
    /// The string opening a block (`{%`).
    #[serde(default = "block_start", deserialize_with = "crate::args::string")]
    pub block_start_string: String,
    /// The string closing a block (`%}`).
    #[serde(default = "block_end", deserialize_with = "crate::args::string")]
    pub block_end_string: String,
    /// The string opening an expression (`{{`).
    #[serde(default = "variable_start", deserialize_with = "crate::args::string")]
    pub variable_start_string: String,
    /// The string closing an expression (`}}`).
    #[serde(default = "variable_end", deserialize_with = "crate::args::string")]
    pub variable_end_string: String,
    /// The string opening a comment (`{#`).
    #[serde(default = "comment_start", deserialize_with = "crate::args::string")]
    pub comment_start_string: String,
    /// The string closing a comment (`#}`).
    #[serde(default = "comment_end", deserialize_with = "crate::args::string")]
    pub comment_end_string: String,
    /// The encoding the rendered file is written in (Python's codec names: `utf-8`, `latin-1`,
    /// `utf-16`, `cp1252`...).
    #[serde(default, deserialize_with = "crate::args::opt_string")]
    pub output_encoding: Option<String>,
    /// When the file cannot be replaced atomically (an immutable directory, a bind-mounted
    /// file), write it in place. Unset: the host's `ANSIBLE_UNSAFE_WRITES` decides, as in Ansible.
    #[serde(default, deserialize_with = "crate::args::opt_bool")]
    pub unsafe_writes: Option<bool>,
}

fn yes() -> bool {
    true
}
fn lf() -> String {
    "\n".into()
}
fn block_start() -> String {
    "{%".into()
}
fn block_end() -> String {
    "%}".into()
}
fn variable_start() -> String {
    "{{".into()
}
fn variable_end() -> String {
    "}}".into()
}
fn comment_start() -> String {
    "{#".into()
}
fn comment_end() -> String {
    "#}".into()
}

/// The newline sequence, also when written escaped (`'\\r\\n'` in YAML), as Ansible accepts it.
fn newline(s: &str) -> Option<&'static str> {
    match s {
        "\n" | "\\n" => Some("\n"),
        "\r" | "\\r" => Some("\r"),
        "\r\n" | "\\r\\n" => Some("\r\n"),
        _ => None,
    }
}

/// The `template` module.
pub struct Template;

impl TypedModule for Template {
    type Args = TemplateArgs;
    const NAME: &'static str = "template";
    const TWO_PHASE: bool = true;
    const DOC: ModuleText = ModuleText {
        short: "Renders a Jinja template from the controller with the task's variables and writes the \
                result to a path on the host, as `copy` does, changing it only when it differs.",
        notes: "A relative src is looked up in the role's templates/, the role, the role's tasks/, then \
                templates/ next to the playbook and the playbook's directory. Besides the task's \
                variables the template sees `ansible_managed`, `template_path` and \
                `template_fullpath` (`template_destpath` is null). The result is compared by checksum, \
                written to a temporary file beside dest, checked with `validate`, then renamed into \
                place. Jinja's options (`trim_blocks`, `lstrip_blocks`, the `*_start_string` and \
                `*_end_string` delimiters, `newline_sequence`) apply as in Ansible, and a \
                `#jinja2: key: value, ...` first line of the template overrides them. \
                `output_encoding` writes the result in another encoding (Python's codec names).",
        returns: &[
            ("dest", "The destination path."),
            ("src", "The template file's path on the controller."),
            ("checksum", "SHA-1 of the rendered content."),
            ("md5sum", "MD5 of the rendered content, when it was written."),
            ("size", "Size in bytes."),
            ("mode, owner, group, uid, gid, state", "The file's attributes after the task."),
            ("backup_file", "The backup's path, when `backup: true` made one."),
            ("exit_status, stdout, stderr", "When `validate` failed: what the validation command returned."),
            ("diff", "With --diff: the content before and after."),
        ],
        example: "- name: Configure nginx\n  ansible.builtin.template:\n    src: nginx.conf.j2\n    \
                  dest: /etc/nginx/nginx.conf\n    mode: \"0644\"\n    validate: nginx -t -c %s\n",
    };

    fn check_args(a: &TemplateArgs) -> Result<(), ArgError> {
        if newline(&a.newline_sequence).is_none() {
            return Err(ArgError {
                msg: format!("newline_sequence needs to be one of: \\n, \\r or \\r\\n, got {:?}", a.newline_sequence),
            });
        }
        let starts = [&a.block_start_string, &a.variable_start_string, &a.comment_start_string];
        if starts[0] == starts[1] || starts[1] == starts[2] || starts[0] == starts[2] {
            return Err(ArgError { msg: "Block, variable and comment start strings must be different.".into() });
        }
        Ok(())
    }

    /// `decide_put`'s first probe of the destination (a `dest/` asks about the directory first).
    fn first_probe(a: &TemplateArgs) -> Option<String> {
        if a.dest.ends_with('/') {
            return None;
        }
        filewrite::ahead_probe_cmd(&a.dest, a.follow, filewrite::Read::Hash)
    }

    fn decide(&self, a: &TemplateArgs, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let local = ctx
            .controller
            .find_file(FileKind::Templates, &a.src)
            .map_err(|e| ModuleError::msg(format!("Could not find or access '{}': {e}", a.src)))?;
        let req = TemplateRequest {
            src: a.src.clone(),
            dest: a.dest.clone(),
            trim_blocks: a.trim_blocks,
            lstrip_blocks: a.lstrip_blocks,
            block_start_string: a.block_start_string.clone(),
            block_end_string: a.block_end_string.clone(),
            variable_start_string: a.variable_start_string.clone(),
            variable_end_string: a.variable_end_string.clone(),
            comment_start_string: a.comment_start_string.clone(),
            comment_end_string: a.comment_end_string.clone(),
            newline_sequence: newline(&a.newline_sequence).unwrap_or("\n").to_string(),
        };
        let text = ctx.controller.render_template(&local, &req).map_err(ModuleError::msg)?;
        let encoding = a.output_encoding.as_deref().filter(|e| !e.is_empty()).unwrap_or("utf-8");
        let data = crate::encoding::encode(&text, encoding).map_err(ModuleError::msg)?;
        let mode = match &a.mode {
            Some(Mode::Preserve) => Some(filewrite::preserve_mode(&local).map_err(ModuleError::msg)?),
            m => m.clone(),
        };
        let req = PutRequest {
            data,
            dest: a.dest.clone(),
            src_label: Some(local.to_string_lossy().into_owned()),
            basename: Some(filewrite::basename(&a.src).to_string()),
            attrs: Attrs { mode, owner: a.owner.clone(), group: a.group.clone() },
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: false,
            unsafe_writes: a.unsafe_writes,
        };
        let (result, observed, act) = decide_put(ctx, req)?;
        Ok(Decision { result, observed, action: Box::new(act) })
    }

    fn apply(&self, _a: TemplateArgs, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let (decided, act) = decision.take_action::<PutAction>(Self::NAME)?;
        apply_put(ctx, decided, act)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Template;
    use crate::builtin::test_support::{fail_msg, Sandbox};

    #[test]
    fn renders_writes_and_is_idempotent() {
        let mut sb = Sandbox::new();
        sb.write("templates/app.conf.j2", "port=80\nhost=a\n");
        let dest = sb.path("app.conf");
        let args = json!({"src": "app.conf.j2", "dest": dest, "mode": "0600"});
        let r = sb.run(&Template, args.clone(), true, true).unwrap();
        assert!(r.changed);
        assert!(!std::path::Path::new(&dest).exists());
        assert_eq!(r.diff[0].after, "port=80\nhost=a\n");
        let r = sb.ok(&Template, args.clone());
        assert!(r.changed);
        assert_eq!(sb.read("app.conf"), "port=80\nhost=a\n");
        assert_eq!(r.data["mode"], "0600");
        assert!(!sb.ok(&Template, args).changed);
    }

    #[test]
    fn directory_dest_and_output_encoding() {
        let mut sb = Sandbox::new();
        sb.write("templates/x.j2", "café\n");
        std::fs::create_dir(sb.path("out")).unwrap();
        let args = json!({"src": "x.j2", "dest": sb.path("out"), "output_encoding": "latin-1"});
        let r = sb.ok(&Template, args.clone());
        assert!(r.changed);
        assert_eq!(std::fs::read(sb.path("out/x.j2")).unwrap(), b"caf\xe9\n");
        // The checksum compares the encoded bytes: the second run changes nothing.
        assert!(!sb.ok(&Template, args).changed);
        sb.write("templates/e.j2", "€");
        let e =
            sb.run(&Template, json!({"src": "e.j2", "dest": sb.path("e"), "output_encoding": "ascii"}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("'ascii' codec can't encode character"));
    }

    #[test]
    fn rejects_unknown_options_and_missing_src() {
        let mut sb = Sandbox::new();
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": sb.path("y"), "state": "file"}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("unsupported argument"));
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": "y", "newline_sequence": "\t"}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("newline_sequence needs to be one of"));
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": "y", "block_start_string": "{{"}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("must be different"));
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": sb.path("y")}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("Could not find or access 'x.j2'"));
    }
}

#[cfg(test)]
mod two_phase_tests {
    use serde_json::json;

    use super::Template;
    use crate::builtin::test_support::Sandbox;
    use crate::fileops::sha1_hex;

    #[test]
    fn deciding_changes_nothing_and_applying_does_what_was_decided() {
        let mut sb = Sandbox::new();
        sb.write("templates/app.j2", "port=80\n");
        let dest = sb.write("app.conf", "port=1\n");
        let args = json!({"src": "app.j2", "dest": dest});
        let d = sb.decide(&Template, &args);
        assert!(d.result.changed);
        assert_eq!(d.observed["checksum"], sha1_hex(b"port=1\n"));
        assert_eq!(sb.read("app.conf"), "port=1\n", "decide wrote to the host");
        assert_eq!(sb.run(&Template, args.clone(), true, true).unwrap(), d.result);
        sb.write("app.conf", "port=2\n");
        let d = sb.decide(&Template, &args);
        assert_eq!(d.observed["checksum"], sha1_hex(b"port=2\n"));
        assert_eq!(d.result.diff[0].before, "port=2\n");
        assert!(sb.apply(&Template, &args, d).changed);
        assert_eq!(sb.read("app.conf"), "port=80\n");
        let again = sb.decide(&Template, &args);
        assert!(!again.result.changed);
        assert_eq!(again.observed["checksum"], sha1_hex(b"port=80\n"));
    }
}
