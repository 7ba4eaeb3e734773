//! A chat change as the Syarah contract's server events (seed 003, the
//! default style): to the chat's room and every member's user room, but
//! typing to the others viewing.

use serde::Serialize;

use confab_chat::ChatEvent;
use confab_chat::store::User;
use confab_engine::EncodeError;

use super::views::{MessageView, NewMessage};
use super::{Audience, Emit};

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
    use crate::wire::views::tests::{alice, msg};
    use confab_chat::store::MessageType;

    fn emitted(event: ChatEvent) -> Vec<(&'static str, String, Audience)> {
        events(3, &event, Some(&alice()))
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.args.json().to_owned(), e.audience))
            .collect()
    }

    fn one(
        name: &'static str,
        json: &str,
        audience: Audience,
    ) -> Vec<(&'static str, String, Audience)> {
        vec![(name, json.to_owned(), audience)]
    }

    const MESSAGE: &str = concat!(
        r#"{"id":7,"chatHeaderId":3,"userId":"alice","userName":"Alice","userAvatar":null,"#,
        r#""message":"hi","messageType":0,"caption":null,"creationTime":"2024-01-15T10:30:00.000Z","#,
        r#""lastModificationTime":null,"isEdited":false}"#
    );

    #[test]
    fn messages() {
        let created = ChatEvent::Created {
            message: msg(MessageType::Text, "hi", None),
            sender: alice(),
        };
        assert_eq!(
            emitted(created),
            one(
                "message",
                &format!(r#"[{{"chatHeaderId":3,"chatMessage":{MESSAGE}}}]"#),
                Audience::Members
            )
        );
        let updated = ChatEvent::Updated(msg(MessageType::Text, "hi", None));
        assert_eq!(
            emitted(updated),
            one("messageUpdated", &format!("[{MESSAGE}]"), Audience::Members)
        );
        let unknown = events(
            3,
            &ChatEvent::Updated(msg(MessageType::Text, "hi", None)),
            None,
        )
        .unwrap();
        assert!(
            unknown[0]
                .args
                .json()
                .contains(r#""userId":"alice","userName":null,"#)
        );
        assert_eq!(
            emitted(ChatEvent::Deleted(vec![7, 8])),
            vec![
                (
                    "messageDeleted",
                    r#"[7,{"chatHeaderId":3}]"#.to_owned(),
                    Audience::Members
                ),
                (
                    "messageDeleted",
                    r#"[8,{"chatHeaderId":3}]"#.to_owned(),
                    Audience::Members
                ),
            ]
        );
        let read = ChatEvent::Read {
            user: "bob".into(),
            cursor: 8,
            unread: 2,
        };
        assert_eq!(
            emitted(read),
            one(
                "messageHasBeenRead",
                r#"[3,{"userId":"bob","lastReadMessageId":8}]"#,
                Audience::Members
            )
        );
    }

    #[test]
    fn typing_and_participants() {
        let typing = ChatEvent::Typing {
            user: "bob".into(),
            name: "Bob".into(),
            is_typing: true,
        };
        assert_eq!(
            emitted(typing),
            one(
                "typing",
                r#"[{"name":"Bob","isTyping":true,"chatHeaderId":3,"userId":"bob"}]"#,
                Audience::OthersViewing
            )
        );
        let added = ChatEvent::MembersAdded {
            by: "alice".into(),
            users: vec!["bob".into(), "carol".into()],
        };
        assert_eq!(
            emitted(added),
            one(
                "participantsAdded",
                r#"[{"chatHeaderId":3,"userIds":["bob","carol"],"by":"alice"}]"#,
                Audience::Members
            )
        );
        let removed = ChatEvent::MemberRemoved {
            by: "alice".into(),
            user: "bob".into(),
        };
        assert_eq!(
            emitted(removed),
            one(
                "participantRemoved",
                r#"[{"chatHeaderId":3,"userId":"bob","by":"alice"}]"#,
                Audience::Members
            )
        );
    }
}
