use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::store::{ChatRecord, FriendshipStatus, MessageType, Store, User};

/// Records what chats publish.
#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, ChatEvent)>>);

impl ChatEvents for Recorder {
    fn publish(&self, chat: &ChatRecord, event: &ChatEvent) {
        self.0.lock().unwrap().push((chat.id, event.clone()));
    }
}

impl Recorder {
    fn take(&self) -> Vec<ChatEvent> {
        self.0.lock().unwrap().drain(..).map(|(_, e)| e).collect()
    }
}

fn config() -> ChatActorConfig {
    ChatActorConfig {
        idle_after: Duration::from_millis(200),
        typing_ttl: Duration::from_millis(100),
        arbiters: 2,
    }
}

fn start(store: &Store) -> (Chats, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let chats = Chats::start(store.clone(), recorder.clone(), config());
    (chats, recorder)
}

fn text(sender: &str, body: &str) -> Append {
    Append {
        sender: User {
            id: sender.into(),
            name: None,
            avatar: None,
        },
        kind: MessageType::Text,
        body: body.into(),
        caption: None,
        names_upload: false,
        after_publish: None,
    }
}

#[actix_rt::test]
async fn append_is_durable_counted_and_published_in_order() {
    let store = Store::temporary().unwrap();
    let (chats, events) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let sends: Vec<_> = (0..20)
        .map(|i| chats.call(chat.id, text("a", &format!("m{i}"))))
        .collect();
    let sent: Vec<u64> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    let published: Vec<u64> = events
        .take()
        .into_iter()
        .map(|e| match e {
            ChatEvent::Created { message, .. } => message.id,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(published, sent);
    assert!(published.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(store.member_state(chat.id, "b").unwrap().unread, 20);
    assert_eq!(store.member_state(chat.id, "a").unwrap().unread, 0);
    assert_eq!(
        store.chat(chat.id).unwrap().unwrap().last_message_id,
        sent.last().copied()
    );
}

/// A caller's `after_publish` runs once its message's event is published
/// (and before the answer), once each, in the messages' order; a refused
/// message runs none.
#[actix_rt::test]
async fn after_publish_follows_each_published_event() {
    let store = Store::temporary().unwrap();
    let (chats, events) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let append = |sender: &str, body: &str| {
        let (seen, events) = (seen.clone(), events.clone());
        let mut append = text(sender, body);
        append.after_publish = Some(AfterPublish::new(move |event| {
            let published = events.0.lock().unwrap().len();
            if let ChatEvent::Created { message, .. } = event {
                seen.lock().unwrap().push((message.id, published));
            }
        }));
        chats.call(chat.id, append)
    };
    let sends: Vec<_> = (0..10).map(|i| append("a", &format!("m{i}"))).collect();
    let sent: Vec<u64> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap().id)
        .collect();
    let expected: Vec<(u64, usize)> = sent
        .iter()
        .enumerate()
        .map(|(i, id)| (*id, i + 1))
        .collect();
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(matches!(
        append("mallory", "hi").await,
        Err(ChatError::NotMember)
    ));
    assert_eq!(seen.lock().unwrap().len(), 10);
}

#[actix_rt::test]
async fn members_only_and_senders_only() {
    let store = Store::temporary().unwrap();
    let (chats, _) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    assert!(matches!(
        chats.call(chat.id, text("mallory", "hi")).await,
        Err(ChatError::NotMember)
    ));
    assert!(matches!(
        chats.call(999, text("a", "hi")).await,
        Err(ChatError::NotFound)
    ));
    let m = chats.call(chat.id, text("a", "mine")).await.unwrap();
    let edit = Edit {
        by: "b".into(),
        id: m.id,
        body: "theirs".into(),
        caption: None,
    };
    assert!(matches!(
        chats.call(chat.id, edit).await,
        Err(ChatError::NotSender)
    ));
    let remove = Remove {
        by: "b".into(),
        ids: vec![m.id],
    };
    assert!(matches!(
        chats.call(chat.id, remove).await,
        Err(ChatError::NotSender)
    ));
    let missing = Edit {
        by: "a".into(),
        id: m.id + 100,
        body: "x".into(),
        caption: None,
    };
    assert!(matches!(
        chats.call(chat.id, missing).await,
        Err(ChatError::MessageNotFound)
    ));
    assert_eq!(store.message(chat.id, m.id).unwrap().unwrap().body, "mine");
}

#[actix_rt::test]
async fn edit_remove_and_read_keep_counts_right() {
    let store = Store::temporary().unwrap();
    let (chats, events) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let m1 = chats.call(chat.id, text("a", "one")).await.unwrap();
    let m2 = chats.call(chat.id, text("a", "two")).await.unwrap();
    let m3 = chats.call(chat.id, text("a", "three")).await.unwrap();
    let edited = chats
        .call(
            chat.id,
            Edit {
                by: "a".into(),
                id: m1.id,
                body: "uno".into(),
                caption: Some("c".into()),
            },
        )
        .await
        .unwrap();
    assert!(edited.edited_at.is_some());
    assert_eq!(store.message(chat.id, m1.id).unwrap().unwrap().body, "uno");
    // Delete the newest two: the last message falls back to the first.
    let gone = chats
        .call(
            chat.id,
            Remove {
                by: "a".into(),
                ids: vec![m3.id, m2.id, m3.id],
            },
        )
        .await
        .unwrap();
    assert_eq!(gone, vec![m3.id, m2.id]);
    let header = store.chat(chat.id).unwrap().unwrap();
    assert_eq!(header.last_message_id, Some(m1.id));
    assert_eq!(header.message_count, 1);
    assert_eq!(store.member_state(chat.id, "b").unwrap().unread, 1);
    assert_eq!(store.count_unread(chat.id, "b").unwrap(), 1);
    let cursor = chats
        .call(chat.id, MarkRead { user: "b".into() })
        .await
        .unwrap();
    assert_eq!(cursor, m1.id);
    assert_eq!(store.member_state(chat.id, "b").unwrap().unread, 0);
    let kinds: Vec<&'static str> = events
        .take()
        .iter()
        .map(|e| match e {
            ChatEvent::Created { .. } => "created",
            ChatEvent::Updated(_) => "updated",
            ChatEvent::Deleted(_) => "deleted",
            ChatEvent::Read { .. } => "read",
            ChatEvent::Typing { .. } => "typing",
            ChatEvent::MembersAdded { .. } => "added",
            ChatEvent::MemberRemoved { .. } => "removed",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "created", "created", "created", "updated", "deleted", "read"
        ]
    );
}

#[actix_rt::test]
async fn blocked_individual_chats_refuse_messages() {
    let store = Store::temporary().unwrap();
    let (chats, _) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    store
        .set_friendship("a", "b", FriendshipStatus::Blocked, "b", 0)
        .unwrap();
    assert!(matches!(
        chats.call(chat.id, text("a", "hi")).await,
        Err(ChatError::Blocked)
    ));
}

#[actix_rt::test]
async fn typing_expires_and_ends_with_the_viewer() {
    let store = Store::temporary().unwrap();
    let (chats, events) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    let typing = |on: bool| Typing {
        user: "a".into(),
        name: if on { "Ann".into() } else { String::new() },
        is_typing: on,
    };
    chats.call(chat.id, typing(true)).await.unwrap();
    actix_rt::time::sleep(Duration::from_millis(250)).await;
    let seen = events.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1],
        ChatEvent::Typing {
            user: "a".into(),
            name: "Ann".into(),
            is_typing: false
        }
    );
    let view = View {
        socket: "s1".into(),
        user: "a".into(),
    };
    assert_eq!(chats.call(chat.id, view).await.unwrap(), vec!["a"]);
    chats.call(chat.id, typing(true)).await.unwrap();
    chats
        .call(
            chat.id,
            Unview {
                socket: "s1".into(),
            },
        )
        .await
        .unwrap();
    let seen = events.take();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(matches!(&seen[1], ChatEvent::Typing { is_typing: false, name, .. } if name == "Ann"));
    assert!(chats.call(chat.id, Viewers).await.unwrap().is_empty());
}

