//! The byte budget of what waits to be written to one connection.
//!
//! A client that stops reading must not make the server hold what it is
//! sent. Every frame a session queues is charged here, by its size plus
//! [`FRAME_OVERHEAD`], until the transport has handed it to the network;
//! a connection whose charge would pass `max_buffered_bytes` is over
//! budget: its session drops the queue and aborts it.
//!
//! For long-polling the queue is the session's own (the frames waiting for
//! the next GET). For a WebSocket it is the transport actor's mailbox and
//! write path: the session charges an [`Outbound`] it shares with the
//! transport, the transport releases what the connection has taken, and
//! the transport installs how to abort its connection at once, from
//! outside (a stalled writer is not polled, so no message would reach it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::{Message, Recipient};

use crate::protocol::engineio::{Frame, Frames};

/// What a queued frame costs besides its bytes (its queue slot, the
/// message that carries it, a WebSocket header): many tiny frames are
/// bounded by the same budget as a few big ones.
pub const FRAME_OVERHEAD: usize = 64;

/// The charge of `frames` against a budget.
pub fn cost<'a>(frames: impl IntoIterator<Item = &'a Frame>) -> usize {
    frames
        .into_iter()
        .map(|frame| frame.wire_len() + FRAME_OVERHEAD)
        .sum()
}

/// How a transport cuts its connection at once (a reset, nothing more
/// written).
pub type Abort = Box<dyn FnOnce() + Send>;

/// The bytes queued for one WebSocket, shared by its session and its
/// transport. Cheap to clone; every clone is the same budget.
#[derive(Clone, Default)]
pub struct Outbound(Arc<Shared>);

#[derive(Default)]
struct Shared {
    /// Charged by the session, released by the transport.
    queued: AtomicUsize,
    /// Taken off the mailbox by the transport but maybe not written yet:
    /// released once the connection asks for more.
    handed: AtomicUsize,
    aborted: AtomicBool,
    abort: Mutex<Option<Abort>>,
}

/// The charge would pass the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{queued} bytes queued, over the budget of {limit}")]
pub struct OverBudget {
    pub queued: usize,
    pub limit: usize,
}

impl Outbound {
    /// Installs how to abort the connection (the transport, once it knows
    /// its socket).
    pub fn on_abort(&self, abort: Abort) {
        *self.lock() = Some(abort);
    }

    /// Charges `bytes`, unless that passes `limit` (then nothing changes).
    fn charge(&self, bytes: usize, limit: usize) -> Result<(), OverBudget> {
        let queued = self.0.queued.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if queued > limit {
            self.0.queued.fetch_sub(bytes, Ordering::AcqRel);
            return Err(OverBudget { queued, limit });
        }
        Ok(())
    }

    /// The transport took `frames` off its queue, towards the network.
    pub fn handed(&self, frames: &Frames) {
        self.0
            .handed
            .fetch_add(cost(frames.iter()), Ordering::AcqRel);
    }

    /// What was handed since the last call, now in the connection's write
    /// buffer; [`Outbound::release`] it when the connection asks for more.
    pub fn take_handed(&self) -> usize {
        self.0.handed.swap(0, Ordering::AcqRel)
    }

    /// The connection has written (or bounded in its own buffer) `bytes`.
    pub fn release(&self, bytes: usize) {
        self.0.queued.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes charged and not released.
    pub fn queued(&self) -> usize {
        self.0.queued.load(Ordering::Acquire)
    }

    /// Cuts the connection now: the transport's abort runs (once) and the
    /// transport stops writing.
    pub fn abort(&self) {
        self.0.aborted.store(true, Ordering::Release);
        let abort = self.lock().take();
        if let Some(abort) = abort {
            abort();
        }
    }

    pub fn is_aborted(&self) -> bool {
        self.0.aborted.load(Ordering::Acquire)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Abort>> {
        self.0.abort.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a session asks of a WebSocket transport actor.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum WsOut {
    /// Write these frames, in order.
    Frames(Frames),
    /// Close the WebSocket.
    Close,
}

/// A WebSocket transport as its session sees it: where frames go, and the
/// budget they are charged to.
#[derive(Clone)]
pub struct WsSink {
    pub out: Recipient<WsOut>,
    pub outbound: Outbound,
}

impl WsSink {
    /// Queues `frames` for the socket, within `limit` bytes queued.
    pub fn write(&self, frames: Frames, limit: usize) -> Result<(), OverBudget> {
        self.outbound.charge(cost(frames.iter()), limit)?;
        // The budget bounds the mailbox, not its capacity: `do_send`.
        self.out.do_send(WsOut::Frames(frames));
        Ok(())
    }

    /// Closes the socket cleanly, after what is queued.
    pub fn close(&self) {
        self.out.do_send(WsOut::Close);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::engineio::Packet;

    #[test]
    fn a_charge_over_the_limit_is_refused_and_leaves_the_count() {
        let outbound = Outbound::default();
        let frame = [Frame::Text("x".repeat(100).into())];
        let one = cost(&frame);
        assert_eq!(one, 100 + FRAME_OVERHEAD);
        assert_eq!(outbound.charge(one, 2 * one), Ok(()));
        assert_eq!(outbound.charge(one, 2 * one), Ok(()));
        assert_eq!(
            outbound.charge(one, 2 * one),
            Err(OverBudget {
                queued: 3 * one,
                limit: 2 * one
            })
        );
        assert_eq!(outbound.queued(), 2 * one);
        outbound.release(one);
        assert_eq!(outbound.charge(one, 2 * one), Ok(()));
    }

    #[test]
    fn handed_bytes_stay_charged_until_released() {
        let outbound = Outbound::default();
        let frames: Frames = Arc::from([Frame::control(Packet::Ping)]);
        let one = cost(frames.iter());
        outbound.charge(one, usize::MAX).unwrap();
        outbound.handed(&frames);
        assert_eq!(outbound.queued(), one);
        let handed = outbound.take_handed();
        assert_eq!((handed, outbound.take_handed()), (one, 0));
        outbound.release(handed);
        assert_eq!(outbound.queued(), 0);
    }

    #[test]
    fn abort_runs_the_transport_abort_once() {
        let outbound = Outbound::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        outbound.on_abort(Box::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
        }));
        assert!(!outbound.is_aborted());
        outbound.abort();
        outbound.abort();
        assert!(outbound.is_aborted());
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
