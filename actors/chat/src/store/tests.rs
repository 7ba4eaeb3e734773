use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::messages::MESSAGE_ID_BLOCK;
use super::*;

/// A fresh directory under the system's temp dir, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "confab-store-{tag}-{}-{n}-{}",
            std::process::id(),
            now_millis()
        ));
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(store: &Store, chat: u64, sender: &str, body: &str) -> Message {
    Message {
        id: store.next_message_id().unwrap(),
        chat_id: chat,
        sender: sender.into(),
        kind: MessageType::Text,
        body: body.into(),
        caption: None,
        created_at: now_millis(),
        edited_at: None,
        deleted_at: None,
    }
}

/// Appends as the chat actor does: message, header and unread counts in
/// one write.
fn append(store: &Store, header: &mut ChatRecord, message: &Message) {
    header.last_message_id = Some(message.id);
    header.message_count += 1;
    let mut states = store.member_states(header.id).unwrap();
    for member in header.members.iter().filter(|m| **m != message.sender) {
        states.entry(member.clone()).or_default().unread += 1;
    }
    store
        .write(ChatWrite {
            chat: header.id,
            header: Some(header),
            messages: vec![message],
            states: Some(&states),
            files: vec![],
        })
        .unwrap();
}

#[test]
fn individual_chat_is_got_or_created_once() {
    let store = Store::temporary().unwrap();
    let (a, created) = store.individual_chat("alice", "bob", 1).unwrap();
    assert!(created);
    let (b, created) = store.individual_chat("bob", "alice", 2).unwrap();
    assert!(!created);
    assert_eq!(a, b);
    assert_eq!(a.kind, ChatKind::Individual);
    assert_eq!(
        store.individual_between("bob", "alice").unwrap(),
        Some(a.id)
    );
    assert_eq!(store.chats_of("alice").unwrap(), vec![a.id]);
    assert_eq!(store.chats_of("bob").unwrap(), vec![a.id]);
    assert!(store.chats_of("ali").unwrap().is_empty());
    assert_eq!(a.other_member("alice"), Some("bob"));
}

