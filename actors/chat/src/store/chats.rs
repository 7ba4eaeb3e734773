//! Chat headers: the get-or-create of an individual chat, groups, and which
//! chats a user is in.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::model::{ChatKind, ChatRecord, MemberState, Millis};
use super::{
    CHATS, Journaled, Record, Result, Store, StoreError, USER_CHATS, decode, encode, keys,
};

type TxResult<T> = std::result::Result<T, ConflictableTransactionError<StoreError>>;

fn tx_encode<T: serde::Serialize>(value: &T) -> TxResult<Vec<u8>> {
    encode(value).map_err(ConflictableTransactionError::Abort)
}

/// Writes a new header and indexes it under each member, in a transaction.
fn insert_header(
    chats: &TransactionalTree,
    user_chats: &TransactionalTree,
    header: &ChatRecord,
) -> TxResult<()> {
    chats.insert(keys::header(header.id), tx_encode(header)?)?;
    for member in &header.members {
        user_chats.insert(keys::user_chat(member, header.id), &[][..])?;
    }
    Ok(())
}

impl Store {
    pub fn chat(&self, id: u64) -> Result<Option<ChatRecord>> {
        self.read(Journaled::Chats, &keys::header(id))
    }

    /// The individual chat of `a` and `b`, created if they have none
    /// (`true` when created). Two callers racing get the same chat: the
    /// pair's key is checked and written in one transaction.
    pub fn individual_chat(&self, a: &str, b: &str, now: Millis) -> Result<(ChatRecord, bool)> {
        let pair = keys::pair(a, b);
        if let Some(id) = self.0.pairs.get(&pair)?.as_deref().and_then(keys::read_u64)
            && let Some(header) = self.chat(id)?
        {
            return Ok((header, false));
        }
        let id = self.next_id("chat")?;
        let fresh = ChatRecord {
            id,
            kind: ChatKind::Individual,
            name: None,
            members: vec![a.to_owned(), b.to_owned()],
            created_at: now,
            last_message_id: None,
            message_count: 0,
            admins: Vec::new(),
        };
        let inner = &self.0;
        let (header, created) = (&inner.pairs, &inner.chats, &inner.user_chats).transaction(
            |(pairs, chats, user_chats)| {
                if let Some(existing) = pairs.get(&pair)? {
                    let id = keys::read_u64(&existing).unwrap_or(0);
                    let key = keys::header(id);
                    if let Some(bytes) = chats.get(&key)? {
                        let header: ChatRecord =
                            decode(&key, &bytes).map_err(ConflictableTransactionError::Abort)?;
                        return Ok((header, false));
                    }
                }
                pairs.insert(pair.as_slice(), &keys::u64_value(id)[..])?;
                insert_header(chats, user_chats, &fresh)?;
                Ok((fresh.clone(), true))
            },
        )?;
        if created {
            return Ok((header, true));
        }
        // Another caller made it: its header as readers see it, with the
        // journaled writes sled does not have yet.
        Ok((self.chat(header.id)?.unwrap_or(header), false))
    }

    /// The individual chat of `a` and `b`, if they have one.
    pub fn individual_between(&self, a: &str, b: &str) -> Result<Option<u64>> {
        Ok(self
            .0
            .pairs
            .get(keys::pair(a, b))?
            .as_deref()
            .and_then(keys::read_u64))
    }

    /// A new group chat of `members` (duplicates dropped, order kept); the
    /// first member is its admin.
    pub fn create_group(&self, name: &str, members: &[String], now: Millis) -> Result<ChatRecord> {
        let mut unique: Vec<String> = Vec::with_capacity(members.len());
        for m in members {
            if !unique.contains(m) {
                unique.push(m.clone());
            }
        }
        let header = ChatRecord {
            id: self.next_id("chat")?,
            kind: ChatKind::Group,
            name: Some(name.to_owned()),
            members: unique.clone(),
            created_at: now,
            last_message_id: None,
            message_count: 0,
            admins: unique.first().cloned().into_iter().collect(),
        };
        let inner = &self.0;
        (&inner.chats, &inner.user_chats)
            .transaction(|(chats, user_chats)| insert_header(chats, user_chats, &header))?;
        Ok(header)
    }

    /// Writes a chat's new header with `added` and `removed` members, and
    /// their index of chats, as one journaled write (durable once
    /// [`Store::journaled`] resolves).
    pub fn set_members(
        &self,
        header: &ChatRecord,
        added: &[String],
        removed: &[String],
    ) -> Result<()> {
        let mut record = Record::default();
        record.insert(CHATS, &keys::header(header.id), &encode(header)?);
        // A new member starts with everything before read.
        let start = MemberState {
            cursor: header.last_message_id.unwrap_or(0),
            unread: 0,
        };
        let mut states = self.member_states(header.id)?;
        for user in added {
            record.insert(USER_CHATS, &keys::user_chat(user, header.id), &[]);
            states.insert(user.clone(), start);
        }
        for user in removed {
            record.remove(USER_CHATS, &keys::user_chat(user, header.id));
            states.remove(user);
        }
        record.insert(CHATS, &keys::states(header.id), &encode(&states)?);
        self.apply(record)
    }

    /// The ids of every chat `user` is in, oldest first.
    pub fn chats_of(&self, user: &str) -> Result<Vec<u64>> {
        self.trailing_ids(
            Journaled::UserChats,
            &keys::user_prefix(user),
            "user chat key",
        )
    }
}
