//! The process configuration: where to listen, where the data lives, which
//! database, mail server and cache to use, the public address, the trusted
//! proxies, the secret keys, the entitlement webhook's secret, and what
//! becomes of a deleted member's comments.
//!
//! One typed struct, built in layers: built-in defaults < `masthead.toml` in
//! the data folder (or the file given with `--config`) < `MASTHEAD_*`
//! environment variables < command-line flags. An unknown key or a bad value is
//! an error that names the key. The publication's own settings (its name, time
//! zone, meter limits ...) live in the database instead: see `db::settings`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::Deserialize;
use url::Url;

/// The settings one process runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite:` path or `postgres://` URL.
    pub database_url: String,
    /// The site's address as readers see it; every absolute link is built
    /// from it, never from a request's Host header.
    pub public_url: Url,
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Signs cookies and tokens. Given, or generated into the data folder.
    pub secret_key: Option<String>,
    /// Keys signed with before a rotation; still accepted when verifying.
    pub previous_secret_keys: Vec<String>,
    pub smtp_url: Option<Url>,
    pub redis_url: Option<Url>,
    /// The theme folder whose templates and static files override the
    /// built-in ones.
    pub theme_dir: PathBuf,
    /// How many URLs one sitemap file lists before `/sitemap.xml` becomes an
    /// index of several.
    pub sitemap_page_size: usize,
    /// How long an instance trusts its view of the content counter before
    /// asking the database again: the most a page can lag behind an edit
    /// made on another instance. 0 asks on every request.
    pub change_poll_ms: u64,
    /// The shared secret that signs entitlement webhook events (at least 32
    /// characters); without one the webhook route answers 404, so a site
    /// that takes no events has no door to knock on.
    pub webhook_secret: Option<String>,
    /// The shared secret that signs mail-event webhook posts (bounces and
    /// complaints, `POST /webhooks/mail-events`); at least 32 characters;
    /// without one that route answers 404.
    pub mail_webhook_secret: Option<String>,
    /// What happens to a member's comments when they delete their account.
    pub deleted_member_comments: DeletedMemberComments,
    /// The address bounces of bulk mail come back to. Each newsletter mail
    /// is sent from `local+token@domain` (VERP), so a bounce names its
    /// recipient. Default: `bounces@` the public host.
    pub bounce_address: Option<String>,
    /// DKIM signing of newsletter mail: the private key (an RSA key in
    /// PKCS#1 PEM, or an Ed25519 key as base64), the selector published in
    /// DNS, and the signing domain (default: the sender's domain).
    pub dkim_key_file: Option<PathBuf>,
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    /// The most newsletter messages a second sent to one destination domain
    /// (the part after `@`); 0 sends as fast as the mail server takes them.
    pub mail_domain_rate: u32,
}

/// What becomes of a deleted member's comments (`deleted_member_comments`).
/// Every instance must be given the same value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletedMemberComments {
    /// The comments stay, no longer linked to anyone ("a former member"), so
    /// the threads they started or answered still read.
    #[default]
    Anonymise,
    /// The comments are deleted with the account.
    Delete,
}

impl DeletedMemberComments {
    /// The written form: `anonymise` (also `anonymize`) or `delete`.
    pub fn parse(s: &str) -> Option<DeletedMemberComments> {
        match s.trim() {
            "anonymise" | "anonymize" => Some(DeletedMemberComments::Anonymise),
            "delete" => Some(DeletedMemberComments::Delete),
            _ => None,
        }
    }
}

/// Raised when a configuration layer has an unknown key or a bad value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {message}")]
    File { path: PathBuf, message: String },
    #[error("{key}: {message}")]
    Value { key: String, message: String },
    #[error("unknown environment variable {0}; the known ones are listed in the README")]
    UnknownEnv(String),
}

