//! The acks of the client events and the server events that are not a
//! chat change (`onMemberJoin`, `clientStatus`, `userUpdated`, a
//! friendship ended), in both styles alike.

use serde::Serialize;

use confab_chat::store::User;

use super::views::{FriendshipView, HeaderView, Iso, MemberView, MessageView};

/// A refused event's ack.
#[derive(Debug, Serialize)]
pub struct Refused<'a> {
    pub error: &'a str,
}

/// A refused event without an ack: the `exception` event, as a NestJS
/// gateway answers a `WsException`.
#[derive(Debug, Serialize)]
pub struct Exception<'a> {
    pub status: &'static str,
    pub message: &'a str,
    pub event: &'a str,
}

/// The `removeMessage` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed<'a> {
    pub chat_header_id: u64,
    pub ids: &'a [u64],
}

/// The `readMessage` answer: the caller has nothing left unread.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadUpTo {
    pub chat_header_id: u64,
    pub last_read_message_id: u64,
    pub unread_count: u64,
}

/// The `leaveRoom` and `leaveGroup` answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Left {
    pub chat_header_id: u64,
    pub left: bool,
}

/// The `roomTyping` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TypingSet {
    pub chat_header_id: u64,
    pub is_typing: bool,
}

/// `onMemberJoin`, to the others viewing the chat.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberJoined<'a> {
    pub chat_header_id: u64,
    #[serde(flatten)]
    pub user: Profile<'a>,
}

/// The `joinRoom` answer (seed 003): `roomMembers` and `members` are the
/// same list under the seed's two names.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Joined<'a> {
    pub chat_header_id: u64,
    pub chat_header: HeaderView<'a>,
    pub joined: bool,
    pub room_members: &'a [MemberView<'a>],
    pub current_member: MemberView<'a>,
    pub members: &'a [MemberView<'a>],
    pub friendship_status: Option<u8>,
}

/// A `findAllChatHeaders` item: a room the client holds also gets the
/// messages after its last one (the keys are absent otherwise).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderItem<'a> {
    #[serde(flatten)]
    pub header: HeaderView<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_messages_count: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_messages: Option<Vec<MessageView<'a>>>,
}

/// The header `getChatHeaderAsync` answers: `created` when it was made
/// for this call.
#[derive(Debug, Serialize)]
pub struct HeaderGot<'a> {
    #[serde(flatten)]
    pub header: HeaderView<'a>,
    pub created: bool,
}

/// A `getMyChats` item (seed 003): an individual chat, as its other member.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MyChat<'a> {
    pub chat_header_id: u64,
    pub user_id: &'a str,
    pub user_name: Option<&'a str>,
    pub user_avatar: Option<&'a str>,
    pub last_message: Option<&'a str>,
    pub last_message_time: Option<Iso>,
    pub creation_time: Iso,
    pub is_online: bool,
    pub unread_count: u64,
    pub friendship_status: Option<u8>,
}

/// Another user as a friend list shows them: name, avatar, presence and
/// the individual chat with them, if any.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact<'a> {
    pub name: Option<&'a str>,
    pub avatar: Option<&'a str>,
    pub is_online: bool,
    pub chat_header_id: Option<u64>,
}

impl<'a> Contact<'a> {
    pub fn new(user: &'a User, online: bool, chat: Option<u64>) -> Contact<'a> {
        Contact {
            name: user.name.as_deref(),
            avatar: user.avatar.as_deref(),
            is_online: online,
            chat_header_id: chat,
        }
    }
}

/// A `getMyFriendships` item (seed 003).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MyFriend<'a> {
    pub user_id: &'a str,
    #[serde(flatten)]
    pub contact: Contact<'a>,
}

/// A friendship as an administrator sees it: the friendship, with the
/// other user as a friend list shows them.
#[derive(Debug, Serialize)]
pub struct FriendshipCard<'a> {
    #[serde(flatten)]
    pub friendship: FriendshipView<'a>,
    #[serde(flatten)]
    pub contact: Contact<'a>,
}

