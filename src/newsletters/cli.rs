//! `masthead newsletter`: define newsletters (create, edit, archive), list
//! them and their issues, compose an issue, send it with progress, send a
//! test copy, cancel.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;

use super::define;
use super::issues::{self, Draft};
use super::send::Sender;
use super::subscriptions::{Kind, NewNewsletter};
use crate::app::AppState;
use crate::domain::access::Reader;

#[derive(Subcommand)]
pub enum NewsletterCommand {
    /// The newsletters, with how many would receive an issue now.
    List,
    /// The latest issues of a newsletter and where each stands.
    Issues {
        /// The newsletter's slug (see `masthead newsletter list`).
        newsletter: String,
    },
    /// Compose a draft issue; prints its number.
    Compose {
        /// The newsletter's slug.
        #[arg(long)]
        newsletter: String,
        #[arg(long)]
        subject: String,
        /// Paragraphs above the stories (blank lines between paragraphs).
        #[arg(long, default_value = "")]
        intro: String,
        /// A story to include, by number; repeat in the order wanted.
        #[arg(long = "story", value_name = "ID")]
        stories: Vec<i64>,
        /// Add the N most-read stories published since the newsletter's
        /// last issue (or the last week).
        #[arg(long, value_name = "N")]
        top: Option<i64>,
    },
    /// Send an issue now and wait until every recipient has been tried,
    /// showing progress. Run again after an interruption: it goes on where
    /// the last run stopped, and no recipient is missed.
    Send {
        issue: i64,
        /// How long a batch of recipients is held by this process; after a
        /// crash the next run waits this long for the batch in flight.
        #[arg(long, default_value_t = 120, value_name = "SECONDS")]
        lease_secs: u64,
        /// Recipients claimed at once.
        #[arg(long, default_value_t = 100)]
        batch: i64,
    },
    /// Send a copy of an issue to one address, as a kind of reader would get it.
    Test {
        issue: i64,
        #[arg(long)]
        to: String,
        /// reader (an address without an account), member or subscriber.
        #[arg(long = "as", default_value = "subscriber")]
        reader: String,
    },
    /// Stop an issue: a draft or scheduled one is never sent; a sending one
    /// stops after the message in flight.
    Cancel { issue: i64 },
    /// Define a new newsletter; prints its number.
    Create {
        /// Its address: lower-case letters, digits and hyphens.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        fields: DefinitionFlags,
    },
    /// Change a newsletter; only the fields given change. Its kind is fixed.
    Edit {
        /// The newsletter's slug (see `masthead newsletter list`).
        newsletter: String,
        /// A new address for it (links in mail already sent keep working).
        #[arg(long)]
        slug: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        fields: DefinitionFlags,
        /// Stop subscribing new members to it on registration.
        #[arg(long, conflicts_with = "subscribe_on_register")]
        no_subscribe_on_register: bool,
    },
    /// Archive a newsletter: readers no longer see it nor subscribe; its
    /// subscriptions and issues are kept.
    Archive {
        /// The newsletter's slug.
        newsletter: String,
    },
}

/// The fields of a newsletter that `create` and `edit` share.
#[derive(clap::Args)]
pub struct DefinitionFlags {
    #[arg(long)]
    description: Option<String>,
    /// The sender's name (empty: the publication's).
    #[arg(long)]
    from_name: Option<String>,
    /// The sender's address (empty: the publication's).
    #[arg(long)]
    from_address: Option<String>,
    #[arg(long)]
    reply_to: Option<String>,
    /// When it goes out, in words for readers ("Every day at 6 am").
    #[arg(long)]
    schedule: Option<String>,
    /// editorial or offers (offers go only to readers who agreed to them).
    /// Fixed once the newsletter exists.
    #[arg(long)]
    kind: Option<String>,
    /// Subscribe new members to it when they confirm their address
    /// (editorial newsletters only).
    #[arg(long)]
    subscribe_on_register: bool,
    /// Its place in the list (default: last).
    #[arg(long)]
    position: Option<i64>,
}

fn parse_kind(s: &str) -> anyhow::Result<Kind> {
    Kind::parse(s).with_context(|| format!("the kind is editorial or offers, not {s:?}"))
}

