//! Engine timings and limits, with the Node server's defaults.

use std::time::Duration;

use crate::adapter::recovery::Recovery;
use crate::rate::EventRate;

/// What an engine needs to know to run its sessions.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Time between two server pings (Engine.IO `pingInterval`).
    pub ping_interval: Duration,
    /// How long a ping may wait for its pong before the session closes.
    pub ping_timeout: Duration,
    /// Largest packet or polling payload accepted from a client, in bytes.
    pub max_payload: usize,
    /// How long a new connection may go without connecting to a namespace.
    pub connect_timeout: Duration,
    /// Bytes queued for one connection (frames charged with their
    /// overhead, see [`crate::outbound`]) before it counts as stuck and is
    /// cut: a client that stops reading never makes the server hold more.
    pub max_buffered_bytes: usize,
    /// The per-connection event rate limit.
    pub event_rate: EventRate,
    /// Default time an emit with an ack waits for the answer.
    pub ack_timeout: Duration,
    /// Connection state recovery (off by default, as in Node).
    pub recovery: Recovery,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            max_payload: 1_000_000,
            connect_timeout: Duration::from_millis(45_000),
            max_buffered_bytes: 4_000_000,
            event_rate: EventRate::default(),
            ack_timeout: Duration::from_secs(10),
            recovery: Recovery::default(),
        }
    }
}
