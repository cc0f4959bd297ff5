//! Who receives which newsletter: the newsletters staff define, the
//! subscribers (an address, a member's or an anonymous visitor's), their
//! subscriptions, and the consent behind offers mail.
//!
//! A subscription is `pending` until its address is confirmed (a member's
//! verified address counts as confirmed), `active` while it receives issues,
//! and `unsubscribed` afterwards; the row stays, so a repeated request never
//! makes a second one. Consent to offers is an append-only history in
//! `consents`: each grant and each withdrawal a row with its time, source and
//! the words the reader saw; the latest row is in force, and an `offers`
//! subscription is only active together with a granted consent.

use super::super::db::stories::reborrow;
use crate::db::{Ex, Tx};
use crate::domain::email::Email;
use crate::{execute, fetch_all, fetch_optional};

/// The words next to the offers box, recorded with every grant made from a
/// form that shows them. Change them here and the forms and the record
/// change together.
pub const OFFERS_CONSENT_WORDS: &str = "Yes, send me offers, discounts and early access from \
     the publication by e-mail. I can withdraw this at any time with one click.";

/// What kind of mail a newsletter carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Editorial,
    /// Offers, discounts, early access: only to readers with a current
    /// granted consent.
    Offers,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Editorial => "editorial",
            Kind::Offers => "offers",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "editorial" => Some(Kind::Editorial),
            "offers" => Some(Kind::Offers),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Newsletter {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub from_name: String,
    pub from_address: String,
    pub reply_to: String,
    pub schedule: String,
    pub kind: String,
    pub subscribe_on_register: bool,
    pub position: i64,
    pub archived_at: Option<i64>,
    pub created_at: i64,
}

impl Newsletter {
    pub fn is_offers(&self) -> bool {
        self.kind == Kind::Offers.as_str()
    }
}

const NEWSLETTER_COLUMNS: &str = "id, slug, name, description, from_name, from_address, reply_to, \
     schedule, kind, subscribe_on_register, position, archived_at, created_at";

/// A newsletter as staff define it.
#[derive(Clone, Debug)]
pub struct NewNewsletter<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub from_name: &'a str,
    pub from_address: &'a str,
    pub reply_to: &'a str,
    pub schedule: &'a str,
    pub kind: Kind,
    /// Ignored for offers: nobody is subscribed to offers without asking.
    pub subscribe_on_register: bool,
    pub position: i64,
}

impl NewNewsletter<'_> {
    /// What is wrong with this definition, if anything, in words for staff.
    /// The names and addresses go into mail headers, so a line break in any
    /// of them is refused (it would let a name add headers of its own).
    pub fn problems(&self) -> Vec<String> {
        self.field_problems().into_iter().map(|(_, m)| m).collect()
    }

    /// [`Self::problems`], each with the field it is about (`slug`, `name`,
    /// `description`, `from_name`, `from_address`, `reply_to`, `schedule`),
    /// so a form can put the words next to the field.
    pub fn field_problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.slug.is_empty() {
            out.push((
                "slug",
                "Give the newsletter a short address (its slug): lower-case letters, digits and \
                 hyphens."
                    .into(),
            ));
        } else if !crate::domain::slug::is_slug(self.slug) {
            out.push((
                "slug",
                format!(
                    "“{}” cannot be a newsletter's address: use lower-case letters, digits and hyphens.",
                    self.slug
                ),
            ));
        }
        if self.name.trim().is_empty() {
            out.push(("name", "Give the newsletter a name.".into()));
        }
        for (field, what, value) in [
            ("name", "name", self.name),
            ("from_name", "sender name", self.from_name),
            ("from_address", "sender address", self.from_address),
            ("reply_to", "reply-to address", self.reply_to),
            ("schedule", "schedule", self.schedule),
        ] {
            if value.chars().any(char::is_control) {
                out.push((field, format!("The {what} must be on one line.")));
            } else if value.chars().count() > 200 {
                out.push((field, format!("Please keep the {what} to 200 characters.")));
            }
        }
        if self.description.chars().count() > 2000 {
            out.push((
                "description",
                "Please keep the description to 2,000 characters.".into(),
            ));
        }
        for (field, what, value) in [
            ("from_address", "sender address", self.from_address),
            ("reply_to", "reply-to address", self.reply_to),
        ] {
            if !value.is_empty()
                && !value.chars().any(char::is_control)
                && let Err(e) = Email::parse(value)
            {
                out.push((field, format!("The {what}: {e}")));
            }
        }
        out
    }
}

