//! The appliance: an engine whose main namespace runs the configured
//! services, ready to mount. The `confab` binary serves one; an actix-web
//! application can mount one too and add its own routes and hooks.
//!
//! It owns the data directory's database (`<data_dir>/db`, one `sled::Db`
//! shared by every service: [`Appliance::db`]) and offers the server-side
//! API (emit, clients, disconnect, operation progress, notifications: see
//! [`crate::appliance::api`]), whose HTTP twin [`Appliance::service`] mounts under
//! `/api`.

use std::sync::{Arc, OnceLock};

use actix_web::HttpRequest;
use tracing::warn;

use confab_chat::store::{Flusher, JOURNAL_FILE, Store, StoreError as ChatStoreError};
use confab_redis::AdapterKind;

use crate::appliance::config::Config;
use crate::appliance::identity::{SetupError, Verifier};
use crate::appliance::services::auth::{Auth, EventClaims};
use crate::appliance::services::notifications::{
    NotificationStore, NotificationStoreError, Notifications,
};
use crate::appliance::services::rooms::{RoomPolicy, RoomValidator};
use crate::appliance::services::{presence, relay, rooms};
use crate::{Confab, Io};
use confab_chat_contract::ChatService;
use confab_chat_contract::settings::ChatConfigError;

/// Why the appliance could not start.
#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    #[error(transparent)]
    Identity(#[from] SetupError),
    #[error("data_dir: cannot make {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "data_dir: cannot open the database {path}: {source}{}",
        locked_hint(source)
    )]
    Database { path: String, source: sled::Error },
    #[error("chat store: {0}")]
    Chat(ChatStoreError),
    #[error(transparent)]
    ChatConfig(#[from] ChatConfigError),
    #[error("notification store: {0}")]
    Notifications(#[from] NotificationStoreError),
    #[error(transparent)]
    Admin(#[from] crate::appliance::admin::AdminError),
}

/// sled says only "could not acquire lock": name the likely cause.
fn locked_hint(error: &sled::Error) -> &'static str {
    match error {
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            " (another confab is using this data_dir: stop it, or give this one its own)"
        }
        _ => "",
    }
}

/// Options an embedding application may add to the configuration.
pub struct ApplianceBuilder {
    config: Config,
    room_validator: Option<RoomValidator>,
    allow_request: Option<crate::AllowRequest>,
}

