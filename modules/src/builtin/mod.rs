//! The modules orc ships, one file each.

pub mod apt;
pub mod apt_query;
pub mod apt_repository;
pub mod blockinfile;
pub mod command;
pub mod copy;
pub mod cron;
pub mod deb822_repository;
pub mod dnf;
pub mod file;
pub mod get_url;
pub mod http_client;
pub mod hostname;
pub mod lineinfile;
pub mod package;
pub mod ping;
pub mod service;
pub mod setup;
pub mod setup_facts;
pub mod setup_network;
pub mod setup_system;
pub mod shell;
pub mod stat;
pub mod sysctl;
pub mod systemd;
pub mod systemd_service;
pub mod template;
#[cfg(test)]
pub mod test_support;
pub mod unarchive;
pub mod uri;
pub mod wait_for;
