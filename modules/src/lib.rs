//! orc's modules: the contract every module implements, the connection trait modules talk through,
//! Ansible-compatible argument coercion, and the registry that lists every module in one place.
//!
//! Modules know nothing of playbooks or inventories: they receive typed arguments, a connection and
//! the run flags, and return an Ansible-shaped result.

pub mod args;
pub mod builtin;
pub mod connection;
pub mod contract;
pub mod diff;
pub mod doc;
pub mod docker;
pub mod encoding;
pub mod etcd;
pub mod fileops;
pub mod filewrite;
pub mod fnmatch;
pub mod haproxy_api;
pub mod http1;
pub mod observe;
pub mod pyjson;
pub mod pyre;
pub mod pyrepr;
pub mod registry;
pub mod sh_words;
pub mod shell_quote;
pub mod shlex;
pub mod stat_memo;
pub mod stream;
pub mod testing;
pub mod tls;

pub use connection::{CmdOutput, ConnError, Connection};
pub use contract::{
    Controller, Decision, FileDiff, Module, ModuleCtx, ModuleError, ModuleResult, TemplateRequest, TypedModule,
};
pub use registry::{lookup, names};