#[actix_rt::test]
async fn idle_chats_stop_and_come_back_with_their_state() {
    let store = Store::temporary().unwrap();
    let (chats, _) = start(&store);
    let (chat, _) = store.individual_chat("a", "b", 0).unwrap();
    chats.call(chat.id, text("a", "one")).await.unwrap();
    let view = View {
        socket: "s1".into(),
        user: "b".into(),
    };
    chats.call(chat.id, view).await.unwrap();
    assert_eq!(chats.running().await, 1);
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(chats.running().await, 1, "a viewed chat stays");
    assert!(
        chats
            .call_if_running(
                chat.id,
                Unview {
                    socket: "s1".into()
                }
            )
            .await
            .unwrap()
            .is_some()
    );
    actix_rt::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(chats.running().await, 0, "an idle chat stops");
    assert!(
        chats
            .call_if_running(chat.id, Viewers)
            .await
            .unwrap()
            .is_none()
    );
    chats.call(chat.id, text("a", "two")).await.unwrap();
    assert_eq!(store.member_state(chat.id, "b").unwrap().unread, 2);
    chats
        .call(chat.id, MarkRead { user: "b".into() })
        .await
        .unwrap();
    chats.call(chat.id, text("a", "three")).await.unwrap();
    let state = store.member_state(chat.id, "b").unwrap();
    assert_eq!(state.unread, 1);
    assert_eq!(store.count_unread(chat.id, "b").unwrap(), 1);
    assert_eq!(store.history(chat.id, None, 0, 10).unwrap().len(), 3);
}

