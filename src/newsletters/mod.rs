//! Newsletters: the lists staff define, subscriptions with their consent,
//! the signed links in every mail, issues and their delivery.
//!
//! - [`tokens`]: the signed links (preferences, one-click unsubscribe,
//!   confirmation, the per-recipient bounce address).
//! - [`issues`]: issues, their states, the expansion of their recipients,
//!   the claims and marks of the sender.
//! - [`compose`]: the mail of an issue per kind of reader, obeying the one
//!   access decision.
//! - [`send`]: the sender, the bulk lane of the mail workers.
//! - [`subscriptions`]: newsletters, subscribers, subscriptions and the
//!   consent to offers, as readers and staff change them.
//! - [`define`]: staff create, edit and archive newsletters and choose the
//!   one in the box under every story.
//! - [`links`]: the addresses of the signed links, built from `public_url`.

pub mod bounces;
pub mod cli;
pub mod compose;
pub mod define;
pub mod issues;
pub mod links;
pub mod send;
pub mod subscriptions;
pub mod tokens;
