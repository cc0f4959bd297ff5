//! The WordPress export (WXR), read as a stream: the channel's authors,
//! then one `<item>` at a time. A post becomes a [`Story`] (with its
//! comments handed on as posts of a thread named by the post's id); other
//! item types (pages, menu items) are passed over, and attachments are
//! the pictures posts use.
//!
//! Pictures ([`Images`]): with `--uploads DIR` a first, quick pass over the
//! file keeps a small map of the attachments (id → address, alt text,
//! caption, title, credit), so a post finds its pictures whether their
//! attachments come before or after it; the second pass reads the posts,
//! and each picture a post uses is read from the folder and stored
//! ([`super::uploads`]) on the reader's thread before the story is handed on.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::Event;

use super::uploads::{self, Photo, Uploads};
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
    /// The post's text and photos, in order.
    pub body: Vec<Piece>,
    /// Its featured image, the story's lead photo.
    pub lead: Option<Photo>,
    /// The author's display name.
    pub author: String,
    /// (slug, name) of its first category, and of its tags.
    pub section: Option<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// Images not imported, with why (the file's name and the reason).
    pub image_problems: Vec<String>,
    /// Images seen in a run without `--uploads`.
    pub images_without_uploads: u64,
}

impl Story {
    /// Its photos: the lead, then those of the body (and its galleries) in order.
    pub fn photos(&self) -> impl Iterator<Item = &Photo> {
        self.lead
            .iter()
            .chain(self.body.iter().flat_map(|p| match p {
                Piece::Photo(p) => std::slice::from_ref(p),
                Piece::Gallery(ps) => ps.as_slice(),
                Piece::Text(_) => &[],
            }))
    }
}

/// A part of a post's body.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Text: paragraphs separated by a blank line.
    Text(String),
    Photo(Photo),
    /// Photos shown together: a Gutenberg gallery block or a `[gallery]`
    /// shortcode with two pictures or more.
    Gallery(Vec<Photo>),
}

/// What the writer needs of an attachment (a picture of the site).
#[derive(Clone, Debug, Default)]
struct Attachment {
    url: String,
    alt: String,
    caption: String,
    title: String,
    credit: String,
}

/// The pictures of an import: the attachments of the file, and the
/// uploads folder they are read from (none without `--uploads`).
#[derive(Default)]
pub struct Images {
    uploads: Option<Uploads>,
    attachments: HashMap<String, Attachment>,
    /// An attachment's file (its path after `wp-content/uploads/`) → its id,
    /// for `<img>` tags that do not name their attachment.
    by_file: HashMap<String, String>,
    /// A post's id → its attachments' ids, in the file's order: what a
    /// `[gallery]` shortcode without `ids` shows.
    children: HashMap<String, Vec<String>>,
}

impl Images {
    /// Without an uploads folder, images are only counted.
    pub fn new(uploads: Option<Uploads>) -> Images {
        Images {
            uploads,
            ..Images::default()
        }
    }

    /// The first pass: the file's attachments. A file that cannot be read
    /// to its end keeps what was read; the second pass reports where.
    pub fn scan<R: BufRead>(&mut self, input: R) {
        if self.uploads.is_none() {
            return;
        }
        let _ = read_items(
            input,
            |i, _| {
                if i.field("wp:post_type") == "attachment" && i.broken.is_none() {
                    let id = i.field("wp:post_id").to_string();
                    let url = i.field("wp:attachment_url").to_string();
                    if !id.is_empty() && !url.is_empty() {
                        let a = Attachment {
                            alt: html::decode(i.meta("_wp_attachment_image_alt").trim()),
                            caption: html::to_text(i.field("excerpt:encoded")),
                            title: html::decode(i.field("title")),
                            credit: uploads::credit_of(i.field("content:encoded")),
                            url,
                        };
                        if let Some(key) = file_key(&a.url) {
                            self.by_file.insert(key, id.clone());
                        }
                        let parent = i.field("wp:post_parent");
                        if !parent.is_empty() && parent != "0" {
                            self.children
                                .entry(parent.to_string())
                                .or_default()
                                .push(id.clone());
                        }
                        self.attachments.insert(id, a);
                    }
                }
                true
            },
            |_| {},
        );
    }