fn refused(r: define::Refused) -> anyhow::Error {
    let lines: Vec<String> =
        r.0.into_iter()
            .map(|(f, w)| format!("  {f}: {w}"))
            .collect();
    anyhow::anyhow!("the newsletter was not saved:\n{}", lines.join("\n"))
}

pub async fn run(state: &AppState, command: NewsletterCommand) -> anyhow::Result<()> {
    let now = state.now_micros();
    match command {
        NewsletterCommand::List => {
            let mut c = state.db.read().await?;
            for n in crate::newsletters::subscriptions::listed(c.ex()).await? {
                let audience = issues::audience(c.ex(), n.id).await?;
                println!(
                    "{:<24} {:>9} recipients  {} ({})",
                    n.slug, audience, n.name, n.kind
                );
            }
            Ok(())
        }
        NewsletterCommand::Issues { newsletter } => {
            let mut c = state.db.read().await?;
            let n = crate::newsletters::subscriptions::by_slug(c.ex(), &newsletter)
                .await?
                .with_context(|| format!("there is no newsletter {newsletter:?}"))?;
            for i in issues::of_newsletter(c.ex(), n.id, 20).await? {
                let p = issues::progress(c.ex(), i.id).await?.unwrap_or_default();
                println!(
                    "#{:<6} {:<10} sent {:>8}  failed {:>6}  waiting {:>8}  {}",
                    i.id, i.state, p.sent, p.failed, p.waiting, i.subject
                );
            }
            Ok(())
        }
        NewsletterCommand::Compose {
            newsletter,
            subject,
            intro,
            mut stories,
            top,
        } => {
            let mut tx = state.db.begin().await?;
            let n = crate::newsletters::subscriptions::by_slug(tx.ex(), &newsletter)
                .await?
                .with_context(|| format!("there is no newsletter {newsletter:?}"))?;
            if let Some(top) = top {
                let since = issues::last_sent_at(tx.ex(), n.id)
                    .await?
                    .unwrap_or(now - 7 * 86_400_000_000);
                for id in issues::top_stories_since(tx.ex(), since, now, top).await? {
                    if !stories.contains(&id) {
                        stories.push(id);
                    }
                }
            }
            let mut draft = Draft {
                subject,
                intro,
                stories,
            };
            draft.check()?;
            let id = issues::create(tx.ex(), n.id, &draft, None, now).await?;
            tx.commit().await?;
            println!("{id}");
            Ok(())
        }
        NewsletterCommand::Send {
            issue,
            lease_secs,
            batch,
        } => send(state, issue, lease_secs, batch).await,
        NewsletterCommand::Test { issue, to, reader } => {
            let reader = parse_reader(&reader)?;
            let id = super::compose::send_test(state, issue, &to, reader).await?;
            crate::mail::worker::deliver_due(
                &state.db,
                &crate::mail::transport_for(&state.config)?,
                &*state.clock,
            )
            .await?;
            println!("Sent a test copy of issue {issue} to {to} (mail {id}).");
            Ok(())
        }
        NewsletterCommand::Cancel { issue } => {
            let mut c = state.db.write().await?;
            if issues::cancel(c.ex(), issue, now).await? {
                println!("Issue {issue} is cancelled.");
                Ok(())
            } else {
                bail!("issue {issue} does not exist or has already been sent or cancelled")
            }
        }
        NewsletterCommand::Create { slug, name, fields } => {
            let kind = parse_kind(fields.kind.as_deref().unwrap_or("editorial"))?;
            let position = match fields.position {
                Some(p) => p,
                None => define::next_position(state).await?,
            };
            let n = NewNewsletter {
                slug: &slug,
                name: &name,
                description: fields.description.as_deref().unwrap_or(""),
                from_name: fields.from_name.as_deref().unwrap_or(""),
                from_address: fields.from_address.as_deref().unwrap_or(""),
                reply_to: fields.reply_to.as_deref().unwrap_or(""),
                schedule: fields.schedule.as_deref().unwrap_or(""),
                kind,
                subscribe_on_register: fields.subscribe_on_register,
                position,
            };
            let id = define::create(state, &n).await?.map_err(refused)?;
            println!("{id}");
            Ok(())
        }
        NewsletterCommand::Edit {
            newsletter,
            slug,
            name,
            fields,
            no_subscribe_on_register,
        } => {
            let current = {
                let mut c = state.db.read().await?;
                crate::newsletters::subscriptions::by_slug(c.ex(), &newsletter)
                    .await?
                    .with_context(|| format!("there is no newsletter {newsletter:?}"))?
            };
            let kind = match fields.kind.as_deref() {
                Some(k) => parse_kind(k)?,
                None => parse_kind(&current.kind)?,
            };
            let n = NewNewsletter {
                slug: slug.as_deref().unwrap_or(&current.slug),
                name: name.as_deref().unwrap_or(&current.name),
                description: fields
                    .description
                    .as_deref()
                    .unwrap_or(&current.description),
                from_name: fields.from_name.as_deref().unwrap_or(&current.from_name),
                from_address: fields
                    .from_address
                    .as_deref()
                    .unwrap_or(&current.from_address),
                reply_to: fields.reply_to.as_deref().unwrap_or(&current.reply_to),
                schedule: fields.schedule.as_deref().unwrap_or(&current.schedule),
                kind,
                subscribe_on_register: if fields.subscribe_on_register {
                    true
                } else if no_subscribe_on_register {
                    false
                } else {
                    current.subscribe_on_register
                },
                position: fields.position.unwrap_or(current.position),
            };
            define::update(state, current.id, &n)
                .await?
                .map_err(refused)?
                .with_context(|| format!("there is no newsletter {newsletter:?}"))?;
            println!("Newsletter {} is saved.", n.slug);
            Ok(())
        }
        NewsletterCommand::Archive { newsletter } => {
            let current = {
                let mut c = state.db.read().await?;
                crate::newsletters::subscriptions::by_slug(c.ex(), &newsletter)
                    .await?
                    .with_context(|| format!("there is no newsletter {newsletter:?}"))?
            };
            if define::archive(state, current.id).await? {
                println!("Newsletter {newsletter} is archived.");
                Ok(())
            } else {
                bail!("newsletter {newsletter:?} is archived already")
            }
        }
    }
}

