//! Why a socket leaves its namespace: told to disconnect handlers, logged
//! with every close.

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
