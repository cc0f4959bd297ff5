//! The integration suite: the real router over a real database (SQLite, or
//! PostgreSQL when MASTHEAD_TEST_DATABASE_URL is set), driven over HTTP.

mod account_lifecycle;
mod accounts;
mod bounces;
mod browser;
mod comments;
mod entitlements;
mod export;
mod feeds;
mod helpers;
mod import;
mod import_threads;
mod import_uploads;
mod instances;
mod limits;
mod mail;
mod meter;
mod moderation_settings;
mod newsletter_admin;
mod newsletter_send;
mod newsletters;
mod pages;
mod saved;
mod seo;
mod startup;
mod storage;
