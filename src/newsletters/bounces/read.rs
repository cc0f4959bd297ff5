//! Reading one mail that came back: an RFC 3464 delivery status
//! notification, an RFC 5965 (ARF) complaint, or a mail to the `mailto:`
//! unsubscribe address. Pure: the message, the addresses it was delivered
//! to, the keys and the clock in; what it says out. The MIME structure is
//! read by `mail-parser`; the report fields (plain header blocks) here.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::keys::Keys;
use crate::newsletters::tokens::{self, Purpose};

/// Whom a report is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// Named by a signed token (VERP bounce address, unsubscribe address):
    /// trusted over anything the report says.
    Subscriber(i64),
    /// An address written in the report (lower-case).
    Address(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// 5.x.x: the address does not work; suppressed at once.
    Hard,
    /// 4.x.x after the sender gave up: counted towards the soft threshold.
    Soft,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub who: Who,
    pub severity: Severity,
    /// The address the report itself gives, for when a token's subscriber
    /// no longer exists.
    pub reported: Option<String>,
    /// Status and diagnostic, for the record: `5.1.1 smtp; 550 5.1.1 ...`.
    pub detail: String,
}

/// What a message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A delivery status notification with at least one failure.
    Bounces(Vec<Failure>),
    /// A recipient marked the mail as spam (ARF feedback report).
    Complaint { who: Who, detail: String },
    /// A mail to the unsubscribe address of one newsletter (or all when none).
    Unsubscribe {
        subscriber_id: i64,
        newsletter_id: Option<i64>,
    },
    /// Nothing to do, and why (logged; the mail server is told it was handled).
    Ignored(String),
}

/// Reads `raw`, delivered to `envelope` (the envelope recipients a mail
/// server's pipe passes, possibly none), at `now` (microseconds).
pub fn read(raw: &[u8], envelope: &[String], keys: &Keys, now: i64) -> Incoming {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return Incoming::Ignored("not a mail message".into());
    };
    if msg.headers().is_empty() {
        return Incoming::Ignored("not a mail message (no headers)".into());
    }
    // Where this copy was delivered: the bounce or unsubscribe address.
    let mut delivered_to: Vec<String> = envelope.iter().flat_map(|a| addresses_in(a)).collect();
    for (name, value) in msg.headers_raw() {
        if ["x-original-to", "delivered-to", "envelope-to", "to", "cc"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            delivered_to.extend(addresses_in(value));
        }
    }
    let token_in = |addrs: &[String], purpose: Purpose| {
        addrs.iter().find_map(|a| {
            let local = a.rsplit_once('@')?.0;
            let token = local.split_once('+')?.1;
            tokens::verify(keys, purpose, token, now).ok()
        })
    };
    let report_type = msg.content_type().and_then(|ct| {
        (ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report")))
        .then(|| {
            ct.attribute("report-type")
                .unwrap_or("")
                .to_ascii_lowercase()
        })
    });
    let original = original_headers(&msg);
    match report_type.as_deref() {
        Some("delivery-status") => {
            let Some(status) = part_of_type(&msg, &["delivery-status", "global-delivery-status"])
            else {
                return Incoming::Ignored("a delivery report without its status part".into());
            };
            let verp = token_in(&delivered_to, Purpose::Bounce)
                .or_else(|| token_in(&original.return_path, Purpose::Bounce));
            dsn(&status, verp.map(|t| t.subscriber_id))
        }
        Some("feedback-report") => {
            let fields = part_of_type(&msg, &["feedback-report"])
                .map(|t| field_blocks(&t).into_iter().flatten().collect::<Vec<_>>())
                .unwrap_or_default();
            let field = |n: &str| fields.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
            let detail = format!(
                "{} {}",
                field("feedback-type").unwrap_or("abuse"),
                field("user-agent").unwrap_or("")
            )
            .trim()
            .to_string();
            let token = token_in(&original.return_path, Purpose::Bounce)
                .or_else(|| token_in(&original.list_unsubscribe, Purpose::Preferences))
                .or_else(|| token_in(&delivered_to, Purpose::Bounce));
            let who = match token {
                Some(t) => Who::Subscriber(t.subscriber_id),
                None => match field("original-rcpt-to")
                    .map(addresses_in)
                    .and_then(|a| a.into_iter().next())
                    .or_else(|| original.to.first().cloned())
                {
                    Some(a) => Who::Address(a),
                    None => {
                        return Incoming::Ignored(
                            "a complaint that names no recipient we can recognise".into(),
                        );
                    }
                },
            };
            Incoming::Complaint { who, detail }
        }
        Some(other) => Incoming::Ignored(format!("a report of type {other:?}, not a bounce")),
        None => match token_in(&delivered_to, Purpose::Preferences) {
            Some(t) => Incoming::Unsubscribe {
                subscriber_id: t.subscriber_id,
                newsletter_id: t.newsletter_id,
            },
            None if token_in(&delivered_to, Purpose::Bounce).is_some() => Incoming::Ignored(
                "mail to a bounce address that is not a delivery report (an automatic reply?)"
                    .into(),
            ),
            None => Incoming::Ignored(
                "not a delivery report, a complaint or a mail to an unsubscribe address".into(),
            ),
        },
    }
}

