//! The `personal` reason: insults aimed at a person (another reader, the
//! story's author, "@name", "you ..."), told apart from harsh words about a
//! policy, a decision or an argument.
//!
//! - an insulting noun ("idiot", "clown") in a sentence that names a person
//!   in the conversation ("you", "the author", a mention), or said to them
//!   ("..., moron."), is personal: reject;
//! - an insulting adjective is personal only when it is said of such a
//!   person ("you are so stupid", "are you dumb"): "a stupid policy" is not;
//! - a belittling noun said of the reader ("you are a child", "you're such a
//!   joke", "don't be such a baby", "what a joke you are") is personal, and
//!   so is any insulting or rude noun in that construction; "my child", "the
//!   policy is a joke" and "you are a child of the eighties" are not; a word
//!   for vermin or refuse needs no article ("you are scum", "you people are
//!   human garbage");
//! - an insulting adjective after "are you" is said of the reader, with
//!   intensifiers between, profane ones too ("are you f***ing dumb?");
//! - phrases aimed at the reader ("shut up", "get a life") are personal;
//! - profanity aimed at the reader ("f*** you", "F v < k you") is personal
//!   too, and so are insults at the reader's family ("your mother is a ...");
//! - an insulting noun about someone else ("the minister is an idiot") is
//!   held for a moderator: the guidelines forbid personal comments, but the
//!   person may be a public figure and the word may be quoted; said of
//!   oneself ("I'm a moron for believing it") it is nobody's business.

use super::text::{Folded, Prepared};
use super::{Checker, Finding, Reason, Verdict};

/// Words that say what someone is: between a person and an adjective they
/// make it said of them ("you are ... stupid").
const COPULAS: &[&str] = &[
    "are", "is", "am", "r", "be", "being", "been", "was", "were", "so", "such", "too", "sound",
    "sounds", "look", "looks", "seem", "seems", "act", "acting", "become", "get", "getting",
    "you're", "youre", "ur", "u're",
];
const NEGATIONS: &[&str] = &[
    "not", "never", "aren't", "isn't", "wasn't", "weren't", "arent", "isnt", "no", "nor",
];
/// Words that may stand between an adjective and a person: "pathetic little man".
const SIZES: &[&str] = &[
    "little", "old", "big", "fat", "young", "lying", "sad", "sorry", "wee",
];

/// Adjectives as often said of a state of things as of a person: exclaimed
/// on their own ("Ridiculous!") they judge what the comment is about.
const OF_THINGS: &[&str] = &[
    "ridiculous",
    "crazy",
    "insane",
    "pathetic",
    "disgusting",
    "sick",
    "lame",
    "useless",
    "hopeless",
    "miserable",
    "nasty",
    "evil",
    "despicable",
    "vile",
    "twisted",
    "dirty",
    "filthy",
    "shameless",
];

/// Nouns for a person: an insulting adjective before one insults someone.
const PERSON_NOUNS: &[&str] = &[
    "person",
    "man",
    "woman",
    "guy",
    "girl",
    "boy",
    "kid",
    "fellow",
    "creature",
    "human",
    "individual",
    "people",
    "liberal",
    "liberals",
    "conservative",
    "conservatives",
    "leftist",
    "leftists",
    "rightwinger",
    "commie",
    "commies",
    "troll",
    "trolls",
];

