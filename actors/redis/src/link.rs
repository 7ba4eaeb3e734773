//! One node's two connections to Redis, as the Node adapter holds them: a
//! publisher (commands: PUBLISH, PUBSUB NUMSUB) and a subscriber (in
//! subscribed state for good).
//!
//! Neither ever blocks its caller on Redis nor panics: the publisher is a
//! `redis` [`ConnectionManager`] that connects on first use and reconnects
//! after a failure, each call bounded by the request timeout; the
//! subscriber is one task that connects with backoff, subscribes to every
//! channel and pattern asked of it (each once, whatever the number of
//! asks: `PUBSUB NUMSUB` on a request channel must count nodes), hands the
//! messages on, and starts over when the connection drops.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

/// The first wait before reconnecting the subscriber; it doubles up to
/// [`MAX_BACKOFF`] while Redis stays away.
pub const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts: a Redis back after an outage is
/// found within this.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Messages received and not yet taken by the node: past it the subscriber
/// waits (Redis then buffers for it, up to its client output limit).
pub const INBOX: usize = 4096;

/// Why a call to Redis did not go through.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("redis URL: {0}")]
    Url(redis::RedisError),
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// Something the subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A message published on `channel`.
    Message { channel: String, payload: Bytes },
    /// The subscriber is connected and subscribed again (after a start or
    /// an outage): cluster-wide answers are whole from now on.
    Connected,
    /// The subscriber lost Redis: until [`Inbound::Connected`], nothing
    /// from other nodes arrives.
    Lost,
}

/// A channel or a pattern to receive. Patterns order first: on a
/// (re)connect they are subscribed before any channel, so a node counted
/// on its request channel already receives its broadcasts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subscription {
    Pattern(String),
    Channel(String),
}

/// The node's connections. Cheap to clone.
#[derive(Clone)]
pub struct Link {
    publisher: ConnectionManager,
    subscriptions: mpsc::UnboundedSender<Subscription>,
    timeout: Duration,
    membership: Membership,
}

/// Whether the node receives the cluster's messages: its subscriber is
/// connected and has every subscription asked of it so far. Until then,
/// other nodes do not count it (`PUBSUB NUMSUB`) and what they broadcast
/// does not reach its sockets. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Membership(Arc<MembershipState>);

#[derive(Debug, Default)]
struct MembershipState {
    /// Subscriptions asked of the subscriber (each ask counted).
    asked: AtomicU64,
    /// Asks the subscriber has on its live connection.
    applied: AtomicU64,
    connected: AtomicBool,
    /// A member once at least, with one subscription or more.
    joined: AtomicBool,
}

impl Membership {
    /// A member now.
    pub fn is_member(&self) -> bool {
        let state = &self.0;
        state.connected.load(Ordering::Acquire)
            && state.applied.load(Ordering::Acquire) >= state.asked.load(Ordering::Acquire)
    }

    /// A member now or at some time since the start, with one
    /// subscription or more: a node that has joined once goes on serving
    /// its own clients through an outage of Redis, and comes back by
    /// itself.
    pub fn has_joined(&self) -> bool {
        self.0.joined.load(Ordering::Acquire)
    }

    fn asked(&self) {
        self.0.asked.fetch_add(1, Ordering::AcqRel);
    }

    /// The subscriber is connected with the first `asks` asks applied.
    fn applied(&self, asks: u64) {
        let state = &self.0;
        state.applied.store(asks, Ordering::Release);
        state.connected.store(true, Ordering::Release);
        if asks > 0 && asks >= state.asked.load(Ordering::Acquire) {
            state.joined.store(true, Ordering::Release);
        }
    }

    fn lost(&self) {
        self.0.connected.store(false, Ordering::Release);
    }
}

