//! The server-side API, from Rust: what an application's handlers call to
//! push to clients. Every call here has an HTTP twin (see [`crate::appliance::http`])
//! that calls the same function, for backends written in other languages.
//!
//! - Emit: [`Appliance::emit_to_user`] (all their sockets),
//!   [`Appliance::emit_to_socket`], [`Appliance::emit_to_rooms`] (with
//!   exceptions), [`Appliance::emit_to_all`] (nick-doc's `emitGlobalEvent`),
//!   or any mix with [`Targets`] and [`Appliance::emit`].
//! - Clients: [`Appliance::clients`], [`Appliance::find_clients`];
//!   [`Appliance::disconnect_user`], [`Appliance::disconnect_socket`],
//!   [`Appliance::disconnect`].
//! - SEAM's operation progress: [`Appliance::report_progress`], or the
//!   [`Operation`](crate::Operation) extractor in an actix-web handler.
//! - BAASIX's item and file events: [`Appliance::item_event`],
//!   [`Appliance::file_event`].
//! - Notifications: [`Appliance::notifications`].
//!
//! ```no_run
//! use actix_web::{HttpResponse, web};
//! use confab::Operation;
//! use confab::appliance::Appliance;
//! use serde_json::json;
//!
//! async fn create_user(op: Operation, app: web::Data<Appliance>) -> HttpResponse {
//!     op.start("users:create", "Creando usuario...");
//!     let user = json!({ "id": 7, "name": "Ada" });
//!     op.processing("users:create", "Guardando...");
//!     op.success("users:create", "Usuario creado", &user);
//!     let _ = app.emit_to_user("7", "welcome", &json!({ "hello": "Ada" }));
//!     HttpResponse::Created().json(user)
//! }
//! ```

use serde::Serialize;
use serde_json::Value;

use std::time::Duration;

use crate::appliance::Appliance;
use crate::appliance::services::auth::now_iso;
use crate::appliance::services::items::{self, FileAction, ItemAction};
use crate::appliance::services::notifications::NotificationStoreError;
use crate::appliance::services::operations::{self, Progress};
use crate::{AckReplies, Args, Broadcast, EncodeError, Remote, SocketInfo};

/// Why a server-side call was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such namespace on this engine.
    #[error("unknown namespace `{0}`")]
    UnknownNamespace(String),
    /// The input does not make sense (an empty event name, no target...).
    #[error("{0}")]
    Invalid(String),
    /// No such record (a notification id).
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("storage: {0}")]
    Store(NotificationStoreError),
}

impl From<NotificationStoreError> for ApiError {
    fn from(err: NotificationStoreError) -> Self {
        match err {
            NotificationStoreError::Invalid(message) => ApiError::Invalid(message),
            other => ApiError::Store(other),
        }
    }
}

/// The longest a server-side emit may wait for its acks: a caller holds a
/// request (and the replies) open that long.
pub const MAX_ACK_TIMEOUT: Duration = Duration::from_secs(60);

/// Event names the Socket.IO client keeps for itself: a server must not
/// emit them either.
pub use confab_engine::protocol::socketio::RESERVED_EVENTS;

/// Checks an event name a server is about to emit.
pub fn check_event(event: &str) -> Result<(), ApiError> {
    if event.is_empty() {
        return Err(ApiError::Invalid("`event` must not be empty".into()));
    }
    if event.len() > 200 {
        return Err(ApiError::Invalid("`event` is longer than 200 bytes".into()));
    }
    if RESERVED_EVENTS.contains(&event) {
        return Err(ApiError::Invalid(format!(
            "`{event}` is a reserved event name"
        )));
    }
    Ok(())
}

/// Who an emit (or a disconnect) is for: rooms, users (their user rooms),
/// socket ids, minus `except` (rooms or socket ids). Nothing selected means
/// everyone in the namespace. A socket selected several times gets one copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The namespace; `None` is the main one, `/`.
    pub nsp: Option<String>,
    pub rooms: Vec<String>,
    pub users: Vec<String>,
    pub sockets: Vec<String>,
    pub except: Vec<String>,
}

impl Targets {
    /// Everyone in the main namespace.
    pub fn everyone() -> Targets {
        Targets::default()
    }

    pub fn nsp(mut self, nsp: impl Into<String>) -> Self {
        self.nsp = Some(nsp.into());
        self
    }

    pub fn room(mut self, room: impl Into<String>) -> Self {
        self.rooms.push(room.into());
        self
    }

    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.users.push(user.into());
        self
    }

    pub fn socket(mut self, socket: impl Into<String>) -> Self {
        self.sockets.push(socket.into());
        self
    }

    pub fn except(mut self, room: impl Into<String>) -> Self {
        self.except.push(room.into());
        self
    }

    /// Whether nothing narrows the selection (so it is everyone).
    pub fn is_everyone(&self) -> bool {
        self.rooms.is_empty() && self.users.is_empty() && self.sockets.is_empty()
    }

    /// The namespace, `/` by default.
    pub fn namespace(&self) -> &str {
        self.nsp.as_deref().unwrap_or("/")
    }
}