/// The newsletters readers can subscribe to, in the order staff gave them.
pub async fn listed(ex: Ex<'_>) -> Result<Vec<Newsletter>, sqlx::Error> {
    let sql = format!(
        "select {NEWSLETTER_COLUMNS} from newsletters where archived_at is null order by position, id"
    );
    fetch_all!(ex, Newsletter, sqlx::AssertSqlSafe(sql))
}

pub async fn by_slug(ex: Ex<'_>, slug: &str) -> Result<Option<Newsletter>, sqlx::Error> {
    let sql = format!("select {NEWSLETTER_COLUMNS} from newsletters where slug = $1");
    fetch_optional!(ex, Newsletter, sqlx::AssertSqlSafe(sql), slug)
}

pub async fn by_id(ex: Ex<'_>, id: i64) -> Result<Option<Newsletter>, sqlx::Error> {
    let sql = format!("select {NEWSLETTER_COLUMNS} from newsletters where id = $1");
    fetch_optional!(ex, Newsletter, sqlx::AssertSqlSafe(sql), id)
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

/// Archives a newsletter: no longer listed nor offered, its subscriptions
/// and issues kept.
pub async fn archive(ex: Ex<'_>, id: i64, now: i64) -> Result<bool, sqlx::Error> {
    Ok(execute!(
        ex,
        "update newsletters set archived_at = $2 where id = $1 and archived_at is null",
        id,
        now
    )? > 0)
}

/// Creates a newsletter (check it with [`NewNewsletter::problems`] first);
/// `None` when its slug is taken.
pub async fn create(
    ex: Ex<'_>,
    n: &NewNewsletter<'_>,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        IdRow,
        "insert into newsletters (slug, name, description, from_name, from_address, reply_to, \
           schedule, kind, subscribe_on_register, position, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         on conflict (slug) do nothing returning id",
        n.slug,
        n.name,
        n.description,
        n.from_name,
        n.from_address,
        n.reply_to,
        n.schedule,
        n.kind.as_str(),
        n.subscribe_on_register && n.kind == Kind::Editorial,
        n.position,
        now
    )?
    .map(|r| r.id))
}

/// Changes a newsletter; `false` when there is none with this id. The kind
/// is kept: an editorial list's readers never agreed to offers.
pub async fn update(ex: Ex<'_>, id: i64, n: &NewNewsletter<'_>) -> Result<bool, sqlx::Error> {
    let done = execute!(
        ex,
        "update newsletters set slug = $2, name = $3, description = $4, from_name = $5, \
           from_address = $6, reply_to = $7, schedule = $8, \
           subscribe_on_register = ($9 and kind = 'editorial'), position = $10 \
         where id = $1",
        id,
        n.slug,
        n.name,
        n.description,
        n.from_name,
        n.from_address,
        n.reply_to,
        n.schedule,
        n.subscribe_on_register,
        n.position
    )?;
    Ok(done > 0)
}

/// An address that receives, or asked to receive, newsletters.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Subscriber {
    pub id: i64,
    pub email: String,
    pub email_normalized: String,
    pub member_id: Option<i64>,
    pub created_at: i64,
}

const SUBSCRIBER_COLUMNS: &str = "id, email, email_normalized, member_id, created_at";

pub async fn subscriber(ex: Ex<'_>, id: i64) -> Result<Option<Subscriber>, sqlx::Error> {
    let sql = format!("select {SUBSCRIBER_COLUMNS} from subscribers where id = $1");
    fetch_optional!(ex, Subscriber, sqlx::AssertSqlSafe(sql), id)
}

