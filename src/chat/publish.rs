//! Chat changes to the contract's server events. A change goes to the
//! chat's room (the sockets viewing it) and to every member's user room, so
//! that a member's chat list updates while they are not viewing; a socket
//! in both gets one copy. Typing goes only to the others viewing the chat.

use std::sync::{Arc, OnceLock};

use serde_json::json;
use tracing::warn;

use confab_actors::chat::{ChatEvent, ChatEvents};
use confab_actors::store::{ChatHeader, Store};

use super::presence::Presence;
use super::push::{self, Pusher};
use super::settings::ChatSettings;
use super::wire;
use crate::{Broadcast, Io};

/// Emits the server events of chat changes, once the service is bound to
/// an engine.
pub struct Publisher {
    pub io: Arc<OnceLock<Io>>,
    pub store: Store,
    pub settings: ChatSettings,
    pub presence: Arc<Presence>,
    /// The push hand-off, when a webhook is configured.
    pub pusher: Option<Pusher>,
}

impl Publisher {
    fn everyone(&self, io: &Io, chat: &ChatHeader) -> Broadcast {
        let members = chat.members.iter().map(|m| self.settings.user_room(m));
        io.of(&self.settings.namespace)
            .to(self.settings.chat_room(chat.id))
            .to_rooms(members)
    }

    fn sender(&self, message: &confab_actors::store::Message) -> confab_actors::store::User {
        self.store
            .user_or_bare(&message.sender)
            .unwrap_or_else(|_| confab_actors::store::User {
                id: message.sender.clone(),
                name: None,
                avatar: None,
            })
    }

    fn message_json(&self, message: &confab_actors::store::Message) -> serde_json::Value {
        wire::message(message, &self.sender(message))
    }

    /// Hands a new message to the webhook for the members not viewing it.
    fn push(&self, chat: &ChatHeader, message: &confab_actors::store::Message) {
        let Some(pusher) = &self.pusher else { return };
        let recipients = push::recipients(chat, &message.sender, |user| {
            self.presence.is_viewing(user, chat.id)
        });
        if !recipients.is_empty() {
            pusher.send(push::body(
                chat,
                message,
                &self.sender(message),
                &recipients,
            ));
        }
    }
}

impl ChatEvents for Publisher {
    fn publish(&self, chat: &ChatHeader, event: &ChatEvent) {
        if let ChatEvent::Created(message) = event {
            self.push(chat, message);
        }
        let Some(io) = self.io.get() else {
            warn!(
                chat = chat.id,
                "chat service not bound to an engine; event dropped"
            );
            return;
        };
        let sent = match event {
            ChatEvent::Created(message) => {
                let body = wire::new_message(chat.id, self.message_json(message));
                self.everyone(io, chat).emit("message", &body)
            }
            ChatEvent::Updated(message) => {
                let body = self.message_json(message);
                self.everyone(io, chat).emit("messageUpdated", &body)
            }
            ChatEvent::Deleted(ids) => ids.iter().try_for_each(|id| {
                let extra = json!({ "chatHeaderId": chat.id });
                self.everyone(io, chat).emit("messageDeleted", &(id, extra))
            }),
            ChatEvent::Read { user, cursor } => {
                let extra = json!({ "userId": user, "lastReadMessageId": cursor });
                self.everyone(io, chat)
                    .emit("messageHasBeenRead", &(chat.id, extra))
            }
            ChatEvent::Typing {
                user,
                name,
                is_typing,
            } => {
                let body = json!({
                    "name": name,
                    "isTyping": is_typing,
                    "chatHeaderId": chat.id,
                    "userId": user,
                });
                io.of(&self.settings.namespace)
                    .to(self.settings.chat_room(chat.id))
                    .except(self.settings.user_room(user))
                    .emit("typing", &body)
            }
            ChatEvent::MembersAdded { by, users } => {
                let body = json!({ "chatHeaderId": chat.id, "userIds": users, "by": by });
                self.everyone(io, chat).emit("participantsAdded", &body)
            }
            ChatEvent::MemberRemoved { by, user } => {
                let body = json!({ "chatHeaderId": chat.id, "userId": user, "by": by });
                let gone = self.settings.user_room(user);
                let sent = self
                    .everyone(io, chat)
                    .to(gone.clone())
                    .emit("participantRemoved", &body);
                // Their sockets stop seeing the chat's room.
                self.presence.unview_user(user, chat.id);
                io.of(&self.settings.namespace)
                    .to(gone)
                    .leave([self.settings.chat_room(chat.id)]);
                sent
            }
        };
        if let Err(err) = sent {
            warn!(chat = chat.id, %err, "chat event not encoded");
        }
    }
}
