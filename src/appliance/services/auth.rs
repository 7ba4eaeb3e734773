//! Who a socket is: JWT authentication at CONNECT (SEAM, BAASIX) or by an
//! `authenticate` event within a timeout (Ignis), then the user's rooms.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::info;

use super::event_token::{EventToken, event_token};
use super::rooms::RoomPolicy;
use super::socket_policies::{DeferredAuthentication, PeriodicEvent};
use crate::appliance::identity::{IDENTITY_DATA_KEY, Identity, SocketTokens, Verifier};
use crate::{ConnectRequest, Namespace, Socket};

/// `[auth]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// `handshake`: the token comes with CONNECT; `deferred`: the socket
    /// connects unauthenticated and emits `event` in time.
    pub mode: AuthMode,
    /// Handshake mode: refuse a CONNECT without a token (otherwise the
    /// socket is anonymous: it has no user room and joins nothing private).
    pub required: bool,
    /// Deferred mode: time allowed to authenticate.
    pub timeout_ms: u64,
    pub event: String,
    pub success_event: String,
    pub failure_event: String,
    /// The periodic event authenticated sockets get (`ping {time}`), or none.
    pub ping_event: Option<String>,
    pub ping_interval_ms: u64,
    /// Compatibility for clients that send no token and say who they are
    /// in their events (nick-doc's, as its seed prints it). It trusts the
    /// client, as `identity.trust_query_user_id` does: anyone may claim to
    /// be anyone. See [`EventClaims`].
    pub trust_event_user_id: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Handshake,
            required: true,
            timeout_ms: 10_000,
            event: "authenticate".into(),
            success_event: "authenticated".into(),
            failure_event: "unauthenticated".into(),
            ping_event: None,
            ping_interval_ms: 30_000,
            trust_event_user_id: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    Handshake,
    Deferred,
}

/// Now, as the ISO 8601 text the seeds' payloads carry.
pub fn now_iso() -> String {
    confab_engine::iso(SystemTime::now())
}

/// Whether an anonymous socket becomes the user its events name
/// (`auth.trust_event_user_id`): a join rule's user room (`join-user-room
/// 7` → `user-7`), the presence online event (`user-online 7`), a relay's
/// user field (`typing-start {userId: 7}`). The first such event decides;
/// after that the socket is that user's for good, and an event naming
/// another user is refused as for a socket with a token. A socket that
/// came with a token is never changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventClaims {
    pub trusted: bool,
}

impl EventClaims {
    /// The socket's user, after letting an anonymous socket become
    /// `claimed` when claims are trusted.
    pub async fn settle<'s>(&self, socket: &'s Socket, claimed: Option<&str>) -> Option<&'s str> {
        if let (true, None, Some(claimed)) = (self.trusted, socket.user_id(), claimed) {
            // `false`: another event of this socket claimed first.
            if socket.authenticate(claimed).await {
                info!(
                    socket = socket.id(),
                    user = claimed,
                    "anonymous socket took the user its event names (auth.trust_event_user_id)"
                );
            }
        }
        socket.user_id()
    }
}

/// What authentication needs at run time.
pub struct Auth {
    pub config: AuthConfig,
    pub verifier: Arc<Verifier>,
    pub rooms: Arc<RoomPolicy>,
    pub default_rooms: Vec<String>,
}

impl Auth {
    /// Installs authentication on `ns`, in the configured mode.
    pub fn install(self: &Arc<Self>, ns: &mut Namespace) {
        match self.config.mode {
            AuthMode::Handshake => self.install_handshake(ns),
            AuthMode::Deferred => self.install_deferred(ns),
        }
        self.install_token_guard(ns);
        if let Some(event) = &self.config.ping_event {
            let interval = Duration::from_millis(self.config.ping_interval_ms);
            let payload = || json!({ "time": now_iso() });
            let wait_for_user = self.config.mode == AuthMode::Deferred;
            PeriodicEvent::install(ns, interval, event.clone(), payload, wait_for_user);
        }
    }

    /// Events may carry their own `accessToken` (seed 003 sends one with
    /// each call): when present it must be text, verify and name the
    /// connection's user, or the event is refused. The key is found as the
    /// JSON decoder reads it ([`event_token`]), whatever its spelling.
    /// A socket's token is verified once, not on every event
    /// ([`SocketTokens`]).
    fn install_token_guard(self: &Arc<Self>, ns: &mut Namespace) {
        let tokens = Arc::new(SocketTokens::default());
        let forget = tokens.clone();
        ns.on_disconnect(move |socket, _| {
            forget.forget(socket.id());
            std::future::ready(())
        });
        let auth = self.clone();
        ns.guard(move |socket, payload| {
            let token = match event_token(payload.args().json()) {
                EventToken::Absent => return Ok(()),
                EventToken::Text(token) => token,
                EventToken::NotText => return Err("accessToken must be a string".into()),
                EventToken::Repeated => return Err("accessToken given more than once".into()),
                EventToken::Malformed => return Err("malformed arguments".into()),
            };
            match tokens.user_of(&auth.verifier, socket.id(), &token) {
                Ok(user) if Some(user.as_str()) == socket.user_id() => Ok(()),
                Ok(_) => Err("accessToken names another user than the connection".into()),
                Err(_) => Err(auth.verifier.config().messages.invalid.clone()),
            }
        });
    }

