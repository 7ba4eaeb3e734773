//! Counters of what the engine refused, for whoever wants to watch them
//! (logs say it once per connection; these say how often).
//!
//! Plain relaxed atomics: a count is bumped on a path that is already
//! closing a connection or refusing an event, never on the hot path of a
//! healthy one.

use std::sync::atomic::{AtomicU64, Ordering};

/// The engine's counters, shared by every session and transport.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames or packets that could not be decoded, or broke the protocol
    /// (each closes its connection).
    pub malformed_packets: AtomicU64,
    /// Connections cut because more than `max_buffered_bytes` waited for
    /// a client that did not read them.
    pub outbound_overflows: AtomicU64,
    /// Events refused by the per-connection rate limit.
    pub rate_limited_events: AtomicU64,
    /// Connections closed for going on past the rate limit.
    pub rate_limited_connections: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
