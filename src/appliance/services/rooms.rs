//! Which rooms a socket may join, and the events that join and leave them.
//!
//! One `join` event serves both shapes the seeds use: a room name with an
//! ack answered `{success, message}` (BAASIX), and `{rooms: [...]}` joining
//! the allowed subset (Ignis). Event rules (nick-doc's `join-*-room`) are
//! configuration, not code per event. Refusals are always answered.

use std::sync::Arc;

use futures_util::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::debug;
use wildmatch::WildMatch;

use super::auth::EventClaims;
use super::template::{self, from_arg};
use crate::{Ack, Namespace, Payload, Socket};

/// `[rooms]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RoomsConfig {
    /// The room an authenticated socket joins; `{id}` is the user id.
    pub user_room: String,
    /// Rooms every authenticated socket joins too.
    pub default_rooms: Vec<String>,
    /// Rooms clients may join themselves (`*` matches any text).
    pub allow: Vec<String>,
    /// The event that joins rooms (a name, or `{rooms: [...]}`).
    pub join_event: String,
    pub leave_event: String,
    /// Events that join or leave rooms built from their argument.
    pub rules: Vec<RoomRule>,
}

impl Default for RoomsConfig {
    fn default() -> Self {
        RoomsConfig {
            user_room: "user:{id}".into(),
            default_rooms: Vec::new(),
            allow: Vec::new(),
            join_event: "join".into(),
            leave_event: "leave".into(),
            rules: Vec::new(),
        }
    }
}

/// `[[rooms.rules]]`: `event` joins (or leaves) `rooms`, templates filled
/// from the event's argument (`{arg}` itself, or `{field}` of an object).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoomRule {
    pub event: String,
    pub action: RuleAction,
    pub rooms: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    Join,
    Leave,
}

/// An application's own say on joins (Ignis' room validator): given the
/// socket and the rooms the policy allows, it returns those it allows.
pub type RoomValidator =
    Arc<dyn Fn(Socket, Vec<String>) -> LocalBoxFuture<'static, Vec<String>> + Send + Sync>;

/// Why a room was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoomRefusal {
    #[error("another user's room")]
    ForeignUserRoom,
    #[error("a user room needs an authenticated socket (a token)")]
    Unauthenticated,
    #[error("room not allowed")]
    NotAllowed,
    #[error("refused by the room validator")]
    Validator,
}

/// The decision on each room a socket asks for.
pub struct RoomPolicy {
    user_room: String,
    allow: Vec<WildMatch>,
    validator: Option<RoomValidator>,
}

/// The outcome of one join request.
#[derive(Debug, Default, PartialEq)]
pub struct Admission {
    pub allowed: Vec<String>,
    pub refused: Vec<(String, RoomRefusal)>,
}

impl Admission {
    fn answer(&self) -> Value {
        let refused: Vec<Value> = self
            .refused
            .iter()
            .map(|(room, why)| json!({ "room": room, "message": why.to_string() }))
            .collect();
        json!({ "success": self.refused.is_empty(), "rooms": self.allowed, "refused": refused })
    }
}

impl RoomPolicy {
    pub fn new(config: &RoomsConfig, validator: Option<RoomValidator>) -> RoomPolicy {
        let allow = config.allow.iter().map(|p| WildMatch::new(p)).collect();
        RoomPolicy {
            user_room: config.user_room.clone(),
            allow,
            validator,
        }
    }

    pub fn user_room(&self, user_id: &str) -> String {
        template::user_room(&self.user_room, user_id)
    }

