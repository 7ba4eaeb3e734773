//! `createMessage`, `findAllMessages`, `updateMessage`, `removeMessage`,
//! `readMessage`: everything that writes goes through the chat's actor.

use std::collections::HashMap;

use serde_json::{Value, json};

use confab_chat::store::{Message, MessageType, Store, User};
use confab_chat::{Append, Edit, MarkRead, Remove};

use super::{Ctx, Reply};
use crate::error::Refusal;
use crate::files;
use crate::input::{Input, parse_id};
use crate::settings::ChatSettings;
use crate::wire;

const CHAT: &[&str] = &["chatHeaderId"];

/// The message text (or file path): present, not blank, not too long.
fn body(input: &Input, settings: &ChatSettings) -> Result<String, Refusal> {
    let text = input.text(&["message"])?.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(Refusal::invalid("message is required"));
    }
    if text.chars().count() > settings.max_text_chars {
        return Err(Refusal::invalid(format!(
            "message is too long (at most {} characters)",
            settings.max_text_chars
        )));
    }
    Ok(text)
}

fn caption(input: &Input, settings: &ChatSettings) -> Result<Option<String>, Refusal> {
    let caption = input.text(&["caption"])?.filter(|c| !c.is_empty());
    if caption
        .as_ref()
        .is_some_and(|c| c.chars().count() > settings.max_caption_chars)
    {
        return Err(Refusal::invalid(format!(
            "caption is too long (at most {} characters)",
            settings.max_caption_chars
        )));
    }
    Ok(caption)
}

fn message_type(input: &Input) -> Result<MessageType, Refusal> {
    match input.count(&["messageType"]) {
        Ok(None) => Ok(MessageType::Text),
        Ok(Some(n)) => u8::try_from(n)
            .ok()
            .and_then(|n| MessageType::try_from(n).ok())
            .ok_or_else(|| Refusal::invalid("invalid messageType (0 to 4)")),
        Err(_) => Err(Refusal::invalid("invalid messageType (0 to 4)")),
    }
}

/// Messages as JSON, reading each sender once.
pub(crate) fn messages_json(store: &Store, messages: &[Message]) -> Result<Vec<Value>, Refusal> {
    let mut senders: HashMap<&str, User> = HashMap::new();
    let mut out = Vec::with_capacity(messages.len());
    for message in messages {
        if !senders.contains_key(message.sender.as_str()) {
            senders.insert(&message.sender, store.user_or_bare(&message.sender)?);
        }
        out.push(wire::message(message, &senders[message.sender.as_str()]));
    }
    Ok(out)
}

pub(crate) fn message_json(store: &Store, message: &Message) -> Result<Value, Refusal> {
    Ok(wire::message(
        message,
        &store.user_or_bare(&message.sender)?,
    ))
}

/// A media message naming one of this service's uploads must name one
/// its sender may read, of its kind: nobody shares a file they cannot see.
/// `true` when the body names such an upload.
fn check_upload(ctx: &Ctx, kind: MessageType, body: &str) -> Result<bool, Refusal> {
    let uploads = &ctx.service.settings().uploads;
    if kind == MessageType::Text || !files::is_upload_path(uploads, body) {
        return Ok(false);
    }
    let store = ctx.service.store();
    let Some(upload) = store.upload(body)? else {
        return Err(Refusal::invalid("unknown file: upload it first"));
    };
    if !store.may_read_upload(&upload, &ctx.user)? {
        return Err(Refusal::Chat("this file is not yours to share".into()));
    }
    if upload.kind != kind {
        return Err(Refusal::invalid(
            "messageType does not match the uploaded file",
        ));
    }
    Ok(true)
}

pub async fn create(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let chat = ctx.input.required_id(CHAT)?;
    let kind = message_type(&ctx.input)?;
    let body = body(&ctx.input, settings)?;
    let caption = caption(&ctx.input, settings)?;
    let names_upload = check_upload(&ctx, kind, &body)?;
    // Read once: the answer and the published event both show it.
    let sender = ctx.service.store().user_or_bare(&ctx.user)?;
    let append = Append {
        sender: sender.clone(),
        kind,
        body,
        caption,
        names_upload,
    };
    let message = ctx.service.chats().call(chat, append).await?;
    Ok(wire::new_message(chat, wire::message(&message, &sender)))
}

pub async fn find_all(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let chat = ctx.input.required_id(CHAT)?;
    let before = ctx.input.id(&["lastMessageId", "LastMessageId"])?;
    let skip = ctx.input.count(&["skipCount"])?.unwrap_or(0);
    let take = ctx
        .input
        .count(&["maxResultCount"])?
        .map_or(settings.default_page, |n| n as usize)
        .min(settings.max_page);
    let store = ctx.service.store();
    let header = store
        .chat(chat)?
        .ok_or_else(|| Refusal::Chat("chat not found".into()))?;
    if !header.is_member(&ctx.user) {
        return Err(Refusal::Chat("not a member of this chat".into()));
    }
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let page = store.history(chat, before, skip, take)?;
    Ok(wire::page(
        header.message_count,
        messages_json(store, &page)?,
    ))
}

pub async fn update(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let chat = ctx.input.required_id(CHAT)?;
    let id = ctx.input.required_id(&["id"])?;
    let edit = Edit {
        by: ctx.user.clone(),
        id,
        body: body(&ctx.input, settings)?,
        caption: caption(&ctx.input, settings)?,
    };
    if let Some(message) = ctx.service.store().message(chat, id)? {
        check_upload(&ctx, message.kind, &edit.body)?;
    }
    let message = ctx.service.chats().call(chat, edit).await?;
    message_json(ctx.service.store(), &message)
}

/// `ids` when it is a non-empty array (it wins over `id`), else `id`.
fn ids(input: &Input, settings: &ChatSettings) -> Result<Vec<u64>, Refusal> {
    let listed = input.array(&["ids"])?.filter(|ids| !ids.is_empty());
    let ids = match listed {
        Some(items) => items
            .iter()
            .map(|v| parse_id(v).ok_or_else(|| Refusal::invalid("invalid ids")))
            .collect::<Result<Vec<u64>, Refusal>>()?,
        None => match input.id(&["id"])? {
            Some(id) => vec![id],
            None => return Err(Refusal::invalid("id or ids is required")),
        },
    };
    if ids.len() > settings.max_remove {
        return Err(Refusal::invalid(format!(
            "too many ids (at most {})",
            settings.max_remove
        )));
    }
    Ok(ids)
}

pub async fn remove(ctx: Ctx) -> Reply {
    let chat = ctx.input.required_id(CHAT)?;
    let remove = Remove {
        by: ctx.user.clone(),
        ids: ids(&ctx.input, ctx.service.settings())?,
    };
    let ids = ctx.service.chats().call(chat, remove).await?;
    Ok(json!({ "chatHeaderId": chat, "ids": ids }))
}

pub async fn read(ctx: Ctx) -> Reply {
    let chat = ctx.input.required_id(CHAT)?;
    let read = MarkRead {
        user: ctx.user.clone(),
    };
    let cursor = ctx.service.chats().call(chat, read).await?;
    Ok(json!({ "chatHeaderId": chat, "lastReadMessageId": cursor, "unreadCount": 0 }))
}
