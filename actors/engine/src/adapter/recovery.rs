//! Connection state recovery, Socket.IO 4.6+'s `connectionStateRecovery`
//! on one node.
//!
//! With it on, every event the server sends without asking for an ack
//! carries an offset as its last argument, and each socket has a private
//! session id (`pid`) in its CONNECT answer. When a socket's connection is
//! lost (not when it or the server disconnects it), its index entry is
//! parked rather than removed: it keeps its id, rooms and user (presence
//! does not change), and what is broadcast to it goes into a buffer of the
//! shared encoded frames, within a byte budget. A client that comes back
//! within the window with `{pid, offset}` in its CONNECT auth, whose offset
//! is the last one routed to the socket before the loss, gets the same
//! socket back and the missed frames, in order, once. Anything else (past
//! the window, past the budget, another offset): a new socket, and the
//! parked one goes for good (presence `Offline`, its disconnect handlers).
//!
//! Unlike Node's in-memory adapter, which keeps every packet of the
//! namespace for the window, only parked sockets hold frames, each its own
//! (shared with the other recipients, counted against its own budget).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::{Adapter, Deliver, SocketHandle};
use crate::outbound;
use crate::protocol::engineio::{Frames, Sid};

/// The recovery settings (Node's `connectionStateRecovery` options).
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    /// Off by default, as in Node: with it on, every event costs an offset.
    pub enabled: bool,
    /// How long a lost socket waits for its client (Node's
    /// `maxDisconnectionDuration`, 2 minutes).
    pub max_disconnection: Duration,
    /// A recovered socket does not pass the namespace's middlewares again
    /// (Node's `skipMiddlewares`, on by default): it already did.
    pub skip_middlewares: bool,
    /// Bytes of missed frames one lost socket may hold (each frame charged
    /// as on the outbound queue); past it, it will not be recovered and
    /// what it held is released.
    pub max_missed_bytes: usize,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            enabled: false,
            max_disconnection: Duration::from_secs(120),
            skip_middlewares: true,
            max_missed_bytes: 1_000_000,
        }
    }
}

/// What a client sends in its CONNECT auth to resume a socket.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume {
    pub pid: String,
    pub offset: String,
}

impl Resume {
    /// `{pid, offset}` from the CONNECT auth, both text (Node's rule: a
    /// client that never received an event sends no offset, and is not
    /// recovered).
    pub fn from_auth(auth: &serde_json::Value) -> Option<Resume> {
        let text = |key: &str| auth.get(key)?.as_str().map(str::to_owned);
        Some(Resume {
            pid: text("pid")?,
            offset: text("offset")?,
        })
    }
}

/// Why a resume was not granted (the client gets a new socket).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotRecovered {
    #[error("no lost socket has this private id")]
    Unknown,
    #[error("the lost socket belongs to another namespace")]
    OtherNamespace,
    #[error("the lost socket waited longer than the window")]
    Expired,
    #[error("the lost socket's missed packets went past the byte budget")]
    Overflowed,
    #[error("the client's offset {got} is not the last one sent before the loss ({sent})")]
    Offset { sent: String, got: String },
    #[error("the middlewares named another user")]
    OtherUser,
}

/// Where the index sends a member's frames: its session, or the buffer of
/// a socket whose connection was lost.
#[derive(Clone)]
pub enum Route {
    Live(SocketHandle),
    Parked(Arc<Parked>),
}

impl Route {
    /// Hands `frames` on; `offset` is set when they may be replayed.
    pub(super) fn send(&self, frames: &Frames, offset: Option<u64>) {
        match self {
            Route::Live(handle) => {
                if let (Some(last), Some(offset)) = (&handle.offset, offset) {
                    last.store(offset, Ordering::Relaxed);
                }
                handle.deliver.do_send(Deliver(frames.clone()));
            }
            // Packets without an offset (acks, emits asking for an ack)
            // are not kept, as in Node: the ack could not be answered.
            Route::Parked(parked) => {
                if let Some(offset) = offset {
                    parked.hold(offset, frames);
                }
            }
        }
    }
}

/// The frames a lost socket missed, within a byte budget.
#[derive(Debug)]
pub struct Missed {
    frames: Vec<Frames>,
    /// The offset of the last frames held (or routed before the loss).
    last: u64,
    bytes: usize,
    budget: usize,
    overflowed: bool,
}

