//! What a connection presented when it opened, and what a namespace
//! middleware makes of it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use crate::pairs::Pairs;

/// The HTTP request that opened an Engine.IO connection.
#[derive(Debug, Default)]
pub struct Handshake {
    /// Query string parameters (`EIO`, `transport`, and the client's own).
    pub query: Pairs,
    /// Request headers, names lower-cased; repeated headers joined by `, `.
    pub headers: Pairs,
    pub address: Option<SocketAddr>,
    pub issued: Option<SystemTime>,
    pub url: String,
    /// Whether the request came without `Origin` or from an origin the
    /// engine trusts with credentials: only then may a cookie it carries
    /// authenticate it (a browser sends a site's cookies with a WebSocket
    /// opened by any page). False unless the transport says so.
    pub trusted_origin: bool,
    /// Whether the request came over TLS (as the proxy in front said).
    pub secure: bool,
    /// The Engine.IO session id of the connection, set when the engine
    /// opens it: what the sockets of one connection have in common.
    pub connection: String,
    /// Set by the session when the connection upgrades from long-polling to
    /// WebSocket (every socket of the connection shares the handshake): see
    /// [`Handshake::transport`].
    pub upgraded: AtomicBool,
}

impl Handshake {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.get(name)
    }

    /// The connection's transport now: `websocket` once upgraded or if it
    /// opened so, else `polling`.
    pub fn transport(&self) -> &'static str {
        match self.upgraded.load(Ordering::Relaxed) || self.query("transport") == Some("websocket")
        {
            true => "websocket",
            false => "polling",
        }
    }
}

/// A namespace CONNECT on its way through the middlewares. A middleware may
/// fill in `user_id` and `data`; the socket keeps both.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    pub nsp: String,
    /// The `auth` object of the CONNECT packet (`{}` when absent).
    pub auth: serde_json::Value,
    pub handshake: std::sync::Arc<Handshake>,
    /// The authenticated user, if a middleware established one.
    pub user_id: Option<String>,
    /// Anything a middleware wants the handlers to see.
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// Where an authentication middleware leaves who the user is (`name`,
/// `avatar`, ...) in [`ConnectRequest::data`], and so in `Socket::data()`:
/// the key is shared here, below both, so that handlers of another layer
/// (the chat contract) read what the identity layer wrote without importing
/// it.
pub const IDENTITY_DATA_KEY: &str = "identity";

/// A middleware's refusal: the client gets CONNECT_ERROR `{message, data}`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub message: String,
    pub data: Option<serde_json::Value>,
}

impl ConnectError {
    pub fn new(message: impl Into<String>) -> Self {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}
