//! Reading a comment once for every rule: its links, mentions and phone
//! numbers, its words and sentences as written (for the language and form
//! rules), and its words folded against evasion (for the word lists).
//!
//! Folding undoes the usual tricks before a word is compared with a list:
//! homoglyphs, zero-width characters, fullwidth and "mathematical" letters
//! (decancer cures these), leetspeak (`sh1t`, `$hit`), symbols standing for
//! letters (`f@#king`, `f*ck`), letters spaced or dotted out (`f u c k`,
//! `f.u.c.k`) and letters held down (`fuuuuck`). Words are compared whole,
//! so a rude root inside an innocent word ("Scunthorpe", "assassination",
//! "cocktail") is never a match.

use std::sync::LazyLock;

use regex::Regex;

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\b(?:https?://|www\.)[^\s<>"']+|\b(?:[a-z0-9-]+\.)+(?:com|net|org|biz|info|io|co|in|uk|us|xyz|ly|me|site|online|top|club|shop|store|app|tk|ru|cn|live|link|click|website|space|tv|gl|gd|pk|bd|lk|np)\b(?:/[^\s<>"']*)?"#,
    )
    .expect("a valid pattern")
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+\b").expect("a valid pattern")
});
static MENTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[\s(,;])@([A-Za-z0-9_.]{2,40})").expect("a valid pattern"));
/// Digits (or digits masked with X) in one run, with the usual separators.
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+?\(?[0-9][0-9Xx*() .-]{6,}[0-9Xx]").expect("a valid pattern"));

/// A link in a comment.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// Lowercase host without `www.`.
    pub host: String,
}

/// A word folded for matching against a word list.
#[derive(Clone, Debug)]
pub(crate) struct Folded {
    /// The word after decancer, lowercase, repeated letters squeezed.
    pub text: String,
    /// The sentence it is in (an index into the comment's sentences).
    pub sentence: usize,
    /// Made by joining letters spaced out; matched against lists only.
    pub joined: bool,
    /// Ends a clause with a comma or a sentence mark.
    pub clause_end: bool,
}

/// Everything the rules read from one comment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Prepared {
    pub links: Vec<Link>,
    pub emails: usize,
    pub mentions: Vec<String>,
    /// Runs of at least 8 digits (or masked digits): phone numbers.
    pub phones: usize,
    /// The text without links, addresses and mentions.
    pub prose: String,
    /// Words of the prose, lowercase, as written (any script).
    pub words: Vec<String>,
    /// For each sentence of the prose, how many words it has.
    pub sentence_words: Vec<usize>,
    /// Letters in the prose, and how many are Latin, upper and lower case.
    pub letters: usize,
    pub latin: usize,
    pub upper: usize,
    pub lower: usize,
    /// Symbols of the prose that are neither letters, digits, punctuation nor spaces (emoji).
    pub symbols: usize,
    pub folded: Vec<Folded>,
}

pub(crate) fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

impl Prepared {
    pub fn new(text: &str) -> Prepared {
        let mut p = Prepared::default();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for m in URL.find_iter(text) {
            let raw = m.as_str();
            let rest = raw
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .trim_start_matches("://");
            let rest = if raw.contains("://") { rest } else { raw };
            let host = rest
                .split(['/', '?', '#', ':'])
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
            p.links.push(Link { host });
            spans.push((m.start(), m.end()));
        }
        for m in EMAIL.find_iter(text) {
            if !overlaps(&spans, m.start(), m.end()) {
                p.emails += 1;
                spans.push((m.start(), m.end()));
            }
        }
        for c in MENTION.captures_iter(text) {
            if let Some(m) = c.get(1)
                && !overlaps(&spans, m.start(), m.end())
            {
                p.mentions.push(m.as_str().to_ascii_lowercase());
                spans.push((m.start() - 1, m.end()));
            }
        }
        for m in PHONE.find_iter(text) {
            let s = m.as_str();
            let digits = s.chars().filter(|c| c.is_ascii_digit()).count();
            let masked = s.chars().filter(|c| matches!(c, 'X' | 'x' | '*')).count();
            if digits >= 2 && digits + masked >= 8 && !overlaps(&spans, m.start(), m.end()) {
                p.phones += 1;
            }
        }
        spans.sort_unstable();
        let mut prose = String::with_capacity(text.len());
        let mut at = 0;
        for (s, e) in spans {
            if s >= at {
                prose.push_str(&text[at..s]);
                prose.push(' ');
                at = e;
            } else if e > at {
                at = e;
            }
        }
        prose.push_str(&text[at.min(text.len())..]);
        p.prose = prose;
        p.read_words();
        p.fold();
        p
    }

