//! Sending issues: the bulk lane of the mail workers.
//!
//! Each [`Sender::step`] starts the scheduled issues that are due, copies
//! the next batch of recipients of each issue being sent, then claims a
//! batch of due recipients and delivers them one at a time: render (once per
//! issue and kind of reader), personalise, sign, hand to the mail server,
//! and mark the recipient sent before the next one goes. So a process
//! killed at any point leaves at most one message accepted by the server
//! and not marked: that recipient gets it again after a restart, with the
//! same `Message-ID`, derived from (issue, recipient). Everything else is
//! marked, or leased and given back when the lease runs out.
//!
//! The worker that runs this also delivers the outbox, and asks the outbox
//! for transactional mail between two batches, so a sign-in link overtakes
//! a bulk send in progress by at most one batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use lettre::Message;
use lettre::address::{Address, Envelope};
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm,
    DkimSigningKey,
};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use super::compose::{self, Rendered};
use super::issues::{self, Mark, Newsletter, Recipient};
use super::links;
use super::tokens::{self, Purpose};
use crate::clock::{Clock, micros};
use crate::config::Config;
use crate::db::Db;
use crate::domain::access::Reader;
use crate::fetch_all_in;
use crate::keys::Keys;
use crate::mail::Transport;
use crate::mail::transport::RawError;
use crate::render::Renderer;
use crate::site::Site;

/// How a sender paces itself.
#[derive(Clone, Debug)]
pub struct SendOptions {
    /// Recipients claimed at once: the most a transactional mail waits behind.
    pub batch: i64,
    /// Recipients copied from the subscriptions per transaction.
    pub expand_batch: i64,
    /// How long a claim holds its recipients; a batch close to the end of
    /// its lease (within `lease_margin`) gives the rest back.
    pub lease: Duration,
    pub lease_margin: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            batch: 100,
            expand_batch: 5_000,
            lease: Duration::from_secs(120),
            lease_margin: Duration::from_secs(30),
        }
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StepReport {
    pub started: u64,
    pub expanded: u64,
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Given back untried: the pace of a domain, the end of a lease, a mail
    /// server that does not answer.
    pub released: usize,
    /// The mail server could not be reached; the sender waits a while.
    pub unavailable: bool,
}

impl StepReport {
    /// Whether the step did anything (the worker goes on at once if so).
    pub fn busy(&self) -> bool {
        self.started + self.expanded > 0
            || self.sent + self.retried + self.failed + self.skipped > 0
    }
}

/// An issue ready to go: its newsletter, sender, and its mail for each kind
/// of reader, rendered once.
struct IssueMail {
    newsletter: Newsletter,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    reader: Rendered,
    member: Rendered,
    subscriber: Rendered,
}

/// Delivers newsletter issues. One per process; cheap to share.
pub struct Sender {
    db: Db,
    config: Arc<Config>,
    renderer: Renderer,
    transport: Transport,
    clock: Arc<dyn Clock>,
    builder: Arc<Builder>,
    pub options: SendOptions,
    pace: Mutex<Pace>,
    issues: Mutex<HashMap<i64, Arc<IssueMail>>>,
    pause: Mutex<Option<(Instant, Duration)>>,
}

