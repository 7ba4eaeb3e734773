//! The adapter: where a namespace's rooms live. Like Node's `Adapter` and
//! socketioxide's `CoreAdapter`, it broadcasts, joins, leaves, fetches and
//! disconnects sockets by room.
//!
//! The local part is [`index::Index`], the one owner of room membership and
//! of who is online in this process. A broadcast reads it on the emitting
//! task and sends one shared, encoded frame to each member session: no
//! actor stands between the emitter and the members. The cluster part
//! ([`Cluster`], none by default) carries each operation to the other nodes
//! and applies theirs here through [`crate::Io`] with [`Target::local`].

pub mod index;
pub mod recovery;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::ack::{AckIds, AckReplies, Ask, Asked};
use crate::disconnect::DisconnectReason;
use crate::link::SessionLink;
use crate::protocol::engineio::Sid;
use crate::protocol::socketio::Args;
use crate::requests::SessionRequest;
use crate::stats::Stats;
use index::{Change, Index, Member};
use recovery::{Recovery, Route, SessionStore, Sessions};

/// How the index reaches a socket's session: its link (which does not know
/// the session's type, and writes a broadcast straight into the socket's
/// WebSocket when it can), and with recovery on the socket's log.
#[derive(Clone)]
pub struct SocketHandle {
    pub session: SessionLink,
    /// With recovery on, the replayable frames routed to the socket that
    /// its client may not have yet (see [`recovery::Log`]).
    pub log: Option<recovery::SharedLog>,
}

/// Which sockets an operation is for (Node's `BroadcastOptions`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Target {
    pub nsp: String,
    /// Rooms (or socket ids) to include; empty means the whole namespace.
    pub rooms: Vec<String>,
    /// Rooms (or socket ids) to leave out.
    pub except: Vec<String>,
    /// This node only: not carried to the other nodes (Node's `local`
    /// flag, and every operation that came from another node).
    pub local: bool,
}

impl Target {
    pub fn namespace(nsp: &str) -> Target {
        Target {
            nsp: nsp.to_owned(),
            ..Target::default()
        }
    }
}

/// A connected socket, as listed to the application.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SocketInfo {
    pub id: String,
    pub nsp: String,
    pub user_id: Option<String>,
    pub rooms: Vec<String>,
    /// Milliseconds since the Unix epoch.
    pub connected_at: u64,
}

/// A user's presence changed: their first socket connected (on any device),
/// or their last one left.
#[derive(Debug, Clone, PartialEq)]
pub enum Presence {
    Online {
        user_id: String,
    },
    Offline {
        user_id: String,
        last_seen: SystemTime,
    },
}

/// Told of every presence change, after the index has changed, on the
/// thread that changed it: it should only hand work on, never block.
pub type PresenceHook = Arc<dyn Fn(Presence) + Send + Sync>;

/// A socket joined or left a room (its own id room aside).
#[derive(Debug, Clone, PartialEq)]
pub enum RoomChange {
    Joined {
        nsp: String,
        room: String,
        socket: String,
    },
    Left {
        nsp: String,
        room: String,
        socket: String,
    },
}

/// Told of every room joined and left, as [`PresenceHook`] is told.
pub type RoomHook = Arc<dyn Fn(RoomChange) + Send + Sync>;

/// How many sockets and rooms each namespace has now, for the metrics.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Census {
    /// Connected sockets (a lost one waiting for recovery aside).
    pub sockets: HashMap<String, u64>,
    pub rooms: HashMap<String, u64>,
    /// Lost sockets waiting for their clients (connection state recovery).
    pub parked: u64,
    /// Bytes of missed events they hold.
    pub missed_bytes: u64,
}