impl Missed {
    pub fn new(last: u64, budget: usize) -> Missed {
        Missed {
            frames: Vec::new(),
            last,
            bytes: 0,
            budget,
            overflowed: false,
        }
    }

    /// Holds `frames`; `false` once past the budget, when everything held
    /// is released and nothing more is kept.
    pub fn push(&mut self, offset: u64, frames: &Frames) -> bool {
        if self.overflowed {
            return false;
        }
        self.bytes += outbound::cost(frames.iter());
        if self.bytes > self.budget {
            self.overflowed = true;
            self.frames = Vec::new();
            self.bytes = 0;
            return false;
        }
        self.frames.push(frames.clone());
        self.last = offset;
        true
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Bytes held, as charged against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Everything held, in order, leaving the buffer empty.
    pub fn take(&mut self) -> Vec<Frames> {
        self.bytes = 0;
        std::mem::take(&mut self.frames)
    }
}

/// What runs when a lost socket is gone for good: its namespace's
/// disconnect handlers, with the reason of the loss.
pub type Farewell = Box<dyn FnOnce() + Send>;

/// A socket whose connection was lost, waiting for its client.
pub struct Parked {
    pub pid: String,
    pub nsp: String,
    pub sid: Sid,
    /// What the middlewares attached: the recovered socket has it again.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The last offset routed to the socket before the loss: the one its
    /// client must come back with.
    sent: u64,
    since: Instant,
    missed: Mutex<Missed>,
    /// Set when the server disconnects it meanwhile: it goes at once.
    killed: AtomicBool,
    /// Wakes its expiry task early (budget passed, killed, recovered).
    wake: Notify,
    farewell: Mutex<Option<Farewell>>,
}

impl Parked {
    pub fn new(
        pid: String,
        nsp: String,
        sid: Sid,
        data: serde_json::Map<String, serde_json::Value>,
        sent: u64,
        budget: usize,
        farewell: Farewell,
    ) -> Parked {
        Parked {
            pid,
            nsp,
            sid,
            data,
            sent,
            since: Instant::now(),
            missed: Mutex::new(Missed::new(sent, budget)),
            killed: AtomicBool::new(false),
            wake: Notify::new(),
            farewell: Mutex::new(Some(farewell)),
        }
    }

    fn missed(&self) -> MutexGuard<'_, Missed> {
        self.missed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hold(&self, offset: u64, frames: &Frames) {
        if !self.missed().push(offset, frames) {
            self.wake.notify_one();
        }
    }

    /// Bytes of missed frames held now.
    pub fn held_bytes(&self) -> usize {
        self.missed().bytes()
    }

    /// The server disconnected it: it goes without waiting for its client.
    pub(super) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Whether a client coming back now with `offset` to `nsp` may have it.
    pub fn check(&self, nsp: &str, offset: &str, window: Duration) -> Result<(), NotRecovered> {
        if nsp != self.nsp {
            return Err(NotRecovered::OtherNamespace);
        }
        if self.killed.load(Ordering::Relaxed) || self.since.elapsed() > window {
            return Err(NotRecovered::Expired);
        }
        if self.missed().overflowed() {
            return Err(NotRecovered::Overflowed);
        }
        if parse_offset(offset) != Some(self.sent) {
            return Err(NotRecovered::Offset {
                sent: offset_text(self.sent),
                got: offset.to_owned(),
            });
        }
        Ok(())
    }
}

/// A recovered socket, handed to its new session.
pub struct Restored {
    pub sid: Sid,
    pub pid: String,
    pub user_id: Option<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The frames it missed, in order; each to be written once.
    pub missed: Vec<Frames>,
}

/// The adapter's recovery state: the settings, the offset counter and the
/// lost sockets by private id.
#[derive(Default)]
pub(super) struct Sessions {
    pub(super) config: Recovery,
    /// The last offset given; offsets are unique within the process.
    offsets: AtomicU64,
    parked: Mutex<HashMap<String, Arc<Parked>>>,
}

impl Sessions {
    pub(super) fn new(config: Recovery) -> Sessions {
        Sessions {
            config,
            ..Sessions::default()
        }
    }

