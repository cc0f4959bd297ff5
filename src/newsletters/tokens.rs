//! The signed links in newsletter mail: the preference page, the RFC 8058
//! one-click unsubscribe, the confirmation of a double opt-in, and the
//! per-recipient bounce address (VERP).
//!
//! A token names a subscriber (an address, not a session), optionally one
//! newsletter, and the day it was made, and is signed with the site's keys
//! for its purpose: `{subscriber}.{newsletter}.{day}.{signature}`, the
//! signature 32 lower-case hex digits, so a token fits in the local part of
//! a mail address (64 characters) and survives a server that folds case. The
//! current and previous keys verify ([`Keys`]), so a key rotation breaks no
//! link as long as the retired key stays in `previous_secret_keys`, which
//! should be for [`LINK_VALID_DAYS`] after the rotation. Tokens are never
//! stored: a copy of the database forges none.

use crate::keys::Keys;

/// How long a preference or unsubscribe link works after its mail was made:
/// mail sits in inboxes for a long time, and readers reach for an old issue
/// to unsubscribe.
pub const LINK_VALID_DAYS: i64 = 400;

/// How long a double opt-in confirmation works.
pub const CONFIRM_VALID_DAYS: i64 = 7;

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// What a token is for; each purpose signs with its own label, so a token
/// made for one is refused by the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The preference page and the one-click unsubscribe of one newsletter.
    Preferences,
    /// The confirmation of a subscription asked for without signing in.
    Confirm,
    /// The local part of the per-recipient bounce address.
    Bounce,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Preferences => "mail-preferences",
            Purpose::Confirm => "mail-confirm",
            Purpose::Bounce => "mail-bounce",
        }
    }

    fn valid_days(self) -> i64 {
        match self {
            Purpose::Confirm => CONFIRM_VALID_DAYS,
            Purpose::Preferences | Purpose::Bounce => LINK_VALID_DAYS,
        }
    }
}

/// What a verified token names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MailToken {
    pub subscriber_id: i64,
    /// The newsletter the mail was from; `None` for links about all of them.
    pub newsletter_id: Option<i64>,
    /// Days since the Unix epoch (UTC) when the token was made.
    pub day: i64,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is incomplete or was changed")]
    Invalid,
    #[error("the link has expired")]
    Expired,
}

/// Makes a token for `purpose` naming `subscriber_id` and, optionally, one
/// newsletter, dated `now` (microseconds).
pub fn make(
    keys: &Keys,
    purpose: Purpose,
    subscriber_id: i64,
    newsletter_id: Option<i64>,
    now: i64,
) -> String {
    let payload = format!(
        "{subscriber_id}.{}.{}",
        newsletter_id.unwrap_or(0),
        now.div_euclid(MICROS_PER_DAY)
    );
    let signature = keys.sign_short(purpose.label(), payload.as_bytes());
    format!("{payload}.{signature}")
}

/// Checks a token for `purpose` at `now`: a valid signature by a current or
/// previous key, and not older than the purpose allows.
pub fn verify(
    keys: &Keys,
    purpose: Purpose,
    token: &str,
    now: i64,
) -> Result<MailToken, TokenError> {
    let mut parts = token.trim().splitn(4, '.');
    let (Some(s), Some(n), Some(d), Some(signature)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Invalid);
    };
    let number = |t: &str| -> Result<i64, TokenError> {
        if t.is_empty() || t.len() > 19 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TokenError::Invalid);
        }
        t.parse().map_err(|_| TokenError::Invalid)
    };
    let (subscriber_id, newsletter, day) = (number(s)?, number(n)?, number(d)?);
    let payload = format!("{s}.{n}.{d}");
    if !keys.verify_short(purpose.label(), payload.as_bytes(), signature) {
        return Err(TokenError::Invalid);
    }
    let today = now.div_euclid(MICROS_PER_DAY);
    if today - day > purpose.valid_days() || day > today + 1 {
        return Err(TokenError::Expired);
    }
    Ok(MailToken {
        subscriber_id,
        newsletter_id: (newsletter != 0).then_some(newsletter),
        day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = MICROS_PER_DAY;
    const NOW: i64 = 20_000 * DAY + 3_600_000_000;

    fn keys(k: u8) -> Keys {
        Keys::new(vec![k; 32], vec![])
    }

    #[test]
    fn a_token_names_its_subscriber_and_newsletter() {
        let t = make(&keys(1), Purpose::Preferences, 42, Some(3), NOW);
        let v = verify(&keys(1), Purpose::Preferences, &t, NOW + 5 * DAY).unwrap();
        assert_eq!(
            (v.subscriber_id, v.newsletter_id, v.day),
            (42, Some(3), 20_000)
        );
        let all = make(&keys(1), Purpose::Preferences, 42, None, NOW);
        assert_eq!(
            verify(&keys(1), Purpose::Preferences, &all, NOW)
                .unwrap()
                .newsletter_id,
            None
        );
    }

    #[test]
    fn forged_changed_and_cross_purpose_tokens_are_refused() {
        let t = make(&keys(1), Purpose::Preferences, 42, Some(3), NOW);
        let cases = [
            t.replacen("42.", "43.", 1),
            t.replacen(".3.", ".4.", 1),
            format!("{t}x"),
            "42.3.20000".to_string(),
            "".to_string(),
            "a.b.c.d".to_string(),
            "-1.3.20000.abc".to_string(),
        ];
        for bad in cases {
            assert_eq!(
                verify(&keys(1), Purpose::Preferences, &bad, NOW),
                Err(TokenError::Invalid),
                "{bad}"
            );
        }
        assert_eq!(
            verify(&keys(2), Purpose::Preferences, &t, NOW),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            verify(&keys(1), Purpose::Confirm, &t, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_token_fits_in_an_address_and_survives_case_folding() {
        let t = make(&keys(1), Purpose::Bounce, 12_345_678, Some(12), NOW);
        assert!(format!("unsubscribe+{t}").len() <= 64, "{t}");
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || (b'a'..=b'f').contains(&b))
        );
        assert!(verify(&keys(1), Purpose::Bounce, &t.to_ascii_uppercase(), NOW).is_ok());
    }

    #[test]
    fn tokens_expire_by_purpose() {
        let t = make(&keys(1), Purpose::Preferences, 1, None, NOW);
        assert!(
            verify(
                &keys(1),
                Purpose::Preferences,
                &t,
                NOW + LINK_VALID_DAYS * DAY
            )
            .is_ok()
        );
        assert_eq!(
            verify(
                &keys(1),
                Purpose::Preferences,
                &t,
                NOW + (LINK_VALID_DAYS + 1) * DAY
            ),
            Err(TokenError::Expired)
        );
        let c = make(&keys(1), Purpose::Confirm, 1, Some(2), NOW);
        assert_eq!(
            verify(
                &keys(1),
                Purpose::Confirm,
                &c,
                NOW + (CONFIRM_VALID_DAYS + 1) * DAY
            ),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_key_rotation_keeps_old_links_working_while_the_old_key_is_kept() {
        let t = make(&keys(1), Purpose::Preferences, 7, Some(1), NOW);
        let rotated = Keys::new(vec![2; 32], vec![vec![1; 32]]);
        assert!(verify(&rotated, Purpose::Preferences, &t, NOW).is_ok());
        let fresh = make(&rotated, Purpose::Preferences, 7, Some(1), NOW);
        assert!(verify(&rotated, Purpose::Preferences, &fresh, NOW).is_ok());
        assert_eq!(
            verify(&keys(1), Purpose::Preferences, &fresh, NOW),
            Err(TokenError::Invalid)
        );
    }
}
