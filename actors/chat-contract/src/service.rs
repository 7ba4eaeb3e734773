//! The chat service's state and its server API: what the socket handlers
//! call, and what an application's own handlers (HTTP, admin tools) may
//! call too.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use tracing::warn;

use confab_chat::store::{
    ChatRecord, Friendship, FriendshipStatus, Message, MessageType, Store, StoreError, User,
    now_millis,
};
use confab_chat::{Append, ChatError, Chats};

use super::error::Refusal;
use super::files::gate::DecodeGate;
use super::files::{CLEAN_EVERY, STALE_PART, clean_temp};
use super::publish::Publisher;
use super::push::Pusher;
use super::settings::ChatSettings;
use super::sockets::ChatSockets;
use super::wire::{self, FriendshipView, NoFriendship};
use confab_engine::Io;

/// The chat service. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct ChatService(Arc<Inner>);

struct Inner {
    settings: ChatSettings,
    store: Store,
    chats: Chats,
    io: Arc<OnceLock<Io>>,
    sockets: Arc<ChatSockets>,
    pusher: Option<Pusher>,
    /// Image conversions running at once.
    decodes: DecodeGate,
}

impl ChatService {
    /// Opens the chat database in the directory `db` and starts the chat
    /// actors. Must run inside an actix system.
    pub fn open(db: impl AsRef<Path>, settings: ChatSettings) -> Result<ChatService, StoreError> {
        Ok(ChatService::with_store(Store::open(db)?, settings))
    }

    /// A service on an open store (a temporary one, in tests). With a
    /// push webhook configured, starts the hand-off worker. Parts of
    /// uploads cut short by a crash are removed now, and left-over ones
    /// every [`CLEAN_EVERY`] while the service lives.
    pub fn with_store(store: Store, settings: ChatSettings) -> ChatService {
        clean_temp(&settings.uploads, Duration::ZERO);
        let io = Arc::new(OnceLock::new());
        let sockets = Arc::new(ChatSockets::default());
        let pusher = Pusher::start(&settings.push);
        let publisher = Publisher {
            io: io.clone(),
            store: store.clone(),
            settings: settings.clone(),
            sockets: sockets.clone(),
            pusher: pusher.clone(),
        };
        let chats = Chats::start(store.clone(), Arc::new(publisher), settings.actors.clone());
        let decodes = DecodeGate::new(
            settings.uploads.image_decode_concurrency,
            settings.uploads.image_decode_wait,
        );
        let service = ChatService(Arc::new(Inner {
            decodes,
            settings,
            store,
            chats,
            io,
            sockets,
            pusher,
        }));
        service.clean_temp_periodically();
        service
    }

    /// Looks for left-over upload parts every [`CLEAN_EVERY`], until the
    /// service is dropped.
    fn clean_temp_periodically(&self) {
        let service = Arc::downgrade(&self.0);
        actix::spawn(async move {
            let mut every = actix::clock::interval(CLEAN_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                let Some(service) = service.upgrade() else {
                    return;
                };
                clean_temp(&service.settings.uploads, STALE_PART);
            }
        });
    }

    /// The slots images are converted in.
    pub fn decodes(&self) -> &DecodeGate {
        &self.0.decodes
    }

    /// The push hand-off, when a webhook is configured.
    pub fn pusher(&self) -> Option<&Pusher> {
        self.0.pusher.as_ref()
    }

    /// Gives the service the engine to emit with. Call once the engine has
    /// started (`service.bind(confab.io())`); every socket that connects to
    /// the chat's namespace also binds it, but changes made through the
    /// server API before either are not emitted.
    pub fn bind(&self, io: Io) {
        let _ = self.0.io.set(io);
    }