pub async fn subscriber_by_email(
    ex: Ex<'_>,
    email: &Email,
) -> Result<Option<Subscriber>, sqlx::Error> {
    let sql = format!("select {SUBSCRIBER_COLUMNS} from subscribers where email_normalized = $1");
    fetch_optional!(ex, Subscriber, sqlx::AssertSqlSafe(sql), email.normalized())
}

pub async fn subscriber_of_member(
    ex: Ex<'_>,
    member_id: i64,
) -> Result<Option<Subscriber>, sqlx::Error> {
    let sql = format!("select {SUBSCRIBER_COLUMNS} from subscribers where member_id = $1");
    fetch_optional!(ex, Subscriber, sqlx::AssertSqlSafe(sql), member_id)
}

/// The subscriber for an address, made if there is none. Run it in a
/// transaction (it may write twice).
///
/// With `member_id` (a member whose address is verified: the caller's
/// business), the row is the member's: found by the member, or the
/// address's anonymous row taken over by the member who proved to own it.
/// Never pass an unverified member here: they would see what someone else
/// subscribed that address to.
pub async fn subscriber_for(
    mut ex: Ex<'_>,
    email: &Email,
    member_id: Option<i64>,
    now: i64,
) -> Result<Subscriber, sqlx::Error> {
    if let Some(m) = member_id
        && let Some(s) = subscriber_of_member(reborrow(&mut ex), m).await?
    {
        return Ok(s);
    }
    execute!(
        reborrow(&mut ex),
        "insert into subscribers (email, email_normalized, member_id, created_at) \
         values ($1, $2, $3, $4) on conflict (email_normalized) do nothing",
        email.as_typed(),
        email.normalized(),
        member_id,
        now
    )?;
    if let Some(m) = member_id {
        execute!(
            reborrow(&mut ex),
            "update subscribers set member_id = $2 where email_normalized = $1 and member_id is null",
            email.normalized(),
            m
        )?;
    }
    subscriber_by_email(ex, email)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// One subscription as pages show it.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Subscription {
    pub newsletter_id: i64,
    pub subscriber_id: i64,
    pub state: String,
    pub source: String,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub unsubscribed_at: Option<i64>,
    pub updated_at: i64,
}

pub async fn subscriptions_of(
    ex: Ex<'_>,
    subscriber_id: i64,
) -> Result<Vec<Subscription>, sqlx::Error> {
    fetch_all!(
        ex,
        Subscription,
        "select newsletter_id, subscriber_id, state, source, created_at, confirmed_at, \
           unsubscribed_at, updated_at \
         from newsletter_subscriptions where subscriber_id = $1 order by newsletter_id",
        subscriber_id
    )
}

#[derive(sqlx::FromRow)]
struct StateRow {
    state: String,
}

/// The newsletters a member receives (active subscriptions), for the
/// member cache the story page reads.
pub async fn active_of_member(ex: Ex<'_>, member_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    Ok(fetch_all!(
        ex,
        IdRow,
        "select ns.newsletter_id as id from subscribers s join newsletter_subscriptions ns \
           on ns.subscriber_id = s.id \
         where s.member_id = $1 and ns.state = 'active'",
        member_id
    )?
    .into_iter()
    .map(|r| r.id)
    .collect())
}

/// What a subscribe request did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subscribed {
    /// Active now (it may have been before).
    Active,
    /// Waiting for the address to be confirmed.
    Pending,
}

