//! Group chats: `createGroup {name, userIds}`, `addParticipants
//! {chatHeaderId, userIds}`, `removeParticipant {chatHeaderId,
//! participantId}` (an admin), `leaveGroup {chatHeaderId}`. Each answers
//! the chat header as the caller sees it; the members get
//! `participantsAdded {chatHeaderId, userIds, by}` or `participantRemoved
//! {chatHeaderId, userId, by}`.

use serde::Deserialize;

use super::lists::with_header;
use super::{Ctx, Reply, reply};
use crate::lenient;
use crate::wire::{GroupView, Left};

/// `createGroup`: a named group of the caller and these users.
#[derive(Deserialize)]
struct CreateGroup {
    #[serde(deserialize_with = "lenient::text")]
    name: Option<String>,
    #[serde(
        rename = "userIds|participantIds|memberIds",
        deserialize_with = "lenient::required_users"
    )]
    users: Vec<String>,
}

/// `addParticipants`: users an admin adds to a group.
#[derive(Deserialize)]
struct AddParticipants {
    #[serde(rename = "chatHeaderId", deserialize_with = "lenient::required_id")]
    chat: u64,
    #[serde(
        rename = "userIds|participantIds|memberIds",
        deserialize_with = "lenient::required_users"
    )]
    users: Vec<String>,
}

/// `removeParticipant`: a member an admin removes.
#[derive(Deserialize)]
struct RemoveParticipant {
    #[serde(rename = "chatHeaderId", deserialize_with = "lenient::required_id")]
    chat: u64,
    #[serde(
        rename = "participantId|otherUserId",
        deserialize_with = "lenient::required_user"
    )]
    user: String,
}

/// `leaveGroup`: the group the caller leaves.
#[derive(Deserialize)]
struct LeaveGroup {
    #[serde(rename = "chatHeaderId", deserialize_with = "lenient::required_id")]
    chat: u64,
}

fn answer(ctx: &Ctx, header: &confab_chat::store::ChatRecord) -> Reply {
    with_header(&ctx.service, header, &ctx.user, |view| {
        reply(&GroupView {
            header: view,
            admins: &header.admins,
        })
    })?
}

pub async fn create(ctx: Ctx) -> Reply {
    let request: CreateGroup = lenient::read(&ctx.input)?;
    let name = request.name.unwrap_or_default();
    let header = ctx
        .service
        .create_group_by(&ctx.user, &name, &request.users)
        .await?;
    answer(&ctx, &header)
}

pub async fn add(ctx: Ctx) -> Reply {
    let AddParticipants { chat, users } = lenient::read(&ctx.input)?;
    let header = ctx
        .service
        .add_participants(&ctx.user, chat, &users)
        .await?;
    answer(&ctx, &header)
}

pub async fn remove(ctx: Ctx) -> Reply {
    let RemoveParticipant { chat, user } = lenient::read(&ctx.input)?;
    let header = ctx
        .service
        .remove_participant(&ctx.user, chat, &user)
        .await?;
    answer(&ctx, &header)
}

pub async fn leave(ctx: Ctx) -> Reply {
    let LeaveGroup { chat } = lenient::read(&ctx.input)?;
    ctx.service
        .remove_participant(&ctx.user, chat, &ctx.user)
        .await?;
    reply(&Left {
        chat_header_id: chat,
        left: true,
    })
}
