//! `createMessage`, `findAllMessages`, `updateMessage`, `removeMessage`,
//! `readMessage`: everything that writes goes through the chat's actor.

use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};

use confab_chat::store::{Message, MessageType, Store, User};
use confab_chat::{AfterPublish, Append, ChatEvent, Edit, MarkRead, Remove};
use confab_engine::Args;

use super::{AckSlot, Ctx, Reply, reply};
use crate::error::Refusal;
use crate::files;
use crate::lenient;
use crate::settings::ChatSettings;
use crate::wire::{MessageView, NewMessage, Page, ReadUpTo, Removed};

/// `createMessage`: a message for a chat.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateMessage {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "message_type")]
    message_type: MessageType,
    #[serde(deserialize_with = "lenient::text")]
    message: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    caption: Option<String>,
}

/// `findAllMessages`: a page of a chat's history, newest first.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindAllMessages {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "lenient::id")]
    last_message_id: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    skip_count: Option<u64>,
    #[serde(deserialize_with = "lenient::count")]
    max_result_count: Option<u64>,
}

/// `updateMessage`: new text (and caption) for one message.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateMessage {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "lenient::required_id")]
    id: u64,
    #[serde(deserialize_with = "lenient::text")]
    message: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    caption: Option<String>,
}

/// `removeMessage`: one message (`id`) or several (`ids`, which wins).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveMessage {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
    #[serde(deserialize_with = "lenient::ids")]
    ids: Option<Vec<u64>>,
    #[serde(deserialize_with = "lenient::id_if_needed")]
    id: Result<Option<u64>, String>,
}

/// `readMessage`: the chat the user has read to its end.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReadMessage {
    #[serde(deserialize_with = "lenient::required_id")]
    chat_header_id: u64,
}

/// The message text (or file path): present, not blank, not too long.
fn body(text: Option<String>, settings: &ChatSettings) -> Result<String, Refusal> {
    let text = text.unwrap_or_default();
    if text.trim().is_empty() {
        return Err(Refusal::invalid("message is required"));
    }
    if text.chars().count() > settings.max_text_chars {
        return Err(Refusal::invalid(format!(
            "message is too long (at most {} characters)",
            settings.max_text_chars
        )));
    }
    Ok(text)
}

fn caption(caption: Option<String>, settings: &ChatSettings) -> Result<Option<String>, Refusal> {
    let caption = caption.filter(|c| !c.is_empty());
    if caption
        .as_ref()
        .is_some_and(|c| c.chars().count() > settings.max_caption_chars)
    {
        return Err(Refusal::invalid(format!(
            "caption is too long (at most {} characters)",
            settings.max_caption_chars
        )));
    }
    Ok(caption)
}

/// `messageType`: 0 to 4, as a number or a numeric string, text when
/// absent; anything else gets one refusal, whatever its spelling.
struct MessageTypeVisitor;

impl<'de> Visitor<'de> for MessageTypeVisitor {
    type Value = MessageType;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid messageType (0 to 4)")
    }

    fn visit_none<E: de::Error>(self) -> Result<MessageType, E> {
        Ok(MessageType::Text)
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<MessageType, E> {
        u8::try_from(n)
            .ok()
            .and_then(|n| MessageType::try_from(n).ok())
            .ok_or_else(|| E::invalid_value(Unexpected::Unsigned(n), &self))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<MessageType, E> {
        match s.trim().parse() {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Str(s), &self)),
        }
    }
}

fn message_type<'de, D: Deserializer<'de>>(d: D) -> Result<MessageType, D::Error> {
    d.deserialize_any(MessageTypeVisitor)
}

/// The stored senders of some messages, each read once: their views
/// borrow the names and avatars from here.
pub(crate) struct Senders(HashMap<String, User>);

impl Senders {
    pub(crate) fn read(store: &Store, messages: &[Message]) -> Result<Senders, Refusal> {
        let mut senders = HashMap::new();
        for message in messages {
            if !senders.contains_key(&message.sender) {
                let sender = store.user_or_bare(&message.sender)?;
                senders.insert(message.sender.clone(), sender);
            }
        }
        Ok(Senders(senders))
    }

    /// `message` (one of those read) as clients see it.
    pub(crate) fn view<'a>(&'a self, message: &'a Message) -> MessageView<'a> {
        MessageView::maybe(message, self.0.get(&message.sender))
    }

    pub(crate) fn views<'a>(&'a self, messages: &'a [Message]) -> Vec<MessageView<'a>> {
        messages.iter().map(|m| self.view(m)).collect()
    }
}

/// A media message naming one of this service's uploads must name one
/// its sender may read, of its kind: nobody shares a file they cannot see.
/// `true` when the body names such an upload.
fn check_upload(ctx: &Ctx, kind: MessageType, body: &str) -> Result<bool, Refusal> {
    let uploads = &ctx.service.settings().uploads;
    if kind == MessageType::Text || !files::is_upload_path(uploads, body) {
        return Ok(false);
    }
    let store = ctx.service.store();
    let Some(upload) = store.upload(body)? else {
        return Err(Refusal::invalid("unknown file: upload it first"));
    };
    if !store.may_read_upload(&upload, &ctx.user)? {
        return Err(Refusal::Chat("this file is not yours to share".into()));
    }
    if upload.kind != kind {
        return Err(Refusal::invalid(
            "messageType does not match the uploaded file",
        ));
    }
    Ok(true)
}