impl Sender {
    pub fn new(
        db: Db,
        config: Arc<Config>,
        keys: Keys,
        renderer: Renderer,
        transport: Transport,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Sender> {
        let dkim = match (&config.dkim_key_file, &config.dkim_selector) {
            (Some(file), Some(selector)) => Some(load_dkim(file, selector, &dkim_domain(&config))?),
            _ => None,
        };
        let builder = Arc::new(Builder {
            bounce: bounce_parts(&config),
            message_id_domain: crate::mail::message_id_domain(&config),
            config: config.clone(),
            keys,
            dkim,
        });
        Ok(Sender {
            pace: Mutex::new(Pace::new(config.mail_domain_rate)),
            db,
            config,
            renderer,
            transport,
            clock,
            builder,
            options: SendOptions::default(),
            issues: Mutex::new(HashMap::new()),
            pause: Mutex::new(None),
        })
    }

    /// A sender for the application's state and a transport.
    pub fn for_state(state: &crate::app::AppState, transport: Transport) -> anyhow::Result<Sender> {
        Sender::new(
            state.db.clone(),
            state.config.clone(),
            state.keys.clone(),
            state.renderer.clone(),
            transport,
            state.clock.clone(),
        )
    }

    fn now(&self) -> i64 {
        micros(self.clock.now())
    }

    /// Whether DKIM signing is on.
    pub fn signs(&self) -> bool {
        self.builder.dkim.is_some()
    }

    /// One round: start due issues, copy recipients, deliver one batch.
    pub async fn step(&self) -> anyhow::Result<StepReport> {
        let mut report = StepReport::default();
        let paused = self.pause.lock().unwrap().map(|(until, _)| until);
        if paused.is_some_and(|until| Instant::now() < until) {
            return Ok(report);
        }
        let now = self.now();
        // A read first, so an idle worker does not take the write lock.
        let due = {
            let mut c = self.db.read().await?;
            issues::any_due(c.ex(), now).await?
        };
        if due {
            let mut c = self.db.write().await?;
            report.started = issues::start_due(c.ex(), now).await?;
        }
        let expanding = {
            let mut c = self.db.read().await?;
            issues::expanding(c.ex()).await?
        };
        for issue in expanding {
            let (added, done) =
                issues::expand_batch(&self.db, issue.id, self.options.expand_batch, now).await?;
            report.expanded += added;
            if done {
                let mut c = self.db.write().await?;
                issues::finish_if_done(c.ex(), issue.id, now).await?;
            }
        }
        let claimed = issues::claim(&self.db, now, self.options.batch, self.options.lease).await?;
        report.claimed = claimed.len();
        if claimed.is_empty() {
            return Ok(report);
        }
        let mut by_issue: Vec<(i64, Vec<Recipient>)> = Vec::new();
        for r in claimed {
            match by_issue.last_mut() {
                Some((id, list)) if *id == r.issue_id => list.push(r),
                _ => by_issue.push((r.issue_id, vec![r])),
            }
        }
        let margin = i64::try_from(self.options.lease_margin.as_micros()).unwrap_or(i64::MAX);
        let mut stop = false;
        for (issue_id, recipients) in by_issue {
            if stop {
                self.release(&recipients, now, &mut report).await?;
                continue;
            }
            let mail = match self.issue_mail(issue_id).await {
                Ok(Some(m)) => m,
                Ok(None) => {
                    self.release(&recipients, now, &mut report).await?;
                    continue;
                }
                Err(e) => {
                    // A template that does not render: nothing of this issue
                    // can go; give the claim back and say so loudly.
                    tracing::error!(issue = issue_id, error = %e, "the issue cannot be rendered");
                    self.release(&recipients, now + 60_000_000, &mut report)
                        .await?;
                    continue;
                }
            };
            let statuses = self.statuses(&mail.newsletter, &recipients).await?;
            // First who is skipped or paced; then the rest, in order.
            let mut todo: Vec<(Recipient, Reader)> = Vec::with_capacity(recipients.len());
            for r in &recipients {
                let status = statuses.get(&r.subscriber_id);
                if let Some(why) = skip_reason(status) {
                    self.mark(r, Mark::Skipped(why)).await?;
                    report.skipped += 1;
                    continue;
                }
                let paced = self.pace.lock().unwrap().take(domain_of(&r.email));
                if let Some(wait) = paced {
                    let at = now + i64::try_from(wait.as_micros()).unwrap_or(1_000_000);
                    self.mark(r, Mark::Release { at }).await?;
                    report.released += 1;
                    continue;
                }
                todo.push((r.clone(), status.map_or(Reader::Anonymous, |s| s.reader())));
            }
            // Each message is built on another thread while the one before
            // it is handed over and marked; the handing over and marking stay
            // strictly one at a time, so a crash repeats at most one message.
            let build = |i: usize| {
                todo.get(i).map(|(r, reader)| {
                    let (builder, mail, r, reader, now) = (
                        self.builder.clone(),
                        mail.clone(),
                        r.clone(),
                        *reader,
                        self.now(),
                    );
                    tokio::task::spawn_blocking(move || builder.build(&mail, &r, reader, now))
                })
            };
            let mut next = build(0);
            for i in 0..todo.len() {
                let r = &todo[i].0;
                let now = self.now();
                let built = match next.take() {
                    Some(handle) => handle
                        .await
                        .map_err(|e| anyhow::anyhow!("a message build failed: {e}"))?,
                    None => Err("the message was not built".to_string()),
                };
                if stop || now.saturating_add(margin) >= r.lease_until.unwrap_or(i64::MIN) {
                    let rest: Vec<Recipient> = todo[i..].iter().map(|(r, _)| r.clone()).collect();
                    self.release(&rest, now, &mut report).await?;
                    break;
                }
                next = build(i + 1);
                let (envelope, bytes, name) = match built {
                    Ok(m) => m,
                    Err(e) => {
                        self.mark(r, Mark::Failed(&e)).await?;
                        report.failed += 1;
                        continue;
                    }
                };
                match self.transport.deliver_raw(&envelope, &bytes, &name).await {
                    Ok(()) => {
                        self.mark(r, Mark::Sent).await?;
                        report.sent += 1;
                        *self.pause.lock().unwrap() = None;
                    }
                    Err(RawError::Refused(e)) => {
                        self.mark(r, Mark::Failed(&e)).await?;
                        report.failed += 1;
                    }
                    Err(RawError::NoSmtpUtf8) => {
                        let e = RawError::NoSmtpUtf8.to_string();
                        self.mark(r, Mark::Failed(&e)).await?;
                        report.failed += 1;
                    }
                    Err(RawError::Deferred(e)) => {
                        match crate::mail::outbox::retry_delay(r.attempts) {
                            Some(d) => {
                                let at = now + i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
                                self.mark(r, Mark::Retry { at, error: &e }).await?;
                                report.retried += 1;
                            }
                            None => {
                                let e = format!("gave up after {} attempts: {e}", r.attempts);
                                self.mark(r, Mark::Failed(&e)).await?;
                                report.failed += 1;
                            }
                        }
                    }
                    Err(RawError::Unavailable(e)) => {
                        // Nothing is known of this recipient: give it and the
                        // rest back untried, and wait before trying again.
                        let wait = self.pause_after_failure();
                        tracing::warn!(error = %e, wait_secs = wait.as_secs(), "the mail server cannot be reached; newsletters wait");
                        let at = now + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
                        let rest: Vec<Recipient> =
                            todo[i..].iter().map(|(r, _)| r.clone()).collect();
                        self.release(&rest, at, &mut report).await?;
                        report.unavailable = true;
                        stop = true;
                        break;
                    }
                }
            }
            let mut c = self.db.write().await?;
            if issues::finish_if_done(c.ex(), issue_id, self.now()).await? {
                self.issues.lock().unwrap().remove(&issue_id);
                tracing::info!(issue = issue_id, "newsletter issue sent");
            }
        }
        Ok(report)
    }

    /// Sends one issue to its end (or until it is cancelled), calling
    /// `progress` about once a second and at the end; the command line's
    /// `newsletter send`. (Counting the recipients by state reads them all,
    /// so it is not done after every batch.)
    pub async fn run_issue(
        &self,
        issue_id: i64,
        mut progress: impl FnMut(&issues::Progress),
    ) -> anyhow::Result<issues::Progress> {
        let mut last = Instant::now() - Duration::from_secs(10);
        loop {
            let report = self.step().await?;
            let mut c = self.db.read().await?;
            let issue = issues::find(c.ex(), issue_id)
                .await?
                .with_context(|| format!("there is no issue {issue_id}"))?;
            let done = issue.state != "sending";
            if done || last.elapsed() >= Duration::from_secs(1) {
                last = Instant::now();
                let p = issues::progress(c.ex(), issue_id)
                    .await?
                    .with_context(|| format!("there is no issue {issue_id}"))?;
                progress(&p);
                if done {
                    return Ok(p);
                }
            }
            drop(c);
            if !report.busy() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    fn pause_after_failure(&self) -> Duration {
        let mut pause = self.pause.lock().unwrap();
        let wait = match *pause {
            Some((_, last)) => (last * 2).min(Duration::from_secs(60)),
            None => Duration::from_secs(2),
        };
        *pause = Some((Instant::now() + wait, wait));
        wait
    }

    /// Writes one recipient's mark. On PostgreSQL the commit does not wait
    /// for the write-ahead log to reach the disk (`synchronous_commit =
    /// off`, for this transaction only): a killed sender loses nothing the
    /// server acknowledged, and a crash of the database server itself can
    /// lose the last fraction of a second of marks, whose recipients are
    /// then sent the issue again (with the same Message-ID), never skipped.
    async fn mark(&self, r: &Recipient, mark: Mark<'_>) -> Result<bool, sqlx::Error> {
        let now = self.now();
        match self.db.backend() {
            crate::db::Backend::Postgres => {
                let mut tx = self.db.begin().await?;
                crate::execute!(tx.ex(), "set local synchronous_commit = off")?;
                let marked = issues::mark(tx.ex(), r, mark, now).await?;
                tx.commit().await?;
                Ok(marked)
            }
            crate::db::Backend::Sqlite => {
                let mut c = self.db.write().await?;
                issues::mark(c.ex(), r, mark, now).await
            }
        }
    }

    async fn release(
        &self,
        rows: &[Recipient],
        at: i64,
        report: &mut StepReport,
    ) -> Result<(), sqlx::Error> {
        for r in rows {
            if self.mark(r, Mark::Release { at }).await? {
                report.released += 1;
            }
        }
        Ok(())
    }

    /// The rendered issue, made on first use in this process.
    async fn issue_mail(&self, issue_id: i64) -> anyhow::Result<Option<Arc<IssueMail>>> {
        if let Some(m) = self.issues.lock().unwrap().get(&issue_id) {
            return Ok(Some(m.clone()));
        }
        let mut c = self.db.read().await?;
        let Some(loaded) = compose::load(c.ex(), &self.config, issue_id, self.now()).await? else {
            return Ok(None);
        };
        let epoch = crate::db::settings::content_epoch(c.ex()).await?;
        let site = Site::load(c.ex(), epoch).await?;
        drop(c);
        let ctx = loaded.context(&site, &self.config);
        let render = |reader| compose::render(&self.renderer, &ctx, reader);
        let (reader, member, subscriber) = (
            render(Reader::Anonymous)?,
            render(Reader::Member)?,
            render(Reader::Subscriber)?,
        );
        let newsletter = loaded.newsletter;
        let from = sender_of(&self.config, &site, &newsletter)?;
        let reply_to = Some(newsletter.reply_to.trim())
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<Mailbox>())
            .transpose()
            .with_context(|| format!("the reply-to address of {:?}", newsletter.name))?;
        let mail = Arc::new(IssueMail {
            list_id: list_id(&newsletter, &self.config),
            from,
            reply_to,
            reader,
            member,
            subscriber,
            newsletter,
        });
        self.issues.lock().unwrap().insert(issue_id, mail.clone());
        Ok(Some(mail))
    }

    /// What each claimed recipient is now: still subscribed, suppressed,
    /// consenting (offers), and which kind of reader.
    async fn statuses(
        &self,
        newsletter: &Newsletter,
        recipients: &[Recipient],
    ) -> Result<HashMap<i64, Status>, sqlx::Error> {
        let ids: Vec<i64> = recipients.iter().map(|r| r.subscriber_id).collect();
        let sql = format!(
            "select sub.id as subscriber_id, coalesce(ns.state, '') as subscription, \
             exists (select 1 from mail_suppressions x where x.email_normalized = sub.email_normalized) as suppressed, \
             coalesce(m.role, '') as role, \
             exists (select 1 from entitlements e where e.member_id = sub.member_id and e.starts_at <= $2 \
               and e.valid_until > $2 and e.revoked_at is null) as entitled, \
             ($3 <> 'offers' or coalesce((select c.granted from consents c where c.subscriber_id = sub.id \
               and c.purpose = 'offers' order by c.id desc limit 1), false)) as consented \
             from subscribers sub \
             left join newsletter_subscriptions ns on ns.subscriber_id = sub.id and ns.newsletter_id = $1 \
             left join members m on m.id = sub.member_id \
             where sub.id in ({})",
            crate::db::placeholders(3, ids.len())
        );
        let mut c = self.db.read().await?;
        let rows = fetch_all_in!(
            c.ex(),
            Status,
            sql,
            &ids,
            newsletter.id,
            self.now(),
            &newsletter.kind
        )?;
        Ok(rows.into_iter().map(|s| (s.subscriber_id, s)).collect())
    }
}

/// What building a recipient's message needs, shared with the threads
/// that build messages ahead of their turn.
struct Builder {
    config: Arc<Config>,
    keys: Keys,
    dkim: Option<DkimConfig>,
    bounce: (String, String),
    message_id_domain: String,
}

impl Builder {
    /// The message for one recipient: envelope (with its VERP return
    /// path), the signed bytes, and the name for the mail-drop folder.
    fn build(
        &self,
        mail: &IssueMail,
        r: &Recipient,
        reader: Reader,
        now: i64,
    ) -> Result<(Envelope, Vec<u8>, String), String> {
        let to_address: Address = r
            .email
            .parse()
            .map_err(|_| format!("{:?} is not a mail address", r.email))?;
        let nl = mail.newsletter.id;
        let token = tokens::make(
            &self.keys,
            Purpose::Preferences,
            r.subscriber_id,
            Some(nl),
            now,
        );
        let preferences =
            links::preferences_url(&self.config, &self.keys, r.subscriber_id, Some(nl), now);
        let unsubscribe =
            links::unsubscribe_url(&self.config, &self.keys, r.subscriber_id, nl, now);
        let rendered = match reader {
            Reader::Subscriber | Reader::Staff => &mail.subscriber,
            Reader::Member => &mail.member,
            Reader::Anonymous | Reader::Crawler => &mail.reader,
        };
        let (text, html) = rendered.personalise(&preferences, &unsubscribe);
        let (local, domain) = &self.bounce;
        let mailto = format!("mailto:{local}+{token}@{domain}?subject=unsubscribe");
        let bounce_token =
            tokens::make(&self.keys, Purpose::Bounce, r.subscriber_id, Some(nl), now);
        let return_path: Address = format!("{local}+{bounce_token}@{domain}")
            .parse()
            .map_err(|e| format!("the bounce address: {e}"))?;
        let message_id = format!(
            "<{}.{}@{}>",
            r.issue_id,
            self.keys.sign_short(
                "issue-message-id",
                format!("{}.{}", r.issue_id, r.subscriber_id).as_bytes()
            ),
            self.message_id_domain
        );
        let header = |name: &'static str, value: String| {
            HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
        };
        let mut builder = Message::builder()
            .from(mail.from.clone())
            .to(Mailbox::new(None, to_address.clone()))
            .subject(rendered.subject.clone())
            .date(std::time::SystemTime::now())
            .message_id(Some(message_id.clone()))
            .raw_header(header(
                "List-Unsubscribe",
                format!("<{unsubscribe}>, <{mailto}>"),
            ))
            .raw_header(header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
            ))
            .raw_header(header("List-Id", mail.list_id.clone()));
        if let Some(reply_to) = &mail.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let mut message = builder
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| format!("the message cannot be built: {e}"))?;
        if let Some(dkim) = &self.dkim {
            lettre::message::dkim::dkim_sign(&mut message, dkim);
        }
        let envelope = Envelope::new(Some(return_path), vec![to_address])
            .map_err(|e| format!("the envelope: {e}"))?;
        let name = format!("issue-{}-{}", r.issue_id, r.subscriber_id);
        Ok((envelope, message.formatted(), name))
    }
}

