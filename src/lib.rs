//! confab: a realtime chat engine that speaks Socket.IO, built from actix
//! actors.
//!
//! Mount it in an actix-web application with one call, next to your own
//! routes, and emit from your handlers:
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use confab::{Confab, Io};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let confab = Confab::builder()
//!         .namespace("/", |ns| {
//!             ns.on("echo", |_socket, payload, ack| async move {
//!                 if let Some(ack) = ack {
//!                     ack.send_args(payload.args());
//!                 }
//!             });
//!         })
//!         .start();
//!     HttpServer::new(move || {
//!         App::new()
//!             .configure(confab.service())
//!             .route("/hello", web::post().to(|io: web::Data<Io>| async move {
//!                 let _ = io.to("lobby").emit("hello", "from REST");
//!                 "sent"
//!             }))
//!     })
//!     // Small frames out at once (Nagle would hold an ack ~40 ms).
//!     .tcp_nodelay(true)
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! The crate, by folder: [`transport`] (long-polling and WebSocket, the
//! HTTP edge of the engine), `embed` (the facade above: [`Confab`], its
//! builder and its mount) and [`appliance`] (what the `confab` binary runs:
//! configuration, services, identity, the server API and its HTTP twin,
//! admin, metrics). The engine (protocol, sessions, rooms) is the
//! `confab-engine` crate, re-exported here; the chat actors and their sled
//! store are `confab-chat`, the chat contract on them `confab-chat-contract`
//! ([`chat`]); the Redis adapter is `confab-redis`.

pub mod appliance;
mod embed;
pub mod transport;

pub use appliance::Appliance;
pub use appliance::api::{ApiError, Delivery, Targets};
pub use appliance::config::Config;
pub use appliance::http::Operation;
/// The appliance modules an embedding application names (README), where
/// they have always been.
pub use appliance::{admin, body_deadline, identity, metrics, services, shutdown};
/// The chat contract (crate `confab-chat-contract`), where it always was.
pub use confab_chat_contract as chat;
pub use confab_engine::{
    Ack, AckError, AckReplies, Args, ArgsError, Broadcast, ConnectError, ConnectRequest,
    DisconnectReason, EncodeError, Engine, EngineConfig, EngineHooks, EventRate, Handshake, Io,
    Namespace, Namespaces, Pairs, Payload, Presence, PresenceHook, Remote, RoomChange, RoomHook,
    Socket, SocketInfo, SocketPolicy, UpgradeHook,
};
pub use confab_redis::{AdapterConfig, AdapterKind};
pub use embed::{Confab, ConfabBuilder};
pub use transport::{AllowRequest, CorsPolicy};
