//! Friendship management, which the seed reads but shows no way to make:
//! `requestFriendship`, `acceptFriendship`, `rejectFriendship`, `blockUser`,
//! `unblockUser`, each `{otherUserId}`. Both users get `friendshipUpdated`.
//! A change is acknowledged once it is durable, as messages are.

use serde::Deserialize;

use super::{Ctx, Reply, reply};
use crate::error::Refusal;
use crate::lenient;
use crate::wire::{FriendshipView, NoFriendship};

/// Every friendship event: the other user.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Friendship {
    #[serde(deserialize_with = "lenient::required_user")]
    other_user_id: String,
}

fn other(ctx: &Ctx) -> Result<String, Refusal> {
    Ok(lenient::read::<Friendship>(&ctx.input)?.other_user_id)
}

async fn durable(ctx: &Ctx) -> Result<(), Refusal> {
    Ok(ctx.service.store().durable().await?)
}

pub async fn request(ctx: Ctx) -> Reply {
    let f = ctx.service.request_friendship(&ctx.user, &other(&ctx)?)?;
    durable(&ctx).await?;
    reply(&FriendshipView::new(&f))
}

pub async fn accept(ctx: Ctx) -> Reply {
    let f = ctx.service.accept_friendship(&ctx.user, &other(&ctx)?)?;
    durable(&ctx).await?;
    reply(&FriendshipView::new(&f))
}

pub async fn reject(ctx: Ctx) -> Reply {
    let f = ctx.service.reject_friendship(&ctx.user, &other(&ctx)?)?;
    durable(&ctx).await?;
    reply(&FriendshipView::new(&f))
}

pub async fn block(ctx: Ctx) -> Reply {
    let f = ctx.service.block_user(&ctx.user, &other(&ctx)?)?;
    durable(&ctx).await?;
    reply(&FriendshipView::new(&f))
}

pub async fn unblock(ctx: Ctx) -> Reply {
    let other = other(&ctx)?;
    ctx.service.unblock_user(&ctx.user, &other)?;
    durable(&ctx).await?;
    reply(&NoFriendship {
        user_id: &other,
        friendship_status: None,
        by: None,
    })
}
