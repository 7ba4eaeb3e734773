//! The JSON the contract answers and emits. The seed fixes `getMyChats`,
//! `getMyFriendships` and the `joinRoom` answer field by field; for the rest
//! (a message, a chat header, a page) the shapes follow the seed's
//! backend conventions: camelCase, ISO 8601 times, paged results as
//! `{totalCount, items}`.

use serde_json::{Value, json};

use confab_chat::ChatEvent;
use confab_chat::store::{ChatKind, ChatRecord, Friendship, Message, MessageType, Millis, User};
use confab_engine::iso_millis;

use super::settings::ChatStyle;

/// A message as clients see it. `sender` is the stored user of
/// `message.sender`, for the name and avatar.
pub fn message(message: &Message, sender: &User) -> Value {
    json!({
        "id": message.id,
        "chatHeaderId": message.chat_id,
        "userId": message.sender,
        "userName": sender.name,
        "userAvatar": sender.avatar,
        "message": message.body,
        "messageType": u8::from(message.kind),
        "caption": message.caption,
        "creationTime": iso_millis(message.created_at),
        "lastModificationTime": message.edited_at.map(iso_millis),
        "isEdited": message.edited_at.is_some(),
    })
}

/// The `message` event and the `createMessage` answer.
pub fn new_message(chat: u64, chat_message: Value) -> Value {
    json!({ "chatHeaderId": chat, "chatMessage": chat_message })
}

/// A member of a chat.
pub fn member(user: &User, online: bool, viewing: bool) -> Value {
    json!({
        "userId": user.id,
        "name": user.name,
        "avatar": user.avatar,
        "isOnline": online,
        "isViewing": viewing,
    })
}

pub fn kind(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Individual => "individual",
        ChatKind::Group => "group",
    }
}

/// A chat header, for `findAllChatHeaders` and the `joinRoom` answer.
pub struct HeaderView<'a> {
    pub header: &'a ChatRecord,
    pub members: Vec<Value>,
    pub last_message: Option<Value>,
    pub last_message_time: Option<Millis>,
    pub unread: u64,
    pub friendship: Option<&'a Friendship>,
}

impl HeaderView<'_> {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.header.id,
            "chatHeaderId": self.header.id,
            "type": kind(self.header.kind),
            "isGroup": self.header.kind == ChatKind::Group,
            "name": self.header.name,
            "members": self.members,
            "creationTime": iso_millis(self.header.created_at),
            "lastMessage": self.last_message,
            "lastMessageTime": self.last_message_time.map(iso_millis),
            "unreadCount": self.unread,
            "friendshipStatus": friendship_status(self.friendship),
        })
    }
}

/// The seed's `friendshipStatus`: 0–3, or null without a friendship.
pub fn friendship_status(friendship: Option<&Friendship>) -> Value {
    friendship.map_or(Value::Null, |f| json!(u8::from(f.status)))
}

/// The `friendshipUpdated` event, as seen by `friendship.user`.
pub fn friendship(friendship: &Friendship) -> Value {
    json!({
        "userId": friendship.other,
        "friendshipStatus": u8::from(friendship.status),
        "by": friendship.by,
        "updatedAt": iso_millis(friendship.updated_at),
    })
}

pub fn page(total: u64, items: Vec<Value>) -> Value {
    json!({ "totalCount": total, "items": items })
}

/// Who gets a chat's server event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The chat's room and every member's user room (a socket in both
    /// gets one copy).
    Members,
    /// The chat's room only.
    Room,
    /// The chat's room, but not the acting user's own sockets.
    OthersViewing,
}

/// One server event: its name, its arguments, who gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    pub name: &'static str,
    pub args: Vec<Value>,
    pub audience: Audience,
}

impl Emit {
    fn one(name: &'static str, body: Value, audience: Audience) -> Emit {
        Emit {
            name,
            args: vec![body],
            audience,
        }
    }
}

