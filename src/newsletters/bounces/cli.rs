//! `masthead mail ...`: feed a returned mail in from a mail server's pipe,
//! and keep the suppression list by hand.

use std::io::Read;

use clap::Subcommand;

use super::{Reason, TryLater};
use crate::config::Config;
use crate::domain::email::Email;

/// EX_TEMPFAIL (sysexits.h): the mail server keeps the message and retries.
pub const EX_TEMPFAIL: u8 = 75;
/// The largest message read; bounces carry at most the original's headers,
/// so anything larger is cut (its report part comes first).
const MAX_MESSAGE_BYTES: u64 = 10 * 1024 * 1024;

#[derive(Subcommand)]
pub enum MailCommand {
    /// Read one returned mail from standard input: a delivery status
    /// notification (bounce), a spam complaint (ARF), or a mail to an
    /// unsubscribe address. Exits 0 when handled or not a bounce, 75 when
    /// the database does not answer (the mail server retries).
    Ingest {
        /// The envelope recipient, as the mail server's pipe gives it
        /// (Postfix `${recipient}`); the VERP address names the subscriber.
        #[arg(long, value_name = "ADDR")]
        recipient: Vec<String>,
    },
    /// Stop bulk mail to an address.
    Suppress {
        address: String,
        /// Why, kept with the entry.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Let bulk mail go to an address again (its soft bounces are forgotten).
    Unsuppress { address: String },
    /// List the suppressed addresses.
    Suppressions,
}

/// Runs a `mail` command; answers the process's exit status.
pub async fn run(config: &Config, command: MailCommand) -> u8 {
    match command {
        MailCommand::Ingest { recipient } => ingest(config, &recipient).await,
        other => match manage(config, other).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e:#}");
                1
            }
        },
    }
}

async fn ingest(config: &Config, envelope: &[String]) -> u8 {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin()
        .take(MAX_MESSAGE_BYTES)
        .read_to_end(&mut raw)
    {
        eprintln!("masthead mail ingest: cannot read the message: {e}");
        return EX_TEMPFAIL;
    }
    let keys = match crate::keys::Keys::load(
        config.secret_key.as_deref(),
        &config.previous_secret_keys,
        &config.data_dir,
    ) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("masthead mail ingest: cannot load the secret key: {e:#}");
            return EX_TEMPFAIL;
        }
    };
    let db = match crate::app::open_database(config).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("masthead mail ingest: {e:#}; the mail server should retry");
            return EX_TEMPFAIL;
        }
    };
    let now = crate::clock::micros(jiff::Timestamp::now());
    let code = match super::ingest(&db, &keys, &raw, envelope, now).await {
        Ok(line) => {
            println!("masthead mail ingest: {line}");
            tracing::info!("mail ingest: {line}");
            0
        }
        Err(TryLater(e)) => {
            eprintln!(
                "masthead mail ingest: the database did not answer ({e}); the mail server should retry"
            );
            EX_TEMPFAIL
        }
    };
    db.close().await;
    code
}

async fn manage(config: &Config, command: MailCommand) -> anyhow::Result<()> {
    let db = crate::app::open_database(config).await?;
    let now = crate::clock::micros(jiff::Timestamp::now());
    let address = |a: &str| Email::parse(a).map_err(anyhow::Error::msg);
    match command {
        MailCommand::Ingest { .. } => unreachable!("handled by run"),
        MailCommand::Suppress { address: a, reason } => {
            let email = address(&a)?;
            let reason = reason.trim();
            if reason.chars().count() > 500 || reason.chars().any(char::is_control) {
                anyhow::bail!("--reason must be one line of at most 500 characters");
            }
            let mut conn = db.write().await?;
            let added =
                super::suppress(conn.ex(), email.normalized(), Reason::Manual, reason, now).await?;
            if added {
                println!("No bulk mail goes to {} any more.", email.normalized());
            } else {
                println!(
                    "{} was suppressed already; nothing changed.",
                    email.normalized()
                );
            }
        }
        MailCommand::Unsuppress { address: a } => {
            let email = address(&a)?;
            let mut tx = db.begin().await?;
            let removed = super::unsuppress(tx.ex(), email.normalized()).await?;
            tx.commit().await?;
            if removed {
                println!("Bulk mail may go to {} again.", email.normalized());
            } else {
                println!(
                    "{} was not suppressed; nothing changed.",
                    email.normalized()
                );
            }
        }
        MailCommand::Suppressions => {
            let mut conn = db.read().await?;
            let mut after = String::new();
            let mut n = 0;
            loop {
                let page = super::suppressions(conn.ex(), &after, 1000).await?;
                for s in &page {
                    let at = jiff::Timestamp::from_microsecond(s.created_at)
                        .map(|t| t.strftime("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default();
                    println!("{}\t{}\t{at}\t{}", s.email_normalized, s.reason, s.detail);
                    n += 1;
                }
                match page.last() {
                    Some(last) if page.len() == 1000 => after = last.email_normalized.clone(),
                    _ => break,
                }
            }
            eprintln!("{n} suppressed address{}.", if n == 1 { "" } else { "es" });
        }
    }
    db.close().await;
    Ok(())
}
