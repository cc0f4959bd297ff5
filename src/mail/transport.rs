//! Handing a mail on: building the RFC 5322 message from an outbox row, and
//! the transports that take it (an SMTP server, the mail-drop folder, or
//! memory in unit tests), each telling a temporary failure (try again later)
//! from a permanent one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use url::Url;

use super::smtp::SmtpClient;

use super::outbox::OutboxRow;

/// Where delivered mail goes.
#[derive(Clone, Debug)]
pub enum Transport {
    /// An SMTP server, over a few connections kept open ([`SmtpClient`]).
    Smtp(Arc<SmtpClient>),
    /// A folder that receives each message as `<outbox id>.eml`: the
    /// default when no SMTP server is configured, so a development setup or
    /// a test can read what would have been sent.
    Drop(PathBuf),
    /// A list in memory, for unit tests.
    Memory(Arc<Mutex<Vec<MemoryMail>>>),
}

/// A message the [`Transport::Memory`] transport received.
#[derive(Clone, Debug)]
pub struct MemoryMail {
    pub outbox_id: i64,
    pub message_id: String,
    /// The envelope's recipients.
    pub to: Vec<String>,
    /// The whole message as it would go on the wire.
    pub raw: String,
}

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Try again later: an SMTP 4xx, a connection that failed, a full disk.
    #[error("temporary failure: {0}")]
    Temporary(String),
    /// Do not try again: an SMTP 5xx, a message that cannot be built.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// The transport the configuration asks for: SMTP when `smtp_url` is set,
/// else the mail-drop folder in the data folder.
pub fn transport_for(config: &crate::config::Config) -> anyhow::Result<Transport> {
    match &config.smtp_url {
        Some(url) => Transport::smtp(url),
        None => Ok(Transport::Drop(config.mail_drop_dir())),
    }
}

impl Transport {
    /// An SMTP transport from a URL:
    ///
    /// - `smtp://host[:port]` (port 25 by default) upgrades to TLS with
    ///   STARTTLS when the server offers it; `?tls=required` refuses to go on
    ///   without it, `?tls=none` never tries (a local relay with a
    ///   self-signed certificate);
    /// - `smtps://host[:port]` (port 465 by default) speaks TLS from the
    ///   start;
    /// - `user:password@` in the URL (percent-encoded) are the credentials.
    pub fn smtp(url: &Url) -> anyhow::Result<Transport> {
        Ok(Transport::Smtp(Arc::new(SmtpClient::from_url(url)?)))
    }

    /// A name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Smtp(_) => "smtp",
            Transport::Drop(_) => "mail-drop",
            Transport::Memory(_) => "memory",
        }
    }

    /// A memory transport and the list it fills.
    pub fn memory() -> (Transport, Arc<Mutex<Vec<MemoryMail>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (Transport::Memory(sent.clone()), sent)
    }

    /// Hands one outbox row on.
    pub async fn deliver(&self, row: &OutboxRow) -> Result<(), DeliveryError> {
        let message = build_message(row)?;
        match self {
            Transport::Smtp(smtp) => smtp
                .send_raw(message.envelope(), &message.formatted())
                .await
                .map_err(|e| match e {
                    RawError::Refused(_) | RawError::NoSmtpUtf8 => {
                        DeliveryError::Permanent(e.to_string())
                    }
                    RawError::Deferred(_) | RawError::Unavailable(_) => {
                        DeliveryError::Temporary(e.to_string())
                    }
                }),
            Transport::Drop(dir) => {
                write_drop(dir, row.id, &message.formatted())
                    .await
                    .map_err(|e| {
                        DeliveryError::Temporary(format!(
                            "cannot write to the mail-drop folder {}: {e}",
                            dir.display()
                        ))
                    })
            }
            Transport::Memory(sent) => {
                let mail = MemoryMail {
                    outbox_id: row.id,
                    message_id: row.message_id.clone(),
                    to: message
                        .envelope()
                        .to()
                        .iter()
                        .map(|a| a.to_string())
                        .collect(),
                    raw: String::from_utf8_lossy(&message.formatted()).into_owned(),
                };
                sent.lock()
                    .map_err(|_| {
                        DeliveryError::Temporary("the memory transport is poisoned".into())
                    })?
                    .push(mail);
                Ok(())
            }
        }
    }
}

