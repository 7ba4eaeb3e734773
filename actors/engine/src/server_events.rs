//! Server-side events: what one node of a cluster emits to the others
//! (Node's `io.serverSideEmit`), and the handlers a namespace registers for
//! them (Node's `io.on(event, ...)`). A node never hears its own.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::io::Io;
use crate::payload::Payload;

/// The answer to a server-side event that asked for one: one value, as
/// Node's adapter relays only its first argument. Sending consumes it.
pub struct ServerAck(oneshot::Sender<serde_json::Value>);

impl ServerAck {
    /// An answer and where it will arrive.
    pub fn new() -> (ServerAck, oneshot::Receiver<serde_json::Value>) {
        let (sender, receiver) = oneshot::channel();
        (ServerAck(sender), receiver)
    }

    pub fn send<T: Serialize + ?Sized>(self, data: &T) -> Result<(), serde_json::Error> {
        let _ = self.0.send(serde_json::to_value(data)?);
        Ok(())
    }
}

/// A namespace's handler of one server-side event, given the engine's
/// handle to act with: it runs on a task of its own (nothing of a session
/// is at hand), so its future is `Send`.
pub(crate) type ServerEventHandler =
    Arc<dyn Fn(Io, Payload, Option<ServerAck>) -> BoxFuture<'static, ()> + Send + Sync>;
