//! The JSON the contract answers and emits. The seed fixes `getMyChats`,
//! `getMyFriendships` and the `joinRoom` answer field by field; for the rest
//! (a message, a chat header, a page) the shapes follow the seed's
//! backend conventions: camelCase, ISO 8601 times, paged results as
//! `{totalCount, items}`.

use serde_json::{Value, json};

use confab_actors::store::{ChatHeader, ChatKind, Friendship, Message, Millis, User};

/// `2024-01-15T10:30:00.000Z` from milliseconds since the epoch.
pub fn iso(ms: Millis) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

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
        "creationTime": iso(message.created_at),
        "lastModificationTime": message.edited_at.map(iso),
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
    pub header: &'a ChatHeader,
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
            "creationTime": iso(self.header.created_at),
            "lastMessage": self.last_message,
            "lastMessageTime": self.last_message_time.map(iso),
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
        "updatedAt": iso(friendship.updated_at),
    })
}

pub fn page(total: u64, items: Vec<Value>) -> Value {
    json!({ "totalCount": total, "items": items })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_705_314_600_123), "2024-01-15T10:30:00.123Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
