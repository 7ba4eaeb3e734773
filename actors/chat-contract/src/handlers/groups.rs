//! Group chats: `createGroup {name, userIds}`, `addParticipants
//! {chatHeaderId, userIds}`, `removeParticipant {chatHeaderId,
//! participantId}` (an admin), `leaveGroup {chatHeaderId}`. Each answers
//! the chat header as the caller sees it; the members get
//! `participantsAdded {chatHeaderId, userIds, by}` or `participantRemoved
//! {chatHeaderId, userId, by}`.

use serde_json::Value;

use super::lists::{header_json, members_json};
use super::{Ctx, Reply};
use crate::error::Refusal;

const CHAT: &[&str] = &["chatHeaderId"];

/// The user ids of `userIds` (or `participantIds`, `memberIds`).
fn users(ctx: &Ctx) -> Result<Vec<String>, Refusal> {
    let Some(items) = ctx
        .input
        .array(&["userIds", "participantIds", "memberIds"])?
    else {
        return Err(Refusal::invalid("userIds is required"));
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(Refusal::invalid("invalid userIds")),
        })
        .collect()
}

fn answer(ctx: &Ctx, header: &confab_chat::store::ChatRecord) -> Reply {
    let members = members_json(&ctx.service, header)?;
    let mut json = header_json(&ctx.service, header, &ctx.user, members)?;
    json["admins"] = header.admins.clone().into();
    Ok(json)
}

pub async fn create(ctx: Ctx) -> Reply {
    let name = ctx.input.text(&["name"])?.unwrap_or_default();
    let header = ctx
        .service
        .create_group_by(&ctx.user, &name, &users(&ctx)?)
        .await?;
    answer(&ctx, &header)
}

pub async fn add(ctx: Ctx) -> Reply {
    let chat = ctx.input.required_id(CHAT)?;
    let header = ctx
        .service
        .add_participants(&ctx.user, chat, &users(&ctx)?)
        .await?;
    answer(&ctx, &header)
}

pub async fn remove(ctx: Ctx) -> Reply {
    let chat = ctx.input.required_id(CHAT)?;
    let user = ctx
        .input
        .user(&["participantId", "otherUserId"])?
        .ok_or_else(|| Refusal::invalid("participantId is required"))?;
    let header = ctx
        .service
        .remove_participant(&ctx.user, chat, &user)
        .await?;
    answer(&ctx, &header)
}

pub async fn leave(ctx: Ctx) -> Reply {
    let chat = ctx.input.required_id(CHAT)?;
    ctx.service
        .remove_participant(&ctx.user, chat, &ctx.user)
        .await?;
    Ok(serde_json::json!({ "chatHeaderId": chat, "left": true }))
}
