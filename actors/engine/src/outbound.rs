//! The byte budget of what waits to be written to one connection.
//!
//! A client that stops reading must not make the server hold what it is
//! sent. Every frame a session queues is charged here, by its size plus
//! [`FRAME_OVERHEAD`], until the transport has handed it to the network;
//! a connection whose charge would pass `max_buffered_bytes` is over
//! budget: its session drops the queue and aborts it.
//!
//! For long-polling the queue is the session's own (the frames waiting for
//! the next GET). For a WebSocket it is a [`WsSink`] shared by the writers
//! and the transport: a write charges the [`Outbound`] budget, the
//! transport releases what the connection has taken, and the transport
//! installs how to abort its connection at once, from outside (a stalled
//! writer is not polled, so nothing queued would reach it).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use bytes::Bytes;

use crate::protocol::engineio::Frame;

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
    /// Charged by the writers, released by the transport.
    queued: AtomicUsize,
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

/// The frames queued for one WebSocket, shared by everyone who writes to
/// it (its session, and broadcasts straight from the emitting thread) and
/// by the transport that hands them to the connection. A writer pushes and
/// wakes the transport if it waits; the transport takes everything queued
/// at once, so frames that pile up while it is busy leave in one write.
/// Cheap to clone; every clone is the same queue and the same budget.
#[derive(Clone, Default)]
pub struct WsSink {
    queue: Arc<Mutex<WsQueue>>,
    pub outbound: Outbound,
}

#[derive(Default)]
struct WsQueue {
    frames: Vec<Frame>,
    /// The answer to the client's last WebSocket ping, not sent yet (only
    /// the last one needs one, RFC 6455 5.5.3).
    pong: Option<Bytes>,
    /// The transport, waiting for frames.
    waker: Option<Waker>,
    /// Closed: a close frame follows what is queued, and nothing after it.
    closing: bool,
    /// The close frame's status code; none for a close by the session (a
    /// close frame without a code, as the Node server sends).
    close_code: Option<u16>,
}

/// What the transport found in the queue.
#[derive(Debug, PartialEq)]
pub enum Drained {
    /// The answer to a ping of the client's: write it first.
    Pong(Bytes),
    /// Every queued frame, in order. The queue keeps no capacity: an idle
    /// connection holds no vector.
    Frames(Vec<Frame>),
    /// Nothing queued, and the socket is closed: write the close frame
    /// (with this status code, if any) and end.
    Closed(Option<u16>),
    /// Nothing queued: the caller is woken when something is.
    Empty,
}

impl WsSink {
    /// Queues `frames` for the socket, within `limit` bytes queued.
    pub fn write(&self, frames: &[Frame], limit: usize) -> Result<(), OverBudget> {
        self.outbound.charge(cost(frames), limit)?;
        let mut queue = self.lock();
        if queue.closing {
            return Ok(());
        }
        queue.frames.extend(frames.iter().cloned());
        wake(queue);
        Ok(())
    }

    /// Closes the socket cleanly, after what is queued.
    pub fn close(&self) {
        self.close_with(None);
    }

    /// Closes the socket after what is queued, with a status code (the
    /// transport's, for a protocol error or to answer the client's close).
    /// The first close decides the code.
    pub fn close_with(&self, code: Option<u16>) {
        let mut queue = self.lock();
        if !queue.closing {
            queue.closing = true;
            queue.close_code = code;
        }
        wake(queue);
    }

    /// Answers a ping of the client's (the transport's reader).
    pub fn pong(&self, data: Bytes) {
        let mut queue = self.lock();
        if queue.closing {
            return;
        }
        queue.pong = Some(data);
        wake(queue);
    }

