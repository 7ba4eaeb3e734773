//! What a session accepts from its transports (packets, GETs, probes,
//! closes). What its sockets, acks, the adapter and the engine ask of it is
//! [`crate::requests::SessionRequest`].

use std::pin::Pin;

use actix::prelude::*;
use bytes::Bytes;
use futures_util::Stream;

use crate::outbound::WsSink;
use crate::protocol::engineio::Packet;

/// The transport a packet came by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Polling,
    WebSocket,
}

/// How a new session's first transport reaches the client.
pub enum NewTransport {
    Polling,
    /// The socket's write queue, and what its reader makes of the frames
    /// the client sends: the session reads them itself, with no actor
    /// between the socket and it.
    WebSocket(WsSink, WsPackets),
}

/// What a WebSocket's reader hands the session that reads it.
#[derive(Debug)]
pub enum WsEvent {
    Packet(Packet),
    /// A message that is no Engine.IO packet: the session closes.
    Malformed,
}

/// The packets of a WebSocket, as its reader decodes them; the stream ends
/// with the connection (the reader closes the sink first if it has a
/// close frame to send). Not `Send`: it is read on the socket's own thread,
/// where the session of a connection opened on WebSocket runs.
pub type WsPackets = Pin<Box<dyn Stream<Item = WsEvent>>>;

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
