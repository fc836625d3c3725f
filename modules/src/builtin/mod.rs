//! The modules orc ships, one file each.

pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod file;
pub mod lineinfile;
pub mod ping;
pub mod setup;
pub mod setup_facts;
pub mod setup_network;
pub mod setup_system;
pub mod shell;
pub mod stat;
pub mod template;
#[cfg(test)]
pub mod test_support;
pub mod wait_for;
pub mod authorized_key;
pub mod fetch;
pub mod find;
pub mod group;
pub mod replace;
pub mod slurp;
pub mod tempfile;
pub mod user;