#[actix_rt::test]
async fn group_members_are_added_and_removed_by_admins_and_counts_follow() {
    let store = Store::temporary().unwrap();
    let (chats, events) = start(&store);
    let group = store
        .create_group("g", &["a".into(), "b".into(), "c".into()], 0)
        .unwrap();
    assert_eq!(group.admins, vec!["a".to_string()]);
    let first = chats.call(group.id, text("b", "before d")).await.unwrap();
    let add = |by: &str, users: &[&str]| AddMembers {
        by: by.into(),
        users: users.iter().map(|u| u.to_string()).collect(),
    };
    assert!(matches!(
        chats.call(group.id, add("b", &["d"])).await,
        Err(ChatError::NotAdmin)
    ));
    let (header, added) = chats
        .call(group.id, add("a", &["d", "b", "d"]))
        .await
        .unwrap();
    assert_eq!(added, vec!["d".to_string()]);
    assert_eq!(header.members, vec!["a", "b", "c", "d"]);
    assert_eq!(store.chats_of("d").unwrap(), vec![group.id]);
    // d starts with what came before read.
    assert_eq!(store.member_state(group.id, "d").unwrap().cursor, first.id);
    chats.call(group.id, text("a", "with d")).await.unwrap();
    assert_eq!(store.member_state(group.id, "d").unwrap().unread, 1);
    assert_eq!(store.count_unread(group.id, "d").unwrap(), 1);

    let remove = |by: &str, user: &str| RemoveMember {
        by: by.into(),
        user: user.into(),
    };
    assert!(matches!(
        chats.call(group.id, remove("b", "c")).await,
        Err(ChatError::NotAdmin)
    ));
    let header = chats.call(group.id, remove("a", "c")).await.unwrap();
    assert_eq!(header.members, vec!["a", "b", "d"]);
    assert!(store.chats_of("c").unwrap().is_empty());
    assert!(matches!(
        chats.call(group.id, text("c", "gone")).await,
        Err(ChatError::NotMember)
    ));
    // The last admin leaves: the oldest member takes over.
    let header = chats.call(group.id, remove("a", "a")).await.unwrap();
    assert_eq!(header.admins, vec!["b".to_string()]);
    assert_eq!(store.chat(group.id).unwrap().unwrap(), header);
    let published = events.take();
    assert!(published.contains(&ChatEvent::MembersAdded {
        by: "a".into(),
        users: vec!["d".into()]
    }));
    assert!(published.contains(&ChatEvent::MemberRemoved {
        by: "a".into(),
        user: "c".into()
    }));
    // Individual chats take no members.
    let (pair, _) = store.individual_chat("x", "y", 0).unwrap();
    assert!(matches!(
        chats.call(pair.id, add("x", &["z"])).await,
        Err(ChatError::NotGroup)
    ));
}
