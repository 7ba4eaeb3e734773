//! confab-engine: the engine behind confab. It knows nothing of chat
//! (that is `confab-chat`) nor of HTTP servers (the transports are `confab`'s).
//!
//! - [`protocol`]: Engine.IO frames and Socket.IO packets, no actors.
//! - [`session::Session`]: one actor per connection, its Engine.IO half
//!   (transport, upgrade, heartbeat) and its Socket.IO half (namespace
//!   sockets, acks, per-socket timers) in their own files; what anyone may
//!   ask of it is one message type, [`requests::SessionRequest`], sent
//!   through its [`link::SessionLink`] (which writes frames straight into
//!   its WebSocket when it can).
//! - [`adapter`]: where rooms live: the local index (the one owner of room
//!   membership and presence), read by each emitter, and the cluster seam.
//! - [`Namespace`], [`Socket`], [`Io`]: what applications program against;
//!   [`SocketPolicy`] the seam for policies beyond Socket.IO (confab's
//!   deferred authentication and periodic events).

pub mod ack;
pub mod adapter;
pub mod config;
pub mod disconnect;
pub mod engine;
pub mod handshake;
mod held;
pub mod io;
pub mod link;
pub mod namespace;
pub mod outbound;
mod packed;
mod pairs;
pub mod payload;
pub mod policy;
pub mod protocol;
pub mod rate;
pub mod requests;
pub mod session;
mod shared;
pub mod socket;
pub mod stats;
pub mod time;

pub use config::EngineConfig;

/// The tracing target of the one line, at info, per connection opened,
/// socket connected or authenticated, CONNECT refused, and connection
/// closed: `RUST_LOG=info,confab::connections=off` silences them alone.
pub const CONNECTIONS: &str = "confab::connections";

pub use ack::{AckError, AckReplies, Asked, ServerAck};
pub use adapter::recovery::Recovery;
pub use adapter::{
    Census, Cluster, Presence, PresenceHook, Remote, RoomChange, RoomHook, SocketInfo, Target,
};
pub use engine::{ClusterFactory, Engine, EngineHooks};
pub use handshake::{ConnectError, ConnectRequest, Handshake, IDENTITY_DATA_KEY};
pub use io::{Broadcast, Io};
pub use namespace::{Namespace, Namespaces};
pub use pairs::Pairs;
pub use payload::{ArgsError, Payload};
pub use policy::SocketPolicy;
pub use protocol::socketio::{Args, EncodeError};
pub use rate::EventRate;
pub use shared::UpgradeHook;
pub use socket::{Ack, DisconnectReason, Socket};
pub use stats::{Refusal, Stats};
pub use time::{iso, iso_millis};
