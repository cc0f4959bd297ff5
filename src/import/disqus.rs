//! The Disqus XML export, read as a stream: `<category>`s, then
//! `<thread>`s, then `<post>`s, each a child of `<disqus>`. Only the record
//! being read is held; every finished one is handed on at once.

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{Author, Fatal, Item, Post, PostState, Thread, html, parse_bool, parse_time};

/// The fields of a record Masthead reads, by their path below the record.
#[derive(Clone, Copy)]
enum Field {
    Id,
    Link,
    Title,
    Message,
    CreatedAt,
    IsDeleted,
    IsSpam,
    AuthorName,
    AuthorEmail,
    AuthorUsername,
    /// Last: [`FIELDS`] counts from it.
    AuthorIsAnonymous,
}

/// How many [`Field`]s there are (the last one's place, and one).
const FIELDS: usize = Field::AuthorIsAnonymous as usize + 1;

impl Field {
    /// The field at `name` below `parents` (the elements between the
    /// record and it); other elements are not kept.
    fn at(parents: &[Vec<u8>], name: &[u8]) -> Option<Field> {
        Some(match (parents, name) {
            ([], b"id") => Field::Id,
            ([], b"link") => Field::Link,
            ([], b"title") => Field::Title,
            ([], b"message") => Field::Message,
            ([], b"createdAt") => Field::CreatedAt,
            ([], b"isDeleted") => Field::IsDeleted,
            ([], b"isSpam") => Field::IsSpam,
            ([author], b"name") if author == b"author" => Field::AuthorName,
            ([author], b"email") if author == b"author" => Field::AuthorEmail,
            ([author], b"username") if author == b"author" => Field::AuthorUsername,
            ([author], b"isAnonymous") if author == b"author" => Field::AuthorIsAnonymous,
            _ => return None,
        })
    }
}

/// The record being read.
#[derive(Default)]
struct Record {
    pos: u64,
    is_post: bool,
    dsq_id: Option<String>,
    thread_ref: Option<String>,
    parent_ref: Option<String>,
    /// The values of the fields read, one after the other.
    values: String,
    /// Where in `values` the first value of each field is (as written,
    /// untrimmed).
    fields: [Option<(usize, usize)>; FIELDS],
    broken: Option<String>,
}

impl Record {
    fn field(&self, f: Field) -> Option<&str> {
        self.raw(f).map(str::trim)
    }

    fn raw(&self, f: Field) -> Option<&str> {
        self.fields[f as usize].map(|(from, to)| &self.values[from..to])
    }

    /// Keeps a field's value unless the record had it already.
    fn set(&mut self, f: Field, value: &str) {
        let slot = &mut self.fields[f as usize];
        if slot.is_none() {
            let from = self.values.len();
            self.values.push_str(value);
            *slot = Some((from, self.values.len()));
        }
    }
}

/// Reads a Disqus export, calling `emit` for every thread, post and bad
/// record; stops at the end or with the byte offset where the file stops
/// being readable.
pub fn parse<R: BufRead>(
    input: R,
    mut emit: impl FnMut(Item) -> bool,
    mut progress: impl FnMut(u64),
) -> Result<(), Fatal> {
    let mut reader = Reader::from_reader(input);
    // End tags are checked here, so a record with a wrong one is skipped
    // rather than ending the import.
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut stack: Vec<Vec<u8>> = Vec::with_capacity(16);
    // Name buffers of closed elements, used again for the next ones.
    let mut spare: Vec<Vec<u8>> = Vec::with_capacity(16);
    let mut record: Option<Record> = None;
    let mut text = String::new();
    let mut seen_root = false;
    let mut events: u64 = 0;
    loop {
        let pos = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(e) => e,
            Err(e) => {
                return Err(Fatal {
                    pos: reader.error_position(),
                    message: format!("the XML cannot be read on from here: {e}"),
                });
            }
        };
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
                let local = e.local_name();
                let name = local.as_ref();
                if stack.is_empty() {
                    check_root(name, pos, &mut seen_root)?;
                } else if stack.len() == 1 {
                    record = start_record(name, &e, pos);
                } else if let Some(r) = record.as_mut() {
                    child_attributes(r, &stack, name, &e);
                }
                text.clear();
                let mut kept = spare.pop().unwrap_or_default();
                kept.clear();
                kept.extend_from_slice(name);
                stack.push(kept);
            }
            Event::Empty(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                if stack.is_empty() {
                    check_root(name, pos, &mut seen_root)?;
                    return Ok(());
                }
                if stack.len() == 1 {
                    if let Some(mut r) = start_record(name, &e, pos) {
                        r.broken.get_or_insert_with(|| "the record is empty".into());
                        if !emit(finish(r)) {
                            return Ok(());
                        }
                    }
                } else if let Some(r) = record.as_mut() {
                    child_attributes(r, &stack, name, &e);
                    if let Some(f) = Field::at(&stack[2..], name) {
                        r.set(f, "");
                    }
                }
            }
            Event::Text(t) => {
                if let Some(r) = record.as_mut() {
                    match t.unescape() {
                        Ok(s) => text.push_str(&s),
                        Err(e) => {
                            r.broken
                                .get_or_insert_with(|| format!("unreadable text: {e}"));
                        }
                    }
                } else if stack.is_empty() && !seen_root {
                    let junk = String::from_utf8_lossy(&t);
                    if !junk.trim().is_empty() {
                        return Err(not_disqus(pos));
                    }
                }
            }
            Event::CData(c) => {
                if let Some(r) = record.as_mut() {
                    match std::str::from_utf8(&c) {
                        Ok(s) => text.push_str(s),
                        Err(_) => {
                            r.broken
                                .get_or_insert_with(|| "text that is not UTF-8".into());
                        }
                    }
                }
            }
            Event::End(e) => {
                let local = e.local_name();
                let name = local.as_ref();
                let Some(open) = stack.pop() else {
                    return Err(Fatal {
                        pos,
                        message: "an end tag with no start".into(),
                    });
                };
                if let Some(r) = record.as_mut() {
                    if open != name {
                        r.broken.get_or_insert_with(|| {
                            format!(
                                "<{}> is closed by </{}>",
                                String::from_utf8_lossy(&open),
                                String::from_utf8_lossy(name)
                            )
                        });
                    }
                    if stack.len() >= 2
                        && let Some(f) = Field::at(&stack[2..], &open)
                    {
                        r.set(f, &text);
                    }
                }
                spare.push(open);
                text.clear();
                if stack.len() == 1
                    && let Some(r) = record.take()
                    && !emit(finish(r))
                {
                    return Ok(());
                }
                if stack.is_empty() {
                    return Ok(());
                }
            }
            Event::Eof => {
                if !seen_root {
                    return Err(not_disqus(pos));
                }
                return Err(Fatal {
                    pos,
                    message: "the file breaks off before its end (it was cut short): \
                              export it again or copy it whole"
                        .into(),
                });
            }
            _ => {}
        }
        buf.clear();
    }
}

