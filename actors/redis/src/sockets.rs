//! confab's [`SocketInfo`] as another node lists it in a REMOTE_FETCH
//! answer (Node's `RemoteSocket`: `{id, handshake, rooms, data}`) and back.
//!
//! confab keeps no handshake headers per socket; what it knows goes where a
//! Node application looks for it: the connection time in
//! `handshake.issued` (milliseconds, as Node), the user in `data.userId`
//! (the seeds' `socket.data.userId`).

use confab_engine::SocketInfo;
use serde_json::{Value, json};

use crate::response::RemoteSocket;

/// A socket of this node, for another node.
pub fn to_remote(info: &SocketInfo) -> RemoteSocket {
    let data = match &info.user_id {
        Some(user) => json!({ "userId": user }),
        None => json!({}),
    };
    RemoteSocket {
        id: info.id.clone(),
        handshake: json!({
            "headers": {},
            "address": "",
            "xdomain": false,
            "secure": false,
            "issued": info.connected_at,
            "url": "",
            "query": {},
            "auth": {},
        }),
        rooms: info.rooms.clone(),
        data,
    }
}

/// A socket of another node (of namespace `nsp`), as the application lists it.
pub fn from_remote(nsp: &str, remote: RemoteSocket) -> SocketInfo {
    SocketInfo {
        id: remote.id,
        nsp: nsp.to_owned(),
        user_id: match remote.data.get("userId") {
            Some(Value::String(user)) => Some(user.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
        rooms: remote.rooms,
        connected_at: remote
            .handshake
            .get("issued")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    }
}

/// A socket known by its id alone (a SOCKETS answer).
pub fn bare(id: String) -> RemoteSocket {
    RemoteSocket {
        id,
        handshake: json!({}),
        rooms: Vec::new(),
        data: Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_crosses_and_comes_back() {
        let info = SocketInfo {
            id: "s1".into(),
            nsp: "/chat".into(),
            user_id: Some("u7".into()),
            rooms: vec!["s1".into(), "r".into()],
            connected_at: 1_700_000_000_000,
        };
        assert_eq!(from_remote("/chat", to_remote(&info)), info);
        let anonymous = SocketInfo {
            user_id: None,
            ..info
        };
        assert_eq!(from_remote("/chat", to_remote(&anonymous)), anonymous);
    }

    #[test]
    fn a_node_socket_s_numeric_user_and_bare_ids_are_read() {
        let remote = RemoteSocket {
            id: "n1".into(),
            handshake: json!({"issued": 5}),
            rooms: vec![],
            data: json!({"userId": 42}),
        };
        let info = from_remote("/", remote);
        assert_eq!(info.user_id.as_deref(), Some("42"));
        assert_eq!(info.connected_at, 5);
        assert_eq!(from_remote("/", bare("x".into())).id, "x");
    }
}
