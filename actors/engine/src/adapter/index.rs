//! The local room index: which sockets this process holds, by namespace,
//! by room and by user. It owns those facts alone; emitters read it under a
//! shared lock and send to the members themselves, so a broadcast crosses
//! no actor on its way to the sessions.
//!
//! Generic over the member handle so that its rules are tested without
//! actors.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::SystemTime;

use crate::protocol::engineio::Sid;

use super::Target;

/// One socket in the index.
#[derive(Debug, Clone)]
pub struct Member<H> {
    pub handle: H,
    pub user_id: Option<String>,
    /// Rooms joined, its own id room aside.
    pub rooms: HashSet<String>,
    /// Milliseconds since the Unix epoch.
    pub connected_at: u64,
}

/// One namespace's sockets and rooms.
#[derive(Debug)]
pub struct NspIndex<H> {
    pub sockets: HashMap<Sid, Member<H>>,
    /// Room name → the sockets in it (never empty: an emptied room goes).
    pub rooms: HashMap<String, HashSet<Sid>>,
}

impl<H> Default for NspIndex<H> {
    fn default() -> Self {
        NspIndex {
            sockets: HashMap::new(),
            rooms: HashMap::new(),
        }
    }
}

/// What a change did, for the observers (told after the lock is released).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A user's first socket connected (on any device).
    Online { user_id: String },
    /// A user's last socket left.
    Offline {
        user_id: String,
        last_seen: SystemTime,
    },
    Joined {
        nsp: String,
        room: String,
        socket: Sid,
    },
    Left {
        nsp: String,
        room: String,
        socket: Sid,
    },
}

/// Every namespace's index, and the users' sockets across namespaces.
#[derive(Debug)]
pub struct Index<H> {
    namespaces: HashMap<String, NspIndex<H>>,
    users: HashMap<String, HashSet<Sid>>,
}

impl<H> Default for Index<H> {
    fn default() -> Self {
        Index {
            namespaces: HashMap::new(),
            users: HashMap::new(),
        }
    }
}

impl<H> Index<H> {
    pub fn namespace(&self, nsp: &str) -> Option<&NspIndex<H>> {
        self.namespaces.get(nsp)
    }

    pub fn namespaces(&self) -> impl Iterator<Item = (&String, &NspIndex<H>)> {
        self.namespaces.iter()
    }

    /// Adds a connected socket; its user, if any, counts for presence.
    pub fn add(&mut self, nsp: &str, socket: Sid, member: Member<H>, changes: &mut Vec<Change>) {
        if let Some(user) = &member.user_id {
            self.add_user(socket, user, changes);
        }
        self.namespaces
            .entry(nsp.to_owned())
            .or_default()
            .sockets
            .insert(socket, member);
    }