/// A claimed recipient's standing at send time.
#[derive(Debug, sqlx::FromRow)]
struct Status {
    subscriber_id: i64,
    subscription: String,
    suppressed: bool,
    role: String,
    entitled: bool,
    consented: bool,
}

impl Status {
    fn reader(&self) -> Reader {
        match (self.role.as_str(), self.entitled) {
            ("", _) => Reader::Anonymous,
            ("member", true) => Reader::Subscriber,
            ("member", false) => Reader::Member,
            _ => Reader::Staff,
        }
    }
}

/// Why a recipient is skipped at its turn, if it is.
fn skip_reason(status: Option<&Status>) -> Option<&'static str> {
    match status {
        None => Some("the address was removed"),
        Some(s) if s.subscription != "active" => Some("unsubscribed before the issue reached them"),
        Some(s) if s.suppressed => Some("the address is on the suppression list"),
        Some(s) if !s.consented => Some("the consent to offers was withdrawn"),
        Some(_) => None,
    }
}

/// The domain part of an address, lower-cased (for the pace).
fn domain_of(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, d)| d)
}

/// The bounce address split into local part and domain.
fn bounce_parts(config: &Config) -> (String, String) {
    let address = config
        .bounce_address
        .clone()
        .unwrap_or_else(|| format!("bounces@{}", crate::mail::message_id_domain(config)));
    match address.rsplit_once('@') {
        Some((l, d)) => (l.to_string(), d.to_string()),
        None => ("bounces".into(), "localhost".into()),
    }
}

