//! The chat's users and friendships, as a backend sets them:
//! `PUT`/`GET /api/users/{id}`, `GET /api/users/{id}/friendships`,
//! `PUT /api/friendships`. The functions behind them are the chat
//! service's ([`confab_chat_contract::admin`]).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Id, present};
use super::{Admin, Body, HttpError};
use crate::appliance::Appliance;
use confab_chat_contract::{ChatService, FriendshipStatus, Refusal, User};

impl From<Refusal> for HttpError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::UnknownUser => HttpError::not_found("user not found"),
            Refusal::Missing(message) => HttpError::not_found(message),
            Refusal::Internal => HttpError::internal("storage failure"),
            other => HttpError::bad_request(other.to_string()),
        }
    }
}

/// The chat service, which keeps the users.
fn chat(app: &Appliance) -> Result<&ChatService, HttpError> {
    app.chat()
        .ok_or_else(|| HttpError::not_found("the chat service is off ([chat] enabled = false)"))
}

/// The user named in the path, and the chat service that keeps users.
fn path_user<'a>(
    req: &HttpRequest,
    app: &'a Appliance,
) -> Result<(String, &'a ChatService), HttpError> {
    let id = Id::from_path(req.match_info().get("id").unwrap_or_default())?;
    Ok((id.0, chat(app)?))
}

fn user_json(chat: &ChatService, user: &User) -> Value {
    json!({
        "id": user.id,
        "name": user.name,
        "avatar": user.avatar,
        "isOnline": chat.is_online(&user.id),
    })
}

/// `{name?, avatar?}`: absent (or `null`) keeps what is stored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
}

/// `PUT /api/users/{id}`: `201 {user}` when new, `200 {user}` otherwise.
pub async fn put_user(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
    Body(body): Body<UserRequest>,
) -> Result<HttpResponse, HttpError> {
    let (id, chat) = path_user(&req, &app)?;
    let (user, created) = chat
        .update_user(&id, body.name.as_deref(), body.avatar.as_deref())
        .await?;
    let body = json!({ "user": user_json(chat, &user) });
    Ok(match created {
        true => HttpResponse::Created().json(body),
        false => HttpResponse::Ok().json(body),
    })
}

/// `GET /api/users/{id}`: `{user: {id, name, avatar, isOnline}}`.
pub async fn get_user(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
) -> Result<HttpResponse, HttpError> {
    let (id, chat) = path_user(&req, &app)?;
    let user = chat.user(&id)?.ok_or(Refusal::UnknownUser)?;
    Ok(HttpResponse::Ok().json(json!({ "user": user_json(chat, &user) })))
}

/// `GET /api/users/{id}/friendships`: every friendship of the user.
pub async fn friendships(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
) -> Result<HttpResponse, HttpError> {
    let (id, chat) = path_user(&req, &app)?;
    let list = chat
        .friendships(&id)?
        .iter()
        .map(|f| chat.friendship_card(f))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(json!({ "friendships": list })))
}

/// `{userId, otherUserId, status: 0-3 | null, by?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FriendshipRequest {
    pub user_id: Id,
    pub other_user_id: Id,
    #[serde(default, deserialize_with = "present")]
    pub status: Option<Value>,
    #[serde(default)]
    pub by: Option<Id>,
}

impl FriendshipRequest {
    /// The status asked for: `Some(None)` ends the friendship.
    pub fn status(&self) -> Result<Option<FriendshipStatus>, HttpError> {
        let bad = || {
            HttpError::bad_request(
                "`status` must be 0 (pending), 1 (accepted), 2 (rejected), 3 (blocked) or null (none)",
            )
        };
        match &self.status {
            None => Err(HttpError::bad_request("`status` is required")),
            Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u8::try_from(n).ok())
                .and_then(|n| FriendshipStatus::try_from(n).ok())
                .map(Some)
                .ok_or_else(bad),
            Some(_) => Err(bad()),
        }
    }
}

/// `PUT /api/friendships`: `{friendship}` as `userId` sees it (its
/// `userId` is the other user, as in `friendshipUpdated`).
pub async fn put_friendship(
    _: Admin,
    app: web::Data<Appliance>,
    Body(body): Body<FriendshipRequest>,
) -> Result<HttpResponse, HttpError> {
    let status = body.status()?;
    let (user, other) = (&body.user_id.0, &body.other_user_id.0);
    let by = body.by.as_ref().map_or(user, |by| &by.0);
    let chat = chat(&app)?;
    let friendship = match chat.set_friendship_status(user, other, status, by).await? {
        Some(f) => chat.friendship_card(&f)?,
        None => json!({ "userId": other, "friendshipStatus": null, "by": by }),
    };
    Ok(HttpResponse::Ok().json(json!({ "friendship": friendship })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::http::input::parse_body;

    fn status(body: &str) -> Result<Option<FriendshipStatus>, HttpError> {
        parse_body::<FriendshipRequest>(body.as_bytes())?.status()
    }

    #[test]
    fn statuses_are_the_seeds_numbers_or_null() {
        let with = |s: &str| status(&format!(r#"{{"userId":1,"otherUserId":"b","status":{s}}}"#));
        assert_eq!(with("0").unwrap(), Some(FriendshipStatus::Pending));
        assert_eq!(with("3").unwrap(), Some(FriendshipStatus::Blocked));
        assert_eq!(with("null").unwrap(), None);
        for bad in ["4", "-1", "1.5", "\"1\"", "true", "256"] {
            assert_eq!(with(bad).unwrap_err().status().as_u16(), 400, "{bad}");
        }
        assert!(status(r#"{"userId":1,"otherUserId":"b"}"#).is_err());
        assert!(status(r#"{"userId":true,"otherUserId":"b","status":1}"#).is_err());
    }
}
