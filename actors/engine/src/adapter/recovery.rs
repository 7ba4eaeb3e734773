//! Connection state recovery, Socket.IO 4.6+'s `connectionStateRecovery`
//! on one node.
//!
//! With it on, every event the server sends without asking for an ack
//! carries an offset as its last argument, and each socket has a private
//! session id (`pid`) in its CONNECT answer. Each socket keeps a [`Log`]
//! of the replayable frames routed to it that its client may not have:
//! those since the last ping its client answered (a connection that dies
//! silently is found out only by the ping timeout, and what was written
//! into it meanwhile never arrived). When its connection is lost (not when
//! it or the server disconnects it), its index entry is parked rather than
//! removed: it keeps its id, rooms and user (presence does not change), and
//! what is broadcast to it goes on into its log, within a byte budget. A
//! client that comes back within the window with `{pid, offset}` in its
//! CONNECT auth, whose offset the log still covers, gets the same socket
//! back and the frames after its offset, in order, once. Anything else
//! (past the window, past the budget, an offset older than the log): a new
//! socket, and the parked one goes for good (presence `Offline`, its
//! disconnect handlers).
//!
//! Unlike Node's in-memory adapter, which keeps every packet of the
//! namespace for the window, each socket holds its own frames (shared with
//! the other recipients, counted against its own budget), and a connected
//! one only since its client's last pong.
//!
//! Across nodes, a cluster may offer a [`SessionStore`]: a parked socket's
//! session and what it holds are written there too (the node that parked
//! it still receives every broadcast of the cluster, so it goes on
//! holding), and a client that comes back through a node that does not
//! know its `pid` is given the session that node claims from the store
//! ([`Adapter::adopt`]); the parking node is then told to let its copy go
//! ([`Adapter::handed_over`]). Its disconnect handlers run there, as Node
//! runs them on the node a socket left (and the connect handlers, with
//! `recovered`, where it comes back): each node's application state
//! follows the sockets it holds (the chat service on a chat node, say).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::{Adapter, SocketHandle};
use crate::link::SessionLink;
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
    #[error("the client's offset {got} is older than what its socket holds")]
    Offset { got: String },
    #[error("the middlewares named another user")]
    OtherUser,
    #[error("the node that held the lost socket is gone")]
    HolderGone,
    #[error("the cluster's session store: {0}")]
    Store(String),
}

/// A lost socket as the other nodes of a cluster find it: what a node
/// needs to give it back to its client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedSession {
    pub pid: String,
    pub nsp: String,
    /// The socket id, kept by the recovered socket.
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Its rooms, its own id room aside.
    pub rooms: Vec<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The oldest offset its client may come back with (decimal text).
    pub base: String,
}

/// A session claimed from the cluster's store for a client that came back.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub session: SharedSession,
    /// The frames its client missed after its offset, in order.
    pub missed: Vec<Frames>,
    /// The last offset its client has once they are written.
    pub last: u64,
}

/// Where a cluster keeps the sockets parked on its nodes, so that a client
/// may come back through any node (see the module's doc). Each call
/// returns at once: the writes are done in order, elsewhere.
pub trait SessionStore: Send + Sync + 'static {
    /// A socket was parked here, holding `held` (in order): keep it for
    /// `window`.
    fn keep(&self, session: SharedSession, held: Vec<(u64, Frames)>, window: Duration);
    /// One more frame held for the parked socket `pid`.
    fn hold(&self, pid: &str, offset: u64, frames: &Frames);
    /// The parked socket `pid` is gone or recovered here.
    fn forget(&self, pid: &str);
    /// Takes the session `resume.pid`, parked on another node, for a client
    /// coming back to `nsp` (as `user`, if the middlewares ran): it and
    /// what the client missed after its offset. The parking node is told.
    fn claim(
        &self,
        nsp: &str,
        resume: &Resume,
        user: Option<&str>,
    ) -> BoxFuture<'static, Result<Claimed, NotRecovered>>;
}

/// Where the index sends a member's frames: its session, or the log of a
/// socket whose connection was lost.
#[derive(Clone)]
pub enum Route {
    Live(SocketHandle),
    Parked(Arc<Parked>),
}

