//! One actor per chat header: the only writer of its chat.
//!
//! Every change is written to the store in one journaled batch, then waits
//! for a shared sync of the journal while the actor goes on with the next request (so a burst
//! of appends costs one flush), then is answered and published. What is
//! published goes through `outbox` so that events leave in the order the
//! changes were made, whatever order the flushes are seen to finish in.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use actix::prelude::*;
use tracing::warn;

use crate::ChatActorConfig;
use crate::error::ChatError;
use crate::events::{AfterPublish, ChatEvent, ChatEvents};
use crate::store::{
    ChatKind, ChatRecord, ChatWrite, FriendshipStatus, MemberState, Message, MessageType, Store,
    User, now_millis,
};

/// Told when a chat actor has stopped, so the directory forgets it.
#[derive(Message)]
#[rtype(result = "()")]
pub(crate) struct Gone {
    pub id: u64,
    pub addr: Addr<ChatHeader>,
}

struct Outgoing {
    seq: u64,
    event: ChatEvent,
    durable: bool,
    /// The caller's, right after the event is published.
    then: Option<AfterPublish>,
}

/// The live state of one chat.
pub struct ChatHeader {
    header: ChatRecord,
    store: Store,
    events: Arc<dyn ChatEvents>,
    config: ChatActorConfig,
    directory: Recipient<Gone>,
    /// Each member's cursor and unread count, as in the store.
    states: HashMap<String, MemberState>,
    /// Sockets viewing the chat now, with their user.
    viewing: HashMap<String, String>,
    /// Users typing now, each with the timer that ends the flag.
    typing: HashMap<String, (String, SpawnHandle)>,
    /// Changes written and waiting for their flush, oldest first.
    outbox: VecDeque<Outgoing>,
    next_seq: u64,
    idle_timer: Option<SpawnHandle>,
}

impl ChatHeader {
    pub(crate) fn load(
        header: ChatRecord,
        store: Store,
        events: Arc<dyn ChatEvents>,
        config: ChatActorConfig,
        directory: Recipient<Gone>,
    ) -> Result<ChatHeader, ChatError> {
        let mut states = store.member_states(header.id)?;
        for member in &header.members {
            states.entry(member.clone()).or_default();
        }
        Ok(ChatHeader {
            header,
            store,
            events,
            config,
            directory,
            states,
            viewing: HashMap::new(),
            typing: HashMap::new(),
            outbox: VecDeque::new(),
            next_seq: 0,
            idle_timer: None,
        })
    }

    fn member(&self, user: &str) -> Result<(), ChatError> {
        if self.header.is_member(user) {
            Ok(())
        } else {
            Err(ChatError::NotMember)
        }
    }

    fn is_idle(&self) -> bool {
        self.viewing.is_empty() && self.typing.is_empty() && self.outbox.is_empty()
    }

    /// Restarts the idle countdown; the actor stops when it runs out with
    /// the chat still idle.
    fn touch(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.idle_timer.take() {
            ctx.cancel_future(timer);
        }
        if self.is_idle() {
            self.idle_timer = Some(ctx.run_later(self.config.idle_after, |act, ctx| {
                act.idle_timer = None;
                if act.is_idle() {
                    ctx.stop();
                }
            }));
        }
    }

