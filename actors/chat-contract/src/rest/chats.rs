//! `GET /api/chat/getChatHeaderAsync?user1Id=&user2Id=` (the individual
//! chat of two users, got or created, the caller being one of them) and
//! `GET /api/chat/{chatHeaderId}/messages?before=&after=&limit=` (history
//! for a reconnecting member).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{ChatRest, RestRefusal, success};
use crate::handlers::{Senders, with_header};
use crate::input::parse_id;
use crate::wire::{self, HeaderGot};

#[derive(Deserialize)]
pub struct Pair {
    #[serde(rename = "user1Id", alias = "User1Id")]
    user1: Option<String>,
    #[serde(rename = "user2Id", alias = "User2Id")]
    user2: Option<String>,
}

pub async fn chat_header(
    req: HttpRequest,
    pair: web::Query<Pair>,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?.user_id;
    let id = |v: &Option<String>, name: &str| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| RestRefusal::bad_request(format!("{name} is required")))
    };
    let (user1, user2) = (id(&pair.user1, "user1Id")?, id(&pair.user2, "user2Id")?);
    if user1 == user2 {
        return Err(RestRefusal::bad_request(
            "user1Id and user2Id are the same user",
        ));
    }
    let other = if caller == user1 {
        &user2
    } else if caller == user2 {
        &user1
    } else {
        return Err(RestRefusal::forbidden(
            "the caller must be user1Id or user2Id",
        ));
    };
    let service = &state.service;
    if service.store().user(other)?.is_none() {
        return Err(RestRefusal::not_found("user not found"));
    }
    let (header, created) = service.individual_chat(&user1, &user2)?;
    if created {
        service.store().durable().await?;
    }
    Ok(with_header(service, &header, &caller, |header| {
        success(HeaderGot { header, created })
    })?)
}

#[derive(Deserialize)]
pub struct Page {
    before: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

pub async fn history(
    req: HttpRequest,
    chat: web::Path<String>,
    page: web::Query<Page>,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?.user_id;
    let service = &state.service;
    let settings = service.settings();
    let id = |text: &str, name: &str| {
        parse_id(&serde_json::Value::String(text.to_owned()))
            .ok_or_else(|| RestRefusal::bad_request(format!("invalid {name}")))
    };
    let chat = id(&chat, "chatHeaderId")?;
    let before = page
        .before
        .as_deref()
        .map(|b| id(b, "before"))
        .transpose()?;
    let after = page.after.as_deref().map(|a| id(a, "after")).transpose()?;
    if before.is_some() && after.is_some() {
        return Err(RestRefusal::bad_request(
            "before and after do not go together",
        ));
    }
    let limit = match page.limit.as_deref() {
        None => settings.default_page,
        Some(l) => l
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| RestRefusal::bad_request("invalid limit"))?,
    }
    .min(settings.max_page);
    let store = service.store();
    let header = store
        .chat(chat)?
        .ok_or_else(|| RestRefusal::not_found("chat not found"))?;
    if !header.is_member(&caller) {
        return Err(RestRefusal::forbidden("not a member of this chat"));
    }
    let messages = match after {
        Some(after) => store.messages_after(chat, after, limit)?,
        None => store.history(chat, before, 0, limit)?,
    };
    let senders = Senders::read(store, &messages)?;
    Ok(success(wire::Page {
        total_count: header.message_count,
        items: senders.views(&messages),
    }))
}
