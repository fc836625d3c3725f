//! The module contract: typed arguments in, Ansible-shaped result out.

use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::connection::{ConnError, Connection};

/// Where a controller-side file is looked up, as Ansible's `files/` and `templates/` search paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `copy src=`, `lookup('file')`: role `files/`, playbook `files/`, playbook dir.
    Files,
    /// `template src=`: role `templates/`, playbook `templates/`, playbook dir.
    Templates,
}

/// How the `template` module wants a file rendered: Jinja's environment options (Ansible's
/// defaults in `Default`) and what the `template_path`/`template_destpath` variables say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRequest {
    /// `src` as the task gave it (`template_path`).
    pub src: String,
    /// `dest` as the task gave it (`template_destpath`).
    pub dest: String,
    /// Remove the first newline after a block tag.
    pub trim_blocks: bool,
    /// Strip whitespace before a block tag at the start of a line.
    pub lstrip_blocks: bool,
    /// `{%`.
    pub block_start_string: String,
    /// `%}`.
    pub block_end_string: String,
    /// `{{`.
    pub variable_start_string: String,
    /// `}}`.
    pub variable_end_string: String,
    /// `{#`.
    pub comment_start_string: String,
    /// `#}`.
    pub comment_end_string: String,
    /// What the newlines of the template's text become: `\n`, `\r\n` or `\r`.
    pub newline_sequence: String,
}

impl Default for TemplateRequest {
    fn default() -> Self {
        TemplateRequest {
            src: String::new(),
            dest: String::new(),
            trim_blocks: true,
            lstrip_blocks: false,
            block_start_string: "{%".into(),
            block_end_string: "%}".into(),
            variable_start_string: "{{".into(),
            variable_end_string: "}}".into(),
            comment_start_string: "{#".into(),
            comment_end_string: "#}".into(),
            newline_sequence: "\n".into(),
        }
    }
}

/// Services the engine offers a module that need the controller side: finding files next to the
/// playbook or role and rendering templates with the task's variables. Modules stay ignorant of
/// playbooks; the engine supplies this per task.
pub trait Controller: Sync {
    /// Resolves a relative `src` the way Ansible does; an error says which paths were searched.
    fn find_file(&self, kind: FileKind, src: &str) -> Result<PathBuf, String>;
    /// Renders a template file with the task's variables and the request's Jinja options.
    fn render_template(&self, path: &std::path::Path, req: &TemplateRequest) -> Result<String, String>;
    /// Reads a controller file to send to the host. With `decrypt`, the engine decrypts a
    /// vault-encrypted file with the run's vault passwords (`copy`'s `decrypt: true`, Ansible's
    /// default); without it, or in this default, the bytes are sent as they are.
    fn read_source(&self, path: &std::path::Path, decrypt: bool) -> Result<Vec<u8>, String> {
        let _ = decrypt;
        std::fs::read(path).map_err(|e| e.to_string())
    }
}

/// Everything a module run gets besides its arguments.
pub struct ModuleCtx<'a> {
    /// The host's connection, used by this thread alone for the duration of the run.
    pub conn: &'a mut dyn Connection,
    /// Check mode: compare and report, change nothing.
    pub check: bool,
    /// Diff mode: return before/after text for what changes.
    pub diff: bool,
    /// Controller-side services (file lookup, template rendering).
    pub controller: &'a dyn Controller,
}

/// One before/after pair, shaped like Ansible's `diff` return value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    /// Label of the old side, usually the path.
    pub before_header: String,
    /// Label of the new side.
    pub after_header: String,
    /// Old text.
    pub before: String,
    /// New text.
    pub after: String,
}

impl FileDiff {
    /// The text --diff shows for structured before/after values, as Ansible's callback renders
    /// them: JSON with sorted keys and 4-space indents, under bare `before`/`after` headers.
    pub fn structured(before: &Value, after: &Value) -> Self {
        // `json.dumps(v, sort_keys=True, indent=4, separators=(',', ': '))`: ASCII only.
        let style = crate::pyjson::Style { indent: Some(4), sort_keys: true, ensure_ascii: true };
        FileDiff {
            before: format!("{}\n", crate::pyjson::dumps_with(before, style)),
            after: format!("{}\n", crate::pyjson::dumps_with(after, style)),
            ..Default::default()
        }
    }