/// The other nodes of a cluster, as the adapter reaches them. Each call
/// follows the same operation done locally; implementations publish and
/// return at once (never block the caller's thread).
pub trait Cluster: Send + Sync + 'static {
    /// A broadcast this node made.
    fn broadcast(&self, target: &Target, event: &str, args: &Args);
    /// Sockets join rooms on every other node.
    fn add_sockets(&self, target: &Target, rooms: &[String]);
    /// Sockets leave rooms on every other node.
    fn del_sockets(&self, target: &Target, rooms: &[String]);
    /// Sockets disconnect (`close`: their whole connection) on every other node.
    fn disconnect_sockets(&self, target: &Target, close: bool);
    /// The selected sockets of every other node.
    fn fetch_sockets(&self, target: &Target) -> BoxFuture<'static, Remote<Vec<SocketInfo>>>;
    /// A broadcast with acks this node made: the other nodes' clients'
    /// answers within `timeout` (`complete` when every node was heard and
    /// every client answered).
    fn broadcast_with_ack(
        &self,
        target: &Target,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> BoxFuture<'static, AckReplies>;
    /// A server-side event for the other nodes (no answer awaited).
    fn server_side_emit(&self, nsp: &str, event: &str, args: &Args);
    /// A server-side event whose answers are awaited: one value per other
    /// node, within `timeout`.
    fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> BoxFuture<'static, Remote<Vec<serde_json::Value>>>;
    /// A user's first socket or last socket on this node came or went:
    /// `hook` is told when the whole cluster sees a change (their first
    /// socket on any node, their last one anywhere). Alone, a node's change
    /// is the cluster's.
    fn presence(&self, change: Presence, hook: PresenceHook) {
        hook(change)
    }
    /// Where lost sockets wait for a client that may come back through
    /// another node (connection state recovery); none: on their node only.
    fn sessions(&self) -> Option<Arc<dyn SessionStore>> {
        None
    }
}

/// What the other nodes answered: everything, or what arrived before the
/// timeout or the failure (`complete` false).
#[derive(Debug, Clone, PartialEq)]
pub struct Remote<T> {
    pub value: T,
    pub complete: bool,
}

impl<T: Default> Remote<T> {
    /// Nothing from the other nodes: there are none (`complete`), or they
    /// could not be asked.
    pub fn nothing(complete: bool) -> Remote<T> {
        Remote {
            value: T::default(),
            complete,
        }
    }
}

/// The engine's adapter: the local index, its observers and the cluster.
pub struct Adapter {
    index: RwLock<Index<Route>>,
    presence: Option<PresenceHook>,
    rooms: Option<RoomHook>,
    /// Set once, as the engine starts: the cluster needs the engine's
    /// handle, which needs this adapter.
    cluster: OnceLock<Arc<dyn Cluster>>,
    ack_ids: AckIds,
    stats: Arc<Stats>,
    /// Offsets and lost sockets (connection state recovery).
    sessions: Sessions,
}

impl Adapter {
    pub fn new(
        presence: Option<PresenceHook>,
        rooms: Option<RoomHook>,
        stats: Arc<Stats>,
    ) -> Adapter {
        Adapter {
            index: RwLock::default(),
            presence,
            rooms,
            cluster: OnceLock::new(),
            ack_ids: AckIds::default(),
            stats,
            sessions: Sessions::default(),
        }
    }

    /// With connection state recovery as `config` says.
    pub fn recoverable(mut self, config: Recovery) -> Adapter {
        self.sessions = Sessions::new(config);
        self
    }

