//! What an operator may tune in the chat service: [`ChatSettings`] (what
//! the service runs with) and [`ChatConfig`] (the `[chat]` section of the
//! configuration, turned into settings by [`ChatConfig::settings`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use confab_chat::ChatActorConfig;
use confab_chat::store::MessageType;

const MIB: u64 = 1024 * 1024;

/// Which application's names and payloads the chat's server events take
/// (`[chat] style`): the same changes, another wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatStyle {
    /// Syarah (seed 003): `message`, `messageUpdated`, `messageDeleted`,
    /// `messageHasBeenRead`, `typing`, `participantsAdded`,
    /// `participantRemoved`, to the chat's room and its members' user rooms.
    #[default]
    Syarah,
    /// nick-doc (seed 001): `new-message`, `message-edited`,
    /// `message-deleted`, `messages-read`, `user-typing`,
    /// `participants-added`, `participant-removed`, to the chat's room.
    Nickdoc,
}

/// Limits, room names and actor timings of the chat service.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// The namespace the service is installed on: server events go there.
    pub namespace: String,
    /// The names and payloads of the server events.
    pub style: ChatStyle,
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
    /// Most members a group may have.
    pub max_group_members: usize,
    pub actors: ChatActorConfig,
    /// Uploaded files: where, how large, what kinds.
    pub uploads: UploadSettings,
    /// The push hand-off webhook.
    pub push: PushSettings,
    /// Where the HTTP endpoints live (`/api/chat/uploadFile`, ...).
    pub http_prefix: String,
}

