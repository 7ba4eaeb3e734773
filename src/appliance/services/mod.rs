//! What confab does with no code: the services the appliance runs on its
//! main namespace, each configured by its own section of the configuration.
//!
//! - [`auth`]: JWT at CONNECT or by an `authenticate` event; the user's rooms.
//! - [`socket_policies`]: deferred authentication and the periodic event,
//!   on the engine's `SocketPolicy` seam.
//! - [`event_token`]: the `accessToken` of an event's first argument, as decoded.
//! - [`rooms`]: the room policy, `join`/`leave`, and event rules.
//! - [`presence`]: online/offline across devices.
//! - [`relay`]: events passed on to a room (typing indicators).
//! - [`passthrough`]: event arguments passed on as sent, attachments too.
//! - [`template`]: `user:{id}`-style names.
//! - [`operations`]: SEAM's operation progress rules and payloads.
//! - [`notifications`]: stored notifications and their events.
//! - [`items`]: BAASIX's item and file events.

pub mod auth;
pub mod event_token;
pub mod items;
pub mod notifications;
pub mod operations;
pub mod passthrough;
pub mod presence;
pub mod relay;
pub mod rooms;
pub mod socket_policies;
pub mod template;