/// Subscribes `subscriber_id` to `newsletter`: active at once when the
/// address is `confirmed`, else pending (an active subscription stays
/// active). One row per (newsletter, subscriber), however often it is asked.
///
/// For an offers newsletter the caller must have recorded the consent
/// first ([`record_consent`]); this refuses to activate one without it.
pub async fn subscribe(
    mut ex: Ex<'_>,
    subscriber_id: i64,
    newsletter: &Newsletter,
    confirmed: bool,
    source: &str,
    now: i64,
) -> Result<Subscribed, sqlx::Error> {
    let confirmed = confirmed
        && (!newsletter.is_offers()
            || offers_consent(reborrow(&mut ex), subscriber_id)
                .await?
                .is_some_and(|c| c.granted));
    let state = if confirmed { "active" } else { "pending" };
    let row = fetch_optional!(
        ex,
        StateRow,
        "insert into newsletter_subscriptions \
           (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, updated_at) \
         values ($1, $2, $3, $4, $5, case when $3 = 'active' then $5 end, $5) \
         on conflict (newsletter_id, subscriber_id) do update set \
           state = case when newsletter_subscriptions.state = 'active' then 'active' \
                        else excluded.state end, \
           source = case when newsletter_subscriptions.state = 'active' \
                         then newsletter_subscriptions.source else excluded.source end, \
           confirmed_at = case when newsletter_subscriptions.state = 'active' \
                               then newsletter_subscriptions.confirmed_at \
                               else excluded.confirmed_at end, \
           updated_at = excluded.updated_at \
         returning state",
        newsletter.id,
        subscriber_id,
        state,
        source,
        now
    )?;
    Ok(match row.map(|r| r.state).as_deref() {
        Some("active") => Subscribed::Active,
        _ => Subscribed::Pending,
    })
}

/// Ends a subscription; `false` when there was none in force (an unsubscribe
/// repeated, or one for a newsletter never subscribed to). Ending an offers
/// subscription also withdraws the consent when no other offers
/// subscription is in force: the reader said "no more offers".
pub async fn unsubscribe(
    tx: &mut Tx,
    subscriber_id: i64,
    newsletter: &Newsletter,
    source: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = execute!(
        tx.ex(),
        "update newsletter_subscriptions set state = 'unsubscribed', unsubscribed_at = $3, \
           updated_at = $3 \
         where newsletter_id = $1 and subscriber_id = $2 and state <> 'unsubscribed'",
        newsletter.id,
        subscriber_id,
        now
    )?;
    if newsletter.is_offers() && offers_in_force(tx.ex(), subscriber_id).await? == 0 {
        let current = offers_consent(tx.ex(), subscriber_id).await?;
        if current.is_some_and(|c| c.granted) {
            insert_consent(
                tx.ex(),
                subscriber_id,
                false,
                "Unsubscribed from offers mail.",
                source,
                now,
            )
            .await?;
        }
    }
    Ok(n > 0)
}

#[derive(sqlx::FromRow)]
struct N {
    n: i64,
}

async fn offers_in_force(ex: Ex<'_>, subscriber_id: i64) -> Result<i64, sqlx::Error> {
    Ok(fetch_optional!(
        ex,
        N,
        "select count(*) as n from newsletter_subscriptions ns \
           join newsletters n on n.id = ns.newsletter_id \
         where ns.subscriber_id = $1 and n.kind = 'offers' and ns.state <> 'unsubscribed'",
        subscriber_id
    )?
    .map_or(0, |r| r.n))
}

/// Confirms a subscriber's pending subscriptions (the address proved to be
/// theirs); answers the newsletters made active. A pending offers
/// subscription was asked for with the consent box ticked, and the
/// confirmation page shows the words again: the grant is recorded now, when
/// the owner of the address agrees, not when the form was sent (anyone can
/// type an address into a form).
pub async fn confirm_pending(
    tx: &mut Tx,
    subscriber_id: i64,
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        newsletter_id: i64,
    }
    let offers = fetch_all!(
        tx.ex(),
        Row,
        "select ns.newsletter_id from newsletter_subscriptions ns \
           join newsletters n on n.id = ns.newsletter_id \
         where ns.subscriber_id = $1 and ns.state = 'pending' and n.kind = 'offers'",
        subscriber_id
    )?;
    if !offers.is_empty() {
        insert_consent(
            tx.ex(),
            subscriber_id,
            true,
            OFFERS_CONSENT_WORDS,
            "confirmation",
            now,
        )
        .await?;
    }
    let rows = fetch_all!(
        tx.ex(),
        Row,
        "update newsletter_subscriptions set state = 'active', confirmed_at = $2, updated_at = $2 \
         where subscriber_id = $1 and state = 'pending' \
         returning newsletter_id",
        subscriber_id,
        now
    )?;
    Ok(rows.into_iter().map(|r| r.newsletter_id).collect())
}