    /// The body of a post's HTML: its text, and its images as photos in
    /// place (or, when they cannot be read, left out with a problem noted).
    fn body_of(&mut self, content: &str, s: &mut Story) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        for raw in split_content(content) {
            match raw {
                Raw::Html(h) => {
                    let text = html::to_text(&paragraphs(&h));
                    if text.is_empty() {
                        continue;
                    }
                    match out.last_mut() {
                        Some(Piece::Text(t)) => {
                            t.push_str(
                                "

",
                            );
                            t.push_str(&text);
                        }
                        _ => out.push(Piece::Text(text)),
                    }
                }
                Raw::Image(img) => {
                    if let Some(p) = self.inline_photo(&img, s) {
                        out.push(Piece::Photo(p));
                    }
                }
                Raw::Gallery(imgs) => {
                    let photos = imgs
                        .iter()
                        .filter_map(|i| self.inline_photo(i, s))
                        .collect();
                    push_gallery(&mut out, photos);
                }
                Raw::GalleryIds(ids) => {
                    let imgs = self.gallery_images(&ids, s);
                    let photos = imgs
                        .iter()
                        .filter_map(|i| self.inline_photo(i, s))
                        .collect();
                    push_gallery(&mut out, photos);
                }
            }
        }
        out
    }

    /// The images of a `[gallery]` shortcode: its attachments by id, or
    /// without ids the post's own attachments.
    fn gallery_images(&self, ids: &[String], s: &mut Story) -> Vec<InlineImage> {
        if self.uploads.is_none() {
            // Attachments are read only with an uploads folder: the images
            // are counted, as `<img>` tags are.
            s.images_without_uploads += ids.len() as u64;
            return Vec::new();
        }
        let own;
        let ids = if ids.is_empty() {
            own = self.children.get(&s.post_id).cloned().unwrap_or_default();
            &own
        } else {
            ids
        };
        let mut out = Vec::new();
        for id in ids {
            match self.attachments.get(id) {
                Some(a) => out.push(InlineImage {
                    src: a.url.clone(),
                    alt: String::new(),
                    caption: a.caption.clone(),
                    attachment: Some(id.clone()),
                }),
                None => s
                    .image_problems
                    .push(format!("attachment {id} of a [gallery] is not in the file")),
            }
        }
        out
    }

    fn inline_photo(&mut self, img: &InlineImage, s: &mut Story) -> Option<Photo> {
        let Some(folder) = self.uploads.as_mut() else {
            s.images_without_uploads += 1;
            return None;
        };
        let picture = match folder.picture(&img.src) {
            Ok(p) => p,
            Err(why) => {
                s.image_problems.push(why);
                return None;
            }
        };
        let att = img
            .attachment
            .as_ref()
            .and_then(|id| self.attachments.get(id))
            .or_else(|| {
                file_key(&img.src)
                    .and_then(|k| self.by_file.get(&k))
                    .and_then(|id| self.attachments.get(id))
            });
        let none = Attachment::default();
        let a = att.unwrap_or(&none);
        let alt = first_words(&[&img.alt, &a.alt, &img.caption, &a.caption, &a.title])
            .unwrap_or_else(|| uploads::words_of_file(&img.src));
        Some(Photo {
            picture,
            alt,
            caption: img.caption.clone(),
            credit: a.credit.clone(),
        })
    }

    /// A post's featured image (`_thumbnail_id`): its attachment's picture.
    fn featured(&mut self, id: &str, s: &mut Story) -> Option<Photo> {
        let Some(folder) = self.uploads.as_mut() else {
            s.images_without_uploads += 1;
            return None;
        };
        let Some(a) = self.attachments.get(id) else {
            s.image_problems.push(format!(
                "the featured image, attachment {id}, is not in the file"
            ));
            return None;
        };
        let picture = match folder.picture(&a.url) {
            Ok(p) => p,
            Err(why) => {
                s.image_problems.push(format!("the featured image {why}"));
                return None;
            }
        };
        Some(Photo {
            picture,
            alt: first_words(&[&a.alt, &a.caption, &a.title])
                .unwrap_or_else(|| uploads::words_of_file(&a.url)),
            caption: a.caption.clone(),
            credit: a.credit.clone(),
        })
    }
}

/// A gallery's photos, as read: two or more make a gallery, one a photo.
fn push_gallery(out: &mut Vec<Piece>, mut photos: Vec<Photo>) {
    match photos.len() {
        0 => {}
        1 => out.extend(photos.pop().map(Piece::Photo)),
        _ => out.push(Piece::Gallery(photos)),
    }
}

