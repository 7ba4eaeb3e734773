//! What an operator may tune in the chat service.

use confab_actors::chat::ChatConfig;

/// Limits, room names and actor timings of the chat service.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// The namespace the service is installed on: server events go there.
    pub namespace: String,
    /// The room every socket of a user joins; `{id}` is the user id. The
    /// same default as the identity layer's user room, so both agree.
    pub user_room: String,
    /// The room of the sockets viewing a chat; `{id}` is the chat id.
    pub chat_room: String,
    /// Longest message text or file path, in characters.
    pub max_text_chars: usize,
    pub max_caption_chars: usize,
    /// Page size when a request names none.
    pub default_page: usize,
    /// Largest page a request may ask for.
    pub max_page: usize,
    /// Most messages one `removeMessage` may delete.
    pub max_remove: usize,
    pub actors: ChatConfig,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            namespace: "/".into(),
            user_room: "user:{id}".into(),
            chat_room: "chat:{id}".into(),
            max_text_chars: 4000,
            max_caption_chars: 1000,
            default_page: 50,
            max_page: 100,
            max_remove: 100,
            actors: ChatConfig::default(),
        }
    }
}

impl ChatSettings {
    pub fn user_room(&self, user: &str) -> String {
        self.user_room.replace("{id}", user)
    }

    pub fn chat_room(&self, chat: u64) -> String {
        self.chat_room.replace("{id}", &chat.to_string())
    }
}