/// A row of the consent history.
#[derive(Clone, Debug, sqlx::FromRow, serde::Serialize)]
pub struct Consent {
    pub id: i64,
    pub subscriber_id: i64,
    pub purpose: String,
    pub granted: bool,
    pub words: String,
    pub source: String,
    pub created_at: i64,
}

async fn insert_consent(
    ex: Ex<'_>,
    subscriber_id: i64,
    granted: bool,
    words: &str,
    source: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    execute!(
        ex,
        "insert into consents (subscriber_id, purpose, granted, words, source, created_at) \
         values ($1, 'offers', $2, $3, $4, $5)",
        subscriber_id,
        granted,
        words,
        source,
        now
    )?;
    Ok(())
}

/// Records that the reader agreed to offers mail in `words` (as shown next
/// to the box they ticked) at `source`.
pub async fn grant_offers(
    ex: Ex<'_>,
    subscriber_id: i64,
    words: &str,
    source: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    insert_consent(ex, subscriber_id, true, words, source, now).await
}

/// Withdraws the consent to offers (a row of its own) and ends every offers
/// subscription, in one click. Answers whether a consent was in force.
pub async fn withdraw_offers(
    tx: &mut Tx,
    subscriber_id: i64,
    source: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let was = offers_consent(tx.ex(), subscriber_id)
        .await?
        .is_some_and(|c| c.granted);
    execute!(
        tx.ex(),
        "update newsletter_subscriptions set state = 'unsubscribed', unsubscribed_at = $2, \
           updated_at = $2 \
         where subscriber_id = $1 and state <> 'unsubscribed' \
           and newsletter_id in (select id from newsletters where kind = 'offers')",
        subscriber_id,
        now
    )?;
    if was {
        insert_consent(
            tx.ex(),
            subscriber_id,
            false,
            "Withdrew the consent to offers mail.",
            source,
            now,
        )
        .await?;
    }
    Ok(was)
}

/// The consent to offers in force: the latest row, granted or withdrawn.
pub async fn offers_consent(
    ex: Ex<'_>,
    subscriber_id: i64,
) -> Result<Option<Consent>, sqlx::Error> {
    fetch_optional!(
        ex,
        Consent,
        "select id, subscriber_id, purpose, granted, words, source, created_at from consents \
         where subscriber_id = $1 and purpose = 'offers' order by id desc limit 1",
        subscriber_id
    )
}

/// Every consent row of a subscriber, oldest first (for the data download).
pub async fn consents_of(ex: Ex<'_>, subscriber_id: i64) -> Result<Vec<Consent>, sqlx::Error> {
    fetch_all!(
        ex,
        Consent,
        "select id, subscriber_id, purpose, granted, words, source, created_at from consents \
         where subscriber_id = $1 order by id",
        subscriber_id
    )
}

/// Subscribes a member whose address was just confirmed at registration to
/// the newsletters marked `subscribe_on_register` (never offers). A
/// subscription the address already has, in whatever state, is left as it
/// is: someone who unsubscribed is not subscribed again.
pub async fn welcome_member(
    tx: &mut Tx,
    member_id: i64,
    email: &Email,
    now: i64,
) -> Result<(), sqlx::Error> {
    let s = subscriber_for(tx.ex(), email, Some(member_id), now).await?;
    execute!(
        tx.ex(),
        "insert into newsletter_subscriptions \
           (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, updated_at) \
         select id, $1, 'active', 'registration', $2, $2, $2 from newsletters \
         where subscribe_on_register = true and kind = 'editorial' and archived_at is null \
         on conflict (newsletter_id, subscriber_id) do nothing",
        s.id,
        now
    )?;
    Ok(())
}