fn dkim_domain(config: &Config) -> String {
    config
        .dkim_domain
        .clone()
        .unwrap_or_else(|| crate::mail::message_id_domain(config))
}

/// Reads the DKIM key: an RSA key in PKCS#1 PEM, else an Ed25519 key as
/// base64. The signature covers the headers RFC 8058 asks for.
fn load_dkim(file: &std::path::Path, selector: &str, domain: &str) -> anyhow::Result<DkimConfig> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the DKIM key {}", file.display()))?;
    let key = if text.contains("BEGIN RSA PRIVATE KEY") {
        DkimSigningKey::new(&text, DkimSigningAlgorithm::Rsa)
    } else {
        DkimSigningKey::new(text.trim(), DkimSigningAlgorithm::Ed25519)
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "the DKIM key {} is neither an RSA key in PKCS#1 PEM nor an Ed25519 key in base64: {e:?}",
            file.display()
        )
    })?;
    let headers = [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "List-Id",
    ]
    .into_iter()
    .map(HeaderName::new_from_ascii_str)
    .collect();
    Ok(DkimConfig::new(
        selector.to_string(),
        domain.to_string(),
        key,
        headers,
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    ))
}

/// The newsletter's sender, or the publication's.
pub(crate) fn sender_of(config: &Config, site: &Site, n: &Newsletter) -> anyhow::Result<Mailbox> {
    let name = if n.from_name.trim().is_empty() {
        site.publication.name.clone()
    } else {
        n.from_name.trim().to_string()
    };
    if n.from_address.trim().is_empty() {
        let default = crate::mail::default_from(config, &name);
        return default
            .parse()
            .with_context(|| format!("the default sender {default:?}"));
    }
    let address: Address = n
        .from_address
        .trim()
        .parse()
        .with_context(|| format!("the sender address of {:?}", n.name))?;
    Ok(Mailbox::new(Some(name), address))
}

