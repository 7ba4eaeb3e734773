//! Every line of the session that talks to the adapter's index: a socket
//! is added before its CONNECT is answered, removed as it leaves, and given
//! its user when it authenticates late. (Parking and resuming a socket for
//! connection state recovery are in `recovery`.)

use super::Session;
use crate::adapter::SocketHandle;
use crate::protocol::engineio::Sid;

impl Session {
    /// Adds a socket to the adapter's index: rooms and emits reach it from
    /// now on (a write of the index, no round trip).
    pub(super) fn register(
        &self,
        socket: Sid,
        nsp: &str,
        handle: SocketHandle,
        user_id: Option<String>,
    ) {
        self.engine
            .adapter()
            .add_socket(nsp, socket, handle, user_id);
    }

    pub(super) fn unregister(&self, nsp: &str, socket: Sid) {
        self.engine.adapter().remove_socket(nsp, socket);
    }

    pub(super) fn set_user(&self, nsp: &str, socket: Sid, user_id: &str) {
        self.engine.adapter().set_user(nsp, socket, user_id);
    }
}
