//! The TCP socket under a WebSocket, so that a connection whose client
//! stopped reading can be cut at once.
//!
//! A stalled WebSocket cannot be closed by a message: its response body is polled
//! only when the connection asks for more to write, which a full socket
//! never does. What cuts it is the socket itself: `SO_LINGER` 0 and a
//! shutdown wake the connection's task, whose next write fails; dropping
//! the connection then resets it (RST) and discards the kernel's queue.
//!
//! The server records each connection's socket with [`on_connect`]
//! (`HttpServer::on_connect`). A WebSocket takes it as a [`SocketCell`];
//! the cell is emptied when the WebSocket's response body is dropped, which
//! actix-http does before it closes the socket, so an abort never touches
//! a descriptor that was closed (and maybe reused). Without `on_connect`
//! (or over TLS) an overflowing WebSocket's sockets still leave at once and
//! what it holds stays within the budget; the connection ends when it next
//! asks for data.

use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::dev::Extensions;
use confab_engine::outbound::Abort;
use socket2::SockRef;
use tracing::debug;

/// The descriptor of a connection's TCP socket, kept in its extensions.
#[derive(Clone, Copy)]
struct ConnectionFd(RawFd);

/// For `HttpServer::on_connect`: records the socket of each plain TCP
/// connection, so that a stalled WebSocket on it can be cut.
pub fn on_connect(connection: &dyn Any, data: &mut Extensions) {
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        data.insert(ConnectionFd(tcp.as_raw_fd()));
    }
}

/// A WebSocket's socket while its connection lives; empty afterwards.
#[derive(Clone)]
pub(super) struct SocketCell(Arc<Mutex<Option<RawFd>>>);

impl SocketCell {
    /// The socket under `req`, if the server recorded it.
    pub(super) fn of(req: &HttpRequest) -> Option<SocketCell> {
        let fd = req.conn_data::<ConnectionFd>()?.0;
        Some(SocketCell(Arc::new(Mutex::new(Some(fd)))))
    }

    /// Resets the connection: nothing more is written, the kernel drops
    /// what it holds. Does nothing once the connection is gone.
    pub(super) fn aborter(&self) -> Abort {
        let cell = self.0.clone();
        Box::new(move || {
            let guard = cell.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(fd) = *guard {
                // SAFETY: the cell holds `fd` only while the connection that
                // owns it is alive (it is emptied, under this lock, before
                // actix-http closes the socket).
                let fd = unsafe { BorrowedFd::borrow_raw(fd) };
                let socket = SockRef::from(&fd);
                let reset = socket
                    .set_linger(Some(Duration::ZERO))
                    .and_then(|()| socket.shutdown(std::net::Shutdown::Both));
                if let Err(err) = reset {
                    debug!(%err, "resetting a websocket connection");
                }
            }
        })
    }

    /// The connection is going away: no abort may touch its socket now.
    pub(super) fn forget(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}
