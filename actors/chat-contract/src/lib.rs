//! The chat service: the Syarah chat contract (seed 003) on chat-header
//! actors, persisted in sled.
//!
//! Install it on a namespace whose middleware establishes the user (the
//! identity layer, or the development switch that trusts `query.userId`):
//!
//! ```no_run
//! use confab_chat_contract::{self as chat, ChatService, ChatSettings};
//! use confab_engine::{Engine, EngineConfig, Namespace, Namespaces};
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let service = ChatService::open("./data/db", ChatSettings::default())?;
//!     let mut ns = Namespace::new();
//!     // ns.middleware(verifier.middleware()); // sets the user
//!     chat::install(&mut ns, service.clone());
//!     let mut namespaces = Namespaces::default();
//!     namespaces.insert("/", ns);
//!     let engine = Engine::start(EngineConfig::default(), namespaces);
//!     service.bind(engine.io());
//!     Ok(())
//! }
//! ```
//!
//! - [`service`]: [`ChatService`], the state and the server API (users,
//!   friendships, chats) for an application's own handlers.
//! - [`admin`]: users and friendships as a backend sets them.
//! - [`settings`]: limits, room names, actor timings.
//! - `input`: payloads to typed values, leniently (ids as numbers or
//!   strings, `UserId` or `userId`), refusing a forged user.
//! - `wire`: the JSON the contract answers and emits, a
//!   `#[derive(Serialize)]` view per shape, per wire style.
//! - `publish`: chat changes to server events.
//! - `sockets`: who is online (per device), and `clientStatus`.
//! - `handlers`: one file per family of client events.

pub mod admin;
mod error;
pub mod files;
mod handlers;
mod input;
mod lenient;
mod publish;
pub mod push;
pub mod rest;
pub mod service;
pub mod settings;
mod sockets;
mod wire;

pub use confab_chat::store::{
    ChatKind, ChatRecord, Friendship, FriendshipStatus, Message, MessageType, Store, StoreError,
    Upload, User,
};
pub use confab_chat::{ChatActorConfig, ChatError};
pub use error::Refusal;
pub use service::ChatService;
pub use settings::{ChatConfig, ChatSettings, ChatStyle, PushSettings, UploadSettings};

use confab_engine::Namespace;

/// Registers every client event of the contract on `ns`, and the connect
/// and disconnect handlers that keep presence, user rooms and viewing
/// state. Sockets without a user are refused on every event.
pub fn install(ns: &mut Namespace, service: ChatService) {
    handlers::install(ns, handlers::Serving::Here(service));
}

/// On a node of a cluster that does not run the chat service: every client
/// event of the contract is refused (an `{error}` ack, or an `exception`
/// event), saying so and naming `served_by` (the chat node) if given,
/// rather than dropped as an unknown event.
pub fn refuse_here(ns: &mut Namespace, served_by: Option<&str>) {
    let message = match served_by {
        Some(node) => format!("chat is not served by this node: connect to {node}"),
        None => "chat is not served by this node".to_owned(),
    };
    handlers::install(ns, handlers::Serving::Elsewhere(message.into()));
}