/// The reader as the subject of a sentence.
const YOU: &[&str] = &["you", "u", "ya", "yu", "thou"];
/// "you" and "are" in one word; "your" and "ur" when a noun phrase follows.
const YOU_ARE: &[&str] = &["you're", "youre", "u're", "ur", "your"];
const ARE: &[&str] = &["are", "r", "were", "re"];
/// Words that make "you are ..." a condition or a time, not a description:
/// "if you are a child, ask your parents".
const SUBORDINATORS: &[&str] = &[
    "if", "when", "whether", "unless", "while", "once", "until", "till", "whenever", "though",
    "what", "who", "how",
];
/// Words that may stand between "you" and "are": "you guys are a joke".
const YOU_FILLERS: &[&str] = &[
    "guys",
    "people",
    "all",
    "sir",
    "madam",
    "really",
    "truly",
    "just",
    "clearly",
    "obviously",
    "still",
    "sure",
    "certainly",
    "both",
    "two",
];
/// Between a subject and its verb: "you must be stupid", "you have been ...".
const MODALS: &[&str] = &[
    "must",
    "might",
    "may",
    "should",
    "could",
    "would",
    "will",
    "can",
    "gonna",
    "have",
    "has",
    "had",
    "probably",
    "always",
    "truly",
    "really",
    "just",
    "still",
    "clearly",
    "obviously",
    "definitely",
];
/// "act like a child", "you sound like a baby".
const ACTS: &[&str] = &[
    "act", "acting", "behave", "behaving", "sound", "sounding", "talk", "talking", "whine",
    "whining", "cry", "crying", "argue", "arguing",
];
/// Words of the noun phrase before the noun: "such a", "nothing but a real".
const PHRASE_WORDS: &[&str] = &[
    "a",
    "an",
    "such",
    "the",
    "one",
    "another",
    "nothing",
    "but",
    "just",
    "only",
    "really",
    "truly",
    "simply",
    "so",
    "and",
    "still",
    "also",
    "clearly",
    "obviously",
    "like",
];
/// "are you really this stupid?", "are you f***ing dumb?"
const INTENSIFIERS: &[&str] = &[
    "really",
    "this",
    "that",
    "so",
    "just",
    "even",
    "actually",
    "truly",
    "seriously",
    "honestly",
    "fucking",
    "fuckin",
    "freaking",
    "frickin",
    "friggin",
    "frigging",
    "effing",
    "bloody",
    "damn",
    "goddamn",
];
const ARTICLES: &[&str] = &["a", "an", "such", "the", "one", "another"];
/// What may follow the noun when it is the end of the noun phrase: "you are
/// a child and ...", "you're a joke, mate"; not "child of the eighties",
/// "baby boomer", "child psychologist".
const FOLLOWERS: &[&str] = &[
    "and", "who", "that", "to", "for", "with", "if", "but", "or", "so", "because", "like",
    "yourself", "too", "lol", "then", "now", "anyway", "dude", "man", "mate", "sir", "buddy",
    "pal", "bro", "son", "aren't", "arent", "right", "here", "there", "when", "as", "which",
    "just", "plain", "haha", "lmao", "really", "indeed", "again", "already", "ever", "is",
];
/// The reader's family: an insult at them is aimed at the reader.
const FAMILY: &[&str] = &[
    "mom",
    "mum",
    "mother",
    "mama",
    "momma",
    "mommy",
    "wife",
    "sister",
    "daughter",
    "girlfriend",
    "dad",
    "father",
    "husband",
];
/// Words that insult only when said of someone's family: "your mother is a hoe".
const FAMILY_SLURS: &[&str] = &[
    "hoe", "hoes", "ho", "hos", "hooker", "hookers", "herpes", "syphilis",
];
/// Words before a noun-or-verb that make it the verb: "I puke", "don't troll".
const VERB_BEFORE: &[&str] = &[
    "i", "we", "they", "to", "will", "would", "can", "could", "should", "don't", "dont", "didn't",
    "not", "gonna", "wanna", "let", "make", "makes", "made", "i'll", "we'll",
];
const NOUN_OR_VERB: &[&str] = &["puke", "pukes", "troll", "trolls", "bum", "creep", "punk"];
/// The speaker: "I'm a moron for believing it" says nothing of anyone else.
const SELF: &[&str] = &["i", "i'm", "im", "me", "myself", "i've"];
const OTHERS: &[&str] = &[
    "he", "she", "they", "him", "her", "them", "you", "u", "he's", "she's", "they're", "it", "his",
    "their", "we", "your", "ur",
];

