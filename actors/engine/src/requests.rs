//! What anyone may ask of a socket's session: its socket handle, its acks,
//! the adapter (deliveries, disconnects, broadcasts with acks) and the
//! engine (shutdown). One message type, so that each holds the session's
//! [`SessionLink`](crate::link::SessionLink) (or a recipient) and nothing
//! of the session's type.

use std::time::Duration;

use actix::prelude::*;

use crate::ack::Ask;
use crate::disconnect::DisconnectReason;
use crate::protocol::engineio::{Frames, Sid};

/// A request to the session of a socket.
#[derive(Message)]
#[rtype(result = "()")]
pub enum SessionRequest {
    /// Encoded frames to write (an emit, a broadcast, an ack's answer).
    Deliver(Frames),
    /// An event that awaits the client's ack.
    Ask(Ask),
    /// Disconnects the socket from its namespace, if it is still there.
    Disconnect {
        nsp: String,
        socket: Sid,
    },
    /// Closes the whole connection, every namespace on it.
    Close(DisconnectReason),
    Authenticated(Authenticated),
    Timer(SocketTimer),
}

/// A socket of this session got its user after its CONNECT
/// ([`Socket::authenticate`](crate::Socket::authenticate)).
pub struct Authenticated {
    pub nsp: String,
    /// The socket that authenticated: a later socket on the same
    /// namespace is someone else.
    pub socket: Sid,
    pub user_id: String,
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
