//! Newsletters: the lists staff define, subscriptions with their consent,
//! the signed links in every mail, issues and their delivery.

pub mod links;
pub mod subscriptions;
pub mod tokens;
