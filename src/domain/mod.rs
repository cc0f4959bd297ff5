//! Pure rules with no I/O: slugs and story addresses, how times are shown,
//! the shape of a story's body, page numbers.

pub mod access;
pub mod body;
pub mod comment_text;
pub mod email;
pub mod meter;
pub mod paging;
pub mod slug;
pub mod time;
