//! The registry: which sockets exist (by id and by user), which rooms they
//! are in, and where each room actor lives. Every join, leave and broadcast
//! goes through it, so membership is never seen half-changed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use std::str::FromStr;

use actix::prelude::*;
use serde::Serialize;

use crate::protocol::engineio::{Frames, Sid};
use crate::room::{AddMember, RemoveMember, Room, RoomFanout};
use crate::session::{CloseSession, Deliver, DisconnectSocket, Session};
use crate::socket::DisconnectReason;
use crate::stats::Stats;

/// Which sockets an emit or a query is for.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub nsp: String,
    /// Rooms (or socket ids) to include; empty means the whole namespace.
    pub rooms: Vec<String>,
    /// Rooms (or socket ids) to leave out.
    pub except: Vec<String>,
    pub except_sockets: Option<Arc<HashSet<Sid>>>,
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

struct SocketEntry {
    nsp: String,
    session: Addr<Session>,
    user_id: Option<String>,
    rooms: HashSet<String>,
    connected_at: u64,
}

struct RoomEntry {
    addr: Addr<Room>,
    /// The sockets in the room: multi-room emits take their union here
    /// instead of scanning the namespace.
    members: HashSet<Sid>,
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

/// Told of every presence change, on the registry's thread: it should only
/// hand work on (emit, spawn), never block.
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

/// Told of every room joined and left, on the registry's thread, as the
/// registry changes: it should only hand work on (emit, spawn), never block.
/// With none installed, a join costs one `Option` check.
pub type RoomHook = Arc<dyn Fn(RoomChange) + Send + Sync>;

/// The engine's directory of sockets and rooms.
pub struct Registry {
    presence: Option<PresenceHook>,
    room_hook: Option<RoomHook>,
    sockets: HashMap<Sid, SocketEntry>,
    rooms: HashMap<(String, String), RoomEntry>,
    users: HashMap<String, HashSet<Sid>>,
    /// Rooms are spread over these arbiters, so fan-out runs beside the
    /// registry rather than on its thread.
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    /// The engine's counters (broadcasts and their deliveries).
    stats: Arc<Stats>,
}

impl Registry {
    pub fn new(arbiters: Vec<ArbiterHandle>, presence: Option<PresenceHook>) -> Registry {
        Registry {
            presence,
            room_hook: None,
            sockets: HashMap::new(),
            rooms: HashMap::new(),
            users: HashMap::new(),
            arbiters,
            next_arbiter: 0,
            stats: Arc::default(),
        }
    }

    /// Counts broadcasts and deliveries in `stats` (the engine's).
    pub fn with_stats(mut self, stats: Arc<Stats>) -> Registry {
        self.stats = stats;
        self
    }

    /// Tells `hook` of every room joined and left from now on.
    pub fn with_room_hook(mut self, hook: Option<RoomHook>) -> Registry {
        self.room_hook = hook;
        self
    }

    fn add_user(&mut self, socket: Sid, user_id: &str) {
        let sockets = self.users.entry(user_id.to_owned()).or_default();
        sockets.insert(socket);
        if sockets.len() == 1
            && let Some(hook) = &self.presence
        {
            hook(Presence::Online {
                user_id: user_id.to_owned(),
            });
        }
    }

    fn remove_user(&mut self, socket: Sid, user_id: &str) {
        let Some(sockets) = self.users.get_mut(user_id) else {
            return;
        };
        sockets.remove(&socket);
        if sockets.is_empty() {
            self.users.remove(user_id);
            if let Some(hook) = &self.presence {
                hook(Presence::Offline {
                    user_id: user_id.to_owned(),
                    last_seen: SystemTime::now(),
                });
            }
        }
    }

    fn start_room(&mut self) -> Addr<Room> {
        let stats = self.stats.clone();
        if self.arbiters.is_empty() {
            return Room::new(stats).start();
        }
        let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
        self.next_arbiter = self.next_arbiter.wrapping_add(1);
        Room::start_in_arbiter(arbiter, |_| Room::new(stats))
    }

    fn join(&mut self, socket: Sid, room: String) {
        let Some(entry) = self.sockets.get_mut(&socket) else {
            return;
        };
        if room == socket.as_str() || !entry.rooms.insert(room.clone()) {
            return;
        }
        let session = entry.session.clone();
        if let Some(hook) = &self.room_hook {
            hook(RoomChange::Joined {
                nsp: entry.nsp.clone(),
                room: room.clone(),
                socket: socket.as_str().to_owned(),
            });
        }
        let key = (entry.nsp.clone(), room);
        let room = match self.rooms.get_mut(&key) {
            Some(room) => room,
            None => {
                let addr = self.start_room();
                self.rooms.entry(key).or_insert(RoomEntry {
                    addr,
                    members: HashSet::new(),
                })
            }
        };
        room.members.insert(socket);
        room.addr.do_send(AddMember { socket, session });
    }