/// Where an operation's progress goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// To the socket that asked (its `X-Socket-ID`), connected and the
    /// user's.
    Socket(String),
    /// To every socket of the user: no socket id was given, or that
    /// socket is gone or someone else's.
    UserRoom(String),
}

impl Delivery {
    /// The room (or socket id) emitted to.
    pub fn room(&self) -> &str {
        match self {
            Delivery::Socket(id) | Delivery::UserRoom(id) => id,
        }
    }

    /// `socket` or `user`, as the HTTP API answers.
    pub fn kind(&self) -> &'static str {
        match self {
            Delivery::Socket(_) => "socket",
            Delivery::UserRoom(_) => "user",
        }
    }
}

impl Appliance {
    /// The user room of `user` (`user:{id}`, or as configured).
    pub fn user_room(&self, user: &str) -> String {
        self.rooms().user_room(user)
    }

    /// Whether the engine has namespace `nsp`.
    pub fn has_namespace(&self, nsp: &str) -> bool {
        self.confab().engine().namespaces().get(nsp).is_some()
    }

    /// The sockets `targets` selects, to emit to or list.
    pub fn select(&self, targets: &Targets) -> Result<Broadcast, ApiError> {
        let nsp = targets.namespace();
        if !self.has_namespace(nsp) {
            return Err(ApiError::UnknownNamespace(nsp.to_owned()));
        }
        let rooms = targets
            .rooms
            .iter()
            .cloned()
            .chain(targets.users.iter().map(|u| self.user_room(u)))
            .chain(targets.sockets.iter().cloned());
        let selection = self.io().of(nsp).to_rooms(rooms);
        Ok(targets
            .except
            .iter()
            .fold(selection, |b, room| b.except(room.clone())))
    }

    /// Emits `event` with `data` (one argument) to `targets`.
    pub fn emit<T: Serialize + ?Sized>(
        &self,
        targets: &Targets,
        event: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        self.emit_args(targets, event, &Args::new(data)?)
    }

    /// Emits `event` with encoded arguments (none, several, binary) to
    /// `targets`.
    pub fn emit_args(&self, targets: &Targets, event: &str, args: &Args) -> Result<(), ApiError> {
        check_event(event)?;
        self.select(targets)?.emit_args(event, args);
        Ok(())
    }

    /// To every socket of `user` (their user room), on every device.
    pub fn emit_to_user<T: Serialize + ?Sized>(
        &self,
        user: &str,
        event: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        self.emit(&Targets::everyone().user(user), event, data)
    }

    /// To one socket, by id.
    pub fn emit_to_socket<T: Serialize + ?Sized>(
        &self,
        socket: &str,
        event: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        self.emit(&Targets::everyone().socket(socket), event, data)
    }

    /// To the sockets in any of `rooms` but none of `except` (rooms or
    /// socket ids). No rooms at all is everyone: [`Appliance::emit_to_all`].
    pub fn emit_to_rooms<T: Serialize + ?Sized>(
        &self,
        rooms: impl IntoIterator<Item = impl Into<String>>,
        except: impl IntoIterator<Item = impl Into<String>>,
        event: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        let targets = Targets {
            rooms: rooms.into_iter().map(Into::into).collect(),
            except: except.into_iter().map(Into::into).collect(),
            ..Targets::default()
        };
        self.emit(&targets, event, data)
    }

    /// To every socket of the main namespace (nick-doc's `emitGlobalEvent`).
    pub fn emit_to_all<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<(), ApiError> {
        self.emit(&Targets::everyone(), event, data)
    }

    /// Every socket of the main namespace: id, user, rooms, connected at.
    pub async fn clients(&self) -> Vec<SocketInfo> {
        self.io().of("/").sockets().await
    }

    /// The sockets `targets` selects, on every node that answered.
    pub async fn find_clients(&self, targets: &Targets) -> Result<Vec<SocketInfo>, ApiError> {
        Ok(self.fetch_clients(targets).await?.value)
    }

    /// The sockets `targets` selects, saying whether every node answered
    /// (with a cluster adapter, a node may be unreachable).
    pub async fn fetch_clients(
        &self,
        targets: &Targets,
    ) -> Result<Remote<Vec<SocketInfo>>, ApiError> {
        Ok(self.select(targets)?.fetch_sockets().await)
    }