/// The kinds of reader a copy can be made for.
pub fn parse_reader(s: &str) -> anyhow::Result<Reader> {
    match s {
        "reader" | "anonymous" => Ok(Reader::Anonymous),
        "member" => Ok(Reader::Member),
        "subscriber" => Ok(Reader::Subscriber),
        other => bail!("expected reader, member or subscriber, got {other:?}"),
    }
}

async fn send(state: &AppState, issue: i64, lease_secs: u64, batch: i64) -> anyhow::Result<()> {
    {
        let mut c = state.db.write().await?;
        let found = issues::find(c.ex(), issue)
            .await?
            .with_context(|| format!("there is no issue {issue}"))?;
        match found.state.as_str() {
            "draft" | "scheduled" => {
                issues::start(c.ex(), issue, state.now_micros()).await?;
            }
            "sending" => {
                eprintln!("Issue {issue} is being sent already; going on where it stopped.")
            }
            other => bail!("issue {issue} is {other}; there is nothing left to send"),
        }
    }
    let transport = crate::mail::transport_for(&state.config)?;
    let mut sender = Sender::for_state(state, transport)?;
    sender.options.lease = Duration::from_secs(lease_secs.max(1));
    sender.options.lease_margin = sender.options.lease / 4;
    sender.options.batch = batch.max(1);
    let started = Instant::now();
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let p = sender
        .run_issue(issue, |p| {
            let line = format!(
                "issue {issue}: {} recipients{}, sent {}, failed {}, skipped {}, waiting {}",
                p.recipients,
                if p.expanded { "" } else { " so far" },
                p.sent,
                p.failed,
                p.skipped,
                p.waiting
            );
            if tty {
                eprint!("\r{line}   ");
            } else {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
        })
        .await?;
    if tty {
        eprintln!();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Issue {issue} is {}: {} sent, {} failed, {} skipped of {} recipients in {secs:.1} s ({:.0} a second).",
        p.state,
        p.sent,
        p.failed,
        p.skipped,
        p.recipients,
        p.sent as f64 / secs.max(0.001)
    );
    Ok(())
}
