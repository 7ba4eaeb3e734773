//! Events a client sends while its namespace CONNECT is still in the
//! middlewares.
//!
//! Some clients (`rust_socketio`'s `connect()`) return before the CONNECT
//! answer and emit at once. The Node server closes such a connection
//! ("invalid state"); confab keeps a few of these events and handles them,
//! in order, once the CONNECT succeeds. The bound keeps a client from
//! parking memory behind a slow middleware.

use std::collections::VecDeque;

use crate::payload::Payload;

/// At most this many events wait for one CONNECT.
pub const MAX_HELD_EVENTS: usize = 16;

/// Why an event could not be held: the client sent more than a CONNECT in
/// progress may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    #[error("more than {MAX_HELD_EVENTS} events sent before the CONNECT answer")]
    TooMany,
    #[error("more than {0} bytes of events sent before the CONNECT answer")]
    TooLarge(usize),
}

/// The events held for one namespace, with their ack ids, in arrival order.
#[derive(Debug)]
pub struct HeldEvents {
    events: VecDeque<(Payload, Option<i64>)>,
    bytes: usize,
    max_bytes: usize,
}

impl HeldEvents {
    /// Holds at most [`MAX_HELD_EVENTS`] events of `max_bytes` in all
    /// (names, JSON and attachments).
    pub fn new(max_bytes: usize) -> HeldEvents {
        HeldEvents {
            events: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    pub fn hold(&mut self, payload: Payload, ack: Option<i64>) -> Result<(), HoldError> {
        if self.events.len() == MAX_HELD_EVENTS {
            return Err(HoldError::TooMany);
        }
        let args = payload.args();
        let size = payload.event().len()
            + args.json().len()
            + args.attachments().iter().map(|a| a.len()).sum::<usize>();
        if self.bytes + size > self.max_bytes {
            return Err(HoldError::TooLarge(self.max_bytes));
        }
        self.bytes += size;
        self.events.push_back((payload, ack));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }
}

impl IntoIterator for HeldEvents {
    type Item = (Payload, Option<i64>);
    type IntoIter = std::collections::vec_deque::IntoIter<(Payload, Option<i64>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::protocol::socketio::Args;

    fn event(json: &str, attachment: &[u8]) -> Payload {
        let attachments = if attachment.is_empty() {
            Vec::new()
        } else {
            vec![Bytes::copy_from_slice(attachment)]
        };
        Payload::new("e".into(), Args::from_raw(json.into(), attachments))
    }

    #[test]
    fn events_come_back_in_order_with_their_ack_ids() {
        let mut held = HeldEvents::new(1000);
        held.hold(event("[1]", b""), Some(4)).unwrap();
        held.hold(event("[2]", b""), None).unwrap();
        let order: Vec<_> = held
            .into_iter()
            .map(|(p, ack)| (p.args().json().to_owned(), ack))
            .collect();
        assert_eq!(order, [("[1]".into(), Some(4)), ("[2]".into(), None)]);
    }

    #[test]
    fn one_event_past_the_count_is_refused() {
        let mut held = HeldEvents::new(usize::MAX);
        for _ in 0..MAX_HELD_EVENTS {
            held.hold(event("[]", b""), None).unwrap();
        }
        assert_eq!(held.hold(event("[]", b""), None), Err(HoldError::TooMany));
        assert_eq!(held.len(), MAX_HELD_EVENTS);
    }

    #[test]
    fn bytes_past_the_bound_are_refused_attachments_included() {
        // "e" + "[0]" = 4 bytes, plus the attachment.
        let mut held = HeldEvents::new(10);
        held.hold(event("[0]", b"ab"), None).unwrap();
        held.hold(event("[0]", b""), None).unwrap();
        assert_eq!(
            held.hold(event("[0]", b""), None),
            Err(HoldError::TooLarge(10))
        );
        assert_eq!(held.len(), 2);
    }
}