fn not_disqus(pos: u64) -> Fatal {
    Fatal {
        pos,
        message: "this is not a Disqus export (an XML file whose root is <disqus>)".into(),
    }
}

fn check_root(name: &[u8], pos: u64, seen: &mut bool) -> Result<(), Fatal> {
    if name != b"disqus" {
        return Err(not_disqus(pos));
    }
    *seen = true;
    Ok(())
}

/// The `dsq:id` of an element; `Err` when its attributes are broken.
fn dsq_id(e: &BytesStart) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("a broken attribute: {e}"))?;
        if a.key.as_ref() == b"dsq:id" {
            let v = a
                .unescape_value()
                .map_err(|e| format!("a broken attribute: {e}"))?;
            return Ok(Some(v.trim().to_string()));
        }
    }
    Ok(None)
}

fn start_record(name: &[u8], e: &BytesStart, pos: u64) -> Option<Record> {
    let is_post = match name {
        b"post" => true,
        b"thread" => false,
        _ => return None,
    };
    let mut r = Record {
        pos,
        is_post,
        ..Record::default()
    };
    match dsq_id(e) {
        Ok(id) => r.dsq_id = id,
        Err(why) => r.broken = Some(why),
    }
    Some(r)
}

/// `<thread dsq:id>` and `<parent dsq:id>` inside a post.
fn child_attributes(r: &mut Record, stack: &[Vec<u8>], name: &[u8], e: &BytesStart) {
    if stack.len() != 2 || !r.is_post || !(name == b"thread" || name == b"parent") {
        return;
    }
    match dsq_id(e) {
        Ok(id) => {
            if name == b"thread" {
                r.thread_ref = id;
            } else {
                r.parent_ref = id;
            }
        }
        Err(why) => {
            r.broken.get_or_insert(why);
        }
    }
}

fn finish(r: Record) -> Item {
    let pos = r.pos;
    match build(r) {
        Ok(item) => item,
        Err(reason) => Item::Bad { pos, reason },
    }
}

fn build(mut r: Record) -> Result<Item, String> {
    if let Some(why) = r.broken.take() {
        return Err(format!("not well-formed: {why}"));
    }
    let what = if r.is_post { "post" } else { "thread" };
    let Some(source_id) = r.dsq_id.take().filter(|s| !s.is_empty()) else {
        return Err(format!("a {what} without dsq:id"));
    };
    let deleted = parse_bool(r.field(Field::IsDeleted), "isDeleted")?;
    if !r.is_post {
        return Ok(Item::Thread(Thread {
            pos: r.pos,
            source_id,
            link: r.field(Field::Link).unwrap_or("").to_string(),
            identifier: r.field(Field::Id).unwrap_or("").to_string(),
            title: r.field(Field::Title).unwrap_or("").to_string(),
            deleted,
        }));
    }
    let spam = parse_bool(r.field(Field::IsSpam), "isSpam")?;
    let created_at = parse_time(r.field(Field::CreatedAt).unwrap_or(""))?;
    let Some(thread) = r.thread_ref.take().filter(|s| !s.is_empty()) else {
        return Err("a post without its thread".into());
    };
    let anonymous = parse_bool(r.field(Field::AuthorIsAnonymous), "isAnonymous")?;
    let username = r.field(Field::AuthorUsername).unwrap_or("");
    let author = Author::new(
        username,
        r.field(Field::AuthorName).unwrap_or(""),
        r.field(Field::AuthorEmail).unwrap_or(""),
        !anonymous && !username.is_empty(),
    );
    let text = html::to_text(r.raw(Field::Message).unwrap_or(""));
    Ok(Item::Post(Post {
        pos: r.pos,
        source_id,
        thread,
        parent: r.parent_ref.filter(|s| !s.is_empty()),
        created_at,
        text,
        state: if spam {
            PostState::Spam
        } else if deleted {
            PostState::Deleted
        } else {
            PostState::Visible
        },
        author,
    }))
}