/// The one place a chat change becomes server events, in `style`.
/// `message` renders a message in the Syarah shape (it needs the sender's
/// stored name); `now` dates a deletion.
pub fn chat_event(
    style: ChatStyle,
    chat: u64,
    event: &ChatEvent,
    message: impl Fn(&Message) -> Value,
    now: Millis,
) -> Vec<Emit> {
    use Audience::{Members, OthersViewing, Room};
    match style {
        ChatStyle::Syarah => match event {
            ChatEvent::Created { message: m, .. } => {
                vec![Emit::one("message", new_message(chat, message(m)), Members)]
            }
            ChatEvent::Updated(m) => vec![Emit::one("messageUpdated", message(m), Members)],
            ChatEvent::Deleted(ids) => ids
                .iter()
                .map(|id| Emit {
                    name: "messageDeleted",
                    args: vec![json!(id), json!({ "chatHeaderId": chat })],
                    audience: Members,
                })
                .collect(),
            ChatEvent::Read { user, cursor, .. } => vec![Emit {
                name: "messageHasBeenRead",
                args: vec![
                    json!(chat),
                    json!({ "userId": user, "lastReadMessageId": cursor }),
                ],
                audience: Members,
            }],
            ChatEvent::Typing {
                user,
                name,
                is_typing,
            } => vec![Emit::one(
                "typing",
                json!({
                    "name": name,
                    "isTyping": is_typing,
                    "chatHeaderId": chat,
                    "userId": user,
                }),
                OthersViewing,
            )],
            ChatEvent::MembersAdded { by, users } => {
                vec![participants_added(style, chat, by, users)]
            }
            ChatEvent::MemberRemoved { by, user } => vec![Emit::one(
                "participantRemoved",
                json!({ "chatHeaderId": chat, "userId": user, "by": by }),
                Members,
            )],
        },
        ChatStyle::Nickdoc => {
            let chat_id = chat.to_string();
            match event {
                ChatEvent::Created { message: m, .. } => vec![Emit::one(
                    "new-message",
                    json!({
                        "chatId": chat_id,
                        "message": nick_message(m),
                        "senderId": m.sender,
                    }),
                    Room,
                )],
                ChatEvent::Updated(m) => vec![Emit::one(
                    "message-edited",
                    json!({
                        "chatId": chat_id,
                        "messageId": m.id.to_string(),
                        "content": nick_content(m),
                        "editedAt": iso_millis(m.edited_at.unwrap_or(now)),
                    }),
                    Room,
                )],
                ChatEvent::Deleted(ids) => ids
                    .iter()
                    .map(|id| {
                        Emit::one(
                            "message-deleted",
                            json!({
                                "chatId": chat_id,
                                "messageId": id.to_string(),
                                "deletedAt": iso_millis(now),
                            }),
                            Room,
                        )
                    })
                    .collect(),
                ChatEvent::Read {
                    user,
                    cursor,
                    unread,
                } => vec![Emit::one(
                    "messages-read",
                    json!({
                        "chatId": chat_id,
                        "userId": user,
                        "upToMessageId": cursor.to_string(),
                        "modifiedCount": unread,
                    }),
                    Room,
                )],
                ChatEvent::Typing {
                    user,
                    name,
                    is_typing,
                } => vec![Emit::one(
                    "user-typing",
                    json!({
                        "chatId": chat_id,
                        "userId": user,
                        "userName": name,
                        "isTyping": is_typing,
                    }),
                    OthersViewing,
                )],
                ChatEvent::MembersAdded { by, users } => {
                    vec![participants_added(style, chat, by, users)]
                }
                ChatEvent::MemberRemoved { user, .. } => vec![Emit::one(
                    "participant-removed",
                    json!({ "chatId": chat_id, "removedUserId": user }),
                    Room,
                )],
            }
        }
    }
}

/// `users` joined group `chat` (added by `by`, or at its creation).
pub fn participants_added(style: ChatStyle, chat: u64, by: &str, users: &[String]) -> Emit {
    match style {
        ChatStyle::Syarah => Emit::one(
            "participantsAdded",
            json!({ "chatHeaderId": chat, "userIds": users, "by": by }),
            Audience::Members,
        ),
        ChatStyle::Nickdoc => Emit::one(
            "participants-added",
            json!({ "chatId": chat.to_string(), "addedUserIds": users }),
            Audience::Room,
        ),
    }
}

/// nick-doc's message: `{_id, content, senderId, createdAt, attachments?}`,
/// ids as strings (its ids are Mongo ObjectIds); a file message carries
/// its caption as `content` and the file as one attachment.
pub fn nick_message(m: &Message) -> Value {
    let mut json = json!({
        "_id": m.id.to_string(),
        "content": nick_content(m),
        "senderId": m.sender,
        "createdAt": iso_millis(m.created_at),
    });
    if m.kind != MessageType::Text {
        json["attachments"] = json!([{ "url": m.body, "type": media_kind(m.kind) }]);
    }
    json
}

fn nick_content(m: &Message) -> String {
    match m.kind {
        MessageType::Text => m.body.clone(),
        _ => m.caption.clone().unwrap_or_default(),
    }
}

