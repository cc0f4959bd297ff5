//! Newsletters: the lists staff define, subscriptions with their consent,
//! the signed links in every mail, issues and their delivery.

pub mod bounces;
pub mod tokens;
