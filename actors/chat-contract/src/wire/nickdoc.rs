//! A chat change as the nick-doc seed's (001) server events (`[chat]
//! style = "nickdoc"`): to the chat's room, ids as strings (its ids are
//! Mongo ObjectIds).

use serde::{Serialize, Serializer};

use confab_chat::ChatEvent;
use confab_chat::store::{Message, MessageType, Millis};
use confab_engine::EncodeError;

use super::emit::{Audience, Emit};
use super::views::Iso;

/// An id as nick-doc's clients hold ids: a string.
fn as_text<S: Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

/// `new-message`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NewMessage<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    message: NickMessage<'a>,
    sender_id: &'a str,
}

/// nick-doc's message: a file message carries its caption as `content`
/// and the file as its one attachment; a text message has no
/// `attachments` key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NickMessage<'a> {
    #[serde(rename = "_id", serialize_with = "as_text")]
    id: u64,
    content: &'a str,
    sender_id: &'a str,
    created_at: Iso,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachments: Option<[Attachment<'a>; 1]>,
}

#[derive(Debug, Serialize)]
struct Attachment<'a> {
    url: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

impl<'a> NickMessage<'a> {
    fn new(m: &'a Message) -> NickMessage<'a> {
        NickMessage {
            id: m.id,
            content: content(m),
            sender_id: &m.sender,
            created_at: Iso(m.created_at),
            attachments: (m.kind != MessageType::Text).then(|| {
                [Attachment {
                    url: &m.body,
                    kind: media_kind(m.kind),
                }]
            }),
        }
    }
}

/// `message-edited`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Edited<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    #[serde(serialize_with = "as_text")]
    message_id: u64,
    content: &'a str,
    edited_at: Iso,
}

/// `message-deleted`, one per message.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Deleted {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    #[serde(serialize_with = "as_text")]
    message_id: u64,
    deleted_at: Iso,
}

/// `messages-read`: `modifiedCount` is the reader's unread messages before.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Read<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    user_id: &'a str,
    #[serde(serialize_with = "as_text")]
    up_to_message_id: u64,
    modified_count: u64,
}

/// `user-typing`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct UserTyping<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    user_id: &'a str,
    user_name: &'a str,
    is_typing: bool,
}

/// `participants-added`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantsAdded<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    added_user_ids: &'a [String],
}

/// `participant-removed`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantRemoved<'a> {
    #[serde(serialize_with = "as_text")]
    chat_id: u64,
    removed_user_id: &'a str,
}

/// `now` dates a deletion (and an edit without its own time).
pub(super) fn events(chat: u64, event: &ChatEvent, now: Millis) -> Result<Vec<Emit>, EncodeError> {
    use Audience::{OthersViewing, Room};
    let emit = match event {
        ChatEvent::Created { message, .. } => {
            let new = NewMessage {
                chat_id: chat,
                message: NickMessage::new(message),
                sender_id: &message.sender,
            };
            Emit::new("new-message", &new, Room)?
        }
        ChatEvent::Updated(m) => {
            let edited = Edited {
                chat_id: chat,
                message_id: m.id,
                content: content(m),
                edited_at: Iso(m.edited_at.unwrap_or(now)),
            };
            Emit::new("message-edited", &edited, Room)?
        }
        ChatEvent::Deleted(ids) => {
            return ids
                .iter()
                .map(|id| {
                    let deleted = Deleted {
                        chat_id: chat,
                        message_id: *id,
                        deleted_at: Iso(now),
                    };
                    Emit::new("message-deleted", &deleted, Room)
                })
                .collect();
        }
        ChatEvent::Read {
            user,
            cursor,
            unread,
        } => {
            let read = Read {
                chat_id: chat,
                user_id: user,
                up_to_message_id: *cursor,
                modified_count: *unread,
            };
            Emit::new("messages-read", &read, Room)?
        }
        ChatEvent::Typing {
            user,
            name,
            is_typing,
        } => {
            let typing = UserTyping {
                chat_id: chat,
                user_id: user,
                user_name: name,
                is_typing: *is_typing,
            };
            Emit::new("user-typing", &typing, OthersViewing)?
        }
        ChatEvent::MembersAdded { users, .. } => participants_added(chat, users)?,
        ChatEvent::MemberRemoved { user, .. } => {
            let removed = ParticipantRemoved {
                chat_id: chat,
                removed_user_id: user,
            };
            Emit::new("participant-removed", &removed, Room)?
        }
    };
    Ok(vec![emit])
}