impl Default for ChatSettings {
    fn default() -> Self {
        ChatSettings {
            namespace: "/".into(),
            style: ChatStyle::Syarah,
            user_room: "user:{id}".into(),
            chat_room: "chat:{id}".into(),
            max_text_chars: 4000,
            max_caption_chars: 1000,
            default_page: 50,
            max_page: 100,
            max_remove: 100,
            max_group_members: 256,
            actors: ChatActorConfig::default(),
            uploads: UploadSettings::default(),
            push: PushSettings::default(),
            http_prefix: "/api/chat".into(),
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

    /// The chat whose room `room` is, if it has the chat room's shape.
    pub fn chat_of_room(&self, room: &str) -> Option<u64> {
        let (prefix, suffix) = self.chat_room.split_once("{id}")?;
        room.strip_prefix(prefix)?
            .strip_suffix(suffix)?
            .parse()
            .ok()
    }
}

/// Uploaded files (`POST /api/chat/uploadFile`, served back under
/// `url_prefix`).
#[derive(Debug, Clone)]
pub struct UploadSettings {
    /// Where the files are kept (`<data_dir>/uploads`).
    pub dir: PathBuf,
    /// The URL path they are served under; the answer's `data` starts
    /// with it (`/uploads/chat-messages/images/<name>.webp`).
    pub url_prefix: String,
    /// Largest image accepted before conversion, in bytes.
    pub image_max_bytes: u64,
    /// Images are scaled down to fit a square of this side.
    pub image_max_side: u32,
    pub audio_max_bytes: u64,
    pub video_max_bytes: u64,
    pub file_max_bytes: u64,
    /// Most memory one image conversion may take: the decoded pixels
    /// (16-bit and alpha included), the scaled copy, the 8-bit copy the
    /// encoder takes and the encoder's own buffers, counted from the
    /// image's header before anything is decoded.
    pub image_decode_budget: u64,
    /// Images converted at once (each within the budget), so that memory
    /// stays under `budget × concurrency` whatever arrives together.
    pub image_decode_concurrency: usize,
    /// How long an image waits for a conversion slot before the upload is
    /// answered 503 with `Retry-After`.
    pub image_decode_wait: Duration,
    /// Accept native executables (ELF, PE, Mach-O, ...) as files, when
    /// their names say what they are. Refused by content otherwise.
    pub allow_executables: bool,
}

impl Default for UploadSettings {
    fn default() -> Self {
        UploadSettings {
            dir: PathBuf::from("./data/uploads"),
            url_prefix: "/uploads".into(),
            image_max_bytes: 20 * MIB,
            image_max_side: 1920,
            audio_max_bytes: 50 * MIB,
            video_max_bytes: 500 * MIB,
            file_max_bytes: 50 * MIB,
            // A 64-megapixel 8-bit RGB PNG (192 MiB decoded), or a
            // 24-megapixel JPEG with its coefficients, fits with its
            // scaled, converted and encoded copies.
            image_decode_budget: 256 * MIB,
            image_decode_concurrency: 2,
            image_decode_wait: Duration::from_secs(10),
            allow_executables: false,
        }
    }
}

impl UploadSettings {
    /// The largest file of `kind`.
    pub fn max_bytes(&self, kind: MessageType) -> u64 {
        match kind {
            MessageType::Image => self.image_max_bytes,
            MessageType::Audio => self.audio_max_bytes,
            MessageType::Video => self.video_max_bytes,
            MessageType::File | MessageType::Text => self.file_max_bytes,
        }
    }

    /// The limit while a file is being read: its kind's when the kind is
    /// known; before that, the video limit only for content that looks
    /// like video (only a video may be that large), else the largest of
    /// the others.
    pub fn limit_while_reading(&self, kind: Option<MessageType>, looks_like_video: bool) -> u64 {
        match kind {
            Some(kind) => self.max_bytes(kind),
            None if looks_like_video => self
                .video_max_bytes
                .max(self.file_max_bytes)
                .max(self.audio_max_bytes)
                .max(self.image_max_bytes),
            None => self
                .file_max_bytes
                .max(self.audio_max_bytes)
                .max(self.image_max_bytes),
        }
    }

    /// The largest request body worth reading at all.
    pub fn max_request_bytes(&self) -> u64 {
        self.limit_while_reading(None, true) + 64 * 1024
    }
}

/// The push hand-off: messages for members who are offline or not viewing
/// the chat are POSTed to `webhook` (an FCM/APNs gateway, say).
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// `http://host:port/path`; none: no hand-off.
    pub webhook: Option<String>,
    /// Sent as `Authorization: Bearer <token>`, so the gateway knows the
    /// caller.
    pub token: Option<String>,
    /// Hand-offs waiting to be sent; past this the oldest is dropped (with
    /// a warning).
    pub queue: usize,
    /// Tries per hand-off, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubled before each next one.
    pub backoff: Duration,
    /// The longest wait between tries.
    pub backoff_max: Duration,
    /// Time allowed to one try.
    pub timeout: Duration,
    /// Hand-offs in flight at once.
    pub concurrency: usize,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            webhook: None,
            token: None,
            queue: 1000,
            attempts: 5,
            backoff: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            concurrency: 4,
        }
    }
}

/// `[chat]` in the configuration (`CONFAB_CHAT__*` in the environment).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Run the chat service (seed 003's events) on the main namespace.
    pub enabled: bool,
    /// On a node of a cluster with `enabled = false`: the chat node (its
    /// URL, or a name) that the refusal of a chat event names.
    pub served_by: Option<String>,
    /// `"syarah"` (the default) or `"nickdoc"`: the server events' names
    /// and payloads.
    pub style: ChatStyle,
    /// The room of the sockets viewing a chat; `{id}` is the chat id.
    pub chat_room: String,
    pub max_text_chars: usize,
    pub max_caption_chars: usize,
    pub max_page: usize,
    /// The push hand-off webhook (`http://...`); none by default.
    pub push_webhook: Option<String>,
    /// A bearer token sent to the webhook.
    pub push_token: Option<String>,
    pub push_queue: usize,
    pub push_attempts: u32,
    pub push_backoff_ms: u64,
    pub push_backoff_max_ms: u64,
    pub push_timeout_ms: u64,
    pub image_max_bytes: u64,
    pub image_max_side: u32,
    pub audio_max_bytes: u64,
    pub video_max_bytes: u64,
    pub file_max_bytes: u64,
    /// Memory one image conversion may take, in bytes; more: 413.
    pub image_decode_budget: u64,
    /// Image conversions at once.
    pub image_decode_concurrency: usize,
    /// Wait for a conversion slot before a 503 with `Retry-After`.
    pub image_decode_wait_ms: u64,
    /// Accept executables as files (refused by content by default).
    pub allow_executables: bool,
}

