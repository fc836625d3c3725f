//! The modules orc ships, one file each.

pub mod blockinfile;
pub mod copy;
pub mod file;
pub mod lineinfile;
pub mod ping;
pub mod template;
#[cfg(test)]
pub mod test_support;
