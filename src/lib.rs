//! confab: a realtime chat engine that speaks Socket.IO, built from actix
//! actors.
//!
//! Mount it in an actix-web application with one call, next to your own
//! routes, and emit from your handlers:
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use confab::{Confab, Io};
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let confab = Confab::builder()
//!         .namespace("/", |ns| {
//!             ns.on("echo", |_socket, payload, ack| async move {
//!                 if let Some(ack) = ack {
//!                     ack.send_args(payload.args());
//!                 }
//!             });
//!         })
//!         .start();
//!     HttpServer::new(move || {
//!         App::new()
//!             .configure(confab.service())
//!             .route("/hello", web::post().to(|io: web::Data<Io>| async move {
//!                 let _ = io.to("lobby").emit("hello", "from REST");
//!                 "sent"
//!             }))
//!     })
//!     // Small frames out at once (Nagle would hold an ack ~40 ms).
//!     .tcp_nodelay(true)
//!     .bind(("127.0.0.1", 3000))?
//!     .run()
//!     .await
//! }
//! ```
//!
//! Modules: [`transport`] (long-polling and WebSocket), [`config`] (the
//! appliance's settings), [`identity`] (JWTs checked at namespace CONNECT),
//! [`chat`] (the Syarah chat contract on chat-header actors and sled). The engine itself, its actors and the protocol
//! codecs live in the `confab-actors` crate, re-exported here.

pub mod api;
pub mod appliance;
pub mod chat;
pub mod check;
pub mod config;
pub mod health;
pub mod http;
pub mod identity;
pub mod logging;
pub mod services;
pub mod shutdown;
pub mod transport;

use actix_cors::Cors;
use actix_web::web;

pub use api::{ApiError, Delivery, Operation, Targets};
pub use appliance::Appliance;
pub use confab_actors::{
    Ack, AckError, Args, ArgsError, Broadcast, ConnectError, ConnectRequest, DisconnectReason,
    EncodeError, Engine, EngineConfig, Handshake, Io, Namespace, Namespaces, Payload, Presence,
    PresenceHook, Socket, SocketInfo,
};
pub use config::Config;

/// Which origins may reach the Engine.IO endpoint from a browser.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum CorsPolicy {
    /// No CORS headers: same-origin pages and non-browser clients only.
    #[default]
    Off,
    /// Any origin, answered `*` (without credentials).
    Any,
    /// Exactly these origins.
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// From a configured list, where `*` means any origin.
    pub fn from_list(origins: &[String]) -> CorsPolicy {
        if origins.is_empty() {
            CorsPolicy::Off
        } else if origins.iter().any(|o| o == "*") {
            CorsPolicy::Any
        } else {
            CorsPolicy::Origins(origins.to_vec())
        }
    }

    fn middleware(&self) -> Cors {
        let common = |cors: Cors| {
            cors.allowed_methods(["GET", "POST", "OPTIONS"])
                .allow_any_header()
                .max_age(3600)
        };
        match self {
            CorsPolicy::Off => Cors::default(),
            // As the Node server: `*` itself, and so no credentials, which
            // browsers refuse together with `*`.
            CorsPolicy::Any => common(Cors::default().allow_any_origin().send_wildcard()),
            CorsPolicy::Origins(list) => {
                let cors = list
                    .iter()
                    .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin));
                common(cors).supports_credentials()
            }
        }
    }
}

/// Builds an engine: settings, CORS, the Engine.IO path and namespaces.
pub struct ConfabBuilder {
    config: EngineConfig,
    presence: Option<PresenceHook>,
    path: String,
    cors: CorsPolicy,
    namespaces: Namespaces,
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

    pub fn cors(mut self, cors: CorsPolicy) -> Self {
        self.cors = cors;
        self
    }

    /// Settings from the appliance configuration (timings, path, CORS).
    pub fn config(self, config: &Config) -> Self {
        self.engine_config(config.engine())
            .path(config.path.clone())
            .cors(CorsPolicy::from_list(&config.cors_origins))
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

    /// Starts the engine's actors. Call inside an actix system, before
    /// `HttpServer::new`, and share the result with every worker.
    pub fn start(self) -> Confab {
        let engine = Engine::start_with_presence(self.config, self.namespaces, self.presence);
        let path = self.path.trim_end_matches('/').to_owned();
        Confab {
            engine,
            path,
            cors: self.cors,
        }
    }
}

/// A running engine, ready to be mounted in an actix-web `App`.
#[derive(Clone)]
pub struct Confab {
    engine: Engine,
    path: String,
    cors: CorsPolicy,
}

impl Confab {
    pub fn builder() -> ConfabBuilder {
        ConfabBuilder {
            config: EngineConfig::default(),
            presence: None,
            path: "/socket.io/".into(),
            cors: CorsPolicy::Off,
            namespaces: Namespaces::default(),
        }
    }

    /// The handle to emit with, from anywhere.
    pub fn io(&self) -> Io {
        self.engine.io()
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
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
                        .wrap(confab.cors.middleware())
                        .route(web::get().to(transport::dispatch))
                        .route(web::post().to(transport::dispatch))
                        .default_service(web::to(transport::dispatch)),
                );
            }
        }
    }
}