    pub fn settings(&self) -> &ChatSettings {
        &self.0.settings
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn chats(&self) -> &Chats {
        &self.0.chats
    }

    pub(crate) fn sockets(&self) -> &ChatSockets {
        &self.0.sockets
    }

    pub(crate) fn io(&self) -> Option<&Io> {
        self.0.io.get()
    }

    /// Whether `user` has a socket on the chat's namespace now.
    pub fn is_online(&self, user: &str) -> bool {
        self.0.sockets.is_online(user)
    }

    /// Records a user's name and avatar (a `None` keeps what is stored).
    pub fn upsert_user(
        &self,
        id: &str,
        name: Option<&str>,
        avatar: Option<&str>,
    ) -> Result<User, StoreError> {
        self.0.store.upsert_user(id, name, avatar)
    }

    /// The individual chat of two users, created if needed (`true` then).
    pub fn individual_chat(&self, a: &str, b: &str) -> Result<(ChatRecord, bool), StoreError> {
        self.0.store.individual_chat(a, b, now_millis())
    }

    /// A group chat of `members`; the first is its admin. No checks, no
    /// events: [`ChatService::create_group_by`] is what clients get.
    pub fn create_group(&self, name: &str, members: &[String]) -> Result<ChatRecord, StoreError> {
        self.0.store.create_group(name, members, now_millis())
    }

    /// `creator` makes a group of themselves and `members` (known users,
    /// at most `max_group_members` in all), its admin; durable before it
    /// answers; every member gets `participantsAdded` (`participants-added`
    /// in the nick-doc style) in their user room.
    pub async fn create_group_by(
        &self,
        creator: &str,
        name: &str,
        members: &[String],
    ) -> Result<ChatRecord, Refusal> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Refusal::invalid("a group name takes 1 to 100 characters"));
        }
        let mut all = vec![creator.to_owned()];
        for member in members {
            if !all.contains(member) {
                all.push(member.clone());
            }
        }
        self.known_users(&all[1..], all.len())?;
        let header = self.0.store.create_group(name, &all, now_millis())?;
        self.0.store.durable().await?;
        // Nobody views the new chat yet: every member hears of it in
        // their user room.
        let emit =
            wire::participants_added(self.0.settings.style, header.id, creator, &header.members);
        match (self.io(), emit) {
            (Some(io), Ok(emit)) => {
                let rooms = header.members.iter().map(|m| self.0.settings.user_room(m));
                super::publish::send(io.of(&self.0.settings.namespace).to_rooms(rooms), &emit);
            }
            (None, _) => {}
            (Some(_), Err(err)) => warn!(%err, "participantsAdded not encoded"),
        }
        Ok(header)
    }

    /// An admin of group `chat` adds `users` (known users); answers the
    /// header. The chat gets `participantsAdded`.
    pub async fn add_participants(
        &self,
        by: &str,
        chat: u64,
        users: &[String],
    ) -> Result<ChatRecord, Refusal> {
        let size = self.0.store.chat(chat)?.map_or(0, |h| h.members.len());
        self.known_users(users, size + users.len())?;
        let add = confab_chat::AddMembers {
            by: by.to_owned(),
            users: users.to_vec(),
        };
        Ok(self.0.chats.call(chat, add).await?.0)
    }

    /// `by` removes `user` from group `chat` (an admin, or `user`
    /// themselves leaving); answers the header. The chat and `user` get
    /// `participantRemoved`; `user`'s sockets leave the chat's room.
    pub async fn remove_participant(
        &self,
        by: &str,
        chat: u64,
        user: &str,
    ) -> Result<ChatRecord, Refusal> {
        let remove = confab_chat::RemoveMember {
            by: by.to_owned(),
            user: user.to_owned(),
        };
        Ok(self.0.chats.call(chat, remove).await?)
    }

    fn known_users(&self, users: &[String], total: usize) -> Result<(), Refusal> {
        if total > self.0.settings.max_group_members {
            return Err(Refusal::invalid(format!(
                "a group has at most {} members",
                self.0.settings.max_group_members
            )));
        }
        for user in users {
            if self.0.store.user(user)?.is_none() {
                return Err(Refusal::UnknownUser);
            }
        }
        Ok(())
    }

    /// Posts a message as `sender`, as `createMessage` does: answered once
    /// durable, and emitted to the chat.
    pub async fn send_message(
        &self,
        chat: u64,
        sender: &str,
        kind: MessageType,
        body: &str,
        caption: Option<&str>,
    ) -> Result<Message, ChatError> {
        let names_upload = kind != MessageType::Text && self.0.store.upload(body)?.is_some();
        let append = Append {
            sender: self.0.store.user_or_bare(sender)?,
            kind,
            body: body.to_owned(),
            caption: caption.map(str::to_owned),
            names_upload,
            after_publish: None,
        };
        self.0.chats.call(chat, append).await
    }

    /// `user` asks `other` to be friends. A pending request from `other`
    /// is accepted instead; a blocked pair stays blocked.
    pub fn request_friendship(&self, user: &str, other: &str) -> Result<Friendship, Refusal> {
        self.known_other(user, other)?;
        let current = self.0.store.friendship(user, other)?;
        let (status, by) = match &current {
            Some(f) if f.status == FriendshipStatus::Blocked => {
                return Err(Refusal::Chat("this user is blocked".into()));
            }
            Some(f) if f.status == FriendshipStatus::Accepted => return Ok(f.clone()),
            Some(f) if f.status == FriendshipStatus::Pending && f.by == other => {
                (FriendshipStatus::Accepted, other)
            }
            Some(f) if f.status == FriendshipStatus::Pending => return Ok(f.clone()),
            _ => (FriendshipStatus::Pending, user),
        };
        self.set_friendship(user, other, status, by)
    }

    /// `user` accepts `other`'s pending request.
    pub fn accept_friendship(&self, user: &str, other: &str) -> Result<Friendship, Refusal> {
        self.answer_request(user, other, FriendshipStatus::Accepted)
    }

    /// `user` rejects `other`'s pending request.
    pub fn reject_friendship(&self, user: &str, other: &str) -> Result<Friendship, Refusal> {
        self.answer_request(user, other, FriendshipStatus::Rejected)
    }

    fn answer_request(
        &self,
        user: &str,
        other: &str,
        status: FriendshipStatus,
    ) -> Result<Friendship, Refusal> {
        match self.0.store.friendship(user, other)? {
            Some(f) if f.status == FriendshipStatus::Pending && f.by == other => {
                self.set_friendship(user, other, status, other)
            }
            _ => Err(Refusal::Chat("no pending request from this user".into())),
        }
    }

    /// `user` blocks `other`: their individual chat takes no new messages.
    pub fn block_user(&self, user: &str, other: &str) -> Result<Friendship, Refusal> {
        self.known_other(user, other)?;
        match self.0.store.friendship(user, other)? {
            Some(f) if f.status == FriendshipStatus::Blocked => Ok(f),
            _ => self.set_friendship(user, other, FriendshipStatus::Blocked, user),
        }
    }

    /// `user` lifts their block of `other`; the pair has no friendship then.
    pub fn unblock_user(&self, user: &str, other: &str) -> Result<(), Refusal> {
        match self.0.store.friendship(user, other)? {
            Some(f) if f.status == FriendshipStatus::Blocked && f.by == user => {
                self.0.store.remove_friendship(user, other)?;
                self.emit_friendship_removed(user, other);
                Ok(())
            }
            _ => Err(Refusal::Chat("this user is not blocked by you".into())),
        }
    }

    fn known_other(&self, user: &str, other: &str) -> Result<(), Refusal> {
        if user == other {
            return Err(Refusal::invalid("otherUserId is the caller"));
        }
        match self.0.store.user(other)? {
            Some(_) => Ok(()),
            None => Err(Refusal::UnknownUser),
        }
    }

    /// Stores where two users stand and tells both (`friendshipUpdated`).
    pub(super) fn set_friendship(
        &self,
        user: &str,
        other: &str,
        status: FriendshipStatus,
        by: &str,
    ) -> Result<Friendship, Refusal> {
        let mine = self
            .0
            .store
            .set_friendship(user, other, status, by, now_millis())?;
        let theirs = Friendship {
            user: other.to_owned(),
            other: user.to_owned(),
            ..mine.clone()
        };
        self.emit_to_user(user, "friendshipUpdated", &FriendshipView::new(&mine));
        self.emit_to_user(other, "friendshipUpdated", &FriendshipView::new(&theirs));
        Ok(mine)
    }

    /// Tells both users that `user` ended their friendship with `other`.
    pub(super) fn emit_friendship_removed(&self, user: &str, other: &str) {
        for (to, about) in [(user, other), (other, user)] {
            let ended = NoFriendship {
                user_id: about,
                friendship_status: None,
                by: Some(user),
            };
            self.emit_to_user(to, "friendshipUpdated", &ended);
        }
    }

    /// Emits to every socket of `user` on the chat's namespace.
    pub fn emit_to_user(&self, user: &str, event: &str, body: &impl Serialize) {
        if let Some(io) = self.io() {
            let room = self.0.settings.user_room(user);
            if let Err(err) = io.of(&self.0.settings.namespace).to(room).emit(event, body) {
                warn!(%err, event, "event not encoded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> ChatService {
        let service = ChatService::with_store(Store::temporary().unwrap(), ChatSettings::default());
        for user in ["a", "b", "c"] {
            service.upsert_user(user, Some(user), None).unwrap();
        }
        service
    }

    #[actix_rt::test]
    async fn parts_a_crash_left_are_removed_at_start() {
        let dir = std::env::temp_dir().join(format!("confab-service-parts-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut settings = ChatSettings::default();
        settings.uploads.dir = dir.clone();
        super::super::files::prepare(&settings.uploads).unwrap();
        let part = super::super::files::temp_dir(&settings.uploads).join("cut.part");
        std::fs::write(&part, b"half an upload").unwrap();
        let _service = ChatService::with_store(Store::temporary().unwrap(), settings);
        assert!(!part.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[actix_rt::test]
    async fn friendship_transitions() {
        let s = service();
        let pending = s.request_friendship("a", "b").unwrap();
        assert_eq!(
            (pending.status, pending.by.as_str()),
            (FriendshipStatus::Pending, "a")
        );
        // Asking again changes nothing; only the one asked may answer.
        assert_eq!(s.request_friendship("a", "b").unwrap(), pending);
        assert!(s.accept_friendship("a", "b").is_err());
        assert_eq!(
            s.accept_friendship("b", "a").unwrap().status,
            FriendshipStatus::Accepted
        );
        // Crossed requests make friends.
        s.request_friendship("a", "c").unwrap();
        assert_eq!(
            s.request_friendship("c", "a").unwrap().status,
            FriendshipStatus::Accepted
        );
        // Reject, then block: a blocked pair refuses requests.
        s.request_friendship("b", "c").unwrap();
        assert_eq!(
            s.reject_friendship("c", "b").unwrap().status,
            FriendshipStatus::Rejected
        );
        assert_eq!(
            s.block_user("c", "b").unwrap().status,
            FriendshipStatus::Blocked
        );
        assert!(s.request_friendship("b", "c").is_err());
        assert!(
            s.unblock_user("b", "c").is_err(),
            "only the blocker unblocks"
        );
        s.unblock_user("c", "b").unwrap();
        assert!(s.store().friendship("b", "c").unwrap().is_none());
        // Unknown users and oneself are refused.
        assert!(matches!(
            s.request_friendship("a", "nobody"),
            Err(Refusal::UnknownUser)
        ));
        assert!(s.block_user("a", "a").is_err());
    }

    #[actix_rt::test]
    async fn messages_through_the_server_api() {
        let s = service();
        let (chat, created) = s.individual_chat("a", "b").unwrap();
        assert!(created);
        let m = s
            .send_message(chat.id, "a", MessageType::Text, "hi", None)
            .await
            .unwrap();
        assert_eq!(s.store().member_state(chat.id, "b").unwrap().unread, 1);
        assert_eq!(s.store().history(chat.id, None, 0, 10).unwrap(), vec![m]);
        let group = s
            .create_group("team", &["a".into(), "b".into(), "c".into()])
            .unwrap();
        s.send_message(group.id, "c", MessageType::Text, "all", None)
            .await
            .unwrap();
        assert_eq!(s.store().member_state(group.id, "a").unwrap().unread, 1);
        assert!(matches!(
            s.send_message(chat.id, "c", MessageType::Text, "x", None)
                .await,
            Err(ChatError::NotMember)
        ));
    }
}
