//! BAASIX's record events: `item.created|updated|deleted` to the rooms of a
//! collection and of the item, `file.uploaded|deleted` to the user.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::template;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemAction {
    Created,
    Updated,
    Deleted,
}

impl ItemAction {
    pub fn parse(text: &str) -> Option<ItemAction> {
        match text {
            "created" => Some(ItemAction::Created),
            "updated" => Some(ItemAction::Updated),
            "deleted" => Some(ItemAction::Deleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ItemAction::Created => "created",
            ItemAction::Updated => "updated",
            ItemAction::Deleted => "deleted",
        }
    }

    /// `item.created`, ...
    pub fn event(self) -> String {
        format!("item.{}", self.as_str())
    }
}

impl fmt::Display for ItemAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    Uploaded,
    Deleted,
}

impl FileAction {
    pub fn parse(text: &str) -> Option<FileAction> {
        match text {
            "uploaded" => Some(FileAction::Uploaded),
            "deleted" => Some(FileAction::Deleted),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FileAction::Uploaded => "uploaded",
            FileAction::Deleted => "deleted",
        }
    }

    /// `file.uploaded`, ...
    pub fn event(self) -> String {
        format!("file.{}", self.as_str())
    }
}

impl fmt::Display for FileAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The room of a collection: `collection:{name}`.
pub fn collection_room(collection: &str) -> String {
    format!("collection:{collection}")
}

/// The room of one item: `item:{collection}:{id}`.
pub fn item_room(collection: &str, id: &str) -> String {
    format!("item:{collection}:{id}")
}

/// Checks a collection name: not empty, at most 200 bytes, no `:` (it
/// separates the parts of room names) and no control characters.
pub fn check_collection(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the collection name must not be empty".into());
    }
    if name.len() > 200 {
        return Err("the collection name is longer than 200 bytes".into());
    }
    if name.contains(':') || name.chars().any(char::is_control) {
        return Err("the collection name must not contain `:` or control characters".into());
    }
    Ok(())
}

/// The id of an item (`item.id`, a string or a whole number), as text.
pub fn item_id(item: &Value) -> Result<String, String> {
    if !item.is_object() {
        return Err("`item` must be an object with an `id`".into());
    }
    match item.get("id") {
        None | Some(Value::Null) => Err("`item.id` is required".into()),
        Some(id) => template::scalar(id)
            .ok_or_else(|| "`item.id` must be a non-empty string or a number".into()),
    }
}

/// The `item.*` payload: `{collection, item, userId, timestamp}`.
pub fn item_payload(
    collection: &str,
    item: &Value,
    user_id: Option<&str>,
    timestamp: &str,
) -> Value {
    json!({
        "collection": collection,
        "item": item,
        "userId": user_id,
        "timestamp": timestamp,
    })
}

/// The `file.*` payload: `{file, action, user}`.
pub fn file_payload(file: &Value, action: FileAction, user: &str) -> Value {
    json!({ "file": file, "action": action.as_str(), "user": user })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_events() {
        assert_eq!(
            ItemAction::parse("created").unwrap().event(),
            "item.created"
        );
        assert_eq!(
            ItemAction::parse("updated").unwrap().event(),
            "item.updated"
        );
        assert_eq!(
            ItemAction::parse("deleted").unwrap().event(),
            "item.deleted"
        );
        assert_eq!(ItemAction::parse("create"), None);
        assert_eq!(
            FileAction::parse("uploaded").unwrap().event(),
            "file.uploaded"
        );
        assert_eq!(
            FileAction::parse("deleted").unwrap().event(),
            "file.deleted"
        );
        assert_eq!(FileAction::parse("removed"), None);
    }

    #[test]
    fn item_ids_and_rooms() {
        assert_eq!(item_id(&json!({"id": "p1"})).unwrap(), "p1");
        assert_eq!(item_id(&json!({"id": 42})).unwrap(), "42");
        assert!(item_id(&json!({"id": ""})).is_err());
        assert!(item_id(&json!({"id": null})).is_err());
        assert!(item_id(&json!({"title": "x"})).is_err());
        assert!(item_id(&json!([1])).is_err());
        assert!(item_id(&json!({"id": {"a": 1}})).is_err());
        assert_eq!(collection_room("posts"), "collection:posts");
        assert_eq!(item_room("posts", "42"), "item:posts:42");
        assert!(check_collection("posts").is_ok());
        assert!(check_collection("").is_err());
        assert!(check_collection("a:b").is_err());
    }

    #[test]
    fn payloads_have_the_seed_shape() {
        let item = json!({"id": "item-id", "title": "Hello"});
        assert_eq!(
            item_payload("posts", &item, Some("u1"), "2025-01-15T10:30:00.000Z"),
            json!({"collection": "posts", "item": item, "userId": "u1", "timestamp": "2025-01-15T10:30:00.000Z"})
        );
        assert_eq!(
            item_payload("posts", &item, None, "t")["userId"],
            Value::Null
        );
        let file = json!({"id": "file_id", "filename": "example.jpg", "size": 1024, "mimetype": "image/jpeg"});
        assert_eq!(
            file_payload(&file, FileAction::Uploaded, "user_id"),
            json!({"file": file, "action": "uploaded", "user": "user_id"})
        );
    }
}