/// A friendship that no longer exists, as `userId`'s counterpart sees it:
/// `friendshipUpdated` says who ended it (`by`); the `unblockUser` answer
/// does not.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoFriendship<'a> {
    pub user_id: &'a str,
    /// Always `null`: there is no friendship.
    pub friendship_status: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<&'a str>,
}

/// `clientStatus`, to a user's contacts on their first socket and after
/// their last.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientStatus<'a> {
    pub user_id: &'a str,
    pub client_type: &'a str,
    pub active_now: bool,
}

/// Who a user is to others: `userUpdated` (to the user and their
/// contacts), and the joining user in `onMemberJoin`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile<'a> {
    pub user_id: &'a str,
    pub name: Option<&'a str>,
    pub avatar: Option<&'a str>,
}

impl<'a> Profile<'a> {
    pub fn new(user: &'a User) -> Profile<'a> {
        Profile {
            user_id: &user.id,
            name: user.name.as_deref(),
            avatar: user.avatar.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::views::tests::{alice, msg, text};
    use confab_chat::store::{ChatKind, ChatRecord, Friendship, FriendshipStatus, MessageType};

    fn pair() -> ChatRecord {
        ChatRecord {
            id: 3,
            kind: ChatKind::Individual,
            name: None,
            members: vec!["alice".into(), "bob".into()],
            created_at: 1_705_314_000_000,
            last_message_id: None,
            message_count: 0,
            admins: Vec::new(),
        }
    }

    const HEADER: &str = concat!(
        r#""id":3,"chatHeaderId":3,"type":"individual","isGroup":false,"name":null,"#,
        r#""members":[],"creationTime":"2024-01-15T10:20:00.000Z","lastMessage":null,"#,
        r#""lastMessageTime":null,"unreadCount":0,"friendshipStatus":null"#
    );

    #[test]
    fn refusals() {
        assert_eq!(text(&Refused { error: "no" }), r#"{"error":"no"}"#);
        let exception = Exception {
            status: "error",
            message: "no",
            event: "createMessage",
        };
        assert_eq!(
            text(&exception),
            r#"{"status":"error","message":"no","event":"createMessage"}"#
        );
    }

    #[test]
    fn small_answers() {
        let removed = Removed {
            chat_header_id: 3,
            ids: &[7, 8],
        };
        assert_eq!(text(&removed), r#"{"chatHeaderId":3,"ids":[7,8]}"#);
        let read = ReadUpTo {
            chat_header_id: 3,
            last_read_message_id: 8,
            unread_count: 0,
        };
        assert_eq!(
            text(&read),
            r#"{"chatHeaderId":3,"lastReadMessageId":8,"unreadCount":0}"#
        );
        let left = Left {
            chat_header_id: 3,
            left: true,
        };
        assert_eq!(text(&left), r#"{"chatHeaderId":3,"left":true}"#);
        let typing = TypingSet {
            chat_header_id: 3,
            is_typing: false,
        };
        assert_eq!(text(&typing), r#"{"chatHeaderId":3,"isTyping":false}"#);
    }

    #[test]
    fn join_room() {
        let (chat, alice) = (pair(), alice());
        let joined = MemberJoined {
            chat_header_id: 3,
            user: Profile::new(&alice),
        };
        assert_eq!(
            text(&joined),
            r#"{"chatHeaderId":3,"userId":"alice","name":"Alice","avatar":null}"#
        );
        let me = MemberView::new(&alice, true, true);
        let answer = Joined {
            chat_header_id: 3,
            chat_header: HeaderView::new(&chat, &[], None, 0, None),
            joined: true,
            room_members: &[],
            current_member: me,
            members: &[],
            friendship_status: None,
        };
        assert_eq!(
            text(&answer),
            format!(
                concat!(
                    r#"{{"chatHeaderId":3,"chatHeader":{{{}}},"joined":true,"roomMembers":[],"#,
                    r#""currentMember":{{"userId":"alice","name":"Alice","avatar":null,"isOnline":true,"isViewing":true}},"#,
                    r#""members":[],"friendshipStatus":null}}"#
                ),
                HEADER
            )
        );
    }

    #[test]
    fn header_extensions() {
        let (chat, alice, m) = (pair(), alice(), msg(MessageType::Text, "hi", None));
        let plain = HeaderItem {
            header: HeaderView::new(&chat, &[], None, 0, None),
            new_messages_count: None,
            new_messages: None,
        };
        assert_eq!(text(&plain), format!("{{{HEADER}}}"));
        let known = HeaderItem {
            header: HeaderView::new(&chat, &[], None, 0, None),
            new_messages_count: Some(1),
            new_messages: Some(vec![MessageView::new(&m, &alice)]),
        };
        let json = text(&known);
        assert!(json.starts_with(&format!(
            r#"{{{HEADER},"newMessagesCount":1,"newMessages":[{{"id":7,"#
        )));
        let got = HeaderGot {
            header: HeaderView::new(&chat, &[], None, 0, None),
            created: true,
        };
        assert_eq!(text(&got), format!(r#"{{{HEADER},"created":true}}"#));
    }

    #[test]
    fn lists_of_the_seed() {
        let alice = alice();
        let chat = MyChat {
            chat_header_id: 3,
            user_id: &alice.id,
            user_name: alice.name.as_deref(),
            user_avatar: None,
            last_message: Some("hi"),
            last_message_time: Some(Iso(1_705_314_600_000)),
            creation_time: Iso(1_705_314_000_000),
            is_online: false,
            unread_count: 1,
            friendship_status: Some(1),
        };
        assert_eq!(
            text(&chat),
            concat!(
                r#"{"chatHeaderId":3,"userId":"alice","userName":"Alice","userAvatar":null,"#,
                r#""lastMessage":"hi","lastMessageTime":"2024-01-15T10:30:00.000Z","#,
                r#""creationTime":"2024-01-15T10:20:00.000Z","isOnline":false,"unreadCount":1,"#,
                r#""friendshipStatus":1}"#
            )
        );
        let friend = MyFriend {
            user_id: &alice.id,
            contact: Contact::new(&alice, true, None),
        };
        assert_eq!(
            text(&friend),
            r#"{"userId":"alice","name":"Alice","avatar":null,"isOnline":true,"chatHeaderId":null}"#
        );
    }

    #[test]
    fn friendships_and_presence() {
        let f = Friendship {
            user: "bob".into(),
            other: "alice".into(),
            status: FriendshipStatus::Pending,
            by: "bob".into(),
            updated_at: 1_705_314_600_000,
        };
        let alice = alice();
        let card = FriendshipCard {
            friendship: FriendshipView::new(&f),
            contact: Contact::new(&alice, false, Some(3)),
        };
        assert_eq!(
            text(&card),
            concat!(
                r#"{"userId":"alice","friendshipStatus":0,"by":"bob","updatedAt":"2024-01-15T10:30:00.000Z","#,
                r#""name":"Alice","avatar":null,"isOnline":false,"chatHeaderId":3}"#
            )
        );
        let ended = NoFriendship {
            user_id: "alice",
            friendship_status: None,
            by: Some("bob"),
        };
        assert_eq!(
            text(&ended),
            r#"{"userId":"alice","friendshipStatus":null,"by":"bob"}"#
        );
        let unblocked = NoFriendship { by: None, ..ended };
        assert_eq!(
            text(&unblocked),
            r#"{"userId":"alice","friendshipStatus":null}"#
        );
        let status = ClientStatus {
            user_id: "alice",
            client_type: "web",
            active_now: true,
        };
        assert_eq!(
            text(&status),
            r#"{"userId":"alice","clientType":"web","activeNow":true}"#
        );
        assert_eq!(
            text(&Profile::new(&alice)),
            r#"{"userId":"alice","name":"Alice","avatar":null}"#
        );
    }
}