    /// A diff of one path's content.
    pub fn content(path: &str, before: impl Into<String>, after: impl Into<String>) -> Self {
        FileDiff {
            before_header: path.to_string(),
            after_header: path.to_string(),
            before: before.into(),
            after: after.into(),
        }
    }

    /// The Ansible-shaped JSON form (`before`, `after`, `before_header`, `after_header`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "before": self.before,
            "after": self.after,
            "before_header": self.before_header,
            "after_header": self.after_header,
        })
    }
}

/// The result of a module run: Ansible's `changed`/`failed`/`msg`/`diff` plus module fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleResult {
    /// The host's state was (or in check mode would be) changed.
    pub changed: bool,
    /// The module failed; `msg` says why.
    pub failed: bool,
    /// The module decided not to act (e.g. `creates` exists).
    pub skipped: bool,
    /// Human message.
    pub msg: Option<String>,
    /// Before/after texts for diff mode.
    pub diff: Vec<FileDiff>,
    /// Module-specific return values (`rc`, `stdout`, `dest`, `checksum`, ...).
    pub data: Map<String, Value>,
}

impl ModuleResult {
    /// An unchanged, successful result.
    pub fn ok() -> Self {
        Self::default()
    }
    /// A result whose `changed` is `changed`.
    pub fn changed(changed: bool) -> Self {
        ModuleResult { changed, ..Self::default() }
    }
    /// A failed result with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        ModuleResult { failed: true, msg: Some(msg.into()), ..Self::default() }
    }
    /// Adds a module field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }
    /// Sets the message.
    pub fn with_msg(mut self, msg: impl Into<String>) -> Self {
        self.msg = Some(msg.into());
        self
    }
    /// Adds a diff.
    pub fn with_diff(mut self, diff: FileDiff) -> Self {
        self.diff.push(diff);
        self
    }

    /// The Ansible-shaped JSON form that `register` stores.
    pub fn to_json(&self) -> Value {
        let mut m = self.data.clone();
        m.insert("changed".into(), Value::Bool(self.changed));
        if self.failed {
            m.insert("failed".into(), Value::Bool(true));
        }
        if self.skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        // A module that returns its own `diff` value (a structured before/after, as timezone
        // and debconf do) keeps it; its `FileDiff`s are then only what --diff shows.
        if !m.contains_key("diff") {
            match self.diff.len() {
                0 => {}
                1 => {
                    m.insert("diff".into(), self.diff[0].to_json());
                }
                _ => {
                    m.insert("diff".into(), Value::Array(self.diff.iter().map(FileDiff::to_json).collect()));
                }
            }
        }
        Value::Object(m)
    }
}

/// Why a module run did not produce a result of its own.
#[derive(Debug, Clone, PartialEq)]
pub enum ModuleError {
    /// The module failed; the result carries `msg` and any fields.
    Fail(Box<ModuleResult>),
    /// The connection broke: the host becomes unreachable.
    Conn(ConnError),
}

impl From<ConnError> for ModuleError {
    fn from(e: ConnError) -> Self {
        match e {
            // A refused write is the module's failure, not a lost host.
            ConnError::File(msg) => ModuleError::msg(msg),
            // The shell could not become the user: the task's failure, as Ansible's.
            ConnError::Become(msg) => ModuleError::msg(format!("Task failed: {msg}")),
            e => ModuleError::Conn(e),
        }
    }
}

impl ModuleError {
    /// A module failure with just a message.
    pub fn msg(msg: impl Into<String>) -> Self {
        ModuleError::Fail(Box::new(ModuleResult::failed(msg)))
    }
}

/// Short for a module's `run` return type.
pub type RunResult = Result<ModuleResult, ModuleError>;

/// What a two-phase module observed on the host and decided to do, before it changed anything.
/// Check mode stops here (the engine, not the module, owns it); a saved plan records `observed`
/// as the host's "before" and `result` as what would change; applying hands the decision back to
/// the module. See docs/architecture.md, "Decide, then apply".
pub struct Decision {
    /// What a check run reports: `changed` says whether applying would change the host; the diff
    /// and module fields are those of the check run.
    pub result: ModuleResult,
    /// The state the module compared, as named fields (checksum and attributes, package versions,
    /// unit state, container config digest...). Drift is a difference here.
    pub observed: Map<String, Value>,
    /// The module's own record of what to do, handed back to its `apply`.
    pub action: Box<dyn std::any::Any + Send>,
}