    /// Queues an event behind the durability of the write it reports and
    /// returns the future that releases it. The answer is `value` once the
    /// write is durable.
    fn after_flush<T: 'static>(
        &mut self,
        event: ChatEvent,
        value: T,
    ) -> ResponseActFuture<Self, Result<T, ChatError>> {
        self.after_flush_then(event, None, value)
    }

    /// [`ChatHeader::after_flush`], with `then` called right after the
    /// event is published.
    fn after_flush_then<T: 'static>(
        &mut self,
        event: ChatEvent,
        then: Option<AfterPublish>,
        value: T,
    ) -> ResponseActFuture<Self, Result<T, ChatError>> {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outbox.push_back(Outgoing {
            seq,
            event,
            durable: false,
            then,
        });
        Box::pin(
            self.store
                .journaled()
                .into_actor(self)
                .map(move |result, act, ctx| {
                    let answer = match result {
                        Ok(()) => {
                            if let Some(out) = act.outbox.iter_mut().find(|o| o.seq == seq) {
                                out.durable = true;
                            }
                            Ok(value)
                        }
                        Err(err) => {
                            warn!(chat = act.header.id, %err, "write not durable; not published");
                            act.outbox.retain(|o| o.seq != seq);
                            Err(err.into())
                        }
                    };
                    act.release();
                    act.touch(ctx);
                    answer
                }),
        )
    }

    /// Publishes the durable events at the head of the outbox.
    fn release(&mut self) {
        while self.outbox.front().is_some_and(|o| o.durable) {
            if let Some(out) = self.outbox.pop_front() {
                self.events.publish(&self.header, &out.event);
                if let Some(then) = out.then {
                    then.call(&out.event);
                }
            }
        }
    }

    fn refuse<T: 'static>(err: ChatError) -> ResponseActFuture<Self, Result<T, ChatError>> {
        Box::pin(fut::ready(Err(err)))
    }

    fn blocked(&self, sender: &str) -> Result<bool, ChatError> {
        if self.header.kind != ChatKind::Individual {
            return Ok(false);
        }
        let Some(other) = self.header.other_member(sender) else {
            return Ok(false);
        };
        Ok(self
            .store
            .friendship(sender, other)?
            .is_some_and(|f| f.status == FriendshipStatus::Blocked))
    }

    fn append(&mut self, msg: Append) -> Result<Message, ChatError> {
        self.member(&msg.sender.id)?;
        if self.blocked(&msg.sender.id)? {
            return Err(ChatError::Blocked);
        }
        let message = Message {
            id: self.store.next_message_id()?,
            chat_id: self.header.id,
            sender: msg.sender.id,
            kind: msg.kind,
            body: msg.body,
            caption: msg.caption,
            created_at: now_millis(),
            edited_at: None,
            deleted_at: None,
        };
        let files = match msg.names_upload {
            true => vec![message.body.as_str()],
            false => vec![],
        };
        // The new header and counts are kept, written, and taken back if
        // the write fails, so that a failed write leaves the actor as it
        // was; nothing is copied (a group's members are many).
        let previous = (self.header.last_message_id, self.header.message_count);
        self.header.last_message_id = Some(message.id);
        self.header.message_count += 1;
        count_unread(&mut self.states, &message.sender, true);
        let written = self.store.write(ChatWrite {
            chat: self.header.id,
            header: Some(&self.header),
            messages: vec![&message],
            states: Some(&self.states),
            files,
        });
        if let Err(err) = written {
            (self.header.last_message_id, self.header.message_count) = previous;
            count_unread(&mut self.states, &message.sender, false);
            return Err(err.into());
        }
        Ok(message)
    }

    fn edit(&mut self, msg: Edit) -> Result<Message, ChatError> {
        self.member(&msg.by)?;
        let mut message = self.live_message(msg.id)?;
        if message.sender != msg.by {
            return Err(ChatError::NotSender);
        }
        message.body = msg.body;
        message.caption = msg.caption;
        message.edited_at = Some(now_millis());
        let files = self.upload_named(&message)?;
        self.store.write(ChatWrite {
            chat: self.header.id,
            header: None,
            messages: vec![&message],
            states: None,
            files: files.into_iter().collect(),
        })?;
        Ok(message)
    }

    /// The upload a message names (its body is the upload's path), if any:
    /// the chat references it from then on, so its members may read it.
    fn upload_named<'m>(&self, message: &'m Message) -> Result<Option<&'m str>, ChatError> {
        if message.kind == MessageType::Text || !message.body.starts_with('/') {
            return Ok(None);
        }
        Ok(self
            .store
            .upload(&message.body)?
            .map(|_| message.body.as_str()))
    }

    fn live_message(&self, id: u64) -> Result<Message, ChatError> {
        match self.store.message(self.header.id, id)? {
            Some(m) if !m.is_deleted() => Ok(m),
            _ => Err(ChatError::MessageNotFound),
        }
    }

    /// Deletes all of `ids` or none: every one must be a live message of
    /// this chat sent by `by`.
    fn remove(&mut self, msg: Remove) -> Result<Vec<u64>, ChatError> {
        self.member(&msg.by)?;
        let mut ids: Vec<u64> = Vec::with_capacity(msg.ids.len());
        for id in msg.ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut doomed = Vec::with_capacity(ids.len());
        for id in &ids {
            let message = self.live_message(*id)?;
            if message.sender != msg.by {
                return Err(ChatError::NotSender);
            }
            doomed.push(message);
        }
        let now = now_millis();
        for message in &mut doomed {
            message.deleted_at = Some(now);
        }
        let set: HashSet<u64> = ids.iter().copied().collect();
        let mut header = self.header.clone();
        header.message_count = header.message_count.saturating_sub(doomed.len() as u64);
        if header.last_message_id.is_some_and(|id| set.contains(&id)) {
            let newest = self
                .store
                .history(header.id, None, 0, set.len() + 1)?
                .into_iter()
                .find(|m| !set.contains(&m.id));
            header.last_message_id = newest.map(|m| m.id);
        }
        let mut states = self.states.clone();
        for (user, state) in states.iter_mut() {
            let unread_gone = doomed
                .iter()
                .filter(|m| m.sender != *user && m.id > state.cursor)
                .count() as u64;
            state.unread = state.unread.saturating_sub(unread_gone);
        }
        self.store.write(ChatWrite {
            chat: header.id,
            header: Some(&header),
            messages: doomed.iter().collect(),
            states: Some(&states),
            files: vec![],
        })?;
        self.header = header;
        self.states = states;
        Ok(ids)
    }

    fn group_admin(&self, by: &str) -> Result<(), ChatError> {
        if self.header.kind != ChatKind::Group {
            return Err(ChatError::NotGroup);
        }
        self.member(by)?;
        if !self.header.is_admin(by) {
            return Err(ChatError::NotAdmin);
        }
        Ok(())
    }

    /// Adds members to a group (an admin only); answers those new to it.
    fn add_members(&mut self, msg: AddMembers) -> Result<Vec<String>, ChatError> {
        self.group_admin(&msg.by)?;
        let mut added: Vec<String> = Vec::new();
        for user in msg.users {
            if !self.header.is_member(&user) && !added.contains(&user) {
                added.push(user);
            }
        }
        if added.is_empty() {
            return Ok(added);
        }
        let mut header = self.header.clone();
        header.members.extend(added.iter().cloned());
        self.store.set_members(&header, &added, &[])?;
        let start = MemberState {
            cursor: header.last_message_id.unwrap_or(0),
            unread: 0,
        };
        for user in &added {
            self.states.insert(user.clone(), start);
        }
        self.header = header;
        Ok(added)
    }

    /// Removes a member from a group: an admin removes anyone, anyone
    /// leaves. The last admin leaving hands the role to the oldest member.
    fn remove_member(
        &mut self,
        msg: &RemoveMember,
        ctx: &mut Context<Self>,
    ) -> Result<(), ChatError> {
        if self.header.kind != ChatKind::Group {
            return Err(ChatError::NotGroup);
        }
        self.member(&msg.by)?;
        if msg.by != msg.user && !self.header.is_admin(&msg.by) {
            return Err(ChatError::NotAdmin);
        }
        if !self.header.is_member(&msg.user) {
            return Err(ChatError::NotParticipant);
        }
        let mut header = self.header.clone();
        header.members.retain(|m| *m != msg.user);
        header.admins.retain(|m| *m != msg.user);
        if header.admins.is_empty()
            && let Some(first) = header.members.first()
        {
            header.admins.push(first.clone());
        }
        self.store
            .set_members(&header, &[], std::slice::from_ref(&msg.user))?;
        self.header = header;
        self.states.remove(&msg.user);
        self.viewing.retain(|_, user| *user != msg.user);
        if let Some((_, timer)) = self.typing.remove(&msg.user) {
            ctx.cancel_future(timer);
        }
        Ok(())
    }

    /// Answers the cursor and how many messages were unread before.
    fn mark_read(&mut self, user: &str) -> Result<(u64, u64), ChatError> {
        self.member(user)?;
        let old = self.states.get(user).copied().unwrap_or_default();
        let state = MemberState {
            cursor: old.cursor.max(self.header.last_message_id.unwrap_or(0)),
            unread: 0,
        };
        if state != old {
            let mut states = self.states.clone();
            states.insert(user.to_owned(), state);
            self.store.write(ChatWrite {
                chat: self.header.id,
                header: None,
                messages: vec![],
                states: Some(&states),
                files: vec![],
            })?;
            self.states = states;
        }
        Ok((state.cursor, old.unread))
    }

    /// Sets or clears a typing flag and publishes it. An empty `name`
    /// keeps the name the flag was set with.
    fn set_typing(&mut self, user: &str, name: String, is_typing: bool, ctx: &mut Context<Self>) {
        let mut name = name;
        if let Some((previous, timer)) = self.typing.remove(user) {
            ctx.cancel_future(timer);
            if name.is_empty() {
                name = previous;
            }
        }
        if is_typing {
            let who = user.to_owned();
            let timer = ctx.run_later(self.config.typing_ttl, move |act, ctx| {
                if let Some((name, _)) = act.typing.remove(&who) {
                    act.publish_typing(&who, name, false);
                }
                act.touch(ctx);
            });
            self.typing.insert(user.to_owned(), (name.clone(), timer));
        }
        self.publish_typing(user, name, is_typing);
    }

    fn publish_typing(&self, user: &str, name: String, is_typing: bool) {
        let event = ChatEvent::Typing {
            user: user.to_owned(),
            name,
            is_typing,
        };
        self.events.publish(&self.header, &event);
    }

    fn viewers(&self) -> Vec<String> {
        let mut users: Vec<String> = self.viewing.values().cloned().collect();
        users.sort();
        users.dedup();
        users
    }
}