pub async fn create(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let request: CreateMessage = lenient::read(&ctx.input)?;
    let chat = request.chat_header_id;
    let kind = request.message_type;
    let body = body(request.message, settings)?;
    let caption = caption(request.caption, settings)?;
    let names_upload = check_upload(&ctx, kind, &body)?;
    // Read once: the answer and the published event both show it.
    let sender = ctx.service.store().user_or_bare(&ctx.user)?;
    let append = Append {
        sender: sender.clone(),
        kind,
        body,
        caption,
        names_upload,
        after_publish: ctx
            .ack
            .is_pending()
            .then(|| ack_after_publish(ctx.ack.clone(), chat)),
    };
    let message = ctx.service.chats().call(chat, append).await?;
    if !ctx.ack.is_pending() {
        // Sent with the event, or not asked for.
        return Ok(Args::empty());
    }
    reply(&NewMessage {
        chat_header_id: chat,
        chat_message: MessageView::new(&message, &sender),
    })
}

/// Acks `createMessage` from the chat's actor, right after the new
/// message's event is published: the sender's `message` event and its
/// ack then leave in one write. (Should the answer come first, the
/// handler acks it as any event.)
fn ack_after_publish(slot: AckSlot, chat: u64) -> AfterPublish {
    AfterPublish::new(move |event| {
        let ChatEvent::Created { message, sender } = event else {
            return;
        };
        let Some(ack) = slot.take() else {
            return;
        };
        let sent = ack.send(&NewMessage {
            chat_header_id: chat,
            chat_message: MessageView::new(message, sender),
        });
        if let Err(err) = sent {
            tracing::debug!(%err, "createMessage ack not encoded");
        }
    })
}

pub async fn find_all(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let request: FindAllMessages = lenient::read(&ctx.input)?;
    let chat = request.chat_header_id;
    let before = request.last_message_id;
    let skip = request.skip_count.unwrap_or(0);
    let take = request
        .max_result_count
        .map_or(settings.default_page, |n| n as usize)
        .min(settings.max_page);
    let store = ctx.service.store();
    let header = store
        .chat(chat)?
        .ok_or_else(|| Refusal::Chat("chat not found".into()))?;
    if !header.is_member(&ctx.user) {
        return Err(Refusal::Chat("not a member of this chat".into()));
    }
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let page = store.history(chat, before, skip, take)?;
    let senders = Senders::read(store, &page)?;
    reply(&Page {
        total_count: header.message_count,
        items: senders.views(&page),
    })
}

pub async fn update(ctx: Ctx) -> Reply {
    let settings = ctx.service.settings();
    let request: UpdateMessage = lenient::read(&ctx.input)?;
    let (chat, id) = (request.chat_header_id, request.id);
    let edit = Edit {
        by: ctx.user.clone(),
        id,
        body: body(request.message, settings)?,
        caption: caption(request.caption, settings)?,
    };
    if let Some(message) = ctx.service.store().message(chat, id)? {
        check_upload(&ctx, message.kind, &edit.body)?;
    }
    let message = ctx.service.chats().call(chat, edit).await?;
    let sender = ctx.service.store().user_or_bare(&message.sender)?;
    reply(&MessageView::new(&message, &sender))
}

/// `ids` when it is a non-empty array (it wins over `id`), else `id`.
fn ids(request: RemoveMessage, settings: &ChatSettings) -> Result<Vec<u64>, Refusal> {
    let ids = match request.ids.filter(|ids| !ids.is_empty()) {
        Some(ids) => ids,
        None => match request.id.map_err(Refusal::Invalid)? {
            Some(id) => vec![id],
            None => return Err(Refusal::invalid("id or ids is required")),
        },
    };
    if ids.len() > settings.max_remove {
        return Err(Refusal::invalid(format!(
            "too many ids (at most {})",
            settings.max_remove
        )));
    }
    Ok(ids)
}

pub async fn remove(ctx: Ctx) -> Reply {
    let request: RemoveMessage = lenient::read(&ctx.input)?;
    let chat = request.chat_header_id;
    let remove = Remove {
        by: ctx.user.clone(),
        ids: ids(request, ctx.service.settings())?,
    };
    let ids = ctx.service.chats().call(chat, remove).await?;
    reply(&Removed {
        chat_header_id: chat,
        ids: &ids,
    })
}

pub async fn read(ctx: Ctx) -> Reply {
    let chat = lenient::read::<ReadMessage>(&ctx.input)?.chat_header_id;
    let read = MarkRead {
        user: ctx.user.clone(),
    };
    let cursor = ctx.service.chats().call(chat, read).await?;
    reply(&ReadUpTo {
        chat_header_id: chat,
        last_read_message_id: cursor,
        unread_count: 0,
    })
}
