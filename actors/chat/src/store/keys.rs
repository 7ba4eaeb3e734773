//! Key layout. Numbers are big-endian so that sled's byte order is their
//! numeric order: a chat's messages sort by id, and a page of history is a
//! range scan. Strings are length-prefixed so that no user id is a prefix of
//! another's keys.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `chats` | `H` chat | [`ChatRecord`](super::ChatRecord) |
//! | `chats` | `M` chat message | [`Message`](super::Message) |
//! | `chats` | `S` chat | every member's [`MemberState`](super::MemberState), by user |
//! | `chats` | `F` path chat | empty: a message of the chat names the upload |
//! | `user_chats` | user chat | empty |
//! | `pairs` | user user (sorted) | chat id |
//! | `users` | user | [`User`](super::User) |
//! | `friends` | user other | [`Friendship`](super::Friendship) |
//! | `counters` | name | u64 |
//! | `uploads` | path | [`Upload`](super::Upload) |
//! | `chats`, `user_chats`, `counters` | `0xff 0xff journal-seq` | the last journal record a replay applied (see `journal`) |
//! | `chats`, `user_chats`, `counters` | `0xff 0xff journal-undo` | before the overlay: the last journal record begun, and what its keys held before (see `journal`) |
//!
//! Everything about one chat is in the one `chats` tree, so an append (the
//! message, the header's last message, the members' unread counts) is
//! one journal record in one tree; the members' states are one record, so
//! that a group's message writes three keys, not one per member.

const HEADER: u8 = b'H';
const MESSAGE: u8 = b'M';
const STATE: u8 = b'S';
const FILE: u8 = b'F';

fn push_str(key: &mut Vec<u8>, s: &str) {
    let len = u16::try_from(s.len()).unwrap_or(u16::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&s.as_bytes()[..len as usize]);
}

fn tagged(tag: u8, chat: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.push(tag);
    key.extend_from_slice(&chat.to_be_bytes());
    key
}

pub fn header(chat: u64) -> Vec<u8> {
    tagged(HEADER, chat)
}

pub fn message(chat: u64, id: u64) -> Vec<u8> {
    let mut key = tagged(MESSAGE, chat);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// The prefix of every message of `chat`.
pub fn messages(chat: u64) -> Vec<u8> {
    tagged(MESSAGE, chat)
}

/// The states of every member of `chat`, in one record.
pub fn states(chat: u64) -> Vec<u8> {
    tagged(STATE, chat)
}

/// The prefix of every members' state record (and of the old per-member
/// keys, see `migrate`).
pub const STATES_PREFIX: [u8; 1] = [STATE];

/// The chat and user of an old per-member state key (`S` chat user), as
/// written before the states became one record per chat; `None` for any
/// other key.
pub fn old_state(key: &[u8]) -> Option<(u64, String)> {
    let rest = key.strip_prefix(&STATES_PREFIX)?;
    let (chat, rest) = rest.split_first_chunk::<8>()?;
    let (len, user) = rest.split_first_chunk::<2>()?;
    if user.len() != usize::from(u16::from_be_bytes(*len)) {
        return None;
    }
    Some((
        u64::from_be_bytes(*chat),
        String::from_utf8(user.to_vec()).ok()?,
    ))
}

/// The prefix of every chat that references the upload `path`.
pub fn file_refs(path: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(3 + path.len() + 8);
    key.push(FILE);
    push_str(&mut key, path);
    key
}

/// A chat references the upload `path` (one of its messages names it).
pub fn file_ref(path: &str, chat: u64) -> Vec<u8> {
    let mut key = file_refs(path);
    key.extend_from_slice(&chat.to_be_bytes());
    key
}

/// The prefix of every key that starts with `user`.
pub fn user_prefix(user: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 + user.len() + 8);
    push_str(&mut key, user);
    key
}

pub fn user_chat(user: &str, chat: u64) -> Vec<u8> {
    let mut key = user_prefix(user);
    key.extend_from_slice(&chat.to_be_bytes());
    key
}

/// The two users of an individual chat, in one order whoever asks.
pub fn pair(a: &str, b: &str) -> Vec<u8> {
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    let mut key = user_prefix(first);
    push_str(&mut key, second);
    key
}

pub fn friend(user: &str, other: &str) -> Vec<u8> {
    let mut key = user_prefix(user);
    push_str(&mut key, other);
    key
}

/// The u64 at the end of a key (message id, chat id).
pub fn trailing_u64(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8).map(|at| &key[at..])?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

pub fn u64_value(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

pub fn read_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keys_sort_by_id_within_a_chat() {
        assert!(message(1, 255) < message(1, 256));
        assert!(message(1, u64::MAX) < message(2, 0));
        assert!(message(7, 3).starts_with(&messages(7)));
        assert_eq!(trailing_u64(&message(7, 300)), Some(300));
    }

    #[test]
    fn user_keys_do_not_prefix_each_other() {
        assert!(!user_chat("ab", 1).starts_with(&user_prefix("a")));
        assert!(user_chat("a", 1).starts_with(&user_prefix("a")));
        assert_eq!(pair("b", "a"), pair("a", "b"));
    }
}
