//! `findAllChatHeaders`, `getMyChats` and `getMyFriendships`: read straight
//! from the store (a chat list starts no actors), with online status from
//! presence.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::{Value, json};

use confab_chat::store::{ChatKind, ChatRecord, FriendshipStatus, Message, Millis};

use super::messages::{message_json, messages_json};
use super::{Ctx, Reply};
use crate::error::Refusal;
use crate::lenient;
use crate::service::ChatService;
use crate::wire::{self, HeaderView};

/// A chat of the caller, with its newest message and their unread count.
struct Summary {
    header: ChatRecord,
    last: Option<Message>,
    unread: u64,
}

impl Summary {
    /// When it last changed: its newest message, or its creation.
    fn activity(&self) -> Millis {
        self.last
            .as_ref()
            .map_or(self.header.created_at, |m| m.created_at)
    }
}

/// Every chat of `user`, most recently active first.
fn summaries(service: &ChatService, user: &str) -> Result<Vec<Summary>, Refusal> {
    let store = service.store();
    let mut out = Vec::new();
    for id in store.chats_of(user)? {
        let Some(header) = store.chat(id)? else {
            continue;
        };
        let last = match header.last_message_id {
            Some(m) => store.message(id, m)?.filter(|m| !m.is_deleted()),
            None => None,
        };
        let unread = store.member_state(id, user)?.unread;
        out.push(Summary {
            header,
            last,
            unread,
        });
    }
    out.sort_by(|a, b| {
        b.activity()
            .cmp(&a.activity())
            .then(b.header.id.cmp(&a.header.id))
    });
    Ok(out)
}

/// A chat header as `user` sees it, with the given members.
pub(crate) fn header_json(
    service: &ChatService,
    header: &ChatRecord,
    user: &str,
    members: Vec<Value>,
) -> Result<Value, Refusal> {
    let store = service.store();
    let last = match header.last_message_id {
        Some(m) => store.message(header.id, m)?.filter(|m| !m.is_deleted()),
        None => None,
    };
    let friendship = match header.other_member(user) {
        Some(other) => store.friendship(user, other)?,
        None => None,
    };
    let view = HeaderView {
        header,
        members,
        last_message: last.as_ref().map(|m| message_json(store, m)).transpose()?,
        last_message_time: last.as_ref().map(|m| m.created_at),
        unread: store.member_state(header.id, user)?.unread,
        friendship: friendship.as_ref(),
    };
    Ok(view.to_json())
}

pub(crate) fn members_json(
    service: &ChatService,
    header: &ChatRecord,
) -> Result<Vec<Value>, Refusal> {
    header
        .members
        .iter()
        .map(|m| {
            let user = service.store().user_or_bare(m)?;
            Ok(wire::member(&user, service.is_online(m), false))
        })
        .collect()
}

/// `findAllChatHeaders`: a page of the caller's chats; for the rooms the
/// client holds, the messages after the last one it has.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FindAllChatHeaders {
    #[serde(deserialize_with = "lenient::count")]
    skip_count: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    max_result_count: Option<u64>,
    #[serde(deserialize_with = "known_rooms")]
    rooms_with_last_message_ids: Option<Vec<KnownRoom>>,
}

/// A room the client holds, up to its last message (none: from the start).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KnownRoom {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "last_message_id")]
    last_message_id: u64,
}

fn known_rooms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<KnownRoom>>, D::Error> {
    lenient::list(d)
}

/// A known room's last message id: a number (as the seed's clients send
/// it), 0 when absent.
struct LastMessageId;

impl<'de> Visitor<'de> for LastMessageId {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message id")
    }

    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<u64, E> {
        Ok(n)
    }
}

fn last_message_id<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(LastMessageId)
}

pub async fn chat_headers(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let request: FindAllChatHeaders = lenient::read(&ctx.input)?;
    let skip = request.skip_count.unwrap_or(0) as usize;
    let take = request
        .max_result_count
        .map_or(20, |n| n as usize)
        .min(settings.max_page);
    let known: HashMap<u64, u64> = request
        .rooms_with_last_message_ids
        .into_iter()
        .flatten()
        .map(|room| (room.chat_header_id, room.last_message_id))
        .collect();
    let all = summaries(&ctx.service, &ctx.user)?;
    let total = all.len() as u64;
    let store = ctx.service.store();
    let mut items = Vec::new();
    for summary in all.into_iter().skip(skip).take(take) {
        let header = &summary.header;
        let members = members_json(&ctx.service, header)?;
        let mut json = header_json(&ctx.service, header, &ctx.user, members)?;
        if let Some(after) = known.get(&header.id) {
            let newer = store.messages_after(header.id, *after, settings.max_page)?;
            json["newMessagesCount"] = json!(newer.len());
            json["newMessages"] = Value::Array(messages_json(store, &newer)?);
        }
        items.push(json);
    }
    Ok(wire::page(total, items))
}

pub async fn my_chats(ctx: Ctx) -> Reply {
    let store = ctx.service.store();
    let mut out = Vec::new();
    for summary in summaries(&ctx.service, &ctx.user)? {
        let header = &summary.header;
        if header.kind != ChatKind::Individual {
            continue;
        }
        let Some(other) = header.other_member(&ctx.user) else {
            continue;
        };
        let user = store.user_or_bare(other)?;
        let friendship = store.friendship(&ctx.user, other)?;
        out.push(json!({
            "chatHeaderId": header.id,
            "userId": user.id,
            "userName": user.name,
            "userAvatar": user.avatar,
            "lastMessage": summary.last.as_ref().map(|m| m.body.clone()),
            "lastMessageTime": summary.last.as_ref().map(|m| confab_engine::iso_millis(m.created_at)),
            "creationTime": confab_engine::iso_millis(header.created_at),
            "isOnline": ctx.service.is_online(other),
            "unreadCount": summary.unread,
            "friendshipStatus": wire::friendship_status(friendship.as_ref()),
        }));
    }
    Ok(Value::Array(out))
}

pub async fn my_friendships(ctx: Ctx) -> Reply {
    let store = ctx.service.store();
    let mut out = Vec::new();
    for friendship in store.friendships_of(&ctx.user)? {
        if friendship.status != FriendshipStatus::Accepted {
            continue;
        }
        let friend = store.user_or_bare(&friendship.other)?;
        let chat = store.individual_between(&ctx.user, &friendship.other)?;
        out.push(json!({
            "userId": friend.id,
            "name": friend.name,
            "avatar": friend.avatar,
            "isOnline": ctx.service.is_online(&friendship.other),
            "chatHeaderId": chat,
        }));
    }
    Ok(Value::Array(out))
}
