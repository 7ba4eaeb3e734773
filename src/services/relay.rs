//! Relays: an event a client sends is passed on, as another event, to a
//! room the sender is in (nick-doc's `typing-start` → `user-typing` to
//! `chat-{chatId}`). Configuration, not code per event.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::template::{self, from_arg};
use crate::identity::IDENTITY_DATA_KEY;
use crate::{Ack, Namespace};

/// `[[relays]]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayRule {
    /// The event a client sends; its argument is an object.
    pub event: String,
    /// The event the room gets.
    pub emit: String,
    /// The room, a template over the argument (`chat-{chatId}`).
    pub room: String,
    /// Fields of the argument passed on.
    #[serde(default)]
    pub pick: Vec<String>,
    /// Fields set in what is passed on (`{ isTyping = true }`).
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Field that carries the sender's user id, always the connection's own:
    /// a client cannot speak for another user.
    #[serde(default)]
    pub user_field: Option<String>,
    /// Field that carries the sender's display name: the one from the
    /// token when it has one, whatever the client wrote.
    #[serde(default)]
    pub name_field: Option<String>,
}

fn refuse(ack: Option<Ack>, message: &str) {
    if let Some(ack) = ack {
        let _ = ack.send(&json!({ "success": false, "message": message }));
    }
}

/// Installs every relay rule on `ns`.
pub fn install(ns: &mut Namespace, rules: &[RelayRule]) {
    for rule in rules {
        let rule = Arc::new(rule.clone());
        ns.on(rule.event.clone(), move |socket, payload, ack| {
            let rule = rule.clone();
            async move {
                let arg = payload.json().into_iter().next().unwrap_or(Value::Null);
                let Some(room) = template::render(&rule.room, from_arg(&arg)) else {
                    return refuse(ack, "missing room argument");
                };
                if !socket.rooms().await.contains(&room) {
                    return refuse(ack, "not a member of that room");
                }
                let mut body: Map<String, Value> = rule
                    .pick
                    .iter()
                    .filter_map(|f| arg.get(f).map(|v| (f.clone(), v.clone())))
                    .collect();
                body.extend(rule.set.clone());
                if let Some(field) = &rule.user_field {
                    match socket.user_id() {
                        Some(user) => body.insert(field.clone(), Value::String(user.to_owned())),
                        None => return refuse(ack, "unauthenticated"),
                    };
                }
                let name = socket
                    .data()
                    .get(IDENTITY_DATA_KEY)
                    .and_then(|identity| identity.get("name"));
                if let (Some(field), Some(name)) = (&rule.name_field, name.filter(|n| !n.is_null()))
                {
                    body.insert(field.clone(), name.clone());
                }
                let _ = socket.to(room).emit(&rule.emit, &Value::Object(body));
                if let Some(ack) = ack {
                    let _ = ack.send(&json!({ "success": true }));
                }
            }
        });
    }
}
