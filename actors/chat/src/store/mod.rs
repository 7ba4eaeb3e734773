//! The chat's durable state in sled: users, chat headers, messages, read
//! cursors with unread counts, and friendships.
//!
//! - [`keys`]: the key layout (big-endian, so history pages are range scans).
//! - [`model`]: the records.
//! - `chats`, `messages`, `users`, `friends`, `uploads`: the operations, one
//!   file each.
//! - `journal`: the write-ahead journal of the chat's writes, `overlay`:
//!   those writes in memory until the flusher moves them into sled, and
//!   `flush`: group commit, so that a message is on disk before it is
//!   acknowledged without every writer paying for its own sync.
//!
//! Reads and writes are synchronous (sled answers from memory in
//! microseconds); only [`Store::durable`] and [`Store::journaled`] wait,
//! and they are async.

mod chats;
mod flush;
mod friends;
mod journal;
pub mod keys;
mod messages;
mod migrate;
pub mod model;
mod overlay;
mod uploads;
mod users;

#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sled::IVec;

use overlay::KeyRange;

pub use flush::{FLUSH_BATCH, FLUSH_SECONDS, Flusher};
pub(crate) use journal::Record;
use messages::IdBlock;
pub use messages::{ChatWrite, MESSAGES_STORED};
pub use model::{
    ChatKind, ChatRecord, Friendship, FriendshipStatus, MemberState, Message, MessageType, Millis,
    Upload, User, now_millis,
};