impl Route {
    /// Hands `frames` on; `offset` is set when they may be replayed.
    pub(super) fn send(&self, frames: &Frames, offset: Option<u64>) {
        match self {
            Route::Live(handle) => match (&handle.log, offset) {
                (Some(log), Some(offset)) => {
                    // Logged and sent under one lock: the session gets a
                    // socket's frames in the log's order.
                    let mut log = lock(log);
                    log.push(offset, frames);
                    handle.session.deliver(frames);
                }
                _ => handle.session.deliver(frames),
            },
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

/// The replayable frames routed to one socket that its client may not
/// have, within a byte budget. While the socket is connected: those since
/// the last ping its client answered (a connection that dies silently is
/// only found out by the ping timeout, and what was written into it
/// meanwhile is lost), the oldest going first when the budget is full.
/// Once the connection is lost (parked): those, and everything routed
/// since, until the budget is passed; then nothing more is kept.
#[derive(Debug)]
pub struct Log {
    entries: VecDeque<(u64, Frames)>,
    /// The offset the client is known to have reached: the oldest one it
    /// may resume from.
    base: u64,
    bytes: usize,
    budget: usize,
    parked: bool,
    overflowed: bool,
}

/// A socket's log, shared by its route in the index and its session.
pub type SharedLog = Arc<Mutex<Log>>;

pub(crate) fn lock(log: &Mutex<Log>) -> MutexGuard<'_, Log> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

impl Log {
    pub fn new(budget: usize) -> Log {
        Log {
            entries: VecDeque::new(),
            base: 0,
            bytes: 0,
            budget,
            parked: false,
            overflowed: false,
        }
    }

    /// Logs `frames`; `false` once a parked log is past its budget, when
    /// everything held is released and nothing more is kept.
    pub fn push(&mut self, offset: u64, frames: &Frames) -> bool {
        if self.overflowed {
            return false;
        }
        self.bytes += outbound::cost(frames.iter());
        self.entries.push_back((offset, frames.clone()));
        while self.bytes > self.budget {
            if self.parked {
                self.overflowed = true;
                self.release();
                return false;
            }
            let Some((dropped, frames)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= outbound::cost(frames.iter());
            self.base = dropped;
        }
        true
    }

    /// The last offset routed (what a client that got everything has).
    pub fn last(&self) -> u64 {
        self.entries.back().map_or(self.base, |(offset, _)| *offset)
    }

    /// The client has everything up to `offset`: forget it.
    pub fn confirm(&mut self, offset: u64) {
        while let Some((front, frames)) = self.entries.front() {
            if *front > offset {
                break;
            }
            self.bytes -= outbound::cost(frames.iter());
            self.entries.pop_front();
        }
        self.base = self.base.max(offset);
    }

    /// The connection was lost: from now on past the budget means lost.
    pub fn park(&mut self) {
        self.parked = true;
        if self.bytes > self.budget {
            self.overflowed = true;
            self.release();
        }
    }

    /// What a client that has `offset` missed, in order; `None` when it
    /// may have missed more than is held. The frames stay logged (they are
    /// in flight again until its next pong).
    pub fn resume(&mut self, offset: u64) -> Option<Vec<Frames>> {
        let known = offset == self.base || self.entries.iter().any(|(o, _)| *o == offset);
        if self.overflowed || !known {
            return None;
        }
        self.confirm(offset);
        self.parked = false;
        Some(self.entries.iter().map(|(_, f)| f.clone()).collect())
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// The oldest offset a client may resume from.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// What is held, in order.
    pub fn held(&self) -> Vec<(u64, Frames)> {
        self.entries.iter().cloned().collect()
    }

    /// Bytes held, as charged against the budget.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Drops everything held.
    pub fn release(&mut self) {
        self.entries = VecDeque::new();
        self.bytes = 0;
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
    /// Its log, now holding what the client may have missed.
    log: SharedLog,
    since: Instant,
    /// Set when the server disconnects it meanwhile: it goes at once.
    killed: AtomicBool,
    /// Wakes its expiry task early (budget passed, killed, recovered).
    wake: Notify,
    farewell: Mutex<Option<Farewell>>,
    /// The cluster's store, when the session is shared with other nodes.
    store: Option<Arc<dyn SessionStore>>,
    /// Recovered through another node: the store's copy is that node's now.
    handed_over: AtomicBool,
}

impl Parked {
    /// Parks a socket with its log (which stops dropping old frames and
    /// starts counting toward the end of the socket instead).
    pub fn new(
        pid: String,
        nsp: String,
        sid: Sid,
        data: serde_json::Map<String, serde_json::Value>,
        log: SharedLog,
        farewell: Farewell,
    ) -> Parked {
        lock(&log).park();
        Parked {
            pid,
            nsp,
            sid,
            data,
            log,
            since: Instant::now(),
            killed: AtomicBool::new(false),
            wake: Notify::new(),
            farewell: Mutex::new(Some(farewell)),
            store: None,
            handed_over: AtomicBool::new(false),
        }
    }

    fn hold(&self, offset: u64, frames: &Frames) {
        if !lock(&self.log).push(offset, frames) {
            self.wake.notify_one();
        } else if let Some(store) = &self.store {
            store.hold(&self.pid, offset, frames);
        }
    }

    /// Bytes of missed frames held now.
    pub fn held_bytes(&self) -> usize {
        lock(&self.log).bytes()
    }

    /// The server disconnected it: it goes without waiting for its client.
    pub(super) fn kill(&self) {
        self.killed.store(true, Ordering::Relaxed);
        self.wake.notify_one();
    }

    /// Whether a client coming back now to `nsp` may have it, and if so
    /// what it missed after `offset`.
    pub fn resume(
        &self,
        nsp: &str,
        offset: &str,
        window: Duration,
    ) -> Result<Vec<Frames>, NotRecovered> {
        if nsp != self.nsp {
            return Err(NotRecovered::OtherNamespace);
        }
        if self.killed.load(Ordering::Relaxed) || self.since.elapsed() > window {
            return Err(NotRecovered::Expired);
        }
        let mut log = lock(&self.log);
        if log.overflowed() {
            return Err(NotRecovered::Overflowed);
        }
        parse_offset(offset)
            .and_then(|offset| log.resume(offset))
            .ok_or_else(|| NotRecovered::Offset {
                got: offset.to_owned(),
            })
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
    /// Its log, for its new session.
    pub log: SharedLog,
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
    /// called on an actix arbiter (its expiry is a task there). `shared`:
    /// its session goes to the cluster's store too, if there is one, for
    /// a client that comes back through another node.
    pub fn park(self: &Arc<Self>, mut parked: Parked, shared: bool) {
        if shared {
            parked.store = self.share(&parked);
        }
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

    /// Writes a socket being parked to the cluster's store: the store, if
    /// there is one.
    fn share(&self, parked: &Parked) -> Option<Arc<dyn SessionStore>> {
        let store = self.cluster.get()?.sessions()?;
        let (user_id, rooms) = {
            let index = self.read();
            let user = index
                .namespace(&parked.nsp)
                .and_then(|ns| ns.sockets.get(&parked.sid))
                .and_then(|m| m.user_id.clone());
            let mut rooms = index.rooms_of(&parked.nsp, parked.sid);
            rooms.retain(|room| room != parked.sid.as_str());
            (user, rooms)
        };
        let (base, held) = {
            let log = lock(&parked.log);
            (log.base(), log.held())
        };
        let session = SharedSession {
            pid: parked.pid.clone(),
            nsp: parked.nsp.clone(),
            sid: parked.sid.as_str().to_owned(),
            user_id,
            rooms,
            data: parked.data.clone(),
            base: offset_text(base),
        };
        store.keep(session, held, self.sessions.config.max_disconnection);
        Some(store)
    }

    /// A parked socket is gone for good, unless it was recovered already:
    /// it leaves the index (presence may go `Offline`), its frames are
    /// released and its disconnect handlers run; the cluster's store
    /// forgets it. One recovered through another node just leaves.
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
        lock(&parked.log).release();
        let elsewhere = parked.handed_over.load(Ordering::Relaxed);
        if let Some(store) = parked.store.as_ref().filter(|_| !elsewhere) {
            store.forget(&parked.pid);
        }
        let farewell = parked
            .farewell
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(farewell) = farewell {
            farewell();
        }
        tracing::debug!(pid = %parked.pid, nsp = %parked.nsp, elsewhere, "lost socket gone from here");
    }

    /// Another node took the session `pid` parked here from the cluster's
    /// store (`recovered`: its client has it back there; else the claim was
    /// refused): it leaves, its disconnect handlers run here.
    pub fn handed_over(&self, pid: &str, recovered: bool) {
        let Some(parked) = self.sessions.parked().get(pid).cloned() else {
            return;
        };
        parked.handed_over.store(recovered, Ordering::Relaxed);
        // Its expiry task ends it, on its arbiter (where the disconnect
        // handlers of a refused one may spawn).
        parked.kill();
    }

    /// Gives a parked socket back to a client that came with `resume` to
    /// `nsp`: its route becomes `handle`, and what it missed comes back.
    /// `user` is who the middlewares said the client is, if they ran.
    /// The socket keeps its log (`handle.log` is set to it).
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
            let member = index
                .member_mut(nsp, parked.sid)
                .filter(|m| matches!(&m.handle, Route::Parked(p) if Arc::ptr_eq(p, &parked)))
                .ok_or(NotRecovered::Unknown)?;
            if user.is_some_and(|u| member.user_id.as_deref() != Some(u)) {
                return Err(NotRecovered::OtherUser);
            }
            // Under the index lock: no broadcast comes between what it
            // missed and its route going live.
            let missed = parked.resume(nsp, &resume.offset, window)?;
            member.handle = Route::Live(SocketHandle {
                log: Some(parked.log.clone()),
                ..handle
            });
            Ok(Restored {
                sid: parked.sid,
                pid: parked.pid.clone(),
                user_id: member.user_id.clone(),
                data: parked.data.clone(),
                missed,
                log: parked.log.clone(),
            })
        });
        match restored {
            Ok(restored) => {
                // Its expiry task finds it gone and ends.
                parked.wake.notify_one();
                if let Some(store) = &parked.store {
                    store.forget(&parked.pid);
                }
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

    /// Claims the session `resume.pid` from the cluster's store (it is not
    /// parked here); `None` without a store.
    pub fn claim(
        &self,
        nsp: &str,
        resume: &Resume,
        user: Option<&str>,
    ) -> Option<BoxFuture<'static, Result<Claimed, NotRecovered>>> {
        let store = self.cluster.get()?.sessions()?;
        Some(store.claim(nsp, resume, user))
    }

    /// Gives a session claimed from another node its socket here: live
    /// through `handle`, with its user, rooms and a log that starts where
    /// its client will be once the missed frames are written. Offsets
    /// given here from now on come after that one, so that the log keeps
    /// its order.
    pub fn adopt(&self, claimed: Claimed, handle: SocketHandle) -> Result<Restored, NotRecovered> {
        let Claimed {
            session,
            missed,
            last,
        } = claimed;
        let sid: Sid = session.sid.parse().map_err(|_| NotRecovered::Unknown)?;
        self.sessions.offsets.fetch_max(last, Ordering::Relaxed);
        let mut log = Log::new(self.sessions.config.max_missed_bytes);
        log.confirm(last);
        let log = Arc::new(Mutex::new(log));
        let member = super::index::Member {
            handle: Route::Live(SocketHandle {
                log: Some(log.clone()),
                ..handle
            }),
            user_id: session.user_id.clone(),
            rooms: Default::default(),
            connected_at: super::now_millis(),
        };
        self.change(|index, changes| {
            if index.member_mut(&session.nsp, sid).is_some() {
                return Err(NotRecovered::Unknown);
            }
            index.add(&session.nsp, sid, member, changes);
            index.join(&session.nsp, sid, &session.rooms, changes);
            Ok(())
        })?;
        Ok(Restored {
            sid,
            pid: session.pid,
            user_id: session.user_id,
            data: session.data,
            missed,
            log,
        })
    }

    /// The session a live socket is routed to now: with recovery, a socket
    /// recovered by a new connection has a new one.
    pub fn session_of(&self, nsp: &str, socket: Sid) -> Option<SessionLink> {
        let index = self.read();
        match &index.namespace(nsp)?.sockets.get(&socket)?.handle {
            Route::Live(handle) => Some(handle.session.clone()),
            Route::Parked(_) => None,
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

    fn texts(held: &[Frames]) -> Vec<String> {
        held.iter()
            .map(|f| match &f[0] {
                Frame::Text(t) => t.to_string(),
                Frame::Binary(_) => String::new(),
            })
            .collect()
    }

    /// A log that has routed offsets `from..=to`, one small frame each.
    fn routed(from: u64, to: u64, budget: usize) -> Log {
        let mut log = Log::new(budget);
        for offset in from..=to {
            assert!(log.push(offset, &frames(&offset.to_string())));
        }
        log
    }

    fn parked(log: Log) -> Parked {
        let farewell: Farewell = Box::new(|| {});
        let log = Arc::new(Mutex::new(log));
        Parked::new(
            "pid".into(),
            "/".into(),
            Sid::new(),
            Default::default(),
            log,
            farewell,
        )
    }

    const WINDOW: Duration = Duration::from_secs(60);

    #[test]
    fn a_client_gets_what_was_routed_after_its_offset_once_in_order() {
        let mut log = routed(1, 5, 10_000);
        assert_eq!(log.last(), 5);
        assert_eq!(texts(&log.resume(3).unwrap()), ["4", "5"]);
        // What it had is forgotten; what was replayed stays until confirmed.
        assert_eq!(texts(&log.resume(5).unwrap()), Vec::<String>::new());
        assert_eq!(log.resume(3), None, "older than what is held now");
    }

    #[test]
    fn a_pong_confirms_what_was_routed_before_its_ping() {
        let mut log = routed(1, 3, 10_000);
        let pinged = log.last();
        log.push(4, &frames("4"));
        log.confirm(pinged);
        assert_eq!(
            log.resume(2),
            None,
            "confirmed, so no longer resumable from"
        );
        assert_eq!(texts(&log.resume(3).unwrap()), ["4"]);
        assert_eq!(log.bytes(), outbound::cost(frames("4").iter()));
    }

    #[test]
    fn a_live_log_drops_its_oldest_past_the_budget() {
        let one = outbound::cost(frames("1").iter());
        let mut log = routed(1, 5, one * 2);
        assert_eq!(log.bytes(), one * 2);
        assert_eq!(log.resume(2), None, "3 was dropped: 3 may be missing");
        assert_eq!(texts(&log.resume(3).unwrap()), ["4", "5"]);
    }

    #[test]
    fn a_parked_log_past_its_budget_releases_everything_and_keeps_nothing() {
        let one = outbound::cost(frames("1").iter());
        let mut log = routed(1, 2, one * 3);
        log.park();
        assert!(log.push(3, &frames("3")));
        assert!(!log.push(4, &frames("4")));
        assert!(log.overflowed());
        assert_eq!(log.bytes(), 0);
        assert!(!log.push(5, &frames("5")));
        assert_eq!(log.resume(2), None);
    }

    #[test]
    fn a_parked_socket_resumes_from_any_offset_it_holds() {
        // Frames written into a dying connection were never read: the
        // client comes back with an older offset than the last routed.
        let p = parked(routed(1, 3, 10_000));
        p.hold(4, &frames("4"));
        assert_eq!(texts(&p.resume("/", "2", WINDOW).unwrap()), ["3", "4"]);
        let p = parked(routed(1, 3, 10_000));
        assert!(matches!(
            p.resume("/", "x", WINDOW),
            Err(NotRecovered::Offset { .. })
        ));
        assert!(matches!(
            p.resume("/", "9", WINDOW),
            Err(NotRecovered::Offset { .. })
        ));
        assert_eq!(
            p.resume("/chat", "3", WINDOW),
            Err(NotRecovered::OtherNamespace)
        );
    }

    #[test]
    fn overflowed_expired_or_killed_sockets_do_not_resume() {
        let p = parked(routed(1, 1, 300));
        p.hold(2, &frames(&"x".repeat(400)));
        assert_eq!(p.resume("/", "1", WINDOW), Err(NotRecovered::Overflowed));
        assert_eq!(p.held_bytes(), 0);
        let p = parked(routed(1, 1, 10_000));
        assert_eq!(
            p.resume("/", "1", Duration::ZERO),
            Err(NotRecovered::Expired)
        );
        let p = parked(routed(1, 1, 10_000));
        p.kill();
        assert_eq!(p.resume("/", "1", WINDOW), Err(NotRecovered::Expired));
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
