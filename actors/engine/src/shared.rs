//! What every session of an engine reads: its settings, namespaces, `Io`
//! (and through it the adapter) and counters. The engine hands each session this, not
//! itself, so that a session does not know the engine that opens and finds
//! sessions.

use std::sync::Arc;

use crate::adapter::Adapter;
use crate::config::EngineConfig;
use crate::io::Io;
use crate::namespace::Namespaces;
use crate::protocol::engineio::Sid;
use crate::socket::Socket;
use crate::stats::Stats;

/// Called by a session as it stops, to leave the engine's table of
/// sessions.
pub(crate) type Forget = Box<dyn Fn(&Sid) + Send + Sync>;

/// Told of each socket whose connection just upgraded from long-polling to
/// WebSocket (the admin UI shows a socket's transport). Called on the
/// session's thread: it should hand work on, never block.
pub type UpgradeHook = Arc<dyn Fn(&Socket) + Send + Sync>;

pub(crate) struct Shared {
    pub config: EngineConfig,
    pub namespaces: Arc<Namespaces>,
    pub io: Io,
    pub stats: Arc<Stats>,
    pub forget: Forget,
    pub upgrades: Option<UpgradeHook>,
}

impl Shared {
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn namespaces(&self) -> &Namespaces {
        &self.namespaces
    }

    pub fn io(&self) -> Io {
        self.io.clone()
    }

    pub fn adapter(&self) -> &Arc<Adapter> {
        self.io.adapter()
    }

    pub fn forget(&self, sid: &Sid) {
        (self.forget)(sid)
    }

    /// Tells the upgrade hook, if any, that `sockets` run on WebSocket now.
    pub fn upgraded<'a>(&self, sockets: impl Iterator<Item = &'a Socket>) {
        if let Some(hook) = &self.upgrades {
            sockets.for_each(|socket| hook(socket));
        }
    }
}
