//! `masthead-comments` JSON Lines, version 1 (docs/import.md): a header
//! line, then one comment a line. Threads are named by each comment (their
//! address and/or identifier); they are handed on the first time one is
//! seen, so only the set of thread keys is held.

use std::collections::HashSet;
use std::io::BufRead;

use serde::Deserialize;

use super::{Author, Fatal, Item, Post, PostState, Thread, html, parse_time};

pub const FORMAT: &str = "masthead-comments";
pub const VERSION: u64 = 1;

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthorLine {
    id: Option<String>,
    name: Option<String>,
    email: Option<String>,
    verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: Option<serde_json::Value>,
    thread_url: Option<String>,
    thread_identifier: Option<String>,
    thread_title: Option<String>,
    parent_id: Option<serde_json::Value>,
    #[serde(default)]
    author: AuthorLine,
    created_at: Option<String>,
    text: Option<String>,
    html: Option<String>,
    state: Option<String>,
}

/// An id written as a string or a number.
fn id_text(v: Option<serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub fn parse<R: BufRead>(
    mut input: R,
    mut emit: impl FnMut(Item) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<(), Fatal> {
    let mut line = String::new();
    let mut pos: u64 = 0;
    let mut seen: HashSet<String> = HashSet::new();
    let mut first = true;
    let mut n: u64 = 0;
    loop {
        line.clear();
        let read = match input.read_line(&mut line) {
            Ok(0) => {
                if first {
                    return Err(Fatal {
                        pos,
                        message: "the file is empty; it should start with the header line \
                                  {\"format\":\"masthead-comments\",\"version\":1}"
                            .into(),
                    });
                }
                return Ok(());
            }
            Ok(r) => r,
            Err(e) => {
                return Err(Fatal {
                    pos,
                    message: format!("the file cannot be read on (is it UTF-8?): {e}"),
                });
            }
        };
        let at = pos;
        pos += read as u64;
        n += 1;
        if n.is_multiple_of(4096) {
            progress(pos);
        }
        let text = line.trim();
        if first {
            first = false;
            let h: Option<Header> = serde_json::from_str(text.trim_start_matches('\u{feff}')).ok();
            match h {
                Some(h) if h.format == FORMAT && h.version == VERSION => continue,
                Some(h) if h.format == FORMAT => {
                    return Err(Fatal {
                        pos: at,
                        message: format!(
                            "this is version {} of the masthead-comments layout; this Masthead reads version {VERSION}",
                            h.version
                        ),
                    });
                }
                _ => {
                    return Err(Fatal {
                        pos: at,
                        message: "the first line is not the header \
                                  {\"format\":\"masthead-comments\",\"version\":1}"
                            .into(),
                    });
                }
            }
        }
        if text.is_empty() {
            continue;
        }
        let item = match build(text, at, &mut seen, &mut emit) {
            Ok(item) => item,
            Err(reason) => Item::Bad { pos: at, reason },
        };
        if !emit(item) {
            return Ok(());
        }
    }
}

fn build(
    text: &str,
    pos: u64,
    seen: &mut HashSet<String>,
    emit: &mut impl FnMut(Item) -> bool,
) -> Result<Item, String> {
    let l: Line = serde_json::from_str(text).map_err(|e| format!("not a comment line: {e}"))?;
    let source_id = id_text(l.id).ok_or("a comment without id")?;
    let url = l.thread_url.unwrap_or_default();
    let identifier = l.thread_identifier.unwrap_or_default();
    let thread = if identifier.trim().is_empty() {
        url.trim().to_string()
    } else {
        identifier.trim().to_string()
    };
    if thread.is_empty() {
        return Err("a comment without thread_url or thread_identifier".into());
    }
    let created_at = parse_time(l.created_at.as_deref().unwrap_or(""))?;
    let state = match l.state.as_deref().unwrap_or("visible") {
        "visible" => PostState::Visible,
        "pending" => PostState::Pending,
        "deleted" => PostState::Deleted,
        "spam" => PostState::Spam,
        other => {
            return Err(format!(
                "state {other:?} is not visible, pending, deleted or spam"
            ));
        }
    };
    let body = match (l.text, l.html) {
        (Some(t), _) => crate::domain::comment_text::clean(&t),
        (None, Some(h)) => html::to_text(&h),
        (None, None) => String::new(),
    };
    if !seen.contains(&thread) {
        seen.insert(thread.clone());
        emit(Item::Thread(Thread {
            pos,
            source_id: thread.clone(),
            link: url,
            identifier,
            title: l.thread_title.unwrap_or_default(),
            deleted: false,
        }));
    }
    let a = l.author;
    Ok(Item::Post(Post {
        pos,
        source_id,
        thread,
        parent: id_text(l.parent_id),
        created_at,
        text: body,
        state,
        author: Author::new(
            a.id.as_deref().unwrap_or(""),
            a.name.as_deref().unwrap_or(""),
            a.email.as_deref().unwrap_or(""),
            a.verified,
        ),
    }))
}