    /// Words and sentences of the prose as written.
    fn read_words(&mut self) {
        let mut word = String::new();
        let mut in_sentence = 0usize;
        for c in self.prose.chars().chain(std::iter::once('\n')) {
            if c.is_alphabetic() || is_mark(c) {
                if c.is_alphabetic() {
                    self.letters += 1;
                    if is_latin(c) {
                        self.latin += 1;
                    }
                    if c.is_uppercase() {
                        self.upper += 1;
                    } else if c.is_lowercase() {
                        self.lower += 1;
                    }
                }
                word.extend(c.to_lowercase());
                continue;
            }
            if (c == '\'' || c == '\u{2019}') && !word.is_empty() {
                word.push('\'');
                continue;
            }
            if !word.is_empty() {
                let w = word.trim_end_matches('\'').to_string();
                self.words.push(w);
                in_sentence += 1;
                word.clear();
            }
            if matches!(c, '.' | '!' | '?' | ';' | '\n' | '\u{0964}' | '\u{3002}') {
                if in_sentence > 0 {
                    self.sentence_words.push(in_sentence);
                }
                in_sentence = 0;
            } else if !c.is_whitespace()
                && !c.is_ascii_punctuation()
                && !c.is_numeric()
                && !c.is_control()
                && !matches!(c, '\u{200B}'..='\u{200D}' | '\u{FE0F}' | '\u{2018}'..='\u{201F}')
            {
                self.symbols += 1;
            }
        }
    }

    /// Words folded against evasion, with the sentence each is in.
    fn fold(&mut self) {
        let options = decancer::Options::default().disable_bidi();
        let cured = match decancer::cure(&self.prose, options) {
            Ok(c) => String::from(c),
            Err(_) => self.prose.to_lowercase(),
        };
        let mut sentence = 0usize;
        let mut run: Vec<String> = Vec::new();
        for chunk in cured.split_whitespace().flat_map(split_chunk) {
            let trimmed = chunk.trim_matches(|c: char| !is_word_char(c));
            // "F v < k": a symbol alone among spaced letters stands for one.
            let trimmed = if trimmed.is_empty() && matches!(chunk, "<" | "(") {
                chunk
            } else {
                trimmed
            };
            // "idiot!!", "loser's": the ending is not part of the word.
            let trimmed = trimmed.trim_end_matches('!');
            let trimmed = trimmed.strip_suffix("'s").unwrap_or(trimmed);
            let ends_sentence = chunk
                .trim_end_matches(['"', '\'', ')', ']', '\u{201D}'])
                .ends_with(['.', '!', '?', ';']);
            let clause_end = ends_sentence || chunk.ends_with([',', ':', '-']);
            let word = if is_dotted_letters(trimmed) {
                trimmed
                    .chars()
                    .filter(|c| !matches!(c, '.' | '-' | '_'))
                    .collect()
            } else if trimmed.contains('-') && !trimmed.starts_with('-') && !trimmed.ends_with('-')
            {
                // "dumb-ass", "a-hole", "shut-up": one word to the lists.
                trimmed.replace('-', "")
            } else {
                trimmed.to_string()
            };
            // Letters spaced out: "f u c k i n g" is one more word to match.
            let single = word.chars().count() == 1;
            if single {
                run.push(word.clone());
            }
            if (!single || ends_sentence) && run.len() >= 3 {
                self.folded.push(Folded {
                    text: squeeze(&run.concat()),
                    sentence,
                    joined: true,
                    clause_end: false,
                });
            }
            if !single || ends_sentence {
                run.clear();
            }
            if !word.is_empty() {
                self.folded.push(Folded {
                    text: squeeze(&word),
                    sentence,
                    joined: false,
                    clause_end,
                });
            }
            // A star added inside a word, not standing for a letter: "jer*k",
            // "dou*che*bag".
            if word.len() > 3 && has_inner_star(&word) {
                self.folded.push(Folded {
                    text: squeeze(&word.replace('*', "")),
                    sentence,
                    joined: true,
                    clause_end: false,
                });
            }
            if ends_sentence {
                sentence += 1;
            }
        }
        if run.len() >= 3 {
            self.folded.push(Folded {
                text: squeeze(&run.concat()),
                sentence,
                joined: true,
                clause_end: false,
            });
        }
        self.join_split_words();
    }

