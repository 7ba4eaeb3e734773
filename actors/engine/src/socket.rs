//! The handle a handler gets for one connected socket: who it is, and what
//! it can do (emit, ack, join and leave rooms, broadcast, disconnect).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix::Addr;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::ack::{AckError, Ask};
use crate::adapter::{Control, Deliver};
use crate::handshake::Handshake;
use crate::io::{Broadcast, Io};
use crate::payload::Payload;
use crate::protocol::engineio::Sid;
use crate::protocol::socketio::{Args, EncodeError};
use crate::session::{Authenticated, CloseSession, Session};

/// Why a socket left its namespace, in the Node server's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent DISCONNECT for this namespace.
    ClientNamespaceDisconnect,
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The client closed the Engine.IO connection.
    ClientClose,
    /// The connection was lost (WebSocket closed, polling session ended).
    TransportClose,
    /// The client missed a pong.
    PingTimeout,
    /// The client sent something the protocol does not allow.
    ParseError,
    /// The outbound queue overflowed or the transport failed.
    TransportError,
    /// The server is shutting down.
    ServerShutdown,
    /// The server closed the whole connection (or the client never
    /// connected to a namespace in time).
    ForcedClose,
}

impl DisconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::ClientClose => "client close",
            Self::TransportClose => "transport close",
            Self::PingTimeout => "ping timeout",
            Self::ParseError => "parse error",
            Self::TransportError => "transport error",
            Self::ServerShutdown => "server shutting down",
            Self::ForcedClose => "forced close",
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connected socket: one namespace of one Engine.IO connection.
#[derive(Clone)]
pub struct Socket(Arc<Inner>);

struct Inner {
    id: Sid,
    nsp: String,
    session: Addr<Session>,
    io: Io,
    handshake: Arc<Handshake>,
    auth: serde_json::Value,
    /// Set once: by a middleware at CONNECT, or later by [`Socket::authenticate`].
    user_id: OnceLock<String>,
    data: serde_json::Map<String, serde_json::Value>,
    ack_timeout: Duration,
}

/// Everything a socket is made of, gathered by the session on CONNECT.
pub(crate) struct SocketParts {
    pub id: Sid,
    pub nsp: String,
    pub session: Addr<Session>,
    pub io: Io,
    pub handshake: Arc<Handshake>,
    pub auth: serde_json::Value,
    pub user_id: Option<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub ack_timeout: Duration,
}

impl Socket {
    pub(crate) fn new(p: SocketParts) -> Socket {
        Socket(Arc::new(Inner {
            id: p.id,
            nsp: p.nsp,
            session: p.session,
            io: p.io,
            handshake: p.handshake,
            auth: p.auth,
            user_id: p.user_id.map(OnceLock::from).unwrap_or_default(),
            data: p.data,
            ack_timeout: p.ack_timeout,
        }))
    }

    /// The socket id (also the name of the room only this socket is in).
    pub fn id(&self) -> &str {
        self.0.id.as_str()
    }

    pub(crate) fn sid(&self) -> Sid {
        self.0.id
    }

    pub fn nsp(&self) -> &str {
        &self.0.nsp
    }

    pub fn handshake(&self) -> &Handshake {
        &self.0.handshake
    }

    /// The `auth` object the client sent with CONNECT.
    pub fn auth(&self) -> &serde_json::Value {
        &self.0.auth
    }