impl Default for ChatConfig {
    fn default() -> Self {
        let settings = ChatSettings::default();
        let (push, uploads) = (settings.push, settings.uploads);
        ChatConfig {
            enabled: true,
            served_by: None,
            style: settings.style,
            chat_room: settings.chat_room,
            max_text_chars: settings.max_text_chars,
            max_caption_chars: settings.max_caption_chars,
            max_page: settings.max_page,
            push_webhook: None,
            push_token: None,
            push_queue: push.queue,
            push_attempts: push.attempts,
            push_backoff_ms: push.backoff.as_millis() as u64,
            push_backoff_max_ms: push.backoff_max.as_millis() as u64,
            push_timeout_ms: push.timeout.as_millis() as u64,
            image_max_bytes: uploads.image_max_bytes,
            image_max_side: uploads.image_max_side,
            audio_max_bytes: uploads.audio_max_bytes,
            video_max_bytes: uploads.video_max_bytes,
            file_max_bytes: uploads.file_max_bytes,
            image_decode_budget: uploads.image_decode_budget,
            image_decode_concurrency: uploads.image_decode_concurrency,
            image_decode_wait_ms: uploads.image_decode_wait.as_millis() as u64,
            allow_executables: uploads.allow_executables,
        }
    }
}

/// Why `[chat]` is refused at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ChatConfigError {
    #[error(
        "chat.push_webhook: must be an http:// URL (https is not built in: put a local gateway or proxy in front), got {0:?}"
    )]
    Webhook(String),
    #[error("chat.{0}: must be at least 1")]
    Zero(&'static str),
}

impl ChatConfig {
    /// The service's settings, on the main namespace and the configured
    /// user room, so that chat and identity agree on it. Uploads go under
    /// `./data/uploads` until [`ChatSettings::with_data_dir`] says where
    /// the data directory is. An invalid webhook turns the hand-off off
    /// (with an error logged): [`ChatConfig::check`] refuses it at
    /// start-up instead.
    pub fn settings(&self, user_room: &str) -> ChatSettings {
        let defaults = ChatSettings::default();
        let webhook = self.webhook();
        ChatSettings {
            namespace: "/".into(),
            style: self.style,
            user_room: user_room.to_owned(),
            chat_room: self.chat_room.clone(),
            max_text_chars: self.max_text_chars,
            max_caption_chars: self.max_caption_chars,
            max_page: self.max_page,
            push: PushSettings {
                webhook: webhook.map(str::to_owned),
                token: self.push_token.clone().filter(|t| !t.is_empty()),
                queue: self.push_queue.max(1),
                attempts: self.push_attempts.max(1),
                backoff: Duration::from_millis(self.push_backoff_ms),
                backoff_max: Duration::from_millis(self.push_backoff_max_ms),
                timeout: Duration::from_millis(self.push_timeout_ms),
                ..defaults.push
            },
            uploads: UploadSettings {
                image_max_bytes: self.image_max_bytes,
                image_max_side: self.image_max_side.max(1),
                audio_max_bytes: self.audio_max_bytes,
                video_max_bytes: self.video_max_bytes,
                file_max_bytes: self.file_max_bytes,
                image_decode_budget: self.image_decode_budget,
                image_decode_concurrency: self.image_decode_concurrency.max(1),
                image_decode_wait: Duration::from_millis(self.image_decode_wait_ms),
                allow_executables: self.allow_executables,
                ..defaults.uploads
            },
            ..defaults
        }
    }

    fn webhook(&self) -> Option<&str> {
        self.push_webhook
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
    }

