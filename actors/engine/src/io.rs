//! The engine-wide handle: emit to rooms, sockets or everyone, list and
//! disconnect sockets. Cheap to clone; usable from any thread, which is how
//! an application's HTTP handlers push events.

use std::sync::Arc;

use serde::Serialize;

use std::time::Duration;

use crate::ack::{AckReplies, Asked, ServerAck};
use crate::adapter::{Adapter, Remote, SocketInfo, Target};
use crate::payload::Payload;
use crate::protocol::socketio::{Args, EncodeError};

/// Handle to a running engine's sockets and rooms.
#[derive(Clone)]
pub struct Io {
    adapter: Arc<Adapter>,
    /// Hands the other nodes' server-side events to the namespaces'
    /// handlers (made by the engine, which knows the namespaces).
    server_events: ServerEventDispatch,
}

/// Runs the handler of a server-side event of a namespace, if there is one.
pub(crate) type ServerEventDispatch =
    Arc<dyn Fn(&Io, &str, Payload, Option<ServerAck>) -> bool + Send + Sync>;

impl Io {
    pub(crate) fn new(adapter: Arc<Adapter>, server_events: ServerEventDispatch) -> Io {
        Io {
            adapter,
            server_events,
        }
    }

    /// Emits `event` to the other nodes of the cluster (Node's
    /// `io.of(nsp).serverSideEmit`); their namespace's
    /// [`Namespace::on_server_event`](crate::Namespace::on_server_event)
    /// handlers get it. Alone, it goes nowhere.
    pub fn server_side_emit<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        data: &T,
    ) -> Result<(), EncodeError> {
        self.adapter.server_side_emit(nsp, event, &Args::new(data)?);
        Ok(())
    }

    /// As [`Io::server_side_emit`], waiting up to `timeout` for one answer
    /// from each other node (Node's `serverSideEmitWithAck`); `complete`
    /// false when one did not answer in time.
    pub async fn server_side_emit_with_ack<T: Serialize + ?Sized>(
        &self,
        nsp: &str,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<Remote<Vec<serde_json::Value>>, EncodeError> {
        let args = Args::new(data)?;
        Ok(self
            .adapter
            .server_side_emit_with_ack(nsp, event, &args, timeout)
            .await)
    }

    /// Hands another node's server-side event to this node's handler, on a
    /// task of its own; `false` if `nsp` has none for it (its `ack`, if
    /// any, is then never answered, as in Node).
    pub fn server_event(&self, nsp: &str, payload: Payload, ack: Option<ServerAck>) -> bool {
        (self.server_events)(self, nsp, payload, ack)
    }

    /// Targets a namespace (`"/"` is the main one).
    pub fn of(&self, nsp: &str) -> Broadcast {
        Broadcast {
            adapter: self.adapter.clone(),
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

    /// Applies an operation another node asked for: `target` is taken as
    /// it came, and marked local so that it goes no further.
    pub fn apply(&self, mut target: Target) -> Broadcast {
        target.local = true;
        Broadcast {
            adapter: self.adapter.clone(),
            target,
        }
    }

    /// Another node recovered (or refused) the session `pid` parked here:
    /// see [`Adapter::handed_over`]. For the cluster's session store.
    pub fn handed_over(&self, pid: &str, recovered: bool) {
        self.adapter.handed_over(pid, recovered);
    }

    pub(crate) fn adapter(&self) -> &Arc<Adapter> {
        &self.adapter
    }
}

/// A selection of sockets to emit to: a namespace, narrowed to rooms and
/// minus excluded rooms (a socket id names the room of that socket alone).
/// A socket in several selected rooms gets one copy.
#[derive(Clone)]
pub struct Broadcast {
    adapter: Arc<Adapter>,
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

    /// This node's sockets only, whatever the adapter (Node's `local`).
    pub fn local(mut self) -> Self {
        self.target.local = true;
        self
    }

    /// The selection, as the adapter sees it.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `event` to the selection; encoded once, whatever its size.
    pub fn emit<T: Serialize + ?Sized>(self, event: &str, data: &T) -> Result<(), EncodeError> {
        self.emit_args(event, &Args::new(data)?);
        Ok(())
    }

    pub fn emit_args(self, event: &str, args: &Args) {
        self.adapter.broadcast(&self.target, event, args);
    }

    /// Sends `event` to the selection and waits for every client's ack, on
    /// every node, for at most `timeout` (Node's
    /// `io.timeout(t).emitWithAck`). Encoded once, with one ack id.
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<AckReplies, EncodeError> {
        let args = Args::new(data)?;
        Ok(self.emit_args_with_ack(event, &args, timeout).await)
    }

    pub async fn emit_args_with_ack(
        self,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> AckReplies {
        self.adapter
            .broadcast_with_ack(&self.target, event, args, timeout)
            .await
    }

    /// This node's part of a broadcast with acks, each answer pending on
    /// its own: how a cluster relays another node's request one reply at a
    /// time.
    pub fn ask_local(self, event: &str, args: &Args, timeout: Duration) -> Asked {
        self.adapter.ask_local(&self.target, event, args, timeout)
    }

    /// The sockets in the selection, on every node.
    pub async fn sockets(self) -> Vec<SocketInfo> {
        self.fetch_sockets().await.value
    }

    /// The sockets in the selection, saying whether every node answered.
    pub async fn fetch_sockets(self) -> Remote<Vec<SocketInfo>> {
        self.adapter.fetch_sockets(&self.target).await
    }

    /// Makes every selected socket join `rooms` (Socket.IO's
    /// `socketsJoin`).
    pub fn join(self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        let rooms: Vec<String> = rooms.into_iter().map(Into::into).collect();
        self.adapter.add_sockets(&self.target, &rooms);
    }

    /// Makes every selected socket leave `rooms` (Socket.IO's
    /// `socketsLeave`).
    pub fn leave(self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        let rooms: Vec<String> = rooms.into_iter().map(Into::into).collect();
        self.adapter.del_sockets(&self.target, &rooms);
    }

    /// Disconnects every socket in the selection from its namespace.
    pub fn disconnect(self) {
        self.adapter.disconnect_sockets(&self.target, false);
    }

    /// Closes the whole connection of every socket in the selection, every
    /// namespace on it (Socket.IO's `disconnectSockets(true)`).
    pub fn close_connections(self) {
        self.adapter.disconnect_sockets(&self.target, true);
    }
}
