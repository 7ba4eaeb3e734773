//! Relays: an event a client sends is passed on, as another event, to a
//! room the sender is in (nick-doc's `typing-start` → `user-typing` to
//! `chat-{chatId}`). Configuration, not code per event. What is passed on
//! is the client's own JSON and attachments ([`super::passthrough`]).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::auth::EventClaims;
use super::passthrough::{self, Fields, ObjectWriter, PassError};
use super::template::{self, from_arg};
use crate::appliance::identity::IDENTITY_DATA_KEY;
use crate::{Ack, Args, Namespace, Socket};

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
    /// a client cannot speak for another user (an anonymous one names
    /// itself there when `auth.trust_event_user_id` is on).
    #[serde(default)]
    pub user_field: Option<String>,
    /// Field that carries the sender's display name: the one from the
    /// token when it has one, whatever the client wrote.
    #[serde(default)]
    pub name_field: Option<String>,
}

/// Answers a refusal through the ack, or, with none, as an `error` event
/// (as the presence event does), so that no refusal goes unsaid.
fn refuse(socket: &Socket, ack: Option<Ack>, message: &str) {
    let reply = json!({ "success": false, "message": message });
    match ack {
        Some(ack) => {
            let _ = ack.send(&reply);
        }
        None => {
            let _ = socket.emit("error", &reply);
        }
    }
}

/// Installs every relay rule on `ns`.
pub fn install(ns: &mut Namespace, rules: &[RelayRule], claims: EventClaims) {
    for rule in rules {
        let rule = Arc::new(rule.clone());
        ns.on(rule.event.clone(), move |socket, payload, ack| {
            let rule = rule.clone();
            async move {
                let arg = payload.json().into_iter().next().unwrap_or(Value::Null);
                let Some(room) = template::render(&rule.room, from_arg(&arg)) else {
                    return refuse(&socket, ack, "missing room argument");
                };
                if !socket.rooms().await.contains(&room) {
                    return refuse(&socket, ack, "not a member of that room");
                }
                let mut ours = rule.set.clone();
                if let Some(field) = &rule.user_field {
                    let claimed = arg.get(field).and_then(template::scalar);
                    match claims.settle(&socket, claimed.as_deref()).await {
                        Some(user) => ours.insert(field.clone(), Value::String(user.to_owned())),
                        None => return refuse(&socket, ack, "unauthenticated"),
                    };
                }
                let name = socket
                    .data()
                    .get(IDENTITY_DATA_KEY)
                    .and_then(|identity| identity.get("name"));
                if let (Some(field), Some(name)) = (&rule.name_field, name.filter(|n| !n.is_null()))
                {
                    ours.insert(field.clone(), name.clone());
                }
                match body(&rule, payload.args(), ours) {
                    Ok(args) => socket.to(room).emit_args(&rule.emit, &args),
                    Err(err) => return refuse(&socket, ack, &err.to_string()),
                }
                if let Some(ack) = ack {
                    let _ = ack.send(&json!({ "success": true }));
                }
            }
        });
    }
}

/// What the room gets: the picked fields as the client sent them (its
/// order, its number text, its attachments), a field the relay sets in its
/// place, then the other fields the relay sets.
fn body(rule: &RelayRule, args: &Args, mut ours: Map<String, Value>) -> Result<Args, PassError> {
    let arguments = passthrough::arguments(args);
    let fields = arguments.first().map(|a| Fields::of(a)).unwrap_or_default();
    let mut out = ObjectWriter::new(args.attachments());
    for (name, value) in &fields.0 {
        if let Some(set) = ours.remove(name) {
            out.value(name, &set);
        } else if rule.pick.contains(name) {
            out.raw(name, value)?;
        }
    }
    for (name, value) in &ours {
        out.value(name, value);
    }
    Ok(out.finish())
}
