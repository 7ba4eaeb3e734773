//! The engine: configuration, namespaces, the registry and the table of
//! live sessions. Transports call it to open and find sessions.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::prelude::*;

use crate::config::EngineConfig;
use crate::handshake::Handshake;
use crate::io::Io;
use crate::namespace::Namespaces;
use crate::protocol::engineio::Sid;
use crate::registry::{Census, PresenceHook, Registry, RoomHook, TakeCensus};
use crate::session::{CloseSession, NewTransport, Session};
use crate::shared::Shared;
use crate::socket::DisconnectReason;
use crate::stats::Stats;

/// What an engine tells its observers, each optional.
#[derive(Default, Clone)]
pub struct EngineHooks {
    /// A user's first socket connected, or their last one left.
    pub presence: Option<PresenceHook>,
    /// A socket joined or left a room.
    pub rooms: Option<RoomHook>,
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
    /// Starts the registry and the room arbiters. Must run inside an actix
    /// system (e.g. in `#[actix_web::main]`).
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
            rooms: None,
        };
        Engine::start_with_hooks(config, namespaces, hooks)
    }

    /// As [`Engine::start`], with observers of the registry's changes.
    pub fn start_with_hooks(
        config: EngineConfig,
        namespaces: Namespaces,
        hooks: EngineHooks,
    ) -> Engine {
        // The registry runs on the caller's arbiter (the system's, which
        // otherwise only accepts connections); rooms fan out on one arbiter
        // per further core. Every extra thread on a busy core costs a
        // context switch per hop, so none is made that a core cannot run.
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let arbiters: Vec<ArbiterHandle> = (1..cores).map(|_| Arbiter::new().handle()).collect();
        let stats = Arc::new(Stats::default());
        let registry = Registry::new(arbiters, hooks.presence)
            .with_room_hook(hooks.rooms)
            .with_stats(stats.clone())
            .start();
        let io = Io::new(registry.clone());
        let sessions = Arc::new(SessionTable::default());
        let table = sessions.clone();
        let forget = Box::new(move |sid: &Sid| {
            table.write().unwrap_or_else(|e| e.into_inner()).remove(sid);
        });
        let shared = Shared {
            config,
            namespaces,
            registry,
            io,
            stats,
            forget,
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

    /// Sockets and rooms by namespace, now (for the metrics): empty if
    /// the registry is gone (the system is stopping).
    pub async fn census(&self) -> Census {
        self.shared
            .registry
            .send(TakeCensus)
            .await
            .unwrap_or_default()
    }

    /// Opens a session on the current arbiter; its open packet is the first
    /// thing it writes.
    pub fn open(&self, mut handshake: Handshake, transport: NewTransport) -> Addr<Session> {
        let sid = Sid::new();
        handshake.connection = sid.as_str().to_owned();
        let session = Session::new(sid, self.shared.clone(), handshake, transport).start();
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
            session.do_send(CloseSession(DisconnectReason::ServerShutdown));
        }
    }
}