    fn leave(&mut self, socket: Sid, nsp: &str, room: &str) {
        if let Some(hook) = &self.room_hook {
            hook(RoomChange::Left {
                nsp: nsp.to_owned(),
                room: room.to_owned(),
                socket: socket.as_str().to_owned(),
            });
        }
        let key = (nsp.to_owned(), room.to_owned());
        if let Some(entry) = self.rooms.get_mut(&key) {
            entry.members.remove(&socket);
            entry.addr.do_send(RemoveMember(socket));
            if entry.members.is_empty() {
                self.rooms.remove(&key);
            }
        }
    }

    /// The sockets in `room` of `nsp`: its members, and the socket whose id
    /// it is.
    fn room_members<'a>(&'a self, nsp: &str, room: &str) -> impl Iterator<Item = Sid> + 'a {
        let members = self
            .rooms
            .get(&(nsp.to_owned(), room.to_owned()))
            .into_iter()
            .flat_map(|e| e.members.iter().copied());
        let owner = Sid::from_str(room)
            .ok()
            .filter(|id| self.sockets.get(id).is_some_and(|s| s.nsp == nsp));
        members.chain(owner)
    }

    /// The sockets a target selects: the union of its rooms (or the whole
    /// namespace), minus its excluded rooms and sockets.
    fn select(&self, target: &Target) -> Vec<(&Sid, &SocketEntry)> {
        let excluded: HashSet<Sid> = target
            .except
            .iter()
            .flat_map(|room| self.room_members(&target.nsp, room))
            .chain(
                target
                    .except_sockets
                    .iter()
                    .flat_map(|set| set.iter().copied()),
            )
            .collect();
        let chosen: Box<dyn Iterator<Item = (&Sid, &SocketEntry)>> = if target.rooms.is_empty() {
            Box::new(self.sockets.iter().filter(|(_, s)| s.nsp == target.nsp))
        } else {
            let ids: HashSet<Sid> = target
                .rooms
                .iter()
                .flat_map(|room| self.room_members(&target.nsp, room))
                .collect();
            Box::new(
                ids.into_iter()
                    .filter_map(|id| self.sockets.get_key_value(&id)),
            )
        };
        chosen.filter(|(id, _)| !excluded.contains(id)).collect()
    }

    /// The ids of the sockets a target selects, to change them one by one.
    fn select_ids(&self, target: &Target) -> Vec<Sid> {
        self.select(target).into_iter().map(|(id, _)| *id).collect()
    }

    fn info(id: &Sid, s: &SocketEntry) -> SocketInfo {
        let mut rooms: Vec<String> = std::iter::once(id.as_str().to_owned())
            .chain(s.rooms.iter().cloned())
            .collect();
        rooms[1..].sort();
        SocketInfo {
            id: id.as_str().to_owned(),
            nsp: s.nsp.clone(),
            user_id: s.user_id.clone(),
            rooms,
            connected_at: s.connected_at,
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

/// A socket has connected to a namespace.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Register {
    pub socket: Sid,
    pub nsp: String,
    pub session: Addr<Session>,
    pub user_id: Option<String>,
}

/// A socket has left its namespace: it leaves every room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Unregister(pub Sid);

#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub socket: Sid,
    pub rooms: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    pub socket: Sid,
    pub rooms: Vec<String>,
}

#[derive(Message)]
#[rtype(result = "Vec<String>")]
pub struct RoomsOf(pub Sid);

/// Every selected socket joins `rooms` (Socket.IO's `socketsJoin`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct JoinSockets {
    pub target: Target,
    pub rooms: Vec<String>,
}

/// Every selected socket leaves `rooms` (Socket.IO's `socketsLeave`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct LeaveSockets {
    pub target: Target,
    pub rooms: Vec<String>,
}

/// Delivers encoded frames to the sockets of a target.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fanout {
    pub target: Target,
    pub frames: Frames,
}

#[derive(Message)]
#[rtype(result = "Vec<SocketInfo>")]
pub struct FetchSockets(pub Target);

#[derive(Message)]
#[rtype(result = "()")]
pub struct DisconnectSockets(pub Target);

/// Closes the whole connection of every selected socket (Socket.IO's
/// `disconnectSockets(true)`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseConnections(pub Target);

impl Handler<Register> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        if let Some(user) = &msg.user_id {
            self.add_user(msg.socket, user);
        }
        let connected_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let entry = SocketEntry {
            nsp: msg.nsp,
            session: msg.session,
            user_id: msg.user_id,
            rooms: HashSet::new(),
            connected_at,
        };
        self.sockets.insert(msg.socket, entry);
    }
}

impl Handler<Unregister> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Unregister, _: &mut Context<Self>) {
        let Some(entry) = self.sockets.remove(&msg.0) else {
            return;
        };
        for room in &entry.rooms {
            self.leave(msg.0, &entry.nsp, room);
        }
        if let Some(user) = &entry.user_id {
            self.remove_user(msg.0, user);
        }
    }
}

/// A socket authenticated after connecting: it now counts for its user.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetUser {
    pub socket: Sid,
    pub user_id: String,
}

