//! The node's outbox: cluster messages (channel, bytes) waiting for the
//! publisher connection, in order. Queuing never waits: an emit runs in an
//! actor or a handler, which must not stall because Redis is slow or gone.
//! So the outbox is bounded, and past the bound a message is dropped, as a
//! lost connection would lose it: counted, and logged at the 1st, 2nd,
//! 4th, 8th, ... drop, so that a long outage writes a few lines, not one
//! per message.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

/// Messages waiting for the publisher connection: past it, a message is
/// dropped (Redis is gone or far slower than this node's emits). At most
/// this many messages are held, whatever the outage's length.
pub const OUTBOX: usize = 65_536;

/// One message for Redis: its channel and its bytes.
pub type Message = (String, Vec<u8>);

/// The count of messages an outbox dropped, shared: the outbox is made
/// when the engine starts the cluster part, and the metrics, set up
/// before, read the count through a clone made with the factory.
#[derive(Clone, Debug, Default)]
pub struct Drops(Arc<AtomicU64>);

impl Drops {
    /// Messages dropped since the node started.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The sending side; the publisher task holds the receiver.
pub struct Outbox {
    sender: mpsc::Sender<Message>,
    dropped: Drops,
}

impl Outbox {
    /// An outbox holding at most `capacity` messages, counting what it
    /// drops in `dropped`, and its receiver.
    pub fn new(capacity: usize, dropped: Drops) -> (Outbox, mpsc::Receiver<Message>) {
        let (sender, receiver) = mpsc::channel(capacity);
        (Outbox { sender, dropped }, receiver)
    }

    /// Queues `bytes` for `channel`; never waits. False when the message
    /// was dropped (the outbox is full, or the publisher is gone).
    pub fn push(&self, channel: String, bytes: Vec<u8>) -> bool {
        let Err(error) = self.sender.try_send((channel, bytes)) else {
            return true;
        };
        let dropped = self.dropped.0.fetch_add(1, Ordering::Relaxed) + 1;
        if dropped.is_power_of_two() {
            let reason = match error {
                mpsc::error::TrySendError::Full(_) => "full",
                mpsc::error::TrySendError::Closed(_) => "closed",
            };
            tracing::warn!(
                reason,
                dropped_total = dropped,
                "redis outbox {reason}: a cluster message is dropped"
            );
        }
        false
    }

    /// Messages dropped since the node started.
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// VmRSS of this process, in kB.
    fn rss_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap()
    }

    #[test]
    fn past_the_bound_messages_are_dropped_and_counted_without_waiting() {
        let (outbox, mut receiver) = Outbox::new(OUTBOX, Drops::default());
        // Nobody reads: Redis is gone. Every push returns at once.
        for i in 0..OUTBOX {
            assert!(outbox.push("c".into(), vec![0; 16]), "message {i} fits");
        }
        assert_eq!(outbox.dropped(), 0);
        for _ in 0..100 {
            assert!(!outbox.push("c".into(), vec![0; 16]));
        }
        assert_eq!(outbox.dropped(), 100);
        // The held messages are the first ones, in order; room made by the
        // publisher is used again.
        assert_eq!(receiver.try_recv().unwrap(), ("c".to_owned(), vec![0; 16]));
        assert!(outbox.push("d".into(), vec![1]));
        assert!(!outbox.push("d".into(), vec![1]));
        assert_eq!(outbox.dropped(), 101);
    }

    #[test]
    fn the_shared_count_sees_the_drops_past_the_bound() {
        // The metrics hold a clone made before the outbox exists.
        let seen = Drops::default();
        let (outbox, _receiver) = Outbox::new(2, seen.clone());
        for _ in 0..5 {
            outbox.push("c".into(), vec![1]);
        }
        assert_eq!(seen.get(), 3);
        assert_eq!(outbox.dropped(), 3);
    }

    #[test]
    fn a_full_outbox_does_not_grow_whatever_is_pushed_at_it() {
        let (outbox, _receiver) = Outbox::new(OUTBOX, Drops::default());
        for _ in 0..OUTBOX {
            outbox.push("c".into(), Vec::new());
        }
        let before = rss_kb();
        // 200 MB offered past the bound: none of it may stay.
        for _ in 0..200_000 {
            outbox.push("c".into(), vec![7; 1024]);
        }
        let grown = rss_kb().saturating_sub(before);
        assert_eq!(outbox.dropped(), 200_000);
        assert!(grown < 40 * 1024, "VmRSS grew by {grown} kB");
    }

    #[test]
    fn a_gone_publisher_drops_and_counts() {
        let (outbox, receiver) = Outbox::new(4, Drops::default());
        drop(receiver);
        assert!(!outbox.push("c".into(), vec![1]));
        assert_eq!(outbox.dropped(), 1);
    }
}
