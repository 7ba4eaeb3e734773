//! The records the store keeps. They are serialised as JSON values under
//! binary keys (see [`super::keys`]): readable with any sled tool, and a
//! field added later reads back from old records through `#[serde(default)]`.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch: every time the store keeps.
pub type Millis = u64;

/// The current time in [`Millis`].
pub fn now_millis() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A user as the chat shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
}

/// One-on-one or several members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Individual,
    Group,
}

/// A conversation ("chat header" in the Syarah contract).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRecord {
    pub id: u64,
    pub kind: ChatKind,
    /// A group's name; individual chats are named after the other member.
    #[serde(default)]
    pub name: Option<String>,
    pub members: Vec<String>,
    pub created_at: Millis,
    /// The newest message that is not deleted.
    #[serde(default)]
    pub last_message_id: Option<u64>,
    /// Messages that are not deleted: a page's `totalCount` without a scan.
    #[serde(default)]
    pub message_count: u64,
    /// A group's admins: they add and remove others (anyone may leave).
    #[serde(default)]
    pub admins: Vec<String>,
}

impl ChatRecord {
    pub fn is_member(&self, user: &str) -> bool {
        self.members.iter().any(|m| m == user)
    }

    pub fn is_admin(&self, user: &str) -> bool {
        self.admins.iter().any(|m| m == user)
    }

    /// The member who is not `user`, in an individual chat.
    pub fn other_member(&self, user: &str) -> Option<&str> {
        match self.kind {
            ChatKind::Individual => self.members.iter().find(|m| *m != user).map(String::as_str),
            ChatKind::Group => None,
        }
    }
}

/// What a message carries: text, or the path of an uploaded file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum MessageType {
    Text = 0,
    Audio = 1,
    Image = 2,
    File = 3,
    Video = 4,
}

impl TryFrom<u8> for MessageType {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        Ok(match n {
            0 => MessageType::Text,
            1 => MessageType::Audio,
            2 => MessageType::Image,
            3 => MessageType::File,
            4 => MessageType::Video,
            other => return Err(format!("unknown message type {other}")),
        })
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        t as u8
    }
}

/// One message of one chat. Deleting keeps the record (with `deleted_at`)
/// so that ids are never reused and a late edit finds it gone, not missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: u64,
    pub chat_id: u64,
    pub sender: String,
    pub kind: MessageType,
    /// The text, or the file path for media types.
    pub body: String,
    #[serde(default)]
    pub caption: Option<String>,
    pub created_at: Millis,
    #[serde(default)]
    pub edited_at: Option<Millis>,
    #[serde(default)]
    pub deleted_at: Option<Millis>,
}

impl Message {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A member's place in a chat: the newest message they have read, and how
/// many messages of others came after it (kept, not counted, so that a chat
/// list costs one read per chat).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberState {
    /// The id of the newest message read; 0 before any.
    pub cursor: u64,
    pub unread: u64,
}

/// Where two users stand, with the Syarah numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum FriendshipStatus {
    Pending = 0,
    Accepted = 1,
    Rejected = 2,
    Blocked = 3,
}

impl TryFrom<u8> for FriendshipStatus {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        Ok(match n {
            0 => FriendshipStatus::Pending,
            1 => FriendshipStatus::Accepted,
            2 => FriendshipStatus::Rejected,
            3 => FriendshipStatus::Blocked,
            other => return Err(format!("unknown friendship status {other}")),
        })
    }
}

impl From<FriendshipStatus> for u8 {
    fn from(s: FriendshipStatus) -> u8 {
        s as u8
    }
}

/// A friendship as seen from `user`. The same record is kept under both
/// users, so either side lists it with one prefix scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Friendship {
    pub user: String,
    pub other: String,
    pub status: FriendshipStatus,
    /// Who asked (Pending, Accepted, Rejected) or who blocked (Blocked).
    pub by: String,
    pub updated_at: Millis,
}

/// A file uploaded for a message. Only its uploader and the members of a
/// chat whose messages name its `path` may read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    /// Where clients find it (`/uploads/chat-messages/images/<name>.webp`).
    pub path: String,
    pub uploader: String,
    /// What it was uploaded as.
    pub kind: MessageType,
    /// The media type found in its content.
    pub mime: String,
    pub size: u64,
    /// The file name the client gave, if any.
    #[serde(default)]
    pub original_name: Option<String>,
    pub created_at: Millis,
}
