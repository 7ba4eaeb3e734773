//! The JSON the contract answers and emits, one `#[derive(Serialize)]`
//! view per shape on the wire. The seed fixes `getMyChats`,
//! `getMyFriendships` and the `joinRoom` answer field by field; for the
//! rest (a message, a chat header, a page) the shapes follow the seed's
//! backend conventions: camelCase, ISO 8601 times, paged results as
//! `{totalCount, items}`. Keys go out in the order the README documents
//! them (the order of each struct's fields).
//!
//! - `views`: the shapes every style shares (message, member, header,
//!   friendship, page);
//! - `answers`: the other acks and events of the Syarah contract;
//! - `syarah`, `nickdoc`: a chat change as each style's server events.

mod answers;
mod nickdoc;
mod syarah;
mod views;

pub use answers::*;
pub use views::*;

use serde::Serialize;

use confab_chat::ChatEvent;
use confab_chat::store::{Millis, User};
use confab_engine::{Args, EncodeError};

use super::settings::ChatStyle;

/// Who gets a chat's server event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The chat's room and every member's user room (a socket in both
    /// gets one copy).
    Members,
    /// The chat's room only.
    Room,
    /// The chat's room, but not the acting user's own sockets.
    OthersViewing,
}

/// One server event: its name, its arguments (encoded once, however many
/// sockets get it), who gets it.
#[derive(Debug, Clone, PartialEq)]
pub struct Emit {
    pub name: &'static str,
    pub args: Args,
    pub audience: Audience,
}

impl Emit {
    /// `data` as the arguments: a tuple is several, anything else one.
    fn new(
        name: &'static str,
        data: &impl Serialize,
        audience: Audience,
    ) -> Result<Emit, EncodeError> {
        Ok(Emit {
            name,
            args: Args::new(data)?,
            audience,
        })
    }
}

/// The one place a chat change becomes server events, in `style`.
/// `sender` is the stored user of a new or edited message's sender (the
/// Syarah message shows their name); `now` dates a deletion.
pub fn chat_event(
    style: ChatStyle,
    chat: u64,
    event: &ChatEvent,
    sender: Option<&User>,
    now: Millis,
) -> Result<Vec<Emit>, EncodeError> {
    match style {
        ChatStyle::Syarah => syarah::events(chat, event, sender),
        ChatStyle::Nickdoc => nickdoc::events(chat, event, now),
    }
}

/// `users` joined group `chat` (added by `by`, or at its creation).
pub fn participants_added(
    style: ChatStyle,
    chat: u64,
    by: &str,
    users: &[String],
) -> Result<Emit, EncodeError> {
    match style {
        ChatStyle::Syarah => syarah::participants_added(chat, by, users),
        ChatStyle::Nickdoc => nickdoc::participants_added(chat, users),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::wire::views::tests::alice;

    /// When the tests' deletions happen.
    pub(crate) const NOW: Millis = 1_705_314_660_000;

    /// Checks that `event` in chat 3, by `alice`, is emitted in `style`
    /// as `expected`: each event's name, its arguments' JSON text (key
    /// order included) and its audience.
    pub(crate) fn expect(style: ChatStyle, event: ChatEvent, expected: &[(&str, &str, Audience)]) {
        let emitted = chat_event(style, 3, &event, Some(&alice()), NOW).unwrap();
        let emitted: Vec<_> = emitted
            .iter()
            .map(|e| (e.name, e.args.json(), e.audience))
            .collect();
        assert_eq!(emitted, expected, "{event:?}");
    }

    #[test]
    fn style_from_config() {
        #[derive(serde::Deserialize)]
        struct Chat {
            style: ChatStyle,
        }
        let nick: Chat = toml::from_str("style = \"nickdoc\"").unwrap();
        assert_eq!(nick.style, ChatStyle::Nickdoc);
        assert_eq!(ChatStyle::default(), ChatStyle::Syarah);
    }
}
