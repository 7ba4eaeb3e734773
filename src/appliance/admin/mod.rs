//! The server side of the official Socket.IO admin UI
//! (`@socket.io/admin-ui` 0.5): an admin namespace that lists every
//! socket with its rooms and handshake, tells connected admins of sockets
//! connecting and leaving and rooms joined and left, sends server stats
//! every two seconds, and carries out the UI's join, leave, disconnect and
//! emit actions; and the UI's own page, served by confab.
//!
//! - [`auth`]: the UI's basic credentials against a bcrypt hash, sessions.
//! - [`serialize`]: sockets and stats in the shapes the UI reads.
//! - [`events`]: the live picture, the events, the actions.
//! - [`ui`]: the vendored page and assets.
//!
//! Embedding applications call [`instrument`] on their builder; the
//! appliance does so from `[admin]`.

mod auth;
mod events;
mod mounted;
mod serialize;
mod ui;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use auth::AuthError;
pub use mounted::Admin;

use crate::ConfabBuilder;

/// `[admin]` in the configuration: the admin UI, off unless enabled.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Serve the admin namespace and the UI.
    pub enabled: bool,
    /// Ask the UI for a username and password. Off, anyone who reaches the
    /// port may list and disconnect sockets.
    pub auth: bool,
    pub username: String,
    /// The password's bcrypt hash (`$2b$...`), never the password itself.
    pub password_hash: String,
    /// The namespace the UI connects to (its connection form's default).
    pub namespace: String,
    /// Where the UI's page is served; empty: not served (use the hosted UI
    /// at admin.socket.io, or your own copy).
    pub ui_path: String,
    /// List and watch only: no join, leave, disconnect or emit.
    pub read_only: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            enabled: false,
            auth: true,
            username: "admin".into(),
            password_hash: String::new(),
            namespace: "/admin".into(),
            ui_path: "/admin-ui".into(),
            read_only: false,
        }
    }
}

/// Debug without the hash.
impl std::fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminConfig")
            .field("enabled", &self.enabled)
            .field("auth", &self.auth)
            .field("username", &self.username)
            .field("password_hash", &"(redacted)")
            .field("namespace", &self.namespace)
            .field("ui_path", &self.ui_path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Why `[admin]` cannot be served as configured.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("admin.ui_path: {0:?} must start with / (or be empty: no page served)")]
    UiPath(String),
}

impl AdminConfig {
    /// What `confab check` and the start-up refuse: a missing or malformed
    /// hash (with auth on), a relative page path.
    pub fn check(&self) -> Result<(), AdminError> {
        self.credentials()?;
        if !self.ui_path.is_empty() && !self.ui_path.starts_with('/') {
            return Err(AdminError::UiPath(self.ui_path.clone()));
        }
        Ok(())
    }

    fn credentials(&self) -> Result<Option<Arc<auth::Credentials>>, AuthError> {
        if !self.auth {
            return Ok(None);
        }
        let credentials = auth::Credentials::new(&self.username, &self.password_hash)?;
        Ok(Some(Arc::new(credentials)))
    }
}

/// A bcrypt hash of `password` for `admin.password_hash`, at the bcrypt
/// crate's default cost (12).
pub fn hash_password(password: &str) -> Result<String, bcrypt::BcryptError> {
    bcrypt::hash(password, bcrypt::DEFAULT_COST)
}

/// Instruments an engine for the admin UI: an admin namespace, an observer
/// on every namespace (declared before or after this call) and the room
/// hook, and, at `ui_path`, the UI's page, mounted by `Confab::service`.
/// Fails as [`AdminConfig::check`] does.
///
/// ```no_run
/// # fn main() -> Result<(), confab::admin::AdminError> {
/// let config = confab::admin::AdminConfig {
///     enabled: true,
///     password_hash: "$2b$10$...".into(),
///     ..Default::default()
/// };
/// let builder = confab::admin::instrument(confab::Confab::builder(), &config)?;
/// # Ok(()) }
/// ```
pub fn instrument(
    builder: ConfabBuilder,
    config: &AdminConfig,
) -> Result<ConfabBuilder, AdminError> {
    config.check()?;
    let credentials = config.credentials()?;
    if credentials.is_none() {
        tracing::warn!(
            "admin UI without authentication: anyone who reaches the port may act on sockets"
        );
    }
    let admin = Admin {
        namespace: config.namespace.clone(),
        ui_path: config.ui_path.clone(),
        credentials,
        live: Arc::new(events::Live::new(&config.namespace, config.read_only)),
    };
    Ok(builder.admin(admin))
}
