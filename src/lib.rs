//! Masthead: a news publication's website, membership, comments and
//! newsletters in one program. The binary is a thin command line over this
//! library; the integration tests drive the same [`app::Application`].

pub mod app;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod export;
pub mod http;
pub mod import;
pub mod keys;
pub mod mail;
pub mod media;
pub mod moderation;
pub mod newsletters;
pub mod render;
pub mod site;
pub mod splice;