/// Keeps a member's subscriber row on the member's address after a change.
/// An anonymous row that already held the new address is merged into the
/// member's (its subscriptions and consents move over, the member's own
/// rows win), since the member has just proved the address is theirs.
pub async fn member_address_changed(
    tx: &mut Tx,
    member_id: i64,
    email: &Email,
) -> Result<(), sqlx::Error> {
    let Some(mine) = subscriber_of_member(tx.ex(), member_id).await? else {
        return Ok(());
    };
    if let Some(other) = subscriber_by_email(tx.ex(), email).await?
        && other.id != mine.id
    {
        execute!(
            tx.ex(),
            "insert into newsletter_subscriptions \
               (newsletter_id, subscriber_id, state, source, created_at, confirmed_at, \
                unsubscribed_at, updated_at) \
             select newsletter_id, $2, state, source, created_at, confirmed_at, unsubscribed_at, \
                    updated_at \
             from newsletter_subscriptions where subscriber_id = $1 \
             on conflict (newsletter_id, subscriber_id) do nothing",
            other.id,
            mine.id
        )?;
        execute!(
            tx.ex(),
            "update consents set subscriber_id = $2 where subscriber_id = $1",
            other.id,
            mine.id
        )?;
        execute!(
            tx.ex(),
            "delete from newsletter_subscriptions where subscriber_id = $1",
            other.id
        )?;
        execute!(tx.ex(), "delete from subscribers where id = $1", other.id)?;
    }
    execute!(
        tx.ex(),
        "update subscribers set email = $2, email_normalized = $3 where id = $1",
        mine.id,
        email.as_typed(),
        email.normalized()
    )?;
    Ok(())
}

/// Removes a member's subscriber row with its subscriptions and consents,
/// and any row their address has (account deletion: nothing of theirs stays).
pub async fn delete_member_subscriber(
    tx: &mut Tx,
    member_id: i64,
    email: &str,
) -> Result<(), sqlx::Error> {
    let normalized = email.to_lowercase();
    for sql in [
        "delete from newsletter_subscriptions where subscriber_id in \
           (select id from subscribers where member_id = $1 or email_normalized = $2)",
        "delete from consents where subscriber_id in \
           (select id from subscribers where member_id = $1 or email_normalized = $2)",
        "delete from subscribers where member_id = $1 or email_normalized = $2",
    ] {
        execute!(tx.ex(), sql, member_id, &normalized)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> NewNewsletter<'static> {
        NewNewsletter {
            slug: "morning-briefing",
            name: "The Morning Briefing",
            description: "",
            from_name: "The Daily Meridian",
            from_address: "briefing@meridian.example",
            reply_to: "",
            schedule: "Every day at 6 am",
            kind: Kind::Editorial,
            subscribe_on_register: true,
            position: 0,
        }
    }

    #[test]
    fn a_newsletter_definition_says_what_to_fix() {
        assert_eq!(good().problems(), Vec::<String>::new());
        let cases: Vec<(NewNewsletter<'static>, &str)> = vec![
            (
                NewNewsletter {
                    slug: "Morning Briefing",
                    ..good()
                },
                "lower-case letters",
            ),
            (
                NewNewsletter {
                    name: "  ",
                    ..good()
                },
                "Give the newsletter a name",
            ),
            (
                NewNewsletter {
                    name: "Briefing\r\nBcc: all@example.com",
                    ..good()
                },
                "name must be on one line",
            ),
            (
                NewNewsletter {
                    from_name: "Desk\nX-Evil: 1",
                    ..good()
                },
                "sender name must be on one line",
            ),
            (
                NewNewsletter {
                    from_address: "desk at meridian",
                    ..good()
                },
                "The sender address:",
            ),
            (
                NewNewsletter {
                    reply_to: "a@b.example\r\n",
                    ..good()
                },
                "reply-to address must be on one line",
            ),
        ];
        for (n, expected) in cases {
            let p = n.problems();
            assert!(p.iter().any(|m| m.contains(expected)), "{expected}: {p:?}");
        }
    }

    #[test]
    fn newsletter_kinds_parse_from_their_stored_names_only() {
        for (text, kind) in [
            ("editorial", Some(Kind::Editorial)),
            ("offers", Some(Kind::Offers)),
            ("Offers", None),
            ("", None),
            ("promotions", None),
        ] {
            assert_eq!(Kind::parse(text), kind, "{text}");
            if let Some(k) = kind {
                assert_eq!(k.as_str(), text);
            }
        }
    }
}
