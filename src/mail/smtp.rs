//! The SMTP client: a few kept-open connections to the configured server,
//! each a lettre [`AsyncSmtpConnection`] over a TCP socket with Nagle's
//! algorithm off.
//!
//! Why not lettre's own pooled transport: it leaves Nagle's algorithm on,
//! and it writes a message's final `.` in a write of its own after the
//! body. That small write waits for the server to acknowledge the body,
//! which a server with delayed acknowledgements (most of them) does after
//! 40 ms, so every message cost 40 ms however fast both ends were: 25
//! messages a second on one connection. With `TCP_NODELAY` the same
//! connection carries thousands a second (`docs/benchmarks.md`).

use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use url::Url;

use super::transport::RawError;

type SmtpError = lettre::transport::smtp::Error;

/// What a failed SMTP exchange means for the message.
fn classify(e: SmtpError) -> RawError {
    if e.is_permanent() {
        RawError::Refused(e.to_string())
    } else if e.is_transient() {
        RawError::Deferred(e.to_string())
    } else if e.to_string().contains("SMTPUTF8") {
        RawError::NoSmtpUtf8
    } else {
        RawError::Unavailable(e.to_string())
    }
}

/// How the connection is secured (`?tls=` of the SMTP URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    /// STARTTLS when the server offers it.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// Never (a local relay).
    None,
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

/// A client for one SMTP server, from its URL.
pub struct SmtpClient {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    /// Connections open and idle, most recently used last.
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    max_idle: usize,
}

impl std::fmt::Debug for SmtpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SmtpClient({}:{}, {:?})",
            self.host, self.port, self.security
        )
    }
}

impl SmtpClient {
    /// A client for `smtp://host[:port][?tls=required|none]` or
    /// `smtps://host[:port]`, with `user:password@` as credentials.
    pub fn from_url(url: &Url) -> anyhow::Result<SmtpClient> {
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(a)) => a.to_string(),
            Some(url::Host::Ipv6(a)) => a.to_string(),
            None => bail!("the SMTP URL names no host"),
        };
        let tls_mode = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls_mode.as_deref()) {
            ("smtps", None) => (Security::Wrapper, 465),
            ("smtp", None | Some("opportunistic")) => (Security::Opportunistic, 25),
            ("smtp", Some("required")) => (Security::Required, 25),
            ("smtp", Some("none")) => (Security::None, 25),
            (scheme, mode) => bail!(
                "the SMTP URL should be smtp:// (with ?tls=required or ?tls=none) or smtps://, got {scheme}:// with tls={}",
                mode.unwrap_or("")
            ),
        };
        if security != Security::None {
            // Checked now, so a bad host name fails the start, not a send.
            TlsParameters::new(host.clone())
                .with_context(|| format!("cannot set up TLS for the SMTP server {host}"))?;
        }
        let credentials = if url.username().is_empty() {
            None
        } else {
            let user =
                super::transport::percent_decode(url.username()).context("the SMTP user name")?;
            let password = super::transport::percent_decode(url.password().unwrap_or(""))
                .context("the SMTP password")?;
            Some(Credentials::new(user, password))
        };
        Ok(SmtpClient {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello: ClientId::default(),
            timeout: Duration::from_secs(30),
            idle: Mutex::new(Vec::new()),
            max_idle: 4,
        })
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, RawError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            RawError::Unavailable(format!("{}:{}: {e}", self.host, self.port))
        };
        let tls = || TlsParameters::new(self.host.clone()).map_err(classify);
        let mut conn = if self.security == Security::Wrapper {
            AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.timeout),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(classify)?
        } else {
            let tcp = tokio::time::timeout(
                self.timeout,
                tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
            )
            .await
            .map_err(|_| unavailable(&"the connection timed out"))?
            .map_err(|e| unavailable(&e))?;
            tcp.set_nodelay(true).map_err(|e| unavailable(&e))?;
            let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello)
                .await
                .map_err(|e| unavailable(&e))?;
            match self.security {
                Security::Opportunistic if conn.can_starttls() => {
                    conn.starttls(tls()?, &self.hello)
                        .await
                        .map_err(|e| unavailable(&e))?;
                }
                Security::Required => conn
                    .starttls(tls()?, &self.hello)
                    .await
                    .map_err(|e| unavailable(&e))?,
                _ => {}
            }
            conn
        };
        if let Some(credentials) = &self.credentials {
            // A refused sign-in will not get better by itself, but a wrong
            // password is fixed by an admin: keep the mail and wait.
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
                .map_err(|e| unavailable(&format!("sign-in refused: {e}")))?;
        }
        Ok(conn)
    }

    /// Sends one message. A kept connection that the server has closed in
    /// the meantime is replaced once, so a quiet spell costs no error.
    pub async fn send_raw(&self, envelope: &Envelope, message: &[u8]) -> Result<(), RawError> {
        let kept = self.idle.lock().unwrap().pop();
        let (mut conn, reused) = match kept {
            Some(c) if !c.has_broken() => (c, true),
            _ => (self.connect().await?, false),
        };
        let result = match conn.send(envelope, message).await {
            Err(e) if reused && !e.is_response() && !e.is_transient() && !e.is_permanent() => {
                conn = self.connect().await?;
                conn.send(envelope, message).await
            }
            other => other,
        };
        match result {
            Ok(_) => {
                let mut idle = self.idle.lock().unwrap();
                if idle.len() < self.max_idle && !conn.has_broken() {
                    idle.push(conn);
                }
                Ok(())
            }
            // lettre closes the connection on any error.
            Err(e) => Err(classify(e)),
        }
    }

    /// Says QUIT on the kept connections.
    pub async fn shutdown(&self) {
        let conns: Vec<_> = std::mem::take(&mut *self.idle.lock().unwrap());
        for mut c in conns {
            let _ = c.quit().await;
        }
    }
}
