//! What a chat publishes once a change is durable.

use std::sync::Arc;

use crate::store::{ChatRecord, Message, User};

/// A change to one chat, or a typing flag.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEvent {
    /// A new message, and its sender as stored (name, avatar).
    Created {
        message: Message,
        sender: User,
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

/// What a caller asks done with its change's event right after the event
/// is published, on the chat actor's thread, in the same turn: an ack
/// sent here is queued behind the event and leaves with it, in one write
/// to the sender's socket. Not called if the change is not durable.
#[derive(Clone)]
pub struct AfterPublish(Arc<dyn Fn(&ChatEvent) + Send + Sync>);

impl AfterPublish {
    pub fn new(f: impl Fn(&ChatEvent) + Send + Sync + 'static) -> AfterPublish {
        AfterPublish(Arc::new(f))
    }

    pub(crate) fn call(&self, event: &ChatEvent) {
        (self.0)(event)
    }
}

impl std::fmt::Debug for AfterPublish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterPublish")
    }
}