/// Why a message built elsewhere (a newsletter's) was not handed on, with
/// what the sender needs to tell a refusal of this recipient from a server
/// that cannot be reached.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    /// The server refused this message for good (SMTP 5xx).
    #[error("refused: {0}")]
    Refused(String),
    /// The server asked to try this message again later (SMTP 4xx).
    #[error("deferred: {0}")]
    Deferred(String),
    /// The recipient's address has non-ASCII characters and the server does
    /// not take them (no SMTPUTF8).
    #[error(
        "the address has characters outside ASCII and the mail server does not accept them (no SMTPUTF8)"
    )]
    NoSmtpUtf8,
    /// No answer: the server is down, the connection broke, TLS failed, the
    /// folder cannot be written. Nothing is known about this recipient.
    #[error("the mail server cannot be reached: {0}")]
    Unavailable(String),
}

impl Transport {
    /// Hands on a message built and signed by the caller, with its own
    /// envelope (a per-recipient return path). The drop folder names the
    /// file `<name>.eml`.
    pub async fn deliver_raw(
        &self,
        envelope: &lettre::address::Envelope,
        bytes: &[u8],
        name: &str,
    ) -> Result<(), RawError> {
        match self {
            Transport::Smtp(smtp) => smtp.send_raw(envelope, bytes).await,
            Transport::Drop(dir) => write_drop_named(dir, name, bytes)
                .await
                .map_err(|e| RawError::Unavailable(format!("{}: {e}", dir.display()))),
            Transport::Memory(sent) => {
                sent.lock()
                    .map_err(|_| RawError::Unavailable("the memory transport is poisoned".into()))?
                    .push(MemoryMail {
                        outbox_id: 0,
                        message_id: name.to_string(),
                        to: envelope.to().iter().map(|a| a.to_string()).collect(),
                        raw: String::from_utf8_lossy(bytes).into_owned(),
                    });
                Ok(())
            }
        }
    }
}

/// Writes `<id>.eml` whole or not at all: a temporary file renamed into
/// place, so a reader of the folder never sees half a message.
async fn write_drop(dir: &Path, id: i64, bytes: &[u8]) -> std::io::Result<()> {
    write_drop_named(dir, &id.to_string(), bytes).await
}

async fn write_drop_named(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{name}.eml.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, dir.join(format!("{name}.eml"))).await
}

fn permanent(what: &str, e: impl std::fmt::Display) -> DeliveryError {
    DeliveryError::Permanent(format!("{what}: {e}"))
}

/// Builds the message of an outbox row: From, To, Reply-To, Subject, the
/// Date it was queued, its stable Message-ID, the extra headers, and the
/// text alone or text and HTML as `multipart/alternative`.
pub fn build_message(row: &OutboxRow) -> Result<Message, DeliveryError> {
    let mailbox = |what: &str, s: &str| {
        s.parse::<Mailbox>()
            .map_err(|e| permanent(&format!("the {what} address {s:?}"), e))
    };
    let date = SystemTime::UNIX_EPOCH + Duration::from_micros(row.created_at.max(0) as u64);
    let mut builder = Message::builder()
        .from(mailbox("sender", &row.from_address)?)
        .to(mailbox("recipient", &row.to_address)?)
        .subject(row.subject.clone())
        .date(date)
        .message_id(Some(row.message_id.clone()));
    if let Some(r) = &row.reply_to {
        builder = builder.reply_to(mailbox("reply-to", r)?);
    }
    let headers: BTreeMap<String, String> =
        serde_json::from_str(&row.headers).map_err(|e| permanent("the extra headers", e))?;
    for (name, value) in headers {
        let header = HeaderName::new_from_ascii(name.clone())
            .map_err(|e| permanent(&format!("the header name {name:?}"), e))?;
        builder = builder.raw_header(HeaderValue::new(header, value));
    }
    let built = match &row.html_body {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            html.clone(),
        )),
        None => builder
            .header(ContentType::TEXT_PLAIN)
            .body(row.text_body.clone()),
    };
    built.map_err(|e| permanent("the message cannot be built", e))
}

