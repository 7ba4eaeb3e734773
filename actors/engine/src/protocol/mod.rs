//! The protocol layer: Engine.IO frames and Socket.IO packets.
//!
//! Nothing here knows about actors or sockets: `engineio` turns transport
//! bytes into Engine.IO packets (and back), `socketio` turns Engine.IO
//! messages into Socket.IO packets (and back). The session actor glues both.

pub mod engineio;
pub mod socketio;

pub use engineio::{Frame, Frames};