    /// The user whose room `room` is, if it has the shape of a user room.
    pub fn user_of_room<'r>(&self, room: &'r str) -> Option<&'r str> {
        let (prefix, suffix) = self
            .user_room
            .split_once("{id}")
            .unwrap_or((&self.user_room, ""));
        room.strip_prefix(prefix)?
            .strip_suffix(suffix)
            .filter(|user| !user.is_empty())
    }

    /// The static part of the decision: own user room yes, other users'
    /// rooms never, anything else by the allow patterns.
    pub fn check(&self, user_id: Option<&str>, room: &str) -> Result<(), RoomRefusal> {
        if user_id.is_some_and(|user| self.user_room(user) == room) {
            return Ok(());
        }
        if self.user_of_room(room).is_some() {
            return Err(match user_id {
                Some(_) => RoomRefusal::ForeignUserRoom,
                None => RoomRefusal::Unauthenticated,
            });
        }
        if self.allow.iter().any(|pattern| pattern.matches(room)) {
            return Ok(());
        }
        Err(RoomRefusal::NotAllowed)
    }

    /// Decides a join request: the checks, then the validator if any.
    pub async fn admit(&self, socket: &Socket, rooms: Vec<String>) -> Admission {
        let mut admission = Admission::default();
        for room in rooms {
            match self.check(socket.user_id(), &room) {
                Ok(()) => admission.allowed.push(room),
                Err(why) => admission.refused.push((room, why)),
            }
        }
        if let Some(validator) = &self.validator
            && !admission.allowed.is_empty()
        {
            let wanted = std::mem::take(&mut admission.allowed);
            let kept = validator(socket.clone(), wanted.clone()).await;
            for room in wanted {
                if kept.contains(&room) {
                    admission.allowed.push(room);
                } else {
                    admission.refused.push((room, RoomRefusal::Validator));
                }
            }
        }
        admission
    }
}

/// What a join or leave event asked for.
enum Request {
    /// `"room"`: answered `{success, message?}`.
    One(String),
    /// `{rooms: [...]}`: answered `{success, rooms, refused}`.
    Many(Vec<String>),
}

fn parse_request(payload: &Payload) -> Option<Request> {
    #[derive(Deserialize)]
    struct Rooms {
        rooms: Vec<String>,
    }
    if let Ok(room) = payload.decode::<String>() {
        return Some(Request::One(room));
    }
    payload
        .decode::<Rooms>()
        .ok()
        .map(|r| Request::Many(r.rooms))
}

/// Answers through the ack, or, with none, with a `room:refused` event, so
/// that no refusal goes unsaid.
fn answer(socket: &Socket, ack: Option<Ack>, answer: Value, refused: bool) {
    match ack {
        Some(ack) => {
            let _ = ack.send(&answer);
        }
        None if refused => {
            let _ = socket.emit("room:refused", &answer);
        }
        None => {}
    }
}

fn single_answer(admission: &Admission) -> Value {
    match admission.refused.first() {
        None => json!({ "success": true }),
        Some((_, why)) => json!({ "success": false, "message": why.to_string() }),
    }
}

/// Installs the join and leave events and the event rules.
pub fn install(
    ns: &mut Namespace,
    config: &RoomsConfig,
    policy: Arc<RoomPolicy>,
    claims: EventClaims,
) {
    let join_policy = policy.clone();
    ns.on(config.join_event.clone(), move |socket, payload, ack| {
        let policy = join_policy.clone();
        async move {
            let Some(request) = parse_request(&payload) else {
                let reply = json!({ "success": false, "message": "expected a room name or {rooms: [...]}" });
                return answer(&socket, ack, reply, true);
            };
            let (rooms, single) = match request {
                Request::One(room) => (vec![room], true),
                Request::Many(rooms) => (rooms, false),
            };
            let admission = policy.admit(&socket, rooms).await;
            debug!(socket = socket.id(), ?admission, "join");
            socket.join(admission.allowed.clone()).await;
            let reply = if single { single_answer(&admission) } else { admission.answer() };
            answer(&socket, ack, reply, !admission.refused.is_empty());
        }
    });
    let leave_policy = policy.clone();
    ns.on(config.leave_event.clone(), move |socket, payload, ack| {
        let policy = leave_policy.clone();
        async move {
            let rooms = match parse_request(&payload) {
                Some(Request::One(room)) => vec![room],
                Some(Request::Many(rooms)) => rooms,
                None => Vec::new(),
            };
            let own = socket.user_id().map(|user| policy.user_room(user));
            let rooms: Vec<String> = rooms
                .into_iter()
                .filter(|room| Some(room) != own.as_ref())
                .collect();
            socket.leave(rooms.clone()).await;
            answer(
                &socket,
                ack,
                json!({ "success": true, "rooms": rooms }),
                false,
            );
        }
    });
    for rule in &config.rules {
        install_rule(ns, rule.clone(), policy.clone(), claims);
    }
}