/// The first of `texts` that has words.
fn first_words(texts: &[&String]) -> Option<String> {
    texts
        .iter()
        .map(|t| t.trim())
        .find(|t| !t.is_empty())
        .map(str::to_string)
}

/// An image address's file, for finding its attachment: the path after
/// `wp-content/uploads/`, a resized copy's name taken as its original's.
fn file_key(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let at = lower.find("wp-content/uploads/")?;
    let rest = url[at + "wp-content/uploads/".len()..]
        .split(['?', '#'])
        .next()?;
    let (dir, name) = rest.rsplit_once('/').unwrap_or(("", rest));
    let name = match name.rsplit_once('.') {
        Some((stem, ext)) => match stem.rsplit_once('-') {
            Some((base, size))
                if size
                    .split_once('x')
                    .is_some_and(|(w, h)| w.parse::<u32>().is_ok() && h.parse::<u32>().is_ok()) =>
            {
                format!("{base}.{ext}")
            }
            _ => name.to_string(),
        },
        None => name.to_string(),
    };
    Some(format!("{dir}/{name}"))
}

/// WordPress keeps a classic post's paragraphs as blank lines (its
/// `wpautop` makes them `<p>` when it shows the post): made paragraph
/// breaks here too.
fn paragraphs(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut blank = false;
    for (i, line) in html.split('\n').enumerate() {
        if i > 0 {
            if line.trim().is_empty() {
                blank = true;
                continue;
            }
            out.push_str(if blank { "<p>" } else { "\n" });
            blank = false;
        }
        out.push_str(line);
    }
    out
}

/// A piece of a post's HTML, before its images are read.
#[derive(Debug, PartialEq)]
enum Raw {
    Html(String),
    Image(InlineImage),
    /// A Gutenberg gallery block's images.
    Gallery(Vec<InlineImage>),
    /// A `[gallery]` shortcode: its attachments' ids (none: the post's own).
    GalleryIds(Vec<String>),
}

#[derive(Debug, Default, PartialEq)]
struct InlineImage {
    src: String,
    alt: String,
    caption: String,
    /// The attachment's id, from WordPress's `wp-image-N` class.
    attachment: Option<String>,
}

/// Splits a post's HTML into text and images, in order: `<img>` tags (a
/// link around one goes with it), `[caption]…[/caption]` shortcodes and
/// `<figure>…<figcaption>` elements, whose words become the caption.
fn split_content(html: &str) -> Vec<Raw> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = html;
    while let Some(i) = rest.find(['<', '[']) {
        text.push_str(&rest[..i]);
        let at = &rest[i..];
        match caption_shortcode(at)
            .or_else(|| gallery_shortcode(at))
            .or_else(|| figure(at))
            .or_else(|| image_tag(at))
        {
            Some((raws, used)) => {
                if !text.is_empty() {
                    out.push(Raw::Html(std::mem::take(&mut text)));
                }
                out.extend(raws);
                rest = &at[used..];
            }
            None => {
                // `<` and `[` are one byte.
                text.push_str(&at[..1]);
                rest = &at[1..];
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Raw::Html(text));
    }
    out
}

/// Whether `text` starts with the tag or shortcode `name` (ASCII, any case)
/// followed by a space, `/`, `>` or `]`.
fn opens(text: &str, name: &str) -> bool {
    text.len() > name.len()
        && text.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        && matches!(
            text.as_bytes()[name.len()],
            b' ' | b'\t' | b'\n' | b'\r' | b'/' | b'>' | b']'
        )
}

/// Where `needle` (ASCII) first occurs in `text`, in any case.
fn find_ci(text: &str, needle: &str) -> Option<usize> {
    let (t, n) = (text.as_bytes(), needle.as_bytes());
    (0..t.len().saturating_sub(n.len() - 1)).find(|&i| t[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The end (just after `close`) of a tag or shortcode starting at `text`,
/// quotes respected.
fn tag_end(text: &str, close: u8) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &b) in text.as_bytes().iter().enumerate().skip(1) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == close => return Some(i + 1),
            None => {}
        }
    }
    None
}

