//! The Redis channel names of one namespace, as `@socket.io/redis-adapter`
//! 8.x and `@socket.io/redis-emitter` 5.x name them (`key` is the prefix,
//! `socket.io` unless configured):
//!
//! - `<key>#<nsp>#`: broadcasts to the whole namespace or to several rooms;
//! - `<key>#<nsp>#<room>#`: broadcasts to exactly one room, so that a node
//!   without that room can drop them before decoding;
//! - `<key>-request#<nsp>#`: requests between nodes (one subscription per
//!   node: `PUBSUB NUMSUB` on it counts the nodes);
//! - `<key>-response#<nsp>#` and `<key>-response#<nsp>#<uid>#`: answers, on
//!   the common channel or on the asking node's own one.

/// The channels of one namespace under one key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channels {
    broadcast: String,
    request: String,
    response: String,
}

/// What a message on a broadcast channel is addressed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastScope<'a> {
    /// The namespace channel: everyone, or several rooms named inside.
    Namespace,
    /// The channel of exactly this room.
    Room(&'a str),
}

impl Channels {
    pub fn new(prefix: &str, nsp: &str) -> Channels {
        Channels {
            broadcast: format!("{prefix}#{nsp}#"),
            request: format!("{prefix}-request#{nsp}#"),
            response: format!("{prefix}-response#{nsp}#"),
        }
    }

    /// Where a broadcast to `rooms` is published: the room's own channel
    /// when there is exactly one, the namespace channel otherwise.
    pub fn broadcast<S: AsRef<str>>(&self, rooms: &[S]) -> String {
        match rooms {
            [room] => format!("{}{}#", self.broadcast, room.as_ref()),
            _ => self.broadcast.clone(),
        }
    }

    /// The pattern that receives every broadcast of the namespace.
    pub fn broadcast_pattern(&self) -> String {
        format!("{}*", self.broadcast)
    }

    /// Which broadcast a channel carries, or `None` when it is not one of
    /// this namespace's broadcast channels.
    pub fn broadcast_scope<'a>(&self, channel: &'a str) -> Option<BroadcastScope<'a>> {
        let rest = channel.strip_prefix(self.broadcast.as_str())?;
        if rest.is_empty() {
            return Some(BroadcastScope::Namespace);
        }
        rest.strip_suffix('#').map(BroadcastScope::Room)
    }

    pub fn request(&self) -> &str {
        &self.request
    }

    /// The common response channel, which every node reads.
    pub fn response(&self) -> &str {
        &self.response
    }

    /// The response channel of the node `uid` (used by nodes started with
    /// `publishOnSpecificResponseChannel`).
    pub fn response_for(&self, uid: &str) -> String {
        format!("{}{uid}#", self.response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_node_adapter() {
        let c = Channels::new("socket.io", "/");
        assert_eq!(c.broadcast::<&str>(&[]), "socket.io#/#");
        assert_eq!(c.broadcast(&["room1"]), "socket.io#/#room1#");
        assert_eq!(c.broadcast(&["a", "b"]), "socket.io#/#");
        assert_eq!(c.broadcast_pattern(), "socket.io#/#*");
        assert_eq!(c.request(), "socket.io-request#/#");
        assert_eq!(c.response(), "socket.io-response#/#");
        assert_eq!(c.response_for("abc123"), "socket.io-response#/#abc123#");
        let admin = Channels::new("app", "/admin");
        assert_eq!(admin.broadcast(&["x"]), "app#/admin#x#");
        assert_eq!(admin.request(), "app-request#/admin#");
    }

    #[test]
    fn scope_is_read_back_from_the_channel() {
        let c = Channels::new("socket.io", "/");
        assert_eq!(
            c.broadcast_scope("socket.io#/#"),
            Some(BroadcastScope::Namespace)
        );
        assert_eq!(
            c.broadcast_scope("socket.io#/#room#1#"),
            Some(BroadcastScope::Room("room#1"))
        );
        assert_eq!(c.broadcast_scope("socket.io#/admin#"), None);
        assert_eq!(c.broadcast_scope("socket.io#/#unterminated"), None);
    }
}