    /// Removes a socket from its namespace and every room.
    pub fn remove(&mut self, nsp: &str, socket: Sid, changes: &mut Vec<Change>) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let Some(member) = ns.sockets.remove(&socket) else {
            return;
        };
        for room in &member.rooms {
            ns.drop_member(nsp, room, socket, changes);
        }
        if ns.sockets.is_empty() {
            self.namespaces.remove(nsp);
        }
        if let Some(user) = &member.user_id {
            self.remove_user(socket, user, changes);
        }
    }

    /// A socket authenticated after connecting: it now counts for its user.
    /// `false` if it is unknown or already has one.
    pub fn set_user(
        &mut self,
        nsp: &str,
        socket: Sid,
        user_id: &str,
        changes: &mut Vec<Change>,
    ) -> bool {
        let Some(member) = self
            .namespaces
            .get_mut(nsp)
            .and_then(|ns| ns.sockets.get_mut(&socket))
        else {
            return false;
        };
        if member.user_id.is_some() {
            return false;
        }
        member.user_id = Some(user_id.to_owned());
        self.add_user(socket, user_id, changes);
        true
    }

    pub fn join(&mut self, nsp: &str, socket: Sid, rooms: &[String], changes: &mut Vec<Change>) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let Some(member) = ns.sockets.get_mut(&socket) else {
            return;
        };
        for room in rooms {
            if room == socket.as_str() || !member.rooms.insert(room.clone()) {
                continue;
            }
            ns.rooms.entry(room.clone()).or_default().insert(socket);
            changes.push(Change::Joined {
                nsp: nsp.to_owned(),
                room: room.clone(),
                socket,
            });
        }
    }

    pub fn leave(&mut self, nsp: &str, socket: Sid, rooms: &[String], changes: &mut Vec<Change>) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let Some(member) = ns.sockets.get_mut(&socket) else {
            return;
        };
        let left: Vec<&String> = rooms.iter().filter(|r| member.rooms.remove(*r)).collect();
        for room in left {
            ns.drop_member(nsp, room, socket, changes);
        }
    }

    /// The rooms of a socket, its own id room first, the others sorted.
    pub fn rooms_of(&self, nsp: &str, socket: Sid) -> Vec<String> {
        let Some(member) = self.namespace(nsp).and_then(|ns| ns.sockets.get(&socket)) else {
            return Vec::new();
        };
        let mut rooms: Vec<String> = member.rooms.iter().cloned().collect();
        rooms.sort();
        rooms.insert(0, socket.as_str().to_owned());
        rooms
    }

    /// The sockets a target selects: the union of its rooms (or the whole
    /// namespace), minus the sockets of its excluded rooms. Each once.
    pub fn select(&self, target: &Target) -> Vec<(Sid, &Member<H>)> {
        let Some(ns) = self.namespace(&target.nsp) else {
            return Vec::new();
        };
        let excluded: HashSet<Sid> = target
            .except
            .iter()
            .flat_map(|room| ns.room_members(room))
            .collect();
        let keep = |id: &Sid| !excluded.contains(id);
        match target.rooms.as_slice() {
            [] => ns
                .sockets
                .iter()
                .filter(|(id, _)| keep(id))
                .map(|(id, m)| (*id, m))
                .collect(),
            [room] => ns.members_of(ns.room_members(room).filter(keep)),
            rooms => {
                let ids: HashSet<Sid> = rooms
                    .iter()
                    .flat_map(|room| ns.room_members(room))
                    .filter(keep)
                    .collect();
                ns.members_of(ids.into_iter())
            }
        }
    }

    fn add_user(&mut self, socket: Sid, user_id: &str, changes: &mut Vec<Change>) {
        let sockets = self.users.entry(user_id.to_owned()).or_default();
        sockets.insert(socket);
        if sockets.len() == 1 {
            changes.push(Change::Online {
                user_id: user_id.to_owned(),
            });
        }
    }

    fn remove_user(&mut self, socket: Sid, user_id: &str, changes: &mut Vec<Change>) {
        let Some(sockets) = self.users.get_mut(user_id) else {
            return;
        };
        sockets.remove(&socket);
        if sockets.is_empty() {
            self.users.remove(user_id);
            changes.push(Change::Offline {
                user_id: user_id.to_owned(),
                last_seen: SystemTime::now(),
            });
        }
    }
}

impl<H> NspIndex<H> {
    /// The sockets in `room`: its members, and the socket whose id it is.
    pub fn room_members<'a>(&'a self, room: &str) -> impl Iterator<Item = Sid> + 'a {
        let members = self.rooms.get(room).into_iter().flatten().copied();
        let owner = Sid::from_str(room)
            .ok()
            .filter(|id| self.sockets.contains_key(id));
        members.chain(owner)
    }

    fn members_of(&self, ids: impl Iterator<Item = Sid>) -> Vec<(Sid, &Member<H>)> {
        ids.filter_map(|id| self.sockets.get(&id).map(|m| (id, m)))
            .collect()
    }

    fn drop_member(&mut self, nsp: &str, room: &str, socket: Sid, changes: &mut Vec<Change>) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(&socket);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
        changes.push(Change::Left {
            nsp: nsp.to_owned(),
            room: room.to_owned(),
            socket,
        });
    }
}
