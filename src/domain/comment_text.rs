//! A comment's text: what is kept of what a reader typed, the limits it must
//! meet, and its HTML (paragraphs, line breaks and links; nothing else, and
//! everything escaped).

use std::fmt::Write;

/// Characters removed from what a reader typed: controls other than line
/// breaks and tabs, bidirectional overrides and isolates (they can make text
/// read differently from what it is), and invisible spaces. Zero-width
/// joiners stay: scripts such as Devanagari and emoji sequences need them.
fn unwanted(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'
        | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}')
        || (c.is_control() && c != '\n' && c != '\t')
}

/// What is kept of a comment: line breaks made `\n`, unwanted characters
/// removed, trailing spaces cut from each line, at most one blank line in a
/// row, no blank lines at either end.
pub fn clean(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut blank_run = 0;
    let mut line = String::new();
    // "\r\n", "\n" and "\r" each end a line.
    for piece in input.split('\n') {
        let piece = piece.strip_suffix('\r').unwrap_or(piece);
        for raw in piece.split('\r') {
            // Most lines hold nothing to remove: printable ASCII needs no
            // look at its characters.
            let kept = if raw.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t')
                || !raw.chars().any(unwanted)
            {
                raw.trim_end()
            } else {
                line.clear();
                line.extend(raw.chars().filter(|c| !unwanted(*c)));
                line.trim_end()
            };
            if kept.trim().is_empty() {
                blank_run += 1;
                continue;
            }
            if !out.is_empty() {
                out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
            }
            blank_run = 0;
            out.push_str(kept);
        }
    }
    out
}

/// Why a text cannot be posted, in words for its author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    Empty,
    TooLong { length: usize, limit: usize },
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::Empty => write!(f, "Write your comment before posting it."),
            TextError::TooLong { length, limit } => write!(
                f,
                "Your comment is {} characters long; the limit is {}. Shorten it and post it again.",
                thousands(*length),
                thousands(*limit)
            ),
        }
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Checks a cleaned text against the limits.
pub fn check(text: &str, limit: usize) -> Result<(), TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    let length = text.chars().count();
    if length > limit {
        return Err(TextError::TooLong { length, limit });
    }
    Ok(())
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Where a link written in the text ends: before trailing punctuation that
/// belongs to the sentence, and before a closing bracket with no opening one.
fn link_end(word: &str) -> usize {
    let mut end = word.len();
    loop {
        let trimmed = word[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', '\'', '"']);
        let mut e = trimmed.len();
        if trimmed.ends_with(')') && trimmed.matches('(').count() < trimmed.matches(')').count() {
            e -= 1;
        }
        if e == end {
            return end;
        }
        end = e;
    }
}

fn link_in(word: &str) -> Option<(usize, usize)> {
    let start = word.find("https://").or_else(|| word.find("http://"))?;
    let rest = &word[start..];
    // Quotes and angle brackets end a link: they are not part of addresses
    // people write.
    let rest = &rest[..rest.find(['"', '\'', '<', '>']).unwrap_or(rest.len())];
    let end = start + link_end(rest);
    let scheme_len = if rest.starts_with("https://") { 8 } else { 7 };
    (end > start + scheme_len).then_some((start, end))
}

/// The HTML of a cleaned text: a paragraph per blank-line-separated block,
/// `<br>` for single line breaks, `http(s)://` links made links that tell
/// search engines they were written by a reader.
pub fn to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    for para in text.split("\n\n") {
        out.push_str("<p>");
        for (i, line) in para.split('\n').enumerate() {
            if i > 0 {
                out.push_str("<br>");
            }
            let mut first = true;
            for word in line.split(' ') {
                if !first {
                    out.push(' ');
                }
                first = false;
                match link_in(word) {
                    Some((s, e)) => {
                        escape_into(&mut out, &word[..s]);
                        let url = &word[s..e];
                        out.push_str("<a href=\"");
                        escape_into(&mut out, url);
                        out.push_str("\" rel=\"nofollow ugc noopener\">");
                        escape_into(&mut out, url);
                        out.push_str("</a>");
                        escape_into(&mut out, &word[e..]);
                    }
                    None => escape_into(&mut out, word),
                }
            }
        }
        out.push_str("</p>");
    }
    out
}

/// The first words of a text, for lists and mails.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max_chars {
        return flat;
    }
    let mut out: String = flat.chars().take(max_chars).collect();
    if let Some(i) = out.rfind(' ') {
        out.truncate(i);
    }
    let _ = write!(out, " …");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_keeps_the_words_and_drops_what_hides_them() {
        let cases = [
            ("Plain text.", "Plain text."),
            ("  Padded  \r\n", "  Padded"),
            ("One\r\nTwo\rThree", "One\nTwo\nThree"),
            ("A\r\r\nB\r", "A\n\nB"),
            ("A\r\n\r\nB", "A\n\nB"),
            ("A\n\n\n\nB", "A\n\nB"),
            ("\n\nA\n\n", "A"),
            ("Right\u{202E}txt.exe", "Righttxt.exe"),
            ("Zero\u{200B}width\u{FEFF}", "Zerowidth"),
            ("Bell\u{7} and null\u{0}", "Bell and null"),
            ("क्\u{200D}ष keeps its joiner", "क्\u{200D}ष keeps its joiner"),
            ("Tabs\tstay", "Tabs\tstay"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn the_limits_say_what_to_fix() {
        assert_eq!(check("   ", 10), Err(TextError::Empty));
        assert_eq!(check("", 10), Err(TextError::Empty));
        assert!(check("Fine.", 10).is_ok());
        let long = "a".repeat(20_000);
        let e = check(&long, 5_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Your comment is 20,000 characters long; the limit is 5,000. Shorten it and post it again."
        );
        // Characters, not bytes.
        assert!(check(&"é".repeat(10), 10).is_ok());
    }

    #[test]
    fn html_is_paragraphs_breaks_and_links_and_everything_else_escaped() {
        let cases = [
            ("Hello.", "<p>Hello.</p>"),
            ("One\nTwo\n\nThree", "<p>One<br>Two</p><p>Three</p>"),
            (
                "<script>alert(1)</script>",
                "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
            ),
            (
                "<img src=x onerror=alert(1)>",
                "<p>&lt;img src=x onerror=alert(1)&gt;</p>",
            ),
            (
                "See https://example.org/a?b=1&c=2.",
                "<p>See <a href=\"https://example.org/a?b=1&amp;c=2\" rel=\"nofollow ugc noopener\">https://example.org/a?b=1&amp;c=2</a>.</p>",
            ),
            (
                "(see http://example.org/x)",
                "<p>(see <a href=\"http://example.org/x\" rel=\"nofollow ugc noopener\">http://example.org/x</a>)</p>",
            ),
            ("javascript:alert(1)", "<p>javascript:alert(1)</p>"),
            ("https://", "<p>https://</p>"),
            (
                "\"https://x.org/\"onmouseover=\"a\"",
                "<p>&quot;<a href=\"https://x.org/\" rel=\"nofollow ugc noopener\">https://x.org/</a>&quot;onmouseover=&quot;a&quot;</p>",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(to_html(input), want, "{input:?}");
        }
    }

    #[test]
    fn excerpts_end_on_a_word() {
        assert_eq!(excerpt("Short one.", 50), "Short one.");
        assert_eq!(
            excerpt("The quick brown fox jumps over the lazy dog", 20),
            "The quick brown fox …"
        );
    }
}
