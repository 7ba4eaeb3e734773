//! The admin side of an engine once instrumented: what the builder carries
//! until the engine starts, then installs on the namespaces, binds to the
//! engine and mounts beside it.

use std::sync::Arc;

use actix_web::web;

use super::{auth, events, ui};
use crate::{Engine, Namespace, Namespaces, RoomHook, UpgradeHook};

/// The admin side of an engine, carried by its builder until it starts.
#[derive(Clone)]
pub struct Admin {
    pub(super) namespace: String,
    pub(super) ui_path: String,
    pub(super) credentials: Option<Arc<auth::Credentials>>,
    pub(super) live: Arc<events::Live>,
}

impl Admin {
    /// Adds the admin namespace and observes every namespace; the room
    /// and upgrade hooks to hand the engine.
    pub(crate) fn install(&self, namespaces: &mut Namespaces) -> (RoomHook, UpgradeHook) {
        let mut ns = Namespace::new();
        if let Some(credentials) = &self.credentials {
            credentials.install(&mut ns);
        }
        self.live.serve(&mut ns);
        namespaces.insert(self.namespace.clone(), ns);
        for (name, ns) in namespaces.iter_mut() {
            self.live.observe(name, ns);
        }
        (self.live.room_hook(), self.live.upgrade_hook())
    }

    /// The engine is running: stats start.
    pub(crate) fn bind(&self, engine: &Engine) {
        self.live.bind(engine);
    }

    /// Mounts the UI's page, unless `ui_path` is empty.
    pub(crate) fn configure(&self, cfg: &mut web::ServiceConfig) {
        if !self.ui_path.is_empty() {
            ui::configure(cfg, &self.ui_path);
        }
    }
}