/// One event rule. A join rule naming a user room (`join-user-room`) makes
/// an anonymous socket that user's when [`EventClaims`] are trusted.
fn install_rule(ns: &mut Namespace, rule: RoomRule, policy: Arc<RoomPolicy>, claims: EventClaims) {
    let rule = Arc::new(rule);
    ns.on(rule.event.clone(), move |socket, payload, ack| {
        let (rule, policy) = (rule.clone(), policy.clone());
        async move {
            let arg = payload.json().into_iter().next().unwrap_or(Value::Null);
            let rooms: Option<Vec<String>> = rule.rooms.iter().map(|t| template::render(t, from_arg(&arg))).collect();
            let Some(rooms) = rooms else {
                let reply = json!({ "success": false, "message": format!("{} needs an argument", rule.event) });
                return answer(&socket, ack, reply, true);
            };
            match rule.action {
                RuleAction::Join => {
                    let claimed = rooms.iter().find_map(|room| policy.user_of_room(room));
                    claims.settle(&socket, claimed).await;
                    let admission = policy.admit(&socket, rooms).await;
                    socket.join(admission.allowed.clone()).await;
                    answer(&socket, ack, admission.answer(), !admission.refused.is_empty());
                }
                RuleAction::Leave => {
                    socket.leave(rooms.clone()).await;
                    answer(&socket, ack, json!({ "success": true, "rooms": rooms }), false);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], user_room: &str) -> RoomPolicy {
        let config = RoomsConfig {
            allow: allow.iter().map(|s| s.to_string()).collect(),
            user_room: user_room.into(),
            ..RoomsConfig::default()
        };
        RoomPolicy::new(&config, None)
    }

    #[test]
    fn own_user_room_yes_others_never() {
        let p = policy(&["*"], "user:{id}");
        assert_eq!(p.check(Some("7"), "user:7"), Ok(()));
        assert_eq!(
            p.check(Some("7"), "user:8"),
            Err(RoomRefusal::ForeignUserRoom)
        );
        assert_eq!(p.check(None, "user:8"), Err(RoomRefusal::Unauthenticated));
        assert_eq!(p.user_of_room("user:8"), Some("8"));
        assert_eq!(p.user_of_room("user:"), None);
        assert_eq!(p.user_of_room("chat:8"), None);
    }

    #[test]
    fn allow_patterns_decide_the_rest() {
        let p = policy(&["collection:*", "item:*", "discussion:*"], "user:{id}");
        assert_eq!(p.check(Some("1"), "collection:posts"), Ok(()));
        assert_eq!(p.check(Some("1"), "item:posts:9"), Ok(()));
        assert_eq!(p.check(Some("1"), "admin"), Err(RoomRefusal::NotAllowed));
    }

    #[test]
    fn user_room_templates_with_suffixes() {
        let p = policy(&["*"], "u-{id}-inbox");
        assert_eq!(p.check(Some("5"), "u-5-inbox"), Ok(()));
        assert_eq!(
            p.check(Some("5"), "u-6-inbox"),
            Err(RoomRefusal::ForeignUserRoom)
        );
        assert_eq!(
            p.check(Some("5"), "u--inbox"),
            Ok(()),
            "too short to be a user room"
        );
    }
}
