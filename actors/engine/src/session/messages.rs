//! What a session accepts: from its transports (packets, GETs, probes,
//! closes), from rooms and the registry (frames to deliver, disconnects),
//! and from its sockets ([`SocketRequest`]). Sockets and acks hold a
//! `Recipient<SocketRequest>`, not the session's type.

use std::time::Duration;

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::disconnect::DisconnectReason;
use crate::outbound::WsSink;
use crate::payload::Payload;
use crate::protocol::engineio::{Frames, Packet, Sid};
use crate::protocol::socketio::{Args, EncodeError};

/// The transport a packet came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

/// How a new session's first transport reaches the client.
pub enum NewTransport {
    Polling,
    WebSocket(WsSink),
}

/// Encoded frames to write to the client.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver(pub Frames);

/// Packets a transport received. From long-polling, refused once the
/// session has moved to WebSocket.
#[derive(Message)]
#[rtype(result = "Result<(), PollError>")]
pub struct Inbound {
    pub packets: Packets,
    pub via: TransportKind,
}

/// What one transport read carried: a WebSocket message is one packet (no
/// `Vec` for it), a long-polling POST a batch.
pub enum Packets {
    One(Packet),
    Batch(Vec<Packet>),
}

impl IntoIterator for Packets {
    type Item = Packet;
    type IntoIter = std::iter::Chain<std::option::IntoIter<Packet>, std::vec::IntoIter<Packet>>;
    fn into_iter(self) -> Self::IntoIter {
        let (one, batch) = match self {
            Packets::One(packet) => (Some(packet), Vec::new()),
            Packets::Batch(batch) => (None, batch),
        };
        one.into_iter().chain(batch)
    }
}

/// Why a long-polling GET was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("a GET is already pending on this session")]
    Overlap,
    #[error("the session no longer uses long-polling")]
    NotPolling,
}

/// A long-polling GET: answered at once with what is queued, or parked
/// until something is written.
#[derive(Message)]
#[rtype(result = "Result<Bytes, PollError>")]
pub struct Poll;

/// A WebSocket opened with this session's sid, to probe for an upgrade.
#[derive(Message)]
#[rtype(result = "Result<(), UpgradeError>")]
pub struct AttachProbe(pub WsSink);

/// Why a probe was refused.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("session is already on websocket or upgrading")]
pub struct UpgradeError;

/// A transport's connection ended (WebSocket closed or errored).
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransportClosed(pub TransportKind);

/// Emits to one socket and expects its ack.
#[derive(Message)]
#[rtype(result = "()")]
pub struct EmitWithAck {
    pub nsp: String,
    pub event: String,
    pub args: Args,
    pub timeout: Duration,
    pub reply: AckReply,
}

/// The server disconnects one namespace socket of this session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DisconnectSocket {
    pub nsp: String,
}

/// The server closes the whole connection.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CloseSession(pub DisconnectReason);

/// A socket of this session got its user after its CONNECT
/// ([`Socket::authenticate`](crate::Socket::authenticate)).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Authenticated {
    pub nsp: String,
    /// The socket that authenticated: a later socket on the same
    /// namespace is someone else.
    pub socket: Sid,
    pub user_id: String,
}

/// Why an emit that asked for an ack got none.
#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("no ack within {0:?}")]
    Timeout(Duration),
    #[error("the socket disconnected before acking")]
    Disconnected,
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

/// Where the client's answer to an [`EmitWithAck`] goes.
pub(crate) type AckReply = oneshot::Sender<Result<Payload, AckError>>;

/// What a socket (or an ack) asks of its session: one message type, so
/// that a socket holds one `Recipient` and nothing of the session.
#[derive(Message)]
#[rtype(result = "()")]
pub enum SocketRequest {
    /// Encoded frames to write (an emit, an ack's answer).
    Deliver(Frames),
    EmitWithAck(EmitWithAck),
    /// Disconnects the socket from its namespace, if it is still there.
    Disconnect {
        nsp: String,
        socket: Sid,
    },
    Close(CloseSession),
    Authenticated(Authenticated),
    Timer(SocketTimer),
}

/// A timer the session runs for one socket, on the session's own thread:
/// named, so that whoever armed it can replace or cancel it; every timer of
/// a socket ends when the socket leaves. Policies outside the engine
/// (deferred authentication, periodic events) are made of these.
pub struct SocketTimer {
    pub nsp: String,
    /// The socket that armed it: a later socket on the same namespace is
    /// someone else.
    pub socket: Sid,
    pub name: &'static str,
    /// `None` cancels the timer of that name.
    pub action: Option<TimerAction>,
}

/// What a [`SocketTimer`] does, and when.
pub enum TimerAction {
    /// Once, after the delay.
    Once(Duration, Box<dyn FnOnce() + Send>),
    /// Every interval, the first one interval from now.
    Every(Duration, Box<dyn FnMut() + Send>),
}
