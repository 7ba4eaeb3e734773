//! Asking clients for an ack: the message a session takes to send an event
//! that awaits one, and what comes back. One socket's `emit_with_ack` and a
//! broadcast with acks send the same message; ack ids come from one counter
//! per engine (as Node's per-namespace `_ids`), so that a broadcast's frames
//! carry one id for every member and never meet a socket's own.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::payload::Payload;
use crate::protocol::engineio::Frames;
use crate::protocol::socketio::EncodeError;

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

pub(crate) type AckReply = oneshot::Sender<Result<Payload, AckError>>;

/// Sends `frames` (an event encoded with ack id `id`) to the socket of
/// `nsp` and tells `reply` its ack, or why none came within `timeout`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Ask {
    pub nsp: String,
    pub id: i64,
    pub frames: Frames,
    pub timeout: Duration,
    pub reply: AckReply,
}

/// The engine's ack ids.
#[derive(Debug, Default)]
pub struct AckIds(AtomicI64);

impl AckIds {
    pub fn next(&self) -> i64 {
        self.0.fetch_add(1, Ordering::Relaxed)
    }
}

/// What the clients of a broadcast with acks answered.
#[derive(Debug, Default)]
pub struct AckReplies {
    /// How many clients were asked, on every node that answered.
    pub expected: usize,
    /// Each answer that came in time, in arrival order.
    pub replies: Vec<Payload>,
    /// Every client answered and every node was heard.
    pub complete: bool,
}

/// A broadcast with acks on this node, as sent: how many clients were
/// asked, and one pending answer each (for a cluster to relay one by one).
pub struct Asked {
    pub count: usize,
    pub answers: Vec<oneshot::Receiver<Result<Payload, AckError>>>,
}

impl Asked {
    /// Waits for every answer (each ends by its own timeout at the latest).
    pub async fn collect(self) -> AckReplies {
        let expected = self.count;
        let mut replies = Vec::with_capacity(expected);
        for answer in self.answers {
            if let Ok(Ok(reply)) = answer.await {
                replies.push(reply);
            }
        }
        let complete = replies.len() == expected;
        AckReplies {
            expected,
            replies,
            complete,
        }
    }
}

/// The answer to a server-side event that asked for one (another node's
/// `serverSideEmitWithAck`): one value, as Node's adapter relays only the
/// first argument. Sending consumes it.
pub struct ServerAck(oneshot::Sender<serde_json::Value>);

impl ServerAck {
    /// An answer and where it will arrive.
    pub fn new() -> (ServerAck, oneshot::Receiver<serde_json::Value>) {
        let (sender, receiver) = oneshot::channel();
        (ServerAck(sender), receiver)
    }

    pub fn send<T: serde::Serialize + ?Sized>(self, data: &T) -> Result<(), serde_json::Error> {
        let _ = self.0.send(serde_json::to_value(data)?);
        Ok(())
    }
}
