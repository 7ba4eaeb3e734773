//! `findAllChatHeaders`, `getMyChats` and `getMyFriendships`: read straight
//! from the store (a chat list starts no actors), with online status from
//! presence.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use confab_chat::store::{
    ChatKind, ChatRecord, Friendship, FriendshipStatus, Message, Millis, Store, User,
};

use super::messages::Senders;
use super::{Ctx, Reply, reply};
use crate::error::Refusal;
use crate::lenient;
use crate::service::ChatService;
use crate::wire::{
    Contact, HeaderItem, HeaderView, Iso, MemberView, MessageView, MyChat, MyFriend, Page,
    friendship_status,
};

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
        let last = last_message(store, &header)?;
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

/// The chat's newest message, unless it was deleted.
fn last_message(store: &Store, header: &ChatRecord) -> Result<Option<Message>, Refusal> {
    Ok(match header.last_message_id {
        Some(m) => store.message(header.id, m)?.filter(|m| !m.is_deleted()),
        None => None,
    })
}

/// What a chat header shows beside its record, as one member sees it,
/// read from the store: its newest message and that message's sender,
/// the member's unread count, their friendship with the other member of
/// an individual chat. Its view borrows from here.
pub(crate) struct HeaderFacts {
    last: Option<(Message, User)>,
    unread: u64,
    friendship: Option<Friendship>,
}

impl HeaderFacts {
    pub(crate) fn read(
        service: &ChatService,
        header: &ChatRecord,
        user: &str,
    ) -> Result<HeaderFacts, Refusal> {
        let store = service.store();
        let last = last_message(store, header)?;
        let unread = store.member_state(header.id, user)?.unread;
        HeaderFacts::around(service, header, user, last, unread)
    }

    /// The facts around the chat's newest message and the member's unread
    /// count, already read (a chat list reads them to sort the chats).
    fn around(
        service: &ChatService,
        header: &ChatRecord,
        user: &str,
        last: Option<Message>,
        unread: u64,
    ) -> Result<HeaderFacts, Refusal> {
        let store = service.store();
        let last = last
            .map(|m| store.user_or_bare(&m.sender).map(|sender| (m, sender)))
            .transpose()?;
        let friendship = match header.other_member(user) {
            Some(other) => store.friendship(user, other)?,
            None => None,
        };
        Ok(HeaderFacts {
            last,
            unread,
            friendship,
        })
    }

    /// The header with these members.
    pub(crate) fn view<'a>(
        &'a self,
        header: &'a ChatRecord,
        members: &'a [MemberView<'a>],
    ) -> HeaderView<'a> {
        let last = self.last.as_ref().map(|(m, s)| MessageView::new(m, s));
        HeaderView::new(header, members, last, self.unread, self.friendship.as_ref())
    }
}

/// The stored users of a chat's members, for their views.
pub(crate) fn members_of(service: &ChatService, header: &ChatRecord) -> Result<Vec<User>, Refusal> {
    let store = service.store();
    header
        .members
        .iter()
        .map(|m| Ok(store.user_or_bare(m)?))
        .collect()
}

/// Members as a chat list shows them: online or not, none viewing.
fn member_views<'a>(service: &ChatService, users: &'a [User]) -> Vec<MemberView<'a>> {
    users
        .iter()
        .map(|user| MemberView::new(user, service.is_online(&user.id), false))
        .collect()
}

/// `header` as `user` sees it, with its members as a chat list shows
/// them, handed to `answer` (which encodes it).
pub(crate) fn with_header<R>(
    service: &ChatService,
    header: &ChatRecord,
    user: &str,
    answer: impl FnOnce(HeaderView<'_>) -> R,
) -> Result<R, Refusal> {
    let users = members_of(service, header)?;
    let members = member_views(service, &users);
    let facts = HeaderFacts::read(service, header, user)?;
    Ok(answer(facts.view(header, &members)))
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
    // Read everything first: the views borrow from it.
    let mut listed = Vec::new();
    for summary in all.into_iter().skip(skip).take(take) {
        // The newest message and the unread count were read to sort.
        let Summary {
            header,
            last,
            unread,
        } = summary;
        let users = members_of(&ctx.service, &header)?;
        let facts = HeaderFacts::around(&ctx.service, &header, &ctx.user, last, unread)?;
        let newer = match known.get(&header.id) {
            Some(after) => {
                let newer = store.messages_after(header.id, *after, settings.max_page)?;
                let senders = Senders::read(store, &newer)?;
                Some((newer, senders))
            }
            None => None,
        };
        listed.push((header, users, facts, newer));
    }
    let members: Vec<Vec<MemberView>> = listed
        .iter()
        .map(|(_, users, _, _)| member_views(&ctx.service, users))
        .collect();
    let items = listed
        .iter()
        .zip(&members)
        .map(|((header, _, facts, newer), members)| HeaderItem {
            header: facts.view(header, members),
            new_messages_count: newer.as_ref().map(|(newer, _)| newer.len()),
            new_messages: newer.as_ref().map(|(newer, senders)| senders.views(newer)),
        })
        .collect();
    reply(&Page {
        total_count: total,
        items,
    })
}

pub async fn my_chats(ctx: Ctx) -> Reply {
    let store = ctx.service.store();
    let mut listed = Vec::new();
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
        let online = ctx.service.is_online(other);
        listed.push((summary, user, friendship, online));
    }
    let chats: Vec<MyChat> = listed
        .iter()
        .map(|(summary, user, friendship, online)| MyChat {
            chat_header_id: summary.header.id,
            user_id: &user.id,
            user_name: user.name.as_deref(),
            user_avatar: user.avatar.as_deref(),
            last_message: summary.last.as_ref().map(|m| m.body.as_str()),
            last_message_time: summary.last.as_ref().map(|m| Iso(m.created_at)),
            creation_time: Iso(summary.header.created_at),
            is_online: *online,
            unread_count: summary.unread,
            friendship_status: friendship_status(friendship.as_ref()),
        })
        .collect();
    reply(&chats)
}

pub async fn my_friendships(ctx: Ctx) -> Reply {
    let store = ctx.service.store();
    let mut listed = Vec::new();
    for friendship in store.friendships_of(&ctx.user)? {
        if friendship.status != FriendshipStatus::Accepted {
            continue;
        }
        let friend = store.user_or_bare(&friendship.other)?;
        let chat = store.individual_between(&ctx.user, &friendship.other)?;
        let online = ctx.service.is_online(&friendship.other);
        listed.push((friend, online, chat));
    }
    let friends: Vec<MyFriend> = listed
        .iter()
        .map(|(friend, online, chat)| MyFriend {
            user_id: &friend.id,
            contact: Contact::new(friend, *online, *chat),
        })
        .collect();
    reply(&friends)
}