fn finding(severity: Verdict, note: String) -> Option<Finding> {
    Some(Finding {
        reason: Reason::Personal,
        severity,
        note,
    })
}

/// Whether the words at `at` are this phrase, in one clause ("Damn!!! You
/// are ..." is no "damn you"); `*` stands for up to three words.
fn phrase_at(texts: &[&str], words: &[&Folded], at: usize, phrase: &[String]) -> bool {
    match phrase.split_first() {
        None => true,
        Some((first, rest)) if first == "*" => (0..=3).any(|skip| {
            at + skip <= texts.len()
                && (skip == 0 || !words[at..at + skip].iter().any(|w| w.clause_end))
                && phrase_at(texts, words, at + skip, rest)
        }),
        Some((first, rest)) => {
            at < texts.len()
                && texts[at] == first.as_str()
                && (rest.is_empty() || !words[at].clause_end)
                && phrase_at(texts, words, at + 1, rest)
        }
    }
}

/// Where a noun phrase said of the reader starts, when the words at `i`
/// begin "you are", "you're", "you guys are", "you act like", "don't be".
fn reader_described_from(texts: &[&str], words: &[&Folded], i: usize) -> Option<usize> {
    let same = |k: usize| k < texts.len() && words[k].sentence == words[i].sentence;
    let prev = (i > 0 && same(i - 1) && !words[i - 1].clause_end).then(|| texts[i - 1]);
    if prev.is_some_and(|p| SUBORDINATORS.contains(&p)) {
        return None;
    }
    let w = texts[i];
    let mut at = i + 1;
    if YOU_ARE.contains(&w) {
        // "your a ..." is "you're a ..."; "your child" is not.
        if matches!(w, "your" | "ur") && !youre(texts, words, i) {
            return None;
        }
    } else if YOU.contains(&w) {
        // "are you a ..." is a question, "you, sir, are ..." a description.
        let mut fillers = 0;
        while fillers < 2 && same(at) && YOU_FILLERS.contains(&texts[at]) {
            at += 1;
            fillers += 1;
        }
        if same(at) && ARE.contains(&texts[at]) {
            at += 1;
        } else if !(same(at + 1) && ACTS.contains(&texts[at]) && texts[at + 1] == "like") {
            return None;
        }
    } else {
        let told = match w {
            "be" => prev.is_some_and(|p| matches!(p, "don't" | "dont" | "not")),
            "being" => prev.is_some_and(|p| matches!(p, "stop" | "quit")),
            _ => false,
        };
        if !told {
            return None;
        }
    }
    // "you are acting like a ...".
    if same(at + 1) && ACTS.contains(&texts[at]) && texts[at + 1] == "like" {
        at += 2;
    }
    (same(at) && !NEGATIONS.contains(&texts[at])).then_some(at)
}

/// A belittling, insulting or rude noun said of someone by a phrase starting at `start`.
fn noun_said_of(
    checker: &Checker,
    texts: &[&str],
    words: &[&Folded],
    start: usize,
) -> Option<String> {
    let mut article = false;
    for k in start..(start + 7).min(texts.len()) {
        // A comma may part adjectives ("a big, stupid ..."), a sentence may not.
        if words[k].sentence != words[start].sentence {
            break;
        }
        let t = texts[k];
        article |= ARTICLES.contains(&t);
        if PHRASE_WORDS.contains(&t) {
            continue;
        }
        // Before the little words: "you're a nobody".
        if article
            && noun_ends(texts, words, k)
            && let Some(pat) = person_noun(checker, t)
        {
            return Some(pat);
        }
        if checker.function_words.contains(t) {
            break;
        }
        // Words for vermin and refuse need no article: "you are scum",
        // "you people are human garbage", "the scum of the earth".
        if let Some(pat) = checker.dehumanising.find(t)
            && (noun_ends(texts, words, k) || texts.get(k + 1) == Some(&"of"))
        {
            return Some(pat.word.clone());
        }
        // Otherwise an adjective: "you are a sad little ...".
    }
    None
}

