//! The modules orc ships, one file each.

pub mod command;
pub mod ping;
pub mod setup;
pub mod setup_facts;
pub mod setup_network;
pub mod setup_system;
pub mod shell;
pub mod stat;
pub mod wait_for;
