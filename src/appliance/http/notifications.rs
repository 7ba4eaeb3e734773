//! `/api/notifications`: create (backends), list, count, mark seen and
//! delete (backends, or a user for their own).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Id, parse_body, present};
use super::{Admin, Body, Caller, HttpError, Query};
use crate::appliance::Appliance;
use crate::appliance::services::notifications::{
    MAX_LIST, NewNotification, Notification, NotificationStoreError, Notifications,
};

/// `{userId, type?, title?, message | body?, data?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRequest {
    pub user_id: Id,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Value>,
}

impl CreateRequest {
    pub fn validate(self) -> Result<NewNotification, HttpError> {
        let text = match (self.message, self.body) {
            (Some(m), Some(b)) if m != b => {
                return Err(HttpError::bad_request(
                    "give `message` or `body` (the same text), not two texts",
                ));
            }
            (m, b) => m.or(b).unwrap_or_default(),
        };
        let title = self.title.unwrap_or_default();
        if title.trim().is_empty() && text.trim().is_empty() {
            return Err(HttpError::bad_request(
                "a notification needs a `title` or a `message` (`body`)",
            ));
        }
        let kind = self.kind.unwrap_or_default();
        if kind.len() > 100 || title.len() > 1000 || text.len() > 100_000 {
            return Err(HttpError::bad_request(
                "`type`, `title` or `message` is too long",
            ));
        }
        Ok(NewNotification::new(self.user_id.0, title, text)
            .kind(kind)
            .data(self.data.unwrap_or(Value::Null)))
    }
}

pub async fn create(
    _: Admin,
    app: web::Data<Appliance>,
    Body(req): Body<CreateRequest>,
) -> Result<HttpResponse, HttpError> {
    let new = req.validate()?;
    let notifications = app.notifications();
    let n = notifications.create(new).await?;
    Ok(HttpResponse::Created().json(json!({ "notification": notifications.render(&n) })))
}