impl Handler<SetUser> for Registry {
    type Result = ();
    fn handle(&mut self, msg: SetUser, _: &mut Context<Self>) {
        let Some(entry) = self.sockets.get_mut(&msg.socket) else {
            return;
        };
        if entry.user_id.is_none() {
            entry.user_id = Some(msg.user_id.clone());
            self.add_user(msg.socket, &msg.user_id);
        }
    }
}

impl Handler<Join> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        for room in msg.rooms {
            self.join(msg.socket, room);
        }
    }
}

impl Handler<Leave> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        let Some(entry) = self.sockets.get_mut(&msg.socket) else {
            return;
        };
        let nsp = entry.nsp.clone();
        let left: Vec<String> = msg
            .rooms
            .into_iter()
            .filter(|r| entry.rooms.remove(r))
            .collect();
        for room in left {
            self.leave(msg.socket, &nsp, &room);
        }
    }
}

impl Handler<LeaveSockets> for Registry {
    type Result = ();
    fn handle(&mut self, msg: LeaveSockets, ctx: &mut Context<Self>) {
        let sockets = self.select_ids(&msg.target);
        for socket in sockets {
            let leave = Leave {
                socket,
                rooms: msg.rooms.clone(),
            };
            <Self as Handler<Leave>>::handle(self, leave, ctx);
        }
    }
}

impl Handler<JoinSockets> for Registry {
    type Result = ();
    fn handle(&mut self, msg: JoinSockets, _: &mut Context<Self>) {
        let sockets = self.select_ids(&msg.target);
        for socket in sockets {
            for room in &msg.rooms {
                self.join(socket, room.clone());
            }
        }
    }
}

impl Handler<RoomsOf> for Registry {
    type Result = MessageResult<RoomsOf>;
    fn handle(&mut self, msg: RoomsOf, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.sockets
                .get(&msg.0)
                .map(|s| Self::info(&msg.0, s).rooms)
                .unwrap_or_default(),
        )
    }
}

impl Handler<Fanout> for Registry {
    type Result = ();
    fn handle(&mut self, msg: Fanout, _: &mut Context<Self>) {
        let Fanout { target, frames } = msg;
        Stats::bump(&self.stats.broadcasts);
        // The common case, one room and no excluded room: the room actor
        // fans out on its own arbiter. A socket id names a room its socket
        // is in without joining it: that socket gets its copy here.
        if let ([room], []) = (target.rooms.as_slice(), target.except.as_slice()) {
            let excluded = |id: &Sid| {
                target
                    .except_sockets
                    .as_ref()
                    .is_some_and(|set| set.contains(id))
            };
            let owner = Sid::from_str(room).ok().filter(|id| !excluded(id));
            if let Some(socket) = owner
                .and_then(|id| self.sockets.get(&id))
                .filter(|s| s.nsp == target.nsp)
            {
                socket.session.do_send(Deliver(frames.clone()));
                Stats::bump(&self.stats.deliveries);
            }
            if let Some(entry) = self.rooms.get(&(target.nsp.clone(), room.clone())) {
                entry.addr.do_send(RoomFanout {
                    frames,
                    except: target.except_sockets,
                });
            }
            return;
        }
        let chosen = self.select(&target);
        Stats::add(&self.stats.deliveries, chosen.len() as u64);
        for (_, socket) in chosen {
            socket.session.do_send(Deliver(frames.clone()));
        }
    }
}

/// How many sockets and rooms each namespace has now, for the metrics.
#[derive(Message)]
#[rtype(result = "Census")]
pub struct TakeCensus;

/// The answer to [`TakeCensus`]: namespace → count.
#[derive(Debug, Default, Clone, PartialEq, MessageResponse)]
pub struct Census {
    pub sockets: HashMap<String, u64>,
    pub rooms: HashMap<String, u64>,
}

impl Handler<TakeCensus> for Registry {
    type Result = Census;
    fn handle(&mut self, _: TakeCensus, _: &mut Context<Self>) -> Census {
        let mut census = Census::default();
        for entry in self.sockets.values() {
            *census.sockets.entry(entry.nsp.clone()).or_default() += 1;
        }
        for (nsp, _) in self.rooms.keys() {
            *census.rooms.entry(nsp.clone()).or_default() += 1;
        }
        census
    }
}

impl Handler<FetchSockets> for Registry {
    type Result = MessageResult<FetchSockets>;
    fn handle(&mut self, msg: FetchSockets, _: &mut Context<Self>) -> Self::Result {
        MessageResult(
            self.select(&msg.0)
                .into_iter()
                .map(|(id, s)| Self::info(id, s))
                .collect(),
        )
    }
}

impl Handler<DisconnectSockets> for Registry {
    type Result = ();
    fn handle(&mut self, msg: DisconnectSockets, _: &mut Context<Self>) {
        for (_, socket) in self.select(&msg.0) {
            socket.session.do_send(DisconnectSocket {
                nsp: socket.nsp.clone(),
            });
        }
    }
}

impl Handler<CloseConnections> for Registry {
    type Result = ();
    fn handle(&mut self, msg: CloseConnections, _: &mut Context<Self>) {
        for (_, socket) in self.select(&msg.0) {
            socket
                .session
                .do_send(CloseSession(DisconnectReason::ForcedClose));
        }
    }
}