    /// Emits `event` to `targets` and waits up to `timeout` for every
    /// client's ack, on every node (Node's `io.timeout(t).emitWithAck`).
    pub async fn emit_with_ack(
        &self,
        targets: &Targets,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> Result<AckReplies, ApiError> {
        check_event(event)?;
        if timeout.is_zero() || timeout > MAX_ACK_TIMEOUT {
            return Err(ApiError::Invalid(format!(
                "the ack timeout must be between 1 ms and {} ms",
                MAX_ACK_TIMEOUT.as_millis()
            )));
        }
        let selection = self.select(targets)?;
        Ok(selection.emit_args_with_ack(event, args, timeout).await)
    }

    /// Disconnects the sockets `targets` selects, which must select
    /// something (never everyone by omission); returns them.
    pub async fn disconnect(&self, targets: &Targets) -> Result<Vec<SocketInfo>, ApiError> {
        if targets.is_everyone() {
            return Err(ApiError::Invalid(
                "disconnect needs `sockets`, `users` or `rooms`".into(),
            ));
        }
        let selection = self.select(targets)?;
        let gone = selection.clone().sockets().await;
        selection.disconnect();
        Ok(gone)
    }

    /// Disconnects every socket of `user` in the main namespace.
    pub fn disconnect_user(&self, user: &str) {
        self.io().to(self.user_room(user)).disconnect();
    }

    /// Disconnects one socket from the main namespace.
    pub fn disconnect_socket(&self, socket: &str) {
        self.io().to(socket).disconnect();
    }

    /// Where the progress of `user`'s operation goes: the socket named by
    /// `socket` if it is connected and the user's, else the user's room.
    pub async fn progress_delivery(&self, user: &str, socket: Option<&str>) -> Delivery {
        if let Some(socket) = socket.map(str::trim).filter(|s| !s.is_empty()) {
            let found = self.io().of("/").to(socket).sockets().await;
            if found
                .iter()
                .any(|s| s.id == socket && s.user_id.as_deref() == Some(user))
            {
                return Delivery::Socket(socket.to_owned());
            }
        }
        Delivery::UserRoom(self.user_room(user))
    }

    /// Sends one report: `operation:progress` to `delivery` and, on the
    /// success of a mutating operation, `data:changed` with
    /// `initiatorSocketId` to everyone.
    pub fn send_progress(
        &self,
        delivery: &Delivery,
        progress: &Progress,
        initiator: Option<&str>,
    ) -> Result<(), ApiError> {
        operations::check_operation(&progress.operation).map_err(ApiError::Invalid)?;
        let config = &self.config().operations;
        let main = self.io().of("/");
        main.clone().to(delivery.room()).emit(
            &config.progress_event,
            &progress.progress_payload(&now_iso()),
        )?;
        if progress.broadcasts(config) {
            main.emit(&config.changed_event, &progress.changed_payload(initiator))?;
        }
        Ok(())
    }

    /// Reports progress of `user`'s operation, asked from socket `socket`
    /// (the request's `X-Socket-ID`) if known: [`Appliance::progress_delivery`],
    /// then [`Appliance::send_progress`].
    pub async fn report_progress(
        &self,
        user: &str,
        socket: Option<&str>,
        progress: &Progress,
    ) -> Result<Delivery, ApiError> {
        operations::check_operation(&progress.operation).map_err(ApiError::Invalid)?;
        let delivery = self.progress_delivery(user, socket).await;
        let initiator = socket.map(str::trim).filter(|s| !s.is_empty());
        self.send_progress(&delivery, progress, initiator)?;
        Ok(delivery)
    }

    /// BAASIX's `item.<action>` `{collection, item, userId, timestamp}` to
    /// the rooms `collection:{collection}` and `item:{collection}:{id}`.
    pub fn item_event(
        &self,
        collection: &str,
        action: ItemAction,
        item: &Value,
        user_id: Option<&str>,
    ) -> Result<(), ApiError> {
        items::check_collection(collection).map_err(ApiError::Invalid)?;
        let id = items::item_id(item).map_err(ApiError::Invalid)?;
        let payload = items::item_payload(collection, item, user_id, &now_iso());
        let targets = Targets::everyone()
            .room(items::collection_room(collection))
            .room(items::item_room(collection, &id));
        self.emit(&targets, &action.event(), &payload)
    }

    /// BAASIX's `file.<action>` `{file, action, user}` to the user's room
    /// and any `rooms`.
    pub fn file_event(
        &self,
        action: FileAction,
        file: &Value,
        user: &str,
        rooms: &[String],
    ) -> Result<(), ApiError> {
        if user.is_empty() {
            return Err(ApiError::Invalid("`user` must not be empty".into()));
        }
        let targets = Targets {
            users: vec![user.to_owned()],
            rooms: rooms.to_vec(),
            ..Targets::default()
        };
        self.emit(
            &targets,
            &action.event(),
            &items::file_payload(file, action, user),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_empty_events_are_refused() {
        assert!(check_event("new-notification").is_ok());
        assert!(check_event("operation:progress").is_ok());
        for event in RESERVED_EVENTS {
            assert!(
                matches!(check_event(event), Err(ApiError::Invalid(_))),
                "{event}"
            );
        }
        assert!(check_event("").is_err());
        assert!(check_event(&"e".repeat(201)).is_err());
    }

    #[test]
    fn targets_build_and_tell_everyone() {
        assert!(Targets::everyone().is_everyone());
        assert!(Targets::everyone().except("x").is_everyone());
        assert!(!Targets::everyone().user("7").is_everyone());
        assert_eq!(Targets::everyone().namespace(), "/");
        assert_eq!(Targets::everyone().nsp("/admin").namespace(), "/admin");
    }

    #[test]
    fn store_refusals_are_bad_input() {
        assert!(matches!(
            ApiError::from(NotificationStoreError::Invalid("x".into())),
            ApiError::Invalid(_)
        ));
    }
}