/// `List-Id: Name <slug.host>` (RFC 2919), the name kept to safe characters.
fn list_id(n: &Newsletter, config: &Config) -> String {
    let name: String = n
        .name
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.' | '&'))
        .collect();
    let slug: String = n
        .slug
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    format!(
        "{} <{}.{}>",
        name.trim(),
        if slug.is_empty() { "newsletter" } else { &slug },
        crate::mail::message_id_domain(config)
    )
}

/// A token bucket per destination domain.
struct Pace {
    per_second: f64,
    buckets: HashMap<String, (f64, Instant)>,
}

impl Pace {
    fn new(per_second: u32) -> Pace {
        Pace {
            per_second: f64::from(per_second),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `domain`: `None` to send now, or how long to wait.
    fn take(&mut self, domain: &str) -> Option<Duration> {
        self.take_at(domain, Instant::now())
    }

    fn take_at(&mut self, domain: &str, now: Instant) -> Option<Duration> {
        if self.per_second <= 0.0 {
            return None;
        }
        let rate = self.per_second;
        let (tokens, last) = self
            .buckets
            .entry(domain.to_ascii_lowercase())
            .or_insert((rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_lets_a_second_of_mail_through_per_domain_then_spaces_it() {
        let mut pace = Pace::new(2);
        let t0 = Instant::now();
        assert_eq!(pace.take_at("gmail.com", t0), None);
        assert_eq!(pace.take_at("gmail.com", t0), None);
        let wait = pace
            .take_at("GMAIL.com", t0)
            .expect("a third in the same instant waits");
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        // Another domain has its own bucket.
        assert_eq!(pace.take_at("example.org", t0), None);
        // Half a second later one more token has come.
        assert_eq!(
            pace.take_at("gmail.com", t0 + Duration::from_millis(500)),
            None
        );
        assert!(Pace::new(0).take_at("gmail.com", t0).is_none());
    }

    fn status(subscription: &str, suppressed: bool, consented: bool) -> Status {
        Status {
            subscriber_id: 1,
            subscription: subscription.into(),
            suppressed,
            role: String::new(),
            entitled: false,
            consented,
        }
    }

    #[test]
    fn recipients_are_skipped_for_stated_reasons() {
        assert_eq!(skip_reason(Some(&status("active", false, true))), None);
        assert!(skip_reason(Some(&status("unsubscribed", false, true))).is_some());
        assert!(
            skip_reason(Some(&status("active", true, true)))
                .unwrap()
                .contains("suppression")
        );
        assert!(
            skip_reason(Some(&status("active", false, false)))
                .unwrap()
                .contains("consent")
        );
        assert!(skip_reason(None).is_some());
    }

    #[test]
    fn the_kind_of_reader_follows_role_and_entitlement() {
        let mut s = status("active", false, true);
        assert_eq!(s.reader(), Reader::Anonymous);
        s.role = "member".into();
        assert_eq!(s.reader(), Reader::Member);
        s.entitled = true;
        assert_eq!(s.reader(), Reader::Subscriber);
        s.role = "editor".into();
        s.entitled = false;
        assert_eq!(s.reader(), Reader::Staff);
    }
}
