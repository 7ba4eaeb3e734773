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
//! - `emit`: a server event, encoded, and who gets it;
//! - `syarah`, `nickdoc`: a chat change as each style's server events.

mod answers;
mod emit;
mod nickdoc;
mod syarah;
mod views;

pub use answers::*;
pub use emit::{Audience, Emit};
pub use views::*;

use confab_chat::ChatEvent;
use confab_chat::store::{Millis, User};
use confab_engine::EncodeError;

use super::settings::ChatStyle;

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
mod tests {
    use super::*;

    #[test]
    fn each_style_names_its_events() {
        let typing = ChatEvent::Typing {
            user: "bob".into(),
            name: "Bob".into(),
            is_typing: true,
        };
        let name = |style| chat_event(style, 3, &typing, None, 0).unwrap()[0].name;
        assert_eq!(name(ChatStyle::Syarah), "typing");
        assert_eq!(name(ChatStyle::Nickdoc), "user-typing");
        let added = |style| participants_added(style, 3, "alice", &[]).unwrap().name;
        assert_eq!(added(ChatStyle::Syarah), "participantsAdded");
        assert_eq!(added(ChatStyle::Nickdoc), "participants-added");
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