/// The attributes of a tag's or shortcode's text (`name="value"`,
/// `name='value'`, `name=value`), names lower-cased, values decoded.
fn attributes(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let b = tag.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && !(b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'-' | b':')) {
            i += 1;
        }
        let name = tag[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            let value = if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let from = i + 1;
                let to = tag[from..].find(q as char).map_or(b.len(), |e| from + e);
                i = to + 1;
                &tag[from..to]
            } else {
                let from = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                &tag[from..i]
            };
            if !name.is_empty() {
                out.insert(name, html::decode(value));
            }
        } else if !name.is_empty() {
            out.entry(name).or_default();
        }
    }
    out
}

/// An `<img>` tag (or a link around one): the image, and the bytes used.
fn image_tag(at: &str) -> Option<(Vec<Raw>, usize)> {
    if opens(at, "<img") {
        let end = tag_end(at, b'>')?;
        let a = attributes(&at[4..end - 1]);
        let src = ["src", "data-src", "data-orig-file"]
            .iter()
            .filter_map(|k| a.get(*k))
            .find(|v| !v.trim().is_empty());
        let Some(src) = src else {
            // An image without an address: nothing to show.
            return Some((Vec::new(), end));
        };
        let attachment = a
            .get("class")
            .and_then(|c| {
                c.split_whitespace()
                    .find_map(|k| k.strip_prefix("wp-image-"))
                    .map(str::to_string)
            })
            .or_else(|| a.get("data-id").cloned())
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        let img = InlineImage {
            src: src.trim().to_string(),
            alt: a.get("alt").cloned().unwrap_or_default(),
            caption: String::new(),
            attachment,
        };
        return Some((vec![Raw::Image(img)], end));
    }
    if opens(at, "<a") {
        // A link around an image (to its full size, usually) goes with it.
        let open = tag_end(at, b'>')?;
        let inner = &at[open..];
        let skip = inner.len() - inner.trim_start().len();
        if !opens(&inner[skip..], "<img") {
            return None;
        }
        let (raws, used) = image_tag(&inner[skip..])?;
        let after = &inner[skip + used..];
        let skip2 = after.len() - after.trim_start().len();
        if after[skip2..].len() >= 4 && after[skip2..skip2 + 4].eq_ignore_ascii_case("</a>") {
            return Some((raws, open + skip + used + skip2 + 4));
        }
    }
    None
}

/// Gives the caption to the image of a group (the last without one).
fn give_caption(raws: &mut [Raw], caption: &str) {
    if caption.is_empty() {
        return;
    }
    if let Some(img) = raws.iter_mut().rev().find_map(|r| match r {
        Raw::Image(i) if i.caption.is_empty() => Some(i),
        _ => None,
    }) {
        img.caption = caption.to_string();
    }
}

fn has_image(raws: &[Raw]) -> bool {
    raws.iter()
        .any(|r| matches!(r, Raw::Image(_) | Raw::Gallery(_) | Raw::GalleryIds(_)))
}

/// `[caption …]<img …> The caption.[/caption]`.
fn caption_shortcode(at: &str) -> Option<(Vec<Raw>, usize)> {
    if !opens(at, "[caption") {
        return None;
    }
    let open = tag_end(at, b']')?;
    let close = open + find_ci(&at[open..], "[/caption]")?;
    let mut raws = split_content(&at[open..close]);
    let words: String = raws
        .iter()
        .filter_map(|r| match r {
            Raw::Html(h) => Some(h.as_str()),
            _ => None,
        })
        .collect();
    let mut caption = html::to_text(&words);
    if caption.is_empty() {
        caption = attributes(&at[8..open - 1])
            .get("caption")
            .map(|c| html::to_text(c))
            .unwrap_or_default();
    }
    let used = close + "[/caption]".len();
    if !has_image(&raws) {
        return Some((vec![Raw::Html(words)], used));
    }
    raws.retain(|r| matches!(r, Raw::Image(_)));
    give_caption(&mut raws, &caption);
    Some((raws, used))
}

/// `[gallery ids="12,13"]` (or `include=`; without either, the post's own
/// attachments), the classic editor's gallery.
fn gallery_shortcode(at: &str) -> Option<(Vec<Raw>, usize)> {
    if !opens(at, "[gallery") {
        return None;
    }
    let end = tag_end(at, b']')?;
    let a = attributes(&at[8..end - 1]);
    let ids = a
        .get("ids")
        .or_else(|| a.get("include"))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((vec![Raw::GalleryIds(ids)], end))
}