/// The noun at `k` ends its phrase: "child." or "child and ...", not "child
/// of the eighties", "baby boomer" or "child psychologist".
fn noun_ends(texts: &[&str], words: &[&Folded], k: usize) -> bool {
    words[k].clause_end
        || k + 1 == texts.len()
        || words[k + 1].sentence != words[k].sentence
        || FOLLOWERS.contains(&texts[k + 1])
}

/// A noun that belittles, insults or is rude when said of a person.
fn person_noun(checker: &Checker, w: &str) -> Option<String> {
    checker
        .belittling
        .find(w)
        .or_else(|| checker.insults.find(w))
        .or_else(|| checker.suspect.find(w))
        .or_else(|| checker.banned.find(w))
        .map(|p| p.word.clone())
}

/// "what a joke you are", "how much of a child you are".
fn exclaimed_of_reader(texts: &[&str], words: &[&Folded], k: usize) -> bool {
    let same = |j: usize| j < texts.len() && words[j].sentence == words[k].sentence;
    let after = match (texts.get(k + 1), texts.get(k + 2)) {
        (Some(&("you" | "u")), Some(&("are" | "r" | "were"))) if same(k + 2) => k + 2,
        (Some(&("you're" | "youre")), _) if same(k + 1) => k + 1,
        _ => return false,
    };
    let ends = words[after].clause_end || !same(after + 1);
    let before = k.saturating_sub(4)..k;
    ends && before.clone().any(|j| {
        same(j) && words[j].sentence == words[k].sentence && matches!(texts[j], "what" | "of")
    })
}

/// "your"/"ur" written for "you're": "your a joke", "ur just jealous".
fn youre(texts: &[&str], words: &[&Folded], k: usize) -> bool {
    const NEXT: &[&str] = &[
        "a", "an", "just", "so", "such", "really", "too", "not", "still", "being", "nothing",
        "the", "gonna", "going", "pathetic", "full",
    ];
    k + 1 < texts.len()
        && words[k + 1].sentence == words[k].sentence
        && !words[k].clause_end
        && NEXT.contains(&texts[k + 1])
}

/// Said by the speaker of themselves: "I'm a moron for believing it".
fn about_self(texts: &[&str], words: &[&Folded], i: usize) -> bool {
    for j in (i.saturating_sub(5)..i).rev() {
        if words[j].sentence != words[i].sentence {
            return false;
        }
        if SELF.contains(&texts[j]) {
            return true;
        }
        if OTHERS.contains(&texts[j]) {
            return false;
        }
    }
    false
}

