//! What the pages need to know of a signed-in member beyond their session:
//! the stories they have read this meter period, the stories they have
//! saved, and the newsletters they receive. All are kept per member for `change_poll_ms`, like sessions, so a
//! member who browses costs no query per page while what is known is fresh.
//!
//! The database stays the source of truth, and the meter stays exact across
//! instances: a cached list is trusted only to say "already read" (reads only
//! grow within a period). Before a read would count, the story page asks the
//! database again ([`MemberStates::get`] with `fresh`), so another instance's
//! reads are always seen before a new one is allowed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::db::{Db, reading};

/// One member's reads this period and saved stories, as last read.
#[derive(Clone, Debug)]
pub struct Known {
    at: i64,
    pub period: String,
    pub reads: HashSet<i64>,
    pub saved: HashSet<i64>,
    /// The newsletters with an active subscription (the story page's box).
    pub newsletters: HashSet<i64>,
}

impl Known {
    /// The meter for `story`: whether it was read this period, and how many
    /// other stories were.
    pub fn meter(&self, story: i64) -> (bool, u32) {
        let this = self.reads.contains(&story);
        (this, (self.reads.len() - usize::from(this)) as u32)
    }
}

pub struct MemberStates {
    max_age_us: i64,
    map: Mutex<HashMap<i64, Arc<Known>>>,
}

impl MemberStates {
    pub fn new(max_age: std::time::Duration) -> MemberStates {
        MemberStates {
            max_age_us: max_age.as_micros() as i64,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<Known>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What is known of `member` in `period`: from memory when it is fresh
    /// and `fresh` is not asked for, else from the database. The flag says
    /// whether the database was asked.
    pub async fn get(
        &self,
        db: &Db,
        member: i64,
        period: &str,
        now: i64,
        fresh: bool,
    ) -> Result<(Arc<Known>, bool), sqlx::Error> {
        if !fresh && self.max_age_us > 0 {
            let map = self.lock();
            if let Some(k) = map
                .get(&member)
                .filter(|k| k.period == period && now - k.at <= self.max_age_us)
            {
                return Ok((k.clone(), false));
            }
        }
        let mut conn = db.read().await?;
        let reads = reading::period_reads(conn.ex(), member, period).await?;
        let saved = reading::saved_ids(conn.ex(), member).await?;
        let newsletters =
            crate::newsletters::subscriptions::active_of_member(conn.ex(), member).await?;
        let known = Arc::new(Known {
            at: now,
            period: period.to_string(),
            reads: reads.into_iter().collect(),
            saved: saved.into_iter().collect(),
            newsletters: newsletters.into_iter().collect(),
        });
        if self.max_age_us > 0 {
            let mut map = self.lock();
            if map.len() > 50_000 {
                map.retain(|_, k| now - k.at <= self.max_age_us);
            }
            map.insert(member, known.clone());
        }
        Ok((known, true))
    }

    /// Notes a read recorded by this instance.
    pub fn note_read(&self, member: i64, period: &str, story: i64) {
        if let Some(k) = self.lock().get_mut(&member)
            && k.period == period
        {
            Arc::make_mut(k).reads.insert(story);
        }
    }

    /// Notes a story saved or removed by this instance.
    pub fn note_saved(&self, member: i64, story: i64, saved: bool) {
        if let Some(k) = self.lock().get_mut(&member) {
            let k = Arc::make_mut(k);
            if saved {
                k.saved.insert(story);
            } else {
                k.saved.remove(&story);
            }
        }
    }

    /// Notes a newsletter subscribed to or left by this instance.
    pub fn note_newsletter(&self, member: i64, newsletter: i64, active: bool) {
        if let Some(k) = self.lock().get_mut(&member) {
            let k = Arc::make_mut(k);
            if active {
                k.newsletters.insert(newsletter);
            } else {
                k.newsletters.remove(&newsletter);
            }
        }
    }

    /// Forgets a member (their account changed here).
    pub fn forget(&self, member: i64) {
        self.lock().remove(&member);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meter_of_a_story_counts_the_other_reads() {
        let k = Known {
            at: 0,
            period: "2026-11".into(),
            reads: [1, 2, 3].into_iter().collect(),
            saved: HashSet::new(),
            newsletters: HashSet::new(),
        };
        assert_eq!(k.meter(2), (true, 2));
        assert_eq!(k.meter(9), (false, 3));
    }
}

/// A signed-in member's account links as rendered, by session (its CSRF
/// token), so a member's story page renders no template. An entry is used
/// only while what it shows of the member (name, address, role, plan) is
/// unchanged.
#[derive(Default)]
pub struct MemberLinks {
    map: Mutex<HashMap<String, (String, Arc<str>)>>,
}

impl MemberLinks {
    pub fn get(
        &self,
        m: &crate::db::members::SessionMember,
        render: impl FnOnce() -> crate::error::AppResult<String>,
    ) -> crate::error::AppResult<Arc<str>> {
        let shown = format!(
            "{}\u{0}{}\u{0}{}\u{0}{}\u{0}{}",
            m.display_name,
            m.email,
            m.role,
            m.email_verified_at.is_some(),
            m.subscribed_until.is_some()
        );
        if let Some((s, html)) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&m.csrf_token)
            && *s == shown
        {
            return Ok(html.clone());
        }
        let html: Arc<str> = render()?.into();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 50_000 {
            map.clear();
        }
        map.insert(m.csrf_token.clone(), (shown, html.clone()));
        Ok(html)
    }
}
