//! `template`: renders a controller-side Jinja template with the task's variables and puts the
//! result on the host exactly as `copy` does (checksum compare, atomic write, backup, validate).

use serde::Deserialize;

use crate::args::Mode;
use crate::builtin::copy::{put_file, PutRequest};
use crate::contract::{ArgError, FileKind, ModuleCtx, ModuleError, RunResult, TypedModule};
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
