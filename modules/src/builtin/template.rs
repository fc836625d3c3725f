//! `template`: renders a controller-side Jinja template with the task's variables and puts the
//! result on the host exactly as `copy` does (checksum compare, atomic write, backup, validate).

use serde::Deserialize;

use crate::args::Mode;
use crate::builtin::copy::{put_file, PutRequest};
use crate::contract::{ArgError, FileKind, ModuleCtx, ModuleError, RunResult, TypedModule};
use crate::doc::ModuleText;
use crate::fileops::Attrs;
use crate::filewrite;

/// `template` arguments. Jinja environment options other than `newline_sequence`
/// (`trim_blocks`, `lstrip_blocks`, `variable_start_string`...) are not accepted.
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
    /// Line ending of the rendered file: `\n` (default), `\r` or `\r\n`.
    #[serde(default = "lf", deserialize_with = "crate::args::string")]
    pub newline_sequence: String,
    /// Follow a destination symlink instead of replacing it.
    #[serde(default, deserialize_with = "crate::args::bool")]
    pub follow: bool,
}

fn yes() -> bool {
    true
}
fn lf() -> String {
    "\n".into()
}

/// The `template` module.
pub struct Template;

impl TypedModule for Template {
    type Args = TemplateArgs;
    const NAME: &'static str = "template";
    const DOC: ModuleText = ModuleText {
        short: "Renders a Jinja template from the controller with the task's variables and writes the \
                result to a path on the host, as `copy` does, changing it only when it differs.",
        notes: "A relative src is looked up in the role's templates/, the role, the role's tasks/, then \
                templates/ next to the playbook and the playbook's directory. Besides the task's \
                variables the template sees `ansible_managed`, `template_path` and \
                `template_fullpath` (`template_destpath` is null). The result is compared by checksum, \
                written to a temporary file beside dest, checked with `validate`, then renamed into \
                place. Jinja environment options (`trim_blocks`, `lstrip_blocks`, \
                `variable_start_string`, `output_encoding`...) are not accepted; `newline_sequence` \
                is.",
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
        match a.newline_sequence.as_str() {
            "\n" | "\r" | "\r\n" => Ok(()),
            other => Err(ArgError {
                msg: format!("value of newline_sequence must be one of: \\n, \\r, \\r\\n, got: {other:?}"),
            }),
        }
    }

    fn run(&self, a: TemplateArgs, ctx: &mut ModuleCtx) -> RunResult {
        let local = ctx
            .controller
            .find_file(FileKind::Templates, &a.src)
            .map_err(|e| ModuleError::msg(format!("Could not find or access '{}': {e}", a.src)))?;
        let mut text = ctx.controller.render_template(&local).map_err(ModuleError::msg)?;
        if a.newline_sequence != "\n" {
            text = text.replace('\n', &a.newline_sequence);
        }
        let mode = match &a.mode {
            Some(Mode::Preserve) => Some(filewrite::preserve_mode(&local).map_err(ModuleError::msg)?),
            m => m.clone(),
        };
        let req = PutRequest {
            data: text.into_bytes(),
            dest: a.dest.clone(),
            src_label: Some(local.to_string_lossy().into_owned()),
            basename: Some(filewrite::basename(&a.src).to_string()),
            attrs: Attrs { mode, owner: a.owner.clone(), group: a.group.clone() },
            backup: a.backup,
            force: a.force,
            validate: a.validate.clone(),
            follow: a.follow,
            parent_ready: false,
        };
        put_file(ctx, &req)
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
    fn newline_sequence_and_directory_dest() {
        let mut sb = Sandbox::new();
        sb.write("templates/x.j2", "a\nb\n");
        std::fs::create_dir(sb.path("out")).unwrap();
        let r = sb.ok(&Template, json!({"src": "x.j2", "dest": sb.path("out"), "newline_sequence": "\r\n"}));
        assert!(r.changed);
        assert_eq!(sb.read("out/x.j2"), "a\r\nb\r\n");
    }

    #[test]
    fn rejects_unknown_options_and_missing_src() {
        let mut sb = Sandbox::new();
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": sb.path("y"), "trim_blocks": false}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("unsupported argument"));
        let e = sb.run(&Template, json!({"src": "x.j2", "dest": sb.path("y")}), false, false);
        assert!(fail_msg(e.unwrap_err()).contains("Could not find or access 'x.j2'"));
    }
}
