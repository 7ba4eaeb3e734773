//! confab-redis: confab nodes sharing one cluster through Redis (or any
//! server speaking its protocol, e.g. Valkey), on the wire format of Node's
//! `@socket.io/redis-adapter` 8.x (its classic pub/sub adapter) and
//! `@socket.io/redis-emitter` 5.x, so that Node servers, confab nodes and
//! emitters share one cluster.
//!
//! - [`config`]: `[adapter]`, local or Redis.
//! - [`channels`]: the channel names of a namespace.
//! - [`data`]: event arguments between confab's [`confab_engine::Args`]
//!   and msgpack.
//! - [`wire`]: the two encodings (JSON, msgpack) and selections.
//! - [`broadcast`]: `[uid, packet, opts]` broadcasts.
//! - [`request`], [`response`]: the requests between nodes and their answers.
//! - [`link`]: the node's publisher and subscriber connections to Redis.
//! - [`outbox`]: the bounded queue of messages for the publisher.
//! - [`cluster`]: the engine's cluster part ([`RedisCluster`]): operations
//!   published, cluster-wide queries awaited; its inbound task applies
//!   the other nodes' operations here.
//! - [`presence`]: who is online across nodes, in Redis with expiry.
//! - [`sockets`]: confab's socket listing as Node's `RemoteSocket`.
//! - `sessions`: connection state recovery across nodes (parked sessions
//!   and their missed packets in Redis, with expiry).

pub mod broadcast;
pub mod channels;
pub mod cluster;
pub mod config;
pub mod data;
mod inbound;
pub mod link;
mod node;
pub mod outbox;
mod pending;
pub mod presence;
pub mod request;
pub mod response;
mod sessions;
pub mod sockets;
pub mod wire;

pub use broadcast::{BroadcastMessage, BroadcastOpts, EventPacket, Flags};
pub use channels::{BroadcastScope, Channels};
pub use cluster::RedisCluster;
pub use config::{AdapterConfig, AdapterConfigError, AdapterKind};
pub use link::{Inbound, Link, LinkError, Membership, Subscription};
pub use request::{Ask, Request, Target};
pub use response::{Answer, RemoteSocket, Response};
pub use wire::{Selection, WireError};
