//! Mail: the durable outbox every mail goes through (sign-in links, address
//! verification, reply notifications, newsletters), composing mail from
//! templates, the transports that hand it on, and the worker that delivers.
//!
//! A feature that sends mail never talks to a mail server. It composes the
//! mail ([`compose`]), and writes it with [`enqueue`] in the same database
//! transaction as the thing that caused it, so a rolled-back registration
//! sends nothing and a committed one is never without its mail. A worker
//! ([`worker::run`]) claims due rows, transactional lane first, hands them to
//! the [`Transport`] (SMTP, or `.eml` files in the mail-drop folder) and marks
//! them sent, or schedules a retry with backoff.
//!
//! - [`outbox`]: the table's rows, enqueueing, claiming and marking.
//! - [`transport`]: building the RFC 5322 message and handing it on.
//! - [`smtp`]: the SMTP client, its connections kept open.
//! - [`worker`]: the delivery loop.

pub mod outbox;
pub mod smtp;
pub mod transport;
pub mod worker;

use std::collections::BTreeMap;

use minijinja::ErrorKind;

pub use outbox::enqueue;
pub use transport::{Transport, transport_for};

use crate::render::Renderer;

/// Which queue a mail waits in. Transactional mail is something a reader is
/// waiting for now, so it is always claimed ahead of bulk mail, however much
/// bulk mail is queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lane {
    Transactional,
    Bulk,
}

impl Lane {
    /// The stored form (`transactional`, `bulk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Transactional => "transactional",
            Lane::Bulk => "bulk",
        }
    }

    pub fn parse(s: &str) -> Option<Lane> {
        match s {
            "transactional" => Some(Lane::Transactional),
            "bulk" => Some(Lane::Bulk),
            _ => None,
        }
    }
}

/// A mail to send, as a feature describes it. The sender, the Message-ID and
/// the Date are added by [`enqueue`], so every mail carries them the same way.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingMail {
    /// One recipient, `addr@example.com` or `Name <addr@example.com>`.
    pub to: String,
    /// Where replies go when not to the sender.
    pub reply_to: Option<String>,
    pub subject: String,
    pub text: String,
    /// Sent as the HTML alternative of `text` when present.
    pub html: Option<String>,
    pub lane: Lane,
    /// Extra headers such as `List-Unsubscribe`, by name. The headers the
    /// outbox writes itself (From, To, Subject, Date, Message-ID, MIME) are
    /// refused here.
    pub headers: BTreeMap<String, String>,
}

/// The parts [`compose`] renders: subject, plain text, optional HTML.
pub type Composed = (String, String, Option<String>);

impl OutgoingMail {
    /// A mail from composed parts ([`compose`]).
    pub fn new(lane: Lane, to: impl Into<String>, composed: Composed) -> OutgoingMail {
        let (subject, text, html) = composed;
        OutgoingMail {
            to: to.into(),
            reply_to: None,
            subject,
            text,
            html,
            lane,
            headers: BTreeMap::new(),
        }
    }

    /// A mail in the transactional lane.
    pub fn transactional(to: impl Into<String>, composed: Composed) -> OutgoingMail {
        OutgoingMail::new(Lane::Transactional, to, composed)
    }

    /// A mail in the bulk lane.
    pub fn bulk(to: impl Into<String>, composed: Composed) -> OutgoingMail {
        OutgoingMail::new(Lane::Bulk, to, composed)
    }

    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    pub fn with_reply_to(mut self, reply_to: impl Into<String>) -> Self {
        self.reply_to = Some(reply_to.into());
        self
    }
}

/// Why a mail cannot be queued: it would never be deliverable, so it is
/// refused in the caller's transaction instead of failing later in a worker.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidMail {
    #[error("{field} is not a mail address: {value:?}")]
    Address { field: &'static str, value: String },
    #[error("the header name {0:?} is not allowed")]
    HeaderName(String),
    #[error("the value of the header {0} has a line break or control character")]
    HeaderValue(String),
    #[error("the subject has a line break or control character")]
    Subject,
}

/// Headers the message builder writes itself; a feature may not set them.
const RESERVED_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "sender",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "return-path",
];

/// Checks a header name: letters, digits and `-`, and not one the outbox
/// writes itself.
fn check_header_name(name: &str) -> Result<(), InvalidMail> {
    let ok = !name.is_empty()
        && name.len() <= 76
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str());
    if ok {
        Ok(())
    } else {
        Err(InvalidMail::HeaderName(name.to_string()))
    }
}

fn has_control(s: &str) -> bool {
    s.chars().any(|c| c.is_control() && c != '\t')
}

impl OutgoingMail {
    /// Checks what would make the mail undeliverable or unsafe: addresses
    /// that do not parse, header injection through a line break.
    pub fn check(&self, from: &str) -> Result<(), InvalidMail> {
        check_mailbox("to", &self.to)?;
        check_mailbox("from", from)?;
        if let Some(r) = &self.reply_to {
            check_mailbox("reply_to", r)?;
        }
        if has_control(&self.subject) {
            return Err(InvalidMail::Subject);
        }
        for (name, value) in &self.headers {
            check_header_name(name)?;
            if has_control(value) {
                return Err(InvalidMail::HeaderValue(name.clone()));
            }
        }
        Ok(())
    }
}

fn check_mailbox(field: &'static str, value: &str) -> Result<(), InvalidMail> {
    value
        .parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|_| InvalidMail::Address {
            field,
            value: value.to_string(),
        })
}