    /// The user a middleware authenticated, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.0.user_id.get().map(String::as_str)
    }

    /// Authenticates a socket that connected without a user (a namespace
    /// with deferred authentication): its auth timer stops, its events are
    /// accepted, its periodic event starts, and it counts for the user's
    /// presence. `false` if it already belongs to a user.
    pub async fn authenticate(&self, user_id: impl Into<String>) -> bool {
        let user_id = user_id.into();
        if self.0.user_id.set(user_id.clone()).is_err() {
            return false;
        }
        let msg = Authenticated {
            nsp: self.0.nsp.clone(),
            socket: self.0.id,
            user_id,
        };
        self.0.session.send(msg).await.is_ok()
    }

    /// What the middlewares attached to this socket.
    pub fn data(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.0.data
    }

    /// The engine-wide handle, to reach other sockets and rooms.
    pub fn io(&self) -> &Io {
        &self.0.io
    }

    /// Sends `event` with `data` (a tuple sends several arguments).
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EncodeError> {
        self.emit_args(event, &Args::new(data)?);
        Ok(())
    }

    pub fn emit_args(&self, event: &str, args: &Args) {
        self.0
            .session
            .do_send(Deliver(args.event_frames(&self.0.nsp, event, None)));
    }

    /// Sends `event` and waits for the client's ack (the default ack timeout).
    pub async fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<Payload, AckError> {
        self.emit_with_ack_timeout(event, data, self.0.ack_timeout)
            .await
    }

    pub async fn emit_with_ack_timeout<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
        timeout: Duration,
    ) -> Result<Payload, AckError> {
        self.emit_args_with_ack(event, Args::new(data)?, timeout)
            .await
    }

    /// Sends already encoded arguments and waits for the ack.
    pub async fn emit_args_with_ack(
        &self,
        event: &str,
        args: Args,
        timeout: Duration,
    ) -> Result<Payload, AckError> {
        let (reply, answer) = oneshot::channel();
        let id = self.0.io.adapter().ack_ids().next();
        let request = Ask {
            frames: args.event_frames(&self.0.nsp, event, Some(id)),
            nsp: self.0.nsp.clone(),
            id,
            timeout,
            reply,
        };
        self.0
            .session
            .send(request)
            .await
            .map_err(|_| AckError::Disconnected)?;
        answer.await.map_err(|_| AckError::Disconnected)?
    }

    /// Joins rooms: the next broadcast to them reaches this socket. (Async
    /// like Node's, whose adapters may answer later; the local one never
    /// waits.)
    pub async fn join(&self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        let rooms: Vec<String> = rooms.into_iter().map(Into::into).collect();
        self.0.io.adapter().join(&self.0.nsp, self.0.id, &rooms);
    }

    pub async fn leave(&self, rooms: impl IntoIterator<Item = impl Into<String>>) {
        let rooms: Vec<String> = rooms.into_iter().map(Into::into).collect();
        self.0.io.adapter().leave(&self.0.nsp, self.0.id, &rooms);
    }

    /// The rooms this socket is in, its own id room first.
    pub async fn rooms(&self) -> Vec<String> {
        self.0.io.adapter().rooms_of(&self.0.nsp, self.0.id)
    }

    /// Emits to a room, leaving this socket out (Node's `socket.to(room)`).
    pub fn to(&self, room: impl Into<String>) -> Broadcast {
        self.broadcast().to(room)
    }

    /// Emits to every socket of the namespace but this one.
    pub fn broadcast(&self) -> Broadcast {
        self.0.io.of(&self.0.nsp).except(self.id())
    }

    /// Disconnects this socket from its namespace; the connection stays.
    pub fn disconnect(&self) {
        self.0.session.do_send(Control::Disconnect {
            nsp: self.0.nsp.clone(),
        });
    }

    /// Closes the whole Engine.IO connection, every namespace on it.
    pub fn close_connection(&self) {
        self.0
            .session
            .do_send(CloseSession(DisconnectReason::ForcedClose));
    }
}

/// The answer to one client emit that asked for an ack. Sending consumes
/// it, so an ack goes out at most once.
pub struct Ack {
    session: Addr<Session>,
    nsp: String,
    id: i64,
}

impl Ack {
    pub(crate) fn new(session: Addr<Session>, nsp: String, id: i64) -> Ack {
        Ack { session, nsp, id }
    }

    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EncodeError> {
        self.send_args(&Args::new(data)?);
        Ok(())
    }

    pub fn send_args(self, args: &Args) {
        self.session
            .do_send(Deliver(args.ack_frames(&self.nsp, self.id)));
    }
}
