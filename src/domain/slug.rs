//! Slugs and the story address `/{section}/{slug}-{id}`.
//!
//! The id is the story's identity; the slug is decoration that may change.
//! A request whose slug or section is not the current one is answered with a
//! redirect to the current address.

/// Makes a URL slug from a headline: lower-case ASCII letters and digits
/// joined by single hyphens, at most 80 characters, cut at a word boundary.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_hyphen = false;
    for c in text.chars() {
        let c = fold(c);
        if c.is_ascii_alphanumeric() {
            if pending_hyphen && !out.is_empty() {
                out.push('-');
            }
            pending_hyphen = false;
            out.push(c.to_ascii_lowercase());
        } else if c != '\'' && c != '’' {
            pending_hyphen = true;
        }
    }
    if out.len() > 80 {
        let cut = out[..80].rfind('-').unwrap_or(80);
        out.truncate(cut);
    }
    if out.is_empty() {
        "story".to_string()
    } else {
        out
    }
}

/// Folds common accented Latin letters to ASCII so "Café" makes "cafe".
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Whether `s` is a well-formed slug (what `slugify` makes).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Splits the last segment of a story address, `some-slug-123`, into its slug
/// and id. The id alone (`123`) is accepted too.
pub fn parse_story_segment(segment: &str) -> Option<(&str, i64)> {
    let (slug, id) = match segment.rsplit_once('-') {
        Some((slug, id)) => (slug, id),
        None => ("", segment),
    };
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let id: i64 = id.parse().ok()?;
    (id > 0).then_some((slug, id))
}

/// The site path of a story.
pub fn story_path(section_slug: &str, slug: &str, id: i64) -> String {
    format!("/{section_slug}/{slug}-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_words_joined_by_hyphens() {
        let cases = [
            (
                "Monsoon reaches Kerala, three days early!",
                "monsoon-reaches-kerala-three-days-early",
            ),
            ("  RBI holds rates at 6.5%  ", "rbi-holds-rates-at-6-5"),
            ("Café owners’ new rules", "cafe-owners-new-rules"),
            ("India’s win", "indias-win"),
            ("नमस्ते", "story"),
            ("", "story"),
        ];
        for (input, want) in cases {
            assert_eq!(slugify(input), want, "{input}");
            assert!(is_slug(&slugify(input)));
        }
    }

    #[test]
    fn long_slugs_are_cut_at_a_word() {
        let s = slugify(&"word ".repeat(40));
        assert!(s.len() <= 80 && !s.ends_with('-'), "{s}");
    }

    #[test]
    fn story_segments_carry_a_numeric_id() {
        assert_eq!(
            parse_story_segment("monsoon-arrives-12"),
            Some(("monsoon-arrives", 12))
        );
        assert_eq!(parse_story_segment("12"), Some(("", 12)));
        assert_eq!(
            parse_story_segment("covid-19-cases-rise-7"),
            Some(("covid-19-cases-rise", 7))
        );
        for bad in [
            "monsoon",
            "monsoon-",
            "x-0",
            "x-1a",
            "x-99999999999999999999",
        ] {
            assert_eq!(parse_story_segment(bad), None, "{bad}");
        }
    }
}