/// One layer of settings: every field optional, unknown keys refused.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub listen: Option<String>,
    pub data: Option<PathBuf>,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<Vec<String>>,
    pub secret_key: Option<String>,
    pub previous_secret_keys: Option<Vec<String>>,
    pub smtp_url: Option<String>,
    pub redis_url: Option<String>,
    pub theme_dir: Option<PathBuf>,
    pub sitemap_page_size: Option<usize>,
    pub change_poll_ms: Option<u64>,
    pub webhook_secret: Option<String>,
    pub mail_webhook_secret: Option<String>,
    pub deleted_member_comments: Option<String>,
    pub bounce_address: Option<String>,
    pub dkim_key_file: Option<PathBuf>,
    pub dkim_selector: Option<String>,
    pub dkim_domain: Option<String>,
    pub mail_domain_rate: Option<u32>,
}

/// The environment variables read, each with the key it sets.
const ENV_KEYS: &[(&str, &str)] = &[
    ("MASTHEAD_LISTEN", "listen"),
    ("MASTHEAD_DATA", "data"),
    ("MASTHEAD_DATABASE_URL", "database_url"),
    ("MASTHEAD_PUBLIC_URL", "public_url"),
    ("MASTHEAD_TRUSTED_PROXIES", "trusted_proxies"),
    ("MASTHEAD_SECRET_KEY", "secret_key"),
    ("MASTHEAD_PREVIOUS_SECRET_KEYS", "previous_secret_keys"),
    ("MASTHEAD_SMTP_URL", "smtp_url"),
    ("MASTHEAD_REDIS_URL", "redis_url"),
    ("MASTHEAD_THEME_DIR", "theme_dir"),
    ("MASTHEAD_SITEMAP_PAGE_SIZE", "sitemap_page_size"),
    ("MASTHEAD_CHANGE_POLL_MS", "change_poll_ms"),
    ("MASTHEAD_WEBHOOK_SECRET", "webhook_secret"),
    ("MASTHEAD_BOUNCE_ADDRESS", "bounce_address"),
    ("MASTHEAD_DKIM_KEY_FILE", "dkim_key_file"),
    ("MASTHEAD_DKIM_SELECTOR", "dkim_selector"),
    ("MASTHEAD_DKIM_DOMAIN", "dkim_domain"),
    ("MASTHEAD_MAIL_DOMAIN_RATE", "mail_domain_rate"),
    ("MASTHEAD_MAIL_WEBHOOK_SECRET", "mail_webhook_secret"),
    (
        "MASTHEAD_DELETED_MEMBER_COMMENTS",
        "deleted_member_comments",
    ),
];

/// Variables that are not configuration but are read elsewhere.
const ENV_OTHER: &[&str] = &["MASTHEAD_CONFIG", "MASTHEAD_LOG"];

