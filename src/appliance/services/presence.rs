//! Presence: a user is online while any of their sockets is connected, on
//! any device. The adapter tells us of the first and the last socket; this
//! module turns that into the events the seeds expect.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use confab_engine::iso;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::EventClaims;
use super::rooms::RoomPolicy;
use crate::{Io, Namespace, Presence, PresenceHook};

/// `[presence]` in the configuration; every event is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// An event a client emits with its user id to announce itself
    /// (nick-doc `user-online`): it joins its user room and `status_event`
    /// goes out with status `online`.
    pub online_event: Option<String>,
    /// Broadcast `{userId, status, lastSeen}`: `online` on `online_event`,
    /// `offline` when the user's last socket leaves.
    pub status_event: Option<String>,
    /// Broadcast `{userId, timestamp}` on a user's first socket (BAASIX
    /// `user.connected`).
    pub connected_event: Option<String>,
    /// Broadcast `{userId, timestamp}` when their last socket leaves.
    pub disconnected_event: Option<String>,
}

/// The adapter's presence hook. It is created before the engine (the
/// engine takes it at start), so the `Io` it emits with is filled in after.
pub fn hook(config: &PresenceConfig, io: Arc<OnceLock<Io>>) -> PresenceHook {
    let config = config.clone();
    Arc::new(move |presence| {
        let Some(io) = io.get() else { return };
        let emit = |event: &Option<String>, body: Value| {
            if let Some(event) = event {
                let _ = io.emit(event, &body);
            }
        };
        match presence {
            Presence::Online { user_id } => {
                emit(
                    &config.connected_event,
                    json!({ "userId": user_id, "timestamp": iso(SystemTime::now()) }),
                );
            }
            Presence::Offline { user_id, last_seen } => {
                let last_seen = iso(last_seen);
                emit(
                    &config.status_event,
                    json!({ "userId": user_id, "status": "offline", "lastSeen": last_seen }),
                );
                emit(
                    &config.disconnected_event,
                    json!({ "userId": user_id, "timestamp": last_seen }),
                );
            }
        }
    })
}

/// Installs the `online_event`, which only an authenticated socket may
/// emit, and only with its own user id (an anonymous one names itself so
/// when [`EventClaims`] are trusted).
pub fn install(
    ns: &mut Namespace,
    config: &PresenceConfig,
    rooms: Arc<RoomPolicy>,
    claims: EventClaims,
) {
    let (Some(online), Some(status)) = (config.online_event.clone(), config.status_event.clone())
    else {
        return;
    };
    ns.on(online, move |socket, payload, ack| {
        let (rooms, status) = (rooms.clone(), status.clone());
        async move {
            let claimed = payload.json().into_iter().next().as_ref().and_then(super::template::scalar);
            let user = claims.settle(&socket, claimed.as_deref()).await;
            let reply = match (user, claimed) {
                (Some(user), Some(claimed)) if user == claimed => {
                    socket.join([rooms.user_room(user)]).await;
                    let body = json!({ "userId": user, "status": "online", "lastSeen": iso(SystemTime::now()) });
                    let _ = socket.io().of(socket.nsp()).emit(&status, &body);
                    json!({ "success": true })
                }
                (None, _) => json!({ "success": false, "message": "unauthenticated" }),
                _ => json!({ "success": false, "message": "user id does not match the connection" }),
            };
            match ack {
                Some(ack) => {
                    let _ = ack.send(&reply);
                }
                None if reply["success"] == false => {
                    let _ = socket.emit("error", &reply);
                }
                None => {}
            }
        }
    });
}
