//! `[adapter]`: where a node's rooms and broadcasts live. Local (one
//! process, the default) or Redis (a cluster of confab nodes, Node servers
//! and emitters on one Redis).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The adapter a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    /// This process only.
    Local,
    /// A cluster on Redis, wire-compatible with `@socket.io/redis-adapter`.
    Redis,
}

/// `[adapter]` in the appliance's configuration.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdapterConfig {
    /// `local` or `redis`. Unset: `redis` when `url` is set (the seeds'
    /// `CACHE_REDIS_URL` alone turns the cluster on), `local` otherwise.
    pub kind: Option<AdapterKind>,
    /// `redis://[user:password@]host:port[/db]` (`rediss://` for TLS is not
    /// built in).
    pub url: String,
    /// The channels' prefix: the Node adapter's and emitter's `key` option.
    pub key_prefix: String,
    /// How long a cluster-wide request (fetch sockets, server-side emit
    /// with acks, ...) waits for the other nodes: the Node adapter's
    /// `requestsTimeout`. Also bounds each call to Redis.
    pub request_timeout_ms: u64,
    /// How long a node that stops beating (killed, cut off) still counts
    /// for presence: past it another node takes its users offline. It
    /// beats every third of this.
    pub node_ttl_ms: u64,
}

impl Default for AdapterConfig {
    fn default() -> Self {
        AdapterConfig {
            kind: None,
            url: String::new(),
            key_prefix: "socket.io".into(),
            request_timeout_ms: 5000,
            node_ttl_ms: 15_000,
        }
    }
}

/// The URL carries a password: shown without it.
impl std::fmt::Debug for AdapterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterConfig")
            .field("kind", &self.kind)
            .field("url", &redacted_url(&self.url))
            .field("key_prefix", &self.key_prefix)
            .field("request_timeout_ms", &self.request_timeout_ms)
            .field("node_ttl_ms", &self.node_ttl_ms)
            .finish()
    }
}

/// The shortest node lifetime: three beats must fit in it even on a busy
/// machine.
pub const MIN_NODE_TTL_MS: u64 = 300;

/// Why `[adapter]` cannot work.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AdapterConfigError {
    #[error("adapter.url: kind = \"redis\" needs a Redis URL")]
    MissingUrl,
    #[error("adapter.url: {0}")]
    BadUrl(String),
    #[error("adapter.key_prefix: must not be empty")]
    EmptyPrefix,
    #[error("adapter.request_timeout_ms: must be above 0")]
    ZeroTimeout,
    #[error("adapter.node_ttl_ms: must be at least {MIN_NODE_TTL_MS}")]
    ShortNodeTtl,
}

impl AdapterConfig {
    /// The kind in effect (see [`AdapterConfig::kind`]).
    pub fn effective_kind(&self) -> AdapterKind {
        match (self.kind, self.url.is_empty()) {
            (Some(kind), _) => kind,
            (None, true) => AdapterKind::Local,
            (None, false) => AdapterKind::Redis,
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn node_ttl(&self) -> Duration {
        Duration::from_millis(self.node_ttl_ms.max(MIN_NODE_TTL_MS))
    }

    /// Checks what can be checked without Redis (for `confab check`).
    pub fn check(&self) -> Result<(), AdapterConfigError> {
        if self.effective_kind() == AdapterKind::Local {
            return Ok(());
        }
        if self.url.is_empty() {
            return Err(AdapterConfigError::MissingUrl);
        }
        redis::Client::open(self.url.as_str())
            .map_err(|e| AdapterConfigError::BadUrl(format!("{}: {e}", redacted_url(&self.url))))?;
        if self.key_prefix.is_empty() {
            return Err(AdapterConfigError::EmptyPrefix);
        }
        if self.request_timeout_ms == 0 {
            return Err(AdapterConfigError::ZeroTimeout);
        }
        if self.node_ttl_ms < MIN_NODE_TTL_MS {
            return Err(AdapterConfigError::ShortNodeTtl);
        }
        Ok(())
    }
}

/// The URL with any password replaced by `(redacted)`, for logs and
/// `confab config`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:(redacted)@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_alone_means_redis_and_nothing_means_local() {
        let mut config = AdapterConfig::default();
        assert_eq!(config.effective_kind(), AdapterKind::Local);
        assert_eq!(config.check(), Ok(()));
        config.url = "redis://127.0.0.1:6379".into();
        assert_eq!(config.effective_kind(), AdapterKind::Redis);
        config.kind = Some(AdapterKind::Local);
        assert_eq!(config.effective_kind(), AdapterKind::Local);
    }

    #[test]
    fn each_problem_is_named() {
        let redis = |edit: fn(&mut AdapterConfig)| {
            let mut config = AdapterConfig {
                kind: Some(AdapterKind::Redis),
                url: "redis://127.0.0.1:6379".into(),
                ..AdapterConfig::default()
            };
            edit(&mut config);
            config.check()
        };
        assert_eq!(redis(|_| {}), Ok(()));
        assert_eq!(
            redis(|c| c.url.clear()),
            Err(AdapterConfigError::MissingUrl)
        );
        assert!(matches!(
            redis(|c| c.url = "http://x".into()),
            Err(AdapterConfigError::BadUrl(_))
        ));
        assert_eq!(
            redis(|c| c.key_prefix.clear()),
            Err(AdapterConfigError::EmptyPrefix)
        );
        assert_eq!(
            redis(|c| c.request_timeout_ms = 0),
            Err(AdapterConfigError::ZeroTimeout)
        );
        assert_eq!(
            redis(|c| c.node_ttl_ms = MIN_NODE_TTL_MS - 1),
            Err(AdapterConfigError::ShortNodeTtl)
        );
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redacted_url("redis://:s3cret@h:1/0"),
            "redis://:(redacted)@h:1/0"
        );
        assert_eq!(
            redacted_url("redis://u:s3cret@h:1"),
            "redis://u:(redacted)@h:1"
        );
        assert_eq!(redacted_url("redis://h:1"), "redis://h:1");
        let shown = format!(
            "{:?}",
            AdapterConfig {
                url: "redis://u:s3cret@h".into(),
                ..AdapterConfig::default()
            }
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
