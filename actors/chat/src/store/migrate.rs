//! Upgrades a database written by an older confab in place, at open.
//!
//! Before the members' states became one record per chat, each member's
//! read cursor and unread count was a key of its own (`S` chat user).
//! Those keys are folded into the chat's one record (`S` chat), so that an
//! upgrade keeps every unread count; a state already in the new record is
//! newer and wins.

use std::collections::HashMap;

use sled::Batch;

use super::model::MemberState;
use super::{Result, decode, encode, get, keys};

/// Folds every old per-member state key of `chats` into its chat's record
/// and removes it, in one atomic batch. Returns how many keys were folded.
pub(super) fn member_states(chats: &sled::Tree) -> Result<usize> {
    let mut by_chat: HashMap<u64, HashMap<String, MemberState>> = HashMap::new();
    let mut batch = Batch::default();
    let mut folded = 0;
    for entry in chats.scan_prefix(keys::STATES_PREFIX) {
        let (key, value) = entry?;
        let Some((chat, user)) = keys::old_state(&key) else {
            continue;
        };
        let state: MemberState = decode(&key, &value)?;
        by_chat.entry(chat).or_default().insert(user, state);
        batch.remove(key);
        folded += 1;
    }
    for (chat, old) in by_chat {
        let record = keys::states(chat);
        let mut states: HashMap<String, MemberState> = get(chats, &record)?.unwrap_or_default();
        for (user, state) in old {
            states.entry(user).or_insert(state);
        }
        batch.insert(record, encode(&states)?);
    }
    if folded > 0 {
        chats.apply_batch(batch)?;
    }
    Ok(folded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_key(chat: u64, user: &str) -> Vec<u8> {
        let mut key = keys::states(chat);
        key.extend_from_slice(&(user.len() as u16).to_be_bytes());
        key.extend_from_slice(user.as_bytes());
        key
    }

    fn state(cursor: u64, unread: u64) -> Vec<u8> {
        encode(&MemberState { cursor, unread }).unwrap()
    }

    #[test]
    fn old_member_state_keys_are_folded_into_one_record_per_chat() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let chats = db.open_tree("chats").unwrap();
        chats.insert(old_key(1, "a"), state(4, 2)).unwrap();
        chats.insert(old_key(1, "b"), state(0, 6)).unwrap();
        chats.insert(old_key(2, "a"), state(9, 1)).unwrap();
        // Chat 2 was written since the upgrade: its record is newer for "a".
        let newer = HashMap::from([(
            "a".to_owned(),
            MemberState {
                cursor: 12,
                unread: 0,
            },
        )]);
        chats
            .insert(keys::states(2), encode(&newer).unwrap())
            .unwrap();
        // Keys of other kinds are left alone.
        chats.insert(keys::header(1), b"{}".to_vec()).unwrap();

        assert_eq!(member_states(&chats).unwrap(), 3);

        let one: HashMap<String, MemberState> = get(&chats, &keys::states(1)).unwrap().unwrap();
        assert_eq!(
            one["a"],
            MemberState {
                cursor: 4,
                unread: 2
            }
        );
        assert_eq!(
            one["b"],
            MemberState {
                cursor: 0,
                unread: 6
            }
        );
        let two: HashMap<String, MemberState> = get(&chats, &keys::states(2)).unwrap().unwrap();
        assert_eq!(two, newer);
        let left: Vec<_> = chats.scan_prefix(keys::STATES_PREFIX).keys().collect();
        assert_eq!(left.len(), 2, "only the two records remain");
        assert!(chats.contains_key(keys::header(1)).unwrap());
        // A second open finds nothing more to do.
        assert_eq!(member_states(&chats).unwrap(), 0);
    }

    #[test]
    fn a_new_database_has_nothing_to_fold() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let chats = db.open_tree("chats").unwrap();
        chats.insert(keys::states(1), state(1, 1)).unwrap();
        assert_eq!(member_states(&chats).unwrap(), 0);
    }
}
