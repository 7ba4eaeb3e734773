//! Group management for the application's server side:
//! `POST /api/chat/groups {name?, members}` (the caller creates it and is
//! its admin), `POST /api/chat/groups/{id}/participants {userIds}` (an
//! admin adds members) and `DELETE /api/chat/groups/{id}/participants/{userId}`
//! (an admin removes a member, or a member leaves). Each answers the group
//! as the caller sees it, with its `admins`; the chat's members get the
//! same events as when it is done through the socket events.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::{ChatRest, RestRefusal, success};
use crate::handlers::with_header;
use crate::input::parse_id;
use crate::wire::{GroupView, Left};

/// A group's name when the request names none.
const DEFAULT_NAME: &str = "Group";

fn body(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, RestRefusal> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(RestRefusal::bad_request("the body must be a JSON object")),
    }
}

/// The user ids of the first of `names` present: a non-empty array of
/// strings (or numbers).
fn user_ids(
    map: &serde_json::Map<String, Value>,
    names: &[&str],
) -> Result<Vec<String>, RestRefusal> {
    let Some(value) = names.iter().find_map(|n| map.get(*n)) else {
        return Err(RestRefusal::bad_request(format!(
            "{} is required",
            names[0]
        )));
    };
    let invalid = || RestRefusal::bad_request(format!("invalid {}", names[0]));
    let Value::Array(items) = value else {
        return Err(invalid());
    };
    if items.is_empty() {
        return Err(invalid());
    }
    items
        .iter()
        .map(|v| match v {
            Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(invalid()),
        })
        .collect()
}

fn group_id(text: &str) -> Result<u64, RestRefusal> {
    parse_id(&Value::String(text.to_owned())).ok_or_else(|| RestRefusal::bad_request("invalid id"))
}

fn answer(
    state: &ChatRest,
    header: &confab_chat::store::ChatRecord,
    caller: &str,
) -> Result<HttpResponse, RestRefusal> {
    Ok(with_header(&state.service, header, caller, |view| {
        success(GroupView {
            header: view,
            admins: &header.admins,
        })
    })?)
}

pub async fn create(
    req: HttpRequest,
    bytes: web::Bytes,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?.user_id;
    let map = body(&bytes)?;
    let name = match map.get("name") {
        None | Some(Value::Null) => DEFAULT_NAME.to_owned(),
        Some(Value::String(name)) => name.clone(),
        Some(_) => return Err(RestRefusal::bad_request("name must be a string")),
    };
    let members = user_ids(&map, &["members", "userIds"])?;
    let header = state
        .service
        .create_group_by(&caller, &name, &members)
        .await?;
    answer(&state, &header, &caller)
}

pub async fn add(
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?.user_id;
    let chat = group_id(&id)?;
    let users = user_ids(&body(&bytes)?, &["userIds", "members"])?;
    let header = state
        .service
        .add_participants(&caller, chat, &users)
        .await?;
    answer(&state, &header, &caller)
}

pub async fn remove(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<ChatRest>,
) -> Result<HttpResponse, RestRefusal> {
    let caller = state.caller(&req, false)?.user_id;
    let (id, user) = path.into_inner();
    let chat = group_id(&id)?;
    let header = state
        .service
        .remove_participant(&caller, chat, user.trim())
        .await?;
    if header.is_member(&caller) {
        answer(&state, &header, &caller)
    } else {
        // The caller left: they no longer see the group.
        Ok(success(Left {
            chat_header_id: chat,
            left: true,
        }))
    }
}