/// Decodes `%XX` escapes (the user and password of a URL).
pub(crate) fn percent_decode(s: &str) -> anyhow::Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).context("a cut-off % escape")?;
            let hex = std::str::from_utf8(hex).context("a bad % escape")?;
            out.push(u8::from_str_radix(hex, 16).context("a bad % escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("not UTF-8 once decoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(html: Option<&str>) -> OutboxRow {
        OutboxRow {
            id: 7,
            lane: "transactional".into(),
            to_address: "Asha Menon <asha@example.com>".into(),
            from_address: "\"The Herald\" <noreply@news.example>".into(),
            reply_to: Some("desk@news.example".into()),
            subject: "Your sign-in link".into(),
            text_body: "Hello,\n\nsign in here.\n".into(),
            html_body: html.map(str::to_string),
            headers: r#"{"List-Unsubscribe":"<https://news.example/u/1>"}"#.into(),
            message_id: "<abc123@news.example>".into(),
            state: "queued".into(),
            attempts: 1,
            next_attempt_at: 0,
            lease_until: Some(1),
            last_error: String::new(),
            created_at: 1_606_263_360_000_000,
            sent_at: None,
        }
    }

    fn wire(row: &OutboxRow) -> String {
        String::from_utf8(build_message(row).unwrap().formatted()).unwrap()
    }

    #[test]
    fn a_text_mail_carries_its_stable_headers_and_one_plain_part() {
        let m = wire(&row(None));
        assert!(m.contains("Message-ID: <abc123@news.example>\r\n"), "{m}");
        assert!(m.contains("Subject: Your sign-in link\r\n"), "{m}");
        assert!(
            m.contains("Date: Wed, 25 Nov 2020 00:16:00 +0000\r\n"),
            "{m}"
        );
        assert!(m.contains("Reply-To: desk@news.example\r\n"), "{m}");
        assert!(
            m.contains("List-Unsubscribe: <https://news.example/u/1>\r\n"),
            "{m}"
        );
        assert!(m.contains("Content-Type: text/plain; charset=utf-8"), "{m}");
        assert!(!m.contains("multipart"), "{m}");
        assert!(m.contains("sign in here."), "{m}");
    }

    #[test]
    fn a_mail_with_html_is_multipart_alternative_text_first() {
        let m = wire(&row(Some("<p>Sign in <b>here</b>.</p>")));
        assert!(m.contains("multipart/alternative"), "{m}");
        let text = m.find("text/plain").unwrap();
        let html = m.find("text/html").unwrap();
        assert!(text < html, "the plain part comes first: {m}");
    }

    #[test]
    fn building_the_same_row_twice_gives_the_same_message_id_and_date() {
        let r = row(None);
        let a = build_message(&r).unwrap();
        let b = build_message(&r).unwrap();
        assert_eq!(
            a.headers().get_raw("Message-ID"),
            b.headers().get_raw("Message-ID")
        );
        assert_eq!(a.headers().get_raw("Date"), b.headers().get_raw("Date"));
    }

    #[test]
    fn an_unparseable_address_is_a_permanent_failure() {
        let mut r = row(None);
        r.to_address = "nobody".into();
        assert!(matches!(
            build_message(&r),
            Err(DeliveryError::Permanent(_))
        ));
    }

    #[tokio::test]
    async fn the_memory_transport_keeps_what_it_was_given() {
        let (t, sent) = Transport::memory();
        t.deliver(&row(None)).await.unwrap();
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].outbox_id, 7);
        assert_eq!(sent[0].to, vec!["asha@example.com".to_string()]);
    }

    #[tokio::test]
    async fn the_drop_folder_gets_one_whole_file_per_mail() {
        let dir = tempfile::tempdir().unwrap();
        let drop_dir = dir.path().join("mail-drop");
        let t = Transport::Drop(drop_dir.clone());
        t.deliver(&row(None)).await.unwrap();
        t.deliver(&row(None)).await.unwrap();
        let names: Vec<String> = std::fs::read_dir(&drop_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["7.eml".to_string()]);
    }

    #[tokio::test]
    async fn smtp_urls_choose_tls_and_credentials() {
        let ok = |u: &str| Transport::smtp(&Url::parse(u).unwrap()).is_ok();
        assert!(ok("smtp://127.0.0.1:2525"));
        assert!(ok("smtp://mail.example?tls=required"));
        assert!(ok("smtp://relay.local?tls=none"));
        assert!(ok("smtps://user%40example.com:p%40ss@mail.example"));
        assert!(ok("smtp://[::1]:25"));
        assert!(!ok("smtps://mail.example?tls=none"));
        assert!(!ok("smtp://mail.example?tls=maybe"));
    }

    #[test]
    fn percent_escapes_in_credentials_are_decoded() {
        assert_eq!(percent_decode("p%40ss%2Fw").unwrap(), "p@ss/w");
        assert_eq!(percent_decode("plain").unwrap(), "plain");
        assert!(percent_decode("bad%4").is_err());
    }

    #[test]
    fn without_an_smtp_url_mail_goes_to_the_drop_folder() {
        let config = crate::config::Config::from_layer(crate::config::Layer {
            data: Some("/srv/news".into()),
            ..Default::default()
        })
        .unwrap();
        match transport_for(&config).unwrap() {
            Transport::Drop(dir) => assert_eq!(dir, PathBuf::from("/srv/news/mail-drop")),
            other => panic!("expected the drop folder, got {other:?}"),
        }
    }
}