pub(super) fn participants_added(chat: u64, users: &[String]) -> Result<Emit, EncodeError> {
    let added = ParticipantsAdded {
        chat_id: chat,
        added_user_ids: users,
    };
    Emit::new("participants-added", &added, Audience::Room)
}

/// A text message's text; a file message's caption.
fn content(m: &Message) -> &str {
    match m.kind {
        MessageType::Text => &m.body,
        _ => m.caption.as_deref().unwrap_or_default(),
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
    use crate::wire::emit::tests::check;
    use crate::wire::views::tests::{alice, msg};
    use Audience::{OthersViewing, Room};

    /// When the tests' deletions happen.
    const NOW: Millis = 1_705_314_660_000;

    fn nick(event: ChatEvent, expected: &[(&str, &str, Audience)]) {
        check(events(3, &event, NOW), expected);
    }

    fn created(message: Message) -> ChatEvent {
        ChatEvent::Created {
            message,
            sender: alice(),
        }
    }

    #[test]
    fn new_messages() {
        let text = concat!(
            r#"[{"chatId":"3","message":{"_id":"7","content":"hi","senderId":"alice","#,
            r#""createdAt":"2024-01-15T10:30:00.000Z"},"senderId":"alice"}]"#
        );
        nick(
            created(msg(MessageType::Text, "hi", None)),
            &[("new-message", text, Room)],
        );
        let image = concat!(
            r#"[{"chatId":"3","message":{"_id":"7","content":"look","senderId":"alice","#,
            r#""createdAt":"2024-01-15T10:30:00.000Z","#,
            r#""attachments":[{"url":"/uploads/a.webp","type":"image"}]},"senderId":"alice"}]"#
        );
        nick(
            created(msg(MessageType::Image, "/uploads/a.webp", Some("look"))),
            &[("new-message", image, Room)],
        );
        let audio = concat!(
            r#"[{"chatId":"3","message":{"_id":"7","content":"","senderId":"alice","#,
            r#""createdAt":"2024-01-15T10:30:00.000Z","#,
            r#""attachments":[{"url":"/uploads/a.mp3","type":"audio"}]},"senderId":"alice"}]"#
        );
        nick(
            created(msg(MessageType::Audio, "/uploads/a.mp3", None)),
            &[("new-message", audio, Room)],
        );
    }

    #[test]
    fn edits_deletions_reads() {
        let mut edited = msg(MessageType::Text, "hello", None);
        edited.edited_at = Some(1_705_314_630_000);
        let json = r#"[{"chatId":"3","messageId":"7","content":"hello","editedAt":"2024-01-15T10:30:30.000Z"}]"#;
        nick(
            ChatEvent::Updated(edited),
            &[("message-edited", json, Room)],
        );
        let deleted = [
            (
                "message-deleted",
                r#"[{"chatId":"3","messageId":"7","deletedAt":"2024-01-15T10:31:00.000Z"}]"#,
                Room,
            ),
            (
                "message-deleted",
                r#"[{"chatId":"3","messageId":"8","deletedAt":"2024-01-15T10:31:00.000Z"}]"#,
                Room,
            ),
        ];
        nick(ChatEvent::Deleted(vec![7, 8]), &deleted);
        let read = ChatEvent::Read {
            user: "bob".into(),
            cursor: 8,
            unread: 2,
        };
        let json = r#"[{"chatId":"3","userId":"bob","upToMessageId":"8","modifiedCount":2}]"#;
        nick(read, &[("messages-read", json, Room)]);
    }

    #[test]
    fn participants_and_typing() {
        let added = ChatEvent::MembersAdded {
            by: "alice".into(),
            users: vec!["bob".into(), "carol".into()],
        };
        let json = r#"[{"chatId":"3","addedUserIds":["bob","carol"]}]"#;
        nick(added, &[("participants-added", json, Room)]);
        let removed = ChatEvent::MemberRemoved {
            by: "alice".into(),
            user: "bob".into(),
        };
        let json = r#"[{"chatId":"3","removedUserId":"bob"}]"#;
        nick(removed, &[("participant-removed", json, Room)]);
        let typing = ChatEvent::Typing {
            user: "bob".into(),
            name: "Bob".into(),
            is_typing: true,
        };
        let json = r#"[{"chatId":"3","userId":"bob","userName":"Bob","isTyping":true}]"#;
        nick(typing, &[("user-typing", json, OthersViewing)]);
    }
}
