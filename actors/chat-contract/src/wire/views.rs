//! The shapes both wire styles and every answer share: a message, a new
//! message, a member, a chat header, a friendship, a page. Each borrows
//! what it shows from the stored records, so that rendering copies no
//! text; it is serialized straight into the frame.

use serde::{Serialize, Serializer};

use confab_chat::store::{ChatKind, ChatRecord, Friendship, Message, Millis, User};
use confab_engine::iso_millis;

/// A time as the seed writes it: ISO 8601, UTC, milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Iso(pub Millis);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&iso_millis(self.0))
    }
}

/// A message as clients see it (seed 003): `userName` and `userAvatar` are
/// the sender's stored name and avatar.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageView<'a> {
    pub id: u64,
    pub chat_header_id: u64,
    pub user_id: &'a str,
    pub user_name: Option<&'a str>,
    pub user_avatar: Option<&'a str>,
    pub message: &'a str,
    pub message_type: u8,
    pub caption: Option<&'a str>,
    pub creation_time: Iso,
    pub last_modification_time: Option<Iso>,
    pub is_edited: bool,
}

/// A sender not at hand: no name, no avatar, as the store shows a user
/// it never saw.
const UNKNOWN: &User = &User {
    id: String::new(),
    name: None,
    avatar: None,
};

impl<'a> MessageView<'a> {
    /// `sender`, when at hand, is the stored user of `message.sender`.
    pub fn maybe(message: &'a Message, sender: Option<&'a User>) -> MessageView<'a> {
        MessageView::new(message, sender.unwrap_or(UNKNOWN))
    }

    /// `sender` is the stored user of `message.sender`.
    pub fn new(message: &'a Message, sender: &'a User) -> MessageView<'a> {
        MessageView {
            id: message.id,
            chat_header_id: message.chat_id,
            user_id: &message.sender,
            user_name: sender.name.as_deref(),
            user_avatar: sender.avatar.as_deref(),
            message: &message.body,
            message_type: u8::from(message.kind),
            caption: message.caption.as_deref(),
            creation_time: Iso(message.created_at),
            last_modification_time: message.edited_at.map(Iso),
            is_edited: message.edited_at.is_some(),
        }
    }
}

/// The `message` event and the `createMessage` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage<'a> {
    pub chat_header_id: u64,
    pub chat_message: MessageView<'a>,
}

/// A member of a chat.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberView<'a> {
    pub user_id: &'a str,
    pub name: Option<&'a str>,
    pub avatar: Option<&'a str>,
    pub is_online: bool,
    pub is_viewing: bool,
}

impl<'a> MemberView<'a> {
    pub fn new(user: &'a User, online: bool, viewing: bool) -> MemberView<'a> {
        MemberView {
            user_id: &user.id,
            name: user.name.as_deref(),
            avatar: user.avatar.as_deref(),
            is_online: online,
            is_viewing: viewing,
        }
    }
}

/// A chat header, for `findAllChatHeaders`, the `joinRoom` answer and the
/// group events' answers.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderView<'a> {
    pub id: u64,
    pub chat_header_id: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub is_group: bool,
    pub name: Option<&'a str>,
    pub members: &'a [MemberView<'a>],
    pub creation_time: Iso,
    pub last_message: Option<MessageView<'a>>,
    pub last_message_time: Option<Iso>,
    pub unread_count: u64,
    pub friendship_status: Option<u8>,
}

impl<'a> HeaderView<'a> {
    /// `header` as a member sees it: their `unread` count, the friendship
    /// with the other member of an individual chat.
    pub fn new(
        header: &'a ChatRecord,
        members: &'a [MemberView<'a>],
        last_message: Option<MessageView<'a>>,
        unread: u64,
        friendship: Option<&Friendship>,
    ) -> HeaderView<'a> {
        HeaderView {
            id: header.id,
            chat_header_id: header.id,
            kind: kind(header.kind),
            is_group: header.kind == ChatKind::Group,
            name: header.name.as_deref(),
            members,
            creation_time: Iso(header.created_at),
            last_message_time: last_message.as_ref().map(|m| m.creation_time),
            last_message,
            unread_count: unread,
            friendship_status: friendship_status(friendship),
        }
    }
}

/// A group's header (the group events' answers): with its admins.
#[derive(Debug, Serialize)]
pub struct GroupView<'a> {
    #[serde(flatten)]
    pub header: HeaderView<'a>,
    pub admins: &'a [String],
}

fn kind(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Individual => "individual",
        ChatKind::Group => "group",
    }
}

/// The seed's `friendshipStatus`: 0–3, or null without a friendship.
pub fn friendship_status(friendship: Option<&Friendship>) -> Option<u8> {
    friendship.map(|f| u8::from(f.status))
}

/// A friendship as `friendship.user` sees it (`friendshipUpdated`, the
/// friendship events' answers): `userId` is the other user.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FriendshipView<'a> {
    pub user_id: &'a str,
    pub friendship_status: u8,
    pub by: &'a str,
    pub updated_at: Iso,
}

