//! The modules orc ships, one file each.

pub mod authorized_key;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod fetch;
pub mod file;
pub mod find;
pub mod group;
pub mod lineinfile;
pub mod ping;
pub mod replace;
pub mod setup;
pub mod setup_facts;
pub mod setup_network;
pub mod setup_system;
pub mod shell;
pub mod slurp;
pub mod stat;
pub mod tempfile;
pub mod template;
#[cfg(test)]
pub mod test_support;
pub mod user;
pub mod wait_for;
