//! The engine: configuration, namespaces, the adapter and the table of
//! live sessions. Transports call it to open and find sessions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::prelude::*;

use crate::adapter::{Adapter, Census, Cluster, PresenceHook, RoomHook};
use crate::config::EngineConfig;
use crate::handshake::Handshake;
use crate::io::{Io, ServerEventDispatch};
use crate::namespace::Namespaces;
use crate::protocol::engineio::Sid;
use crate::requests::SessionRequest;
use crate::session::{NewTransport, Session};
use crate::shared::{Shared, UpgradeHook};
use crate::socket::DisconnectReason;
use crate::stats::Stats;

/// Makes the cluster part of the adapter, given the handle through which
/// it applies the other nodes' operations here.
pub type ClusterFactory = Box<dyn FnOnce(Io) -> Arc<dyn Cluster>>;

/// What an engine tells its observers, and the cluster it joins; each
/// optional.
#[derive(Default)]
pub struct EngineHooks {
    /// A user's first socket connected, or their last one left.
    pub presence: Option<PresenceHook>,
    /// A socket joined or left a room.
    pub rooms: Option<RoomHook>,
    /// The other nodes (none: this process alone).
    pub cluster: Option<ClusterFactory>,
    /// A connection's sockets now run on WebSocket.
    pub upgrades: Option<UpgradeHook>,
}

/// Runs a namespace's handler of another node's server-side event on a
/// task of its own; `false` if it has none.
fn server_event_dispatch(namespaces: Arc<Namespaces>) -> ServerEventDispatch {
    Arc::new(move |io, nsp, payload, ack| {
        let handler = namespaces
            .get(nsp)
            .and_then(|ns| ns.server_event(payload.event()));
        let Some(handler) = handler else {
            return false;
        };
        tokio::spawn(handler(io.clone(), payload, ack));
        true
    })
}

/// A running engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine {
    /// What its sessions read too.
    shared: Arc<Shared>,
    /// Sessions by sid, read by every long-polling request: a lock rather
    /// than an actor, so finding a session costs no message round trip.
    sessions: Arc<SessionTable>,
}

type SessionTable = RwLock<HashMap<Sid, Addr<Session>>>;

impl Engine {
    /// Starts an engine. Must run inside an actix system (e.g. in
    /// `#[actix_web::main]`).
    pub fn start(config: EngineConfig, namespaces: Namespaces) -> Engine {
        Engine::start_with_presence(config, namespaces, None)
    }

    /// As [`Engine::start`], telling `presence` when a user's first socket
    /// connects and their last one leaves.
    pub fn start_with_presence(
        config: EngineConfig,
        namespaces: Namespaces,
        presence: Option<PresenceHook>,
    ) -> Engine {
        let hooks = EngineHooks {
            presence,
            ..EngineHooks::default()
        };
        Engine::start_with_hooks(config, namespaces, hooks)
    }

    /// As [`Engine::start`], with observers of the adapter's changes and
    /// the cluster, if any.
    pub fn start_with_hooks(
        config: EngineConfig,
        namespaces: Namespaces,
        hooks: EngineHooks,
    ) -> Engine {
        let stats = Arc::new(Stats::default());
        let adapter = Adapter::new(hooks.presence, hooks.rooms, stats.clone())
            .recoverable(config.recovery.clone());
        let adapter = Arc::new(adapter);
        let namespaces = Arc::new(namespaces);
        let io = Io::new(adapter.clone(), server_event_dispatch(namespaces.clone()));
        if let Some(cluster) = hooks.cluster {
            adapter.join_cluster(cluster(io.clone()));
        }
        let sessions = Arc::new(SessionTable::default());
        let table = sessions.clone();
        let forget = Box::new(move |sid: &Sid| {
            table.write().unwrap_or_else(|e| e.into_inner()).remove(sid);
        });
        let shared = Shared {
            config,
            namespaces,
            io,
            stats,
            forget,
            upgrades: hooks.upgrades,
        };
        Engine {
            shared: Arc::new(shared),
            sessions,
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    /// The engine's counters and gauges (see [`Stats`]).
    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    pub fn namespaces(&self) -> &Namespaces {
        &self.shared.namespaces
    }

    /// The handle applications emit with.
    pub fn io(&self) -> Io {
        self.shared.io.clone()
    }

    /// Sockets and rooms by namespace on this node, now (for the metrics).
    pub fn census(&self) -> Census {
        self.adapter().census()
    }

    /// Where this engine's rooms live (for a cluster, and for tests).
    pub fn adapter(&self) -> &Arc<Adapter> {
        self.shared.io.adapter()
    }

    /// Opens a session on the current arbiter; its open packet is the first
    /// thing it writes.
    pub fn open(&self, mut handshake: Handshake, transport: NewTransport) -> Addr<Session> {
        let sid = Sid::new();
        handshake.connection = sid.as_str().to_owned();
        let session = Session::open(sid, self.shared.clone(), handshake, transport);
        self.sessions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(sid, session.clone());
        session
    }

    pub fn session(&self, sid: &Sid) -> Option<Addr<Session>> {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .cloned()
    }

    pub fn session_count(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Closes every session, telling each socket the server is shutting down.
    pub fn shutdown(&self) {
        let sessions: Vec<Addr<Session>> = self
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for session in sessions {
            session.do_send(SessionRequest::Close(DisconnectReason::ServerShutdown));
        }
    }
}
