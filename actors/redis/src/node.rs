//! What a node's cluster part and its inbound task share: its uid, its
//! Redis link, the engine's handle, the namespaces it has joined, its open
//! requests and its outbox; and the cluster-wide queries, which count the
//! other nodes with `PUBSUB NUMSUB` and wait for their answers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use confab_engine::{AckReplies, Args, Io, Payload, Remote, SocketInfo, Target};
use tokio::sync::mpsc;

use crate::broadcast::{BroadcastOpts, EventPacket, Flags};
use crate::channels::Channels;
use crate::link::{Link, LinkError, Subscription};
use crate::outbox::Outbox;
use crate::pending::{Opened, Pending};
use crate::presence::Job;
use crate::request::{Ask, Request};
use crate::response::Answer;
use crate::sockets::from_remote;
use crate::wire::{Selection, WireError};

/// What the cluster part and its inbound task share.
pub(crate) struct Node {
    pub(crate) uid: String,
    pub(crate) prefix: String,
    pub(crate) link: Link,
    pub(crate) io: Io,
    pub(crate) timeout: Duration,
    channels: RwLock<HashMap<String, Channels>>,
    pub(crate) pending: Pending,
    outbox: Outbox,
    /// Presence changes, settled in order by the presence task.
    pub(crate) presence: mpsc::UnboundedSender<Job>,
}

impl Node {
    pub(crate) fn new(
        uid: String,
        prefix: String,
        link: Link,
        io: Io,
        timeout: Duration,
        outbox: Outbox,
        presence: mpsc::UnboundedSender<Job>,
    ) -> Node {
        Node {
            pending: Pending::new(&uid),
            uid,
            prefix,
            link,
            io,
            timeout,
            channels: RwLock::default(),
            outbox,
            presence,
        }
    }

    /// The channels of `nsp`, subscribing to them the first time: the
    /// namespace's broadcasts, its request channel (once: other nodes
    /// count this node by it), and both response channels.
    pub(crate) fn join(&self, nsp: &str) -> Channels {
        if let Some(channels) = self.read_channels().get(nsp) {
            return channels.clone();
        }
        let mut all = self.channels.write().unwrap_or_else(|e| e.into_inner());
        all.entry(nsp.to_owned())
            .or_insert_with(|| {
                let channels = Channels::new(&self.prefix, nsp);
                for subscription in [
                    Subscription::Pattern(channels.broadcast_pattern()),
                    Subscription::Channel(channels.request().to_owned()),
                    Subscription::Channel(channels.response().to_owned()),
                    Subscription::Channel(channels.response_for(&self.uid)),
                ] {
                    self.link.subscribe(subscription);
                }
                channels
            })
            .clone()
    }

