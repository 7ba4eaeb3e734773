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

/// `[chat]` in the appliance's configuration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChatOptions {
    /// Run the chat service (seed 003's events) on the main namespace.
    pub enabled: bool,
    /// The room of the sockets viewing a chat; `{id}` is the chat id.
    pub chat_room: String,
    pub max_text_chars: usize,
    pub max_caption_chars: usize,
    pub max_page: usize,
}

impl Default for ChatOptions {
    fn default() -> Self {
        let settings = ChatSettings::default();
        ChatOptions {
            enabled: true,
            chat_room: settings.chat_room,
            max_text_chars: settings.max_text_chars,
            max_caption_chars: settings.max_caption_chars,
            max_page: settings.max_page,
        }
    }
}

impl ChatOptions {
    /// The service's settings, on the main namespace and the configured
    /// user room, so that chat and identity agree on it.
    pub fn settings(&self, user_room: &str) -> ChatSettings {
        ChatSettings {
            namespace: "/".into(),
            user_room: user_room.to_owned(),
            chat_room: self.chat_room.clone(),
            max_text_chars: self.max_text_chars,
            max_caption_chars: self.max_caption_chars,
            max_page: self.max_page,
            ..ChatSettings::default()
        }
    }
}
