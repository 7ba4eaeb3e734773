//! What the admin namespace says and hears: the live picture of every
//! namespace's sockets (kept from their connect and disconnect handlers,
//! the adapter's room hook and the engine's upgrade hook), the events
//! pushed to connected admins, the periodic server stats, and the UI's
//! actions on sockets.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};
use tracing::debug;

use super::auth::NEW_SESSION;
use super::serialize::{self, ServerStats};
use crate::{Args, Engine, Namespace, Payload, RoomChange, RoomHook, Socket, UpgradeHook};
use confab_engine::iso;

/// How often connected admins get `server_stats`, as the Node server.
const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// The features confab serves. The socket list and its connection and room
/// events come with `ALL_EVENTS` (the UI's development mode); each event a
/// socket sends or receives (`event_received`, `event_sent`) is not copied
/// to the admins, and `AGGREGATED_EVENTS` (packets and bytes per second)
/// is not offered: both would cost every packet on the hot path.
const ACTIONS: [&str; 7] = [
    "EMIT",
    "JOIN",
    "LEAVE",
    "DISCONNECT",
    "MJOIN",
    "MLEAVE",
    "MDISCONNECT",
];

/// The admin side of a running engine.
pub(crate) struct Live {
    nsp: String,
    read_only: bool,
    hostname: String,
    started: Instant,
    /// Set once the engine runs; before that no admin can be connected.
    engine: OnceLock<Engine>,
    /// Every connected socket, by namespace then id: what `all_sockets`
    /// serializes (the handshake lives on the socket handle).
    sockets: Mutex<BTreeMap<String, HashMap<String, Socket>>>,
}

impl Live {
    pub(crate) fn new(nsp: &str, read_only: bool) -> Live {
        Live {
            nsp: nsp.to_owned(),
            read_only,
            hostname: hostname(),
            started: Instant::now(),
            engine: OnceLock::new(),
            sockets: Mutex::default(),
        }
    }

    fn sockets(&self) -> MutexGuard<'_, BTreeMap<String, HashMap<String, Socket>>> {
        self.sockets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn any_admin(&self) -> bool {
        self.sockets().get(&self.nsp).is_some_and(|s| !s.is_empty())
    }

    /// Sends `event` to every connected admin; nothing when none is.
    fn tell_admins<T: Serialize + ?Sized>(&self, event: &str, args: &T) {
        if let (true, Some(engine)) = (self.any_admin(), self.engine.get())
            && let Err(e) = engine.io().of(&self.nsp).emit(event, args)
        {
            debug!(event, error = %e, "admin: event not encoded");
        }
    }

    /// Follows one namespace's sockets: known from its first connect
    /// handler on, forgotten when they leave.
    pub(crate) fn observe(self: &Arc<Self>, name: &str, ns: &mut Namespace) {
        self.sockets().insert(name.to_owned(), HashMap::new());
        let live = self.clone();
        ns.prepend_on_connect(move |socket| {
            let live = live.clone();
            async move {
                live.sockets()
                    .entry(socket.nsp().to_owned())
                    .or_default()
                    .insert(socket.id().to_owned(), socket.clone());
                // No admin to tell: spare the adapter the rooms query.
                if !live.any_admin() {
                    return;
                }
                let rooms = socket.rooms().await;
                let now = iso(SystemTime::now());
                live.tell_admins(
                    "socket_connected",
                    &(serialize::socket(&socket, rooms), now),
                );
            }
        });
        let live = self.clone();
        ns.on_disconnect(move |socket, reason| {
            let live = live.clone();
            async move {
                if let Some(sockets) = live.sockets().get_mut(socket.nsp()) {
                    sockets.remove(socket.id());
                }
                let now = iso(SystemTime::now());
                let args = (socket.nsp(), socket.id(), reason.as_str(), now);
                live.tell_admins("socket_disconnected", &args);
            }
        });
    }

    /// The adapter's room hook: `room_joined` and `room_left`.
    pub(crate) fn room_hook(self: &Arc<Self>) -> RoomHook {
        let live = self.clone();
        Arc::new(move |change| {
            let now = iso(SystemTime::now());
            match change {
                RoomChange::Joined { nsp, room, socket } => {
                    live.tell_admins("room_joined", &(nsp, room, socket, now));
                }
                RoomChange::Left { nsp, room, socket } => {
                    live.tell_admins("room_left", &(nsp, room, socket, now));
                }
            }
        })
    }

    /// The engine's upgrade hook: `socket_updated` with the socket's new
    /// transport, as the Node server says it when a connection upgrades.
    pub(crate) fn upgrade_hook(self: &Arc<Self>) -> UpgradeHook {
        let live = self.clone();
        Arc::new(move |socket| {
            let updated = json!({
                "id": socket.id(),
                "nsp": socket.nsp(),
                "transport": socket.handshake().transport(),
            });
            live.tell_admins("socket_updated", &updated);
        })
    }

