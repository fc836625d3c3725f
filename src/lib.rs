//! orc: agentless orchestration. Reads Ansible inventories and playbooks, renders Jinja templates,
//! and runs idempotent modules on hosts over local, SSH or docker-exec connections.
//!
//! Layers, from the bottom: `yaml` and `error` (input with positions), `inventory`, `template`,
//! `playbook` (parse), `vars`, `connection`, `executor` (emits events), `output` (renders events),
//! and `cli` + `ops` on top.

pub mod cli;
pub mod config;
pub mod connection;
pub mod error;
pub mod executor;
pub mod interrupt;
pub mod inventory;
pub mod ops;
pub mod output;
pub mod plan;
pub mod playbook;
pub mod secrets;
pub mod suggest;
pub mod template;
pub mod vars;
pub mod vault;
pub mod yaml;
