//! The engine's cluster part on Redis: every operation the adapter does
//! here is published as the Node adapter publishes it, and cluster-wide
//! queries (fetch sockets, broadcasts with acks) wait for as many answers
//! as `PUBSUB NUMSUB` counts nodes on the request channel, minus this one.
//!
//! Publishing never blocks the caller: messages go through a bounded
//! outbox to one publisher task, which pipelines them in order on the
//! publisher connection. A full outbox (Redis far behind) drops the
//! message with a warning, as a lost connection would.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use confab_engine::{
    AckReplies, Args, Cluster, ClusterFactory, Io, Payload, Presence, PresenceHook, Remote,
    SocketInfo, Target,
};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::broadcast::{BroadcastMessage, BroadcastOpts, EventPacket, Flags};
use crate::channels::Channels;
use crate::config::AdapterConfig;
use crate::link::{Link, LinkError, Subscription};
use crate::pending::Pending;
use crate::presence::Tracker;
use crate::request::{Ask, Request, Target as RequestTarget};
use crate::response::Answer;
use crate::sockets::from_remote;
use crate::wire::{Selection, WireError};

/// Messages waiting for the publisher connection: past it, a message is
/// dropped (Redis is gone or far slower than this node's emits).
pub const OUTBOX: usize = 65_536;
/// Publishes in flight at once on the publisher connection.
const PIPELINE: usize = 64;

/// A node of a Redis cluster.
pub struct RedisCluster {
    node: Arc<Node>,
}

/// What the cluster part and its inbound task share.
pub(crate) struct Node {
    pub(crate) uid: String,
    prefix: String,
    pub(crate) link: Link,
    pub(crate) io: Io,
    pub(crate) timeout: Duration,
    channels: RwLock<HashMap<String, Channels>>,
    pub(crate) pending: Pending,
    outbox: mpsc::Sender<(String, Vec<u8>)>,
    /// Presence changes, settled in order by the presence task.
    presence: mpsc::UnboundedSender<crate::presence::Job>,
}

impl RedisCluster {
    /// The engine hook that makes this node a member of the cluster on
    /// `config.url`, for the namespaces `nsps` (others are joined when
    /// first used). Call inside a tokio runtime (the engine's start). Nothing
    /// waits for Redis: an unreachable one is logged and retried. Fails
    /// only on a malformed URL.
    pub fn factory(config: &AdapterConfig, nsps: Vec<String>) -> Result<ClusterFactory, LinkError> {
        let config = config.clone();
        let (link, inbound) = Link::open(&config.url, config.request_timeout())?;
        Ok(Box::new(move |io: Io| {
            let cluster = RedisCluster::running(&config, link, inbound, io);
            for nsp in &nsps {
                cluster.node.join(nsp);
            }
            Arc::new(cluster) as Arc<dyn Cluster>
        }))
    }

    /// Joins the cluster now, applying other nodes' operations through
    /// `io`. Call inside a tokio runtime.
    pub fn start(config: &AdapterConfig, io: Io) -> Result<RedisCluster, LinkError> {
        let (link, inbound) = Link::open(&config.url, config.request_timeout())?;
        Ok(RedisCluster::running(config, link, inbound, io))
    }

    fn running(
        config: &AdapterConfig,
        link: Link,
        inbound: mpsc::Receiver<crate::link::Inbound>,
        io: Io,
    ) -> RedisCluster {
        let (outbox, queued) = mpsc::channel(OUTBOX);
        let (presence, jobs) = mpsc::unbounded_channel();
        let uid = node_uid();
        tracing::info!(
            uid,
            url = crate::config::redacted_url(&config.url),
            "joining the redis cluster"
        );
        let node = Arc::new(Node {
            uid: uid.clone(),
            prefix: config.key_prefix.clone(),
            link,
            io,
            timeout: config.request_timeout(),
            channels: RwLock::default(),
            pending: Pending::new(&uid),
            outbox,
            presence,
        });
        let tracker = Tracker::new(
            node.link.clone(),
            &uid,
            &config.key_prefix,
            config.node_ttl(),
        );
        tokio::spawn(tracker.run(jobs));
        tokio::spawn(publisher(node.link.clone(), queued));
        tokio::spawn(crate::inbound::run(node.clone(), inbound));
        RedisCluster { node }
    }

    /// This node's uid on the wire.
    pub fn uid(&self) -> &str {
        &self.node.uid
    }
}

