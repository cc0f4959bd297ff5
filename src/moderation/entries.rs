//! What an entry of each word list of the [`super::Guidelines`] may look
//! like, checked before a publication's own list is saved.
//!
//! The check itself never refuses an entry: one it cannot use is skipped
//! (`text.rs`), or worse, matches far more than meant (`*a*` would be inside
//! almost every word). So the admin screen checks each entry first and says
//! what to fix, in words that name the syntax of that list.

/// How the entries of a list are read by the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// One word, compared whole after folding: `word` (and its plural),
    /// `stem*` (with a common ending), `*root*` (inside any word).
    Pattern,
    /// One word, compared exactly (lower-cased); no `*`.
    Word,
    /// Words separated by spaces, compared in a row; `*` alone stands for
    /// up to three words ("shut * up").
    Phrase,
    /// A host name (`example.com`, which also allows its subdomains).
    Host,
}

/// The word lists of the guidelines, by their key, with how each is read.
pub const LISTS: &[(&str, Syntax)] = &[
    ("banned", Syntax::Pattern),
    ("suspect", Syntax::Pattern),
    ("dehumanising", Syntax::Pattern),
    ("insults", Syntax::Pattern),
    ("insult_adjectives", Syntax::Pattern),
    ("belittling", Syntax::Pattern),
    ("targets", Syntax::Word),
    ("attacks", Syntax::Phrase),
    ("romanised", Syntax::Word),
    ("spam_words", Syntax::Word),
    ("allowed_link_hosts", Syntax::Host),
];

/// The syntax of list `key`, if it is one of the guidelines' word lists.
pub fn syntax_of(key: &str) -> Option<Syntax> {
    LISTS.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
}

/// The letters a word may be written with: letters, digits, an apostrophe
/// ("you're") or a hyphen.
fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\'' | '’' | '-')
}

/// Checks one entry (already trimmed, not empty) of a list read as `syntax`;
/// the error says what is wrong and how to write it instead.
pub fn check(syntax: Syntax, entry: &str) -> Result<(), String> {
    match syntax {
        Syntax::Pattern => check_pattern(entry),
        Syntax::Word => check_word(entry),
        Syntax::Phrase => check_phrase(entry),
        Syntax::Host => check_host(entry),
    }
}

fn no_spaces(entry: &str, what: &str) -> Result<(), String> {
    if entry.chars().any(char::is_whitespace) {
        return Err(format!(
            "“{entry}” has a space: each line is {what}. Put each word on a line of its own."
        ));
    }
    Ok(())
}

fn letters_only(entry: &str, core: &str) -> Result<(), String> {
    if let Some(c) = core.chars().find(|c| !word_char(*c)) {
        return Err(format!(
            "“{entry}” has “{c}”: write the word with letters (digits, an apostrophe and a \
             hyphen are allowed too). Disguised spellings such as sh1t or f@ck are caught \
             without listing them."
        ));
    }
    Ok(())
}

fn check_pattern(entry: &str) -> Result<(), String> {
    no_spaces(entry, "one word (word, stem* or *root*)")?;
    let (core, inside) = match (entry.strip_prefix('*'), entry.strip_suffix('*')) {
        (Some(rest), Some(_)) => (rest.strip_suffix('*').unwrap_or(""), true),
        (Some(_), None) => {
            return Err(format!(
                "“{entry}” starts with * but does not end with one: write *{root}* to match \
                 inside any word, or {root}* to match the word with its endings.",
                root = entry.trim_start_matches('*')
            ));
        }
        (None, Some(stem)) => (stem, false),
        (None, None) => (entry, false),
    };
    if core.contains('*') {
        return Err(format!(
            "“{entry}” has * in the middle: * goes only at the end (stem*) or at both ends \
             (*root*)."
        ));
    }
    if core.is_empty() {
        return Err(format!(
            "“{entry}” has no letters: write a word (word, stem* or *root*)."
        ));
    }
    letters_only(entry, core)?;
    let letters = core.chars().count();
    if inside && letters < 3 {
        return Err(format!(
            "“{entry}” is too short to look for inside words: a root of fewer than three \
             letters is inside too many innocent words. Write it as a word of its own \
             ({core}) instead."
        ));
    }
    if letters < 2 {
        return Err(format!(
            "“{entry}” is too short: a word in this list needs two letters or more."
        ));
    }
    Ok(())
}

