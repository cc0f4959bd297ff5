//! Another platform's comment HTML made into Masthead's comment text:
//! paragraphs and line breaks kept, a link kept as its address (after its
//! words when they differ), every other tag dropped, entities decoded. The
//! text is then cleaned as a reader's would be, and shown escaped.

use crate::domain::comment_text;

/// The comment text of an HTML fragment.
pub fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut scratch = String::new();
    let mut rest = html;
    // The address of the link being read, and where its words start.
    let mut link: Option<(String, usize)> = None;
    while let Some(lt) = rest.find('<') {
        push_decoded(&mut out, &mut scratch, &rest[..lt]);
        let after = &rest[lt + 1..];
        if !after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!') {
            // `<` not starting a tag is text.
            out.push('<');
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else {
            // A lone `<` is text.
            push_decoded(&mut out, &mut scratch, &rest[lt..]);
            rest = "";
            break;
        };
        let tag = &after[..gt];
        rest = &after[gt + 1..];
        let closing = tag.starts_with('/');
        let bare = tag.trim_start_matches('/');
        let end = bare
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(bare.len());
        // Tag names of interest are short: a longer one is none of them.
        let mut lower = [0u8; 10];
        let name = match &bare.as_bytes()[..end] {
            b if b.len() <= lower.len() => {
                lower[..b.len()].copy_from_slice(b);
                lower[..b.len()].make_ascii_lowercase();
                std::str::from_utf8(&lower[..b.len()]).unwrap_or("")
            }
            _ => "",
        };
        match (name, closing) {
            ("p" | "div" | "blockquote" | "ul" | "ol" | "pre", _) => out.push_str("\n\n"),
            ("br", _) => out.push('\n'),
            ("li", false) => out.push_str("\n- "),
            ("a", false) => {
                link = attribute(tag, "href").map(|h| (decode(&h), out.len()));
            }
            ("a", true) => {
                if let Some((href, start)) = link.take() {
                    let words = out[start..].trim().to_string();
                    let shown = words.trim_end_matches("...").trim_end_matches('…');
                    if href.starts_with("http://") || href.starts_with("https://") {
                        if words.is_empty() || href.starts_with(shown) {
                            out.truncate(start);
                            out.push_str(&href);
                        } else if words != href {
                            out.push_str(" (");
                            out.push_str(&href);
                            out.push(')');
                        }
                    }
                }
            }
            _ => {}
        }
    }
    push_decoded(&mut out, &mut scratch, rest);
    comment_text::clean(&out)
}

/// The value of an attribute in a tag's text, quoted or not.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value = rest[1..].trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or("").to_string(),
            _ => value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_string(),
        });
    }
    None
}

/// Text between tags: runs of white space are one space (none at the
/// start of a line), as a browser shows them. `scratch` is a buffer to use
/// again (a long import calls this a few times for each comment).
fn push_decoded(out: &mut String, scratch: &mut String, text: &str) {
    scratch.clear();
    for word in text.split(|c: char| c.is_ascii_whitespace()) {
        if word.is_empty() {
            if !scratch.ends_with(' ') {
                scratch.push(' ');
            }
            continue;
        }
        scratch.push_str(word);
        scratch.push(' ');
    }
    if !text.ends_with(|c: char| c.is_ascii_whitespace()) {
        scratch.pop();
    }
    let collapsed = if out.is_empty() || out.ends_with('\n') {
        scratch.trim_start()
    } else {
        scratch.as_str()
    };
    decode_into(out, collapsed);
}

/// Decodes character references: the named ones comments use and numeric ones.
pub fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    decode_into(&mut out, text);
    out
}

/// [`decode`], appending to `out`.
fn decode_into(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find(';').filter(|&e| e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                "hellip" => Some('…'),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                "laquo" => Some('«'),
                "raquo" => Some('»'),
                "rsquo" => Some('’'),
                "lsquo" => Some('‘'),
                "ldquo" => Some('“'),
                "rdquo" => Some('”'),
                _ => {
                    let n = if let Some(h) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                        u32::from_str_radix(h, 16).ok()
                    } else {
                        name.strip_prefix('#').and_then(|d| d.parse().ok())
                    };
                    n.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn html_becomes_comment_text() {
        let cases = [
            ("<p>One.</p><p>Two.</p>", "One.\n\nTwo."),
            ("a<br>b<br/>c", "a\nb\nc"),
            ("<b>bold</b> &amp; <i>it</i>", "bold & it"),
            ("&lt;script&gt;x&lt;/script&gt;", "<script>x</script>"),
            (
                r#"<a href="https://example.com/a" rel="nofollow">some link</a>"#,
                "some link (https://example.com/a)",
            ),
            (
                r#"<a href="http://blogs.msdn.com/b/b8/archive/x.aspx">http://blogs.msdn.com/b/b8/...</a>"#,
                "http://blogs.msdn.com/b/b8/archive/x.aspx",
            ),
            (r#"<a href="javascript:alert(1)">click</a>"#, "click"),
            ("Привет, <em>мир</em> &#8212; &#x41;", "Привет, мир — A"),
            ("line\nwrapped in source", "line wrapped in source"),
            ("5 < 6 & 7 > 3", "5 < 6 & 7 > 3"),
            ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
            ("  <p></p>  ", ""),
        ];
        for (html, text) in cases {
            assert_eq!(to_text(html), text, "{html}");
        }
    }
}
