//! Rate limits on sign-in, registration and the routes that send mail:
//! attempts counted per key (a client address, an e-mail address) in fixed
//! windows.
//!
//! With `MASTHEAD_REDIS_URL` set, the counts live in Redis, so every instance
//! counts against the same limit. Without it they live in this process's
//! memory: right for one instance; with several, each counts its own share.
//! If Redis stops answering, the counts fall back to this process's memory
//! (and say so in the log) rather than refusing everyone or letting anyone
//! through unchecked.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use sha2::{Digest, Sha256};

pub struct RateLimiter {
    local: LocalCounts,
    redis: Option<redis::aio::ConnectionManager>,
    /// Mixed into every Redis key, so publications may share one Redis.
    namespace: String,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::local()
    }
}

impl RateLimiter {
    /// Counts in this process's memory.
    pub fn local() -> RateLimiter {
        RateLimiter {
            local: LocalCounts::default(),
            redis: None,
            namespace: String::new(),
        }
    }

    /// Counts in the Redis at `url`, apart from other publications' counts
    /// (`namespace`: the publication's public address); fails when Redis does
    /// not answer now.
    pub async fn shared(url: &url::Url, namespace: &str) -> anyhow::Result<RateLimiter> {
        let shown = crate::db::redact_url(url.as_str());
        let client = redis::Client::open(url.as_str())
            .with_context(|| format!("MASTHEAD_REDIS_URL {shown} is not a Redis address"))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2);
        let mut conn = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new_with_config(client, config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("no answer in 5 seconds"))
        .and_then(|r| r.map_err(anyhow::Error::from))
        .with_context(|| format!("cannot reach Redis at {shown} (MASTHEAD_REDIS_URL)"))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .with_context(|| format!("Redis at {shown} does not answer PING"))?;
        Ok(RateLimiter {
            local: LocalCounts::default(),
            redis: Some(conn),
            namespace: namespace.to_string(),
        })
    }

    pub fn is_shared(&self) -> bool {
        self.redis.is_some()
    }

    /// Counts one attempt for `key`; false when more than `limit` were made
    /// in the current `window_secs` window (windows follow the app's clock).
    pub async fn allow(&self, key: &str, limit: u32, window_secs: i64, now_micros: i64) -> bool {
        let window = now_micros / (window_secs * 1_000_000);
        if let Some(conn) = &self.redis {
            // Keys are hashed: Redis need not hold readers' e-mail addresses.
            let mut h = Sha256::new();
            h.update(self.namespace.as_bytes());
            h.update([0]);
            h.update(key.as_bytes());
            let digest = h.finalize();
            let k = format!(
                "masthead:limit:{}:{window_secs}:{window}",
                hex::encode(&digest[..12])
            );
            let counted: Result<(i64,), redis::RedisError> = redis::pipe()
                .atomic()
                .incr(&k, 1)
                .expire(&k, window_secs * 2)
                .ignore()
                .query_async(&mut conn.clone())
                .await;
            match counted {
                Ok((n,)) => return n <= i64::from(limit),
                Err(e) => tracing::warn!(
                    error = %e,
                    "Redis did not count a rate-limited attempt; counting in this process"
                ),
            }
        }
        self.local.allow(key, limit, window)
    }
}

/// Counts per key and window in this process's memory.
#[derive(Default)]
struct LocalCounts {
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl LocalCounts {
    fn allow(&self, key: &str, limit: u32, window: i64) -> bool {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1 <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_counts_go_per_key_and_window() {
        let r = RateLimiter::local();
        let t = 1_000_000_000_000;
        for _ in 0..3 {
            assert!(r.allow("ip:1", 3, 60, t).await);
        }
        assert!(!r.allow("ip:1", 3, 60, t).await);
        assert!(r.allow("ip:2", 3, 60, t).await);
        assert!(r.allow("ip:1", 3, 60, t + 61_000_000).await);
    }
}
