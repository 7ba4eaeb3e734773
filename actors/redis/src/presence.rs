//! Presence across nodes, kept in Redis with expiry: a user is online while
//! any node holds one of their sockets, and goes offline when the last
//! node lets go, or when the node holding them stops beating.
//!
//! Keys (under the adapter's prefix, beside the Node adapter's channels,
//! which use none):
//! - `<prefix>-presence#<user>`: the set of node uids holding the user;
//! - `<prefix>-node-users#<uid>`: the users node `uid` holds;
//! - `<prefix>-node#<uid>`: the node's heartbeat, expiring after the node TTL;
//! - `<prefix>-nodes`: every node uid seen.
//!
//! Each change runs as one Lua script, so two nodes never both see "first"
//! or "last". A node beats every third of the TTL and, at each beat, reaps
//! nodes whose heartbeat expired (a script again: exactly one node reaps
//! each, and tells its hook of the users who went offline with it). A beat
//! that finds its own key gone (Redis restarted empty, or this node was
//! reaped after a stall) registers this node's users again.
//!
//! The engine's hook is told on one node only, which emits to the cluster.
//! With Redis unreachable, a change is told as this node sees it.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use confab_engine::{Presence, PresenceHook};
use tokio::sync::mpsc;

use crate::link::{Link, LinkError};

const ONLINE: &str = r"
local added = redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if added == 1 and redis.call('SCARD', KEYS[1]) == 1 then return 1 end
return 0";

const OFFLINE: &str = r"
local removed = redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
if removed == 1 and redis.call('SCARD', KEYS[1]) == 0 then return 1 end
return 0";

const BEAT: &str = r"
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return existed";

/// KEYS: the dead node's user set, the node set, its heartbeat key.
/// ARGV: its uid, the presence key prefix. Returns the users now offline.
const REAP: &str = r"
if redis.call('EXISTS', KEYS[3]) == 1 then return {} end
local gone = {}
for _, user in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[2] .. user
  if redis.call('SREM', key, ARGV[1]) == 1 and redis.call('SCARD', key) == 0 then
    table.insert(gone, user)
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], ARGV[1])
return gone";

static SCRIPTS: LazyLock<[redis::Script; 4]> =
    LazyLock::new(|| [ONLINE, OFFLINE, BEAT, REAP].map(redis::Script::new));

/// The key names of one prefix (recovery's claim script moves a user's
/// presence with these too).
pub(crate) struct Keys {
    pub(crate) prefix: String,
}

impl Keys {
    fn user(&self, user: &str) -> String {
        format!("{}{user}", self.user_prefix())
    }
    pub(crate) fn user_prefix(&self) -> String {
        format!("{}-presence#", self.prefix)
    }
    pub(crate) fn node_users(&self, uid: &str) -> String {
        format!("{}-node-users#{uid}", self.prefix)
    }
    pub(crate) fn node(&self, uid: &str) -> String {
        format!("{}-node#{uid}", self.prefix)
    }
    fn nodes(&self) -> String {
        format!("{}-nodes", self.prefix)
    }
}

/// A presence change to settle with the cluster, and whom to tell.
pub(crate) type Job = (Presence, PresenceHook);

/// The presence task of one node.
pub(crate) struct Tracker {
    link: Link,
    uid: String,
    keys: Keys,
    ttl: Duration,
    /// Users with a socket here: registered again after Redis forgot them.
    here: HashSet<String>,
    /// The engine's hook, known from the first change (the same each time).
    hook: Option<PresenceHook>,
}

impl Tracker {
    pub(crate) fn new(link: Link, uid: &str, prefix: &str, ttl: Duration) -> Tracker {
        Tracker {
            link,
            uid: uid.to_owned(),
            keys: Keys {
                prefix: prefix.to_owned(),
            },
            ttl,
            here: HashSet::new(),
            hook: None,
        }
    }

    /// Settles changes in order and beats, until the cluster part is gone.
    pub(crate) async fn run(mut self, mut jobs: mpsc::UnboundedReceiver<Job>) {
        let mut beat = tokio::time::interval(self.ttl / 3);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some((change, hook)) => {
                        self.hook = Some(hook);
                        self.settle(change).await;
                    }
                    None => return,
                },
                _ = beat.tick() => self.beat().await,
            }
        }
    }

    async fn settle(&mut self, change: Presence) {
        let (script, user) = match &change {
            Presence::Online { user_id } => {
                self.here.insert(user_id.clone());
                (&SCRIPTS[0], user_id.clone())
            }
            Presence::Offline { user_id, .. } => {
                self.here.remove(user_id);
                (&SCRIPTS[1], user_id.clone())
            }
        };
        let keys = [self.keys.user(&user), self.keys.node_users(&self.uid)];
        let args = [self.uid.clone(), user];
        match self.link.script::<i64>(script, &keys, &args).await {
            Ok(1) => self.tell(change),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "presence: redis unreachable, told as this node sees it");
                self.tell(change);
            }
        }
    }

    fn tell(&self, change: Presence) {
        if let Some(hook) = &self.hook {
            hook(change);
        }
    }

    async fn beat(&mut self) {
        let keys = [self.keys.node(&self.uid), self.keys.nodes()];
        let args = [self.ttl.as_millis().to_string(), self.uid.clone()];
        match self.link.script::<i64>(&SCRIPTS[2], &keys, &args).await {
            Ok(0) => self.register_again().await,
            Ok(_) => {}
            Err(error) => return tracing::debug!(%error, "presence: no beat"),
        }
        if let Err(error) = self.reap().await {
            tracing::debug!(%error, "presence: dead nodes not reaped this time");
        }
    }

    /// This node's users, counted again (the first beat, or after Redis
    /// forgot them).
    async fn register_again(&mut self) {
        let users: Vec<String> = self.here.iter().cloned().collect();
        for user_id in users {
            self.settle(Presence::Online { user_id }).await;
        }
    }

    /// Takes the users of nodes whose heartbeat expired offline.
    async fn reap(&self) -> Result<(), LinkError> {
        if self.hook.is_none() {
            // Nobody to tell here yet: another node reaps.
            return Ok(());
        }
        let mut smembers = redis::cmd("SMEMBERS");
        smembers.arg(self.keys.nodes());
        let nodes: Vec<String> = self.link.query(smembers).await?;
        for uid in nodes.into_iter().filter(|uid| *uid != self.uid) {
            let keys = [
                self.keys.node_users(&uid),
                self.keys.nodes(),
                self.keys.node(&uid),
            ];
            let args = [uid.clone(), self.keys.user_prefix()];
            let gone: Vec<String> = self.link.script(&SCRIPTS[3], &keys, &args).await?;
            if !gone.is_empty() {
                tracing::info!(
                    node = uid,
                    users = gone.len(),
                    "presence: a node stopped beating; its users are offline"
                );
            }
            let last_seen = SystemTime::now();
            for user_id in gone {
                self.tell(Presence::Offline { user_id, last_seen });
            }
        }
        Ok(())
    }
}
