//! The body of a story: a list of blocks, stored as JSON.
//!
//! Blocks rather than one HTML string, because the server has to reason about
//! the body: cut it after a number of paragraphs for a reader over the meter,
//! resolve "Also read" links by story id at render time (so they survive a
//! slug change), and render photos from the media library with their
//! renditions. Paragraph text is a small Markdown subset (emphasis, strong,
//! links), rendered through a sanitiser, so even staff-written text cannot
//! inject markup.

use serde::{Deserialize, Serialize};

/// A photo placed in a story, with the words that go under it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figure {
    pub media_id: i64,
    /// Required: what the picture shows, for readers who cannot see it.
    pub alt: String,
    #[serde(default)]
    pub caption: String,
    #[serde(default)]
    pub credit: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Paragraph {
        text: String,
    },
    Heading {
        text: String,
    },
    Quote {
        text: String,
    },
    Photo(Figure),
    Gallery {
        items: Vec<Figure>,
    },
    /// An inline "Also read" link, by the target story's identity.
    AlsoRead {
        story_id: i64,
    },
}

pub fn to_json(blocks: &[Block]) -> String {
    serde_json::to_string(blocks).expect("blocks always serialise")
}

pub fn from_json(text: &str) -> Result<Vec<Block>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The stories an "Also read" block points at, in order.
pub fn linked_stories(blocks: &[Block]) -> Vec<i64> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::AlsoRead { story_id } => Some(*story_id),
            _ => None,
        })
        .collect()
}

/// The photos a body shows, in order.
pub fn media_ids(blocks: &[Block]) -> Vec<i64> {
    let mut ids = Vec::new();
    for b in blocks {
        match b {
            Block::Photo(f) => ids.push(f.media_id),
            Block::Gallery { items } => ids.extend(items.iter().map(|f| f.media_id)),
            _ => {}
        }
    }
    ids
}

/// Checks a body an editor submits: every photo has alt text, a gallery has
/// photos, text blocks are not empty.
pub fn validate(blocks: &[Block]) -> Result<(), String> {
    for (i, b) in blocks.iter().enumerate() {
        let n = i + 1;
        match b {
            Block::Paragraph { text } | Block::Heading { text } | Block::Quote { text }
                if text.trim().is_empty() =>
            {
                return Err(format!("block {n} is empty"));
            }
            Block::Photo(f) if f.alt.trim().is_empty() => {
                return Err(format!("the photo in block {n} needs alt text"));
            }
            Block::Gallery { items } if items.is_empty() => {
                return Err(format!("the gallery in block {n} has no photos"));
            }
            Block::Gallery { items } => {
                if let Some(k) = items.iter().position(|f| f.alt.trim().is_empty()) {
                    return Err(format!(
                        "photo {} of the gallery in block {n} needs alt text",
                        k + 1
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Renders a paragraph's inline Markdown to sanitised HTML: emphasis, strong,
/// code and links only; everything else is kept as text.
pub fn inline_html(text: &str) -> String {
    use pulldown_cmark::{Options, Parser, html};
    let mut raw = String::with_capacity(text.len() + 16);
    html::push_html(&mut raw, Parser::new_ext(text, Options::empty()));
    ammonia::Builder::default()
        .tags(["em", "strong", "a", "code"].into_iter().collect())
        .link_rel(Some("noopener"))
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .clean(&raw)
        .to_string()
        .trim()
        .to_string()
}

/// Plain text of a paragraph, for descriptions and search.
pub fn plain_text(text: &str) -> String {
    use pulldown_cmark::{Event, Parser};
    let mut out = String::new();
    for ev in Parser::new(text) {
        match ev {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_through_json() {
        let blocks = vec![
            Block::Paragraph {
                text: "Hello *world*".into(),
            },
            Block::Photo(Figure {
                media_id: 3,
                alt: "A".into(),
                caption: "C".into(),
                credit: "Photo: X".into(),
            }),
            Block::AlsoRead { story_id: 9 },
            Block::Gallery { items: vec![] },
        ];
        assert_eq!(from_json(&to_json(&blocks)).unwrap(), blocks);
        assert_eq!(linked_stories(&blocks), vec![9]);
        assert_eq!(media_ids(&blocks), vec![3]);
    }

    #[test]
    fn inline_markdown_keeps_emphasis_and_drops_markup() {
        assert_eq!(
            inline_html("a *b* **c**"),
            "a <em>b</em> <strong>c</strong>"
        );
        assert_eq!(inline_html("<script>alert(1)</script>x"), "x");
        assert_eq!(inline_html("<b onclick=x>bold</b>"), "bold");
        assert!(!inline_html("[x](javascript:alert(1))").contains("javascript"));
        assert_eq!(inline_html("# not a heading"), "not a heading");
        assert_eq!(inline_html("Tom & Jerry"), "Tom &amp; Jerry");
    }

    #[test]
    fn photos_without_alt_text_are_refused() {
        let b = vec![Block::Photo(Figure {
            media_id: 1,
            alt: " ".into(),
            caption: String::new(),
            credit: String::new(),
        })];
        assert!(validate(&b).unwrap_err().contains("alt text"));
        assert!(validate(&[Block::Paragraph { text: "".into() }]).is_err());
    }

    #[test]
    fn plain_text_drops_the_markup() {
        assert_eq!(plain_text("a *b* [c](http://x)"), "a b c");
    }
}