/// Counts a new message of `sender` as unread for every other member
/// (`added`), or takes that back.
fn count_unread(states: &mut HashMap<String, MemberState>, sender: &str, added: bool) {
    for (_, state) in states.iter_mut().filter(|(user, _)| *user != sender) {
        state.unread = match added {
            true => state.unread + 1,
            false => state.unread.saturating_sub(1),
        };
    }
}

impl Actor for ChatHeader {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.touch(ctx);
    }

    fn stopped(&mut self, ctx: &mut Context<Self>) {
        self.directory.do_send(Gone {
            id: self.header.id,
            addr: ctx.address(),
        });
    }
}

/// Posts a message; answered once it is durable.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<Message, ChatError>")]
pub struct Append {
    /// The sender as stored (read once by the caller): the published
    /// event carries it, so that nobody reads it again to show the
    /// message.
    pub sender: User,
    pub kind: MessageType,
    pub body: String,
    pub caption: Option<String>,
    /// The body is the path of an upload (the caller has read its record):
    /// the chat references it from then on, so its members may read it.
    pub names_upload: bool,
    /// Called with the `Created` event right after it is published (the
    /// socket handler's ack, so that it leaves with the event).
    pub after_publish: Option<AfterPublish>,
}

/// Changes the text (and caption) of a message; its sender only.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<Message, ChatError>")]
pub struct Edit {
    pub by: String,
    pub id: u64,
    pub body: String,
    pub caption: Option<String>,
}