/// Whose notifications: the `userId` given (a backend must give one), or
/// the caller's own (a user token, which may name no one else).
pub fn subject(caller: &Caller, given: Option<Id>) -> Result<String, HttpError> {
    match (caller.user(), given) {
        (None, Some(Id(user))) => Ok(user),
        (None, None) => Err(HttpError::bad_request("`userId` is required")),
        (Some(own), None) => Ok(own.to_owned()),
        (Some(own), Some(Id(user))) if user == own => Ok(user),
        (Some(_), Some(_)) => Err(HttpError::forbidden(
            "a user token may only use its own notifications",
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ListQuery {
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub unseen: Option<bool>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn user_param(user: Option<String>) -> Option<Id> {
    user.map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .map(Id)
}

pub async fn list(
    caller: Caller,
    app: web::Data<Appliance>,
    Query(query): Query<ListQuery>,
) -> Result<HttpResponse, HttpError> {
    let user = subject(&caller, user_param(query.user_id))?;
    let limit = query.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIST {
        return Err(HttpError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIST}"
        )));
    }
    let notifications = app.notifications();
    let list = notifications.list(&user, query.unseen.unwrap_or(false), limit)?;
    let rendered: Vec<Value> = list.iter().map(|n| notifications.render(n)).collect();
    Ok(HttpResponse::Ok().json(json!({
        "notifications": rendered,
        "unreadCount": notifications.unread_count(&user)?,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserQuery {
    #[serde(default)]
    pub user_id: Option<String>,
}

pub async fn unread_count(
    caller: Caller,
    app: web::Data<Appliance>,
    Query(query): Query<UserQuery>,
) -> Result<HttpResponse, HttpError> {
    let user = subject(&caller, user_param(query.user_id))?;
    let count = app.notifications().unread_count(&user)?;
    Ok(HttpResponse::Ok().json(json!({ "unreadCount": count })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeenAllRequest {
    #[serde(default)]
    pub user_id: Option<Id>,
}

/// `POST /api/notifications/seen {userId}` (a user token may send no body).
pub async fn seen_all(
    caller: Caller,
    app: web::Data<Appliance>,
    body: web::Bytes,
) -> Result<HttpResponse, HttpError> {
    let req: SeenAllRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SeenAllRequest::default()
    } else {
        parse_body(&body)?
    };
    let user = subject(&caller, req.user_id)?;
    let notifications = app.notifications();
    let updated = notifications.mark_all_seen(&user).await?;
    Ok(HttpResponse::Ok().json(json!({
        "updated": updated,
        "unreadCount": notifications.unread_count(&user)?,
    })))
}

/// The notification of the path, if the caller may see it: a user only
/// sees theirs (others are "not found", as if absent).
fn visible(caller: &Caller, n: Option<Notification>, id: &str) -> Result<Notification, HttpError> {
    match n {
        Some(n) if caller.user().is_none_or(|own| own == n.user_id) => Ok(n),
        _ => Err(HttpError::not_found(format!("no notification `{id}`"))),
    }
}

fn path_id(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_owned()
}

pub async fn get(
    caller: Caller,
    req: HttpRequest,
    app: web::Data<Appliance>,
) -> Result<HttpResponse, HttpError> {
    let id = path_id(&req);
    let notifications = app.notifications();
    let n = visible(&caller, notifications.get(&id)?, &id)?;
    Ok(HttpResponse::Ok().json(json!({ "notification": notifications.render(&n) })))
}

/// Changes one notification the caller may see (checked before the
/// change), then answers with it as it is now and its user's unread count.
async fn change(
    caller: &Caller,
    req: &HttpRequest,
    app: &Appliance,
    op: impl AsyncFnOnce(&Notifications, &str) -> Result<Option<Notification>, NotificationStoreError>,
) -> Result<HttpResponse, HttpError> {
    let id = path_id(req);
    let notifications = app.notifications();
    visible(caller, notifications.get(&id)?, &id)?;
    let n = visible(caller, op(notifications, &id).await?, &id)?;
    Ok(HttpResponse::Ok().json(json!({
        "notification": notifications.render(&n),
        "unreadCount": notifications.unread_count(&n.user_id)?,
    })))
}

pub async fn seen(
    caller: Caller,
    req: HttpRequest,
    app: web::Data<Appliance>,
) -> Result<HttpResponse, HttpError> {
    change(&caller, &req, &app, async |n, id| n.mark_seen(id).await).await
}

pub async fn delete(
    caller: Caller,
    req: HttpRequest,
    app: web::Data<Appliance>,
) -> Result<HttpResponse, HttpError> {
    change(&caller, &req, &app, async |n, id| n.delete(id).await).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::identity::Identity;

    fn create(v: Value) -> Result<NewNotification, HttpError> {
        parse_body::<CreateRequest>(v.to_string().as_bytes())?.validate()
    }

    #[test]
    fn message_or_body() {
        let n = create(json!({"userId": 5, "type": "offer", "title": "New offer", "body": "You got one", "data": {"requestId": "r"}})).unwrap();
        assert_eq!(
            (n.user_id.as_str(), n.kind.as_str(), n.message.as_str()),
            ("5", "offer", "You got one")
        );
        assert_eq!(n.data, json!({"requestId": "r"}));
        let n = create(json!({"userId": "u", "title": "T", "message": "m"})).unwrap();
        assert_eq!(n.message, "m");
        assert_eq!(n.kind, "", "the store makes it `info`");
        assert!(create(json!({"userId": "u", "title": "T", "message": "a", "body": "b"})).is_err());
        assert!(create(json!({"userId": "u", "title": "T", "message": "a", "body": "a"})).is_ok());
        assert!(create(json!({"userId": "u"})).is_err(), "nothing to say");
        assert!(create(json!({"title": "T"})).is_err(), "no user");
        assert!(
            create(json!({"userId": "u", "title": "T", "text": "x"})).is_err(),
            "unknown field"
        );
    }

    fn user(id: &str) -> Caller {
        Caller::User(Identity {
            user_id: id.into(),
            name: None,
            avatar: None,
            roles: vec![],
            expires_at: None,
            claims: json!({}),
        })
    }

    #[test]
    fn users_read_their_own() {
        assert_eq!(subject(&Caller::Key, Some(Id("7".into()))).unwrap(), "7");
        assert_eq!(
            subject(&Caller::Key, None).unwrap_err().status().as_u16(),
            400
        );
        assert_eq!(subject(&user("7"), None).unwrap(), "7");
        assert_eq!(subject(&user("7"), Some(Id("7".into()))).unwrap(), "7");
        assert_eq!(
            subject(&user("7"), Some(Id("8".into())))
                .unwrap_err()
                .status()
                .as_u16(),
            403
        );
    }
}