impl Decision {
    /// A decision with nothing to apply: the host already is as the arguments ask.
    pub fn unchanged(result: ModuleResult, observed: Map<String, Value>) -> Self {
        Decision { result, observed, action: Box::new(()) }
    }

    /// Whether `apply` must run: something changes, or the module has housekeeping to do that
    /// Ansible does without reporting a change ([`Housekeeping`]). Check mode never applies.
    pub fn needs_apply(&self) -> bool {
        self.result.changed || self.action.is::<Housekeeping>()
    }

    /// Takes back the module's own action record (unwrapped from [`Housekeeping`]); a record of
    /// another type is a bug in the engine (a decision handed to the wrong module), reported as
    /// a module failure.
    pub fn take_action<A: 'static>(self, module: &str) -> Result<(ModuleResult, A), ModuleError> {
        let Decision { result, action, .. } = self;
        let action = match action.downcast::<Housekeeping>() {
            Ok(h) => h.0,
            Err(other) => other,
        };
        match action.downcast::<A>() {
            Ok(a) => Ok((result, *a)),
            Err(_) => Err(ModuleError::msg(format!("internal error: {module} was given another module's decision"))),
        }
    }
}

/// Wraps a module's action record when applying must run although nothing is reported as
/// changed: work Ansible does silently in a real run and skips in check mode (`daemon_reload`
/// before a unit that is already as asked, apt marking a named package as manually installed,
/// the package lists refreshed before packages already present). The engine applies such a
/// decision outside check mode ([`Decision::needs_apply`]); `take_action` unwraps it.
pub struct Housekeeping(pub Box<dyn std::any::Any + Send>);

impl Housekeeping {
    /// `action` wrapped when `needed`, as is otherwise.
    pub fn when<A: std::any::Any + Send>(needed: bool, action: A) -> Box<dyn std::any::Any + Send> {
        if needed {
            Box::new(Housekeeping(Box::new(action)))
        } else {
            Box::new(action)
        }
    }
}

impl std::fmt::Debug for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decision").field("result", &self.result).field("observed", &self.observed).finish()
    }
}