    /// A new offset, if recovery is on.
    pub(super) fn next_offset(&self) -> Option<u64> {
        self.config
            .enabled
            .then(|| self.offsets.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn parked(&self) -> MutexGuard<'_, HashMap<String, Arc<Parked>>> {
        self.parked.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An offset as it travels: decimal text.
pub fn offset_text(offset: u64) -> String {
    offset.to_string()
}

fn parse_offset(text: &str) -> Option<u64> {
    text.parse().ok()
}

impl Adapter {
    /// The recovery settings, if recovery is on.
    pub fn recovery(&self) -> Option<&Recovery> {
        Some(&self.sessions.config).filter(|c| c.enabled)
    }

    /// Parks a lost socket: its entry stays (rooms, user), frames to it are
    /// held, and it goes when its window ends, its buffer overflows or the
    /// server disconnects it, unless its client comes back first. Must be
    /// called on an actix arbiter (its expiry is a task there).
    pub fn park(self: &Arc<Self>, parked: Parked) {
        let parked = Arc::new(parked);
        let route = Route::Parked(parked.clone());
        let replaced = self.change(|index, _| {
            index
                .member_mut(&parked.nsp, parked.sid)
                .map(|member| member.handle = route)
                .is_some()
        });
        if !replaced {
            return;
        }
        self.sessions
            .parked()
            .insert(parked.pid.clone(), parked.clone());
        let adapter = self.clone();
        let window = self.sessions.config.max_disconnection;
        actix::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(window) => {}
                _ = parked.wake.notified() => {}
            }
            adapter.expire(&parked);
        });
    }

    /// A parked socket is gone for good, unless it was recovered already:
    /// it leaves the index (presence may go `Offline`), its frames are
    /// released and its disconnect handlers run.
    fn expire(&self, parked: &Arc<Parked>) {
        {
            let mut all = self.sessions.parked();
            match all.get(&parked.pid) {
                Some(p) if Arc::ptr_eq(p, parked) => all.remove(&parked.pid),
                _ => return,
            };
        }
        self.change(|index, changes| {
            let ours = index
                .member_mut(&parked.nsp, parked.sid)
                .is_some_and(|m| matches!(&m.handle, Route::Parked(p) if Arc::ptr_eq(p, parked)));
            if ours {
                index.remove(&parked.nsp, parked.sid, changes);
            }
        });
        drop(parked.missed().take());
        let farewell = parked
            .farewell
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(farewell) = farewell {
            farewell();
        }
        tracing::debug!(pid = %parked.pid, nsp = %parked.nsp, "lost socket not recovered, gone");
    }

    /// Gives a parked socket back to a client that came with `resume` to
    /// `nsp`: its route becomes `handle`, and what it missed comes back.
    /// `user` is who the middlewares said the client is, if they ran.
    /// `handle.offset` is set to the last offset routed to the socket.
    /// A refused resume ends the parked socket (its client has moved on).
    pub fn restore(
        &self,
        nsp: &str,
        resume: &Resume,
        user: Option<&str>,
        handle: SocketHandle,
    ) -> Result<Restored, NotRecovered> {
        let parked = self
            .sessions
            .parked()
            .remove(&resume.pid)
            .ok_or(NotRecovered::Unknown)?;
        let window = self.sessions.config.max_disconnection;
        let restored = self.change(|index, _| {
            parked.check(nsp, &resume.offset, window)?;
            let member = index
                .member_mut(nsp, parked.sid)
                .filter(|m| matches!(&m.handle, Route::Parked(p) if Arc::ptr_eq(p, &parked)))
                .ok_or(NotRecovered::Unknown)?;
            if user.is_some_and(|u| member.user_id.as_deref() != Some(u)) {
                return Err(NotRecovered::OtherUser);
            }
            let mut missed = parked.missed();
            if let Some(last) = &handle.offset {
                last.store(missed.last, Ordering::Relaxed);
            }
            member.handle = Route::Live(handle);
            Ok(Restored {
                sid: parked.sid,
                pid: parked.pid.clone(),
                user_id: member.user_id.clone(),
                data: parked.data.clone(),
                missed: missed.take(),
            })
        });
        match restored {
            Ok(restored) => {
                // Its expiry task finds it gone and ends.
                parked.wake.notify_one();
                Ok(restored)
            }
            Err(why) => {
                // Back in the table so that expiry finds it, then gone.
                self.sessions
                    .parked()
                    .insert(parked.pid.clone(), parked.clone());
                self.expire(&parked);
                Err(why)
            }
        }
    }

