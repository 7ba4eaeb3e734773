//! The embedding facade: [`Confab::builder`] sets up an engine (settings,
//! CORS, the Engine.IO path, namespaces, the adapter) and
//! [`Confab::service`] mounts it in an actix-web app. The crate root
//! re-exports it; the appliance is built on it.

use std::sync::Arc;

use actix_web::{HttpRequest, web};
use confab_engine::{
    ClusterFactory, Engine, EngineConfig, EngineHooks, Io, Namespace, Namespaces, PresenceHook,
};
use confab_redis::outbox::Drops;
use confab_redis::{AdapterConfig, AdapterKind, Membership, RedisCluster};

use crate::appliance::admin::Admin;
use crate::transport::{self, AllowRequest, CorsPolicy};

/// Builds an engine: settings, CORS, the Engine.IO path and namespaces.
pub struct ConfabBuilder {
    config: EngineConfig,
    presence: Option<PresenceHook>,
    path: String,
    cors: CorsPolicy,
    allow_request: Option<AllowRequest>,
    namespaces: Namespaces,
    admin: Option<Admin>,
    adapter: AdapterConfig,
}

impl ConfabBuilder {
    pub fn engine_config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// The Engine.IO path, `/socket.io/` by default.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Which origins get CORS headers; also, unless [`Self::allow_request`]
    /// says otherwise, which origins may connect at all, and from which a
    /// cookie may authenticate a connection.
    pub fn cors(mut self, cors: CorsPolicy) -> Self {
        self.cors = cors;
        self
    }

    /// Decides, before any session exists, whether a handshake or a
    /// WebSocket upgrade may proceed (Node's `allowRequest`): `Err(message)`
    /// refuses it with 403 `{"code":4,"message":...}`. It replaces the
    /// default, [`CorsPolicy::check_origin`], which a hook may call itself.
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&HttpRequest) -> Result<(), String> + Send + Sync + 'static,
    {
        self.allow_request = Some(Arc::new(f));
        self
    }

    /// Where rooms and broadcasts live: this process (the default), or a
    /// cluster on Redis shared with other confab nodes, Node servers and
    /// emitters.
    pub fn adapter(mut self, adapter: AdapterConfig) -> Self {
        self.adapter = adapter;
        self
    }

    /// Tells `hook` when a user's first socket connects and their last
    /// one leaves (sockets with a user only).
    pub fn presence(mut self, hook: PresenceHook) -> Self {
        self.presence = Some(hook);
        self
    }

    /// Declares a namespace and its middlewares and handlers.
    pub fn namespace(mut self, name: &str, setup: impl FnOnce(&mut Namespace)) -> Self {
        let mut ns = Namespace::new();
        setup(&mut ns);
        self.namespaces.insert(name, ns);
        self
    }

    /// Serves the admin UI ([`crate::appliance::admin::instrument`] builds it).
    pub(crate) fn admin(mut self, admin: Admin) -> Self {
        self.admin = Some(admin);
        self
    }

    /// Starts the engine's actors. Call inside an actix system, before
    /// `HttpServer::new`, and share the result with every worker.
    pub fn start(mut self) -> Confab {
        let (rooms, upgrades) = self
            .admin
            .as_ref()
            .map(|admin| admin.install(&mut self.namespaces))
            .unzip();
        let (cluster, outbox_drops, membership) = match cluster(&self.adapter, &self.namespaces) {
            Some(Joining {
                factory,
                drops,
                membership,
            }) => (Some(factory), Some(drops), Some(membership)),
            None => (None, None, None),
        };
        let hooks = EngineHooks {
            presence: self.presence,
            rooms,
            cluster,
            upgrades,
        };
        let engine = Engine::start_with_hooks(self.config, self.namespaces, hooks);
        if let Some(admin) = &self.admin {
            admin.bind(&engine);
        }
        let path = self.path.trim_end_matches('/').to_owned();
        Confab {
            engine,
            path,
            admission: transport::Admission::new(self.cors, self.allow_request),
            admin: self.admin,
            outbox_drops,
            membership,
        }
    }
}

/// A node joining a Redis cluster: the engine's hook, the count of the
/// messages its outbox drops, and whether it receives the cluster's.
struct Joining {
    factory: ClusterFactory,
    drops: Drops,
    membership: Membership,
}

/// The cluster part the adapter configuration asks for, if any. A Redis
/// URL that does not parse (which `confab check` refuses) leaves the node
/// alone, with an error in the log.
fn cluster(adapter: &AdapterConfig, namespaces: &Namespaces) -> Option<Joining> {
    if adapter.effective_kind() == AdapterKind::Local {
        return None;
    }
    let nsps = namespaces.names().map(str::to_owned).collect();
    let drops = Drops::default();
    match RedisCluster::factory(adapter, nsps, drops.clone()) {
        Ok((factory, membership)) => Some(Joining {
            factory,
            drops,
            membership,
        }),
        Err(error) => {
            tracing::error!(%error, "the redis adapter cannot start: this node runs alone");
            None
        }
    }
}

/// A running engine, ready to be mounted in an actix-web `App`.
#[derive(Clone)]
pub struct Confab {
    engine: Engine,
    path: String,
    pub(crate) admission: transport::Admission,
    admin: Option<Admin>,
    /// Messages the Redis adapter's outbox dropped, on a Redis cluster.
    outbox_drops: Option<Drops>,
    /// Whether this node receives the cluster's messages, on a Redis
    /// cluster.
    membership: Option<Membership>,
}

impl Confab {
    pub fn builder() -> ConfabBuilder {
        ConfabBuilder {
            config: EngineConfig::default(),
            presence: None,
            path: "/socket.io/".into(),
            cors: CorsPolicy::Off,
            allow_request: None,
            namespaces: Namespaces::default(),
            admin: None,
            adapter: AdapterConfig::default(),
        }
    }

    /// The handle to emit with, from anywhere.
    pub fn io(&self) -> Io {
        self.engine.io()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The count of cluster messages the Redis adapter's outbox dropped
    /// (Redis gone or far behind); none without a Redis adapter.
    pub fn outbox_drops(&self) -> Option<&Drops> {
        self.outbox_drops.as_ref()
    }

    /// Whether this node receives a Redis cluster's messages (its
    /// subscriber connected, every channel subscribed); none without a
    /// Redis adapter. The appliance's readiness waits for it.
    pub fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// Mounts the Engine.IO endpoint and shares [`Io`] and [`Engine`] as app
    /// data (`web::Data<Io>` in your handlers): `App::new().configure(confab.service())`.
    pub fn service(&self) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
        let confab = self.clone();
        move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::new(confab.engine.clone()))
                .app_data(web::Data::new(confab.io()));
            for path in [confab.path.clone(), format!("{}/", confab.path)] {
                cfg.service(
                    web::resource(path)
                        .app_data(web::Data::new(confab.admission.clone()))
                        .wrap(confab.admission.cors().middleware())
                        .route(web::get().to(transport::dispatch))
                        .route(web::post().to(transport::dispatch))
                        .default_service(web::to(transport::dispatch)),
                );
            }
            if let Some(admin) = &confab.admin {
                admin.configure(cfg);
            }
        }
    }
}