/// An argument error: which argument, and what would be valid. The engine adds module and file:line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// What is wrong, naming the argument.
    pub msg: String,
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// The object-safe form of a module, as the registry holds it.
pub trait Module: Sync + Send {
    /// The short name (`copy`); FQCN aliases are resolved by the registry.
    fn name(&self) -> &'static str;
    /// Checks arguments before anything runs, so a wrong argument stops the play up front.
    fn validate(&self, args: &Map<String, Value>) -> Result<(), ArgError>;
    /// Checks for values Ansible takes that orc does not implement
    /// ([`TypedModule::check_support`]); arguments that do not parse pass here (`validate` reports
    /// them).
    fn validate_support(&self, args: &Map<String, Value>) -> Result<(), ArgError> {
        let _ = args;
        Ok(())
    }
    /// Runs the module on one host.
    fn run(&self, args: &Map<String, Value>, ctx: &mut ModuleCtx) -> RunResult;
    /// What `orc doc NAME` shows.
    fn doc(&self) -> crate::doc::ModuleDoc;
    /// Whether the module drops and reopens its connection itself (see
    /// [`TypedModule::RECONNECTS`]).
    fn reconnects(&self) -> bool {
        false
    }
    /// Whether the module decides before it acts ([`TypedModule::TWO_PHASE`]): only then do
    /// [`Module::decide`] and [`Module::apply`] work.
    fn two_phase(&self) -> bool {
        false
    }
    /// Observes the host and decides, changing nothing (two-phase modules only).
    fn decide(&self, args: &Map<String, Value>, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError>;
    /// Carries out a decision this module made with the same arguments (two-phase modules only).
    fn apply(&self, args: &Map<String, Value>, decision: Decision, ctx: &mut ModuleCtx) -> RunResult;
    /// The read-only probe a run with these (rendered) arguments sends first
    /// ([`TypedModule::first_probe`]); `None` for arguments that do not parse.
    fn first_probe(&self, args: &Map<String, Value>) -> Option<String> {
        let _ = args;
        None
    }
}

/// How a module is written: a serde argument struct (`deny_unknown_fields`) and a `run` on it.
pub trait TypedModule: Sync + Send {
    /// The argument struct; `#[derive(ArgsDoc)]` documents it for `orc doc`.
    type Args: DeserializeOwned + crate::doc::ArgsDoc;
    /// The short name.
    const NAME: &'static str;
    /// The collection of its fully qualified name (`ansible.builtin.copy`).
    const COLLECTION: &'static str = "ansible.builtin";
    /// What the module does, returns and an example, for `orc doc` (a test requires every
    /// registered module to write one).
    const DOC: crate::doc::ModuleText = crate::doc::ModuleText::MISSING;
    /// The module outlives its connection (`reboot`, `wait_for_connection`): the engine lends it
    /// a connection that may not be open yet, opens it on first use, and reopens it after
    /// [`crate::Connection::reset`]; a host that cannot be reached is then the module's to
    /// handle, not an unreachable host before it runs.
    const RECONNECTS: bool = false;
    /// The module is written in two phases: [`TypedModule::decide`] observes and decides,
    /// [`TypedModule::apply`] acts on the decision, and `run` is not written. The engine then
    /// owns check mode (it stops after deciding) and a saved plan can record what the module
    /// observed. A module without the split writes `run` and is planned as "runs, effect
    /// unknown".
    const TWO_PHASE: bool = false;
    /// The failure a run reports for arguments the module does not take (`bad`, sorted), in the
    /// words of Ansible's argument spec validation (module_utils/common/arg_spec.py, through
    /// AnsibleModule: "Unsupported parameters for (NAME) module: ..."); modules whose Ansible
    /// action words it otherwise say so. Checking before the run keeps orc's own message, which
    /// suggests the argument meant.
    fn unsupported_args(bad: &[String]) -> String {
        unsupported_params(Self::NAME, bad, &<Self::Args as crate::doc::ArgsDoc>::args())
    }
    /// The exact text of the read-only probe ([`crate::Connection::probe`]) a run with these
    /// arguments sends before anything else, computed from the arguments alone; `None` when the
    /// module sends none or its first exchange depends on more (a controller file, the host).
    /// The engine sends it ahead, with the probes of the tasks before it, so that a run of no-op
    /// file tasks costs one round trip instead of one per task; an answer is used only when the
    /// module then sends a probe of exactly this text (docs/architecture.md, "Probes of later
    /// tasks"). A wrong text only costs that saving, never a wrong answer.
    fn first_probe(_args: &Self::Args) -> Option<String> {
        None
    }
    /// Extra checks that serde cannot express (conflicting or required-together arguments).
    fn check_args(_args: &Self::Args) -> Result<(), ArgError> {
        Ok(())
    }
    /// Values Ansible takes that orc does not implement (`package_facts`' `manager: pkg`).
    /// Unlike [`TypedModule::check_args`], the up-front check refuses them only for a task that
    /// runs unconditionally: under `when:` (a FreeBSD-only block on Debian) the task fails only
    /// if it runs, as Ansible validates arguments when a task runs (src/executor/preflight.rs).
    fn check_support(_args: &Self::Args) -> Result<(), ArgError> {
        Ok(())
    }
    /// Runs on one host with parsed arguments (a module without the two-phase split).
    fn run(&self, _args: Self::Args, _ctx: &mut ModuleCtx) -> RunResult {
        Err(ModuleError::msg(format!("internal error: {} has neither run nor decide/apply", Self::NAME)))
    }
    /// Observes the host and decides what to change, changing nothing whatever `ctx.check`
    /// says (two-phase modules).
    fn decide(&self, _args: &Self::Args, _ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        Err(ModuleError::msg(format!("internal error: {} does not decide before it acts", Self::NAME)))
    }
    /// Carries out what `decide` returned for the same arguments; the result is the run's
    /// (two-phase modules).
    fn apply(&self, _args: Self::Args, _decision: Decision, _ctx: &mut ModuleCtx) -> RunResult {
        Err(ModuleError::msg(format!("internal error: {} does not decide before it acts", Self::NAME)))
    }
}

/// Parses a module's arguments, turning serde's message into one that names the argument.
pub fn parse_args<A: DeserializeOwned>(args: &Map<String, Value>) -> Result<A, ArgError> {
    serde_json::from_value(Value::Object(args.clone())).map_err(|e| ArgError { msg: clean_serde_msg(&e.to_string()) })
}

/// Ansible's "Unsupported parameters for (NAME) module: a, b. Supported parameters include: c,
/// d (alias1, alias2)." for the arguments `args` documents.
pub fn unsupported_params(name: &str, bad: &[String], args: &[crate::doc::ArgDoc]) -> String {
    let mut names: Vec<&str> = args.iter().map(|a| a.name).collect();
    let mut aliases: Vec<&str> = args.iter().flat_map(|a| a.aliases.iter().copied()).collect();
    names.sort_unstable();
    aliases.sort_unstable();
    let mut supported = names.join(", ");
    if !aliases.is_empty() {
        supported.push_str(&format!(" ({})", aliases.join(", ")));
    }
    format!(
        "Unsupported parameters for ({name}) module: {}. Supported parameters include: {supported}.",
        bad.join(", ")
    )
}

/// Parses a module's arguments when it runs: an argument the module does not take is reported
/// as Ansible reports it ([`TypedModule::unsupported_args`]), other errors as `parse_args` words
/// them.
fn parse_run_args<T: TypedModule>(args: &Map<String, Value>) -> Result<T::Args, ModuleError> {
    use crate::doc::ArgsDoc;
    parse_args::<T::Args>(args).map_err(|e| {
        let known = T::Args::args();
        let mut bad: Vec<String> = args
            .keys()
            .filter(|k| !known.iter().any(|a| a.name == k.as_str() || a.aliases.contains(&k.as_str())))
            .cloned()
            .collect();
        bad.sort();
        if bad.is_empty() || T::Args::takes_other_args() {
            ModuleError::msg(e.msg)
        } else {
            ModuleError::msg(T::unsupported_args(&bad))
        }
    })
}

fn clean_serde_msg(msg: &str) -> String {
    // serde_json appends " at line 0 column 0" for value-based errors; it means nothing here.
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        // "unknown field `x`, expected one of `a`, `b`"
        let (field, valid) = rest.split_once(", expected").unwrap_or((rest, ""));
        return format!("unsupported argument {field}; valid arguments are{}", valid.trim_start_matches(" one of"));
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing required argument {rest}");
    }
    msg.to_string()
}

