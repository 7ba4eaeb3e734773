//! The handle a handler gets for one connected socket: who it is, and what
//! it can do (emit, ack, join and leave rooms, broadcast, disconnect).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;

use crate::ack::{AckError, Ask};
use crate::adapter::Target;
pub use crate::disconnect::DisconnectReason;
use crate::handshake::Handshake;
use crate::io::{Broadcast, Io};
use crate::link::SessionLink;
use crate::packed::PackedJson;
use crate::payload::Payload;
use crate::protocol::engineio::Sid;
use crate::protocol::socketio::{Args, EncodeError};
use crate::requests::{Authenticated, SessionRequest, SocketTimer, TimerAction};

/// A connected socket: one namespace of one Engine.IO connection.
#[derive(Clone)]
pub struct Socket(Arc<Inner>);

struct Inner {
    id: Sid,
    nsp: String,
    session: SessionLink,
    io: Io,
    handshake: Arc<Handshake>,
    /// Packed: kept for the socket's whole life, read at most at CONNECT.
    auth: PackedJson,
    /// Set once: by a middleware at CONNECT, or later by [`Socket::authenticate`].
    user_id: OnceLock<String>,
    data: serde_json::Map<String, serde_json::Value>,
    ack_timeout: Duration,
    recovered: bool,
}

/// Everything a socket is made of, gathered by the session on CONNECT.
pub(crate) struct SocketParts {
    pub id: Sid,
    pub nsp: String,
    pub session: SessionLink,
    pub io: Io,
    pub handshake: Arc<Handshake>,
    pub auth: serde_json::Value,
    pub user_id: Option<String>,
    pub data: serde_json::Map<String, serde_json::Value>,
    pub ack_timeout: Duration,
    /// The socket came back after a lost connection (same id, rooms, data).
    pub recovered: bool,
}

impl Socket {
    pub(crate) fn new(p: SocketParts) -> Socket {
        Socket(Arc::new(Inner {
            id: p.id,
            nsp: p.nsp,
            session: p.session,
            io: p.io,
            handshake: p.handshake,
            auth: PackedJson::pack(&p.auth),
            user_id: p.user_id.map(OnceLock::from).unwrap_or_default(),
            data: p.data,
            ack_timeout: p.ack_timeout,
            recovered: p.recovered,
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

    /// The request that opened the connection, shared by its sockets.
    pub fn handshake(&self) -> &Arc<Handshake> {
        &self.0.handshake
    }

    /// The `auth` object the client sent with CONNECT.
    pub fn auth(&self) -> &serde_json::Value {
        self.0.auth.get()
    }

    /// The user a middleware authenticated, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.0.user_id.get().map(String::as_str)
    }

    /// Gives a socket that connected without a user its user: it counts
    /// for the user's presence from then on, and its namespace's policies
    /// are told (confab's deferred authentication stops its deadline, its
    /// periodic event starts). `false` if it already belongs to a user.
    pub async fn authenticate(&self, user_id: impl Into<String>) -> bool {
        let user_id = user_id.into();
        if self.0.user_id.set(user_id.clone()).is_err() {
            return false;
        }
        let msg = SessionRequest::Authenticated(Authenticated {
            nsp: self.0.nsp.clone(),
            socket: self.0.id,
            user_id,
        });
        self.session().request(msg).await.is_ok()
    }

    /// Whether this socket was recovered after a lost connection (Node's
    /// `socket.recovered`): it kept its id, rooms, user and data, and got
    /// the events it missed; its connect handlers run again.
    pub fn recovered(&self) -> bool {
        self.0.recovered
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

    /// With connection state recovery on, through the adapter as in Node,
    /// so that the event gets its offset and is kept while the connection
    /// is lost.
    pub fn emit_args(&self, event: &str, args: &Args) {
        let adapter = self.0.io.adapter();
        if adapter.recovery().is_some() {
            adapter.broadcast(&self.own_room(), event, args);
        } else {
            let frames = args.event_frames(&self.0.nsp, event, None);
            self.0.session.deliver(&frames);
        }
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
        let request = SessionRequest::Ask(Ask {
            frames: args.event_frames(&self.0.nsp, event, Some(id)),
            nsp: self.0.nsp.clone(),
            id,
            timeout,
            reply,
        });
        self.session()
            .request(request)
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
    /// With connection state recovery on, through the adapter: the socket
    /// may be parked, or recovered by another session since this handle
    /// was made.
    pub fn disconnect(&self) {
        let adapter = self.0.io.adapter();
        if adapter.recovery().is_some() {
            adapter.disconnect_sockets(&self.own_room(), false);
        } else {
            self.0.session.send(SessionRequest::Disconnect {
                nsp: self.0.nsp.clone(),
                socket: self.0.id,
            });
        }
    }

    /// The session that holds this socket now. With connection state
    /// recovery on, a recovered socket lives in the session of its new
    /// connection, which this handle may predate: the one the adapter
    /// routes to. A socket lost (waiting for its client) or gone has none,
    /// and what is asked of it fails as for a closed session.
    fn session(&self) -> SessionLink {
        let adapter = self.0.io.adapter();
        if adapter.recovery().is_none() {
            return self.0.session.clone();
        }
        adapter
            .session_of(&self.0.nsp, self.0.id)
            .unwrap_or_else(|| self.0.session.clone())
    }

    /// This socket alone, on this node.
    fn own_room(&self) -> Target {
        Target {
            nsp: self.0.nsp.clone(),
            rooms: vec![self.id().to_owned()],
            except: Vec::new(),
            local: true,
        }
    }

    /// Closes the whole Engine.IO connection, every namespace on it.
    pub fn close_connection(&self) {
        let close = SessionRequest::Close(DisconnectReason::ForcedClose);
        self.session().send(close);
    }

    /// Runs `f` once after `delay`, on the session's thread, unless this
    /// socket has left by then or the timer `name` was armed again or
    /// cancelled meanwhile.
    pub fn run_later(
        &self,
        name: &'static str,
        delay: Duration,
        f: impl FnOnce() + Send + 'static,
    ) {
        self.timer(name, Some(TimerAction::Once(delay, Box::new(f))));
    }

    /// Runs `f` every `interval` (the first time one interval from now),
    /// on the session's thread, until this socket leaves or the timer
    /// `name` is armed again or cancelled.
    pub fn run_interval(
        &self,
        name: &'static str,
        interval: Duration,
        f: impl FnMut() + Send + 'static,
    ) {
        self.timer(name, Some(TimerAction::Every(interval, Box::new(f))));
    }

    /// Stops the timer `name` of this socket, if it runs.
    pub fn cancel_timer(&self, name: &'static str) {
        self.timer(name, None);
    }

    fn timer(&self, name: &'static str, action: Option<TimerAction>) {
        self.session().send(SessionRequest::Timer(SocketTimer {
            nsp: self.0.nsp.clone(),
            socket: self.0.id,
            name,
            action,
        }));
    }
}

/// The answer to one client emit that asked for an ack. Sending consumes
/// it, so an ack goes out at most once.
pub struct Ack {
    session: SessionLink,
    nsp: String,
    id: i64,
}

impl Ack {
    pub(crate) fn new(session: SessionLink, nsp: String, id: i64) -> Ack {
        Ack { session, nsp, id }
    }

    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), EncodeError> {
        self.send_args(&Args::new(data)?);
        Ok(())
    }

    pub fn send_args(self, args: &Args) {
        let frames = args.ack_frames(&self.nsp, self.id);
        self.session.deliver(&frames);
    }
}