/// The failures of a delivery-status part. With a VERP token the whole
/// report is about that one subscriber, whatever its recipient fields say.
fn dsn(status: &str, verp: Option<i64>) -> Incoming {
    let blocks = field_blocks(status);
    let mut failures = Vec::new();
    // The first block holds the per-message fields; the rest one recipient each.
    for block in blocks.iter().skip(1) {
        let field = |n: &str| block.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        let action = field("action").unwrap_or("").to_ascii_lowercase();
        let code = field("status").unwrap_or("").trim().to_string();
        let severity = match (action.as_str(), code.chars().next()) {
            ("failed", Some('5')) => Severity::Hard,
            ("failed", Some('4')) => Severity::Soft,
            // A failure without a usable status: permanent, as RFC 3464 says.
            ("failed", _) => Severity::Hard,
            // delayed, delivered, relayed, expanded: no failure (yet).
            _ => continue,
        };
        let diagnostic = field("diagnostic-code").unwrap_or("");
        let detail: String = format!("{code} {diagnostic}")
            .trim()
            .chars()
            .take(500)
            .collect();
        let reported = ["final-recipient", "original-recipient"]
            .iter()
            .filter_map(|f| field(f))
            .flat_map(addresses_in)
            .next();
        let who = match (verp, &reported) {
            (Some(id), _) => Who::Subscriber(id),
            (None, Some(a)) => Who::Address(a.clone()),
            (None, None) => continue,
        };
        failures.push(Failure {
            who,
            severity,
            reported,
            detail,
        });
    }
    if failures.is_empty() {
        return Incoming::Ignored(
            "a delivery report without a failure (delayed, delivered or relayed)".into(),
        );
    }
    if verp.is_some() {
        // One recipient per VERP address: its worst failure counts once.
        failures.sort_by_key(|f| f.severity != Severity::Hard);
        failures.truncate(1);
    }
    Incoming::Bounces(failures)
}

/// The headers of the original message a report carries (as
/// `message/rfc822` or `text/rfc822-headers`) that can name its recipient.
#[derive(Default)]
struct Original {
    return_path: Vec<String>,
    list_unsubscribe: Vec<String>,
    to: Vec<String>,
}

fn original_headers(msg: &Message<'_>) -> Original {
    let mut out = Original::default();
    let mut take = |headers: &mut dyn Iterator<Item = (&str, &str)>| {
        for (name, value) in headers {
            let list = match name.to_ascii_lowercase().as_str() {
                "return-path" => &mut out.return_path,
                "list-unsubscribe" => &mut out.list_unsubscribe,
                "to" => &mut out.to,
                _ => continue,
            };
            list.extend(addresses_in(value));
        }
    };
    for part in msg.parts.iter().skip(1) {
        let ct = part.content_type();
        let is = |t: &str, s: &str| {
            ct.is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case(t)
                    && c.subtype().is_some_and(|x| x.eq_ignore_ascii_case(s))
            })
        };
        if let PartType::Message(m) = &part.body {
            take(&mut m.headers_raw());
        } else if is("text", "rfc822-headers") || is("message", "rfc822-headers") {
            let mut text = part.contents().to_vec();
            text.extend_from_slice(b"\r\n\r\n");
            if let Some(m) = MessageParser::default().parse(&text[..]) {
                take(&mut m.headers_raw());
            }
        }
    }
    out
}