pub(crate) fn assess(checker: &Checker, p: &Prepared) -> Option<Finding> {
    let words: Vec<&Folded> = p.plain_folded().collect();
    let texts: Vec<&str> = words.iter().map(|f| f.text.as_str()).collect();
    let is_target = |w: &str| checker.targets.contains(w);
    // Phrases aimed at the reader.
    for attack in &checker.attacks {
        if (0..texts.len()).any(|at| phrase_at(&texts, &words, at, attack)) {
            return finding(Verdict::Reject, format!("attack ({})", attack.join(" ")));
        }
    }
    // "you are a child", "don't be such a baby", "what a joke you are".
    for i in 0..texts.len() {
        if let Some(start) = reader_described_from(&texts, &words, i)
            && let Some(noun) = noun_said_of(checker, &texts, &words, start)
        {
            return finding(Verdict::Reject, format!("said of the reader ({noun})"));
        }
        // The cheap test of the words around first: four lists per word
        // would cost more than every other rule.
        if exclaimed_of_reader(&texts, &words, i)
            && let Some(noun) = person_noun(checker, texts[i])
        {
            return finding(Verdict::Reject, format!("said of the reader ({noun})"));
        }
    }
    // The reader's family: "your mother is a ...".
    for i in 1..texts.len() {
        if !(FAMILY.contains(&texts[i]) && matches!(texts[i - 1], "your" | "ur" | "yo")) {
            continue;
        }
        let insult = (i + 1..texts.len())
            .take_while(|&j| words[j].sentence == words[i].sentence)
            .find_map(|j| {
                let w = texts[j];
                let rude = checker.insults.find(w).or_else(|| checker.banned.find(w));
                let rude = rude
                    .or_else(|| checker.suspect.find(w))
                    .map(|p| p.word.clone());
                rude.or_else(|| FAMILY_SLURS.contains(&w).then(|| w.to_string()))
            });
        if let Some(w) = insult {
            return finding(
                Verdict::Reject,
                format!("insult at the reader's family ({w})"),
            );
        }
    }
    // Profanity at the reader: "f*** you", "you're a f***tard", "f*** off",
    // and spelt out, "F v < k you". A word made of letters spaced out comes
    // just before the word that ended them.
    let mut plain: usize = 0;
    for f in &p.folded {
        if !f.joined {
            plain += 1;
        }
        let Some(pat) = checker.banned.find(&f.text) else {
            continue;
        };
        // Plain words before and after it, in its sentence.
        let (before_end, after_start) = if f.joined {
            (plain.saturating_sub(f.text.chars().count()), plain)
        } else {
            (plain - 1, plain)
        };
        let in_sentence = |j: &usize| words[*j].sentence == f.sentence;
        // "you f***er", "you're a f***wit", but not "you're f***ed" or
        // "you f***ed it up" (what happened, not what they are).
        let verb = ["ing", "in", "ed", "d"].iter().any(|e| f.text.ends_with(e));
        let target_before = !verb
            && (before_end.saturating_sub(3)..before_end)
                .filter(in_sentence)
                .any(|j| is_target(texts[j]));
        // "f*** you", "f*** yourself", "f*** your ...".
        let target_after = (after_start..(after_start + 1).min(texts.len()))
            .filter(in_sentence)
            .any(|j| is_target(texts[j]));
        let near_target = target_before || target_after;
        let off = texts.get(after_start).is_some_and(|n| *n == "off");
        if near_target || off {
            return finding(
                Verdict::Reject,
                format!("profanity at a person ({})", pat.word),
            );
        }
    }
    let mentioned = !p.mentions.is_empty();
    // "your" alone names something of the reader's ("your president is an
    // idiot" insults the president): only "you", "@name", "the author" ...
    // or "your an idiot" (you're) make the sentence aimed at a person.
    let names_person = |k: usize| {
        is_target(texts[k]) && (!matches!(texts[k], "your" | "ur") || youre(&texts, &words, k))
    };
    let sentence_has_target = |sentence: usize| {
        mentioned || (0..texts.len()).any(|k| words[k].sentence == sentence && names_person(k))
    };
    let mut weak: Option<String> = None;
    // Insults spelt out letter by letter: "m o r o n".
    for f in p.folded.iter().filter(|f| f.joined) {
        if let Some(pat) = checker.insults.find(&f.text) {
            if sentence_has_target(f.sentence) {
                return finding(
                    Verdict::Reject,
                    format!("insult at a person ({})", pat.word),
                );
            }
            weak.get_or_insert_with(|| format!("insult ({})", pat.word));
        }
    }
    for (i, f) in words.iter().enumerate() {
        let w = f.text.as_str();
        let in_sentence = |j: usize| words[j].sentence == f.sentence;
        if let Some(pat) = checker.insults.find(w) {
            // "Excuse me while I puke", "don't troll": a verb.
            if NOUN_OR_VERB.contains(&w) && i > 0 && VERB_BEFORE.contains(&texts[i - 1]) {
                continue;
            }
            if sentence_has_target(f.sentence) {
                return finding(
                    Verdict::Reject,
                    format!("insult at a person ({})", pat.word),
                );
            }
            // Said to someone: "..., moron." or "Idiot, ...".
            let first = i == 0 || !in_sentence(i - 1) || words[i - 1].clause_end;
            let last = f.clause_end || i + 1 == words.len() || !in_sentence(i + 1);
            if first && last {
                return finding(
                    Verdict::Reject,
                    format!("insult said to someone ({})", pat.word),
                );
            }
            if !about_self(&texts, &words, i) {
                weak.get_or_insert_with(|| format!("insult ({})", pat.word));
            }
            continue;
        }
        let Some(pat) = checker.insult_adjectives.find(w) else {
            continue;
        };
        // "you are (so) stupid", "you're fake or plain stupid": a person,
        // a word saying what they are, then the adjective, in one clause.
        let mut said_of_target = false;
        let mut copula = false;
        // After a verb ("is", "are", "sounds"), its subject: "you are
        // stupid", "you people are stupid"; not "your comment is stupid" or
        // "you thought that ad was racist".
        let mut verb = false;
        let mut j = i;
        while j > 0 && i - j < 6 && in_sentence(j - 1) && !words[j - 1].clause_end {
            j -= 1;
            let before = words[j].text.as_str();
            if NEGATIONS.contains(&before) {
                break;
            }
            if is_target(before) {
                let possessive = matches!(before, "your" | "ur") && !youre(&texts, &words, j);
                // "you're (just as) dumb": "you're" holds its own verb.
                let holds_verb = YOU_ARE.contains(&before) && !possessive;
                said_of_target = !(possessive && verb)
                    && (copula || holds_verb || j + 1 == i || COPULAS.contains(&before));
                // "are you (really) this stupid?"
                let asked_back = j > 0
                    && in_sentence(j - 1)
                    && matches!(texts[j - 1], "are" | "r" | "were")
                    && (j + 1..i).all(|k| INTENSIFIERS.contains(&texts[k]));
                said_of_target |= asked_back && !possessive;
                break;
            }
            let is_verb = COPULAS.contains(&before) && !matches!(before, "so" | "such" | "too");
            if verb && !is_verb && !YOU_FILLERS.contains(&before) && !MODALS.contains(&before) {
                break;
            }
            verb |= is_verb;
            copula |= COPULAS.contains(&before);
        }
        // "how stupid are you", "as dumb as you are".
        let asked = (1..=2).all(|k| i + k < words.len() && in_sentence(i + k))
            && (COPULAS.contains(&texts[i + 1]) || texts[i + 1] == "as")
            && is_target(texts[i + 2]);
        // "you stupid ...", "stupid author", "pathetic little man".
        let mut k = i + 1;
        while k < words.len() && k <= i + 2 && in_sentence(k) && SIZES.contains(&texts[k]) {
            k += 1;
        }
        let next = (k < words.len() && in_sentence(k)).then(|| texts[k]);
        let before_person = next.is_some_and(|n| {
            (is_target(n) && !matches!(n, "your" | "ur")) || checker.insults.find(n).is_some()
        });
        let person = next.is_some_and(|n| PERSON_NOUNS.contains(&n));
        if said_of_target || asked || before_person || (person && sentence_has_target(f.sentence)) {
            return finding(
                Verdict::Reject,
                format!("insult at a person ({})", pat.word),
            );
        }
        // Said of someone else, or exclaimed on its own: "Stupid!".
        let alone =
            (i == 0 || !in_sentence(i - 1)) && (i + 1 == words.len() || !in_sentence(i + 1));
        // "Ridiculous." after a sentence on fares is said of the fares.
        let of_things = OF_THINGS.contains(&w);
        if person || (alone && !of_things) {
            weak.get_or_insert_with(|| format!("insult ({})", pat.word));
        }
    }
    weak.and_then(|note| finding(Verdict::Hold, note))
}
