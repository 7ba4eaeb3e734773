//! Friendships, kept under both users so either side lists theirs with one
//! prefix scan; both copies change in one batch.

use super::model::{Friendship, FriendshipStatus, Millis};
use super::{Result, Store, decode, encode, get, keys};

impl Store {
    /// The friendship of `user` and `other`, as seen from `user`.
    pub fn friendship(&self, user: &str, other: &str) -> Result<Option<Friendship>> {
        get(&self.0.friends, &keys::friend(user, other))
    }

    /// Sets where `a` and `b` stand; `by` asked (or blocked).
    pub fn set_friendship(
        &self,
        a: &str,
        b: &str,
        status: FriendshipStatus,
        by: &str,
        now: Millis,
    ) -> Result<Friendship> {
        let record = |user: &str, other: &str| Friendship {
            user: user.to_owned(),
            other: other.to_owned(),
            status,
            by: by.to_owned(),
            updated_at: now,
        };
        let mut batch = sled::Batch::default();
        batch.insert(keys::friend(a, b), encode(&record(a, b))?);
        batch.insert(keys::friend(b, a), encode(&record(b, a))?);
        self.0.friends.apply_batch(batch)?;
        Ok(record(a, b))
    }

    /// Forgets the friendship of `a` and `b` (an unblock).
    pub fn remove_friendship(&self, a: &str, b: &str) -> Result<()> {
        let mut batch = sled::Batch::default();
        batch.remove(keys::friend(a, b));
        batch.remove(keys::friend(b, a));
        self.0.friends.apply_batch(batch)?;
        Ok(())
    }

    /// Every friendship of `user`, whatever its status.
    pub fn friendships_of(&self, user: &str) -> Result<Vec<Friendship>> {
        self.0
            .friends
            .scan_prefix(keys::user_prefix(user))
            .map(|entry| {
                let (key, value) = entry?;
                decode(&key, &value)
            })
            .collect()
    }
}
