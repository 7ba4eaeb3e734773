//! The engine's counters and gauges, for whoever wants to watch them (logs
//! say it once per connection; these say how often, and how many now).
//!
//! Plain relaxed atomics, owned by the engine and read at scrape time by
//! the exporter (confab's `/metrics`): a count costs one uncontended
//! `fetch_add`, never a lock or a lookup. A broadcast adds its deliveries
//! once, by the number of members its room actor wrote to, not once per
//! copy.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Why an Engine.IO request or a Socket.IO CONNECT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The `Origin` is not allowed (403).
    Origin,
    /// A request that breaks the protocol (400).
    BadRequest,
    /// The sid names no live session (400, code 1).
    UnknownSid,
    /// A transport other than polling and websocket (400, code 0).
    UnknownTransport,
    /// A long-polling body over `max_payload` (413).
    PayloadTooLarge,
    /// A Socket.IO CONNECT the namespace refused (its middleware or
    /// authentication) or an unknown namespace.
    ConnectRefused,
}

impl Refusal {
    /// Every reason, in the order of [`Stats::refused`].
    pub const ALL: [Refusal; 6] = [
        Refusal::Origin,
        Refusal::BadRequest,
        Refusal::UnknownSid,
        Refusal::UnknownTransport,
        Refusal::PayloadTooLarge,
        Refusal::ConnectRefused,
    ];

    /// The reason as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::BadRequest => "bad_request",
            Refusal::UnknownSid => "unknown_sid",
            Refusal::UnknownTransport => "unknown_transport",
            Refusal::PayloadTooLarge => "payload_too_large",
            Refusal::ConnectRefused => "connect_refused",
        }
    }
}

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
    /// Open connections on long-polling (a gauge).
    pub connections_polling: AtomicI64,
    /// Open connections on WebSocket, opened so or upgraded (a gauge).
    pub connections_websocket: AtomicI64,
    /// Long-polling connections upgraded to WebSocket.
    pub upgrades: AtomicU64,
    /// Refused requests and CONNECTs, by [`Refusal`] (see [`Stats::refused`]).
    refusals: [AtomicU64; Refusal::ALL.len()],
    /// Events received from clients (each dispatched, refused or answered).
    pub events_received: AtomicU64,
    /// Events (and answers to the client's acks) handed to sockets: each
    /// copy of a broadcast counts once.
    pub events_sent: AtomicU64,
    /// Broadcasts (one emit to a room, several rooms or a namespace).
    pub broadcasts: AtomicU64,
    /// Copies of broadcasts handed to sockets.
    pub deliveries: AtomicU64,
    /// Acks the server waits for from clients (a gauge).
    pub acks_pending: AtomicI64,
    /// Acks the server waited for in vain.
    pub acks_timed_out: AtomicU64,
    /// Engine.IO bytes read from clients (polling bodies, WebSocket messages).
    pub bytes_in: AtomicU64,
    /// Engine.IO bytes written to clients (polling answers, WebSocket frames).
    pub bytes_out: AtomicU64,
}

impl Stats {
    /// Adds one to `counter`.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Moves the gauge `gauge` by `delta`.
    pub fn shift(gauge: &AtomicI64, delta: i64) {
        gauge.fetch_add(delta, Ordering::Relaxed);
    }

    /// The current value of `counter`.
    pub fn read(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// The current value of `gauge` (never below 0 when read).
    pub fn level(gauge: &AtomicI64) -> u64 {
        gauge.load(Ordering::Relaxed).max(0) as u64
    }

    /// Counts one refusal for `reason`.
    pub fn refuse(&self, reason: Refusal) {
        Self::bump(&self.refusals[reason as usize]);
    }

    /// How many requests or CONNECTs were refused for `reason`.
    pub fn refused(&self, reason: Refusal) -> u64 {
        Self::read(&self.refusals[reason as usize])
    }
}
