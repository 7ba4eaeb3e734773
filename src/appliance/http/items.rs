//! BAASIX's record events: `POST /api/items/{collection}/{action}` and
//! `POST /api/files/{action}`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::{Id, List};
use super::{Admin, Body, HttpError};
use crate::appliance::Appliance;
use crate::appliance::services::items::{self, FileAction, ItemAction};

/// `{item: {id, ...}, userId?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ItemRequest {
    pub item: Value,
    #[serde(default)]
    pub user_id: Option<Id>,
}

fn path_part<'a>(req: &'a HttpRequest, name: &str) -> &'a str {
    req.match_info().get(name).unwrap_or_default()
}

/// Checks the path and body of an item event.
pub fn validate_item(
    collection: &str,
    action: &str,
    body: &ItemRequest,
) -> Result<ItemAction, HttpError> {
    let action = ItemAction::parse(action).ok_or_else(|| {
        HttpError::bad_request(format!(
            "unknown item action `{action}` (created, updated or deleted)"
        ))
    })?;
    items::check_collection(collection).map_err(HttpError::bad_request)?;
    items::item_id(&body.item).map_err(HttpError::bad_request)?;
    Ok(action)
}

pub async fn item(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
    Body(body): Body<ItemRequest>,
) -> Result<HttpResponse, HttpError> {
    let collection = path_part(&req, "collection");
    let action = validate_item(collection, path_part(&req, "action"), &body)?;
    let user = body.user_id.as_ref().map(|id| id.0.as_str());
    app.item_event(collection, action, &body.item, user)?;
    let id = items::item_id(&body.item).map_err(HttpError::bad_request)?;
    Ok(HttpResponse::Ok().json(json!({
        "ok": true,
        "event": action.event(),
        "rooms": [items::collection_room(collection), items::item_room(collection, &id)],
    })))
}

/// `{file, user, rooms?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRequest {
    pub file: Value,
    pub user: Id,
    #[serde(default)]
    pub rooms: List,
}

pub fn validate_file(action: &str, body: &FileRequest) -> Result<FileAction, HttpError> {
    let action = FileAction::parse(action).ok_or_else(|| {
        HttpError::bad_request(format!(
            "unknown file action `{action}` (uploaded or deleted)"
        ))
    })?;
    if !body.file.is_object() {
        return Err(HttpError::bad_request("`file` must be an object"));
    }
    Ok(action)
}

pub async fn file(
    _: Admin,
    req: HttpRequest,
    app: web::Data<Appliance>,
    Body(body): Body<FileRequest>,
) -> Result<HttpResponse, HttpError> {
    let action = validate_file(path_part(&req, "action"), &body)?;
    app.file_event(action, &body.file, &body.user.0, &body.rooms.0)?;
    Ok(HttpResponse::Ok().json(json!({ "ok": true, "event": action.event() })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appliance::http::input::parse_body;

    #[test]
    fn item_events_are_checked() {
        let body: ItemRequest =
            parse_body(br#"{"item": {"id": 9, "title": "t"}, "userId": 3}"#).unwrap();
        assert_eq!(
            validate_item("posts", "created", &body).unwrap(),
            ItemAction::Created
        );
        assert!(validate_item("posts", "create", &body).is_err());
        assert!(validate_item("a:b", "created", &body).is_err());
        let no_id: ItemRequest = parse_body(br#"{"item": {"title": "t"}}"#).unwrap();
        assert!(validate_item("posts", "updated", &no_id).is_err());
        assert!(parse_body::<ItemRequest>(br#"{"userId": 3}"#).is_err());
    }

    #[test]
    fn file_events_are_checked() {
        let body: FileRequest = parse_body(br#"{"file": {"id": "f"}, "user": "u"}"#).unwrap();
        assert_eq!(
            validate_file("uploaded", &body).unwrap(),
            FileAction::Uploaded
        );
        assert!(validate_file("moved", &body).is_err());
        let not_object: FileRequest = parse_body(br#"{"file": "f", "user": "u"}"#).unwrap();
        assert!(validate_file("deleted", &not_object).is_err());
        assert!(
            parse_body::<FileRequest>(br#"{"file": {}}"#).is_err(),
            "user is required"
        );
    }
}
