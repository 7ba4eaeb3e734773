//! `joinRoom` (by chat id, or get-or-create by `otherUserId`), `leaveRoom`
//! and `roomTyping`: the socket's room and the chat actor's viewing and
//! typing state.

use serde::Deserialize;

use confab_chat::store::ChatRecord;
use confab_chat::{Typing, Unview, View};

use super::lists::{HeaderFacts, members_of};
use super::{Ctx, Reply, reply};
use crate::error::Refusal;
use crate::lenient;
use crate::wire::{Joined, Left, MemberJoined, MemberView, Profile, TypingSet};

/// `joinRoom`: a chat by id, or the individual chat with another user
/// (the chat wins; the other user is read only without one).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JoinRoom {
    #[serde(deserialize_with = "lenient::id")]
    chat_header_id: Option<u64>,
    #[serde(deserialize_with = "lenient::user_if_needed")]
    other_user_id: Result<Option<String>, String>,
}

/// `leaveRoom`: the chat to stop viewing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaveRoom {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
}

/// `roomTyping`: who types (or stopped) in a chat, under what name.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoomTyping {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "lenient::required_flag")]
    is_typing: bool,
    #[serde(deserialize_with = "lenient::text")]
    name: Option<String>,
}

/// The chat `joinRoom` names: an existing one the caller is in, or the
/// individual chat with `otherUserId`, created if needed (`true` then).
fn target(ctx: &Ctx) -> Result<(ChatRecord, bool), Refusal> {
    let store = ctx.service.store();
    let request: JoinRoom = lenient::read(&ctx.input)?;
    if let Some(id) = request.chat_header_id {
        let header = store
            .chat(id)?
            .ok_or_else(|| Refusal::Chat("chat not found".into()))?;
        if !header.is_member(&ctx.user) {
            return Err(Refusal::Chat("not a member of this chat".into()));
        }
        return Ok((header, false));
    }
    let Some(other) = request.other_user_id.map_err(Refusal::Invalid)? else {
        return Err(Refusal::invalid("chatHeaderId or otherUserId is required"));
    };
    if other == ctx.user {
        return Err(Refusal::invalid("otherUserId is the caller"));
    }
    if store.user(&other)?.is_none() {
        return Err(Refusal::UnknownUser);
    }
    Ok(ctx.service.individual_chat(&ctx.user, &other)?)
}

pub async fn join(ctx: Ctx) -> Reply {
    let (header, created) = target(&ctx)?;
    let (service, socket) = (&ctx.service, &ctx.socket);
    if created {
        // The client keeps the id it is given: it must outlive a crash.
        service.store().durable().await?;
    }
    let view = View {
        socket: socket.id().to_owned(),
        user: ctx.user.clone(),
    };
    let viewers = service.chats().call(header.id, view).await?;
    service.sockets().view(socket.id(), header.id);
    let room = service.settings().chat_room(header.id);
    socket.join([room.clone()]).await;

    let me = service.store().user_or_bare(&ctx.user)?;
    let joined = MemberJoined {
        chat_header_id: header.id,
        user: Profile::new(&me),
    };
    let _ = socket.to(room).emit("onMemberJoin", &joined);

    let users = members_of(service, &header)?;
    let members: Vec<MemberView> = users
        .iter()
        .map(|user| {
            let (online, viewing) = (service.is_online(&user.id), viewers.contains(&user.id));
            MemberView::new(user, online, viewing)
        })
        .collect();
    let facts = HeaderFacts::read(service, &header, &ctx.user)?;
    let chat_header = facts.view(&header, &members);
    reply(&Joined {
        chat_header_id: header.id,
        friendship_status: chat_header.friendship_status,
        chat_header,
        joined: true,
        room_members: &members,
        current_member: MemberView::new(&me, true, true),
        members: &members,
    })
}

pub async fn leave(ctx: Ctx) -> Reply {
    let chat = lenient::read::<LeaveRoom>(&ctx.input)?.chat_header_id;
    let (service, socket) = (&ctx.service, &ctx.socket);
    let unview = Unview {
        socket: socket.id().to_owned(),
    };
    service.chats().call_if_running(chat, unview).await?;
    service.sockets().unview(socket.id(), chat);
    socket.leave([service.settings().chat_room(chat)]).await;
    reply(&Left {
        chat_header_id: chat,
        left: true,
    })
}

pub async fn typing(ctx: Ctx) -> Reply {
    let request: RoomTyping = lenient::read(&ctx.input)?;
    let (chat, is_typing) = (request.chat_header_id, request.is_typing);
    let name = match request.name.filter(|n| !n.trim().is_empty()) {
        Some(name) => name.chars().take(100).collect(),
        None => {
            let me = ctx.service.store().user_or_bare(&ctx.user)?;
            me.name.unwrap_or(me.id)
        }
    };
    let typing = Typing {
        user: ctx.user.clone(),
        name,
        is_typing,
    };
    ctx.service.chats().call(chat, typing).await?;
    reply(&TypingSet {
        chat_header_id: chat,
        is_typing,
    })
}