#[test]
fn concurrent_get_or_create_agree() {
    let store = Store::temporary().unwrap();
    let ids: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                s.spawn(move || {
                    let (a, b) = if i % 2 == 0 { ("x", "y") } else { ("y", "x") };
                    store.individual_chat(a, b, 0).unwrap().0.id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(store.chats_of("x").unwrap().len(), 1);
}

#[test]
fn history_pages_are_range_scans_newest_first() {
    let store = Store::temporary().unwrap();
    let (mut chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let (mut other, _) = store.individual_chat("a", "c", 0).unwrap();
    let mut ids = Vec::new();
    for i in 0..10 {
        let m = text(&store, chat.id, "a", &format!("m{i}"));
        append(&store, &mut chat, &m);
        ids.push(m.id);
        let noise = text(&store, other.id, "c", "noise");
        append(&store, &mut other, &noise);
    }
    let page: Vec<u64> = store
        .history(chat.id, None, 0, 3)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(page, vec![ids[9], ids[8], ids[7]]);
    let older: Vec<u64> = store
        .history(chat.id, Some(ids[7]), 0, 3)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(older, vec![ids[6], ids[5], ids[4]]);
    let skipped: Vec<u64> = store
        .history(chat.id, None, 8, 50)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(skipped, vec![ids[1], ids[0]]);
    let newer: Vec<u64> = store
        .messages_after(chat.id, ids[7], 10)
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(newer, vec![ids[8], ids[9]]);
}

#[test]
fn deleted_messages_leave_history_and_counts() {
    let store = Store::temporary().unwrap();
    let (mut chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let first = text(&store, chat.id, "a", "one");
    append(&store, &mut chat, &first);
    let mut second = text(&store, chat.id, "a", "two");
    append(&store, &mut chat, &second);
    assert_eq!(store.count_unread(chat.id, "b").unwrap(), 2);
    second.deleted_at = Some(now_millis());
    store
        .write(ChatWrite {
            chat: chat.id,
            header: None,
            messages: vec![&second],
            states: None,
            files: vec![],
        })
        .unwrap();
    assert_eq!(store.count_unread(chat.id, "b").unwrap(), 1);
    assert_eq!(
        store.last_live_message(chat.id).unwrap().unwrap().id,
        first.id
    );
    assert!(
        store
            .message(chat.id, second.id)
            .unwrap()
            .unwrap()
            .is_deleted()
    );
    assert_eq!(store.history(chat.id, None, 0, 10).unwrap().len(), 1);
}

#[test]
fn kept_unread_counts_match_a_scan() {
    let store = Store::temporary().unwrap();
    let (mut chat, _) = store.individual_chat("a", "b", 0).unwrap();
    for i in 0..5 {
        let sender = if i % 2 == 0 { "a" } else { "b" };
        let m = text(&store, chat.id, sender, "hi");
        append(&store, &mut chat, &m);
    }
    for user in ["a", "b"] {
        assert_eq!(
            store.member_state(chat.id, user).unwrap().unread,
            store.count_unread(chat.id, user).unwrap()
        );
    }
    let states = store.member_states(chat.id).unwrap();
    assert_eq!(states["a"].unread, 2);
    assert_eq!(states["b"].unread, 3);
}

#[test]
fn friendships_are_seen_from_both_sides() {
    let store = Store::temporary().unwrap();
    store
        .set_friendship("a", "b", FriendshipStatus::Pending, "a", 1)
        .unwrap();
    let from_b = store.friendship("b", "a").unwrap().unwrap();
    assert_eq!(from_b.status, FriendshipStatus::Pending);
    assert_eq!(from_b.by, "a");
    assert_eq!(from_b.other, "a");
    store
        .set_friendship("b", "a", FriendshipStatus::Accepted, "a", 2)
        .unwrap();
    assert_eq!(
        store.friendship("a", "b").unwrap().unwrap().status,
        FriendshipStatus::Accepted
    );
    store
        .set_friendship("a", "c", FriendshipStatus::Blocked, "a", 3)
        .unwrap();
    assert_eq!(store.friendships_of("a").unwrap().len(), 2);
    assert_eq!(store.friendships_of("c").unwrap().len(), 1);
    store.remove_friendship("c", "a").unwrap();
    assert!(store.friendship("a", "c").unwrap().is_none());
}

#[test]
fn users_keep_known_fields() {
    let store = Store::temporary().unwrap();
    store.upsert_user("u", Some("Ann"), None).unwrap();
    let u = store.upsert_user("u", None, Some("/a.png")).unwrap();
    assert_eq!(u.name.as_deref(), Some("Ann"));
    assert_eq!(u.avatar.as_deref(), Some("/a.png"));
    assert_eq!(store.user("u").unwrap().unwrap(), u);
    assert_eq!(store.user_or_bare("nobody").unwrap().name, None);
}

#[test]
fn records_decode_with_the_wire_numbers() {
    assert_eq!(serde_json::to_string(&MessageType::Video).unwrap(), "4");
    assert!(serde_json::from_str::<MessageType>("5").is_err());
    assert_eq!(
        serde_json::from_str::<FriendshipStatus>("3").unwrap(),
        FriendshipStatus::Blocked
    );
}

#[actix_rt::test]
async fn everything_is_found_after_reopening() {
    let dir = TempDir::new("reopen");
    let (chat_id, group_id, ids) = {
        let store = Store::open(&dir.0).unwrap();
        store.upsert_user("a", Some("Alice"), None).unwrap();
        let (mut chat, _) = store.individual_chat("a", "b", 5).unwrap();
        let group = store
            .create_group("team", &["a".into(), "b".into(), "c".into(), "a".into()], 6)
            .unwrap();
        let mut ids = Vec::new();
        for i in 0..3 {
            let m = text(&store, chat.id, "a", &format!("m{i}"));
            append(&store, &mut chat, &m);
            ids.push(m.id);
        }
        let mut states = store.member_states(chat.id).unwrap();
        states.insert(
            "b".into(),
            MemberState {
                cursor: ids[1],
                unread: 1,
            },
        );
        store
            .write(ChatWrite {
                chat: chat.id,
                header: None,
                messages: vec![],
                states: Some(&states),
                files: vec![],
            })
            .unwrap();
        store
            .set_friendship("a", "b", FriendshipStatus::Accepted, "a", 7)
            .unwrap();
        store.durable().await.unwrap();
        (chat.id, group.id, ids)
    };
    // sled's own background flusher may hold the file lock a moment after
    // the first store is dropped: wait for it, as a restart would.
    let store = (0..100)
        .find_map(|_| {
            Store::open(&dir.0).ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                None
            })
        })
        .expect("the database lock is released");
    assert_eq!(
        store.user("a").unwrap().unwrap().name.as_deref(),
        Some("Alice")
    );
    let chat = store.chat(chat_id).unwrap().unwrap();
    assert_eq!(chat.last_message_id, Some(ids[2]));
    assert_eq!(chat.message_count, 3);
    let history: Vec<String> = store
        .history(chat_id, None, 0, 10)
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(history, ["m2", "m1", "m0"]);
    let state = store.member_state(chat_id, "b").unwrap();
    assert_eq!((state.cursor, state.unread), (ids[1], 1));
    assert_eq!(store.count_unread(chat_id, "b").unwrap(), 1);
    assert_eq!(store.individual_between("b", "a").unwrap(), Some(chat_id));
    let group = store.chat(group_id).unwrap().unwrap();
    assert_eq!(group.members, ["a", "b", "c"]);
    assert_eq!(store.chats_of("c").unwrap(), vec![group_id]);
    assert_eq!(store.chats_of("a").unwrap(), vec![chat_id, group_id]);
    assert_eq!(
        store.friendship("b", "a").unwrap().unwrap().status,
        FriendshipStatus::Accepted
    );
    // Ids go on growing after a restart.
    assert!(store.next_message_id().unwrap() > ids[2]);
    let (again, created) = store.individual_chat("a", "b", 9).unwrap();
    assert!(!created);
    assert_eq!(again.id, chat_id);
}

/// Ids come from blocks reserved in sled: each is new, and they grow
/// across a block's end.
#[test]
fn message_ids_grow_across_reserved_blocks() {
    let store = Store::temporary().unwrap();
    let ids: Vec<u64> = (0..MESSAGE_ID_BLOCK + 10)
        .map(|_| store.next_message_id().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids[0], 1);
    let counters = store.0.counters.get("message").unwrap();
    let reserved = counters.as_deref().and_then(keys::read_u64);
    assert_eq!(reserved, Some(2 * MESSAGE_ID_BLOCK));
}

#[test]
fn uploads_are_read_by_their_uploader_and_the_members_of_chats_naming_them() {
    let store = Store::temporary().unwrap();
    let upload = Upload {
        path: "/uploads/chat-messages/images/x.webp".into(),
        uploader: "a".into(),
        kind: MessageType::Image,
        mime: "image/webp".into(),
        size: 10,
        original_name: Some("cat.png".into()),
        created_at: 1,
    };
    store.put_upload(&upload).unwrap();
    assert_eq!(store.upload(&upload.path).unwrap().as_ref(), Some(&upload));
    assert!(store.upload("/uploads/nope").unwrap().is_none());
    let (chat, _) = store.individual_chat("a", "b", 1).unwrap();
    let (other, _) = store.individual_chat("c", "d", 1).unwrap();
    assert!(store.may_read_upload(&upload, "a").unwrap());
    assert!(!store.may_read_upload(&upload, "b").unwrap());
    let mut message = text(&store, chat.id, "a", &upload.path);
    message.kind = MessageType::Image;
    store
        .write(ChatWrite {
            chat: chat.id,
            header: None,
            messages: vec![&message],
            states: None,
            files: vec![upload.path.as_str()],
        })
        .unwrap();
    assert_eq!(
        store.chats_referencing(&upload.path).unwrap(),
        vec![chat.id]
    );
    assert!(store.may_read_upload(&upload, "b").unwrap());
    assert!(!store.may_read_upload(&upload, "c").unwrap());
    assert!(
        store
            .chats_referencing("/uploads/chat-messages/images/x.web")
            .unwrap()
            .is_empty()
    );
    let _ = other;
}
