//! What a chat publishes once a change is durable.

use std::sync::{Arc, OnceLock};

use crate::store::{ChatRecord, Message, User};

/// A new message's event as the publisher encoded it (JSON), when the
/// writer's answer is the same bytes (the Syarah `createMessage` ack and
/// `message` event): the writer answers with it instead of encoding the
/// message again. Empty unless the publisher fills it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded(Arc<OnceLock<String>>);

impl Encoded {
    /// Called by the publisher; a second call changes nothing.
    pub fn set(&self, json: &str) {
        let _ = self.0.set(json.to_owned());
    }

    /// What the publisher left, moved out when nobody else holds it.
    pub fn into_inner(self) -> Option<String> {
        match Arc::try_unwrap(self.0) {
            Ok(lock) => lock.into_inner(),
            Err(shared) => shared.get().cloned(),
        }
    }
}

/// A change to one chat, or a typing flag.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// A new message, its sender as stored (name, avatar), and where the
    /// publisher may leave its encoding for the writer's answer.
    Created {
        message: Message,
        sender: User,
        encoded: Encoded,
    },
    Updated(Message),
    /// Messages deleted together, in the order asked.
    Deleted(Vec<u64>),
    /// `user` has read up to `cursor`; `unread` messages were unread
    /// before.
    Read {
        user: String,
        cursor: u64,
        unread: u64,
    },
    Typing {
        user: String,
        name: String,
        is_typing: bool,
    },
    /// `by` added `users` to a group (the header is the new one).
    MembersAdded {
        by: String,
        users: Vec<String>,
    },
    /// `by` removed `user` from a group (`by == user`: they left).
    MemberRemoved {
        by: String,
        user: String,
    },
}

/// Turns chat changes into emits. Called on the chat actor's thread, in
/// the order of the changes: it should hand work on, never block.
pub trait ChatEvents: Send + Sync + 'static {
    fn publish(&self, chat: &ChatRecord, event: &ChatEvent);
}