    /// A word split in two ("id iot", "du mb", "b itch") is one more word to
    /// match, placed after its second half. Only pairs with a short half
    /// that are not English's little words: "a hole", "the rapist" and "who
    /// re" are English as written.
    fn join_split_words(&mut self) {
        let mut joined: Vec<(usize, Folded)> = Vec::new();
        let plain: Vec<usize> = (0..self.folded.len())
            .filter(|&k| !self.folded[k].joined)
            .collect();
        for pair in plain.windows(2) {
            let (a, b) = (&self.folded[pair[0]], &self.folded[pair[1]]);
            if a.sentence != b.sentence || a.clause_end {
                continue;
            }
            let (la, lb) = (a.text.chars().count(), b.text.chars().count());
            if la < 2 || lb < 2 || la.min(lb) > 3 {
                continue;
            }
            let letters = a
                .text
                .chars()
                .chain(b.text.chars())
                .all(char::is_alphabetic);
            if !letters || is_little_word(&a.text) || is_little_word(&b.text) {
                continue;
            }
            let folded = Folded {
                text: squeeze(&format!("{}{}", a.text, b.text)),
                sentence: a.sentence,
                joined: true,
                clause_end: false,
            };
            joined.push((pair[1] + 1, folded));
        }
        for (at, f) in joined.into_iter().rev() {
            self.folded.insert(at, f);
        }
    }

    /// Folded words that are real words (not joined letters), in order.
    pub fn plain_folded(&self) -> impl Iterator<Item = &Folded> {
        self.folded.iter().filter(|f| !f.joined)
    }
}

/// Splits a chunk between spaces where punctuation joins two words:
/// "yourself,fool", "dumb/retarded", "stupid...maybe", "over.You". Letters
/// dotted out ("f.u.c.k") stay one chunk.
fn split_chunk(chunk: &str) -> Vec<&str> {
    if is_dotted_letters(chunk.trim_matches(|c: char| !c.is_alphanumeric())) {
        return vec![chunk];
    }
    let mut parts = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = chunk.char_indices().collect();
    for (k, &(at, c)) in chars.iter().enumerate() {
        let next_is_letter = chars.get(k + 1).is_some_and(|(_, n)| n.is_alphabetic());
        let split_after = match c {
            ',' | ';' | ':' | '/' | '?' => next_is_letter,
            '.' => {
                // Two or more dots, or a full stop between two words.
                let prev_letters = chars[..k]
                    .iter()
                    .rev()
                    .take_while(|(_, p)| p.is_alphabetic())
                    .count();
                let next_letters = chars[k + 1..]
                    .iter()
                    .take_while(|(_, n)| n.is_alphabetic())
                    .count();
                let dotted = chars.get(k + 1).is_some_and(|(_, n)| *n == '.');
                (next_is_letter && prev_letters >= 2 && next_letters >= 2)
                    || (!dotted && k > 0 && chars[k - 1].1 == '.' && next_is_letter)
            }
            _ => false,
        };
        if split_after {
            let end = at + c.len_utf8();
            parts.push(&chunk[start..end]);
            start = end;
        }
    }
    parts.push(&chunk[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

fn overlaps(spans: &[(usize, usize)], s: usize, e: usize) -> bool {
    spans.iter().any(|&(a, b)| s < b && a < e)
}

fn has_inner_star(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars
        .windows(3)
        .any(|w| w[0].is_alphabetic() && w[1] == '*' && w[2].is_alphabetic())
}

static LITTLE_WORDS: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    let lists = [
        super::lists::ENGLISH_FUNCTION,
        super::lists::ENGLISH_FUNCTION_SHARED,
    ];
    lists.into_iter().flatten().copied().collect()
});

fn is_little_word(w: &str) -> bool {
    LITTLE_WORDS.contains(w)
}

/// Combining marks belong to the word they are in (Indic vowel signs).
pub(crate) fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0900}'..='\u{0DFF}' | '\u{0E00}'..='\u{0EFF}' | '\u{1000}'..='\u{109F}')
        && !c.is_alphabetic()
}

