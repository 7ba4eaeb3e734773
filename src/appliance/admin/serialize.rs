//! The shapes the admin UI reads, as `@socket.io/admin-ui` 0.5 writes them
//! (its `serialize` and `server_stats`): built from confab's sockets.

use std::time::UNIX_EPOCH;

use serde_json::{Map, Value, json};

use crate::Socket;
use confab_engine::iso;

/// One socket as the UI lists it, with its connection's transport now.
pub(crate) fn socket(socket: &Socket, rooms: Vec<String>) -> Value {
    let hs = socket.handshake();
    let address = hs
        .header("cf-connecting-ip")
        .or_else(|| hs.header("x-forwarded-for"))
        .map(str::to_owned)
        .or_else(|| hs.address.map(|a| a.ip().to_string()));
    let issued = hs.issued.unwrap_or(UNIX_EPOCH);
    let data: Map<String, Value> = socket
        .data()
        .iter()
        .filter(|(key, _)| key.as_str() != super::auth::NEW_SESSION)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "id": socket.id(),
        // The UI groups sockets by client: the connection's Engine.IO id,
        // cut to 12 characters as the Node server does.
        "clientId": hs.connection.chars().take(12).collect::<String>(),
        "transport": hs.transport(),
        "nsp": socket.nsp(),
        "data": data,
        "handshake": {
            "address": address,
            "headers": hs.headers,
            "query": hs.query,
            "issued": issued.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            "secure": hs.secure,
            "time": iso(issued),
            "url": hs.url,
            "xdomain": hs.header("origin").is_some(),
        },
        "rooms": rooms,
    })
}

/// The numbers the dashboard shows, every two seconds.
pub(crate) struct ServerStats<'a> {
    pub server_id: &'a str,
    pub hostname: &'a str,
    pub uptime_secs: f64,
    pub clients: usize,
    /// Sockets per namespace, by name.
    pub namespaces: Vec<(String, usize)>,
}

impl ServerStats<'_> {
    pub(crate) fn to_json(&self) -> Value {
        let namespaces: Vec<Value> = self
            .namespaces
            .iter()
            .map(|(name, count)| json!({ "name": name, "socketsCount": count }))
            .collect();
        json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": self.uptime_secs,
            "clientsCount": self.clients,
            "namespaces": namespaces,
        })
    }
}
