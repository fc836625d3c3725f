//! The modules orc ships, one file each.

pub mod ping;