/// `<figure …><img …><figcaption>The caption.</figcaption></figure>`,
/// figures inside it (a gallery) too. A figure without an image (a table,
/// a quotation, an embed) stays text.
fn figure(at: &str) -> Option<(Vec<Raw>, usize)> {
    if !opens(at, "<figure") {
        return None;
    }
    let open = tag_end(at, b'>')?;
    // The matching end tag, past the figures inside.
    let mut depth = 1;
    let mut i = open;
    let close = loop {
        let next = i + find_ci(&at[i..], "figure")?;
        let before = &at[..next];
        if before.ends_with("</") {
            depth -= 1;
            if depth == 0 {
                break next - 2;
            }
        } else if before.ends_with('<') && opens(&at[next - 1..], "<figure") {
            depth += 1;
        }
        i = next + "figure".len();
    };
    let used = close + at[close..].find('>')? + 1;
    let mut raws = split_content(&at[open..close]);
    if !has_image(&raws) {
        return Some((vec![Raw::Html(at[..used].to_string())], used));
    }
    // The figure's own caption (those of figures inside it were taken).
    let mut caption = "";
    for r in &raws {
        if let Raw::Html(h) = r
            && let Some(start) = find_ci(h, "<figcaption")
            && let Some(end) = find_ci(&h[start..], "</figcaption>")
        {
            caption = &h[start..start + end];
        }
    }
    let caption = caption.to_string();
    raws.retain(|r| matches!(r, Raw::Image(_) | Raw::Gallery(_) | Raw::GalleryIds(_)));
    // A gallery block (`wp-block-gallery`) keeps its pictures together; its
    // caption, about them all, is a paragraph under it.
    let class = attributes(&at[7..open - 1])
        .remove("class")
        .unwrap_or_default();
    if class.split_whitespace().any(|c| c == "wp-block-gallery") {
        let mut images = Vec::new();
        let mut shortcodes = Vec::new();
        for r in raws {
            match r {
                Raw::Image(i) => images.push(i),
                Raw::Gallery(is) => images.extend(is),
                other => shortcodes.push(other),
            }
        }
        let mut out = vec![Raw::Gallery(images)];
        out.extend(shortcodes);
        if !caption.is_empty() {
            out.push(Raw::Html(caption));
        }
        return Some((out, used));
    }
    give_caption(&mut raws, &html::to_text(&caption));
    Some((raws, used))
}

#[derive(Default)]
struct ItemRec {
    pos: u64,
    fields: HashMap<String, String>,
    /// `wp:postmeta` pairs (key, value).
    meta: Vec<(String, String)>,
    categories: Vec<(String, String, String)>,
    comments: Vec<HashMap<String, String>>,
    broken: Option<String>,
}

impl ItemRec {
    fn field(&self, k: &str) -> &str {
        self.fields.get(k).map(|s| s.trim()).unwrap_or("")
    }

