//! The engine-wide handle: emit to rooms, sockets or everyone, list and
//! disconnect sockets. Cheap to clone; usable from any thread, which is how
//! an application's HTTP handlers push events.

use std::collections::HashSet;

use actix::Addr;
use serde::Serialize;

use crate::protocol::engineio::Sid;
use crate::protocol::socketio::{Args, EncodeError};
use crate::registry::{
    CloseConnections, DisconnectSockets, Fanout, FetchSockets, Join, JoinSockets, Leave,
    LeaveSockets, Registry, RoomsOf, SocketInfo, Target,
};

/// Handle to a running engine's sockets and rooms.
#[derive(Clone)]
pub struct Io {
    registry: Addr<Registry>,
}

impl Io {
    pub(crate) fn new(registry: Addr<Registry>) -> Io {
        Io { registry }
    }

    /// Targets a namespace (`"/"` is the main one).
    pub fn of(&self, nsp: &str) -> Broadcast {
        Broadcast {
            registry: self.registry.clone(),
            target: Target::namespace(nsp),
        }
    }

    /// Targets a room of the main namespace.
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        self.of("/").to(room)
    }

    /// Emits to every socket of the main namespace.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EncodeError> {
        self.of("/").emit(event, data)
    }

    pub(crate) async fn join(&self, socket: Sid, rooms: Vec<String>) {
        // A failed send means the engine is stopping: nothing to join then.
        let _ = self.registry.send(Join { socket, rooms }).await;
    }

    pub(crate) async fn leave(&self, socket: Sid, rooms: Vec<String>) {
        let _ = self.registry.send(Leave { socket, rooms }).await;
    }

    pub(crate) async fn rooms_of(&self, socket: Sid) -> Vec<String> {
        self.registry
            .send(RoomsOf(socket))
            .await
            .unwrap_or_default()
    }
}

/// A selection of sockets to emit to: a namespace, narrowed to rooms and
/// minus excluded rooms and sockets. A socket in several selected rooms gets
/// one copy.
#[derive(Clone)]
pub struct Broadcast {
    registry: Addr<Registry>,
    target: Target,
}

impl Broadcast {
    /// Adds a room (or a socket id) to the selection.
    pub fn to(mut self, room: impl Into<String>) -> Self {
        self.target.rooms.push(room.into());
        self
    }

    /// Adds several rooms.
    pub fn to_rooms(mut self, rooms: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.target.rooms.extend(rooms.into_iter().map(Into::into));
        self
    }

    /// Leaves out every socket in `room` (or the socket with that id).
    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.target.except.push(room.into());
        self
    }

    pub(crate) fn except_socket(mut self, socket: Sid) -> Self {
        self.target.except_sockets = Some(HashSet::from([socket]).into());
        self
    }

    /// Sends `event` to the selection; encoded once, whatever its size.
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EncodeError> {
        self.emit_args(event, &Args::new(data)?);
        Ok(())
    }

    pub fn emit_args(self, event: &str, args: &Args) {
        let frames = args.event_frames(&self.target.nsp, event, None);
        self.registry.do_send(Fanout {
            target: self.target,
            frames,
        });
    }

    /// The sockets in the selection.
    pub async fn sockets(self) -> Vec<SocketInfo> {
        self.registry
            .send(FetchSockets(self.target))
            .await
            .unwrap_or_default()
    }

    /// Makes every selected socket join `rooms` (Socket.IO's
    /// `socketsJoin`).
    pub fn join(self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        self.registry.do_send(JoinSockets {
            target: self.target,
            rooms: rooms.into_iter().map(Into::into).collect(),
        });
    }

    /// Makes every selected socket leave `rooms` (Socket.IO's
    /// `socketsLeave`).
    pub fn leave(self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        self.registry.do_send(LeaveSockets {
            target: self.target,
            rooms: rooms.into_iter().map(Into::into).collect(),
        });
    }

    /// Disconnects every socket in the selection from its namespace.
    pub fn disconnect(self) {
        self.registry.do_send(DisconnectSockets(self.target));
    }

    /// Closes the whole connection of every socket in the selection, every
    /// namespace on it (Socket.IO's `disconnectSockets(true)`).
    pub fn close_connections(self) {
        self.registry.do_send(CloseConnections(self.target));
    }
}
