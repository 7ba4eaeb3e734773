//! Uploaded files: who uploaded each, and which chats reference it (a
//! message whose body is its path; the reference is written in the same
//! batch as the message, see [`ChatWrite::files`](super::ChatWrite)).

use super::model::Upload;
use super::{Journaled, Result, Store, encode, get, keys};

impl Store {
    /// Records an upload (not yet durable: see [`Store::durable`]).
    pub fn put_upload(&self, upload: &Upload) -> Result<()> {
        self.0
            .uploads
            .insert(upload.path.as_bytes(), encode(upload)?)?;
        Ok(())
    }

    pub fn upload(&self, path: &str) -> Result<Option<Upload>> {
        get(&self.0.uploads, path.as_bytes())
    }

    /// The chats with a message naming the upload `path`.
    pub fn chats_referencing(&self, path: &str) -> Result<Vec<u64>> {
        self.trailing_ids(
            Journaled::Chats,
            &keys::file_refs(path),
            "file reference key",
        )
    }

    /// Whether `user` may read the upload: they uploaded it, or they are a
    /// member of a chat that references it now.
    pub fn may_read_upload(&self, upload: &Upload, user: &str) -> Result<bool> {
        if upload.uploader == user {
            return Ok(true);
        }
        for chat in self.chats_referencing(&upload.path)? {
            if self.chat(chat)?.is_some_and(|h| h.is_member(user)) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