impl Layer {
    /// Reads a TOML layer from a file.
    pub fn from_file(path: &Path) -> Result<Layer, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string().trim().to_string(),
        })
    }

    /// Reads the `MASTHEAD_*` variables from `vars`. Lists are comma-separated.
    pub fn from_env(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Layer, ConfigError> {
        let mut layer = Layer::default();
        for (name, value) in vars {
            if !name.starts_with("MASTHEAD_") || ENV_OTHER.contains(&name.as_str()) {
                continue;
            }
            // The test harness's own variables are not configuration.
            if name.starts_with("MASTHEAD_TEST_") {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| *n == name) else {
                return Err(ConfigError::UnknownEnv(name));
            };
            let list = || {
                value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            match *key {
                "listen" => layer.listen = Some(value),
                "data" => layer.data = Some(value.into()),
                "database_url" => layer.database_url = Some(value),
                "public_url" => layer.public_url = Some(value),
                "trusted_proxies" => layer.trusted_proxies = Some(list()),
                "secret_key" => layer.secret_key = Some(value),
                "previous_secret_keys" => layer.previous_secret_keys = Some(list()),
                "smtp_url" => layer.smtp_url = Some(value),
                "redis_url" => layer.redis_url = Some(value),
                "theme_dir" => layer.theme_dir = Some(value.into()),
                "sitemap_page_size" => layer.sitemap_page_size = Some(whole(&name, &value)?),
                "change_poll_ms" => layer.change_poll_ms = Some(whole(&name, &value)?),
                "webhook_secret" => layer.webhook_secret = Some(value),
                "mail_webhook_secret" => layer.mail_webhook_secret = Some(value),
                "deleted_member_comments" => layer.deleted_member_comments = Some(value),
                "bounce_address" => layer.bounce_address = Some(value),
                "dkim_key_file" => layer.dkim_key_file = Some(value.into()),
                "dkim_selector" => layer.dkim_selector = Some(value),
                "dkim_domain" => layer.dkim_domain = Some(value),
                "mail_domain_rate" => layer.mail_domain_rate = Some(whole(&name, &value)?),
                _ => unreachable!("every key in ENV_KEYS is matched"),
            }
        }
        Ok(layer)
    }

    /// Values set in `over` replace those of `self`.
    pub fn merge(self, over: Layer) -> Layer {
        Layer {
            listen: over.listen.or(self.listen),
            data: over.data.or(self.data),
            database_url: over.database_url.or(self.database_url),
            public_url: over.public_url.or(self.public_url),
            trusted_proxies: over.trusted_proxies.or(self.trusted_proxies),
            secret_key: over.secret_key.or(self.secret_key),
            previous_secret_keys: over.previous_secret_keys.or(self.previous_secret_keys),
            smtp_url: over.smtp_url.or(self.smtp_url),
            redis_url: over.redis_url.or(self.redis_url),
            theme_dir: over.theme_dir.or(self.theme_dir),
            sitemap_page_size: over.sitemap_page_size.or(self.sitemap_page_size),
            change_poll_ms: over.change_poll_ms.or(self.change_poll_ms),
            webhook_secret: over.webhook_secret.or(self.webhook_secret),
            mail_webhook_secret: over.mail_webhook_secret.or(self.mail_webhook_secret),
            deleted_member_comments: over
                .deleted_member_comments
                .or(self.deleted_member_comments),
            bounce_address: over.bounce_address.or(self.bounce_address),
            dkim_key_file: over.dkim_key_file.or(self.dkim_key_file),
            dkim_selector: over.dkim_selector.or(self.dkim_selector),
            dkim_domain: over.dkim_domain.or(self.dkim_domain),
            mail_domain_rate: over.mail_domain_rate.or(self.mail_domain_rate),
        }
    }
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA: &str = "./masthead-data";
/// The shortest webhook secret accepted: a shorter one could be guessed.
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 32;

impl Config {
    /// Builds the configuration from its layers: `flags` (command line) over
    /// the environment over the file over the defaults. The file is
    /// `config_file` when given, else `masthead.toml` in the data folder if it
    /// exists.
    pub fn load(
        flags: Layer,
        env: impl IntoIterator<Item = (String, String)>,
        config_file: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let env = Layer::from_env(env)?;
        // The data folder decides where the file is, so it is read first
        // from the layers above the file.
        let data_dir = flags
            .data
            .clone()
            .or(env.data.clone())
            .unwrap_or_else(|| DEFAULT_DATA.into());
        let file = match config_file {
            Some(path) => Layer::from_file(path)?,
            None => {
                let path = data_dir.join("masthead.toml");
                if path.exists() {
                    Layer::from_file(&path)?
                } else {
                    Layer::default()
                }
            }
        };
        let merged = file.merge(env).merge(flags);
        Config::from_layer(merged)
    }

    /// Checks and types every value of a merged layer, filling defaults.
    pub fn from_layer(l: Layer) -> Result<Config, ConfigError> {
        let bad = |key: &str, message: String| ConfigError::Value {
            key: key.to_string(),
            message,
        };
        let listen_text = l.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            bad(
                "listen",
                format!("expected an address and port such as 127.0.0.1:8080, got {listen_text:?}"),
            )
        })?;
        let data_dir = l.data.unwrap_or_else(|| DEFAULT_DATA.into());
        let database_url = match l.database_url {
            Some(u)
                if u.starts_with("postgres://")
                    || u.starts_with("postgresql://")
                    || u.starts_with("sqlite:") =>
            {
                u
            }
            Some(u) => {
                return Err(bad(
                    "database_url",
                    format!(
                        "expected a postgres:// URL or a sqlite: path, got {:?}",
                        crate::db::redact_url(&u)
                    ),
                ));
            }
            None => format!("sqlite:{}", data_dir.join("masthead.db").display()),
        };
        let public_url = match l.public_url {
            Some(u) => {
                let parsed = Url::parse(&u)
                    .map_err(|e| bad("public_url", format!("{u:?} is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(bad(
                        "public_url",
                        format!("expected an http:// or https:// address, got {u:?}"),
                    ));
                }
                if parsed.query().is_some() || parsed.fragment().is_some() {
                    return Err(bad(
                        "public_url",
                        format!("must not carry a query or fragment, got {u:?}"),
                    ));
                }
                parsed
            }
            None => Url::parse(&format!("http://{listen}/"))
                .map_err(|e| bad("public_url", e.to_string()))?,
        };
        let trusted_proxies = l
            .trusted_proxies
            .unwrap_or_default()
            .iter()
            .map(|p| {
                parse_net(p).ok_or_else(|| {
                    bad(
                        "trusted_proxies",
                        format!("{p:?} is not an IP address or a CIDR range"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let opt_url =
            |key: &str, v: Option<String>, schemes: &[&str]| -> Result<Option<Url>, ConfigError> {
                match v {
                    None => Ok(None),
                    Some(s) if s.is_empty() => Ok(None),
                    Some(s) => {
                        let u = Url::parse(&s).map_err(|e| bad(key, format!("not a URL: {e}")))?;
                        if !schemes.contains(&u.scheme()) {
                            return Err(bad(
                                key,
                                format!("expected a URL starting with {}", schemes.join(": or ")),
                            ));
                        }
                        Ok(Some(u))
                    }
                }
            };
        let smtp_url = opt_url("smtp_url", l.smtp_url, &["smtp", "smtps"])?;
        let redis_url = opt_url("redis_url", l.redis_url, &["redis", "rediss"])?;
        if let Some(k) = &l.secret_key {
            crate::keys::decode_key(k).map_err(|m| bad("secret_key", m))?;
        }
        let previous_secret_keys = l.previous_secret_keys.unwrap_or_default();
        for k in &previous_secret_keys {
            crate::keys::decode_key(k).map_err(|m| bad("previous_secret_keys", m))?;
        }
        // An empty value (an unset variable in a deployment template) means none.
        let webhook_secret = l.webhook_secret.filter(|s| !s.is_empty());
        let mail_webhook_secret = l.mail_webhook_secret.filter(|s| !s.is_empty());
        for (key, secret) in [
            ("webhook_secret", &webhook_secret),
            ("mail_webhook_secret", &mail_webhook_secret),
        ] {
            if let Some(s) = secret
                && s.chars().count() < MIN_WEBHOOK_SECRET_CHARS
            {
                return Err(bad(
                    key,
                    format!(
                        "is {} characters long; it needs {MIN_WEBHOOK_SECRET_CHARS} or more (a long random string)",
                        s.chars().count()
                    ),
                ));
            }
        }
        let change_poll_ms = l.change_poll_ms.unwrap_or(250);
        if change_poll_ms > 60_000 {
            return Err(bad(
                "change_poll_ms",
                "must be from 0 to 60000 milliseconds".into(),
            ));
        }
        let deleted_member_comments = match l.deleted_member_comments.as_deref() {
            None | Some("") => DeletedMemberComments::default(),
            Some(v) => DeletedMemberComments::parse(v).ok_or_else(|| {
                bad(
                    "deleted_member_comments",
                    format!("expected \"anonymise\" or \"delete\", got {v:?}"),
                )
            })?,
        };
        let sitemap_page_size = l.sitemap_page_size.unwrap_or(10_000);
        if sitemap_page_size == 0 || sitemap_page_size > 50_000 {
            return Err(bad("sitemap_page_size", "must be from 1 to 50000".into()));
        }
        let bounce_address = l.bounce_address.filter(|s| !s.trim().is_empty());
        if let Some(a) = &bounce_address
            && a.parse::<lettre::Address>().is_err()
        {
            return Err(bad(
                "bounce_address",
                format!("{a:?} is not a mail address (write it as bounces@example.com)"),
            ));
        }
        let dkim_key_file = l.dkim_key_file.filter(|p| !p.as_os_str().is_empty());
        let dkim_selector = l.dkim_selector.filter(|s| !s.trim().is_empty());
        if dkim_key_file.is_some() != dkim_selector.is_some() {
            return Err(bad(
                "dkim_selector",
                "DKIM signing needs both dkim_key_file and dkim_selector".into(),
            ));
        }
        Ok(Config {
            listen,
            theme_dir: l.theme_dir.unwrap_or_else(|| data_dir.join("theme")),
            data_dir,
            database_url,
            public_url,
            trusted_proxies,
            secret_key: l.secret_key,
            previous_secret_keys,
            smtp_url,
            redis_url,
            sitemap_page_size,
            change_poll_ms,
            webhook_secret,
            mail_webhook_secret,
            deleted_member_comments,
            bounce_address,
            dkim_key_file,
            dkim_selector,
            dkim_domain: l.dkim_domain.filter(|s| !s.trim().is_empty()),
            mail_domain_rate: l.mail_domain_rate.unwrap_or(0),
        })
    }

    /// The folder mail is written to when no SMTP server is configured.
    pub fn mail_drop_dir(&self) -> PathBuf {
        self.data_dir.join("mail-drop")
    }

    /// Where photos (originals and renditions) are kept.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }

    /// Whether cookies must carry `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute URL for a site path such as `/india/some-story-12`.
    pub fn absolute(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }

    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

fn whole<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError> {
    value.parse().map_err(|_| ConfigError::Value {
        key: name.to_string(),
        message: format!("expected a whole number, got {value:?}"),
    })
}

fn parse_net(s: &str) -> Option<IpNet> {
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults_listen_on_loopback_8080_with_sqlite_in_the_data_folder() {
        let c = Config::load(Layer::default(), env(&[]), None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./masthead-data"));
        assert_eq!(c.database_url, "sqlite:./masthead-data/masthead.db");
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
    }

    #[test]
    fn flags_beat_environment_which_beats_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\npublic_url = \"https://file.example\"\nsmtp_url = \"smtp://file\"\n").unwrap();
        let flags = Layer {
            listen: Some("127.0.0.1:3".into()),
            ..Layer::default()
        };
        let c = Config::load(
            flags,
            env(&[
                ("MASTHEAD_LISTEN", "127.0.0.1:2"),
                ("MASTHEAD_PUBLIC_URL", "https://env.example/news/"),
            ]),
            Some(&file),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 3);
        assert_eq!(c.public_url.as_str(), "https://env.example/news/");
        assert_eq!(c.smtp_url.as_ref().unwrap().as_str(), "smtp://file");
        assert!(c.is_https());
    }

    #[test]
    fn the_file_in_the_data_folder_is_read_when_no_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("masthead.toml"),
            "public_url = \"https://news.example\"\n",
        )
        .unwrap();
        let flags = Layer {
            data: Some(dir.path().to_path_buf()),
            ..Layer::default()
        };
        let c = Config::load(flags, env(&[]), None).unwrap();
        assert_eq!(c.public_url.as_str(), "https://news.example/");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\npublic_ulr = \"x\"\n").unwrap();
        let err = Config::load(Layer::default(), env(&[]), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(err.contains("public_ulr"), "{err}");
    }

    #[test]
    fn an_unknown_environment_variable_is_an_error_naming_it() {
        let err = Config::load(Layer::default(), env(&[("MASTHEAD_LISTN", "x")]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("MASTHEAD_LISTN"), "{err}");
    }

    #[test]
    fn bad_values_are_errors_naming_the_key() {
        let cases: &[(&str, &str, &str)] = &[
            ("MASTHEAD_LISTEN", "localhost", "listen"),
            ("MASTHEAD_PUBLIC_URL", "news.example", "public_url"),
            ("MASTHEAD_PUBLIC_URL", "ftp://news.example", "public_url"),
            ("MASTHEAD_DATABASE_URL", "mysql://x", "database_url"),
            (
                "MASTHEAD_TRUSTED_PROXIES",
                "10.0.0.1,nonsense",
                "trusted_proxies",
            ),
            ("MASTHEAD_SMTP_URL", "http://x", "smtp_url"),
            ("MASTHEAD_SECRET_KEY", "short", "secret_key"),
            (
                "MASTHEAD_SITEMAP_PAGE_SIZE",
                "many",
                "MASTHEAD_SITEMAP_PAGE_SIZE",
            ),
        ];
        for (var, value, key) in cases {
            let err = Config::load(Layer::default(), env(&[(var, value)]), None)
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(key), "{var}={value}: {err}");
        }
    }

    #[test]
    fn the_webhook_secret_is_layered_and_must_be_long() {
        let c = Config::load(Layer::default(), env(&[]), None).unwrap();
        assert_eq!(c.webhook_secret, None);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        let from_file = "f".repeat(32);
        std::fs::write(&file, format!("webhook_secret = \"{from_file}\"\n")).unwrap();
        let c = Config::load(Layer::default(), env(&[]), Some(&file)).unwrap();
        assert_eq!(c.webhook_secret.as_deref(), Some(from_file.as_str()));
        let from_env = "e".repeat(40);
        let c = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_WEBHOOK_SECRET", &from_env)]),
            Some(&file),
        )
        .unwrap();
        assert_eq!(c.webhook_secret.as_deref(), Some(from_env.as_str()));
        let c = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_WEBHOOK_SECRET", "")]),
            None,
        )
        .unwrap();
        assert_eq!(c.webhook_secret, None, "an empty value means none");
        let err = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_WEBHOOK_SECRET", &"s".repeat(31))]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("webhook_secret"), "{err}");
        assert!(
            !err.contains(&"s".repeat(31)),
            "the secret is not echoed: {err}"
        );
    }

    #[test]
    fn the_mail_webhook_secret_is_its_own_and_must_be_long() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(
            &file,
            format!("mail_webhook_secret = \"{}\"\n", "m".repeat(32)),
        )
        .unwrap();
        let c = Config::load(Layer::default(), env(&[]), Some(&file)).unwrap();
        assert_eq!(c.mail_webhook_secret, Some("m".repeat(32)));
        assert_eq!(c.webhook_secret, None);
        let err = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_MAIL_WEBHOOK_SECRET", "short")]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("mail_webhook_secret"), "{err}");
    }

    #[test]
    fn deleted_member_comments_are_anonymised_unless_set_to_delete() {
        let c = Config::load(Layer::default(), env(&[]), None).unwrap();
        assert_eq!(c.deleted_member_comments, DeletedMemberComments::Anonymise);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.toml");
        std::fs::write(&file, "deleted_member_comments = \"delete\"\n").unwrap();
        let c = Config::load(Layer::default(), env(&[]), Some(&file)).unwrap();
        assert_eq!(c.deleted_member_comments, DeletedMemberComments::Delete);
        let c = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_DELETED_MEMBER_COMMENTS", "anonymise")]),
            Some(&file),
        )
        .unwrap();
        assert_eq!(c.deleted_member_comments, DeletedMemberComments::Anonymise);
        let err = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_DELETED_MEMBER_COMMENTS", "keep")]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("deleted_member_comments"), "{err}");
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let c = Config::load(
            Layer::default(),
            env(&[("MASTHEAD_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]),
            None,
        )
        .unwrap();
        assert!(c.is_trusted_proxy("10.1.2.3".parse().unwrap()));
        assert!(c.is_trusted_proxy("::1".parse().unwrap()));
        assert!(!c.is_trusted_proxy("192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn a_database_password_is_hidden_in_errors() {
        assert_eq!(
            crate::db::redact_url("postgres://u:secret@h/db"),
            "postgres://u:****@h/db"
        );
    }
}
