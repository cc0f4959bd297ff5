//! The WordPress export (WXR), read as a stream: the channel's authors,
//! then one `<item>` at a time. A post becomes a [`Story`] (with its
//! comments handed on as posts of a thread named by the post's id); other
//! item types (pages, attachments, menu items) are passed over.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::{Author, Fatal, Item, Post, PostState, Thread, html};

/// A WordPress post, made a story by the writer.
#[derive(Clone, Debug, Default)]
pub struct Story {
    pub pos: u64,
    pub post_id: String,
    pub title: String,
    pub link: String,
    pub slug: String,
    pub published: bool,
    pub published_at: Option<i64>,
    /// The HTML of the post.
    pub content: String,
    /// The author's display name.
    pub author: String,
    /// (slug, name) of its first category, and of its tags.
    pub section: Option<(String, String)>,
    pub tags: Vec<(String, String)>,
}

#[derive(Default)]
struct ItemRec {
    pos: u64,
    fields: HashMap<String, String>,
    categories: Vec<(String, String, String)>,
    comments: Vec<HashMap<String, String>>,
    broken: Option<String>,
}

/// A WordPress time (`2010-07-20 12:08:08`, UTC for the `_gmt` fields).
fn wp_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() || t.starts_with("0000") {
        return None;
    }
    let dt: jiff::civil::DateTime = t.replace(' ', "T").parse().ok()?;
    Some(
        dt.to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp()
            .as_microsecond(),
    )
}

pub fn parse<R: BufRead>(
    input: R,
    mut emit: impl FnMut(Item) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<(), Fatal> {
    let mut reader = Reader::from_reader(input);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut authors: HashMap<String, String> = HashMap::new();
    let mut author: HashMap<String, String> = HashMap::new();
    let mut item: Option<ItemRec> = None;
    let mut comment: Option<HashMap<String, String>> = None;
    let mut category: Option<(String, String)> = None;
    let mut events = 0u64;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| Fatal {
            pos: reader.error_position(),
            message: format!("the XML cannot be read on from here: {e}"),
        })?;
        events += 1;
        if events.is_multiple_of(4096) {
            progress(reader.buffer_position());
        }
        match event {
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = String::from_utf8_lossy(&enc).to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(Fatal {
                            pos,
                            message: format!(
                                "the file says it is encoded in {enc}; Masthead reads UTF-8 \
                                 exports: convert it first (iconv -f {enc} -t UTF-8)"
                            ),
                        });
                    }
                }
            }
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                if stack.is_empty() && name != "rss" {
                    return Err(Fatal {
                        pos,
                        message: "this is not a WordPress export (an XML file whose root is <rss>)"
                            .into(),
                    });
                }
                match (stack.len(), name.as_str()) {
                    (2, "item") => {
                        item = Some(ItemRec {
                            pos,
                            ..ItemRec::default()
                        })
                    }
                    (2, "wp:author") => author.clear(),
                    (3, "wp:comment") if item.is_some() => comment = Some(HashMap::new()),
                    (3, "category") if item.is_some() => {
                        let mut domain = String::new();
                        let mut nicename = String::new();
                        for a in e.attributes() {
                            match a {
                                Ok(a) => {
                                    let v = a.unescape_value().unwrap_or_default().to_string();
                                    match a.key.as_ref() {
                                        b"domain" => domain = v,
                                        b"nicename" => nicename = v,
                                        _ => {}
                                    }
                                }
                                Err(err) => {
                                    if let Some(i) = item.as_mut() {
                                        i.broken
                                            .get_or_insert(format!("a broken attribute: {err}"));
                                    }
                                }
                            }
                        }
                        category = Some((domain, nicename));
                    }
                    _ => {}
                }
                text.clear();
                stack.push(name);
            }
            Event::Text(t) => match t.unescape() {
                Ok(s) => text.push_str(&s),
                Err(e) => {
                    if let Some(i) = item.as_mut() {
                        i.broken.get_or_insert(format!("unreadable text: {e}"));
                    }
                }
            },
            Event::CData(c) => match std::str::from_utf8(&c) {
                Ok(s) => text.push_str(s),
                Err(_) => {
                    if let Some(i) = item.as_mut() {
                        i.broken.get_or_insert("text that is not UTF-8".into());
                    }
                }
            },
            Event::End(_) => {
                let Some(open) = stack.pop() else {
                    return Err(Fatal {
                        pos,
                        message: "an end tag with no start".into(),
                    });
                };
                let value = std::mem::take(&mut text);
                match (stack.len(), open.as_str()) {
                    (3, "wp:author_login" | "wp:author_display_name") => {
                        author.insert(open.clone(), value);
                    }
                    (2, "wp:author") => {
                        if let Some(login) = author.get("wp:author_login") {
                            let name = author
                                .get("wp:author_display_name")
                                .filter(|n| !n.trim().is_empty())
                                .unwrap_or(login);
                            authors.insert(login.trim().to_string(), name.trim().to_string());
                        }
                    }
                    (4, field) if comment.is_some() => {
                        if let Some(c) = comment.as_mut() {
                            c.insert(field.to_string(), value);
                        }
                    }
                    (3, "wp:comment") => {
                        if let (Some(i), Some(c)) = (item.as_mut(), comment.take()) {
                            i.comments.push(c);
                        }
                    }
                    (3, "category") => {
                        if let (Some(i), Some((domain, nicename))) =
                            (item.as_mut(), category.take())
                        {
                            i.categories
                                .push((domain, nicename, value.trim().to_string()));
                        }
                    }
                    (3, field) => {
                        if let Some(i) = item.as_mut() {
                            i.fields.insert(field.to_string(), value);
                        }
                    }
                    (2, "item") => {
                        if let Some(i) = item.take()
                            && !finish(i, &authors, &mut emit)
                        {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
                if stack.is_empty() {
                    return Ok(());
                }
            }
            Event::Eof => {
                return Err(Fatal {
                    pos,
                    message: "the file breaks off before its end (it was cut short): export it \
                              again or copy it whole"
                        .into(),
                });
            }
            _ => {}
        }
        buf.clear();
    }
}

