//! The `spam` reason: links to outside sites, phone numbers or addresses
//! with a money offer, the same text on several stories, and flooding.

use std::collections::HashSet;

use super::text::Prepared;
use super::{Checker, Context, Finding, Reason, Verdict};

fn finding(severity: Verdict, note: String) -> Option<Finding> {
    Some(Finding {
        reason: Reason::Spam,
        severity,
        note,
    })
}

pub(crate) fn assess(
    checker: &Checker,
    p: &Prepared,
    text: &str,
    ctx: &Context,
) -> Option<Finding> {
    let t = &checker.guidelines.thresholds;
    let allowed = &checker.guidelines.allowed_link_hosts;
    let outside = p
        .links
        .iter()
        .filter(|l| {
            !allowed.iter().any(|a| {
                let a = a.trim().to_ascii_lowercase();
                l.host == a || l.host.ends_with(&format!(".{a}"))
            })
        })
        .count();
    let offer: HashSet<&str> = p
        .plain_folded()
        .map(|f| f.text.trim_end_matches(['!', '.', '?']))
        .filter(|w| checker.spam_words.contains(*w))
        .collect();
    let money = text.contains(['₹', '$', '€', '£']) || text.contains('%');
    let offers = offer.len() + usize::from(money);
    if p.phones > 0 && offers >= 1 {
        return finding(Verdict::Reject, "phone number with an offer".into());
    }
    if p.emails > 0 && offers >= 1 {
        return finding(Verdict::Reject, "address with an offer".into());
    }
    if outside >= 1 && offers >= 1 {
        return finding(Verdict::Reject, "outside link with an offer".into());
    }
    if outside >= 2 {
        return finding(Verdict::Reject, "several outside links".into());
    }
    let repeat = repeats(checker, p, ctx);
    if repeat.other_stories >= t.repeat_stories_reject {
        return finding(
            Verdict::Reject,
            format!("the same text on {} other stories", repeat.other_stories),
        );
    }
    if outside == 1 {
        return finding(Verdict::Hold, "outside link".into());
    }
    if repeat.other_stories >= t.repeat_stories_hold {
        return finding(
            Verdict::Hold,
            format!("the same text on {} other stories", repeat.other_stories),
        );
    }
    if repeat.same_story {
        return finding(Verdict::Hold, "the same text again on this story".into());
    }
    if let Some(now) = ctx.time {
        let window = jiff::SignedDuration::from_secs(i64::from(t.flood_minutes) * 60);
        let recent = ctx
            .recent
            .iter()
            .filter_map(|r| r.time)
            .filter(|&at| at <= now && now.duration_since(at) <= window)
            .count();
        if recent + 1 >= t.flood_count {
            return finding(
                Verdict::Hold,
                format!("{} comments in {} minutes", recent + 1, t.flood_minutes),
            );
        }
    }
    if offer.len() >= 4 {
        return finding(Verdict::Hold, "many words of an offer".into());
    }
    None
}

struct Repeats {
    other_stories: usize,
    same_story: bool,
}

/// How many other stories the author posted this text on, and whether it
/// is on this one already.
fn repeats(checker: &Checker, p: &Prepared, ctx: &Context) -> Repeats {
    let mut r = Repeats {
        other_stories: 0,
        same_story: false,
    };
    let words = word_set(p);
    if words.len() < 3 || ctx.recent.is_empty() {
        return r;
    }
    let mut stories: HashSet<Option<&str>> = HashSet::new();
    for recent in ctx.recent {
        let other = word_set(&Prepared::new(&recent.text));
        let common = words.intersection(&other).count();
        let all = words.union(&other).count().max(1);
        if (common as f32 / all as f32) < checker.guidelines.thresholds.repeat_similarity {
            continue;
        }
        match (ctx.story, recent.story.as_deref()) {
            (Some(a), Some(b)) if a == b => r.same_story = true,
            (_, story) => {
                stories.insert(story);
            }
        }
    }
    r.other_stories = stories.len();
    r
}

fn word_set(p: &Prepared) -> HashSet<String> {
    p.plain_folded()
        .map(|f| {
            f.text
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}