fn check_word(entry: &str) -> Result<(), String> {
    no_spaces(entry, "one word")?;
    if entry.contains('*') {
        return Err(format!(
            "“{entry}” has *: this list is compared with whole words only, so write the word \
             itself (and each form of it on a line of its own)."
        ));
    }
    letters_only(entry, entry)
}

fn check_phrase(entry: &str) -> Result<(), String> {
    let words: Vec<&str> = entry.split_whitespace().collect();
    if let Some(w) = words.iter().find(|w| w.contains('*') && **w != "*") {
        return Err(format!(
            "“{entry}”: * stands alone between two words, for up to three words (shut * up); \
             “{w}” has it joined to letters."
        ));
    }
    if words.first() == Some(&"*") || words.last() == Some(&"*") {
        return Err(format!(
            "“{entry}” starts or ends with *: * goes between two words (shut * up)."
        ));
    }
    for w in words.iter().filter(|w| **w != "*") {
        letters_only(entry, w)?;
    }
    Ok(())
}

fn check_host(entry: &str) -> Result<(), String> {
    if entry.contains("://") || entry.contains('/') {
        let host = entry
            .split("://")
            .last()
            .unwrap_or(entry)
            .split('/')
            .next()
            .unwrap_or("");
        return Err(format!(
            "“{entry}” is an address: write the host alone ({host}); its pages and \
             subdomains are allowed with it."
        ));
    }
    no_spaces(entry, "one host name")?;
    let ok = entry.contains('.')
        && !entry.starts_with(['.', '-'])
        && !entry.ends_with(['.', '-'])
        && !entry.contains("..")
        && entry
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-'));
    if !ok {
        return Err(format!(
            "“{entry}” is not a host name: write one such as example.com (letters, digits, \
             hyphens and dots)."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_entry_is_valid() {
        let g = crate::moderation::Guidelines::default();
        let lists: [(&str, &Vec<String>); 10] = [
            ("banned", &g.banned),
            ("suspect", &g.suspect),
            ("dehumanising", &g.dehumanising),
            ("insults", &g.insults),
            ("insult_adjectives", &g.insult_adjectives),
            ("belittling", &g.belittling),
            ("targets", &g.targets),
            ("attacks", &g.attacks),
            ("romanised", &g.romanised),
            ("spam_words", &g.spam_words),
        ];
        for (key, list) in lists {
            let syntax = syntax_of(key).unwrap();
            for e in list {
                assert_eq!(check(syntax, e), Ok(()), "{key}: {e}");
            }
        }
    }

    #[test]
    fn patterns_take_a_star_only_at_the_end_or_both_ends() {
        for ok in ["idiot", "idiot*", "*fuck*", "you're", "half-wit"] {
            assert_eq!(check(Syntax::Pattern, ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("*idiot", "does not end with one"),
            ("id*iot", "in the middle"),
            ("*a*", "too short to look for inside"),
            ("x", "too short"),
            ("*", "no letters"),
            ("**", "no letters"),
            ("shut up", "has a space"),
            ("f.ck", "has “.”"),
        ] {
            let e = check(Syntax::Pattern, bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn words_phrases_and_hosts_have_their_own_rules() {
        assert!(check(Syntax::Word, "u").is_ok());
        assert!(check(Syntax::Word, "earn*").unwrap_err().contains("has *"));
        assert!(check(Syntax::Word, "big money").is_err());
        assert!(check(Syntax::Phrase, "shut * up").is_ok());
        assert!(check(Syntax::Phrase, "shut* up").is_err());
        assert!(check(Syntax::Phrase, "* off").is_err());
        assert!(check(Syntax::Host, "example.com").is_ok());
        let e = check(Syntax::Host, "https://example.com/news").unwrap_err();
        assert!(e.contains("(example.com)"), "{e}");
        assert!(check(Syntax::Host, "localhost").is_err());
    }
}