/// The text of the first part of type `message/<one of subtypes>`.
fn part_of_type(msg: &Message<'_>, subtypes: &[&str]) -> Option<String> {
    msg.parts.iter().skip(1).find_map(|part| {
        let ct = part.content_type()?;
        let ok = ct.ctype().eq_ignore_ascii_case("message")
            && ct
                .subtype()
                .is_some_and(|s| subtypes.iter().any(|w| s.eq_ignore_ascii_case(w)));
        ok.then(|| String::from_utf8_lossy(part.contents()).into_owned())
    })
}

/// Header-like blocks separated by blank lines, folded lines joined, names
/// in lower case.
fn field_blocks(text: &str) -> Vec<Vec<(String, String)>> {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = current.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

/// The mail addresses written in a header value or report field
/// (`rfc822; a@b.c`, `Name <a@b.c>`, `<mailto:a@b.c?subject=x>`), in
/// lower case.
pub fn addresses_in(text: &str) -> Vec<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._+-=%!#$&'*/^`{|}~".contains(c);
    let mut out = Vec::new();
    for (at, _) in text.match_indices('@') {
        let local_start = text[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !allowed(*c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let domain_end = text[at + 1..]
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '-'))
            .map_or(text.len(), |(i, _)| at + 1 + i);
        let local = &text[local_start..at];
        let domain = text[at + 1..domain_end].trim_end_matches('.');
        if !local.is_empty() && domain.contains('.') {
            out.push(format!("{local}@{domain}").to_ascii_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_found_in_header_values_and_report_fields() {
        let cases: &[(&str, &[&str])] = &[
            ("rfc822; Asha@Example.com", &["asha@example.com"]),
            (
                "Asha <asha@example.com>, b@c.org",
                &["asha@example.com", "b@c.org"],
            ),
            (
                "<mailto:news+1.2.3.ab@example.com?subject=unsubscribe>, <https://x.example/u>",
                &["news+1.2.3.ab@example.com"],
            ),
            ("undisclosed-recipients:;", &[]),
            ("user@localhost", &[]),
        ];
        for (text, want) in cases {
            assert_eq!(addresses_in(text), *want, "{text}");
        }
    }

    #[test]
    fn report_fields_unfold_and_split_into_blocks() {
        let text = "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@b.org\r\nAction: failed\r\nDiagnostic-Code: smtp; 550 no\r\n  such user\r\n\r\n";
        let b = field_blocks(text);
        assert_eq!(b.len(), 2);
        assert_eq!(
            b[1][2],
            ("diagnostic-code".into(), "smtp; 550 no such user".into())
        );
    }

    #[test]
    fn actions_and_status_classes_decide_the_severity() {
        let block = |action: &str, status: &str| {
            format!(
                "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.org\nAction: {action}\nStatus: {status}\n"
            )
        };
        let cases = [
            ("failed", "5.1.1", Some(Severity::Hard)),
            ("Failed", "4.2.2", Some(Severity::Soft)),
            ("failed", "", Some(Severity::Hard)),
            ("delayed", "4.4.7", None),
            ("delivered", "2.0.0", None),
            ("relayed", "2.0.0", None),
        ];
        for (action, status, want) in cases {
            let got = match dsn(&block(action, status), None) {
                Incoming::Bounces(f) => Some(f[0].severity),
                Incoming::Ignored(_) => None,
                other => panic!("{other:?}"),
            };
            assert_eq!(got, want, "{action} {status}");
        }
    }
}