/// Characters that can stand inside a word someone is disguising.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '$' | '*' | '#' | '!' | '%' | '&' | '|' | '\'')
}

/// "f.u.c.k", "f-u-c-k", "s..t..f..u": single letters joined by dots or dashes.
fn is_dotted_letters(word: &str) -> bool {
    let parts: Vec<&str> = word.split(['.', '-', '_']).collect();
    let letters = parts.iter().filter(|p| !p.is_empty()).count();
    letters >= 3
        && !parts.first().is_some_and(|p| p.is_empty())
        && !parts.last().is_some_and(|p| p.is_empty())
        && parts.iter().all(|p| p.chars().count() <= 1)
        && !word.contains("...")
}

/// Squeezes a run of three or more of the same character to one: "fuuuck".
pub(crate) fn squeeze(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let n = if j - i >= 3 { 1 } else { j - i };
        for _ in 0..n {
            out.push(chars[i]);
        }
        i = j;
    }
    out
}

/// A word-list entry: see `lists.rs` for the syntax.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    core: Vec<char>,
    kind: Kind,
    /// The entry as written, for notes to moderators.
    pub word: String,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Exact,
    Stem,
    Inside,
}

/// Endings a `stem*` entry may take.
const SUFFIXES: &[&str] = &[
    "", "s", "es", "ed", "d", "ing", "in", "ings", "er", "ers", "y", "ie", "ies", "head", "heads",
    "face", "faces", "wit", "wits", "hole", "holes", "bag", "bags", "tard", "tards", "ish", "ness",
    "ery", "ism", "ly", "ty", "ting", "ted", "ter", "ters", "ger", "gers", "z", "a", "o", "ass",
    "off",
];

impl Pattern {
    pub fn parse(entry: &str) -> Option<Pattern> {
        let e = entry.trim().to_lowercase();
        let (kind, core) = if e.starts_with('*') && e.ends_with('*') && e.len() > 2 {
            (Kind::Inside, e.trim_matches('*'))
        } else if let Some(c) = e.strip_suffix('*') {
            (Kind::Stem, c)
        } else {
            (Kind::Exact, e.as_str())
        };
        let core: Vec<char> = squeeze(core).chars().collect();
        if core.is_empty() {
            return None;
        }
        Some(Pattern {
            core,
            kind,
            word: e.clone(),
        })
    }

    /// Whether a folded word (as characters) is this entry.
    fn matches(&self, w: &[char]) -> bool {
        let n = self.core.len();
        if w.len() < n {
            return false;
        }
        match self.kind {
            Kind::Exact => {
                if !same(&self.core, &w[..n]) {
                    return false;
                }
                // "rats" and "bitches", not "rates" nor "poses".
                let sibilant = n >= 4 && matches!(self.core[n - 1], 's' | 'x' | 'z' | 'h');
                match &w[n..] {
                    [] | ['s'] => true,
                    ['e', 's'] => sibilant,
                    _ => false,
                }
            }
            Kind::Stem => {
                if !same(&self.core, &w[..n]) {
                    return false;
                }
                let mut rest = &w[n..];
                // A doubled last letter before an ending: "shitty".
                if rest.len() > 1 && rest[0] == self.core[n - 1] {
                    rest = &rest[1..];
                }
                rest.len() <= 5 && SUFFIXES.contains(&rest.iter().collect::<String>().as_str())
            }
            Kind::Inside => (0..=w.len() - n).any(|i| same(&self.core, &w[i..i + n])),
        }
    }
}

/// Compares a pattern with a folded word of the same length, letting digits
/// and symbols stand for the letters they imitate.
fn same(pattern: &[char], word: &[char]) -> bool {
    let mut real = 0;
    for (i, (&p, &c)) in pattern.iter().zip(word).enumerate() {
        let ok = if c == p {
            real += 1;
            true
        } else {
            let stands_for = match c {
                '0' => p == 'o',
                '1' | '!' | '|' => matches!(p, 'i' | 'l'),
                '3' => p == 'e',
                '4' => p == 'a',
                '5' | '$' => p == 's',
                '7' => p == 't',
                '8' => p == 'b',
                '9' => p == 'g',
                '<' | '(' => p == 'c',
                'v' => p == 'u',
                'z' => p == 's',
                // A capital I for an l: "fooI".
                'i' => p == 'l',
                'l' => p == 'i',
                '@' | '*' | '#' | '%' | '&' => i > 0,
                _ => false,
            };
            if stands_for && !matches!(c, '@' | '*' | '#' | '%' | '&' | '<' | '(') {
                real += 1;
            }
            stands_for
        };
        if !ok {
            return false;
        }
    }
    // At least half the letters written as letters or digits, so a row of
    // asterisks does not match every word.
    real * 2 >= pattern.len() || pattern.len() <= 2
}