/// Deletes messages, all or none; their sender only. Answers the ids.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<Vec<u64>, ChatError>")]
pub struct Remove {
    pub by: String,
    pub ids: Vec<u64>,
}

/// Moves a member's cursor to the newest message. Answers the cursor.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<u64, ChatError>")]
pub struct MarkRead {
    pub user: String,
}

/// A member's socket is viewing the chat. Answers the users viewing now.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<Vec<String>, ChatError>")]
pub struct View {
    pub socket: String,
    pub user: String,
}

/// A socket stopped viewing (left the chat, or disconnected).
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<(), ChatError>")]
pub struct Unview {
    pub socket: String,
}

/// A member starts or stops typing.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<(), ChatError>")]
pub struct Typing {
    pub user: String,
    pub name: String,
    pub is_typing: bool,
}

/// An admin adds members to a group. Answers the header and who was new.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<(ChatRecord, Vec<String>), ChatError>")]
pub struct AddMembers {
    pub by: String,
    pub users: Vec<String>,
}

/// A member leaves a group, or an admin removes one. Answers the header.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<ChatRecord, ChatError>")]
pub struct RemoveMember {
    pub by: String,
    pub user: String,
}

/// The users viewing the chat now.
#[derive(Message, Clone, Debug)]
#[rtype(result = "Result<Vec<String>, ChatError>")]
pub struct Viewers;

