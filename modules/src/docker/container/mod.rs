//! docker_container's logic, one concept per file: the option table, argument parsing, the
//! desired configuration, the comparison with the existing container, the diff, the image, the
//! health wait, the API calls and the run flow. The module entry is
//! `crate::builtin::docker_container`.

pub mod api;
pub mod body;
pub mod compare;
pub mod config;
pub mod diff;
pub mod health;
pub mod image;
pub mod manager;
pub mod options;
pub mod parse;