fn media_kind(kind: MessageType) -> &'static str {
    match kind {
        MessageType::Text => "text",
        MessageType::Audio => "audio",
        MessageType::Image => "image",
        MessageType::File => "file",
        MessageType::Video => "video",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: MessageType, body: &str, caption: Option<&str>) -> Message {
        Message {
            id: 7,
            chat_id: 3,
            sender: "alice".into(),
            kind,
            body: body.into(),
            caption: caption.map(str::to_owned),
            created_at: 1_705_314_600_000,
            edited_at: None,
            deleted_at: None,
        }
    }

    fn syarah_message(m: &Message) -> Value {
        json!({ "id": m.id })
    }

    const NOW: Millis = 1_705_314_660_000;

    fn nick(event: ChatEvent) -> Vec<Emit> {
        chat_event(ChatStyle::Nickdoc, 3, &event, syarah_message, NOW)
    }

    fn syarah(event: ChatEvent) -> Vec<Emit> {
        chat_event(ChatStyle::Syarah, 3, &event, syarah_message, NOW)
    }

    /// A new message of `alice`'s.
    fn new_of_alice(message: Message) -> ChatEvent {
        let sender = User {
            id: "alice".into(),
            name: None,
            avatar: None,
        };
        ChatEvent::Created { message, sender }
    }

    #[test]
    fn nickdoc_messages() {
        let created = nick(new_of_alice(msg(MessageType::Text, "hi", None)));
        assert_eq!(
            created,
            vec![Emit::one(
                "new-message",
                json!({
                    "chatId": "3",
                    "message": {
                        "_id": "7",
                        "content": "hi",
                        "senderId": "alice",
                        "createdAt": "2024-01-15T10:30:00.000Z",
                    },
                    "senderId": "alice",
                }),
                Audience::Room,
            )]
        );
        let image = nick(new_of_alice(msg(
            MessageType::Image,
            "/uploads/a.webp",
            Some("look"),
        )));
        assert_eq!(
            image[0].args[0]["message"],
            json!({
                "_id": "7",
                "content": "look",
                "senderId": "alice",
                "createdAt": "2024-01-15T10:30:00.000Z",
                "attachments": [{ "url": "/uploads/a.webp", "type": "image" }],
            })
        );
        let mut edited = msg(MessageType::Text, "hello", None);
        edited.edited_at = Some(1_705_314_630_000);
        assert_eq!(
            nick(ChatEvent::Updated(edited)),
            vec![Emit::one(
                "message-edited",
                json!({
                    "chatId": "3",
                    "messageId": "7",
                    "content": "hello",
                    "editedAt": "2024-01-15T10:30:30.000Z",
                }),
                Audience::Room,
            )]
        );
        let deleted = nick(ChatEvent::Deleted(vec![7, 8]));
        assert_eq!(deleted.len(), 2);
        assert_eq!(deleted[1].name, "message-deleted");
        assert_eq!(
            deleted[1].args,
            vec![
                json!({ "chatId": "3", "messageId": "8", "deletedAt": "2024-01-15T10:31:00.000Z" })
            ]
        );
        assert_eq!(
            nick(ChatEvent::Read {
                user: "bob".into(),
                cursor: 8,
                unread: 2
            }),
            vec![Emit::one(
                "messages-read",
                json!({ "chatId": "3", "userId": "bob", "upToMessageId": "8", "modifiedCount": 2 }),
                Audience::Room,
            )]
        );
    }

    #[test]
    fn nickdoc_participants_and_typing() {
        let added = nick(ChatEvent::MembersAdded {
            by: "alice".into(),
            users: vec!["bob".into(), "carol".into()],
        });
        assert_eq!(added[0].name, "participants-added");
        assert_eq!(
            added[0].args,
            vec![json!({ "chatId": "3", "addedUserIds": ["bob", "carol"] })]
        );
        let removed = nick(ChatEvent::MemberRemoved {
            by: "alice".into(),
            user: "bob".into(),
        });
        assert_eq!(removed[0].name, "participant-removed");
        assert_eq!(
            removed[0].args,
            vec![json!({ "chatId": "3", "removedUserId": "bob" })]
        );
        let typing = nick(ChatEvent::Typing {
            user: "bob".into(),
            name: "Bob".into(),
            is_typing: true,
        });
        assert_eq!(typing[0].name, "user-typing");
        assert_eq!(typing[0].audience, Audience::OthersViewing);
    }

    #[test]
    fn syarah_unchanged() {
        let created = syarah(new_of_alice(msg(MessageType::Text, "hi", None)));
        assert_eq!(
            created,
            vec![Emit::one(
                "message",
                json!({ "chatHeaderId": 3, "chatMessage": { "id": 7 } }),
                Audience::Members,
            )]
        );
        let deleted = syarah(ChatEvent::Deleted(vec![7]));
        assert_eq!(deleted[0].name, "messageDeleted");
        assert_eq!(
            deleted[0].args,
            vec![json!(7), json!({ "chatHeaderId": 3 })]
        );
        let read = syarah(ChatEvent::Read {
            user: "bob".into(),
            cursor: 8,
            unread: 2,
        });
        assert_eq!(read[0].name, "messageHasBeenRead");
        assert_eq!(
            read[0].args,
            vec![json!(3), json!({ "userId": "bob", "lastReadMessageId": 8 })]
        );
        let added = syarah(ChatEvent::MembersAdded {
            by: "alice".into(),
            users: vec!["bob".into()],
        });
        assert_eq!(
            added[0].args,
            vec![json!({ "chatHeaderId": 3, "userIds": ["bob"], "by": "alice" })]
        );
        assert_eq!(
            syarah(ChatEvent::Updated(msg(MessageType::Text, "x", None)))[0].name,
            "messageUpdated"
        );
    }

    #[test]
    fn style_from_config() {
        #[derive(serde::Deserialize)]
        struct Chat {
            style: ChatStyle,
        }
        let nick: Chat = toml::from_str("style = \"nickdoc\"").unwrap();
        assert_eq!(nick.style, ChatStyle::Nickdoc);
        assert_eq!(ChatStyle::default(), ChatStyle::Syarah);
    }
}
