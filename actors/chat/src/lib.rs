//! confab-chat: chats as actors, one [`ChatHeader`] actor per chat header, started
//! on demand by the [`ChatDirectory`] and stopped when idle, and their
//! [`store`] in sled. It knows nothing of the engine or of any wire contract.
//!
//! A chat actor is the only writer of its chat: it checks who may do what
//! (members only, senders only), writes to the [`Store`](crate::store::Store),
//! waits until the write is durable, and only then answers and hands the
//! change to [`ChatEvents`], in the order the changes were made. It also
//! holds what is not persisted: who is viewing the chat now, and who is
//! typing (flags that expire by themselves).
//!
//! The actors know nothing of any wire contract: [`ChatEvents`] is where a
//! contract (the Syarah events, say) turns changes into emits.
//!
//! - [`store`]: the chat data in sled (users, chats, messages, read
//!   cursors, friendships, uploads), with group-committed flushes.
//! - [`actor`]: the chat actor and its messages.
//! - [`directory`]: chat actors by id, and [`Chats`], the handle callers use.
//! - [`events`]: what a chat publishes.
//! - [`error`]: why a request is refused.

pub mod actor;
pub mod directory;
pub mod error;
pub mod events;
pub mod store;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use actor::{
    AddMembers, Append, ChatHeader, Edit, MarkRead, Remove, RemoveMember, Typing, Unview, View,
    Viewers,
};
pub use directory::{ChatDirectory, Chats};
pub use error::ChatError;
pub use events::{AfterPublish, ChatEvent, ChatEvents};

/// Timings of the chat actors.
#[derive(Debug, Clone)]
pub struct ChatActorConfig {
    /// How long a chat actor with nobody viewing, typing or writing lives
    /// on before it stops (its state is all in the store by then).
    pub idle_after: Duration,
    /// How long a typing flag lasts without being renewed: a client that
    /// vanishes mid-sentence does not type forever.
    pub typing_ttl: Duration,
    /// Threads the chat actors are spread over.
    pub arbiters: usize,
}

impl Default for ChatActorConfig {
    fn default() -> Self {
        ChatActorConfig {
            idle_after: Duration::from_secs(60),
            typing_ttl: Duration::from_secs(6),
            arbiters: 2,
        }
    }
}
