//! Notifications kept for users: stored in sled (so an unread count is right
//! after a restart), pushed to the user's room as they are created, seen and
//! deleted, in the style of the seed the profile serves:
//!
//! - `baasix`: `notification.new`, `notification.seen`,
//!   `notification.deleted`, each `{notification: {id, type, title, message,
//!   data, seen, userId, createdAt}}`;
//! - `nickdoc`: `new-notification {notification: {_id, type, title, body,
//!   data, createdAt}}` and `unread-count-update {unreadCount}` (after every
//!   change).
//!
//! Two trees of the appliance's database: `notifications` (id → record) and
//! `notifications_by_user` (user, id → seen flag: the unread count reads
//! only this index).

use std::sync::Arc;

use confab_chat::store::Flusher;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use tracing::warn;

use super::auth::now_iso;
use super::rooms::RoomPolicy;
use crate::Io;

/// `[notifications]` in the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Which seed's events and payloads: `baasix` or `nickdoc`.
    pub style: NotificationStyle,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NotificationStyle {
    #[default]
    Baasix,
    Nickdoc,
}

/// A stored notification.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: String,
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The text (`message` in BAASIX, `body` in nick-doc).
    pub message: String,
    pub data: Value,
    pub seen: bool,
    /// ISO 8601.
    pub created_at: String,
}

/// What a new notification says.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub user_id: String,
    /// `info` when empty.
    pub kind: String,
    pub title: String,
    pub message: String,
    pub data: Value,
}

impl NewNotification {
    pub fn new(
        user_id: impl Into<String>,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        NewNotification {
            user_id: user_id.into(),
            kind: "info".into(),
            title: title.into(),
            message: message.into(),
            data: Value::Null,
        }
    }

    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = kind.into();
        self
    }

    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// Why the notification store failed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationStoreError {
    #[error("database: {0}")]
    Sled(#[from] sled::Error),
    #[error("corrupt notification record {key:?}: {reason}")]
    Corrupt { key: Vec<u8>, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("not durable: {0}")]
    Flush(#[from] confab_chat::store::StoreError),
}

impl From<TransactionError<NotificationStoreError>> for NotificationStoreError {
    fn from(err: TransactionError<NotificationStoreError>) -> Self {
        match err {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => NotificationStoreError::Sled(e),
        }
    }
}

type Result<T, E = NotificationStoreError> = std::result::Result<T, E>;

/// The two trees, synchronous (sled answers from memory), and the
/// database's one flusher.
#[derive(Clone)]
pub struct NotificationStore {
    /// For its ids (`generate_id`).
    db: sled::Db,
    flusher: Flusher,
    records: sled::Tree,
    by_user: sled::Tree,
}

const UNSEEN: u8 = 0;
const SEEN: u8 = 1;

fn user_prefix(user: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + user.len() + 8);
    key.extend_from_slice(&(user.len() as u32).to_be_bytes());
    key.extend_from_slice(user.as_bytes());
    key
}