    /// Carries every operation from now on to the other nodes as well.
    pub(crate) fn join_cluster(&self, cluster: Arc<dyn Cluster>) {
        if self.cluster.set(cluster).is_err() {
            tracing::warn!("the adapter already belongs to a cluster");
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Index<Route>> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes the index, then tells the observers (outside the lock, so
    /// that a hook may read the index).
    fn change<R>(&self, f: impl FnOnce(&mut Index<Route>, &mut Vec<Change>) -> R) -> R {
        let mut changes = Vec::new();
        let result = {
            let mut index: RwLockWriteGuard<'_, _> =
                self.index.write().unwrap_or_else(|e| e.into_inner());
            f(&mut index, &mut changes)
        };
        for change in changes {
            self.tell(change);
        }
        result
    }

    fn tell(&self, change: Change) {
        match change {
            Change::Online { user_id } => self.tell_presence(Presence::Online { user_id }),
            Change::Offline { user_id, last_seen } => {
                self.tell_presence(Presence::Offline { user_id, last_seen })
            }
            Change::Joined { nsp, room, socket } => {
                if let Some(hook) = &self.rooms {
                    let socket = socket.as_str().to_owned();
                    hook(RoomChange::Joined { nsp, room, socket });
                }
            }
            Change::Left { nsp, room, socket } => {
                if let Some(hook) = &self.rooms {
                    let socket = socket.as_str().to_owned();
                    hook(RoomChange::Left { nsp, room, socket });
                }
            }
        }
    }

    fn tell_presence(&self, change: Presence) {
        let Some(hook) = &self.presence else { return };
        match self.cluster.get() {
            Some(cluster) => cluster.presence(change, hook.clone()),
            None => hook(change),
        }
    }

    /// A socket connected to a namespace.
    pub fn add_socket(
        &self,
        nsp: &str,
        socket: Sid,
        handle: SocketHandle,
        user_id: Option<String>,
    ) {
        let member = Member {
            handle: Route::Live(handle),
            user_id,
            rooms: Default::default(),
            connected_at: now_millis(),
        };
        self.change(|index, changes| index.add(nsp, socket, member, changes));
    }

    /// A socket left its namespace: it leaves every room.
    pub fn remove_socket(&self, nsp: &str, socket: Sid) {
        self.change(|index, changes| index.remove(nsp, socket, changes));
    }

    /// A socket authenticated after connecting: it now counts for its user.
    pub fn set_user(&self, nsp: &str, socket: Sid, user_id: &str) {
        self.change(|index, changes| index.set_user(nsp, socket, user_id, changes));
    }

    pub fn join(&self, nsp: &str, socket: Sid, rooms: &[String]) {
        self.change(|index, changes| index.join(nsp, socket, rooms, changes));
    }

    pub fn leave(&self, nsp: &str, socket: Sid, rooms: &[String]) {
        self.change(|index, changes| index.leave(nsp, socket, rooms, changes));
    }

    pub fn rooms_of(&self, nsp: &str, socket: Sid) -> Vec<String> {
        self.read().rooms_of(nsp, socket)
    }

    /// Sends `event` with `args`, encoded once, to the target's sockets
    /// here, then to the other nodes. With recovery on, the packet carries
    /// an offset as its last argument, and lost sockets keep it.
    pub fn broadcast(&self, target: &Target, event: &str, args: &Args) {
        let offset = self.sessions.next_offset();
        let frames = match offset {
            Some(offset) => args.with_last(&recovery::offset_text(offset)).event_frames(
                &target.nsp,
                event,
                None,
            ),
            None => args.event_frames(&target.nsp, event, None),
        };
        let delivered = {
            let index = self.read();
            let chosen = index.select(target);
            for (_, member) in &chosen {
                member.handle.send(&frames, offset);
            }
            chosen.len()
        };
        Stats::bump(&self.stats.broadcasts);
        Stats::add(&self.stats.deliveries, delivered as u64);
        if let Some(cluster) = self.remote(target) {
            cluster.broadcast(target, event, args);
        }
    }

    /// Every selected socket joins `rooms` (Socket.IO's `socketsJoin`).
    pub fn add_sockets(&self, target: &Target, rooms: &[String]) {
        self.for_each_selected(target, |index, id, changes| {
            index.join(&target.nsp, id, rooms, changes)
        });
        if let Some(cluster) = self.remote(target) {
            cluster.add_sockets(target, rooms);
        }
    }

    /// Every selected socket leaves `rooms` (Socket.IO's `socketsLeave`).
    pub fn del_sockets(&self, target: &Target, rooms: &[String]) {
        self.for_each_selected(target, |index, id, changes| {
            index.leave(&target.nsp, id, rooms, changes)
        });
        if let Some(cluster) = self.remote(target) {
            cluster.del_sockets(target, rooms);
        }
    }

    /// Changes each socket `target` selects, under one write lock.
    fn for_each_selected(
        &self,
        target: &Target,
        mut f: impl FnMut(&mut Index<Route>, Sid, &mut Vec<Change>),
    ) {
        self.change(|index, changes| {
            let ids: Vec<Sid> = index.select(target).into_iter().map(|(id, _)| id).collect();
            for id in ids {
                f(index, id, changes);
            }
        });
    }

    /// Disconnects the selected sockets (`close`: their whole connection).
    pub fn disconnect_sockets(&self, target: &Target, close: bool) {
        for (socket, member) in self.read().select(target) {
            match &member.handle {
                Route::Live(handle) => {
                    let request = if close {
                        // Node's `disconnect(true)`: each socket leaves for
                        // "server namespace disconnect", so it is not kept
                        // for recovery; then the connection closes.
                        SessionRequest::Close(DisconnectReason::ServerNamespaceDisconnect)
                    } else {
                        SessionRequest::Disconnect {
                            nsp: target.nsp.clone(),
                            socket,
                        }
                    };
                    handle.session.send(request);
                }
                Route::Parked(parked) => parked.kill(),
            }
        }
        if let Some(cluster) = self.remote(target) {
            cluster.disconnect_sockets(target, close);
        }
    }

    /// The ack ids of this engine's emits.
    pub fn ack_ids(&self) -> &AckIds {
        &self.ack_ids
    }

    /// Sends `event` with one ack id to the target's sockets here, each
    /// answering on its own (or timing out after `timeout`).
    pub fn ask_local(&self, target: &Target, event: &str, args: &Args, timeout: Duration) -> Asked {
        let id = self.ack_ids.next();
        let frames = args.event_frames(&target.nsp, event, Some(id));
        let index = self.read();
        let chosen = index.select(target);
        let mut answers = Vec::with_capacity(chosen.len());
        for (_, member) in chosen {
            // A lost socket cannot answer: like Node, it is not asked, and
            // an event that awaits an ack is not kept for it.
            let Route::Live(handle) = &member.handle else {
                continue;
            };
            let (reply, answer) = oneshot::channel();
            answers.push(answer);
            handle.session.send(SessionRequest::Ask(Ask {
                nsp: target.nsp.clone(),
                id,
                frames: frames.clone(),
                timeout,
                reply,
            }));
        }
        Stats::bump(&self.stats.broadcasts);
        Stats::add(&self.stats.deliveries, answers.len() as u64);
        Asked {
            count: answers.len(),
            answers,
        }
    }

    /// A broadcast with acks on every node (Node's
    /// `io.timeout(t).emitWithAck`): each client's answer within `timeout`.
    pub async fn broadcast_with_ack(
        &self,
        target: &Target,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> AckReplies {
        let asked = self.ask_local(target, event, args, timeout);
        let remote = self
            .remote(target)
            .map(|cluster| cluster.broadcast_with_ack(target, event, args, timeout));
        let mut replies = asked.collect().await;
        if let Some(remote) = remote {
            let other = remote.await;
            replies.expected += other.expected;
            replies.replies.extend(other.replies);
            replies.complete &= other.complete;
        }
        replies
    }

    /// A server-side event to the other nodes (none: it goes nowhere).
    pub fn server_side_emit(&self, nsp: &str, event: &str, args: &Args) {
        if let Some(cluster) = self.cluster.get() {
            cluster.server_side_emit(nsp, event, args);
        }
    }

    /// A server-side event and the other nodes' answers (none: complete,
    /// and empty, as Node answers without other servers).
    pub async fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> Remote<Vec<serde_json::Value>> {
        match self.cluster.get() {
            Some(cluster) => {
                cluster
                    .server_side_emit_with_ack(nsp, event, args, timeout)
                    .await
            }
            None => Remote::nothing(true),
        }
    }

    /// The selected sockets of this node (connected now: a lost socket
    /// waiting for recovery is not listed).
    pub fn local_sockets(&self, target: &Target) -> Vec<SocketInfo> {
        let index = self.read();
        index
            .select(target)
            .into_iter()
            // A lost socket waiting for recovery is not connected.
            .filter(|(_, member)| matches!(member.handle, Route::Live(_)))
            .map(|(id, member)| SocketInfo {
                id: id.as_str().to_owned(),
                nsp: target.nsp.clone(),
                user_id: member.user_id.clone(),
                rooms: index.rooms_of(&target.nsp, id),
                connected_at: member.connected_at,
            })
            .collect()
    }

    /// The selected sockets of every node; `complete` false if a node's
    /// answer is missing.
    pub async fn fetch_sockets(&self, target: &Target) -> Remote<Vec<SocketInfo>> {
        let mut sockets = self.local_sockets(target);
        let Some(cluster) = self.remote(target) else {
            return Remote {
                value: sockets,
                complete: true,
            };
        };
        let remote = cluster.fetch_sockets(target).await;
        sockets.extend(remote.value);
        Remote {
            value: sockets,
            complete: remote.complete,
        }
    }

    /// Sockets and rooms by namespace, now.
    pub fn census(&self) -> Census {
        let mut census = Census::default();
        for (nsp, ns) in self.read().namespaces() {
            let live = ns
                .sockets
                .values()
                .filter(|m| matches!(m.handle, Route::Live(_)));
            census.sockets.insert(nsp.clone(), live.count() as u64);
            census.rooms.insert(nsp.clone(), ns.rooms.len() as u64);
        }
        (census.parked, census.missed_bytes) = self.parked_totals();
        census
    }

    fn remote(&self, target: &Target) -> Option<&Arc<dyn Cluster>> {
        self.cluster.get().filter(|_| !target.local)
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