/// Hands on a finished item: a story and its comments, or why it is skipped.
fn finish(
    i: ItemRec,
    authors: &HashMap<String, String>,
    emit: &mut impl FnMut(Item) -> bool,
) -> bool {
    let f = |k: &str| i.fields.get(k).map(|s| s.trim()).unwrap_or("");
    if f("wp:post_type") != "post" {
        return true;
    }
    if let Some(why) = &i.broken {
        return emit(Item::Bad {
            pos: i.pos,
            reason: format!("not well-formed: {why}"),
        });
    }
    let post_id = f("wp:post_id").to_string();
    if post_id.is_empty() {
        return emit(Item::Bad {
            pos: i.pos,
            reason: "a post without wp:post_id".into(),
        });
    }
    let status = f("wp:status");
    if status == "trash" || status == "auto-draft" {
        return emit(Item::Bad {
            pos: i.pos,
            reason: format!("a post in the {status}"),
        });
    }
    let creator = f("dc:creator");
    let s = Story {
        pos: i.pos,
        post_id: post_id.clone(),
        title: html::decode(f("title")),
        link: f("link").to_string(),
        slug: f("wp:post_name").to_string(),
        published: status == "publish",
        published_at: wp_time(f("wp:post_date_gmt")).or_else(|| wp_time(f("wp:post_date"))),
        content: i.fields.get("content:encoded").cloned().unwrap_or_default(),
        author: authors
            .get(creator)
            .cloned()
            .unwrap_or_else(|| creator.to_string()),
        section: i
            .categories
            .iter()
            .find(|(d, _, _)| d == "category")
            .map(|(_, n, t)| (n.clone(), t.clone())),
        tags: i
            .categories
            .iter()
            .filter(|(d, _, _)| d == "post_tag")
            .map(|(_, n, t)| (n.clone(), t.clone()))
            .collect(),
    };
    let link = s.link.clone();
    if !emit(Item::Story(Box::new(s))) {
        return false;
    }
    // The post is the comments' thread: the writer has matched it to the
    // story it made.
    if !emit(Item::Thread(Thread {
        pos: i.pos,
        source_id: post_id.clone(),
        link,
        identifier: String::new(),
        title: String::new(),
        deleted: false,
    })) {
        return false;
    }
    for c in i.comments {
        let g = |k: &str| c.get(k).map(|s| s.trim()).unwrap_or("");
        let ctype = g("wp:comment_type");
        if ctype == "pingback" || ctype == "trackback" {
            if !emit(Item::Bad {
                pos: i.pos,
                reason: format!("a {ctype}, not a comment"),
            }) {
                return false;
            }
            continue;
        }
        let id = g("wp:comment_id");
        let item = if id.is_empty() {
            Item::Bad {
                pos: i.pos,
                reason: "a comment without wp:comment_id".into(),
            }
        } else if let Some(at) =
            wp_time(g("wp:comment_date_gmt")).or_else(|| wp_time(g("wp:comment_date")))
        {
            let state = match g("wp:comment_approved") {
                "1" | "approve" => PostState::Visible,
                "spam" => PostState::Spam,
                "trash" | "post-trashed" => PostState::Deleted,
                _ => PostState::Pending,
            };
            let user = g("wp:comment_user_id");
            let registered = !user.is_empty() && user != "0";
            let username = if registered { user } else { "" };
            Item::Post(Post {
                pos: i.pos,
                source_id: id.to_string(),
                thread: post_id.clone(),
                parent: Some(g("wp:comment_parent").to_string())
                    .filter(|p| !p.is_empty() && p != "0"),
                created_at: at,
                text: html::to_text(g("wp:comment_content")),
                state,
                author: Author::new(
                    username,
                    g("wp:comment_author"),
                    g("wp:comment_author_email"),
                    registered,
                ),
            })
        } else {
            Item::Bad {
                pos: i.pos,
                reason: format!("a comment with a bad date {:?}", g("wp:comment_date_gmt")),
            }
        };
        if !emit(item) {
            return false;
        }
    }
    true
}