    /// Refuses what [`ChatConfig::settings`] would quietly correct: a
    /// webhook that is not `http://host/...`, zero queue, tries or side.
    pub fn check(&self) -> Result<(), ChatConfigError> {
        if let Some(url) = self.webhook()
            && !valid_webhook(url)
        {
            return Err(ChatConfigError::Webhook(url.to_owned()));
        }
        for (name, value) in [
            ("push_queue", self.push_queue as u64),
            ("push_attempts", u64::from(self.push_attempts)),
            ("image_max_side", u64::from(self.image_max_side)),
            (
                "image_decode_concurrency",
                self.image_decode_concurrency as u64,
            ),
        ] {
            if value == 0 {
                return Err(ChatConfigError::Zero(name));
            }
        }
        Ok(())
    }
}

impl ChatSettings {
    /// Uploads under `data_dir/uploads`.
    pub fn with_data_dir(mut self, data_dir: &Path) -> ChatSettings {
        self.uploads.dir = data_dir.join("uploads");
        self
    }
}

/// `http://host[:port]/...`, the only scheme the client is built with.
pub fn valid_webhook(url: &str) -> bool {
    url.strip_prefix("http://")
        .and_then(|rest| rest.split(['/', '?']).next())
        .is_some_and(|host| !host.is_empty())
        && url.parse::<awc::http::Uri>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_rooms_name_their_chat() {
        let syarah = ChatSettings::default();
        assert_eq!(syarah.chat_of_room(&syarah.chat_room(42)), Some(42));
        let nickdoc = ChatSettings {
            chat_room: "chat-{id}".into(),
            ..ChatSettings::default()
        };
        assert_eq!(nickdoc.chat_of_room("chat-7"), Some(7));
        assert_eq!(nickdoc.chat_of_room("chat-x"), None);
        assert_eq!(nickdoc.chat_of_room("seller-7"), None);
    }

    #[test]
    fn limits_while_reading() {
        let u = UploadSettings::default();
        assert_eq!(u.max_bytes(MessageType::Video), 500 * MIB);
        assert_eq!(u.max_bytes(MessageType::Audio), 50 * MIB);
        assert_eq!(u.max_bytes(MessageType::File), 50 * MIB);
        assert_eq!(u.max_bytes(MessageType::Image), 20 * MIB);
        // The kind not yet known: only video-looking content gets 500 MiB.
        assert_eq!(u.limit_while_reading(None, false), 50 * MIB);
        assert_eq!(u.limit_while_reading(None, true), 500 * MIB);
        // Known: the kind's, whatever the content looks like.
        assert_eq!(
            u.limit_while_reading(Some(MessageType::File), true),
            50 * MIB
        );
    }

    #[test]
    fn options_become_settings() {
        let options = ChatConfig {
            push_webhook: Some("http://127.0.0.1:9/push".into()),
            push_attempts: 3,
            file_max_bytes: 10,
            max_page: 20,
            ..ChatConfig::default()
        };
        options.check().unwrap();
        let s = options
            .settings("u-{id}")
            .with_data_dir(Path::new("/var/confab"));
        assert_eq!(s.push.webhook.as_deref(), Some("http://127.0.0.1:9/push"));
        assert_eq!(s.push.attempts, 3);
        assert_eq!(s.uploads.file_max_bytes, 10);
        assert_eq!(s.uploads.dir, Path::new("/var/confab/uploads"));
        assert_eq!((s.max_page, s.user_room.as_str()), (20, "u-{id}"));
        for bad in ["https://gw/push", "ftp://x", "http://", "gateway:80/push"] {
            let options = ChatConfig {
                push_webhook: Some(bad.into()),
                ..ChatConfig::default()
            };
            assert!(options.check().is_err(), "{bad}");
        }
        let blank = ChatConfig {
            push_webhook: Some(" ".into()),
            ..ChatConfig::default()
        };
        assert!(blank.check().is_ok());
        assert!(blank.settings("user:{id}").push.webhook.is_none());
        let zero = ChatConfig {
            push_queue: 0,
            ..ChatConfig::default()
        };
        assert!(zero.check().is_err());
        assert_eq!(zero.settings("user:{id}").push.queue, 1);
        let no_decodes = ChatConfig {
            image_decode_concurrency: 0,
            ..ChatConfig::default()
        };
        assert!(no_decodes.check().is_err());
    }
}
