//! Chat actors by id: started on demand from the store, forgotten when they
//! stop. [`Chats`] is the handle the rest of the server calls chats with.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use actix::dev::ToEnvelope;
use actix::prelude::*;

use crate::ChatActorConfig;
use crate::actor::{ChatHeader, Gone};
use crate::error::ChatError;
use crate::events::ChatEvents;
use crate::store::Store;

/// Knows which chat actors run, and where.
pub struct ChatDirectory {
    store: Store,
    events: Arc<dyn ChatEvents>,
    config: ChatActorConfig,
    chats: HashMap<u64, Addr<ChatHeader>>,
    /// Chat actors are spread over these threads, away from the directory
    /// and the sessions.
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
}

impl ChatDirectory {
    fn start_chat(
        &mut self,
        id: u64,
        ctx: &mut Context<Self>,
    ) -> Result<Option<Addr<ChatHeader>>, ChatError> {
        let Some(header) = self.store.chat(id)? else {
            return Ok(None);
        };
        let chat = ChatHeader::load(
            header,
            self.store.clone(),
            self.events.clone(),
            self.config.clone(),
            ctx.address().recipient(),
        )?;
        let addr = if self.arbiters.is_empty() {
            chat.start()
        } else {
            let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
            self.next_arbiter = self.next_arbiter.wrapping_add(1);
            ChatHeader::start_in_arbiter(arbiter, move |_| chat)
        };
        self.chats.insert(id, addr.clone());
        Ok(Some(addr))
    }
}

impl Actor for ChatDirectory {
    type Context = Context<Self>;
}

/// The actor of a chat: started if `start` and the chat exists.
#[derive(Message)]
#[rtype(result = "Result<Option<Addr<ChatHeader>>, ChatError>")]
struct Lookup {
    id: u64,
    start: bool,
}

/// How many chat actors run now.
#[derive(Message)]
#[rtype(result = "usize")]
struct Running;

impl Handler<Lookup> for ChatDirectory {
    type Result = Result<Option<Addr<ChatHeader>>, ChatError>;
    fn handle(&mut self, msg: Lookup, ctx: &mut Context<Self>) -> Self::Result {
        // A stopping actor still has its entry until `Gone` arrives; a
        // closed mailbox means it is as good as gone.
        match self.chats.get(&msg.id) {
            Some(addr) if addr.connected() => Ok(Some(addr.clone())),
            _ if msg.start => self.start_chat(msg.id, ctx),
            _ => Ok(None),
        }
    }
}

impl Handler<Gone> for ChatDirectory {
    type Result = ();
    fn handle(&mut self, msg: Gone, _: &mut Context<Self>) {
        if self.chats.get(&msg.id) == Some(&msg.addr) {
            self.chats.remove(&msg.id);
        }
    }
}

impl Handler<Running> for ChatDirectory {
    type Result = usize;
    fn handle(&mut self, _: Running, _: &mut Context<Self>) -> usize {
        self.chats.values().filter(|a| a.connected()).count()
    }
}

/// The handle to every chat. Cheap to clone.
///
/// It remembers the actors it has found, so that a request to a running
/// chat goes straight to its mailbox: no round trip through the directory,
/// and requests made in order (one socket's events) arrive in that order.
#[derive(Clone)]
pub struct Chats {
    directory: Addr<ChatDirectory>,
    store: Store,
    known: Arc<RwLock<HashMap<u64, Addr<ChatHeader>>>>,
}

/// Past this many remembered actors, stopped ones are forgotten.
const KNOWN_PRUNE_AT: usize = 1024;

/// How often a request is retried when its chat actor stopped between the
/// lookup and the send (the request was not handled then: it is safe).
const ATTEMPTS: usize = 3;

impl Chats {
    /// Starts the directory and the chat threads. Must run inside an actix
    /// system.
    pub fn start(store: Store, events: Arc<dyn ChatEvents>, config: ChatActorConfig) -> Chats {
        let arbiters = (0..config.arbiters)
            .map(|_| Arbiter::new().handle())
            .collect();
        let directory = ChatDirectory {
            store: store.clone(),
            events,
            config,
            chats: HashMap::new(),
            arbiters,
            next_arbiter: 0,
        }
        .start();
        Chats {
            directory,
            store,
            known: Arc::default(),
        }
    }

    fn known(&self, id: u64) -> Option<Addr<ChatHeader>> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known.get(&id).filter(|a| a.connected()).cloned()
    }

    fn remember(&self, id: u64, addr: &Addr<ChatHeader>) {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if known.len() >= KNOWN_PRUNE_AT && !known.contains_key(&id) {
            known.retain(|_, a| a.connected());
        }
        known.insert(id, addr.clone());
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How many chat actors are running.
    pub async fn running(&self) -> usize {
        self.directory.send(Running).await.unwrap_or(0)
    }

    /// Sends `msg` to chat `id`, starting its actor if needed.
    pub async fn call<M, R>(&self, id: u64, msg: M) -> Result<R, ChatError>
    where
        M: Message<Result = Result<R, ChatError>> + Clone + Send + 'static,
        R: Send + 'static,
        ChatHeader: Handler<M>,
        <ChatHeader as Actor>::Context: ToEnvelope<ChatHeader, M>,
    {
        self.send(id, msg, true)
            .await
            .and_then(|r| r.ok_or(ChatError::NotFound))
    }

    /// Sends `msg` to chat `id` only if its actor is running (`None` if
    /// not): for what only matters to a live chat, such as a viewer leaving.
    pub async fn call_if_running<M, R>(&self, id: u64, msg: M) -> Result<Option<R>, ChatError>
    where
        M: Message<Result = Result<R, ChatError>> + Clone + Send + 'static,
        R: Send + 'static,
        ChatHeader: Handler<M>,
        <ChatHeader as Actor>::Context: ToEnvelope<ChatHeader, M>,
    {
        self.send(id, msg, false).await
    }

    async fn send<M, R>(&self, id: u64, msg: M, start: bool) -> Result<Option<R>, ChatError>
    where
        M: Message<Result = Result<R, ChatError>> + Clone + Send + 'static,
        R: Send + 'static,
        ChatHeader: Handler<M>,
        <ChatHeader as Actor>::Context: ToEnvelope<ChatHeader, M>,
    {
        for _ in 0..ATTEMPTS {
            let chat = match self.known(id) {
                Some(chat) => chat,
                None => {
                    let lookup = Lookup { id, start };
                    let found = self
                        .directory
                        .send(lookup)
                        .await
                        .map_err(|_| ChatError::Unavailable)??;
                    let Some(chat) = found else {
                        return if start {
                            Err(ChatError::NotFound)
                        } else {
                            Ok(None)
                        };
                    };
                    self.remember(id, &chat);
                    chat
                }
            };
            match chat.send(msg.clone()).await {
                Ok(result) => return result.map(Some),
                Err(MailboxError::Closed) => continue,
                Err(MailboxError::Timeout) => return Err(ChatError::Unavailable),
            }
        }
        Err(ChatError::Unavailable)
    }
}
