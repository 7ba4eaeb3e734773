//! The engine: configuration, namespaces, the adapter and the table of
//! live sessions. Transports call it to open and find sessions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::prelude::*;

use crate::adapter::{Adapter, Census, Cluster, PresenceHook, RoomHook};
use crate::config::EngineConfig;
use crate::handshake::Handshake;
use crate::io::Io;
use crate::namespace::Namespaces;
use crate::protocol::engineio::Sid;
use crate::session::{CloseSession, NewTransport, Session};
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
}

/// A running engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Engine(Arc<Shared>);

struct Shared {
    config: EngineConfig,
    namespaces: Namespaces,
    io: Io,
    /// Sessions by sid, read by every long-polling request: a lock rather
    /// than an actor, so finding a session costs no message round trip.
    sessions: RwLock<HashMap<Sid, Addr<Session>>>,
    stats: Arc<Stats>,
}

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
        let adapter = Arc::new(Adapter::new(hooks.presence, hooks.rooms, stats.clone()));
        let io = Io::new(adapter.clone());
        if let Some(cluster) = hooks.cluster {
            adapter.join_cluster(cluster(io.clone()));
        }
        Engine(Arc::new(Shared {
            config,
            namespaces,
            io,
            sessions: RwLock::default(),
            stats,
        }))
    }

    pub fn config(&self) -> &EngineConfig {
        &self.0.config
    }

    /// The engine's counters and gauges (see [`Stats`]).
    pub fn stats(&self) -> &Stats {
        &self.0.stats
    }

    pub fn namespaces(&self) -> &Namespaces {
        &self.0.namespaces
    }

    /// The handle applications emit with.
    pub fn io(&self) -> Io {
        self.0.io.clone()
    }

    /// Sockets and rooms by namespace on this node, now (for the metrics).
    pub fn census(&self) -> Census {
        self.0.io.adapter().census()
    }

    /// Where this engine's rooms live (for a cluster, and for tests).
    pub fn adapter(&self) -> &Adapter {
        self.0.io.adapter()
    }

    /// Opens a session on the current arbiter; its open packet is the first
    /// thing it writes.
    pub fn open(&self, mut handshake: Handshake, transport: NewTransport) -> Addr<Session> {
        let sid = Sid::new();
        handshake.connection = sid.as_str().to_owned();
        let session = Session::new(sid, self.clone(), handshake, transport).start();
        self.sessions().insert(sid, session.clone());
        session
    }

    pub fn session(&self, sid: &Sid) -> Option<Addr<Session>> {
        self.0
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(sid)
            .cloned()
    }

    pub fn session_count(&self) -> usize {
        self.0
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub(crate) fn forget(&self, sid: &Sid) {
        self.sessions().remove(sid);
    }

    fn sessions(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Sid, Addr<Session>>> {
        self.0.sessions.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes every session, telling each socket the server is shutting down.
    pub fn shutdown(&self) {
        let sessions: Vec<Addr<Session>> = self
            .0
            .sessions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        for session in sessions {
            session.do_send(CloseSession(DisconnectReason::ServerShutdown));
        }
    }
}