/// What can go wrong with the store. Every variant is the server's fault
/// or the disk's, never the client's: the caller logs it and answers a
/// generic error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("record under {key:?} does not decode: {reason}")]
    Corrupt { key: Vec<u8>, reason: String },
    #[error("record does not encode: {0}")]
    Encode(String),
    #[error("the store's flusher has stopped")]
    FlusherGone,
    #[error("flush failed: {0}")]
    Flush(String),
    #[error("journal: {0}")]
    Journal(String),
    #[error("could not start the flusher thread: {0}")]
    Thread(#[from] std::io::Error),
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(err: sled::transaction::TransactionError<StoreError>) -> Self {
        match err {
            sled::transaction::TransactionError::Abort(e) => e,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The journal's file name in the database's directory.
pub const JOURNAL_FILE: &str = "chat-journal";

/// The trees journaled writes go to.
const CHATS: &str = "chats";
const USER_CHATS: &str = "user_chats";
const COUNTERS: &str = "counters";

/// The trees of journaled writes: read through the journal, which has
/// the writes sled has not yet.
#[derive(Debug, Clone, Copy)]
enum Journaled {
    Chats,
    UserChats,
}

/// Handle to the chat database. Cheap to clone; every clone is the same
/// database.
#[derive(Clone)]
pub struct Store(Arc<Inner>);

struct Inner {
    /// Headers, messages and member states, by chat (see [`keys`]).
    chats: sled::Tree,
    /// Which chats each user is in.
    user_chats: sled::Tree,
    /// The individual chat of each pair of users.
    pairs: sled::Tree,
    users: sled::Tree,
    friends: sled::Tree,
    /// Id sequences (`chat`, `message`).
    counters: sled::Tree,
    /// Uploaded files by path: who uploaded what.
    uploads: sled::Tree,
    /// Message ids reserved in `counters` and not yet given.
    message_ids: Mutex<IdBlock>,
    /// Last, so that it is dropped (and its thread joined) after the trees.
    flusher: Flusher,
}

impl Store {
    /// Opens (or creates) the database in the directory `path`, its
    /// journal in the same directory ([`JOURNAL_FILE`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let db = sled::Config::new().path(path.as_ref()).open()?;
        let flusher = Flusher::open(db.clone(), &path.as_ref().join(JOURNAL_FILE))?;
        Store::from_db(db, flusher)
    }

    /// A database that lives in a temporary directory and is removed when
    /// dropped: for tests.
    pub fn temporary() -> Result<Store> {
        let db = sled::Config::new().temporary(true).open()?;
        let flusher = Flusher::temporary(db.clone())?;
        Store::from_db(db, flusher)
    }

    /// The chat store in an open database (its own trees), shared with
    /// other services of the same data directory, and flushed by the
    /// database's one `flusher`.
    pub fn from_db(db: sled::Db, flusher: Flusher) -> Result<Store> {
        let tree = |name: &str| db.open_tree(name);
        let chats = tree(CHATS)?;
        let folded = migrate::member_states(&chats)?;
        if folded > 0 {
            db.flush()?;
            tracing::info!(
                folded,
                "chat store: per-member read states folded into one record per chat"
            );
        }
        Ok(Store(Arc::new(Inner {
            chats,
            user_chats: tree(USER_CHATS)?,
            pairs: tree("pairs")?,
            users: tree("users")?,
            friends: tree("friends")?,
            counters: tree(COUNTERS)?,
            uploads: tree("uploads")?,
            message_ids: Mutex::default(),
            // The flusher's handle keeps the database open.
            flusher,
        })))
    }

    /// Resolves once every write made to the database before the call is
    /// on disk. Writers that ask at the same time share one flush.
    pub fn durable(&self) -> impl Future<Output = Result<()>> + use<> {
        self.0.flusher.durable()
    }

    /// Resolves once every journaled write (a [`ChatWrite`], members
    /// changed) made before the call is on disk: the chat actors' wait,
    /// one `fdatasync` of the journal for all who wait together.
    pub fn journaled(&self) -> impl Future<Output = Result<()>> + use<> {
        self.0.flusher.journaled()
    }

    /// Applies a journaled write (see [`Store::journaled`]).
    pub(crate) fn apply(&self, record: Record) -> Result<()> {
        self.0.flusher.apply(record)
    }

    /// Reads and decodes one record of a journaled tree.
    fn read<T: DeserializeOwned>(&self, tree: Journaled, key: &[u8]) -> Result<Option<T>> {
        let (name, sled) = self.journaled_tree(tree);
        let value = self.0.flusher.journal().get(sled, name, key)?;
        value.map(|v| decode(key, &v)).transpose()
    }

    /// The entries of a journaled tree in `range`, in key order or
    /// reversed (`rev`).
    fn scan(
        &self,
        tree: Journaled,
        range: KeyRange,
        rev: bool,
    ) -> impl Iterator<Item = sled::Result<(IVec, IVec)>> + use<> {
        let (name, sled) = self.journaled_tree(tree);
        self.0.flusher.journal().range(sled, name, range, rev)
    }

    /// The ids that end the keys under `prefix` in a journaled tree (`what`
    /// names the keys, for the error of one that does not parse).
    fn trailing_ids(&self, tree: Journaled, prefix: &[u8], what: &str) -> Result<Vec<u64>> {
        self.scan(tree, overlay::prefix_range(prefix), false)
            .map(|entry| {
                let (key, _) = entry?;
                keys::trailing_u64(&key).ok_or_else(|| corrupt(&key, what))
            })
            .collect()
    }

    fn journaled_tree(&self, tree: Journaled) -> (&'static str, &sled::Tree) {
        match tree {
            Journaled::Chats => (CHATS, &self.0.chats),
            Journaled::UserChats => (USER_CHATS, &self.0.user_chats),
        }
    }

    /// The next value of the sequence `name`, starting at 1.
    pub(crate) fn next_id(&self, name: &str) -> Result<u64> {
        self.reserve_ids(name, 1)
    }

    /// Raises the sequence `name` by `count` and returns its new value,
    /// the last of the ids reserved.
    fn reserve_ids(&self, name: &str, count: u64) -> Result<u64> {
        let next = self.0.counters.update_and_fetch(name, |old| {
            let n = old.and_then(keys::read_u64).unwrap_or(0);
            Some(keys::u64_value(n.saturating_add(count)).to_vec())
        })?;
        next.as_deref()
            .and_then(keys::read_u64)
            .ok_or_else(|| corrupt(name.as_bytes(), "counter"))
    }
}

fn corrupt(key: &[u8], reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: key.to_vec(),
        reason: reason.into(),
    }
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode(e.to_string()))
}

fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(key, e.to_string()))
}

/// Reads and decodes one record.
fn get<T: DeserializeOwned>(tree: &sled::Tree, key: &[u8]) -> Result<Option<T>> {
    tree.get(key)?.map(|v| decode(key, &v)).transpose()
}
