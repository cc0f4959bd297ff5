//! E-mail addresses, parsed once at the edge.

/// An address that looks deliverable: one `@`, a local part, a domain with
/// a dot, no spaces, at most 254 characters. Kept as typed and lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    typed: String,
    normalized: String,
}

impl Email {
    /// Parses what a reader typed; the error says what to fix.
    pub fn parse(input: &str) -> Result<Email, String> {
        let s = input.trim();
        if s.is_empty() {
            return Err("Please enter your e-mail address.".into());
        }
        if s.len() > 254 {
            return Err("That e-mail address is too long.".into());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err("An e-mail address needs an @, as in name@example.com.".into());
        };
        let ok_domain = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty()
            || local.len() > 64
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
            || local.contains('@')
            || !ok_domain
        {
            return Err(format!(
                "“{s}” does not look like an e-mail address; check it for typing mistakes."
            ));
        }
        Ok(Email {
            typed: s.to_string(),
            normalized: s.to_lowercase(),
        })
    }

    pub fn as_typed(&self) -> &str {
        &self.typed
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_compared_in_lower_case_and_kept_as_typed() {
        let e = Email::parse("  Asha.Menon@Example.COM ").unwrap();
        assert_eq!(e.as_typed(), "Asha.Menon@Example.COM");
        assert_eq!(e.normalized(), "asha.menon@example.com");
    }

    #[test]
    fn malformed_addresses_get_words_saying_what_to_fix() {
        for bad in [
            "",
            "asha",
            "asha@",
            "@example.com",
            "asha@example",
            "a sha@example.com",
            "asha@@example.com",
            "asha@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        assert!(Email::parse("asha").unwrap_err().contains("needs an @"));
    }
}
