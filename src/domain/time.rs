//! How instants are shown to readers: in the publication's time zone with its
//! abbreviation, "November 25, 2020 05:46 am IST", and exactly in
//! `<time datetime>`.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

/// An instant ready for a template.
#[derive(Clone, Debug, Serialize)]
pub struct Shown {
    /// RFC 3339 in UTC, for `datetime` attributes and machine readers.
    pub iso: String,
    /// "November 25, 2020 05:46 am IST"
    pub long: String,
    /// "November 25, 2020"
    pub date: String,
}

pub fn show(t: Timestamp, tz: &TimeZone) -> Shown {
    let z = t.to_zoned_datetime(tz.clone());
    Shown {
        iso: t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        long: z.strftime("%B %d, %Y %I:%M %P %Z").to_string(),
        date: z.strftime("%B %d, %Y").to_string(),
    }
}

/// Parses a time zone name from the publication settings.
pub fn zone(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_the_publication_zone_with_its_abbreviation() {
        let ist = zone("Asia/Kolkata").unwrap();
        let t: Timestamp = "2020-11-25T00:16:00Z".parse().unwrap();
        let s = show(t, &ist);
        assert_eq!(s.long, "November 25, 2020 05:46 am IST");
        assert_eq!(s.iso, "2020-11-25T00:16:00Z");
        let t: Timestamp = "2020-11-25T10:30:00Z".parse().unwrap();
        assert_eq!(show(t, &ist).long, "November 25, 2020 04:00 pm IST");
        let london = zone("Europe/London").unwrap();
        let t: Timestamp = "2021-07-01T11:00:00Z".parse().unwrap();
        assert_eq!(show(t, &london).long, "July 01, 2021 12:00 pm BST");
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert!(zone("Mars/Olympus").is_none());
    }
}