impl ApplianceBuilder {
    /// The application's say on which rooms a socket may join (Ignis'
    /// room validator), after the configured policy.
    pub fn room_validator<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(crate::Socket, Vec<String>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Vec<String>> + 'static,
    {
        self.room_validator = Some(Arc::new(move |socket, rooms| Box::pin(f(socket, rooms))));
        self
    }

    /// The application's say on which requests may open a connection, in
    /// place of the Origin check ([`crate::ConfabBuilder::allow_request`]).
    pub fn allow_request<F>(mut self, f: F) -> Self
    where
        F: Fn(&actix_web::HttpRequest) -> Result<(), String> + Send + Sync + 'static,
    {
        self.allow_request = Some(Arc::new(f));
        self
    }

    /// Starts the engine and its services (inside an actix system).
    pub fn start(self) -> Result<Appliance, ApplianceError> {
        let config = self.config;
        crate::appliance::data_dir::create(&config.data_dir).map_err(|source| {
            ApplianceError::DataDir {
                path: config.data_dir.display().to_string(),
                source,
            }
        })?;
        let db_path = config.data_dir.join("db");
        let db = sled::Config::new()
            .path(&db_path)
            .open()
            .map_err(|source| ApplianceError::Database {
                path: db_path.display().to_string(),
                source,
            })?;
        // One group commit for everything in the database (the chat's
        // journal replayed first, if a crash left anything in it).
        let flusher =
            Flusher::open(db.clone(), &db_path.join(JOURNAL_FILE)).map_err(ApplianceError::Chat)?;
        let verifier = Arc::new(Verifier::from_config(&config.identity)?);
        let chat = match config.chat.enabled {
            true => {
                config.chat.check()?;
                let store =
                    Store::from_db(db.clone(), flusher.clone()).map_err(ApplianceError::Chat)?;
                let settings = config
                    .chat
                    .settings(&config.rooms.user_room)
                    .with_data_dir(&config.data_dir);
                Some(ChatService::with_store(store, settings))
            }
            false => None,
        };
        // Chat rooms are for the chat's members, whatever event asks to
        // join one; the application's validator, if any, comes after.
        let validator = match &chat {
            Some(chat) => Some(members_only(chat.clone(), self.room_validator)),
            None => self.room_validator,
        };
        let policy = Arc::new(RoomPolicy::new(&config.rooms, validator));
        let auth = Arc::new(Auth {
            config: config.auth.clone(),
            verifier: verifier.clone(),
            rooms: policy.clone(),
            default_rooms: config.rooms.default_rooms.clone(),
        });
        let claims = EventClaims {
            trusted: config.auth.trust_event_user_id,
        };
        if claims.trusted {
            warn!(
                "auth.trust_event_user_id is on: an anonymous socket becomes whichever user \
                 its join-user-room, user-online or typing-start names; clients are trusted, \
                 not checked (compatibility only; send a token instead)"
            );
        }
        let io_cell = Arc::new(OnceLock::new());
        let mut builder = Confab::builder().config(&config);
        if let Some(allow) = self.allow_request {
            builder = builder.allow_request(move |req| allow(req));
        }
        let clustered = config.adapter.effective_kind() == AdapterKind::Redis;
        let served_by = config.chat.served_by.as_deref();
        let builder = builder
            .presence(presence::hook(&config.presence, io_cell.clone()))
            .namespace("/", |ns| {
                auth.install(ns);
                rooms::install(ns, &config.rooms, policy.clone(), claims);
                presence::install(ns, &config.presence, policy.clone(), claims);
                relay::install(ns, &config.relays, claims);
                match &chat {
                    Some(chat) => confab_chat_contract::install(ns, chat.clone()),
                    // In a cluster, another node serves chat: say so.
                    None if clustered => confab_chat_contract::refuse_here(ns, served_by),
                    None => {}
                }
            });
        let confab = match config.admin.enabled {
            true => crate::appliance::admin::instrument(builder, &config.admin)?,
            false => builder,
        }
        .start();
        if let Some(chat) = &chat {
            chat.bind(confab.io());
        }
        if io_cell.set(confab.io()).is_err() {
            warn!("presence hook already had an engine");
        }
        let notifications = Notifications::new(
            NotificationStore::open(&db, flusher)?,
            confab.io(),
            policy.clone(),
            &config.notifications,
        );
        Ok(Appliance {
            confab,
            config: Arc::new(config),
            verifier,
            rooms: policy,
            db,
            notifications,
            chat,
        })
    }
}

/// A room validator that lets a socket into a chat's room only if its user
/// is a member of that chat, then hands the rest to `next`.
fn members_only(chat: ChatService, next: Option<RoomValidator>) -> RoomValidator {
    Arc::new(move |socket, rooms| {
        let (chat, next) = (chat.clone(), next.clone());
        Box::pin(async move {
            let user = socket.user_id().map(str::to_owned);
            let member = |id: u64| {
                let header = chat.store().chat(id).ok().flatten();
                user.as_deref()
                    .is_some_and(|u| header.is_some_and(|h| h.is_member(u)))
            };
            let kept: Vec<String> = rooms
                .into_iter()
                .filter(|room| chat.settings().chat_of_room(room).is_none_or(member))
                .collect();
            match next {
                Some(next) => next(socket, kept).await,
                None => kept,
            }
        })
    })
}

/// A running appliance.
#[derive(Clone)]
pub struct Appliance {
    confab: Confab,
    config: Arc<Config>,
    verifier: Arc<Verifier>,
    rooms: Arc<RoomPolicy>,
    db: sled::Db,
    notifications: Notifications,
    /// The chat service, unless `[chat] enabled = false`.
    chat: Option<ChatService>,
}

impl Appliance {
    pub fn builder(config: Config) -> ApplianceBuilder {
        ApplianceBuilder {
            config,
            room_validator: None,
            allow_request: None,
        }
    }

    pub fn io(&self) -> Io {
        self.confab.io()
    }

    pub fn confab(&self) -> &Confab {
        &self.confab
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn verifier(&self) -> &Arc<Verifier> {
        &self.verifier
    }

    /// The token in the `identity.cookie` cookie, if this request may use
    /// it: without `Origin` (not a browser) or from an origin trusted with
    /// credentials, by the same rule as the Engine.IO handshake. A browser
    /// sends a site's cookies with a form POST from any page: that page must
    /// not act as the user.
    pub fn cookie_token(&self, req: &HttpRequest) -> Option<String> {
        let name = self.verifier.config().cookie.as_deref()?;
        let cookie = req.cookie(name)?;
        let trusted = self.confab.admission.cors().trusts_cookies(req);
        trusted.then(|| cookie.value().to_owned())
    }

    /// The room policy (user room names, what a socket may join).
    pub fn rooms(&self) -> &Arc<RoomPolicy> {
        &self.rooms
    }

    /// The data directory's database (`<data_dir>/db`). Services keep their
    /// own trees in it (the notifications use `notifications` and
    /// `notifications_by_user`); clones are the same database.
    /// The chat service, for its server API (users, chats, messages).
    pub fn chat(&self) -> Option<&ChatService> {
        self.chat.as_ref()
    }

    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Stored notifications, which tell the user's sockets as they change.
    pub fn notifications(&self) -> &Notifications {
        &self.notifications
    }
}
