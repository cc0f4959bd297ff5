//! The secret keys that sign cookies and tokens.
//!
//! The current key signs; the current and the previous keys verify, so that a
//! key can be rotated without signing out every reader or breaking the links
//! in mails already sent. A key is 32 or more random bytes written as hex or
//! base64. When none is configured, one is generated into `secret.key` in the
//! data folder on first start; several instances must be given the same one.

use std::path::Path;

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signing keys, current first.
#[derive(Clone)]
pub struct Keys {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({} keys)", self.keys.len())
    }
}

/// Decodes a key written as hex or base64; at least 32 bytes.
pub fn decode_key(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let bytes = if t.len() >= 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(t).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(t)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t))
            .map_err(|_| "expected 32 or more random bytes written as hex or base64".to_string())?
    };
    if bytes.len() < 32 {
        return Err(format!(
            "is {} bytes long; it needs 32 or more random bytes",
            bytes.len()
        ));
    }
    Ok(bytes)
}

impl Keys {
    pub fn new(current: Vec<u8>, previous: Vec<Vec<u8>>) -> Keys {
        let mut keys = vec![current];
        keys.extend(previous);
        Keys { keys }
    }

    /// The configured key, or the one in `secret.key` in the data folder,
    /// generated there (readable by its owner only) when missing.
    pub fn load(
        configured: Option<&str>,
        previous: &[String],
        data_dir: &Path,
    ) -> anyhow::Result<Keys> {
        let previous = previous
            .iter()
            .map(|k| decode_key(k).map_err(anyhow::Error::msg))
            .collect::<Result<Vec<_>, _>>()?;
        let current = match configured {
            Some(k) => decode_key(k).map_err(anyhow::Error::msg)?,
            None => {
                let path = data_dir.join("secret.key");
                if path.exists() {
                    let text = std::fs::read_to_string(&path)?;
                    decode_key(&text).map_err(|m| anyhow::anyhow!("{}: {m}", path.display()))?
                } else {
                    let mut bytes = vec![0u8; 32];
                    rand::rng().fill_bytes(&mut bytes);
                    write_private(&path, hex::encode(&bytes).as_bytes())?;
                    tracing::info!(path = %path.display(), "generated a new secret key");
                    bytes
                }
            }
        };
        Ok(Keys::new(current, previous))
    }

    fn mac(key: &[u8], purpose: &str, message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac
    }

    /// Signs `message` for one `purpose` (a cookie's or token's name), so a
    /// signature made for one use is never accepted for another.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> String {
        let tag = Self::mac(&self.keys[0], purpose, message)
            .finalize()
            .into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// A short signature for text that may be case-folded or length-limited
    /// on its way (the local part of a mail address): the first 16 bytes of
    /// the tag, as lower-case hex.
    pub fn sign_short(&self, purpose: &str, message: &[u8]) -> String {
        let tag = Self::mac(&self.keys[0], purpose, message)
            .finalize()
            .into_bytes();
        hex::encode(&tag[..16])
    }

    /// Whether a [`Keys::sign_short`] signature was made by any of the keys
    /// for this purpose (compared in constant time; any letter case).
    pub fn verify_short(&self, purpose: &str, message: &[u8], signature: &str) -> bool {
        let Ok(tag) = hex::decode(signature.to_ascii_lowercase()) else {
            return false;
        };
        tag.len() == 16
            && self.keys.iter().any(|k| {
                Self::mac(k, purpose, message)
                    .verify_truncated_left(&tag)
                    .is_ok()
            })
    }

    /// Whether `signature` was made by any of the keys for this purpose.
    pub fn verify(&self, purpose: &str, message: &[u8], signature: &str) -> bool {
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        self.keys
            .iter()
            .any(|k| Self::mac(k, purpose, message).verify_slice(&tag).is_ok())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_purpose_and_message() {
        let keys = Keys::new(vec![7; 32], vec![]);
        let sig = keys.sign("meter", b"hello");
        assert!(keys.verify("meter", b"hello", &sig));
        assert!(!keys.verify("session", b"hello", &sig));
        assert!(!keys.verify("meter", b"hellO", &sig));
        assert!(!keys.verify("meter", b"hello", "not base64!"));
    }

    #[test]
    fn signatures_made_before_a_rotation_still_verify() {
        let old = Keys::new(vec![1; 32], vec![]);
        let sig = old.sign("t", b"m");
        let rotated = Keys::new(vec![2; 32], vec![vec![1; 32]]);
        assert!(rotated.verify("t", b"m", &sig));
        assert_ne!(rotated.sign("t", b"m"), sig);
        let forgotten = Keys::new(vec![2; 32], vec![]);
        assert!(!forgotten.verify("t", b"m", &sig));
    }

    #[test]
    fn a_key_is_generated_once_into_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let a = Keys::load(None, &[], dir.path()).unwrap();
        let b = Keys::load(None, &[], dir.path()).unwrap();
        assert_eq!(a.sign("x", b"y"), b.sign("x", b"y"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(decode_key("abcd").is_err());
        assert!(decode_key(&"ab".repeat(32)).is_ok());
    }
}