impl Link {
    /// Opens the link to `url` (nothing is awaited: an unreachable Redis is
    /// logged and retried). Must run inside a tokio runtime. What the
    /// subscriber receives goes to the returned receiver.
    pub fn open(
        url: &str,
        timeout: Duration,
    ) -> Result<(Link, mpsc::Receiver<Inbound>), LinkError> {
        let client = redis::Client::open(url).map_err(LinkError::Url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(MIN_BACKOFF)
            .set_max_delay(MAX_BACKOFF);
        let publisher = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let (subscriptions, asks) = mpsc::unbounded_channel();
        let (inbox, inbound) = mpsc::channel(INBOX);
        let membership = Membership::default();
        tokio::spawn(subscriber(client, asks, inbox, membership.clone()));
        Ok((
            Link {
                publisher,
                subscriptions,
                timeout,
                membership,
            },
            inbound,
        ))
    }

    /// Receives `subscription` from now on (and after every reconnect).
    /// Asking twice subscribes once.
    pub fn subscribe(&self, subscription: Subscription) {
        self.membership.asked();
        // The subscriber task ends only with the runtime.
        let _ = self.subscriptions.send(subscription);
    }

    /// Whether the node receives the cluster's messages.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Publishes `payload` on `channel`; answers how many subscribers got it.
    pub async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<usize, LinkError> {
        let mut conn = self.publisher.clone();
        self.bounded(async move {
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(payload)
                .query_async(&mut conn)
                .await
        })
        .await
    }

    /// How many connections subscribe to `channel` (`PUBSUB NUMSUB`): for a
    /// request channel, how many nodes will answer.
    pub async fn numsub(&self, channel: &str) -> Result<usize, LinkError> {
        let mut conn = self.publisher.clone();
        let (_, count): (String, usize) = self
            .bounded(async move {
                redis::cmd("PUBSUB")
                    .arg("NUMSUB")
                    .arg(channel)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(count)
    }

    /// Runs a Lua script (presence keeps its sets consistent this way).
    pub async fn script<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[String],
        args: &[impl redis::ToRedisArgs],
    ) -> Result<T, LinkError> {
        let mut conn = self.publisher.clone();
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        self.bounded(async move { invocation.invoke_async(&mut conn).await })
            .await
    }

    /// Runs one command.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, LinkError> {
        let mut conn = self.publisher.clone();
        self.bounded(async move { cmd.query_async(&mut conn).await })
            .await
    }

    async fn bounded<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, LinkError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| LinkError::Timeout(self.timeout))?
            .map_err(LinkError::from)
    }
}

/// The subscriber task: connect, subscribe to everything asked so far,
/// pass messages on; on loss, say so and start over after a backoff. Ends
/// when the node drops both its [`Link`]s and its receiver.
async fn subscriber(
    client: redis::Client,
    mut asks: mpsc::UnboundedReceiver<Subscription>,
    inbox: mpsc::Sender<Inbound>,
    membership: Membership,
) {
    let mut wanted = BTreeSet::new();
    // Asks received, duplicates included (as [`Membership`] counts them).
    let mut received = 0u64;
    let mut backoff = MIN_BACKOFF;
    let mut connected_once = false;
    let mut asks_open = true;
    loop {
        let attempt = tokio::time::timeout(MAX_BACKOFF, client.get_async_pubsub()).await;
        match attempt.unwrap_or_else(|_| Err(timed_out())) {
            Ok(pubsub) => {
                backoff = MIN_BACKOFF;
                let (mut sink, mut stream) = pubsub.split();
                while let Ok(subscription) = asks.try_recv() {
                    received += 1;
                    wanted.insert(subscription);
                }
                let mut ok = true;
                for subscription in &wanted {
                    ok &= apply(&mut sink, subscription).await;
                }
                if ok {
                    tracing::info!(reconnect = connected_once, "redis subscriber connected");
                    connected_once = true;
                    membership.applied(received);
                    if inbox.send(Inbound::Connected).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::select! {
                            ask = asks.recv(), if asks_open => match ask {
                                Some(subscription) => {
                                    received += 1;
                                    if wanted.insert(subscription.clone()) && !apply(&mut sink, &subscription).await {
                                        break;
                                    }
                                    membership.applied(received);
                                }
                                // No Link left: no more asks, messages still flow.
                                None => asks_open = false,
                            },
                            message = stream.next() => match message {
                                Some(message) => {
                                    let inbound = Inbound::Message {
                                        channel: message.get_channel_name().to_owned(),
                                        payload: Bytes::copy_from_slice(message.get_payload_bytes()),
                                    };
                                    if inbox.send(inbound).await.is_err() {
                                        return;
                                    }
                                }
                                None => break,
                            },
                        }
                    }
                }
                membership.lost();
                tracing::warn!("redis subscriber lost its connection; reconnecting");
                if inbox.send(Inbound::Lost).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "redis unreachable");
            }
        }
        // Asks made while away are taken now, so they are replayed on connect.
        while let Ok(subscription) = asks.try_recv() {
            received += 1;
            wanted.insert(subscription);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

/// Subscribes on a live connection; false when the connection failed.
async fn apply(sink: &mut redis::aio::PubSubSink, subscription: &Subscription) -> bool {
    let result = match subscription {
        Subscription::Channel(channel) => sink.subscribe(channel).await,
        Subscription::Pattern(pattern) => sink.psubscribe(pattern).await,
    };
    if let Err(error) = &result {
        tracing::warn!(%error, ?subscription, "redis subscribe failed");
    }
    result.is_ok()
}
