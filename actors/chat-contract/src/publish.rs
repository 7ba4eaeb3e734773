//! Chat changes to server events. `wire::chat_event` decides, for the
//! configured [`ChatStyle`](super::settings::ChatStyle), the names,
//! payloads and audience; this sends them. In the Syarah style a change
//! goes to the chat's room (the sockets viewing it) and to every member's
//! user room, so that a member's chat list updates while they are not
//! viewing (a socket in both gets one copy); in the nick-doc style to the
//! chat's room. Typing goes only to the others in the chat's room; a
//! removed member is told in their user room too, and their sockets leave
//! the chat's room.

use std::sync::{Arc, OnceLock};

use tracing::warn;

use confab_chat::store::{ChatRecord, Store, now_millis};
use confab_chat::{ChatEvent, ChatEvents};

use super::push::{self, Pusher};
use super::settings::{ChatSettings, ChatStyle};
use super::sockets::ChatSockets;
use super::wire::{self, Audience, Emit};
use confab_engine::{Broadcast, Io};

/// Emits the server events of chat changes, once the service is bound to
/// an engine.
pub struct Publisher {
    pub io: Arc<OnceLock<Io>>,
    pub store: Store,
    pub settings: ChatSettings,
    pub sockets: Arc<ChatSockets>,
    /// The push hand-off, when a webhook is configured.
    pub pusher: Option<Pusher>,
}

impl Publisher {
    fn everyone(&self, io: &Io, chat: &ChatRecord) -> Broadcast {
        let members = chat.members.iter().map(|m| self.settings.user_room(m));
        io.of(&self.settings.namespace)
            .to(self.settings.chat_room(chat.id))
            .to_rooms(members)
    }

    fn room(&self, io: &Io, chat: &ChatRecord) -> Broadcast {
        io.of(&self.settings.namespace)
            .to(self.settings.chat_room(chat.id))
    }

    fn sender(&self, message: &confab_chat::store::Message) -> confab_chat::store::User {
        self.store
            .user_or_bare(&message.sender)
            .unwrap_or_else(|_| confab_chat::store::User {
                id: message.sender.clone(),
                name: None,
                avatar: None,
            })
    }

    /// Hands a new message to the webhook for the members not viewing it.
    fn push(
        &self,
        chat: &ChatRecord,
        message: &confab_chat::store::Message,
        sender: &confab_chat::store::User,
    ) {
        let Some(pusher) = &self.pusher else { return };
        let recipients = push::recipients(chat, &message.sender, |user| {
            self.sockets.is_viewing(user, chat.id)
        });
        if !recipients.is_empty() {
            pusher.send(push::body(chat, message, sender, &recipients));
        }
    }
}

impl ChatEvents for Publisher {
    fn publish(&self, chat: &ChatRecord, event: &ChatEvent) {
        if let ChatEvent::Created { message, sender } = event {
            self.push(chat, message, sender);
        }
        let Some(io) = self.io.get() else {
            warn!(
                chat = chat.id,
                "chat service not bound to an engine; event dropped"
            );
            return;
        };
        // A new message's sender came with it; an edited one's is read.
        let read;
        let sender = match event {
            ChatEvent::Created { sender, .. } => Some(sender),
            ChatEvent::Updated(message) if self.settings.style == ChatStyle::Syarah => {
                read = self.sender(message);
                Some(&read)
            }
            _ => None,
        };
        let emits =
            match wire::chat_event(self.settings.style, chat.id, event, sender, now_millis()) {
                Ok(emits) => emits,
                Err(err) => {
                    warn!(%err, chat = chat.id, "chat event not encoded");
                    return;
                }
            };
        for emit in &emits {
            let mut to = match emit.audience {
                Audience::Members => self.everyone(io, chat),
                Audience::Room => self.room(io, chat),
                Audience::OthersViewing => {
                    let user = match event {
                        ChatEvent::Typing { user, .. } => user.as_str(),
                        _ => "",
                    };
                    self.room(io, chat).except(self.settings.user_room(user))
                }
            };
            // A removed member hears of it even when not viewing.
            if let ChatEvent::MemberRemoved { user, .. } = event {
                to = to.to(self.settings.user_room(user));
            }
            send(to, emit);
        }
        if let ChatEvent::MemberRemoved { user, .. } = event {
            // Their sockets stop seeing the chat's room.
            self.sockets.unview_user(user, chat.id);
            io.of(&self.settings.namespace)
                .to(self.settings.user_room(user))
                .leave([self.settings.chat_room(chat.id)]);
        }
    }
}

/// Sends one event, its arguments as they were encoded.
pub(crate) fn send(to: Broadcast, emit: &Emit) {
    to.emit_args(emit.name, &emit.args);
}
