//! The seam for what an application decides about each socket beyond
//! Socket.IO: the session calls a namespace's policies at a socket's
//! milestones and knows nothing of what they do. confab's seed policies
//! (deferred authentication, periodic events) are built on it, with the
//! socket's own timers ([`Socket::run_later`], [`Socket::run_interval`])
//! and the namespace's guards.

use crate::socket::Socket;

/// Told of each socket of a namespace, on its session's thread (so what a
/// policy sends the socket comes before anything its handlers send).
pub trait SocketPolicy: Send + Sync {
    /// The socket's CONNECT is answered; its connect handlers have not run.
    fn connected(&self, socket: &Socket) {
        let _ = socket;
    }

    /// The socket got its user by [`Socket::authenticate`].
    fn authenticated(&self, socket: &Socket) {
        let _ = socket;
    }
}