    pub(crate) fn read_channels(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, Channels>> {
        self.channels.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `bytes` for `channel`; never waits (see [`Outbox`]).
    pub(crate) fn publish(&self, channel: String, bytes: Vec<u8>) {
        self.outbox.push(channel, bytes);
    }

    pub(crate) fn publish_encoded(&self, channel: String, bytes: Result<Vec<u8>, WireError>) {
        match bytes {
            Ok(bytes) => self.publish(channel, bytes),
            Err(error) => tracing::warn!(%error, "a cluster message could not be encoded"),
        }
    }

    pub(crate) fn request(&self, target: &Target, request_id: Option<String>, ask: Ask) {
        let channels = self.join(&target.nsp);
        let request = Request {
            uid: Some(self.uid.clone()),
            request_id,
            ask,
        };
        self.publish_encoded(channels.request().to_owned(), request.encode());
    }

    /// How many other nodes will answer a request on `nsp`'s channel.
    async fn others(&self, channels: &Channels) -> Result<usize, LinkError> {
        Ok(self
            .link
            .numsub(channels.request())
            .await?
            .saturating_sub(1))
    }

    /// Publishes a request whose answers are awaited: how many other nodes
    /// will answer, and where; `Err` (logged) if they cannot be counted,
    /// `None` if there are none.
    async fn ask_others(
        &self,
        target: &Target,
        ask: Ask,
        what: &str,
    ) -> Result<Option<(usize, Opened<'_>)>, LinkError> {
        let channels = self.join(&target.nsp);
        let others = self.others(&channels).await.inspect_err(|error| {
            tracing::warn!(%error, "{what}: the other nodes cannot be counted");
        })?;
        if others == 0 {
            return Ok(None);
        }
        let opened = self.pending.open();
        self.request(target, Some(opened.id.clone()), ask);
        Ok(Some((others, opened)))
    }

    pub(crate) async fn fetch(self: Arc<Self>, target: Target) -> Remote<Vec<SocketInfo>> {
        let ask = Ask::Fetch {
            selection: selection(&target),
        };
        let (others, mut opened) = match self.ask_others(&target, ask, "fetch sockets").await {
            Ok(Some(asked)) => asked,
            Ok(None) => return Remote::nothing(true),
            Err(_) => return Remote::nothing(false),
        };
        let mut sockets = Vec::new();
        let mut heard = 0;
        let deadline = tokio::time::sleep(self.timeout);
        tokio::pin!(deadline);
        while heard < others {
            tokio::select! {
                answer = opened.answers.recv() => match answer {
                    Some(Answer::Sockets(found)) => {
                        heard += 1;
                        sockets.extend(found.into_iter().map(|s| from_remote(&target.nsp, s)));
                    }
                    Some(Answer::SocketIds(ids)) => {
                        heard += 1;
                        sockets.extend(ids.into_iter().map(|id| from_remote(&target.nsp, crate::sockets::bare(id))));
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        if heard < others {
            tracing::warn!(
                heard,
                others,
                "fetch sockets: not every node answered in time"
            );
        }
        Remote {
            value: sockets,
            complete: heard == others,
        }
    }

    /// A server-side event's answers: one value from each other node
    /// within `timeout` (Node's `serverSideEmitWithAck`).
    pub(crate) async fn server_answers(
        self: Arc<Self>,
        nsp: String,
        ask: Ask,
        timeout: Duration,
    ) -> Remote<Vec<serde_json::Value>> {
        let target = Target::namespace(&nsp);
        let (others, mut opened) = match self.ask_others(&target, ask, "server-side emit").await {
            Ok(Some(asked)) => asked,
            // Alone: answered at once, as Node's adapter does.
            Ok(None) => return Remote::nothing(true),
            Err(_) => return Remote::nothing(false),
        };
        let mut answers = Vec::new();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        while answers.len() < others {
            tokio::select! {
                answer = opened.answers.recv() => match answer {
                    Some(Answer::ServerSideEmit(data)) => answers.push(data),
                    Some(_) => {}
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        Remote {
            complete: answers.len() == others,
            value: answers,
        }
    }

    pub(crate) async fn acks(
        self: Arc<Self>,
        target: Target,
        event: String,
        args: Args,
        timeout: Duration,
    ) -> AckReplies {
        let channels = self.join(&target.nsp);
        let mut replies = AckReplies::default();
        let others = match self.others(&channels).await {
            Ok(n) => n,
            Err(error) => {
                tracing::warn!(%error, "broadcast with acks: the other nodes cannot be counted");
                return replies;
            }
        };
        if others == 0 {
            replies.complete = true;
            return replies;
        }
        let mut opened = self.pending.open();
        let opts = BroadcastOpts {
            selection: selection(&target),
            flags: Flags {
                timeout: Some(timeout.as_millis() as u64),
                ..Flags::default()
            },
        };
        let packet = EventPacket {
            nsp: target.nsp.clone(),
            event,
            args,
            id: None,
        };
        self.request(
            &target,
            Some(opened.id.clone()),
            Ask::Broadcast { packet, opts },
        );
        let mut heard = 0;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        while heard < others || replies.replies.len() < replies.expected {
            tokio::select! {
                answer = opened.answers.recv() => match answer {
                    Some(Answer::ClientCount(n)) => {
                        heard += 1;
                        replies.expected += n as usize;
                    }
                    Some(Answer::BroadcastAck(reply)) => {
                        replies.replies.push(Payload::new(String::new(), reply));
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = &mut deadline => break,
            }
        }
        replies.complete = heard == others && replies.replies.len() == replies.expected;
        replies
    }
}

/// The selection a target makes, as the wire writes it.
pub(crate) fn selection(target: &Target) -> Selection {
    Selection {
        rooms: target.rooms.clone(),
        except: target.except.clone(),
    }
}