/// Renders the mail called `name` from `templates/email/<name>/`:
/// `subject.txt` (folded to one line), `body.txt`, and `body.html` when the
/// template exists. Only the HTML part is auto-escaped; the text parts are
/// plain text and must not be.
pub fn compose(
    renderer: &Renderer,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Composed, minijinja::Error> {
    let subject = renderer.render(&format!("email/{name}/subject.txt"), ctx.clone())?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = renderer.render(&format!("email/{name}/body.txt"), ctx.clone())?;
    let html = match renderer.render(&format!("email/{name}/body.html"), ctx) {
        Ok(html) => Some(html),
        Err(e) if e.kind() == ErrorKind::TemplateNotFound => None,
        Err(e) => return Err(e),
    };
    Ok((subject, text, html))
}

/// The domain of the Message-IDs the site makes: the host of its public
/// address, so a repeat can be told to be the site's own.
pub fn message_id_domain(config: &crate::config::Config) -> String {
    match config.public_url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(a)) => format!("[{a}]"),
        Some(url::Host::Ipv6(a)) => format!("[IPv6:{a}]"),
        None => "localhost".to_string(),
    }
}

/// A sender address for a publication that has set none:
/// `"Name" <noreply@host-of-the-public-address>`.
pub fn default_from(config: &crate::config::Config, publication_name: &str) -> String {
    let host = match config.public_url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        _ => "localhost".to_string(),
    };
    let email = format!("noreply@{host}");
    match email.parse::<lettre::Address>() {
        Ok(addr) => {
            let name = Some(publication_name.trim().to_string()).filter(|n| !n.is_empty());
            lettre::message::Mailbox::new(name, addr).to_string()
        }
        Err(_) => email,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Assets;

    fn renderer() -> Renderer {
        let theme = tempfile::tempdir().unwrap();
        let assets = Assets::load(theme.path());
        Renderer::new(theme.path(), &assets)
    }

    #[test]
    fn composing_escapes_the_html_part_and_leaves_the_text_parts_alone() {
        let ctx = minijinja::context! {
            name => "Tom & Jerry <cats>",
            publication => "The Herald",
            link => "https://news.example/a?b=1&c=2",
        };
        let (subject, text, html) = compose(&renderer(), "test", ctx).unwrap();
        assert_eq!(subject, "A test mail for Tom & Jerry <cats>");
        assert!(text.contains("Hello Tom & Jerry <cats>,"), "{text}");
        assert!(text.contains("https://news.example/a?b=1&c=2"), "{text}");
        let html = html.unwrap();
        assert!(
            html.contains("Hello Tom &amp; Jerry &lt;cats&gt;,"),
            "{html}"
        );
        assert!(html.contains("href=\"https://news.example/a?b=1&amp;c=2\""));
    }

    #[test]
    fn a_mail_without_an_html_template_has_no_html_part() {
        let theme = tempfile::tempdir().unwrap();
        let dir = theme.path().join("templates/email/plain");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("subject.txt"), "Plain\n  mail\n").unwrap();
        std::fs::write(dir.join("body.txt"), "Just text.").unwrap();
        let r = Renderer::new(theme.path(), &Assets::load(theme.path()));
        let (subject, text, html) = compose(&r, "plain", minijinja::context! {}).unwrap();
        assert_eq!(subject, "Plain mail");
        assert_eq!(text, "Just text.");
        assert_eq!(html, None);
    }

    #[test]
    fn a_missing_mail_template_is_an_error() {
        assert!(compose(&renderer(), "no-such-mail", minijinja::context! {}).is_err());
    }

    fn mail() -> OutgoingMail {
        OutgoingMail::transactional(
            "Reader <reader@example.com>",
            ("Hi".into(), "Text".into(), None),
        )
    }

    #[test]
    fn a_good_mail_passes_the_check() {
        let m = mail()
            .with_reply_to("desk@news.example")
            .with_header("List-Unsubscribe", "<https://news.example/u/1>");
        assert_eq!(m.check("The Herald <noreply@news.example>"), Ok(()));
    }

    #[test]
    fn bad_addresses_are_refused_naming_the_field() {
        let mut m = mail();
        m.to = "not an address".into();
        assert!(matches!(
            m.check("a@b.example"),
            Err(InvalidMail::Address { field: "to", .. })
        ));
        assert!(matches!(
            mail().check("nobody"),
            Err(InvalidMail::Address { field: "from", .. })
        ));
    }

    #[test]
    fn line_breaks_in_the_subject_or_a_header_are_refused() {
        let mut m = mail();
        m.subject = "Hi\r\nBcc: victim@example.com".into();
        assert_eq!(m.check("a@b.example"), Err(InvalidMail::Subject));
        let m = mail().with_header("X-Note", "a\nBcc: victim@example.com");
        assert_eq!(
            m.check("a@b.example"),
            Err(InvalidMail::HeaderValue("X-Note".into()))
        );
    }

    #[test]
    fn headers_the_outbox_writes_itself_cannot_be_set() {
        for name in ["Message-ID", "from", "Content-Type", "Bad Name", "X:Y", ""] {
            let m = mail().with_header(name, "x");
            assert!(
                matches!(m.check("a@b.example"), Err(InvalidMail::HeaderName(_))),
                "{name}"
            );
        }
    }

    #[test]
    fn lanes_round_trip_through_their_stored_form() {
        for lane in [Lane::Transactional, Lane::Bulk] {
            assert_eq!(Lane::parse(lane.as_str()), Some(lane));
        }
        assert_eq!(Lane::parse("urgent"), None);
    }

    #[test]
    fn the_default_sender_and_message_ids_use_the_public_host() {
        let config = crate::config::Config::from_layer(crate::config::Layer {
            public_url: Some("https://news.example/paper/".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(message_id_domain(&config), "news.example");
        assert_eq!(
            default_from(&config, "The Daily Meridian"),
            "The Daily Meridian <noreply@news.example>"
        );
        assert_eq!(
            default_from(&config, "Meridian, The"),
            "\"Meridian, The\" <noreply@news.example>"
        );
    }
}