    /// The admin namespace itself: what a UI gets on connecting, and its
    /// actions (none when read-only).
    pub(crate) fn serve(self: &Arc<Self>, ns: &mut Namespace) {
        let live = self.clone();
        ns.on_connect(move |socket| {
            let live = live.clone();
            async move { live.welcome(socket).await }
        });
        if self.read_only {
            return;
        }
        let live = self.clone();
        ns.on("emit", move |_, payload, _| {
            let live = live.clone();
            async move { live.emit(&payload) }
        });
        for action in ["join", "leave", "_disconnect"] {
            let live = self.clone();
            ns.on(action, move |_, payload, _| {
                let live = live.clone();
                async move { live.act(&payload) }
            });
        }
    }

    async fn welcome(&self, socket: Socket) {
        if let Some(session) = socket.data().get(NEW_SESSION) {
            let _ = socket.emit("session", session);
        }
        let mut features: Vec<&str> = if self.read_only {
            Vec::new()
        } else {
            ACTIONS.to_vec()
        };
        features.push("ALL_EVENTS");
        let _ = socket.emit("config", &json!({ "supportedFeatures": features }));
        let _ = socket.emit("all_sockets", &self.all_sockets().await);
        let _ = socket.emit("server_stats", &self.stats());
    }

    /// Every socket of every namespace, with its rooms from the adapter.
    async fn all_sockets(&self) -> Vec<Value> {
        let Some(engine) = self.engine.get() else {
            return Vec::new();
        };
        let snapshot: Vec<(String, Vec<Socket>)> = self
            .sockets()
            .iter()
            .map(|(nsp, sockets)| (nsp.clone(), sockets.values().cloned().collect()))
            .collect();
        let mut all = Vec::new();
        for (nsp, sockets) in snapshot {
            let mut rooms: HashMap<String, Vec<String>> = engine
                .io()
                .of(&nsp)
                .sockets()
                .await
                .into_iter()
                .map(|info| (info.id, info.rooms))
                .collect();
            for socket in sockets {
                // Gone between the snapshot and the adapter's answer.
                if let Some(rooms) = rooms.remove(socket.id()) {
                    all.push(serialize::socket(&socket, rooms));
                }
            }
        }
        all
    }

    fn stats(&self) -> Value {
        let namespaces = self
            .sockets()
            .iter()
            .map(|(nsp, sockets)| (nsp.clone(), sockets.len()))
            .collect();
        ServerStats {
            server_id: &self.hostname,
            hostname: &self.hostname,
            uptime_secs: self.started.elapsed().as_secs_f64(),
            clients: self.engine.get().map_or(0, Engine::session_count),
            namespaces,
        }
        .to_json()
    }

    /// Starts the stats timer with the engine it reports on.
    pub(crate) fn bind(self: &Arc<Self>, engine: &Engine) {
        if self.engine.set(engine.clone()).is_err() {
            return;
        }
        let live = self.clone();
        actix::spawn(async move {
            let mut ticks = tokio::time::interval(STATS_INTERVAL);
            loop {
                ticks.tick().await;
                live.tell_admins("server_stats", &live.stats());
            }
        });
    }

    /// `emit(nsp, filter, event, ...args)`: sends an event to a namespace,
    /// or the room (or socket) `filter` of it.
    fn emit(&self, payload: &Payload) {
        let (Some(engine), args) = (self.engine.get(), payload.json()) else {
            return;
        };
        let (Some(Value::String(nsp)), Some(filter), Some(Value::String(event))) =
            (args.first(), args.get(1), args.get(2))
        else {
            debug!("admin: emit without namespace and event");
            return;
        };
        // Binary attachments would need their placeholders renumbered:
        // the UI sends JSON only.
        if !payload.args().attachments().is_empty() {
            debug!("admin: emit with binary arguments refused");
            return;
        }
        let rest = Value::Array(args[3..].to_vec()).to_string();
        let mut target = engine.io().of(nsp);
        if let Value::String(filter) = filter {
            target = target.to(filter.clone());
        }
        target.emit_args(event, &Args::from_raw(rest, Vec::new()));
    }

    /// `join(nsp, room, filter?)`, `leave(nsp, room, filter?)` and
    /// `_disconnect(nsp, close, filter?)` on the sockets of a namespace, or
    /// of its room (or socket) `filter`.
    fn act(&self, payload: &Payload) {
        let (Some(engine), args) = (self.engine.get(), payload.json()) else {
            return;
        };
        let Some(Value::String(nsp)) = args.first() else {
            debug!(action = payload.event(), "admin: action without namespace");
            return;
        };
        let mut target = engine.io().of(nsp);
        if let Some(Value::String(filter)) = args.get(2) {
            target = target.to(filter.clone());
        }
        match (payload.event(), args.get(1)) {
            ("join", Some(Value::String(room))) => target.join([room.clone()]),
            ("leave", Some(Value::String(room))) => target.leave([room.clone()]),
            ("_disconnect", Some(Value::Bool(true))) => target.close_connections(),
            ("_disconnect", Some(Value::Bool(false))) => target.disconnect(),
            (action, _) => debug!(action, "admin: action with bad arguments"),
        }
    }
}

/// The machine's name, as the Node server's `os.hostname()`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "confab".into())
}