impl<'a> FriendshipView<'a> {
    pub fn new(friendship: &'a Friendship) -> FriendshipView<'a> {
        FriendshipView {
            user_id: &friendship.other,
            friendship_status: u8::from(friendship.status),
            by: &friendship.by,
            updated_at: Iso(friendship.updated_at),
        }
    }
}

/// A page of results, as the seed's backend pages them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub total_count: u64,
    pub items: Vec<T>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use confab_chat::store::{FriendshipStatus, MessageType};

    /// `view` as JSON text, as the engine encodes it for the wire (one
    /// argument, without the list around it): the keys in their order.
    pub(crate) fn text(view: &impl Serialize) -> String {
        let args = confab_engine::Args::new(view).unwrap();
        let json = args.json();
        json[1..json.len() - 1].to_owned()
    }

    pub(crate) fn alice() -> User {
        User {
            id: "alice".into(),
            name: Some("Alice".into()),
            avatar: None,
        }
    }

    pub(crate) fn msg(kind: MessageType, body: &str, caption: Option<&str>) -> Message {
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

    /// `msg(MessageType::Text, "hi", None)` of `alice()`.
    pub(crate) const MESSAGE: &str = concat!(
        r#"{"id":7,"chatHeaderId":3,"userId":"alice","userName":"Alice","userAvatar":null,"#,
        r#""message":"hi","messageType":0,"caption":null,"creationTime":"2024-01-15T10:30:00.000Z","#,
        r#""lastModificationTime":null,"isEdited":false}"#
    );

    #[test]
    fn message_in_the_readme_order() {
        let (m, alice) = (msg(MessageType::Text, "hi", None), alice());
        assert_eq!(text(&MessageView::new(&m, &alice)), MESSAGE);
        let mut edited = msg(MessageType::Image, "/uploads/a.webp", Some("look"));
        edited.edited_at = Some(1_705_314_630_000);
        assert_eq!(
            text(&MessageView::new(&edited, &alice)),
            concat!(
                r#"{"id":7,"chatHeaderId":3,"userId":"alice","userName":"Alice","userAvatar":null,"#,
                r#""message":"/uploads/a.webp","messageType":2,"caption":"look","#,
                r#""creationTime":"2024-01-15T10:30:00.000Z","#,
                r#""lastModificationTime":"2024-01-15T10:30:30.000Z","isEdited":true}"#
            )
        );
        let new = NewMessage {
            chat_header_id: 3,
            chat_message: MessageView::new(&m, &alice),
        };
        assert_eq!(
            text(&new),
            format!(r#"{{"chatHeaderId":3,"chatMessage":{MESSAGE}}}"#)
        );
    }

    fn group() -> ChatRecord {
        ChatRecord {
            id: 3,
            kind: ChatKind::Group,
            name: Some("Team".into()),
            members: vec!["alice".into(), "bob".into()],
            created_at: 1_705_314_000_000,
            last_message_id: Some(7),
            message_count: 1,
            admins: vec!["alice".into()],
        }
    }

    #[test]
    fn member_and_header() {
        let alice = alice();
        let members = [MemberView::new(&alice, true, false)];
        assert_eq!(
            text(&members[0]),
            r#"{"userId":"alice","name":"Alice","avatar":null,"isOnline":true,"isViewing":false}"#
        );
        let (chat, m) = (group(), msg(MessageType::Text, "hi", None));
        let header = HeaderView::new(&chat, &members, Some(MessageView::new(&m, &alice)), 2, None);
        let expected = format!(
            concat!(
                r#"{{"id":3,"chatHeaderId":3,"type":"group","isGroup":true,"name":"Team","#,
                r#""members":[{{"userId":"alice","name":"Alice","avatar":null,"isOnline":true,"isViewing":false}}],"#,
                r#""creationTime":"2024-01-15T10:20:00.000Z","lastMessage":{},"#,
                r#""lastMessageTime":"2024-01-15T10:30:00.000Z","unreadCount":2,"friendshipStatus":null"#
            ),
            MESSAGE
        );
        assert_eq!(text(&header), format!("{expected}}}"));
        let group = GroupView {
            header,
            admins: &chat.admins,
        };
        assert_eq!(text(&group), format!(r#"{expected},"admins":["alice"]}}"#));
        let empty = HeaderView::new(&chat, &[], None, 0, None);
        assert!(text(&empty).contains(r#""lastMessage":null,"lastMessageTime":null,"#));
    }

    #[test]
    fn friendship_and_page() {
        let f = Friendship {
            user: "alice".into(),
            other: "bob".into(),
            status: FriendshipStatus::Accepted,
            by: "bob".into(),
            updated_at: 1_705_314_600_000,
        };
        assert_eq!(
            text(&FriendshipView::new(&f)),
            r#"{"userId":"bob","friendshipStatus":1,"by":"bob","updatedAt":"2024-01-15T10:30:00.000Z"}"#
        );
        assert_eq!(friendship_status(Some(&f)), Some(1));
        let page = Page {
            total_count: 9,
            items: vec![1, 2],
        };
        assert_eq!(text(&page), r#"{"totalCount":9,"items":[1,2]}"#);
    }
}
