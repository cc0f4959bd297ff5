//! The delivery worker: claims due mail in batches, hands each message to
//! the transport, and marks it sent, schedules a retry with backoff after a
//! temporary failure, or marks it failed after a permanent one or the last
//! attempt.
//!
//! Each mark is written right after its own delivery, which keeps the one
//! window SMTP leaves open (the server accepted the message, the mark is not
//! yet written) to a single message. Every instant comes from the [`Clock`]
//! passed in, so tests move time instead of sleeping.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Transport;
use super::outbox::{self, OutboxRow};
use super::transport::DeliveryError;
use crate::clock::{Clock, micros};
use crate::db::Db;

/// How a worker paces itself.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Rows claimed at once.
    pub batch_size: i64,
    /// How long a claim holds its rows. A batch that is still running when
    /// `lease_margin` of it is left gives its untried rows back, so no row is
    /// ever delivered by two live workers.
    pub lease: Duration,
    pub lease_margin: Duration,
    /// How long an idle worker waits before looking again (unless woken).
    pub poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            batch_size: 20,
            lease: Duration::from_secs(10 * 60),
            lease_margin: Duration::from_secs(2 * 60),
            poll: Duration::from_millis(500),
        }
    }
}

/// What one batch did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

impl BatchReport {
    /// Rows tried (sent, retried or failed), as opposed to given back.
    pub fn tried(&self) -> usize {
        self.sent + self.retried + self.failed
    }
}

static WAKE: Notify = Notify::const_new();

/// Wakes an idle worker of this process at once, instead of at its next
/// poll. Call it after committing a transaction that enqueued mail a reader
/// is waiting for (a sign-in link); without it the mail still goes out
/// within one poll interval.
pub fn wake() {
    WAKE.notify_one();
}

fn now_micros(clock: &dyn Clock) -> i64 {
    micros(clock.now())
}

fn duration_micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Claims one batch of due mail and delivers it.
pub async fn deliver_batch(
    db: &Db,
    transport: &Transport,
    clock: &dyn Clock,
    options: &WorkerOptions,
) -> Result<BatchReport, sqlx::Error> {
    let now = now_micros(clock);
    let rows = outbox::claim(db, now, options.batch_size, options.lease).await?;
    let mut report = BatchReport {
        claimed: rows.len(),
        ..BatchReport::default()
    };
    let margin = duration_micros(options.lease_margin);
    for (i, row) in rows.iter().enumerate() {
        let lease_end = row.lease_until.unwrap_or(i64::MIN);
        if now_micros(clock).saturating_add(margin) >= lease_end {
            for untried in &rows[i..] {
                let mut c = db.write().await?;
                outbox::release(c.ex(), untried).await?;
            }
            tracing::warn!(
                left = rows.len() - i,
                "mail batch ran close to its lease; gave the rest back"
            );
            break;
        }
        match transport.deliver(row).await {
            Ok(()) => {
                let mut c = db.write().await?;
                if outbox::mark_sent(c.ex(), row, now_micros(clock)).await? {
                    report.sent += 1;
                }
            }
            Err(e) => {
                if fail(db, clock, row, &e).await? {
                    report.failed += 1;
                } else {
                    report.retried += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Records a failed delivery; answers whether the mail has failed for good.
async fn fail(
    db: &Db,
    clock: &dyn Clock,
    row: &OutboxRow,
    error: &DeliveryError,
) -> Result<bool, sqlx::Error> {
    let mut c = db.write().await?;
    let delay = match error {
        DeliveryError::Permanent(_) => None,
        DeliveryError::Temporary(_) => outbox::retry_delay(row.attempts),
    };
    let text = error.to_string();
    match delay {
        Some(delay) => {
            let next = now_micros(clock).saturating_add(duration_micros(delay));
            tracing::info!(id = row.id, attempts = row.attempts, error = %text, "mail not delivered; will retry");
            outbox::mark_retry(c.ex(), row, next, &text).await?;
            Ok(false)
        }
        None => {
            let text = match error {
                DeliveryError::Temporary(_) => {
                    format!("gave up after {} attempts: {text}", row.attempts)
                }
                DeliveryError::Permanent(_) => text,
            };
            tracing::warn!(id = row.id, error = %text, "mail failed");
            outbox::mark_failed(c.ex(), row, &text).await?;
            Ok(true)
        }
    }
}

/// Delivers every mail that is due now, batch after batch, until none is
/// left; answers how many were sent. This is what tests call; [`run`] loops
/// over the same batches.
pub async fn deliver_due(
    db: &Db,
    transport: &Transport,
    clock: &dyn Clock,
) -> Result<usize, sqlx::Error> {
    deliver_due_with(db, transport, clock, &WorkerOptions::default()).await
}

/// [`deliver_due`] with other batch and lease sizes.
pub async fn deliver_due_with(
    db: &Db,
    transport: &Transport,
    clock: &dyn Clock,
    options: &WorkerOptions,
) -> Result<usize, sqlx::Error> {
    let mut sent = 0;
    loop {
        let report = deliver_batch(db, transport, clock, options).await?;
        sent += report.sent;
        // Nothing claimed, or all given back untried: stop rather than spin.
        if report.tried() == 0 {
            return Ok(sent);
        }
    }
}

/// Delivers mail until `shutdown` resolves: a batch at a time while mail is
/// due, then a pause of one poll interval (or until [`wake`]). A batch in
/// progress is finished before stopping, so a shutdown leaves no lease
/// behind. A database error is logged and tried again a little later.
pub async fn run<F: Future>(db: Db, transport: Transport, clock: Arc<dyn Clock>, shutdown: F) {
    run_with(
        db,
        transport,
        clock,
        WorkerOptions::default(),
        None,
        shutdown,
    )
    .await;
}

/// [`run`] with other batch, lease and poll settings (tests poll faster),
/// and with newsletter issues to send in the bulk lane when `newsletters`
/// is given: between two batches of issue recipients the outbox is asked
/// again, so transactional mail overtakes a send in progress.
pub async fn run_with<F: Future>(
    db: Db,
    transport: Transport,
    clock: Arc<dyn Clock>,
    options: WorkerOptions,
    newsletters: Option<Arc<crate::newsletters::send::Sender>>,
    shutdown: F,
) {
    tracing::info!(transport = transport.kind(), "mail worker started");
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let mut pause = match deliver_batch(&db, &transport, &*clock, &options).await {
            Ok(report) if report.tried() > 0 => None,
            Ok(_) => Some(options.poll),
            Err(e) => {
                tracing::error!(error = %e, "the mail worker cannot reach the database");
                Some(options.poll * 10)
            }
        };
        if pause == Some(options.poll)
            && let Some(sender) = &newsletters
        {
            match sender.step().await {
                Ok(report) if report.busy() => pause = None,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the newsletter sender failed a step");
                    pause = Some(options.poll * 10);
                }
            }
        }
        match pause {
            Some(pause) => {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = WAKE.notified() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            None => {
                // More may be due: go on at once unless asked to stop.
                tokio::select! {
                    biased;
                    _ = &mut shutdown => break,
                    _ = std::future::ready(()) => {}
                }
            }
        }
    }
    if let Transport::Smtp(smtp) = &transport {
        // Says QUIT on the kept connections.
        smtp.shutdown().await;
    }
    tracing::info!("mail worker stopped");
}
