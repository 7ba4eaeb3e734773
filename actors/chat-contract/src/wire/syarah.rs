//! A chat change as the Syarah contract's server events (seed 003, the
//! default style): to the chat's room and every member's user room, but
//! typing to the others viewing.

use serde::Serialize;

use confab_chat::ChatEvent;
use confab_chat::store::User;
use confab_engine::EncodeError;

use super::emit::{Audience, Emit};
use super::views::{MessageView, NewMessage};

/// The chat a `messageDeleted` names, after the message id.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedFrom {
    chat_header_id: u64,
}

/// Who read, after the chat id, in `messageHasBeenRead`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReadBy<'a> {
    user_id: &'a str,
    last_read_message_id: u64,
}

/// `typing`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Typing<'a> {
    name: &'a str,
    is_typing: bool,
    chat_header_id: u64,
    user_id: &'a str,
}

/// `participantsAdded`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantsAdded<'a> {
    chat_header_id: u64,
    user_ids: &'a [String],
    by: &'a str,
}

/// `participantRemoved`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ParticipantRemoved<'a> {
    chat_header_id: u64,
    user_id: &'a str,
    by: &'a str,
}

/// `message` shows `sender`'s name; without it (never: the publisher
/// reads it), the message shows none.
pub(super) fn events(
    chat: u64,
    event: &ChatEvent,
    sender: Option<&User>,
) -> Result<Vec<Emit>, EncodeError> {
    use Audience::{Members, OthersViewing};
    let emit = match event {
        ChatEvent::Created { message, .. } => {
            let new = NewMessage {
                chat_header_id: chat,
                chat_message: MessageView::maybe(message, sender),
            };
            Emit::new("message", &new, Members)?
        }
        ChatEvent::Updated(message) => Emit::new(
            "messageUpdated",
            &MessageView::maybe(message, sender),
            Members,
        )?,
        ChatEvent::Deleted(ids) => {
            let from = DeletedFrom {
                chat_header_id: chat,
            };
            return ids
                .iter()
                .map(|id| Emit::new("messageDeleted", &(id, &from), Members))
                .collect();
        }
        ChatEvent::Read { user, cursor, .. } => {
            let by = ReadBy {
                user_id: user,
                last_read_message_id: *cursor,
            };
            Emit::new("messageHasBeenRead", &(chat, by), Members)?
        }
        ChatEvent::Typing {
            user,
            name,
            is_typing,
        } => {
            let typing = Typing {
                name,
                is_typing: *is_typing,
                chat_header_id: chat,
                user_id: user,
            };
            Emit::new("typing", &typing, OthersViewing)?
        }
        ChatEvent::MembersAdded { by, users } => participants_added(chat, by, users)?,
        ChatEvent::MemberRemoved { by, user } => {
            let removed = ParticipantRemoved {
                chat_header_id: chat,
                user_id: user,
                by,
            };
            Emit::new("participantRemoved", &removed, Members)?
        }
    };
    Ok(vec![emit])
}

pub(super) fn participants_added(
    chat: u64,
    by: &str,
    users: &[String],
) -> Result<Emit, EncodeError> {
    let added = ParticipantsAdded {
        chat_header_id: chat,
        user_ids: users,
        by,
    };
    Emit::new("participantsAdded", &added, Audience::Members)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::emit::tests::check;
    use crate::wire::views::tests::{MESSAGE, alice, msg};
    use Audience::{Members, OthersViewing};
    use confab_chat::store::MessageType;

    fn syarah(event: ChatEvent, expected: &[(&str, &str, Audience)]) {
        check(events(3, &event, Some(&alice())), expected);
    }

    /// The `message` event and the `createMessage` answer are the same
    /// JSON: a client may treat its own message either way.
    #[test]
    fn the_message_event_is_the_create_message_answer() {
        let message = msg(MessageType::Text, "hi", None);
        let created = ChatEvent::Created {
            message: message.clone(),
            sender: alice(),
        };
        let sender = alice();
        let emits = events(3, &created, Some(&sender)).unwrap();
        let answer = NewMessage {
            chat_header_id: 3,
            chat_message: MessageView::new(&message, &sender),
        };
        assert_eq!(emits.len(), 1);
        assert_eq!(emits[0].args, confab_engine::Args::new(&answer).unwrap());
    }

    #[test]
    fn messages() {
        let created = ChatEvent::Created {
            message: msg(MessageType::Text, "hi", None),
            sender: alice(),
        };
        let new = format!(r#"[{{"chatHeaderId":3,"chatMessage":{MESSAGE}}}]"#);
        syarah(created, &[("message", &new, Members)]);
        let updated = ChatEvent::Updated(msg(MessageType::Text, "hi", None));
        syarah(
            updated,
            &[("messageUpdated", &format!("[{MESSAGE}]"), Members)],
        );
        let deleted = [
            ("messageDeleted", r#"[7,{"chatHeaderId":3}]"#, Members),
            ("messageDeleted", r#"[8,{"chatHeaderId":3}]"#, Members),
        ];
        syarah(ChatEvent::Deleted(vec![7, 8]), &deleted);
        let read = ChatEvent::Read {
            user: "bob".into(),
            cursor: 8,
            unread: 2,
        };
        let by = r#"[3,{"userId":"bob","lastReadMessageId":8}]"#;
        syarah(read, &[("messageHasBeenRead", by, Members)]);
    }

    #[test]
    fn an_unknown_sender_shows_no_name() {
        let edited = ChatEvent::Updated(msg(MessageType::Text, "hi", None));
        let emits = events(3, &edited, None).unwrap();
        assert!(
            emits[0]
                .args
                .json()
                .contains(r#""userId":"alice","userName":null,"#)
        );
    }

    #[test]
    fn typing_and_participants() {
        let typing = ChatEvent::Typing {
            user: "bob".into(),
            name: "Bob".into(),
            is_typing: true,
        };
        let json = r#"[{"name":"Bob","isTyping":true,"chatHeaderId":3,"userId":"bob"}]"#;
        syarah(typing, &[("typing", json, OthersViewing)]);
        let added = ChatEvent::MembersAdded {
            by: "alice".into(),
            users: vec!["bob".into(), "carol".into()],
        };
        let json = r#"[{"chatHeaderId":3,"userIds":["bob","carol"],"by":"alice"}]"#;
        syarah(added, &[("participantsAdded", json, Members)]);
        let removed = ChatEvent::MemberRemoved {
            by: "alice".into(),
            user: "bob".into(),
        };
        let json = r#"[{"chatHeaderId":3,"userId":"bob","by":"alice"}]"#;
        syarah(removed, &[("participantRemoved", json, Members)]);
    }
}
