//! Who is online on the chat's namespace, per device, and which chats each
//! socket is viewing (so a disconnect ends its viewing).
//!
//! The service keeps this itself rather than through the engine's presence
//! hook: the hook is the application's (one per engine, used by the
//! identity layer's presence events), it counts every namespace, and it
//! does not see the socket, whose handshake tells the `clientType`.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    /// Each online user's sockets, with the client type of each.
    users: HashMap<String, HashMap<String, String>>,
    /// The chats each socket is viewing.
    viewing: HashMap<String, HashSet<u64>>,
}

/// What changed when a socket left.
pub struct Departure {
    /// The user's last socket left: they are offline now.
    pub last: bool,
    pub client_type: String,
    /// The chats the socket was viewing.
    pub viewed: Vec<u64>,
}

/// Online users and viewing sockets, behind one short lock.
#[derive(Default)]
pub struct ChatSockets(Mutex<State>);

impl ChatSockets {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A socket connected; `true` if it is the user's first. A socket
    /// already known (one recovered after a lost connection, which never
    /// left) changes nothing.
    pub fn connected(&self, user: &str, socket: &str, client_type: &str) -> bool {
        let mut state = self.state();
        let sockets = state.users.entry(user.to_owned()).or_default();
        let new = sockets
            .insert(socket.to_owned(), client_type.to_owned())
            .is_none();
        new && sockets.len() == 1
    }

    pub fn disconnected(&self, user: &str, socket: &str) -> Departure {
        let mut state = self.state();
        let viewed = state
            .viewing
            .remove(socket)
            .map(|chats| chats.into_iter().collect())
            .unwrap_or_default();
        let (last, client_type) = match state.users.get_mut(user) {
            Some(sockets) => {
                let client_type = sockets.remove(socket).unwrap_or_default();
                let last = sockets.is_empty();
                if last {
                    state.users.remove(user);
                }
                (last, client_type)
            }
            None => (false, String::new()),
        };
        Departure {
            last,
            client_type,
            viewed,
        }
    }

    pub fn is_online(&self, user: &str) -> bool {
        self.state().users.contains_key(user)
    }

    /// Whether any socket of `user` is viewing `chat`.
    pub fn is_viewing(&self, user: &str, chat: u64) -> bool {
        let state = self.state();
        state.users.get(user).is_some_and(|sockets| {
            sockets.keys().any(|s| {
                state
                    .viewing
                    .get(s)
                    .is_some_and(|chats| chats.contains(&chat))
            })
        })
    }

    /// No socket of `user` views `chat` any more (they left the group).
    pub fn unview_user(&self, user: &str, chat: u64) {
        let mut state = self.state();
        let sockets: Vec<String> = state
            .users
            .get(user)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default();
        for socket in sockets {
            if let Some(chats) = state.viewing.get_mut(&socket) {
                chats.remove(&chat);
                if chats.is_empty() {
                    state.viewing.remove(&socket);
                }
            }
        }
    }

    pub fn view(&self, socket: &str, chat: u64) {
        self.state()
            .viewing
            .entry(socket.to_owned())
            .or_default()
            .insert(chat);
    }

    pub fn unview(&self, socket: &str, chat: u64) {
        let mut state = self.state();
        if let Some(chats) = state.viewing.get_mut(socket) {
            chats.remove(&chat);
            if chats.is_empty() {
                state.viewing.remove(socket);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_across_devices() {
        let p = ChatSockets::default();
        assert!(p.connected("u", "s1", "web"));
        assert!(!p.connected("u", "s2", "mobile"));
        p.view("s1", 7);
        assert!(p.is_viewing("u", 7));
        assert!(!p.is_viewing("u", 8));
        assert!(!p.is_viewing("v", 7));
        let first = p.disconnected("u", "s1");
        assert!(!first.last);
        assert_eq!(first.viewed, vec![7]);
        assert!(p.is_online("u"));
        assert!(!p.is_viewing("u", 7), "the viewing socket left");
        let second = p.disconnected("u", "s2");
        assert!(second.last);
        assert_eq!(second.client_type, "mobile");
        assert!(!p.is_online("u"));
    }

    #[test]
    fn a_recovered_socket_is_not_a_new_arrival() {
        let p = ChatSockets::default();
        assert!(p.connected("u", "s1", "web"));
        p.view("s1", 7);
        // Its connect handlers run again on recovery: nothing changes.
        assert!(!p.connected("u", "s1", "web"));
        assert!(p.is_viewing("u", 7));
        assert!(p.disconnected("u", "s1").last);
    }
}
