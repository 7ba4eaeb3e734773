//! Users: the name and avatar the chat shows for an id.

use super::model::User;
use super::{Result, Store, encode, get};

impl Store {
    pub fn user(&self, id: &str) -> Result<Option<User>> {
        get(&self.0.users, id.as_bytes())
    }

    /// Records a user, keeping the stored name or avatar where the new one
    /// is `None` (a token without a name claim does not erase a name).
    pub fn upsert_user(&self, id: &str, name: Option<&str>, avatar: Option<&str>) -> Result<User> {
        let mut user = self.user(id)?.unwrap_or_else(|| User {
            id: id.to_owned(),
            name: None,
            avatar: None,
        });
        let changed = (name.is_some() && user.name.as_deref() != name)
            || (avatar.is_some() && user.avatar.as_deref() != avatar)
            || !self.0.users.contains_key(id.as_bytes())?;
        if let Some(name) = name {
            user.name = Some(name.to_owned());
        }
        if let Some(avatar) = avatar {
            user.avatar = Some(avatar.to_owned());
        }
        if changed {
            self.0.users.insert(id.as_bytes(), encode(&user)?)?;
        }
        Ok(user)
    }

    /// A known user, or one with only an id.
    pub fn user_or_bare(&self, id: &str) -> Result<User> {
        Ok(self.user(id)?.unwrap_or_else(|| User {
            id: id.to_owned(),
            name: None,
            avatar: None,
        }))
    }
}
