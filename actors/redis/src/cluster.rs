//! The engine's cluster part on Redis: every operation the adapter does
//! here is published as the Node adapter publishes it, and cluster-wide
//! queries (fetch sockets, broadcasts with acks) wait for as many answers
//! as `PUBSUB NUMSUB` counts nodes on the request channel, minus this one.
//!
//! Publishing never blocks the caller: messages go through a bounded
//! outbox ([`crate::outbox`]) to one publisher task, which pipelines them
//! in order on the publisher connection. A full outbox (Redis far behind)
//! drops the message, counted and logged, as a lost connection would.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use confab_engine::adapter::recovery::SessionStore;
use confab_engine::{
    AckReplies, Args, Cluster, ClusterFactory, Io, Presence, PresenceHook, Remote, SocketInfo,
    Target,
};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::broadcast::{BroadcastMessage, BroadcastOpts, EventPacket, Flags};
use crate::config::AdapterConfig;
use crate::link::Subscription;
use crate::link::{Inbound, Link, LinkError, Membership};
use crate::node::{Node, selection};
use crate::outbox::{Drops, Message, OUTBOX, Outbox};
use crate::presence::Tracker;
use crate::request::{Ask, Target as RequestTarget};
use crate::sessions::{Keys as SessionKeys, Store};

/// Publishes in flight at once on the publisher connection.
const PIPELINE: usize = 64;

/// A node of a Redis cluster.
pub struct RedisCluster {
    node: Arc<Node>,
    /// Lost sockets kept for clients that come back through another node.
    sessions: Arc<Store>,
}

impl RedisCluster {
    /// The engine hook that makes this node a member of the cluster on
    /// `config.url`, for the namespaces `nsps` (others are joined when
    /// first used). Call inside a tokio runtime (the engine's start). Nothing
    /// waits for Redis: an unreachable one is logged and retried. Fails
    /// only on a malformed URL. The outbox counts the messages it drops in
    /// `drops` (the metrics read it); the [`Membership`] returned says
    /// whether the node receives the cluster's messages (readiness).
    pub fn factory(
        config: &AdapterConfig,
        nsps: Vec<String>,
        drops: Drops,
    ) -> Result<(ClusterFactory, Membership), LinkError> {
        let config = config.clone();
        let (link, inbound) = Link::open(&config.url, config.request_timeout())?;
        let membership = link.membership().clone();
        let factory: ClusterFactory = Box::new(move |io: Io| {
            let cluster = RedisCluster::running(&config, link, inbound, io, drops);
            for nsp in &nsps {
                cluster.node.join(nsp);
            }
            Arc::new(cluster) as Arc<dyn Cluster>
        });
        Ok((factory, membership))
    }

    /// Joins the cluster now, applying other nodes' operations through
    /// `io`, counting the outbox's drops in `drops`. Call inside a tokio
    /// runtime.
    pub fn start(config: &AdapterConfig, io: Io, drops: Drops) -> Result<RedisCluster, LinkError> {
        let (link, inbound) = Link::open(&config.url, config.request_timeout())?;
        Ok(RedisCluster::running(config, link, inbound, io, drops))
    }

    fn running(
        config: &AdapterConfig,
        link: Link,
        inbound: mpsc::Receiver<Inbound>,
        io: Io,
        drops: Drops,
    ) -> RedisCluster {
        let (outbox, queued) = Outbox::new(OUTBOX, drops);
        let (presence, jobs) = mpsc::unbounded_channel();
        let uid = node_uid();
        tracing::info!(
            uid,
            url = crate::config::redacted_url(&config.url),
            "joining the redis cluster"
        );
        let node = Arc::new(Node::new(
            uid.clone(),
            config.key_prefix.clone(),
            link,
            io,
            config.request_timeout(),
            outbox,
            presence,
        ));
        let tracker = Tracker::new(
            node.link.clone(),
            &uid,
            &config.key_prefix,
            config.node_ttl(),
        );
        tokio::spawn(tracker.run(jobs));
        tokio::spawn(publisher(node.link.clone(), queued));
        let keys = SessionKeys::new(&config.key_prefix);
        let notices = keys.notices(&uid);
        node.link.subscribe(Subscription::Channel(notices.clone()));
        let sessions = Arc::new(Store::start(node.clone(), keys));
        tokio::spawn(crate::inbound::run(node.clone(), inbound, notices));
        RedisCluster { node, sessions }
    }

    /// This node's uid on the wire.
    pub fn uid(&self) -> &str {
        &self.node.uid
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

    fn server_side_emit(&self, nsp: &str, event: &str, args: &Args) {
        let ask = Ask::ServerSideEmit {
            event: event.to_owned(),
            args: args.clone(),
        };
        self.node.request(&Target::namespace(nsp), None, ask);
    }

    fn server_side_emit_with_ack(
        &self,
        nsp: &str,
        event: &str,
        args: &Args,
        timeout: Duration,
    ) -> BoxFuture<'static, Remote<Vec<serde_json::Value>>> {
        let ask = Ask::ServerSideEmit {
            event: event.to_owned(),
            args: args.clone(),
        };
        Box::pin(
            self.node
                .clone()
                .server_answers(nsp.to_owned(), ask, timeout),
        )
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

    fn sessions(&self) -> Option<Arc<dyn SessionStore>> {
        Some(self.sessions.clone())
    }
}

/// The publisher task: the outbox, in order, a few publishes in flight.
async fn publisher(link: Link, queued: mpsc::Receiver<Message>) {
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