impl Node {
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

    /// Queues `bytes` for `channel`; never waits.
    pub(crate) fn publish(&self, channel: String, bytes: Vec<u8>) {
        if let Err(error) = self.outbox.try_send((channel, bytes)) {
            tracing::warn!(%error, "redis outbox full or closed: a cluster message is dropped");
        }
    }

    pub(crate) fn publish_encoded(&self, channel: String, bytes: Result<Vec<u8>, WireError>) {
        match bytes {
            Ok(bytes) => self.publish(channel, bytes),
            Err(error) => tracing::warn!(%error, "a cluster message could not be encoded"),
        }
    }

    fn request(&self, target: &Target, request_id: Option<String>, ask: Ask) {
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

    async fn fetch(self: Arc<Self>, target: Target) -> Remote<Vec<SocketInfo>> {
        let channels = self.join(&target.nsp);
        let partial = |value| Remote {
            value,
            complete: false,
        };
        let others = match self.others(&channels).await {
            Ok(0) => {
                return Remote {
                    value: Vec::new(),
                    complete: true,
                };
            }
            Ok(n) => n,
            Err(error) => {
                tracing::warn!(%error, "fetch sockets: the other nodes cannot be counted");
                return partial(Vec::new());
            }
        };
        let mut opened = self.pending.open();
        let ask = Ask::Fetch {
            selection: selection(&target),
        };
        self.request(&target, Some(opened.id.clone()), ask);
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

    async fn acks(
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

impl Cluster for RedisCluster {
    fn broadcast(&self, target: &Target, event: &str, args: &Args) {
        let channels = self.node.join(&target.nsp);
        let message = BroadcastMessage {
            uid: self.node.uid.clone(),
            packet: EventPacket {
                nsp: target.nsp.clone(),
                event: event.to_owned(),
                args: args.clone(),
                id: None,
            },
            opts: BroadcastOpts {
                selection: selection(target),
                flags: Flags::default(),
            },
        };
        self.node
            .publish_encoded(channels.broadcast(&target.rooms), message.encode());
    }

    fn add_sockets(&self, target: &Target, rooms: &[String]) {
        let ask = Ask::Join {
            target: RequestTarget::Selection(selection(target)),
            rooms: rooms.to_vec(),
        };
        self.node.request(target, None, ask);
    }

    fn del_sockets(&self, target: &Target, rooms: &[String]) {
        let ask = Ask::Leave {
            target: RequestTarget::Selection(selection(target)),
            rooms: rooms.to_vec(),
        };
        self.node.request(target, None, ask);
    }

    fn disconnect_sockets(&self, target: &Target, close: bool) {
        let ask = Ask::Disconnect {
            target: RequestTarget::Selection(selection(target)),
            close,
        };
        self.node.request(target, None, ask);
    }

    fn fetch_sockets(&self, target: &Target) -> BoxFuture<'static, Remote<Vec<SocketInfo>>> {
        Box::pin(self.node.clone().fetch(target.clone()))
    }

    fn broadcast_with_ack(
        &self,
        target: &Target,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> BoxFuture<'static, AckReplies> {
        Box::pin(
            self.node
                .clone()
                .acks(target.clone(), event.to_owned(), args.clone(), timeout),
        )
    }

    /// Told once for the whole cluster, by the presence task (see
    /// [`crate::presence`]); told here if that task is gone.
    fn presence(&self, change: Presence, hook: PresenceHook) {
        if let Err(mpsc::error::SendError((change, hook))) = self.node.presence.send((change, hook))
        {
            hook(change);
        }
    }
}

/// The publisher task: the outbox, in order, a few publishes in flight.
async fn publisher(link: Link, queued: mpsc::Receiver<(String, Vec<u8>)>) {
    let messages = futures_util::stream::unfold(queued, |mut queued| async move {
        queued.recv().await.map(|message| (message, queued))
    });
    messages
        .map(|(channel, bytes)| {
            let link = link.clone();
            async move {
                if let Err(error) = link.publish(&channel, bytes).await {
                    tracing::warn!(%error, channel, "redis publish failed: a cluster message is lost");
                }
            }
        })
        .buffered(PIPELINE)
        .for_each(|()| async {})
        .await;
}

/// A node id, unique enough across a cluster: ten base-62 characters from
/// the process's randomly keyed hasher, the clock and the process id.
fn node_uid() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    let mut n = hasher.finish();
    (0..10)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}
