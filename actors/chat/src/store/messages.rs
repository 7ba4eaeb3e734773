//! Messages and member states of one chat: atomic writes, history pages,
//! and unread counts.

use std::collections::HashMap;

use super::model::{ChatRecord, MemberState, Message};
use std::ops::Bound;

use super::{CHATS, COUNTERS, Journaled, Record, Result, Store, decode, encode, keys};

/// The sequence message ids are taken from.
const MESSAGE_COUNTER: &str = "message";

/// How many message ids the store reserves in sled at a time and then
/// hands out from memory: a message costs no sled compare-and-swap, and a
/// restart skips at most this many ids (they need only grow).
pub(crate) const MESSAGE_ID_BLOCK: u64 = 1024;

/// The message ids reserved and not yet given: `next` up to `last`.
#[derive(Debug)]
pub(crate) struct IdBlock {
    next: u64,
    last: u64,
}

impl Default for IdBlock {
    /// Empty (`next` past `last`): the first id reserves a block.
    fn default() -> IdBlock {
        IdBlock { next: 1, last: 0 }
    }
}

/// Everything one change to a chat writes, applied as one sled batch and
/// one journal record: a reader never sees a message without the header
/// and counts that go with it, and a crash keeps all of it or none.
#[derive(Debug, Default)]
pub struct ChatWrite<'a> {
    pub chat: u64,
    pub header: Option<&'a ChatRecord>,
    pub messages: Vec<&'a Message>,
    /// Every member's state after the change, when it changes any: the
    /// chat's actor holds them all, so the stored record is replaced, not
    /// read back and merged.
    pub states: Option<&'a HashMap<String, MemberState>>,
    /// Uploads the messages name: the chat now references them (see
    /// [`Store::chats_referencing`]).
    pub files: Vec<&'a str>,
}

/// Message records written (new, edited or deleted), a counter of the
/// global `metrics` recorder: once a chat write, beside its sled batch.
pub const MESSAGES_STORED: &str = "confab_chat_messages_stored_total";

impl Store {
    /// The next message id (ids are global and only grow, so a chat's
    /// messages sort by id in the order they were written).
    pub fn next_message_id(&self) -> Result<u64> {
        let mut block = self.0.message_ids.lock().unwrap_or_else(|e| e.into_inner());
        if block.next > block.last {
            let last = self.reserve_ids(MESSAGE_COUNTER, MESSAGE_ID_BLOCK)?;
            *block = IdBlock {
                next: last - MESSAGE_ID_BLOCK + 1,
                last,
            };
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// Applies a change to one chat atomically, journaled (durable once
    /// [`Store::journaled`] resolves).
    pub fn write(&self, change: ChatWrite<'_>) -> Result<()> {
        let mut record = Record::default();
        if let Some(header) = change.header {
            record.insert(CHATS, &keys::header(header.id), &encode(header)?);
        }
        let written = change.messages.len() as u64;
        let mut newest = 0;
        for message in change.messages {
            newest = newest.max(message.id);
            let key = keys::message(message.chat_id, message.id);
            record.insert(CHATS, &key, &encode(message)?);
        }
        if let Some(states) = change.states {
            // One record for every member of the chat: a group's message
            // rewrites one key, not one per member.
            record.insert(CHATS, &keys::states(change.chat), &encode(states)?);
        }
        for path in change.files {
            record.insert(CHATS, &keys::file_ref(path, change.chat), &[]);
        }
        if newest > 0 {
            record.at_least(COUNTERS, MESSAGE_COUNTER.as_bytes(), newest);
        }
        self.apply(record)?;
        metrics::counter!(MESSAGES_STORED).increment(written);
        Ok(())
    }

    /// One message, deleted or not.
    pub fn message(&self, chat: u64, id: u64) -> Result<Option<Message>> {
        self.read(Journaled::Chats, &keys::message(chat, id))
    }

    /// A page of history, newest first: messages older than `before` (all
    /// when `None`), skipping `skip` of them, at most `take`. Deleted
    /// messages are left out.
    pub fn history(
        &self,
        chat: u64,
        before: Option<u64>,
        skip: usize,
        take: usize,
    ) -> Result<Vec<Message>> {
        let start = keys::message(chat, 0);
        let end = match before {
            Some(id) => keys::message(chat, id),
            None => keys::message(chat, u64::MAX),
        };
        self.live(self.messages_in(start, end, true), skip, take)
    }

    /// Messages newer than `after`, oldest first, at most `take`.
    pub fn messages_after(&self, chat: u64, after: u64, take: usize) -> Result<Vec<Message>> {
        let start = keys::message(chat, after.saturating_add(1));
        let end = keys::message(chat, u64::MAX);
        self.live(self.messages_in(start, end, false), 0, take)
    }

    /// The message entries from `start` up to `end` (excluded).
    fn messages_in(
        &self,
        start: Vec<u8>,
        end: Vec<u8>,
        rev: bool,
    ) -> impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>> + use<> {
        let range = (Bound::Included(start), Bound::Excluded(end));
        self.scan(Journaled::Chats, range, rev)
    }

    fn live(
        &self,
        entries: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
        skip: usize,
        take: usize,
    ) -> Result<Vec<Message>> {
        let mut page = Vec::new();
        let mut skipped = 0;
        for entry in entries {
            if page.len() >= take {
                break;
            }
            let (key, value) = entry?;
            let message: Message = decode(&key, &value)?;
            if message.is_deleted() {
                continue;
            }
            if skipped < skip {
                skipped += 1;
                continue;
            }
            page.push(message);
        }
        Ok(page)
    }

    /// The newest message of a chat that is not deleted.
    pub fn last_live_message(&self, chat: u64) -> Result<Option<Message>> {
        Ok(self.history(chat, None, 0, 1)?.pop())
    }

    pub fn member_state(&self, chat: u64, user: &str) -> Result<MemberState> {
        Ok(self.member_states(chat)?.remove(user).unwrap_or_default())
    }

    /// The states of every member that has one.
    pub fn member_states(&self, chat: u64) -> Result<HashMap<String, MemberState>> {
        Ok(self
            .read(Journaled::Chats, &keys::states(chat))?
            .unwrap_or_default())
    }

    /// Counts what `user` has not read by scanning: the messages of others
    /// after their cursor. The kept count must always equal this; it is
    /// how the tests check it, and how a count can be repaired.
    pub fn count_unread(&self, chat: u64, user: &str) -> Result<u64> {
        let cursor = self.member_state(chat, user)?.cursor;
        let start = keys::message(chat, cursor.saturating_add(1));
        let end = keys::message(chat, u64::MAX);
        let mut count = 0;
        for entry in self.messages_in(start, end, false) {
            let (key, value) = entry?;
            let message: Message = decode(&key, &value)?;
            if !message.is_deleted() && message.sender != user {
                count += 1;
            }
        }
        Ok(count)
    }
}