    fn install_handshake(self: &Arc<Self>, ns: &mut Namespace) {
        let auth = self.clone();
        ns.middleware(move |req| {
            let auth = auth.clone();
            async move { auth.admit(req) }
        });
        let auth = self.clone();
        ns.on_connect(move |socket| {
            let auth = auth.clone();
            async move { auth.join_user_rooms(&socket).await }
        });
    }

    /// The CONNECT middleware: a valid token names the user; no token is
    /// refused unless anonymous sockets are allowed.
    fn admit(&self, mut req: ConnectRequest) -> Result<ConnectRequest, crate::ConnectError> {
        match self.verifier.authenticate(&req) {
            Ok(identity) => {
                describe(&mut req, &identity);
                Ok(req)
            }
            Err(_) if !self.config.required && !has_token(&self.verifier, &req) => Ok(req),
            Err(refusal) => Err(refusal),
        }
    }

    fn install_deferred(self: &Arc<Self>, ns: &mut Namespace) {
        let timeout = Duration::from_millis(self.config.timeout_ms);
        DeferredAuthentication::install(ns, timeout, [self.config.event.clone()]);
        let auth = self.clone();
        ns.on(self.config.event.clone(), move |socket, payload, ack| {
            let auth = auth.clone();
            async move {
                let token = payload.json().into_iter().next().and_then(|arg| match arg {
                    Value::String(token) => Some(token),
                    other => other
                        .get("token")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                });
                let outcome = auth.authenticate_later(&socket, token).await;
                if let Some(ack) = ack {
                    let _ = ack.send(&outcome);
                }
            }
        });
    }

    /// The `authenticate` event: a token in the event, or the one the
    /// handshake carried. Success: `authenticated {id, time}` and the user's
    /// rooms; failure: `unauthenticated {message}` and a disconnect.
    async fn authenticate_later(&self, socket: &Socket, token: Option<String>) -> Value {
        if let Some(user) = socket.user_id() {
            return json!({ "success": true, "userId": user });
        }
        let mut auth = socket.auth().clone();
        if let (Some(token), Some(map)) = (token, auth.as_object_mut()) {
            map.insert("token".into(), Value::String(token));
        }
        let req = ConnectRequest {
            nsp: socket.nsp().to_owned(),
            auth,
            handshake: socket.handshake().clone(),
            user_id: None,
            data: serde_json::Map::new(),
        };
        match self.verifier.authenticate(&req) {
            Ok(identity) => {
                socket.authenticate(identity.user_id.clone()).await;
                self.join_user_rooms(socket).await;
                let body = json!({ "id": socket.id(), "time": now_iso() });
                let _ = socket.emit(&self.config.success_event, &body);
                json!({ "success": true, "userId": identity.user_id })
            }
            Err(refusal) => {
                info!(
                    target: confab_engine::CONNECTIONS,
                    socket = socket.id(),
                    nsp = socket.nsp(),
                    reason = refusal.message,
                    "authentication refused"
                );
                let _ = socket.emit(
                    &self.config.failure_event,
                    &json!({ "message": refusal.message }),
                );
                socket.disconnect();
                json!({ "success": false, "message": refusal.message })
            }
        }
    }

    /// An authenticated socket joins its user room and the default rooms.
    async fn join_user_rooms(&self, socket: &Socket) {
        let Some(user) = socket.user_id() else { return };
        let rooms =
            std::iter::once(self.rooms.user_room(user)).chain(self.default_rooms.iter().cloned());
        socket.join(rooms).await;
    }
}

/// Records the identity on the CONNECT: the user, and the whole identity
/// (name, avatar, roles) for the handlers, where the Verifier's own
/// middleware puts it.
fn describe(req: &mut ConnectRequest, identity: &Identity) {
    req.user_id = Some(identity.user_id.clone());
    let value = serde_json::to_value(identity).unwrap_or(Value::Null);
    req.data.insert(IDENTITY_DATA_KEY.into(), value);
}

fn has_token(verifier: &Verifier, req: &ConnectRequest) -> bool {
    verifier.token_of(req).is_some()
}
