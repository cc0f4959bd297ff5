//! The addresses of the signed links in newsletter mail, for the sender and
//! for the confirmation mail: always built from `public_url`, never from a
//! request's `Host` header (a forged header must not end up in a mail).

use super::tokens::{self, Purpose};
use crate::config::Config;
use crate::keys::Keys;

/// The preference page of `subscriber_id`, made at `now` (microseconds);
/// `newsletter_id` names the newsletter the mail came from, if any.
pub fn preferences_url(
    config: &Config,
    keys: &Keys,
    subscriber_id: i64,
    newsletter_id: Option<i64>,
    now: i64,
) -> String {
    let t = tokens::make(
        keys,
        Purpose::Preferences,
        subscriber_id,
        newsletter_id,
        now,
    );
    config.absolute(&format!("/email/preferences/{t}"))
}

/// The RFC 8058 one-click unsubscribe of `subscriber_id` from
/// `newsletter_id`: the HTTPS half of `List-Unsubscribe`, to which mail
/// clients POST `List-Unsubscribe=One-Click`.
pub fn unsubscribe_url(
    config: &Config,
    keys: &Keys,
    subscriber_id: i64,
    newsletter_id: i64,
    now: i64,
) -> String {
    let t = tokens::make(
        keys,
        Purpose::Preferences,
        subscriber_id,
        Some(newsletter_id),
        now,
    );
    config.absolute(&format!("/email/unsubscribe/{t}"))
}

/// The link of a double opt-in mail: it confirms every pending subscription
/// of the subscriber.
pub fn confirm_url(config: &Config, keys: &Keys, subscriber_id: i64, now: i64) -> String {
    let t = tokens::make(keys, Purpose::Confirm, subscriber_id, None, now);
    config.absolute(&format!("/email/confirm/{t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_built_on_the_public_url_and_verify() {
        let config = Config::from_layer(crate::config::Layer {
            public_url: Some("https://news.example/".into()),
            ..Default::default()
        })
        .unwrap();
        let keys = Keys::new(vec![7; 32], vec![]);
        let now = 1_700_000_000_000_000;
        let cases = [
            (
                unsubscribe_url(&config, &keys, 12, 3, now),
                "https://news.example/email/unsubscribe/",
                Purpose::Preferences,
                Some(3),
            ),
            (
                preferences_url(&config, &keys, 12, None, now),
                "https://news.example/email/preferences/",
                Purpose::Preferences,
                None,
            ),
            (
                confirm_url(&config, &keys, 12, now),
                "https://news.example/email/confirm/",
                Purpose::Confirm,
                None,
            ),
        ];
        for (url, prefix, purpose, newsletter) in cases {
            let token = url.strip_prefix(prefix).unwrap_or_else(|| panic!("{url}"));
            let t = tokens::verify(&keys, purpose, token, now).unwrap();
            assert_eq!((t.subscriber_id, t.newsletter_id), (12, newsletter));
        }
    }
}
