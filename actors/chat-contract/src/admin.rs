//! Users and friendships as a backend sets them, without the users'
//! sockets: a backend with its users in its own database (Syarah's) gives
//! confab their names and avatars, and where two users stand. The HTTP
//! twin is `/api/users` and `/api/friendships` (`confab::http`).
//!
//! Each change is durable before the call returns, and pushed as the chat
//! events are: `friendshipUpdated` to both users (as their own requests
//! do), `userUpdated {userId, name, avatar}` to the user and their
//! contacts (friends and chat partners, who see their name).

use serde_json::Value;

use confab_chat::store::{Friendship, FriendshipStatus, User};

use super::error::Refusal;
use super::handlers::contacts;
use super::service::ChatService;
use super::wire::{Contact, FriendshipCard, FriendshipView, Profile};

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Longest avatar URL, in bytes.
pub const MAX_AVATAR_BYTES: usize = 2048;

impl ChatService {
    /// A known user.
    pub fn user(&self, id: &str) -> Result<Option<User>, Refusal> {
        Ok(self.store().user(id)?)
    }

    /// Creates or updates a user: a `None` keeps what is stored. Returns
    /// the user, and `true` when it was new.
    pub async fn update_user(
        &self,
        id: &str,
        name: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<(User, bool), Refusal> {
        if name.is_some_and(|n| n.chars().count() > MAX_NAME_CHARS) {
            return Err(Refusal::invalid(format!(
                "name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if avatar.is_some_and(|a| a.len() > MAX_AVATAR_BYTES) {
            return Err(Refusal::invalid(format!(
                "avatar is longer than {MAX_AVATAR_BYTES} bytes"
            )));
        }
        let created = self.store().user(id)?.is_none();
        let user = self.upsert_user(id, name, avatar)?;
        self.store().durable().await?;
        let body = Profile::new(&user);
        for to in std::iter::once(id.to_owned()).chain(contacts(self, id)) {
            self.emit_to_user(&to, "userUpdated", &body);
        }
        Ok((user, created))
    }

    /// Sets where `user` and `other` stand, whatever stood before; `None`
    /// ends their friendship. `by` (one of the two) asked or blocked. Both
    /// users get `friendshipUpdated`, each from their own side.
    pub async fn set_friendship_status(
        &self,
        user: &str,
        other: &str,
        status: Option<FriendshipStatus>,
        by: &str,
    ) -> Result<Option<Friendship>, Refusal> {
        if user == other {
            return Err(Refusal::invalid("a friendship needs two different users"));
        }
        if by != user && by != other {
            return Err(Refusal::invalid("`by` must be one of the two users"));
        }
        for id in [user, other] {
            if self.store().user(id)?.is_none() {
                return Err(Refusal::UnknownUser);
            }
        }
        let friendship = match status {
            Some(status) => Some(self.set_friendship(user, other, status, by)?),
            None => {
                self.store().remove_friendship(user, other)?;
                self.emit_friendship_removed(by, if by == user { other } else { user });
                None
            }
        };
        self.store().durable().await?;
        Ok(friendship)
    }

    /// Every friendship of a known user, whatever its status.
    pub fn friendships(&self, user: &str) -> Result<Vec<Friendship>, Refusal> {
        if self.store().user(user)?.is_none() {
            return Err(Refusal::UnknownUser);
        }
        Ok(self.store().friendships_of(user)?)
    }

    /// A friendship as `f.user` sees it, as `friendshipUpdated` shows it
    /// (`userId` is the other user), with the other user's `name`,
    /// `avatar`, `isOnline` and their individual chat (`chatHeaderId`).
    pub fn friendship_card(&self, f: &Friendship) -> Result<Value, Refusal> {
        let other = self.store().user_or_bare(&f.other)?;
        let chat = self.store().individual_between(&f.user, &f.other)?;
        let card = FriendshipCard {
            friendship: FriendshipView::new(f),
            contact: Contact::new(&other, self.is_online(&f.other), chat),
        };
        serde_json::to_value(card).map_err(|err| {
            tracing::error!(%err, "friendship card not encoded");
            Refusal::Internal
        })
    }
}