    /// Whether [`WsSink::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closing
    }

    /// For the transport: takes every queued frame, or registers `waker`
    /// to be woken by the next write. The frames taken stay charged until
    /// [`Outbound::release`]d.
    pub fn drain(&self, waker: &Waker) -> Drained {
        let mut queue = self.lock();
        if let Some(pong) = queue.pong.take() {
            return Drained::Pong(pong);
        }
        if !queue.frames.is_empty() {
            return Drained::Frames(std::mem::take(&mut queue.frames));
        }
        if queue.closing {
            return Drained::Closed(queue.close_code);
        }
        if !queue.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            queue.waker = Some(waker.clone());
        }
        Drained::Empty
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WsQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Wakes the transport if it waits, once the queue is unlocked.
fn wake(mut queue: std::sync::MutexGuard<'_, WsQueue>) {
    let waker = queue.waker.take();
    drop(queue);
    if let Some(waker) = waker {
        waker.wake();
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

    fn waker(count: &Arc<AtomicUsize>) -> Waker {
        struct Count(Arc<AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        Waker::from(Arc::new(Count(count.clone())))
    }

    fn text(s: &str) -> Frame {
        Frame::Text(s.into())
    }

    #[test]
    fn drained_frames_stay_charged_until_released() {
        let sink = WsSink::default();
        let frames = [Frame::control(Packet::Ping)];
        sink.write(&frames, usize::MAX).unwrap();
        let woken = Arc::new(AtomicUsize::new(0));
        let Drained::Frames(taken) = sink.drain(&waker(&woken)) else {
            panic!("a frame was queued");
        };
        assert_eq!(taken.len(), 1);
        assert_eq!(sink.outbound.queued(), cost(&frames));
        sink.outbound.release(cost(&taken));
        assert_eq!(sink.outbound.queued(), 0);
    }

    #[test]
    fn a_waiting_transport_is_woken_once_and_takes_every_frame_in_order() {
        let sink = WsSink::default();
        let woken = Arc::new(AtomicUsize::new(0));
        assert_eq!(sink.drain(&waker(&woken)), Drained::Empty);
        sink.write(&[text("a")], usize::MAX).unwrap();
        sink.write(&[text("b"), text("c")], usize::MAX).unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(
            sink.drain(&waker(&woken)),
            Drained::Frames(vec![text("a"), text("b"), text("c")])
        );
    }

    #[test]
    fn close_comes_after_the_queued_frames_and_nothing_follows_it() {
        let sink = WsSink::default();
        let woken = Arc::new(AtomicUsize::new(0));
        sink.write(&[text("last")], usize::MAX).unwrap();
        sink.close();
        sink.write(&[text("too late")], usize::MAX).unwrap();
        assert_eq!(
            sink.drain(&waker(&woken)),
            Drained::Frames(vec![text("last")])
        );
        assert_eq!(sink.drain(&waker(&woken)), Drained::Closed(None));
    }

    #[test]
    fn a_pong_goes_first_only_the_last_is_kept_and_the_first_close_sets_the_code() {
        let sink = WsSink::default();
        let woken = Arc::new(AtomicUsize::new(0));
        assert_eq!(sink.drain(&waker(&woken)), Drained::Empty);
        sink.write(&[text("a")], usize::MAX).unwrap();
        sink.pong(Bytes::from_static(b"1"));
        sink.pong(Bytes::from_static(b"2"));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert_eq!(
            sink.drain(&waker(&woken)),
            Drained::Pong(Bytes::from_static(b"2"))
        );
        assert_eq!(sink.drain(&waker(&woken)), Drained::Frames(vec![text("a")]));
        sink.close_with(Some(1009));
        sink.close();
        sink.pong(Bytes::from_static(b"late"));
        assert_eq!(sink.drain(&waker(&woken)), Drained::Closed(Some(1009)));
    }

    #[test]
    fn a_write_over_the_budget_queues_nothing() {
        let sink = WsSink::default();
        let frames = [text("x")];
        let limit = cost(&frames);
        sink.write(&frames, limit).unwrap();
        assert!(sink.write(&frames, limit).is_err());
        let woken = Arc::new(AtomicUsize::new(0));
        assert_eq!(sink.drain(&waker(&woken)), Drained::Frames(vec![text("x")]));
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
