//! Page numbers of paginated lists, parsed from the query string.

/// Parses `?page=` text: a whole number from 1 up. The error says what was
/// wrong in words for the reader.
pub fn parse_page(raw: Option<&str>) -> Result<u32, String> {
    let Some(raw) = raw else { return Ok(1) };
    match raw.parse::<i64>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n as u32),
        Ok(_) => Err(format!(
            "The page number must be from 1 to 100000; “{raw}” is not."
        )),
        Err(_) => Err(format!(
            "The page number must be a whole number such as 2; “{}” is not.",
            truncate(raw)
        )),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 20 {
        format!("{}…", s.chars().take(20).collect::<String>())
    } else {
        s.to_string()
    }
}

/// What a list template needs to draw its pager.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Pager {
    pub page: u32,
    pub prev: Option<u32>,
    pub next: Option<u32>,
    pub last: u32,
}

impl Pager {
    /// `total` items shown `per_page` at a time; `None` when `page` is past the end
    /// (page 1 always exists, empty or not).
    pub fn new(page: u32, per_page: u32, total: i64) -> Option<Pager> {
        let last = (total.max(0) as u64).div_ceil(per_page as u64).max(1) as u32;
        (page <= last).then(|| Pager {
            page,
            prev: (page > 1).then(|| page - 1),
            next: (page < last).then(|| page + 1),
            last,
        })
    }

    pub fn offset(&self, per_page: u32) -> i64 {
        (self.page as i64 - 1) * per_page as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers_are_whole_numbers_from_one() {
        assert_eq!(parse_page(None), Ok(1));
        assert_eq!(parse_page(Some("3")), Ok(3));
        for bad in ["0", "-1", "abc", "1.5", "", "99999999999999999999999"] {
            assert!(parse_page(Some(bad)).is_err(), "{bad}");
        }
        assert!(parse_page(Some("abc")).unwrap_err().contains("abc"));
    }

    #[test]
    fn the_pager_knows_its_neighbours_and_its_end() {
        let p = Pager::new(2, 10, 25).unwrap();
        assert_eq!((p.prev, p.next, p.last), (Some(1), Some(3), 3));
        assert!(Pager::new(4, 10, 25).is_none());
        assert_eq!(Pager::new(1, 10, 0).unwrap().last, 1);
        assert_eq!(p.offset(10), 10);
    }
}