impl<T: TypedModule> Module for T {
    fn name(&self) -> &'static str {
        T::NAME
    }
    fn validate(&self, args: &Map<String, Value>) -> Result<(), ArgError> {
        let a = parse_args::<T::Args>(args)?;
        T::check_args(&a)
    }
    fn validate_support(&self, args: &Map<String, Value>) -> Result<(), ArgError> {
        match parse_args::<T::Args>(args) {
            Ok(a) => T::check_support(&a),
            Err(_) => Ok(()),
        }
    }
    fn doc(&self) -> crate::doc::ModuleDoc {
        use crate::doc::ArgsDoc;
        crate::doc::ModuleDoc {
            name: T::NAME,
            collection: T::COLLECTION,
            text: T::DOC,
            args: T::Args::args(),
            open: T::Args::takes_other_args(),
        }
    }
    fn reconnects(&self) -> bool {
        T::RECONNECTS
    }
    fn two_phase(&self) -> bool {
        T::TWO_PHASE
    }
    fn run(&self, args: &Map<String, Value>, ctx: &mut ModuleCtx) -> RunResult {
        let a = parse_run_args::<T>(args)?;
        T::check_args(&a).and_then(|()| T::check_support(&a)).map_err(|e| ModuleError::msg(e.msg))?;
        if !T::TWO_PHASE {
            return TypedModule::run(self, a, ctx);
        }
        // Check mode belongs to the engine: a two-phase module stops after deciding.
        let decision = TypedModule::decide(self, &a, ctx)?;
        if ctx.check || !decision.needs_apply() {
            return Ok(decision.result);
        }
        TypedModule::apply(self, a, decision, ctx)
    }
    fn decide(&self, args: &Map<String, Value>, ctx: &mut ModuleCtx) -> Result<Decision, ModuleError> {
        let a = parse_run_args::<T>(args)?;
        T::check_args(&a).and_then(|()| T::check_support(&a)).map_err(|e| ModuleError::msg(e.msg))?;
        TypedModule::decide(self, &a, ctx)
    }
    fn apply(&self, args: &Map<String, Value>, decision: Decision, ctx: &mut ModuleCtx) -> RunResult {
        let a = parse_run_args::<T>(args)?;
        TypedModule::apply(self, a, decision, ctx)
    }
    fn first_probe(&self, args: &Map<String, Value>) -> Option<String> {
        let a = parse_args::<T::Args>(args).ok()?;
        T::check_args(&a).ok()?;
        T::check_support(&a).ok()?;
        T::first_probe(&a)
    }
}