    fn meta(&self, k: &str) -> &str {
        self.meta
            .iter()
            .find(|(key, _)| key.trim() == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
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

/// Reads the file, handing on its posts (made stories, their pictures
/// read through `images`) and their comments.
pub fn parse<R: BufRead>(
    input: R,
    images: &mut Images,
    mut emit: impl FnMut(Item) -> bool,
    progress: impl FnMut(u64),
) -> Result<(), Fatal> {
    read_items(
        input,
        |i, authors| finish(i, authors, images, &mut emit),
        progress,
    )
}

/// Reads the file and calls `on_item` with each `<item>` read, and the
/// channel's authors (login → display name); it answers whether to go on.
fn read_items<R: BufRead>(
    input: R,
    mut on_item: impl FnMut(ItemRec, &HashMap<String, String>) -> bool,
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
    let mut meta: (String, String) = Default::default();
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
                    (4, "wp:meta_key") => meta.0 = value,
                    (4, "wp:meta_value") => meta.1 = value,
                    (3, "wp:postmeta") => {
                        if let Some(i) = item.as_mut() {
                            i.meta.push(std::mem::take(&mut meta));
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
                            && !on_item(i, &authors)
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
    images: &mut Images,
    emit: &mut impl FnMut(Item) -> bool,
) -> bool {
    let f = |k: &str| i.field(k);
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
    let mut s = Story {
        pos: i.pos,
        post_id: post_id.clone(),
        title: html::decode(f("title")),
        link: f("link").to_string(),
        slug: f("wp:post_name").to_string(),
        published: status == "publish",
        published_at: wp_time(f("wp:post_date_gmt")).or_else(|| wp_time(f("wp:post_date"))),
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
        ..Story::default()
    };
    let thumbnail = i.meta("_thumbnail_id").trim();
    if !thumbnail.is_empty() && thumbnail != "0" {
        s.lead = images.featured(thumbnail, &mut s);
    }
    let content = i.fields.get("content:encoded").map_or("", String::as_str);
    s.body = images.body_of(content, &mut s);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn image(src: &str, alt: &str, caption: &str, attachment: Option<&str>) -> Raw {
        Raw::Image(inline(src, alt, caption, attachment))
    }

    fn inline(src: &str, alt: &str, caption: &str, attachment: Option<&str>) -> InlineImage {
        InlineImage {
            src: src.into(),
            alt: alt.into(),
            caption: caption.into(),
            attachment: attachment.map(str::to_string),
        }
    }

    #[test]
    fn images_are_found_in_place_with_their_captions() {
        let html = r#"<p>Before.</p><a href="/wp-content/uploads/x.jpg"> <IMG class="size-medium wp-image-7" src="/wp-content/uploads/x-300x200.jpg" alt="An &quot;x&quot;"> </a>After [caption id="attachment_8" width="300"]<img src='y.jpg' alt=''/> The <em>y</em>, at dusk.[/caption]<figure class="wp-block-table"><table><tr><td>1</td></tr></table></figure><figure class="wp-block-gallery"><figure><img src="a.jpg" data-id="3"><figcaption>A</figcaption></figure><figure><img src="b.jpg"></figure><figcaption>Both</figcaption></figure>[caption caption="Old style"]<img src="z.jpg">[/caption]<a href="/elsewhere">a link</a>"#;
        assert_eq!(
            split_content(html),
            vec![
                Raw::Html("<p>Before.</p>".into()),
                image(
                    "/wp-content/uploads/x-300x200.jpg",
                    "An \"x\"",
                    "",
                    Some("7")
                ),
                Raw::Html("After ".into()),
                image("y.jpg", "", "The y, at dusk.", None),
                Raw::Html(
                    r#"<figure class="wp-block-table"><table><tr><td>1</td></tr></table></figure>"#
                        .into()
                ),
                Raw::Gallery(vec![
                    inline("a.jpg", "", "A", Some("3")),
                    inline("b.jpg", "", "", None),
                ]),
                Raw::Html("<figcaption>Both".into()),
                image("z.jpg", "", "Old style", None),
                Raw::Html(r#"<a href="/elsewhere">a link</a>"#.into()),
            ]
        );
        // The classic editor's galleries: by ids, by `include`, or the post's own.
        assert_eq!(
            split_content(
                r#"<p>A.</p>[gallery ids="12, 13,x" columns="2"][gallery include='14'][gallery]"#
            ),
            vec![
                Raw::Html("<p>A.</p>".into()),
                Raw::GalleryIds(vec!["12".into(), "13".into()]),
                Raw::GalleryIds(vec!["14".into()]),
                Raw::GalleryIds(vec![]),
            ]
        );
        // The gallery block of WordPress 5.3 to 5.8: its list's items.
        assert_eq!(
            split_content(
                r#"<figure class="wp-block-gallery columns-2"><ul class="blocks-gallery-grid"><li class="blocks-gallery-item"><figure><img src="c.jpg" class="wp-image-5"/></figure></li><li><figure><img src="d.jpg"/><figcaption>D</figcaption></figure></li></ul></figure>"#
            ),
            vec![Raw::Gallery(vec![
                inline("c.jpg", "", "", Some("5")),
                inline("d.jpg", "", "D", None),
            ])]
        );
        // Unclosed shortcodes and lone brackets stay text.
        assert_eq!(
            split_content("a [caption] b < c [x]"),
            vec![Raw::Html("a [caption] b < c [x]".into())]
        );
    }

    #[test]
    fn blank_lines_part_paragraphs() {
        assert_eq!(
            html::to_text(&paragraphs("One\nline.\n\nTwo.\n \nThree.")),
            "One line.\n\nTwo.\n\nThree."
        );
    }

    #[test]
    fn resized_copies_find_their_attachment() {
        assert_eq!(
            file_key("https://o.example/wp-content/uploads/2019/04/x-300x200.jpg?v=1").as_deref(),
            Some("2019/04/x.jpg")
        );
        assert_eq!(file_key("https://o.example/x.jpg"), None);
    }
}