/// A compiled word list.
#[derive(Clone, Debug, Default)]
pub(crate) struct WordList {
    patterns: Vec<Pattern>,
}

impl WordList {
    pub fn new<S: AsRef<str>>(entries: &[S]) -> WordList {
        WordList {
            patterns: entries
                .iter()
                .filter_map(|e| Pattern::parse(e.as_ref()))
                .collect(),
        }
    }

    /// The first entry this word is, if any.
    pub fn find(&self, word: &str) -> Option<&Pattern> {
        let w: Vec<char> = word.chars().collect();
        // Two letters at least: "100%" is nobody's "loon".
        if w.iter().filter(|c| c.is_alphabetic()).count() < 2 {
            return None;
        }
        self.patterns.iter().find(|p| p.matches(&w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        Prepared::new(text)
            .folded
            .into_iter()
            .map(|f| f.text)
            .collect()
    }

    #[test]
    fn links_mentions_and_phones_are_taken_out_of_the_prose() {
        let p = Prepared::new("@priya_s see https://www.example.com/a?b=1 or call 98XXXXXX10");
        assert_eq!(p.links.len(), 1);
        assert_eq!(p.links[0].host, "example.com");
        assert_eq!(p.mentions, vec!["priya_s"]);
        assert_eq!(p.phones, 1);
        assert_eq!(p.words, vec!["see", "or", "call", "xxxxxx"]);
    }

    #[test]
    fn a_year_or_a_price_is_not_a_phone_number() {
        assert_eq!(Prepared::new("In 2019 it cost 25,000 rupees.").phones, 0);
    }

    #[test]
    fn folding_undoes_homoglyphs_zero_width_and_spacing() {
        assert!(words("f\u{057D}ck").contains(&"fuck".to_string()));
        assert!(words("f\u{200D}u\u{200D}c\u{200D}k you").contains(&"fuck".to_string()));
        assert!(words("f u c k i n g thieves").contains(&"fucking".to_string()));
        assert!(words("ｆｕｃｋ").contains(&"fuck".to_string()));
        assert!(words("f.u.c.k").contains(&"fuck".to_string()));
        assert!(words("fuuuuuck").contains(&"fuck".to_string()));
    }

    #[test]
    fn folding_joins_dots_symbols_and_split_words() {
        assert!(words("s..t..f..u..").contains(&"stfu".to_string()));
        assert!(words("F v < k you").contains(&"fv<k".to_string()));
        assert!(words("an id iot").contains(&"idiot".to_string()));
        assert!(words("dumb-ass").contains(&"dumbass".to_string()));
        assert!(words("jer*k").contains(&"jerk".to_string()));
        // English's little words are never joined: "a hole" is a hole.
        assert!(!words("dig a hole").contains(&"ahole".to_string()));
        assert!(WordList::new(&["fuck*"]).find("fv<k").is_some());
    }

    #[test]
    fn a_plural_in_es_follows_a_hissing_ending_only() {
        let list = WordList::new(&["rat", "bitch"]);
        assert!(list.find("rats").is_some());
        assert!(list.find("bitches").is_some());
        assert!(list.find("rates").is_none());
    }

    #[test]
    fn patterns_match_whole_words_only() {
        let list = WordList::new(&["*fuck*", "shit*", "cunt*", "ass", "cock"]);
        for w in [
            "fuck",
            "motherfucker",
            "f@#king",
            "f*ck",
            "sh1t",
            "$hit",
            "shitty",
            "cunts",
            "fvck",
        ] {
            assert!(list.find(w).is_some(), "{w} should match");
        }
        for w in [
            "scunthorpe",
            "assassination",
            "cocktail",
            "class",
            "shiitake",
            "****",
            "mishit",
        ] {
            assert!(list.find(w).is_none(), "{w} should not match");
        }
    }
}
