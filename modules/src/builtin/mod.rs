//! The modules orc ships, one file each.

pub mod command;
pub mod ping;
pub mod shell;
pub mod stat;