fn index_key(user: &str, id: u64) -> Vec<u8> {
    let mut key = user_prefix(user);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// A notification id as the API shows it (decimal) back to its key.
fn parse_id(id: &str) -> Option<u64> {
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok()
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<Notification> {
    serde_json::from_slice(bytes).map_err(|e| NotificationStoreError::Corrupt {
        key: key.to_vec(),
        reason: e.to_string(),
    })
}

fn encode(n: &Notification) -> Result<Vec<u8>> {
    serde_json::to_vec(n).map_err(|e| NotificationStoreError::Invalid(e.to_string()))
}

fn abort(err: NotificationStoreError) -> ConflictableTransactionError<NotificationStoreError> {
    ConflictableTransactionError::Abort(err)
}

impl NotificationStore {
    /// Opens (or creates) the trees in `db`, made durable by its
    /// `flusher` (the same group commit as the chat's).
    pub fn open(db: &sled::Db, flusher: Flusher) -> Result<NotificationStore> {
        Ok(NotificationStore {
            records: db.open_tree("notifications")?,
            by_user: db.open_tree("notifications_by_user")?,
            db: db.clone(),
            flusher,
        })
    }

    /// Stores a new notification, unseen.
    pub fn insert(&self, new: NewNotification) -> Result<Notification> {
        let user_id = new.user_id.trim().to_owned();
        if user_id.is_empty() {
            return Err(NotificationStoreError::Invalid(
                "a notification needs a user".into(),
            ));
        }
        let number = self.db.generate_id()? + 1;
        let kind = if new.kind.trim().is_empty() {
            "info".to_owned()
        } else {
            new.kind
        };
        let notification = Notification {
            id: number.to_string(),
            user_id,
            kind,
            title: new.title,
            message: new.message,
            data: new.data,
            seen: false,
            created_at: now_iso(),
        };
        let record = encode(&notification)?;
        let index = index_key(&notification.user_id, number);
        (&self.records, &self.by_user).transaction(|(records, by_user)| {
            records.insert(&number.to_be_bytes(), record.as_slice())?;
            by_user.insert(index.as_slice(), &[UNSEEN])?;
            Ok(())
        })?;
        Ok(notification)
    }

    pub fn get(&self, id: &str) -> Result<Option<Notification>> {
        let Some(number) = parse_id(id) else {
            return Ok(None);
        };
        let key = number.to_be_bytes();
        self.records
            .get(key)?
            .map(|bytes| decode(&key, &bytes))
            .transpose()
    }

    /// Marks a notification seen: the record, and whether it changed.
    pub fn mark_seen(&self, id: &str) -> Result<Option<(Notification, bool)>> {
        let Some(number) = parse_id(id) else {
            return Ok(None);
        };
        let key = number.to_be_bytes();
        let outcome = (&self.records, &self.by_user).transaction(|(records, by_user)| {
            let Some(bytes) = records.get(key)? else {
                return Ok(None);
            };
            let mut n = decode(&key, &bytes).map_err(abort)?;
            if n.seen {
                return Ok(Some((n, false)));
            }
            n.seen = true;
            records.insert(&key, encode(&n).map_err(abort)?)?;
            by_user.insert(index_key(&n.user_id, number), &[SEEN])?;
            Ok(Some((n, true)))
        })?;
        Ok(outcome)
    }

    /// Marks every unseen notification of `user` seen; returns those.
    pub fn mark_all_seen(&self, user: &str) -> Result<Vec<Notification>> {
        let mut unseen = Vec::new();
        for entry in self.by_user.scan_prefix(user_prefix(user)) {
            let (key, flag) = entry?;
            if flag.first() == Some(&UNSEEN)
                && let Ok(id) = <[u8; 8]>::try_from(&key[key.len().saturating_sub(8)..])
            {
                unseen.push(u64::from_be_bytes(id));
            }
        }
        let mut changed = Vec::new();
        for number in unseen {
            if let Some((n, true)) = self.mark_seen(&number.to_string())? {
                changed.push(n);
            }
        }
        Ok(changed)
    }

    /// Deletes a notification; returns it as it was.
    pub fn remove(&self, id: &str) -> Result<Option<Notification>> {
        let Some(number) = parse_id(id) else {
            return Ok(None);
        };
        let key = number.to_be_bytes();
        let removed = (&self.records, &self.by_user).transaction(|(records, by_user)| {
            let Some(bytes) = records.remove(&key)? else {
                return Ok(None);
            };
            let n = decode(&key, &bytes).map_err(abort)?;
            by_user.remove(index_key(&n.user_id, number))?;
            Ok(Some(n))
        })?;
        Ok(removed)
    }

    /// A user's notifications, newest first.
    pub fn list(&self, user: &str, unseen_only: bool, limit: usize) -> Result<Vec<Notification>> {
        let mut out = Vec::new();
        for entry in self.by_user.scan_prefix(user_prefix(user)).rev() {
            if out.len() >= limit {
                break;
            }
            let (key, flag) = entry?;
            if unseen_only && flag.first() != Some(&UNSEEN) {
                continue;
            }
            let record_key = &key[key.len().saturating_sub(8)..];
            match self.records.get(record_key)? {
                Some(bytes) => out.push(decode(record_key, &bytes)?),
                None => warn!(user, "notification index names a missing record"),
            }
        }
        Ok(out)
    }

    /// How many of a user's notifications are unseen.
    pub fn unread_count(&self, user: &str) -> Result<u64> {
        let mut count = 0;
        for entry in self.by_user.scan_prefix(user_prefix(user)) {
            let (_, flag) = entry?;
            if flag.first() == Some(&UNSEEN) {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Resolves once every write before the call is on disk, sharing the
    /// database's group commit with every other writer waiting.
    pub async fn flush(&self) -> Result<()> {
        Ok(self.flusher.durable().await?)
    }
}

/// The notification service: the store, and the events to the user's room.
#[derive(Clone)]
pub struct Notifications {
    store: NotificationStore,
    io: Io,
    rooms: Arc<RoomPolicy>,
    style: NotificationStyle,
}

/// Largest page of [`Notifications::list`].
pub const MAX_LIST: usize = 500;

impl Notifications {
    pub fn new(
        store: NotificationStore,
        io: Io,
        rooms: Arc<RoomPolicy>,
        config: &NotificationsConfig,
    ) -> Notifications {
        Notifications {
            store,
            io,
            rooms,
            style: config.style,
        }
    }

    pub fn store(&self) -> &NotificationStore {
        &self.store
    }

    pub fn style(&self) -> NotificationStyle {
        self.style
    }

    /// Stores a notification (on disk before this returns) and tells the
    /// user's sockets.
    pub async fn create(&self, new: NewNotification) -> Result<Notification> {
        let n = self.store.insert(new)?;
        self.store.flush().await?;
        match self.style {
            NotificationStyle::Baasix => self.emit(&n.user_id, "notification.new", &n),
            NotificationStyle::Nickdoc => {
                let body = json!({ "notification": self.nickdoc_event(&n) });
                self.emit_raw(&n.user_id, "new-notification", &body);
                self.send_count(&n.user_id)?;
            }
        }
        Ok(n)
    }

    /// Marks a notification seen; `None` if there is no such notification.
    pub async fn mark_seen(&self, id: &str) -> Result<Option<Notification>> {
        let Some((n, changed)) = self.store.mark_seen(id)? else {
            return Ok(None);
        };
        if changed {
            self.store.flush().await?;
            self.after_seen(std::slice::from_ref(&n))?;
        }
        Ok(Some(n))
    }

    /// Marks all of a user's notifications seen; returns how many changed.
    pub async fn mark_all_seen(&self, user: &str) -> Result<usize> {
        let changed = self.store.mark_all_seen(user)?;
        if !changed.is_empty() {
            self.store.flush().await?;
            self.after_seen(&changed)?;
        }
        Ok(changed.len())
    }

    fn after_seen(&self, seen: &[Notification]) -> Result<()> {
        match self.style {
            NotificationStyle::Baasix => {
                for n in seen {
                    self.emit(&n.user_id, "notification.seen", n);
                }
            }
            NotificationStyle::Nickdoc => {
                if let Some(n) = seen.first() {
                    self.send_count(&n.user_id)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes a notification; `None` if there is no such notification.
    pub async fn delete(&self, id: &str) -> Result<Option<Notification>> {
        let Some(n) = self.store.remove(id)? else {
            return Ok(None);
        };
        self.store.flush().await?;
        match self.style {
            NotificationStyle::Baasix => self.emit(&n.user_id, "notification.deleted", &n),
            NotificationStyle::Nickdoc => self.send_count(&n.user_id)?,
        }
        Ok(Some(n))
    }

    pub fn get(&self, id: &str) -> Result<Option<Notification>> {
        self.store.get(id)
    }

    /// A user's notifications, newest first, at most `limit` (capped at
    /// [`MAX_LIST`]).
    pub fn list(&self, user: &str, unseen_only: bool, limit: usize) -> Result<Vec<Notification>> {
        self.store.list(user, unseen_only, limit.min(MAX_LIST))
    }

    pub fn unread_count(&self, user: &str) -> Result<u64> {
        self.store.unread_count(user)
    }

    /// A notification as this style shows it in lists: the event's fields,
    /// plus `seen` and `userId`.
    pub fn render(&self, n: &Notification) -> Value {
        match self.style {
            NotificationStyle::Baasix => baasix_json(n),
            NotificationStyle::Nickdoc => {
                let mut v = self.nickdoc_event(n);
                v["seen"] = Value::Bool(n.seen);
                v["userId"] = Value::String(n.user_id.clone());
                v
            }
        }
    }

    fn nickdoc_event(&self, n: &Notification) -> Value {
        json!({
            "_id": n.id,
            "type": n.kind,
            "title": n.title,
            "body": n.message,
            "data": n.data,
            "createdAt": n.created_at,
        })
    }

    fn emit(&self, user: &str, event: &str, n: &Notification) {
        self.emit_raw(user, event, &json!({ "notification": baasix_json(n) }));
    }

    fn emit_raw(&self, user: &str, event: &str, body: &Value) {
        let _ = self.io.to(self.rooms.user_room(user)).emit(event, body);
    }

    fn send_count(&self, user: &str) -> Result<()> {
        let count = self.store.unread_count(user)?;
        self.emit_raw(
            user,
            "unread-count-update",
            &json!({ "unreadCount": count }),
        );
        Ok(())
    }
}

/// BAASIX's payload: `{id, type, title, message, data, seen, userId,
/// createdAt}`.
fn baasix_json(n: &Notification) -> Value {
    json!({
        "id": n.id,
        "type": n.kind,
        "title": n.title,
        "message": n.message,
        "data": n.data,
        "seen": n.seen,
        "userId": n.user_id,
        "createdAt": n.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> NotificationStore {
        let db = sled::Config::new().temporary(true).open().unwrap();
        NotificationStore::open(&db, Flusher::temporary(db.clone()).unwrap()).unwrap()
    }

    #[test]
    fn counts_follow_inserts_seen_and_deletes() {
        let s = store();
        let a = s.insert(NewNotification::new("u1", "A", "a")).unwrap();
        let b = s.insert(NewNotification::new("u1", "B", "b")).unwrap();
        s.insert(NewNotification::new("u2", "C", "c")).unwrap();
        // A user id that is a prefix of another's is a different user.
        s.insert(NewNotification::new("u", "D", "d")).unwrap();
        assert_eq!(s.unread_count("u1").unwrap(), 2);
        assert_eq!(s.unread_count("u").unwrap(), 1);
        assert_eq!(s.unread_count("nobody").unwrap(), 0);
        let (seen, changed) = s.mark_seen(&a.id).unwrap().unwrap();
        assert!(seen.seen && changed);
        assert!(!s.mark_seen(&a.id).unwrap().unwrap().1, "seen twice");
        assert_eq!(s.unread_count("u1").unwrap(), 1);
        assert_eq!(s.remove(&b.id).unwrap().unwrap().title, "B");
        assert_eq!(s.remove(&b.id).unwrap(), None);
        assert_eq!(s.unread_count("u1").unwrap(), 0);
        assert_eq!(s.list("u1", false, 10).unwrap().len(), 1);
    }

    #[test]
    fn lists_are_newest_first_and_filtered() {
        let s = store();
        let ids: Vec<String> = (0..5)
            .map(|i| {
                s.insert(NewNotification::new("u", format!("n{i}"), ""))
                    .unwrap()
                    .id
            })
            .collect();
        s.mark_seen(&ids[4]).unwrap();
        let titles = |v: Vec<Notification>| v.into_iter().map(|n| n.title).collect::<Vec<_>>();
        assert_eq!(titles(s.list("u", false, 3).unwrap()), ["n4", "n3", "n2"]);
        assert_eq!(titles(s.list("u", true, 2).unwrap()), ["n3", "n2"]);
        assert_eq!(s.mark_all_seen("u").unwrap().len(), 4);
        assert_eq!(s.unread_count("u").unwrap(), 0);
    }

    #[test]
    fn unknown_and_malformed_ids_are_absent() {
        let s = store();
        for id in ["", "x", "-1", "99999999999999999999999", "12"] {
            assert_eq!(s.get(id).unwrap(), None, "{id}");
            assert_eq!(s.mark_seen(id).unwrap(), None, "{id}");
            assert_eq!(s.remove(id).unwrap(), None, "{id}");
        }
        assert!(matches!(
            s.insert(NewNotification::new(" ", "t", "m")),
            Err(NotificationStoreError::Invalid(_))
        ));
    }

    #[test]
    fn counts_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("confab-notif-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let db = sled::open(&dir).unwrap();
            let s = NotificationStore::open(&db, Flusher::temporary(db.clone()).unwrap()).unwrap();
            let a = s.insert(NewNotification::new("u", "a", "")).unwrap();
            s.insert(NewNotification::new("u", "b", "")).unwrap();
            s.mark_seen(&a.id).unwrap();
            db.flush().unwrap();
        }
        // sled's background flusher may hold the file lock a moment after
        // the first handle is dropped: wait for it, as a restart would.
        let db = (0..100)
            .find_map(|_| {
                sled::open(&dir).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    None
                })
            })
            .expect("the database lock is released");
        let s = NotificationStore::open(&db, Flusher::temporary(db.clone()).unwrap()).unwrap();
        assert_eq!(s.unread_count("u").unwrap(), 1);
        s.insert(NewNotification::new("u", "c", "")).unwrap();
        let ids: std::collections::HashSet<String> = s
            .list("u", false, 10)
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(ids.len(), 3, "ids are not reused after a restart");
        drop(s);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
