//! The meter's period and the anonymous reader's meter cookie.
//!
//! The period is the calendar month in the publication's time zone, named
//! like `2026-11`. An anonymous reader's reads this period live in a signed
//! cookie (period and story ids), so anonymous readers and crawlers cost no
//! server-side state; a forged, altered or old cookie counts as a new reader.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::keys::Keys;

/// The period containing `now`: `YYYY-MM` in the publication's zone.
pub fn period(now: Timestamp, tz: &TimeZone) -> String {
    now.to_zoned_datetime(tz.clone())
        .strftime("%Y-%m")
        .to_string()
}

/// The cookie's name.
pub const COOKIE: &str = "mh_meter";
const PURPOSE: &str = "meter-v1";
/// The most story ids a cookie holds (more than any sensible anonymous limit).
pub const MAX_IDS: usize = 50;

/// An anonymous reader's reads this period.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AnonymousReads {
    pub period: String,
    pub ids: Vec<i64>,
}

impl AnonymousReads {
    /// Reads the cookie's value; anything unsigned, altered or from another
    /// period gives an empty record for `period`.
    pub fn from_cookie(value: Option<&str>, keys: &Keys, period: &str) -> AnonymousReads {
        let empty = AnonymousReads {
            period: period.to_string(),
            ids: Vec::new(),
        };
        let Some(value) = value else { return empty };
        let Some((payload, sig)) = value.rsplit_once('.') else {
            return empty;
        };
        if !keys.verify(PURPOSE, payload.as_bytes(), sig) {
            return empty;
        }
        let Some((p, ids)) = payload.split_once(':') else {
            return empty;
        };
        if p != period {
            return empty;
        }
        let mut out = Vec::new();
        for id in ids.split('-').filter(|s| !s.is_empty()) {
            match id.parse::<i64>() {
                Ok(n) if n > 0 && !out.contains(&n) && out.len() < MAX_IDS => out.push(n),
                _ => return empty,
            }
        }
        AnonymousReads {
            period: period.to_string(),
            ids: out,
        }
    }

    /// The signed cookie value.
    pub fn to_cookie(&self, keys: &Keys) -> String {
        let ids: Vec<String> = self.ids.iter().map(|i| i.to_string()).collect();
        let payload = format!("{}:{}", self.period, ids.join("-"));
        let sig = keys.sign(PURPOSE, payload.as_bytes());
        format!("{payload}.{sig}")
    }

    pub fn has(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }

    pub fn add(&mut self, id: i64) {
        if !self.has(id) && self.ids.len() < MAX_IDS {
            self.ids.push(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(vec![9; 32], vec![])
    }

    #[test]
    fn the_period_is_the_calendar_month_in_the_publication_zone() {
        let ist = TimeZone::get("Asia/Kolkata").unwrap();
        let cases = [
            // 23:59 UTC on Oct 31 is already November 1 in India.
            ("2026-10-31T18:29:59Z", "2026-10"),
            ("2026-10-31T18:30:00Z", "2026-11"),
            ("2026-12-31T18:29:59Z", "2026-12"),
            ("2026-12-31T18:30:00Z", "2027-01"),
        ];
        for (t, want) in cases {
            assert_eq!(period(t.parse().unwrap(), &ist), want, "{t}");
        }
    }

    #[test]
    fn a_signed_cookie_round_trips() {
        let k = keys();
        let mut r = AnonymousReads {
            period: "2026-11".into(),
            ids: vec![],
        };
        r.add(4);
        r.add(9);
        r.add(4);
        let c = r.to_cookie(&k);
        assert_eq!(AnonymousReads::from_cookie(Some(&c), &k, "2026-11"), r);
        assert_eq!(r.ids, vec![4, 9]);
    }

    #[test]
    fn forged_altered_and_stale_cookies_count_as_a_new_reader() {
        let k = keys();
        let r = AnonymousReads {
            period: "2026-11".into(),
            ids: vec![1, 2, 3],
        };
        let c = r.to_cookie(&k);
        let empty = AnonymousReads {
            period: "2026-11".into(),
            ids: vec![],
        };
        let altered = c.replacen("1-2-3", "1", 1);
        let other_key = r.to_cookie(&Keys::new(vec![1; 32], vec![]));
        for bad in [
            altered.as_str(),
            other_key.as_str(),
            "2026-11:.x",
            "garbage",
            "",
        ] {
            assert_eq!(
                AnonymousReads::from_cookie(Some(bad), &k, "2026-11"),
                empty,
                "{bad}"
            );
        }
        // Last month's reads do not count this month.
        let next = AnonymousReads::from_cookie(Some(&c), &k, "2026-12");
        assert!(next.ids.is_empty() && next.period == "2026-12");
    }
}