impl Handler<Append> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<Message, ChatError>>;
    fn handle(&mut self, mut msg: Append, _: &mut Context<Self>) -> Self::Result {
        let sender = msg.sender.clone();
        let then = msg.after_publish.take();
        match self.append(msg) {
            Ok(message) => {
                let event = ChatEvent::Created {
                    message: message.clone(),
                    sender,
                };
                self.after_flush_then(event, then, message)
            }
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<Edit> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<Message, ChatError>>;
    fn handle(&mut self, msg: Edit, _: &mut Context<Self>) -> Self::Result {
        match self.edit(msg) {
            Ok(message) => self.after_flush(ChatEvent::Updated(message.clone()), message),
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<Remove> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<Vec<u64>, ChatError>>;
    fn handle(&mut self, msg: Remove, _: &mut Context<Self>) -> Self::Result {
        match self.remove(msg) {
            Ok(ids) if ids.is_empty() => Box::pin(fut::ready(Ok(ids))),
            Ok(ids) => self.after_flush(ChatEvent::Deleted(ids.clone()), ids),
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<MarkRead> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<u64, ChatError>>;
    fn handle(&mut self, msg: MarkRead, _: &mut Context<Self>) -> Self::Result {
        match self.mark_read(&msg.user) {
            Ok((cursor, unread)) => {
                let event = ChatEvent::Read {
                    user: msg.user,
                    cursor,
                    unread,
                };
                self.after_flush(event, cursor)
            }
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<AddMembers> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<(ChatRecord, Vec<String>), ChatError>>;
    fn handle(&mut self, msg: AddMembers, _: &mut Context<Self>) -> Self::Result {
        let by = msg.by.clone();
        match self.add_members(msg) {
            Ok(added) if added.is_empty() => Box::pin(fut::ready(Ok((self.header.clone(), added)))),
            Ok(added) => {
                let event = ChatEvent::MembersAdded {
                    by,
                    users: added.clone(),
                };
                let answer = (self.header.clone(), added);
                self.after_flush(event, answer)
            }
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<RemoveMember> for ChatHeader {
    type Result = ResponseActFuture<Self, Result<ChatRecord, ChatError>>;
    fn handle(&mut self, msg: RemoveMember, ctx: &mut Context<Self>) -> Self::Result {
        match self.remove_member(&msg, ctx) {
            Ok(()) => {
                let event = ChatEvent::MemberRemoved {
                    by: msg.by,
                    user: msg.user,
                };
                let header = self.header.clone();
                self.after_flush(event, header)
            }
            Err(err) => Self::refuse(err),
        }
    }
}

impl Handler<View> for ChatHeader {
    type Result = Result<Vec<String>, ChatError>;
    fn handle(&mut self, msg: View, ctx: &mut Context<Self>) -> Self::Result {
        self.member(&msg.user)?;
        self.viewing.insert(msg.socket, msg.user);
        self.touch(ctx);
        Ok(self.viewers())
    }
}

impl Handler<Unview> for ChatHeader {
    type Result = Result<(), ChatError>;
    fn handle(&mut self, msg: Unview, ctx: &mut Context<Self>) -> Self::Result {
        if let Some(user) = self.viewing.remove(&msg.socket) {
            let still_here = self.viewing.values().any(|u| *u == user);
            if !still_here && self.typing.contains_key(&user) {
                self.set_typing(&user, String::new(), false, ctx);
            }
        }
        self.touch(ctx);
        Ok(())
    }
}

impl Handler<Typing> for ChatHeader {
    type Result = Result<(), ChatError>;
    fn handle(&mut self, msg: Typing, ctx: &mut Context<Self>) -> Self::Result {
        self.member(&msg.user)?;
        self.set_typing(&msg.user, msg.name, msg.is_typing, ctx);
        self.touch(ctx);
        Ok(())
    }
}

impl Handler<Viewers> for ChatHeader {
    type Result = Result<Vec<String>, ChatError>;
    fn handle(&mut self, _: Viewers, _: &mut Context<Self>) -> Self::Result {
        Ok(self.viewers())
    }
}
