//! The one access decision: whether a reader sees a whole story.
//!
//! Every channel (the story page, feeds, the JSON API, newsletters, search
//! snippets) asks [`decide`]; none of them cuts text on its own. It is a pure
//! function of the story's level, who the reader is, what they have read this
//! period and the publication's limits, so it is tested with a table.

use serde::{Deserialize, Serialize};

/// How a story is sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Never metered.
    Free,
    /// Counts against the monthly allowance.
    Metered,
    /// Subscribers (and staff) only.
    Subscribers,
}

impl Level {
    pub fn parse(s: &str) -> Level {
        match s {
            "free" => Level::Free,
            "subscribers" => Level::Subscribers,
            _ => Level::Metered,
        }
    }
}

/// Who is reading, as far as access goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    Anonymous,
    /// A signed-in member without a current subscription.
    Member,
    /// A member whose entitlement is valid now.
    Subscriber,
    /// Contributors, editors, moderators, admins.
    Staff,
    /// A search-engine crawler from an address range the publication lists.
    Crawler,
}

/// What the reader has used of this period's allowance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Meter {
    /// This story was already read this period: it opens again without counting.
    pub already_read: bool,
    /// Distinct metered stories read this period (this one not included).
    pub used: u32,
}

/// The allowances per calendar month, a publication setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    pub anonymous: u32,
    pub member: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            anonymous: 3,
            member: 10,
        }
    }
}

/// What stops a reader at the cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Wall {
    /// An anonymous reader has used the free stories: register or sign in.
    Register,
    /// A member has used the monthly allowance: subscribe.
    Subscribe,
    /// The story is for subscribers; `signed_in` says whether to offer sign-in too.
    SubscribersOnly { signed_in: bool },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The whole story. `counts`: record this read against the allowance.
    /// `left`: free stories left after this one, when the reader is metered.
    Full { counts: bool, left: Option<u32> },
    /// Headline, standfirst and the first paragraphs, then the wall.
    Teaser(Wall),
}

/// The decision. Pure: the same inputs always give the same answer.
pub fn decide(level: Level, reader: Reader, meter: Meter, limits: Limits) -> Access {
    match (level, reader) {
        (_, Reader::Staff | Reader::Subscriber | Reader::Crawler) => Access::Full {
            counts: false,
            left: None,
        },
        (Level::Free, _) => Access::Full {
            counts: false,
            left: None,
        },
        (Level::Subscribers, r) => Access::Teaser(Wall::SubscribersOnly {
            signed_in: r == Reader::Member,
        }),
        (Level::Metered, r) => {
            let limit = if r == Reader::Member {
                limits.member
            } else {
                limits.anonymous
            };
            if meter.already_read {
                Access::Full {
                    counts: false,
                    left: Some(limit.saturating_sub(meter.used + 1)),
                }
            } else if meter.used < limit {
                Access::Full {
                    counts: true,
                    left: Some(limit - meter.used - 1),
                }
            } else if r == Reader::Member {
                Access::Teaser(Wall::Subscribe)
            } else {
                Access::Teaser(Wall::Register)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;
    use Reader::*;

    fn m(already_read: bool, used: u32) -> Meter {
        Meter { already_read, used }
    }

    #[test]
    fn the_access_table() {
        let limits = Limits {
            anonymous: 3,
            member: 10,
        };
        let full = |counts, left| Access::Full { counts, left };
        #[rustfmt::skip]
        let table: &[(Level, Reader, Meter, Access)] = &[
            // Free stories are never metered, for anyone.
            (Free, Anonymous, m(false, 99), full(false, None)),
            (Free, Member, m(false, 99), full(false, None)),
            // Metered: anonymous readers get 3 ...
            (Metered, Anonymous, m(false, 0), full(true, Some(2))),
            (Metered, Anonymous, m(false, 2), full(true, Some(0))),
            (Metered, Anonymous, m(false, 3), Access::Teaser(Wall::Register)),
            // ... and a story read this period opens again without counting.
            (Metered, Anonymous, m(true, 2), full(false, Some(0))),
            (Metered, Anonymous, m(true, 0), full(false, Some(2))),
            // Members get 10, then the subscription wall.
            (Metered, Member, m(false, 3), full(true, Some(6))),
            (Metered, Member, m(false, 9), full(true, Some(0))),
            (Metered, Member, m(false, 10), Access::Teaser(Wall::Subscribe)),
            (Metered, Member, m(true, 9), full(false, Some(0))),
            (Metered, Member, m(true, 1), full(false, Some(8))),
            // Subscribers, staff and listed crawlers are never metered.
            (Metered, Subscriber, m(false, 500), full(false, None)),
            (Metered, Staff, m(false, 500), full(false, None)),
            (Metered, Crawler, m(false, 500), full(false, None)),
            (Subscribers, Subscriber, m(false, 0), full(false, None)),
            (Subscribers, Staff, m(false, 0), full(false, None)),
            (Subscribers, Crawler, m(false, 0), full(false, None)),
            // Subscriber stories stop everyone else, whatever the meter says.
            (Subscribers, Anonymous, m(false, 0), Access::Teaser(Wall::SubscribersOnly { signed_in: false })),
            (Subscribers, Member, m(true, 0), Access::Teaser(Wall::SubscribersOnly { signed_in: true })),
        ];
        for (level, reader, meter, want) in table {
            assert_eq!(
                decide(*level, *reader, *meter, limits),
                *want,
                "{level:?} {reader:?} {meter:?}"
            );
        }
    }

    #[test]
    fn a_limit_of_zero_walls_at_once() {
        let limits = Limits {
            anonymous: 0,
            member: 0,
        };
        assert_eq!(
            decide(Metered, Anonymous, m(false, 0), limits),
            Access::Teaser(Wall::Register)
        );
        assert_eq!(
            decide(Metered, Member, m(false, 0), limits),
            Access::Teaser(Wall::Subscribe)
        );
    }
}