    /// How many lost sockets wait for their clients, and the bytes of
    /// missed frames they hold.
    pub(super) fn parked_totals(&self) -> (u64, u64) {
        let parked = self.sessions.parked();
        let bytes: usize = parked.values().map(|p| p.held_bytes()).sum();
        (parked.len() as u64, bytes as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::engineio::Frame;

    fn frames(text: &str) -> Frames {
        Frames::from([Frame::Text(text.to_owned().into())])
    }

    fn parked(sent: u64, budget: usize) -> Parked {
        let farewell: Farewell = Box::new(|| {});
        Parked::new(
            "pid".into(),
            "/".into(),
            Sid::new(),
            serde_json::Map::new(),
            sent,
            budget,
            farewell,
        )
    }

    #[test]
    fn missed_frames_come_back_in_order_once() {
        let mut missed = Missed::new(3, 10_000);
        assert!(missed.push(4, &frames("a")));
        assert!(missed.push(5, &frames("b")));
        let held = missed.take();
        assert_eq!(held, vec![frames("a"), frames("b")]);
        assert!(missed.take().is_empty());
        assert_eq!(missed.bytes(), 0);
    }

    #[test]
    fn past_the_budget_everything_is_released_and_nothing_more_kept() {
        let one = outbound::cost(frames("0123456789").iter());
        let mut missed = Missed::new(0, one * 2);
        assert!(missed.push(1, &frames("0123456789")));
        assert!(missed.push(2, &frames("0123456789")));
        assert_eq!(missed.bytes(), one * 2);
        assert!(!missed.push(3, &frames("0123456789")));
        assert!(missed.overflowed());
        assert_eq!(missed.bytes(), 0);
        assert!(missed.take().is_empty());
        assert!(!missed.push(4, &frames("x")));
    }

    #[test]
    fn only_the_last_offset_sent_resumes() {
        let window = Duration::from_secs(60);
        let p = parked(7, 10_000);
        assert_eq!(p.check("/", "7", window), Ok(()));
        assert!(matches!(
            p.check("/", "6", window),
            Err(NotRecovered::Offset { .. })
        ));
        assert!(matches!(
            p.check("/", "x", window),
            Err(NotRecovered::Offset { .. })
        ));
        assert_eq!(
            p.check("/chat", "7", window),
            Err(NotRecovered::OtherNamespace)
        );
    }

    #[test]
    fn a_socket_that_missed_frames_resumes_with_the_offset_before_them() {
        // The client never saw the held frames: it comes back with the
        // offset it had at the loss.
        let p = parked(7, 10_000);
        p.hold(8, &frames("a"));
        assert_eq!(p.check("/", "7", Duration::from_secs(60)), Ok(()));
        assert!(p.check("/", "8", Duration::from_secs(60)).is_err());
    }

    #[test]
    fn overflowed_expired_or_killed_sockets_do_not_resume() {
        let p = parked(1, 1);
        p.hold(2, &frames("too big"));
        assert_eq!(
            p.check("/", "1", Duration::from_secs(60)),
            Err(NotRecovered::Overflowed)
        );
        assert_eq!(p.held_bytes(), 0);
        let p = parked(1, 10_000);
        assert_eq!(
            p.check("/", "1", Duration::ZERO),
            Err(NotRecovered::Expired)
        );
        let p = parked(1, 10_000);
        p.kill();
        assert_eq!(
            p.check("/", "1", Duration::from_secs(60)),
            Err(NotRecovered::Expired)
        );
    }

    #[test]
    fn resume_needs_both_pid_and_offset_as_text() {
        let auth = serde_json::json!({ "pid": "p", "offset": "3", "token": "t" });
        assert_eq!(
            Resume::from_auth(&auth),
            Some(Resume {
                pid: "p".into(),
                offset: "3".into()
            })
        );
        assert_eq!(Resume::from_auth(&serde_json::json!({ "pid": "p" })), None);
        assert_eq!(
            Resume::from_auth(&serde_json::json!({ "pid": "p", "offset": 3 })),
            None
        );
    }

    #[test]
    fn offsets_are_given_only_when_recovery_is_on() {
        assert_eq!(Sessions::new(Recovery::default()).next_offset(), None);
        let on = Sessions::new(Recovery {
            enabled: true,
            ..Recovery::default()
        });
        let (a, b) = (on.next_offset().unwrap(), on.next_offset().unwrap());
        assert!(b > a);
        assert_eq!(parse_offset(&offset_text(b)), Some(b));
    }
}
